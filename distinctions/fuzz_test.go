package distinctions_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/korup2p/korup2p/distinctions"
)

// FuzzDecodeValue: no input panics the strict decoder, and whatever it accepts is
// canonical, survives JSON formatting and parsing, and re-encodes to the same bytes.
// Seeds live in testdata/fuzz/FuzzDecodeValue.
func FuzzDecodeValue(f *testing.F) {
	f.Add([]byte{0xa2, 0x61, 0x61, 0x01, 0x62, 0x62, 0x62, 0x82, 0xf5, 0xf6})
	f.Add([]byte{0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := distinctions.DecodeValue(data, distinctions.Limits{MaxBytes: 1 << 16})
		if err != nil {
			return
		}
		d, err := distinctions.EncodeValue(v, distinctions.DefaultLimits)
		if err != nil {
			t.Fatalf("accepted %x but cannot encode it: %v", data, err)
		}
		if !bytes.Equal(d.Bytes, data) {
			t.Fatalf("accepted non-canonical %x (canonical %x)", data, d.Bytes)
		}
		j, err := distinctions.FormatJSON(v)
		if err != nil {
			t.Fatalf("accepted %x but cannot format it: %v", data, err)
		}
		v2, err := distinctions.ParseJSON(j, distinctions.DefaultLimits)
		if err != nil {
			t.Fatalf("formatted %x as %s which does not parse: %v", data, j, err)
		}
		d2, err := distinctions.EncodeValue(v2, distinctions.DefaultLimits)
		if err != nil || !bytes.Equal(d2.Bytes, data) {
			t.Fatalf("JSON round trip of %x via %s gave %x (%v)", data, j, d2.Bytes, err)
		}
	})
}

// FuzzParseJSON: no JSON text panics the parser; what it accepts encodes, decodes
// under the same limits, and formats and parses back to the same canonical bytes.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,"x",null,true]}`, `18446744073709551615`, `1e308`, `"\u00e9"`, `-0.0`,
		strings.Repeat("[", 64) + strings.Repeat("]", 64), strings.Repeat(`{"a":`, 63) + "[]" + strings.Repeat("}", 63)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := distinctions.ParseJSON(data, distinctions.DefaultLimits)
		if err != nil {
			return
		}
		d, err := distinctions.EncodeValue(v, distinctions.DefaultLimits)
		if err != nil {
			t.Fatalf("parsed %q but cannot encode: %v", data, err)
		}
		if _, err := distinctions.DecodeValue(d.Bytes, distinctions.DefaultLimits); err != nil {
			t.Fatalf("parsed and encoded %q but cannot decode it under the same limits: %v", data, err)
		}
		j, err := distinctions.FormatJSON(v)
		if err != nil {
			t.Fatal(err)
		}
		v2, err := distinctions.ParseJSON(j, distinctions.DefaultLimits)
		if err != nil {
			t.Fatalf("%q formatted as %s which does not parse: %v", data, j, err)
		}
		if d2, _ := distinctions.EncodeValue(v2, distinctions.DefaultLimits); !bytes.Equal(d.Bytes, d2.Bytes) {
			t.Fatalf("%q -> %s changed the value", data, j)
		}
	})
}
