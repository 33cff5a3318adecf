package distinctions_test

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"testing"

	"pgregory.net/rapid"

	"github.com/korup2p/korup2p/distinctions"
)

// jsonValue is a random JSON document kept as a tree, so the test can write it out with
// its object keys in any order.
type jsonValue struct {
	scalar string // the JSON text of a scalar, when keys and elems are nil
	keys   []string
	vals   []jsonValue
	elems  []jsonValue
	object bool
	array  bool
}

func genJSONValue(depth int) *rapid.Generator[jsonValue] {
	return rapid.Custom(func(t *rapid.T) jsonValue {
		kind := rapid.IntRange(0, 9).Draw(t, "kind")
		if depth >= 4 && kind >= 8 {
			kind = 0
		}
		switch kind {
		case 0:
			return jsonValue{scalar: rapid.SampledFrom([]string{"null", "true", "false"}).Draw(t, "lit")}
		case 1, 2:
			return jsonValue{scalar: strconv.FormatInt(rapid.Int64().Draw(t, "int"), 10)}
		case 3:
			return jsonValue{scalar: strconv.FormatUint(rapid.Uint64Min(math.MaxInt64).Draw(t, "uint"), 10)}
		case 4, 5:
			f := rapid.Float64().Draw(t, "float") // finite: rapid.Float64 draws no NaN or Inf
			s := strconv.FormatFloat(f, 'g', -1, 64)
			if !bytes.ContainsAny([]byte(s), ".eE") {
				s += ".0" // a float stays a float in JSON text
			}
			return jsonValue{scalar: s}
		case 6, 7:
			b, _ := json.Marshal(rapid.String().Draw(t, "str"))
			return jsonValue{scalar: string(b)}
		case 8:
			return jsonValue{array: true, elems: rapid.SliceOfN(genJSONValue(depth+1), 0, 4).Draw(t, "elems")}
		default:
			keys := rapid.SliceOfNDistinct(rapid.String(), 0, 4, rapid.ID[string]).Draw(t, "keys")
			vals := make([]jsonValue, len(keys))
			for i := range keys {
				vals[i] = genJSONValue(depth+1).Draw(t, "val")
			}
			return jsonValue{object: true, keys: keys, vals: vals}
		}
	})
}

// text writes v as JSON; with shuffle, each object's keys in a random order.
func (v jsonValue) text(t *rapid.T, shuffle bool) string {
	var b bytes.Buffer
	v.write(t, &b, shuffle)
	return b.String()
}

func (v jsonValue) write(t *rapid.T, b *bytes.Buffer, shuffle bool) {
	switch {
	case v.array:
		b.WriteByte('[')
		for i, e := range v.elems {
			if i > 0 {
				b.WriteByte(',')
			}
			e.write(t, b, shuffle)
		}
		b.WriteByte(']')
	case v.object:
		order := make([]int, len(v.keys))
		for i := range order {
			order[i] = i
		}
		if shuffle {
			order = rapid.Permutation(order).Draw(t, "order")
		}
		b.WriteByte('{')
		for i, k := range order {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(v.keys[k])
			b.Write(kb)
			b.WriteByte(':')
			v.vals[k].write(t, b, shuffle)
		}
		b.WriteByte('}')
	default:
		b.WriteString(v.scalar)
	}
}

// TestJSONRoundTripProperties: for random JSON documents,
//   - the same document with its object keys in another order has the same bytes and CID;
//   - JSON → CBOR → JSON → CBOR gives the same bytes (nothing is lost or rounded, integers
//     stay integers and floats stay floats);
//   - go-ipld-prime's dagcbor codec re-encodes the bytes identically.
func TestJSONRoundTripProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		doc := genJSONValue(0).Draw(t, "doc")
		text := doc.text(t, false)
		v, err := distinctions.ParseJSON([]byte(text), distinctions.DefaultLimits)
		if err != nil {
			t.Fatalf("ParseJSON(%s): %v", text, err)
		}
		d, err := distinctions.EncodeValue(v, distinctions.DefaultLimits)
		if err != nil {
			t.Fatalf("EncodeValue(%s): %v", text, err)
		}

		shuffled := doc.text(t, true)
		v2, err := distinctions.ParseJSON([]byte(shuffled), distinctions.DefaultLimits)
		if err != nil {
			t.Fatalf("ParseJSON(%s): %v", shuffled, err)
		}
		if d2, err := distinctions.EncodeValue(v2, distinctions.DefaultLimits); err != nil || !d2.CID.Equals(d.CID) || !bytes.Equal(d2.Bytes, d.Bytes) {
			t.Fatalf("key order changed the encoding:\n%s\n%s\n%x\n%x (%v)", text, shuffled, d.Bytes, d2.Bytes, err)
		}

		back, err := distinctions.DecodeValue(d.Bytes, distinctions.DefaultLimits)
		if err != nil {
			t.Fatalf("DecodeValue(%x): %v", d.Bytes, err)
		}
		out, err := distinctions.FormatJSON(back)
		if err != nil {
			t.Fatalf("FormatJSON: %v", err)
		}
		v3, err := distinctions.ParseJSON(out, distinctions.DefaultLimits)
		if err != nil {
			t.Fatalf("ParseJSON(%s) of our own output: %v", out, err)
		}
		if d3, err := distinctions.EncodeValue(v3, distinctions.DefaultLimits); err != nil || !bytes.Equal(d3.Bytes, d.Bytes) {
			t.Fatalf("round trip changed the value:\n%s\n%s (%v)", text, out, err)
		}
		assertIPLDRoundTrip(t, d)
	})
}
