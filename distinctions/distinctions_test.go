package distinctions_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/node/basicnode"
	"github.com/multiformats/go-multihash"

	"github.com/korup2p/korup2p/distinctions"
)

func mustParse(t testing.TB, s string) any {
	t.Helper()
	v, err := distinctions.ParseJSON([]byte(s), distinctions.DefaultLimits)
	if err != nil {
		t.Fatalf("ParseJSON(%s): %v", s, err)
	}
	return v
}

func mustEncode(t testing.TB, v any) distinctions.Distinction {
	t.Helper()
	d, err := distinctions.EncodeValue(v, distinctions.DefaultLimits)
	if err != nil {
		t.Fatalf("EncodeValue: %v", err)
	}
	return d
}

func TestKeyOrderDoesNotChangeCID(t *testing.T) {
	a := mustEncode(t, mustParse(t, `{"name":"ada","age":36,"tags":{"z":1,"a":[1,2.5]}}`))
	b := mustEncode(t, mustParse(t, `{"tags":{"a":[1,2.5],"z":1},"age":36,"name":"ada"}`))
	if !a.CID.Equals(b.CID) || !bytes.Equal(a.Bytes, b.Bytes) {
		t.Fatalf("same value, different encodings: %x vs %x", a.Bytes, b.Bytes)
	}
	if a.CID.Version() != 1 || a.CID.Prefix().Codec != cid.DagCBOR || a.CID.Prefix().MhType != multihash.SHA2_256 {
		t.Fatalf("CID prefix = %+v, want v1 dag-cbor sha2-256", a.CID.Prefix())
	}
}

func TestCanonicalForm(t *testing.T) {
	for _, tc := range []struct{ json, hex string }{
		// keys length-first: "a", "c", "bb"
		{`{"bb":1,"c":2,"a":3}`, "a3616103616302626262" + "01"},
		// floats always 64-bit, even when a shorter float is exact
		{`1.5`, "fb3ff8000000000000"},
		{`1.0`, "fb3ff0000000000000"},
		// integers in the shortest form
		{`1`, "01"}, {`-1`, "20"}, {`255`, "18ff"}, {`18446744073709551615`, "1bffffffffffffffff"},
		{`-9223372036854775808`, "3b7fffffffffffffff"},
		{`[]`, "80"}, {`{}`, "a0"}, {`null`, "f6"}, {`"é"`, "62c3a9"},
	} {
		d := mustEncode(t, mustParse(t, tc.json))
		if got := hex.EncodeToString(d.Bytes); got != tc.hex {
			t.Errorf("%s encodes as %s, want %s", tc.json, got, tc.hex)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	for _, s := range []string{
		`null`, `true`, `false`, `0`, `-0`, `1.0`, `-2.5`, `1e+300`, `5e-324`, `0.1`,
		`9007199254740993`, `9223372036854775807`, `9223372036854775808`, `18446744073709551615`,
		`-9223372036854775808`, `""`, `"a\"b\\c\u0000\n<>&"`, `"日本"`, `[1,1.0,"1",[],{}]`,
		`{"a":{"b":{"c":[null,true]}},"":0}`,
	} {
		v := mustParse(t, s)
		out, err := distinctions.FormatJSON(v)
		if err != nil {
			t.Fatalf("FormatJSON(%s): %v", s, err)
		}
		d1 := mustEncode(t, v)
		v2 := mustParse(t, string(out))
		d2 := mustEncode(t, v2)
		if !bytes.Equal(d1.Bytes, d2.Bytes) {
			t.Errorf("%s -> %s changed the value: %x vs %x", s, out, d1.Bytes, d2.Bytes)
		}
		back, err := distinctions.DecodeValue(d1.Bytes, distinctions.DefaultLimits)
		if err != nil {
			t.Fatalf("DecodeValue(%s): %v", s, err)
		}
		if out2, _ := distinctions.FormatJSON(back); !bytes.Equal(out, out2) {
			t.Errorf("CBOR round trip of %s: %s vs %s", s, out, out2)
		}
	}
	// integers stay integers, floats stay floats
	if v := mustParse(t, `1.0`); v != float64(1) {
		t.Errorf("1.0 parsed as %T", v)
	}
	if v := mustParse(t, `1`); v != int64(1) {
		t.Errorf("1 parsed as %T", v)
	}
	if v := mustParse(t, `18446744073709551615`); v != uint64(math.MaxUint64) {
		t.Errorf("MaxUint64 parsed as %T %v", v, v)
	}
	if out, _ := distinctions.FormatJSON(float64(3)); string(out) != "3.0" {
		t.Errorf("float 3 formats as %s", out)
	}
}

func TestParseJSONRejects(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`18446744073709551616`, "outside the 64-bit range"},
		{`-9223372036854775809`, "outside the 64-bit range"},
		{`1e400`, "outside the 64-bit float range"},
		{`{"a":1,"a":2}`, `duplicate key "a"`},
		{`{"a":1} {}`, "data after the value"},
		{`{"a":`, "invalid JSON"},
		{`[1,]`, "invalid JSON"},
		{"\"\xff\"", "not valid UTF-8"},
		{``, "invalid JSON"},
		{strings.Repeat("[", 100) + strings.Repeat("]", 100), "nested deeper than 64"},
	} {
		_, err := distinctions.ParseJSON([]byte(tc.in), distinctions.DefaultLimits)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseJSON(%.30q) = %v, want error containing %q", tc.in, err, tc.want)
		}
		if err != nil && !errors.Is(err, distinctions.ErrMalformed) && !errors.Is(err, distinctions.ErrTooLarge) {
			t.Errorf("ParseJSON(%.30q) error %v wraps neither ErrMalformed nor ErrTooLarge", tc.in, err)
		}
	}
	_, err := distinctions.ParseJSON([]byte(`"`+strings.Repeat("x", 100)+`"`), distinctions.Limits{MaxBytes: 50})
	if !errors.Is(err, distinctions.ErrTooLarge) {
		t.Errorf("oversize JSON: %v, want ErrTooLarge", err)
	}
}

