package distinctions

// This file proves the hand-written ParseJSON and FormatJSON (json.go, jsonparse.go)
// equivalent to the encoding/json-based implementation they replaced, which is kept
// below as parseJSONReference and formatJSONReference, and measures both.
//
//	go test -run 'Differential|Reference' ./distinctions/
//	go test -run XXX -fuzz FuzzParseJSONDifferential -fuzztime 60s ./distinctions/
//	go test -run XXX -bench 'ParseJSON|FormatJSON' -benchmem ./distinctions/

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"pgregory.net/rapid"
)

// ---- the reference: ParseJSON and FormatJSON as they were, over encoding/json ----

func parseJSONReference(data []byte, l Limits) (any, error) {
	l = l.withDefaults()
	if len(data) > l.MaxBytes {
		return nil, &ValueError{Msg: fmt.Sprintf("%d bytes of JSON exceeds the limit of %d", len(data), l.MaxBytes), Err: ErrTooLarge}
	}
	if !utf8.Valid(data) {
		return nil, &ValueError{Msg: "JSON is not valid UTF-8", Err: ErrMalformed}
	}
	p := refParser{dec: json.NewDecoder(bytes.NewReader(data)), l: l}
	p.dec.UseNumber()
	v, err := p.value(nil)
	if err != nil {
		return nil, err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, &ValueError{Msg: "invalid JSON: data after the value", Err: ErrMalformed}
	}
	return v, nil
}

type refParser struct {
	dec *json.Decoder
	l   Limits
}

func (p *refParser) token(path []string) (json.Token, error) {
	t, err := p.dec.Token()
	if err != nil {
		if err == io.EOF {
			err = errors.New("unexpected end of JSON input")
		}
		return nil, valueErr(path, "invalid JSON: "+err.Error(), ErrMalformed)
	}
	return t, nil
}

func (p *refParser) value(path []string) (any, error) {
	t, err := p.token(path)
	if err != nil {
		return nil, err
	}
	if _, open := t.(json.Delim); open && len(path) >= p.l.MaxDepth { // a container at level len(path)+1
		return nil, valueErr(path, fmt.Sprintf("nested deeper than %d", p.l.MaxDepth), ErrTooLarge)
	}
	switch x := t.(type) {
	case nil, bool, string:
		return x, nil
	case json.Number:
		return refParseNumber(string(x), path)
	case json.Delim:
		switch x {
		case '[':
			arr := []any{}
			for p.dec.More() {
				if len(arr) >= p.l.MaxItems {
					return nil, valueErr(path, fmt.Sprintf("more than %d elements", p.l.MaxItems), ErrTooLarge)
				}
				e, err := p.value(append(path, strconv.Itoa(len(arr))))
				if err != nil {
					return nil, err
				}
				arr = append(arr, e)
			}
			_, err := p.token(path) // ']'
			return arr, err
		case '{':
			obj := map[string]any{}
			for p.dec.More() {
				kt, err := p.token(path)
				if err != nil {
					return nil, err
				}
				k := kt.(string) // the decoder guarantees a string key here
				if _, dup := obj[k]; dup {
					return nil, valueErr(path, fmt.Sprintf("duplicate key %q", k), ErrMalformed)
				}
				if len(obj) >= p.l.MaxItems {
					return nil, valueErr(path, fmt.Sprintf("more than %d fields", p.l.MaxItems), ErrTooLarge)
				}
				e, err := p.value(append(path, k))
				if err != nil {
					return nil, err
				}
				obj[k] = e
			}
			_, err := p.token(path) // '}'
			return obj, err
		}
	}
	return nil, valueErr(path, fmt.Sprintf("invalid JSON token %v", t), ErrMalformed)
}

func refParseNumber(s string, path []string) (any, error) {
	if strings.ContainsAny(s, ".eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, valueErr(path, fmt.Sprintf("number %s is outside the 64-bit float range", s), ErrMalformed)
		}
		return f, nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		return u, nil
	}
	return nil, valueErr(path, fmt.Sprintf("integer %s is outside the 64-bit range (write it as a string, or as a float to accept rounding)", s), ErrMalformed)
}

