package query_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/korup2p/korup2p/internal/query"
)

func TestParseFilter(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want query.Filter
	}{
		{`age >= 30`, query.Filter{Field: "age", Op: query.OpGte, Value: int64(30)}},
		{`age>=30`, query.Filter{Field: "age", Op: query.OpGte, Value: int64(30)}},
		{`age gte 30`, query.Filter{Field: "age", Op: query.OpGte, Value: int64(30)}},
		{`age GTE 30.0`, query.Filter{Field: "age", Op: query.OpGte, Value: 30.0}},
		{`name == "Ada"`, query.Filter{Field: "name", Op: query.OpEq, Value: "Ada"}},
		{`name = "true"`, query.Filter{Field: "name", Op: query.OpEq, Value: "true"}},
		{`name eq Ada`, query.Filter{Field: "name", Op: query.OpEq, Value: "Ada"}},
		{`address.city = Paris`, query.Filter{Field: "address.city", Op: query.OpEq, Value: "Paris"}},
		{"  city\t=  New York  ", query.Filter{Field: "city", Op: query.OpEq, Value: "New York"}},
		{`v = 1.2.3`, query.Filter{Field: "v", Op: query.OpEq, Value: "1.2.3"}},
		{`v = -`, query.Filter{Field: "v", Op: query.OpEq, Value: "-"}},
		{`v=a=b`, query.Filter{Field: "v", Op: query.OpEq, Value: "a=b"}},
		{`x != null`, query.Filter{Field: "x", Op: query.OpNe, Value: nil}},
		{`x ne true`, query.Filter{Field: "x", Op: query.OpNe, Value: true}},
		{`x > -1e3`, query.Filter{Field: "x", Op: query.OpGt, Value: -1000.0}},
		{`x gt 18446744073709551615`, query.Filter{Field: "x", Op: query.OpGt, Value: uint64(18446744073709551615)}},
		{`x < 1`, query.Filter{Field: "x", Op: query.OpLt, Value: int64(1)}},
		{`x lt 1`, query.Filter{Field: "x", Op: query.OpLt, Value: int64(1)}},
		{`x <= 1`, query.Filter{Field: "x", Op: query.OpLte, Value: int64(1)}},
		{`x lte 1`, query.Filter{Field: "x", Op: query.OpLte, Value: int64(1)}},
		{`x = [1, "a"]`, query.Filter{Field: "x", Op: query.OpEq, Value: []any{int64(1), "a"}}},
		{`x = {"a": 1.5}`, query.Filter{Field: "x", Op: query.OpEq, Value: map[string]any{"a": 1.5}}},
		{`tags contains x`, query.Filter{Field: "tags", Op: query.OpContains, Value: "x"}},
		{`tags Contains 3`, query.Filter{Field: "tags", Op: query.OpContains, Value: int64(3)}},
		{`email exists`, query.Filter{Field: "email", Op: query.OpExists}},
		{`email exists true`, query.Filter{Field: "email", Op: query.OpExists, Value: true}},
		{`email exists false`, query.Filter{Field: "email", Op: query.OpExists, Value: false}},
		{`"first name" = Ada`, query.Filter{Field: "first name", Op: query.OpEq, Value: "Ada"}},
		{`"a\u003db"=1`, query.Filter{Field: "a=b", Op: query.OpEq, Value: int64(1)}},
		{`"" = 1`, query.Filter{Field: "", Op: query.OpEq, Value: int64(1)}},
		{`. contains é`, query.Filter{Field: ".", Op: query.OpContains, Value: "é"}},
		{`tags.0 == a"b`, query.Filter{Field: "tags.0", Op: query.OpEq, Value: `a"b`}},
	} {
		got, err := query.ParseFilter(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %#v, want %#v", tc.in, got, tc.want)
		}
	}
}