func TestDecodeValueRejects(t *testing.T) {
	for _, tc := range []struct {
		name, hex string
		want      error
	}{
		{"duplicate key", "a2616101616102", distinctions.ErrMalformed},
		{"unsorted keys", "a26262620161610" + "2", distinctions.ErrNotCanonical},
		{"non-shortest int", "1801", distinctions.ErrNotCanonical},
		{"float16", "f93e00", distinctions.ErrNotCanonical},
		{"float32", "fa3fc00000", distinctions.ErrNotCanonical},
		{"indefinite array", "9f01ff", distinctions.ErrMalformed},
		{"undefined", "f7", distinctions.ErrMalformed},
		{"byte string", "4100", distinctions.ErrMalformed},
		{"unknown tag", "c074323031332d30332d32315432303a30343a30305a", distinctions.ErrMalformed},
		{"link is not JSON", "d82a4700017112020000", distinctions.ErrMalformed},
		{"bignum", "c249010000000000000000", distinctions.ErrMalformed},
		{"trailing bytes", "0101", distinctions.ErrMalformed},
		{"NaN", "fb7ff8000000000000", distinctions.ErrMalformed},
		{"integer key", "a10101", distinctions.ErrMalformed},
		{"truncated", "a16161", distinctions.ErrMalformed},
		{"empty", "", distinctions.ErrMalformed},
		{"too large", "78" + "c8" + strings.Repeat("78", 200), distinctions.ErrTooLarge},
	} {
		b, _ := hex.DecodeString(tc.hex)
		_, err := distinctions.DecodeValue(b, distinctions.Limits{MaxBytes: 100})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: DecodeValue(%s) = %v, want %v", tc.name, tc.hex, err, tc.want)
		}
	}
	deep := strings.Repeat("81", 70) + "01"
	b, _ := hex.DecodeString(deep)
	if _, err := distinctions.DecodeValue(b, distinctions.DefaultLimits); !errors.Is(err, distinctions.ErrMalformed) {
		t.Errorf("70-deep array: %v, want ErrMalformed", err)
	}
}