func formatJSONReference(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := refWriteJSON(&b, v, nil); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func refWriteJSON(b *bytes.Buffer, v any, path []string) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case uint64:
		b.WriteString(strconv.FormatUint(x, 10))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return valueErr(path, "NaN and Infinity are not JSON", ErrMalformed)
		}
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eE") {
			s += ".0"
		}
		b.WriteString(s)
	case string:
		refWriteString(b, x)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := refWriteJSON(b, e, append(path, strconv.Itoa(i))); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for i, k := range slices.Sorted(mapsKeys(x)) {
			if i > 0 {
				b.WriteByte(',')
			}
			refWriteString(b, k)
			b.WriteByte(':')
			if err := refWriteJSON(b, x[k], append(path, k)); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return valueErr(path, fmt.Sprintf("%T is not a JSON value", v), ErrMalformed)
	}
	return nil
}

func refWriteString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // a string always encodes
	b.Truncate(b.Len() - 1) // Encode appends a newline
}

// ---- comparing the two ----

// diffLimits are the limits every input is parsed under: the defaults, and the
// smallest limits withDefaults allows, so the depth and item checks fire often.
var diffLimits = []Limits{DefaultLimits, {MaxDepth: 4, MaxItems: 16}, {MaxBytes: 40, MaxDepth: 5, MaxItems: 17}}

// sameValue is deep equality of value trees that tells int64 from uint64 from float64
// and -0.0 from 0.0, and a nil slice or map from an empty one.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool, int64, uint64, string:
		return a == b
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case []any:
		y, ok := b.([]any)
		return ok && (x == nil) == (y == nil) && len(x) == len(y) && sameElems(x, y)
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || (x == nil) != (y == nil) || len(x) != len(y) {
			return false
		}
		for k, e := range x {
			f, ok := y[k]
			if !ok || !sameValue(e, f) {
				return false
			}
		}
		return true
	}
	panic(fmt.Sprintf("%T in a value tree", a))
}

func sameElems(x, y []any) bool {
	for i := range x {
		if !sameValue(x[i], y[i]) {
			return false
		}
	}
	return true
}

// sameError: the same kind of error at the same path with the same message, except
// that a syntax error's detail after "invalid JSON" may differ.
func sameError(want, got error) bool {
	var w, g *ValueError
	if !errors.As(want, &w) || !errors.As(got, &g) {
		return false
	}
	if w.Path != g.Path || w.Err != g.Err {
		return false
	}
	if strings.HasPrefix(w.Msg, "invalid JSON") {
		return strings.HasPrefix(g.Msg, "invalid JSON") &&
			strings.Contains(w.Msg, "data after the value") == strings.Contains(g.Msg, "data after the value")
	}
	return w.Msg == g.Msg
}

// fataler is what testing.TB and *rapid.T have in common.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// checkSameParse fails t unless ParseJSON and the reference agree on data under every
// one of diffLimits, and, where it parses, FormatJSON and the reference write it alike.
func checkSameParse(t fataler, data []byte) {
	t.Helper()
	for _, l := range diffLimits {
		want, werr := parseJSONReference(data, l)
		got, gerr := ParseJSON(data, l)
		switch {
		case werr != nil && gerr != nil:
			if !sameError(werr, gerr) {
				t.Fatalf("ParseJSON(%q, %+v):\n  got error  %v\n  reference  %v", data, l, gerr, werr)
			}
		case werr != nil || gerr != nil:
			t.Fatalf("ParseJSON(%q, %+v):\n  got        %#v, %v\n  reference  %#v, %v", data, l, got, gerr, want, werr)
		case !sameValue(want, got):
			t.Fatalf("ParseJSON(%q, %+v):\n  got        %#v\n  reference  %#v", data, l, got, want)
		default:
			checkSameFormat(t, got)
		}
	}
}