func TestParseFilterErrors(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{`age >== 3`, `filter "age >== 3": unknown operator ">==" at column 5`},
		{``, `filter "": missing field at column 1`},
		{`  >= 3`, `filter "  >= 3": missing field at column 3`},
		{`age`, `filter "age": missing operator after field "age" at column 4`},
		{`age >=`, `filter "age >=": missing value after ">=" at column 7`},
		{`age between 3`, `filter "age between 3": unknown operator "between" at column 5`},
		{`age gte3`, `unknown operator "gte3" at column 5`},
		{`name == "Ada`, `filter "name == \"Ada": value: invalid JSON at offset 4: unexpected end of input in string at column 9`},
		{`x = [1,`, `invalid JSON at offset 3: unexpected end of input at column 5`},
		{`x = {"a":1,"a":2}`, `duplicate key "a"`},
		{`n = 123456789012345678901234`, `outside the 64-bit range`},
		{`a..b = 1`, `field "a..b" has an empty segment at column 1`},
		{`"a." = 1`, `field "a." has an empty segment`},
		{`email exists yes`, `exists takes no value (or true or false), got "yes" at column 14`},
		{`"abc = 1`, `unterminated quoted field at column 1`},
		{`"a\x" = 1`, `quoted field: invalid character 'x' in string escape code`},
		{"a\xff = 1", `invalid UTF-8 at column 2`},
		{`é = `, `missing value after "=" at column 5`},
	} {
		_, err := query.ParseFilter(tc.in)
		var se *query.SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, query.ErrInvalid) || se.Input != tc.in {
			t.Errorf("%s: got %v, want a SyntaxError", tc.in, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\ngot  %v\nwant %s", tc.in, err, tc.want)
		}
	}
}

func TestFilterString(t *testing.T) {
	for _, tc := range []struct {
		f    query.Filter
		want string
	}{
		{query.Filter{Field: "age", Op: query.OpGte, Value: int64(30)}, `age >= 30`},
		{query.Filter{Field: "age", Op: query.OpEq, Value: 30.0}, `age == 30.0`},
		{query.Filter{Field: "city", Op: query.OpNe, Value: "Paris"}, `city != "Paris"`},
		{query.Filter{Field: "first name", Op: query.OpLt, Value: nil}, `"first name" < null`},
		{query.Filter{Field: `"q`, Op: query.OpLte, Value: true}, `"\"q" <= true`},
		{query.Filter{Field: "a", Op: query.OpGt, Value: []any{int64(1)}}, `a > [1]`},
		{query.Filter{Field: "tags", Op: query.OpContains, Value: "x"}, `tags contains "x"`},
		{query.Filter{Field: "", Op: query.OpExists}, `"" exists`},
		{query.Filter{Field: ".", Op: query.OpExists, Value: false}, `. exists false`},
		{query.Filter{Field: "a", Op: "like", Value: 3}, `a like 3`}, // invalid, still printable
	} {
		if got := tc.f.String(); got != tc.want {
			t.Errorf("got %s, want %s", got, tc.want)
		}
	}
}

// FuzzParseFilter: no input panics ParseFilter; a filter it accepts is valid, and
// formats to text that parses back to the same filter.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		`age >= 30`, `name == "Ada"`, `tags contains x`, `email exists`, `address.city = Paris`,
		`age >== 3`, `"first name" ne {"a":[1,2.5,null]}`, `x exists false`, `a<=-0.0`, `. = New York`,
		`"" contains "\u00e9"`, `n = 18446744073709551615`, `a..b = 1`, `x = [1,`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := query.ParseFilter(s)
		if err != nil {
			var se *query.SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(s) {
				t.Fatalf("%q: bad error %#v", s, err)
			}
			return
		}
		if err := (query.Query{Filters: []query.Filter{flt}}).Validate(); err != nil {
			t.Fatalf("%q parsed to an invalid filter: %v", s, err)
		}
		text := flt.String()
		again, err := query.ParseFilter(text)
		if err != nil {
			t.Fatalf("%q parsed to %#v, which formats as %q, which does not parse: %v", s, flt, text, err)
		}
		if !reflect.DeepEqual(again, flt) {
			t.Fatalf("%q parsed to %#v; its text %q parses to %#v", s, flt, text, again)
		}
		if again.String() != text {
			t.Fatalf("%q formats as %q, then as %q", s, text, again.String())
		}
	})
}