type closed struct {
	A int64              `cbor:"a"`
	L distinctions.Link  `cbor:"l"`
	O *distinctions.Link `cbor:"o,omitempty"`
}

func TestDecodeClosedFormat(t *testing.T) {
	c := distinctions.Sum([]byte("x"))
	in := closed{A: 7, L: distinctions.Link{Cid: c}}
	d, err := distinctions.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	var out closed
	if err := distinctions.Decode(d.Bytes, &out, distinctions.DefaultLimits); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if out.A != 7 || !out.L.Equals(c) || out.O != nil {
		t.Fatalf("decoded %+v", out)
	}
	// An unknown field in a closed format is rejected.
	extra, _ := distinctions.Marshal(map[string]any{"a": int64(7), "l": distinctions.Link{Cid: c}, "zz": int64(1)})
	if err := distinctions.Decode(extra, &out, distinctions.DefaultLimits); !errors.Is(err, distinctions.ErrMalformed) {
		t.Errorf("unknown field: %v, want ErrMalformed", err)
	}
	// A link with a non-canonical byte string head is rejected.
	bad := bytes.Replace(d.Bytes, []byte{0xd8, 0x2a, 0x58, 0x25}, []byte{0xd8, 0x2a, 0x59, 0x00, 0x25}, 1)
	if bytes.Equal(bad, d.Bytes) {
		t.Fatal("fixture did not change")
	}
	if err := distinctions.Decode(bad, &out, distinctions.DefaultLimits); err == nil {
		t.Error("non-canonical link accepted")
	}
	// Links are tag 42 around 0x00 + the binary CID.
	lb, _ := distinctions.Link{Cid: c}.MarshalCBOR()
	if want := append([]byte{0xd8, 0x2a, 0x58, byte(len(c.Bytes()) + 1), 0}, c.Bytes()...); !bytes.Equal(lb, want) {
		t.Errorf("link encodes as %x, want %x", lb, want)
	}
	if _, err := (distinctions.Link{}).MarshalCBOR(); err == nil {
		t.Error("undefined link encoded")
	}
	// A 16-bit float in a struct field is not canonical.
	var f struct {
		F float64 `cbor:"f"`
	}
	if err := distinctions.Decode([]byte{0xa1, 0x61, 'f', 0xf9, 0x3e, 0x00}, &f, distinctions.DefaultLimits); !errors.Is(err, distinctions.ErrNotCanonical) {
		t.Errorf("float16 field: %v, want ErrNotCanonical", err)
	}
}

func TestCheckValue(t *testing.T) {
	for _, v := range []any{math.NaN(), math.Inf(1), uint64(5), int(5), []string{"a"}, map[string]any{"a": struct{}{}}} {
		if err := distinctions.CheckValue(v, distinctions.DefaultLimits); err == nil {
			t.Errorf("CheckValue(%#v) accepted", v)
		}
	}
	err := distinctions.CheckValue(map[string]any{"a": []any{int64(1), float32(2)}}, distinctions.DefaultLimits)
	var ve *distinctions.ValueError
	if !errors.As(err, &ve) || ve.Path != "a.1" {
		t.Errorf("CheckValue error %v, want a ValueError at a.1", err)
	}
}

// TestIPLDReadsOurBytes is the proof that any IPLD tool reads korup2p's encoding: go-ipld-prime's
// dagcbor codec decodes our bytes and re-encodes them to the same bytes, so the CID matches too.
func TestIPLDReadsOurBytes(t *testing.T) {
	link := distinctions.Link{Cid: distinctions.Sum([]byte("parent"))}
	for _, v := range []any{
		mustParse(t, `{"name":"ada","age":36,"score":1.5,"tags":["a","b"],"nested":{"zz":null,"a":true,"bbb":-7}}`),
		mustParse(t, `[1.0, 18446744073709551615, -9223372036854775808, "", {}]`),
		map[string]any{"link": link, "links": []any{link, link}, "n": int64(1)},
	} {
		d, err := distinctions.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		assertIPLDRoundTrip(t, d)
	}
}