func checkSameFormat(t fataler, v any) {
	t.Helper()
	want, werr := formatJSONReference(v)
	got, gerr := FormatJSON(v)
	if !bytes.Equal(want, got) || (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
		t.Fatalf("FormatJSON(%#v):\n  got        %q, %v\n  reference  %q, %v", v, got, gerr, want, werr)
	}
}

// ---- the corpus ----

// edgeCases are inputs chosen by hand for where a hand-written parser can go wrong.
var edgeCases = []string{
	// literals and their near misses
	`null`, `true`, `false`, `nul`, `tru`, `fals`, `nulll`, `truex`, `True`, `NULL`, `n`, `[nul]`, `[t]`, `{"a":f}`,
	`NaN`, `Infinity`, `-Infinity`, `[NaN]`, `undefined`,
	// numbers
	`0`, `-0`, `-0.0`, `0.0`, `-0e0`, `0e0`, `0E+0`, `0e-0`, `01`, `-01`, `00`, `[01]`, `{"a":01}`, `[0,01]`,
	`1.`, `1.e5`, `.5`, `-.5`, `+1`, `-`, `--1`, `-a`, `1e`, `1e+`, `1e-`, `1E+x`, `1.5e3`, `1.5E-3`, `0x10`, `1_000`,
	`9223372036854775807`, `9223372036854775808`, `-9223372036854775808`, `-9223372036854775809`,
	`18446744073709551615`, `18446744073709551616`, `-18446744073709551615`, `99999999999999999999999`,
	`999999999999999999`, `-999999999999999999`, `1000000000000000000`, `-1000000000000000000`,
	`000000000000000000`, `1234567890123456789`, `255`, `256`, `-1`, `-255`, `-256`,
	`1e308`, `1.7976931348623157e308`, `1.7976931348623158e308`, `1.7976931348623159e308`, `-1e309`, `1e400`,
	`5e-324`, `2e-324`, `1e-400`, `4.9406564584124654e-324`, `2.2250738585072014e-308`, `0.1`, `1e+300`,
	`123456789012345678901234567890.5`, `1` + strings.Repeat("0", 400), `0.` + strings.Repeat("0", 400) + `1`,
	`[1,2,3]`, `[-]`, `[1.]`, `[1e]`, `{"a":-}`, `1 2`, `1,2`, `[1 2]`, `[1,,2]`, `[,1]`, `[1,]`, `[,]`,
	// strings
	`""`, `"a"`, `"\""`, `"\\"`, `"\/"`, `"\b\f\n\r\t"`, `"\u0000"`, `"\u001f"`, `"\u00e9"`, `"\u00E9"`, `"\uFFFF"`,
	`"\uD83D\uDE00"`, `"\ud83d\ude00"`, `"\uD800"`, `"\uDBFF"`, `"\uDC00"`, `"\uDFFF"`, `"\uDE00\uD83D"`,
	`"\uD800\uD800"`, `"\uD800\u0041"`, `"\uD800A"`, `"\uD800\n"`, `"\uD800\uDBFF\uDC00"`, `"\uD800\"`, `"\uD800\u"`,
	`"\uD800\uDC0"`, `"\uD800\uDC0G"`, `"\uD800\\uDC00"`, `"x\uD800"`, `"\uD800x"`,
	`"\x"`, `"\'"`, `"\a"`, `"\U00e9"`, `"\u"`, `"\u1"`, `"\u12"`, `"\u123"`, `"\u123G"`, `"\uG123"`, `"\`, `"\\`, `"`,
	`"abc`, `"a` + "\x00" + `"`, `"a` + "\x1f" + `"`, `"a` + "\t" + `"`, `"a` + "\n" + `"`, `"a` + "\x7f" + `"`,
	`"日本語"`, `"é"`, `"😀"`, "\"\u2028\u2029\"", `"\u2028"`, "\"\ufffd\"", `"<>&"`, `"a\"b\\c\u0000\n<>&"`,
	`"` + strings.Repeat("x", 300) + `"`, `"` + strings.Repeat(`\n`, 300) + `"`, `"` + strings.Repeat("é", 100) + `\t"`,
	// invalid UTF-8 (rejected before parsing)
	"\"\xff\"", "\xef\xbb\xbf{}", "\"\xed\xa0\x80\"", "\"\xc3\"", "[\"a\",\xc3]",
	// whitespace
	``, ` `, "\t\n\r ", " 1 ", "\n[\n1\n,\n2\n]\n", "\f1", "\v1", "\u00a01", "1\u00a0", "[1\f]", " {\t\"a\" \r:\n1 } ",
	// objects
	`{}`, `{"a":1}`, `{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `{"\uD800":1,"\uDBFF":2}`, `{"\uD83D\uDE00":1,"😀":2}`,
	`{"a":1,}`, `{,"a":1}`, `{"a" 1}`, `{"a"::1}`, `{"a":}`, `{"a"}`, `{"a",}`, `{a:1}`, `{1:1}`, `{"a":1 "b":2}`,
	`{"a":1;"b":2}`, `{"a":1]`, `[1}`, `{]`, `[}`, `{"a":[}]}`, `{"":0}`, `{"a.b":{"c":[1,{"d":x}]}}`,
	`{"a":{"b":{"c":[null,true]}},"":0}`, `{"a":1} {}`, `{"a":1}}`, `[1]]`, `[1],`, `{} x`, `{}x`, `"a""b"`,
	`{"a":1,"b":[1,2,{"c":"\uD800"}],"d":{"e":{"f":{}}}}`, `{"a"` + "\x01" + `:1}`, `{"\x":1}`, `{"a":"\x"}`,
	`{"a":1,"b":2,"a":3}`, `{"a":{"x":1,"x":2}}`, `[{"x":1,"x":2}]`, `{"a":[1,2,`, `{"a":[1,2`, `{"a"`, `{"a":`,
	`{`, `[`, `]`, `}`, `:`, `,`, `[[]`, `[[]]]`, `{{}}`, `[{]`, `{[]}`,
}

// limitCases are inputs at the depth and item limits of diffLimits.
func limitCases() []string {
	var out []string
	for _, n := range []int{3, 4, 5, 6, 63, 64, 65, 66, 100} {
		open, closing := strings.Repeat("[", n), strings.Repeat("]", n)
		out = append(out, open+closing, open+"1"+closing, open+closing[1:], open, open+","+closing, open+"x",
			strings.Repeat(`{"a":`, n)+"1"+strings.Repeat("}", n), strings.Repeat(`{"a":`, n)+`{"b"`, strings.Repeat(`{"a":`, n)+`{"b"}`,
			strings.Repeat(`{"a":`, n)+`{"b" x`, strings.Repeat(`[{"k":`, n)+"null"+strings.Repeat("}]", n))
	}
	for _, n := range []int{15, 16, 17, 18} {
		items := strings.Repeat("1,", n)
		out = append(out, "["+items[:len(items)-1]+"]", "["+items+"]", "["+items, "["+items+"x]", "["+items[:len(items)-1]+" 2]",
			"["+items[:len(items)-1]+"}")
		var obj strings.Builder
		for i := range n {
			fmt.Fprintf(&obj, `"k%d":%d,`, i, i)
		}
		o := obj.String()
		out = append(out, "{"+o[:len(o)-1]+"}", "{"+o+"}", "{"+o, "{"+o+`"k0":0}`, "{"+o+`"x"}`, "{"+o+`"x":[}`, "{"+o+"x}")
	}
	return out
}

// readCorpus returns the []byte inputs of the Go fuzzing corpus in dir.
func readCorpus(t testing.TB, dir string) [][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		header, rest, _ := strings.Cut(string(text), "\n")
		rest = strings.TrimSpace(rest)
		if header != "go test fuzz v1" || !strings.HasPrefix(rest, "[]byte(") || !strings.HasSuffix(rest, ")") {
			t.Fatalf("%s: not a []byte corpus entry", f)
		}
		s, err := strconv.Unquote(rest[len("[]byte(") : len(rest)-1])
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, []byte(s))
	}
	return out
}

// fixedCorpus: the hand-picked cases, the fuzz corpora of ParseJSON, and the values of
// the DecodeValue corpus written as JSON.
func fixedCorpus(t testing.TB) [][]byte {
	var corpus [][]byte
	for _, s := range append(edgeCases, limitCases()...) {
		corpus = append(corpus, []byte(s))
	}
	corpus = append(corpus, readCorpus(t, "testdata/fuzz/FuzzParseJSON")...)
	corpus = append(corpus, readCorpus(t, "testdata/fuzz/FuzzParseJSONDifferential")...)
	cbors := append(readCorpus(t, "testdata/fuzz/FuzzDecodeValue"),
		[]byte{0xa2, 0x61, 0x61, 0x01, 0x62, 0x62, 0x62, 0x82, 0xf5, 0xf6}, []byte{0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0})
	for _, c := range cbors {
		v, err := DecodeValue(c, Limits{MaxBytes: 1 << 16})
		if err != nil {
			continue
		}
		j, err := formatJSONReference(v)
		if err != nil {
			t.Fatal(err)
		}
		corpus = append(corpus, j)
	}
	return corpus
}

func TestParseJSONDifferentialCorpus(t *testing.T) {
	corpus := fixedCorpus(t)
	for _, data := range corpus {
		checkSameParse(t, data)
		// every prefix: the ends of input inside every construct
		for i := range data {
			checkSameParse(t, data[:i])
		}
	}
	t.Logf("%d inputs and all their prefixes agree", len(corpus))
}

// ---- random JSON texts ----

var (
	genSpace = rapid.SampledFrom([]string{"", "", "", "", " ", "\n", "\t", "\r\n", "  ", " \t\n\r "})
	genNum   = rapid.OneOf(
		rapid.SampledFrom([]string{"0", "-0", "-0.0", "0.0", "1", "-1", "1.0", "1e5", "1E5", "1e+5", "1e-5", "-2.5e-3",
			"9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
			"18446744073709551615", "18446744073709551616", "999999999999999999", "1000000000000000000",
			"-999999999999999999", "-1000000000000000000", "1e308", "1.7976931348623157e308", "1.7976931348623159e308",
			"1e309", "-1e309", "5e-324", "2e-324", "1e-400", "0.1", "123456789012345678901234567890"}),
		rapid.Map(rapid.Int64(), func(i int64) string { return strconv.FormatInt(i, 10) }),
		rapid.Map(rapid.Uint64(), func(u uint64) string { return strconv.FormatUint(u, 10) }),
		rapid.Map(rapid.Float64(), func(f float64) string {
			if math.IsInf(f, 0) || math.IsNaN(f) {
				return "1e999"
			}
			return strconv.FormatFloat(f, 'g', -1, 64)
		}),
		rapid.Custom(func(t *rapid.T) string { // digit strings of any length, with optional parts
			var b strings.Builder
			if rapid.Bool().Draw(t, "neg") {
				b.WriteByte('-')
			}
			b.WriteString(rapid.StringMatching(`0|[1-9][0-9]{0,24}`).Draw(t, "int"))
			if rapid.Bool().Draw(t, "frac") {
				b.WriteString(rapid.StringMatching(`\.[0-9]{1,20}`).Draw(t, "frac"))
			}
			if rapid.Bool().Draw(t, "exp") {
				b.WriteString(rapid.StringMatching(`[eE][+-]?[0-9]{1,4}`).Draw(t, "exp"))
			}
			return b.String()
		}),
	)
	genStrPiece = rapid.OneOf(
		rapid.StringMatching(`[a-zA-Z0-9 .:,{}\[\]]{0,12}`),
		rapid.SampledFrom([]string{"é", "日本", "😀", "\u2028", "\u2029", "\ufffd", "\x7f", "\u00a0", "<>&", "'",
			`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`, `\u0000`, `\u001f`, `\u0020`, `\u00e9`, `\u00E9`, `\u2028`,
			`\uD83D\uDE00`, `\ud83d\ude00`, `\uD800`, `\uDBFF`, `\uDC00`, `\uDFFF`, `\uDE00\uD83D`, `\uD800\uD800`,
			`\uD800\u0041`, `\uFFFF`, `\uFEFF`}),
		rapid.Map(rapid.Rune(), func(r rune) string { return string(r) }),
		rapid.Map(rapid.Uint16(), func(u uint16) string { return fmt.Sprintf(`\u%04x`, u) }),
		rapid.Map(rapid.Uint16Range(0xd800, 0xdfff), func(u uint16) string { return fmt.Sprintf(`\u%04X`, u) }),
	)
	genBadStrPiece = rapid.SampledFrom([]string{`\x`, `\'`, `\u12`, `\u12G4`, `\`, "\x01", "\x1f", "\t", "\n", "\x00", `"`})
	genKey         = rapid.OneOf(
		rapid.SampledFrom([]string{`"a"`, `"b"`, `""`, `"a.b"`, `"\u0061"`, `"\uD800"`, `"\uDBFF"`, `"é"`, `"\u00e9"`}),
		rapid.Custom(func(t *rapid.T) string { return genString(t) }),
	)
	genJSONText = rapid.Custom(func(t *rapid.T) string {
		var b strings.Builder
		genValue(t, &b, 0)
		b.WriteString(genSpace.Draw(t, "trailing"))
		return b.String()
	})
)

func genString(t *rapid.T) string {
	var b strings.Builder
	b.WriteByte('"')
	for range rapid.IntRange(0, 6).Draw(t, "pieces") {
		if rapid.IntRange(0, 40).Draw(t, "bad") == 0 {
			b.WriteString(genBadStrPiece.Draw(t, "badpiece"))
		} else {
			b.WriteString(genStrPiece.Draw(t, "piece"))
		}
	}
	b.WriteByte('"')
	return b.String()
}

// genValue writes one random JSON value, now and then a nearly valid one.
func genValue(t *rapid.T, b *strings.Builder, depth int) {
	b.WriteString(genSpace.Draw(t, "space"))
	kind := rapid.IntRange(0, 9).Draw(t, "kind")
	if depth > 7 {
		kind %= 5
	}
	switch kind {
	case 0:
		b.WriteString(rapid.SampledFrom([]string{"null", "true", "false"}).Draw(t, "literal"))
	case 1, 2:
		b.WriteString(genNum.Draw(t, "number"))
	case 3, 4:
		b.WriteString(genString(t))
	case 5, 6:
		b.WriteByte('[')
		n := rapid.SampledFrom([]int{0, 1, 2, 3, 5, 16, 17}).Draw(t, "elements")
		for i := range n {
			if i > 0 {
				b.WriteString(genSpace.Draw(t, "space"))
				b.WriteByte(',')
			}
			genValue(t, b, depth+1)
		}
		b.WriteString(genSpace.Draw(t, "space"))
		b.WriteByte(']')
	case 7, 8:
		b.WriteByte('{')
		n := rapid.SampledFrom([]int{0, 1, 2, 3, 5, 16, 17}).Draw(t, "fields")
		for i := range n {
			if i > 0 {
				b.WriteString(genSpace.Draw(t, "space"))
				b.WriteByte(',')
			}
			b.WriteString(genSpace.Draw(t, "space"))
			b.WriteString(genKey.Draw(t, "key"))
			b.WriteString(genSpace.Draw(t, "space"))
			b.WriteByte(':')
			genValue(t, b, depth+1)
		}
		b.WriteString(genSpace.Draw(t, "space"))
		b.WriteByte('}')
	case 9: // a deep chain
		n := rapid.IntRange(1, 70).Draw(t, "chain")
		open := rapid.SampledFrom([]string{"[", `{"k":`, `[{"k":`}).Draw(t, "link")
		closing := map[string]string{"[": "]", `{"k":`: "}", `[{"k":`: "}]"}[open]
		b.WriteString(strings.Repeat(open, n))
		genValue(t, b, 8)
		b.WriteString(strings.Repeat(closing, n))
	}
}

// mutate breaks a JSON text in a few places, mostly with bytes that matter to JSON.
func mutate(t *rapid.T, s string) string {
	b := []byte(s)
	for range rapid.IntRange(1, 3).Draw(t, "mutations") {
		pos := rapid.IntRange(0, len(b)).Draw(t, "at")
		c := rapid.SampledFrom([]byte(`{}[],:"\ 0123456789-+.eEtrufalsn`+"\t\n\x00\x01\xc3\xa9")).Draw(t, "byte")
		switch rapid.IntRange(0, 3).Draw(t, "op") {
		case 0:
			b = slices.Insert(b, pos, c)
		case 1:
			if pos < len(b) {
				b = slices.Delete(b, pos, pos+1)
			}
		case 2:
			if pos < len(b) {
				b[pos] = c
			}
		case 3:
			b = b[:pos]
		}
	}
	return string(b)
}

// TestParseJSONDifferentialRandom: 1,000 checks (the house default) of 2 random texts and
// 4 broken copies each; -rapid.checks=N for more.
func TestParseJSONDifferentialRandom(t *testing.T) {
	n, accepted := 0, 0
	rapid.Check(t, func(t *rapid.T) {
		for range 2 {
			s := genJSONText.Draw(t, "json")
			if _, err := parseJSONReference([]byte(s), DefaultLimits); err == nil {
				accepted++
			}
			checkSameParse(t, []byte(s))
			checkSameParse(t, []byte(mutate(t, s)))
			checkSameParse(t, []byte(mutate(t, s)))
			n += 3
		}
	})
	t.Logf("%d random texts agree (%d of the unmutated third accepted)", n, accepted)
}

// ---- random value trees for FormatJSON ----

var genTree = rapid.Deferred(func() *rapid.Generator[any] { return genTreeOf(0) })

func genTreeOf(depth int) *rapid.Generator[any] {
	anyStr := rapid.OneOf(rapid.String(), rapid.StringOf(rapid.RuneFrom([]rune{'a', '"', '\\', '\b', '\f', '\n', '\r', '\t', 0, 0x1f, 0x7f, '<', '&', 0x2028, 0x2029, 0xfffd, 'é', '😀'})),
		rapid.Map(rapid.SliceOfN(rapid.Byte(), 0, 8), func(b []byte) string { return string(b) })) // invalid UTF-8 too
	scalars := []*rapid.Generator[any]{
		rapid.Just[any](nil),
		rapid.Map(rapid.Bool(), func(x bool) any { return x }),
		rapid.Map(rapid.Int64(), func(x int64) any { return x }),
		rapid.Map(rapid.Uint64Min(math.MaxInt64+1), func(x uint64) any { return x }),
		rapid.Map(rapid.Float64(), func(x float64) any { return x }), // NaN and Inf are errors
		rapid.Map(rapid.SampledFrom([]float64{0, math.Copysign(0, -1), 1, 1e21, 1e20, 1e-7, 1e-6, 123456789, 5e-324, math.MaxFloat64}), func(x float64) any { return x }),
		rapid.Map(anyStr, func(x string) any { return x }),
		rapid.Just[any](int(1)), // not a JSON value
	}
	if depth >= 4 {
		return rapid.OneOf(scalars...)
	}
	inner := rapid.Deferred(func() *rapid.Generator[any] { return genTreeOf(depth + 1) })
	return rapid.OneOf(append(scalars,
		rapid.Map(rapid.SliceOfN(inner, 0, 5), func(x []any) any { return x }),
		rapid.Map(rapid.MapOfN(anyStr, inner, 0, 5), func(x map[string]any) any { return x }),
	)...)
}

func TestFormatJSONDifferential(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		for range 20 {
			checkSameFormat(t, genTree.Draw(t, "tree"))
		}
	})
}

// FuzzParseJSONDifferential: the hand-written parser and the encoding/json reference
// accept the same texts, with the same values, and reject the same texts, with the same
// errors. Seeds live in testdata/fuzz/FuzzParseJSONDifferential.
func FuzzParseJSONDifferential(f *testing.F) {
	for _, s := range edgeCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkSameParse(t, data)
	})
}

// TestParseJSONConcurrent: parsers (and the strings they intern) are shared through a
// pool; run with -race.
func TestParseJSONConcurrent(t *testing.T) {
	docs := [][]byte{[]byte(benchSmall), []byte(benchKiB), []byte(`{"a":"x","b":["x","y"],"c":{"a":"y"}}`), []byte(`["y","x"]`)}
	want := make([]any, len(docs))
	for i, d := range docs {
		want[i], _ = parseJSONReference(d, DefaultLimits)
	}
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 200 {
				k := (g + i) % len(docs)
				got, err := ParseJSON(docs[k], DefaultLimits)
				if err != nil || !sameValue(want[k], got) {
					errs <- fmt.Errorf("%s: %v, %v", docs[k], got, err)
					return
				}
				if _, err := FormatJSON(got); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// ---- benchmarks ----

// benchSmall is a ~20-field object like the ones korup2p's write path handles.
const benchSmall = `{"id":"c0a8012e-5f3b-4d1e-9a7c-2b6f8e4d1a90","type":"message","version":3,"created":1732617600123,` +
	`"author":{"name":"Ada Lovelace","handle":"ada","verified":true},"title":"Notes on the Analytical Engine",` +
	`"body":"The engine can arrange and combine its numerical quantities \"exactly as if\" they were letters.",` +
	`"tags":["math","history","engines"],"score":4.75,"ratio":-0.125,"count":42,"flags":[true,false,null],` +
	`"lang":"en","reply_to":null,"attachments":[],"meta":{},"coords":[51.5072,-0.1276],"views":18446744073709551615,` +
	`"offset":-9223372036854775808,"note":"caf\u00e9 \ud83d\ude00"}`

// benchKiB is a 1 KiB object: a list of records with strings and numbers.
var benchKiB = func() string {
	var b strings.Builder
	b.WriteString(`{"kind":"batch","items":[`)
	for i := 0; b.Len() < 1000; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"n":%d,"name":"item-%d","price":%d.%02d,"ok":%t}`, i, i, 10+i, i*7%100, i%2 == 0)
	}
	b.WriteString(`]}`)
	return b.String()
}()

func BenchmarkParseJSON(b *testing.B) {
	for _, in := range []struct{ name, json string }{{"small", benchSmall}, {"1KiB", benchKiB}} {
		data := []byte(in.json)
		for _, impl := range []struct {
			name  string
			parse func([]byte, Limits) (any, error)
		}{{"new", ParseJSON}, {"reference", parseJSONReference}} {
			b.Run(fmt.Sprintf("%s/%s", in.name, impl.name), func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := impl.parse(data, DefaultLimits); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkFormatJSON(b *testing.B) {
	for _, in := range []struct{ name, json string }{{"small", benchSmall}, {"1KiB", benchKiB}} {
		v, err := ParseJSON([]byte(in.json), DefaultLimits)
		if err != nil {
			b.Fatal(err)
		}
		for _, impl := range []struct {
			name   string
			format func(any) ([]byte, error)
		}{{"new", FormatJSON}, {"reference", formatJSONReference}} {
			b.Run(fmt.Sprintf("%s/%s", in.name, impl.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := impl.format(v); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