// fataler is what *testing.T and *rapid.T have in common.
type fataler interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

func assertIPLDRoundTrip(t fataler, d distinctions.Distinction) {
	t.Helper()
	nb := basicnode.Prototype.Any.NewBuilder()
	if err := dagcbor.Decode(nb, bytes.NewReader(d.Bytes)); err != nil {
		t.Fatalf("go-ipld-prime cannot decode %x: %v", d.Bytes, err)
	}
	var out bytes.Buffer
	if err := dagcbor.Encode(nb.Build(), &out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), d.Bytes) {
		t.Fatalf("go-ipld-prime re-encodes\n%x\nas\n%x", d.Bytes, out.Bytes())
	}
	c, err := cid.Prefix{Version: 1, Codec: cid.DagCBOR, MhType: multihash.SHA2_256, MhLength: -1}.Sum(out.Bytes())
	if err != nil || !c.Equals(d.CID) {
		t.Fatalf("CID %s, IPLD computes %s (%v)", d.CID, c, err)
	}
}

func TestLinkInAnyIsTag(t *testing.T) {
	d, err := distinctions.Encode(map[string]any{"l": distinctions.Link{Cid: distinctions.Sum(nil)}})
	if err != nil {
		t.Fatal(err)
	}
	var tag cbor.RawTag
	var m map[string]cbor.RawMessage
	if err := cbor.Unmarshal(d.Bytes, &m); err != nil {
		t.Fatal(err)
	}
	if err := cbor.Unmarshal(m["l"], &tag); err != nil || tag.Number != 42 {
		t.Fatalf("link is %x, want tag 42 (%v)", m["l"], err)
	}
}

// TestDepthLimitAgrees: MaxDepth counts nested arrays and maps, the same way in
// ParseJSON, CheckValue (EncodeValue) and DecodeValue: 64 levels pass all three, 65
// fail all three — never a value that encodes but does not decode.
func TestDepthLimitAgrees(t *testing.T) {
	l := distinctions.DefaultLimits
	for _, levels := range []int{l.MaxDepth, l.MaxDepth + 1} {
		for name, text := range map[string]string{
			"arrays":  strings.Repeat("[", levels) + strings.Repeat("]", levels),
			"objects": strings.Repeat(`{"a":`, levels-1) + `{}` + strings.Repeat("}", levels-1),
			"mixed":   strings.Repeat(`[{"a":`, levels/2) + strings.Repeat("[", levels%2) + "1" + strings.Repeat("]", levels%2) + strings.Repeat("}]", levels/2),
		} {
			ok := levels <= l.MaxDepth
			v, err := distinctions.ParseJSON([]byte(text), l)
			if (err == nil) != ok || err != nil && !errors.Is(err, distinctions.ErrTooLarge) {
				t.Errorf("%s, %d levels: ParseJSON: %v", name, levels, err)
			}
			// Build the same tree directly, to check the encoder and decoder alone.
			var tree any = int64(1)
			if name != "mixed" {
				tree = []any{}
				if name == "objects" {
					tree = map[string]any{}
				}
				for range levels - 1 {
					if name == "objects" {
						tree = map[string]any{"a": tree}
					} else {
						tree = []any{tree}
					}
				}
			} else if v != nil {
				tree = v
			} else {
				continue // the parser refused it, as it should: no tree to encode
			}
			d, err := distinctions.EncodeValue(tree, l)
			if (err == nil) != ok {
				t.Errorf("%s, %d levels: EncodeValue: %v", name, levels, err)
			}
			if err != nil {
				if d, err = distinctions.Encode(tree); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := distinctions.DecodeValue(d.Bytes, l); (err == nil) != ok {
				t.Errorf("%s, %d levels: DecodeValue: %v", name, levels, err)
			}
		}
	}
}
