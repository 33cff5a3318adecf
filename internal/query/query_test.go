package query_test

import (
	"errors"
	"fmt"
	"iter"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/korup2p/korup2p/distinctions"
	"github.com/korup2p/korup2p/internal/query"
)

func parse(t testing.TB, s string) any {
	t.Helper()
	v, err := distinctions.ParseJSON([]byte(s), distinctions.DefaultLimits)
	if err != nil {
		t.Fatalf("parse %s: %v", s, err)
	}
	return v
}

// rows yields the JSON values of docs in key order.
func rows(t testing.TB, docs map[string]string) iter.Seq2[string, any] {
	vals := map[string]any{}
	for k, s := range docs {
		vals[k] = parse(t, s)
	}
	return func(yield func(string, any) bool) {
		for _, k := range slices.Sorted(maps.Keys(vals)) {
			if !yield(k, vals[k]) {
				return
			}
		}
	}
}

func keys(res query.Result) string {
	var ks []string
	for _, r := range res.Rows {
		ks = append(ks, r.Key)
	}
	return strings.Join(ks, " ")
}

var people = map[string]string{
	"a": `{"name":"Ada","age":36,"tags":["math","code"],"address":{"city":"London"},"on":true}`,
	"b": `{"name":"Bob","age":30.0,"tags":[],"address":{"city":"Paris","zip":"75001"},"on":false}`,
	"c": `{"name":"Cy","age":"forty","tags":["code"],"address":null}`,
	"d": `{"name":"Dee","age":9223372036854775807,"nick":null}`,
	"e": `[1,2,3]`,
	"f": `"plain"`,
	"g": `{"name":"Eve","age":18446744073709551615,"tags":[1,1.0,{"k":[1]}]}`,
}

func TestFilters(t *testing.T) {
	for _, tc := range []struct {
		filter, want string
	}{
		{`age == 36`, "a"},
		{`age == 30`, "b"}, // 30 equals 30.0
		{`age == 36.0`, "a"},
		{`age == forty`, "c"},
		{`age == 9223372036854775807`, "d"},
		{`age == 9223372036854775807.0`, ""}, // the float is 2^63, one more than d's age
		{`age == 18446744073709551615`, "g"},
		{`address == {"city":"London"}`, "a"},
		{`address == {"city":"London","zip":"1"}`, ""},
		{`address == null`, "c"},
		{`tags == ["math","code"]`, "a"},
		{`tags == ["code","math"]`, ""},
		{`tags == [1.0,1,{"k":[1.0]}]`, "g"},
		{`age != 36`, "b c d e f g"}, // missing fields are not equal
		{`on != false`, "a c d e f g"},
		{`age > 30`, "a d g"},
		{`age > 30.5`, "a d g"},
		{`age >= 30`, "a b d g"},
		{`age < 36`, "b"},
		{`age <= 36`, "a b"},
		{`age < 9223372036854775808.0`, "a b d"},
		{`age > 9223372036854775807`, "g"},
		{`age > a`, "c"},     // strings only against strings
		{`age < 1e400x`, ""}, // a bare string
		{`name > B`, "b c d g"},
		{`name < B`, "a"},
		{`on > false`, "a"},
		{`on <= true`, "a b"},
		{`address > null`, ""},
		{`address >= null`, "c"},
		{`tags > ["code"]`, "a"},
		{`name contains e`, "d g"},
		{`tags contains code`, "a c"},
		{`tags contains 1.0`, "g"},
		{`tags contains {"k":[1.0]}`, "g"},
		{`tags contains "k"`, ""},
		{`address contains zip`, "b"},
		{`address contains 1`, ""},
		{`. contains lai`, "f"},
		{`. contains 2.0`, "e"},
		{`age contains 3`, ""},
		{`nick exists`, "d"},
		{`nick exists true`, "d"},
		{`nick exists false`, "a b c e f g"},
		{`address.zip exists`, "b"},
		{`nick == null`, "d"},
		{`tags.0 == math`, "a"},
		{`tags.1 == 1.0`, "g"},
		{`tags.2.k.0 == 1`, "g"},
		{`tags.01 exists`, ""},
		{`tags.5 exists`, ""},
		{`0 == 1`, "e"},
		{`name.0 exists`, ""},
		{`address.city = Paris`, "b"},
		{`address.city != Paris`, "a c d e f g"},
		{`"" == "plain"`, "f"},
		{`. == [1,2,3.0]`, "e"},
	} {
		f, err := query.ParseFilter(tc.filter)
		if err != nil {
			t.Fatal(err)
		}
		res, err := query.Run(query.Query{Filters: []query.Filter{f}}, rows(t, people))
		if err != nil {
			t.Fatalf("%s: %v", tc.filter, err)
		}
		if got := keys(res); got != tc.want || res.Count != len(res.Rows) {
			t.Errorf("%s: got %q (count %d), want %q", tc.filter, got, res.Count, tc.want)
		}
	}
}

func TestFiltersAreANDed(t *testing.T) {
	q := query.Query{Filters: []query.Filter{
		{Field: "age", Op: query.OpGte, Value: int64(30)},
		{Field: "tags", Op: query.OpContains, Value: "code"},
	}}
	res, err := query.Run(q, rows(t, people))
	if err != nil || keys(res) != "a" {
		t.Fatalf("got %q, %v; want a", keys(res), err)
	}
}

func TestSort(t *testing.T) {
	ties := map[string]string{"k1": `{"v":1}`, "k2": `{"v":1.0}`, "k3": `{"v":1}`, "k4": `{}`, "k5": `{"v":0}`}
	mixed := map[string]string{
		"a": `{}`, "b": `[]`, "c": `""`, "d": `-1.5`, "e": `0`, "f": `true`, "g": `false`, "h": `null`,
		"i": `[0]`, "j": `{"a":1}`, "k": `"a"`, "l": `18446744073709551615`,
	}
	for _, tc := range []struct {
		docs  map[string]string
		sort  string
		desc  bool
		limit int
		want  string
	}{
		{people, "", false, 0, "a b c d e f g"},
		{people, "", true, 0, "g f e d c b a"},
		{people, "", true, 3, "g f e"},
		{people, "age", false, 0, "b a d g c e f"},
		{people, "age", true, 0, "c g d a b e f"}, // missing still last
		{people, "age", false, 2, "b a"},
		{people, "age", true, 2, "c g"},
		{people, "age", false, 6, "b a d g c e"},
		{people, "age", false, 100, "b a d g c e f"},
		{people, "address.city", false, 0, "a b c d e f g"},
		{ties, "v", false, 0, "k5 k1 k2 k3 k4"},
		{ties, "v", true, 0, "k1 k2 k3 k5 k4"}, // ties by key in both directions
		{ties, "v", true, 2, "k1 k2"},
		{mixed, ".", false, 0, "h g f d e l c k b i a j"},
		{mixed, ".", true, 4, "j a i b"},
	} {
		q := query.Query{Sort: tc.sort, Desc: tc.desc, Limit: tc.limit}
		res, err := query.Run(q, rows(t, tc.docs))
		if err != nil {
			t.Fatal(err)
		}
		if got := keys(res); got != tc.want {
			t.Errorf("sort %q desc %v limit %d: got %q, want %q", tc.sort, tc.desc, tc.limit, got, tc.want)
		}
	}
}

func TestLimitUnsorted(t *testing.T) {
	res, err := query.Run(query.Query{Limit: 2, Filters: []query.Filter{{Field: "name", Op: query.OpExists}}}, rows(t, people))
	if err != nil || keys(res) != "a b" {
		t.Fatalf("got %q, %v; want a b", keys(res), err)
	}
}

// TestRunStopsEarly: without a sort, Run pulls only the rows it needs for Limit.
func TestRunStopsEarly(t *testing.T) {
	const last = 6 // matches are the even rows: 0, 2, 4, 6
	seq := func(yield func(string, any) bool) {
		for i := range 1000 {
			if i > last {
				t.Errorf("pulled row %d; the limit needs only rows 0..%d", i, last)
				return
			}
			if !yield(fmt.Sprintf("k%03d", i), map[string]any{"even": i%2 == 0}) {
				return
			}
		}
	}
	q := query.Query{Filters: []query.Filter{{Field: "even", Op: query.OpEq, Value: true}}, Limit: 4}
	res, err := query.Run(q, seq)
	if err != nil || keys(res) != "k000 k002 k004 k006" {
		t.Fatalf("got %q, %v", keys(res), err)
	}
}

func agg(k query.AggKind, field string) query.Aggregate {
	return query.Aggregate{Kind: k, Field: field}
}

func TestAggregates(t *testing.T) {
	nums := func(vals ...string) map[string]string {
		m := map[string]string{}
		for i, v := range vals {
			m[fmt.Sprintf("k%02d", i)] = `{"n":` + v + `}`
		}
		return m
	}
	const maxInt = "9223372036854775807"
	for _, tc := range []struct {
		name  string
		docs  map[string]string
		agg   query.Aggregate
		where string
		count int
		want  any
	}{
		{"count", people, query.Aggregate{Kind: query.Count}, "", 7, int64(7)},
		{"count where", people, query.Aggregate{Kind: query.Count, Field: "ignored"}, "age exists", 5, int64(5)},
		{"count none", nil, query.Aggregate{Kind: query.Count}, "", 0, int64(0)},
		{"sum ints", nums("1", "2", "-5"), agg(query.Sum, "n"), "", 3, int64(-2)},
		{"sum mixed", nums("1", "2.5"), agg(query.Sum, "n"), "", 2, 3.5},
		{"sum skips", nums("1", `"2"`, "null", "[3]", "4"), agg(query.Sum, "n"), "", 2, int64(5)},
		{"sum skips missing", people, agg(query.Sum, "on"), "", 0, nil},
		{"sum overflow", nums(maxInt, "1"), agg(query.Sum, "n"), "", 2, float64(1 << 63)},
		{"sum overflow back", nums(maxInt, "1", "-2"), agg(query.Sum, "n"), "", 3, int64(math.MaxInt64 - 1)},
		{"sum uint back", nums("18446744073709551615", "-9223372036854775808"), agg(query.Sum, "n"), "", 2, int64(math.MaxInt64)},
		{"sum uint", nums("18446744073709551615", "1"), agg(query.Sum, "n"), "", 2, float64(1 << 64)},
		{"sum none", nil, agg(query.Sum, "n"), "", 0, nil},
		{"sum whole", map[string]string{"a": "2", "b": "3"}, agg(query.Sum, ""), "", 2, int64(5)},
		{"avg", nums("1", `"x"`, "2.0"), agg(query.Avg, "n"), "", 2, 1.5},
		{"avg ints", nums("1", "2"), agg(query.Avg, "n"), "", 2, 1.5},
		{"avg none", nil, agg(query.Avg, "n"), "", 0, nil},
		{"min", nums("3", "1.5", "2"), agg(query.Min, "n"), "", 3, 1.5},
		{"max", nums("3", "1.5", "2"), agg(query.Max, "n"), "", 3, int64(3)},
		{"min mixed", nums("3", `"a"`, "null", "true"), agg(query.Min, "n"), "", 4, nil},
		{"max mixed", nums("3", `"a"`, "null", "[]"), agg(query.Max, "n"), "", 4, []any{}},
		{"max tie first", nums("1", "1.0"), agg(query.Max, "n"), "", 2, int64(1)},
		{"min tie first", nums("1.0", "1"), agg(query.Min, "n"), "", 2, 1.0},
		{"max where", people, agg(query.Max, "age"), "age < 100", 2, int64(36)},
		{"min none", nil, agg(query.Min, "n"), "", 0, nil},
	} {
		q := query.Query{Aggregate: &tc.agg, Limit: 1, Sort: "n"} // both ignored
		if tc.where != "" {
			f, err := query.ParseFilter(tc.where)
			if err != nil {
				t.Fatal(err)
			}
			q.Filters = []query.Filter{f}
		}
		res, err := query.Run(q, rows(t, tc.docs))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if res.Count != tc.count || !reflect.DeepEqual(res.Value, tc.want) || res.Rows != nil {
			t.Errorf("%s: got %#v (count %d, %d rows), want %#v (count %d)", tc.name, res.Value, res.Count, len(res.Rows), tc.want, tc.count)
		}
	}
}

func TestAggregateOverflow(t *testing.T) {
	docs := map[string]string{"a": "1e308", "b": "1.5e308"}
	for _, k := range []query.AggKind{query.Sum, query.Avg} {
		_, err := query.Run(query.Query{Aggregate: &query.Aggregate{Kind: k}}, rows(t, docs))
		if !errors.Is(err, query.ErrOverflow) {
			t.Errorf("%s: got %v, want ErrOverflow", k, err)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := query.Query{
		Filters:   []query.Filter{{Field: "a.0", Op: query.OpEq, Value: []any{int64(1), "x"}}, {Op: query.OpExists, Value: false}},
		Sort:      ".",
		Limit:     3,
		Aggregate: &query.Aggregate{Kind: query.Count, Field: "a..b"}, // count ignores Field
	}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q    query.Query
		want string
	}{
		{query.Query{Filters: []query.Filter{{Field: "a", Op: "=="}}}, `filter 0 (a == null): unknown operator "=="`},
		{query.Query{Filters: []query.Filter{{Field: "a", Op: query.OpEq}, {Field: "a..b", Op: query.OpEq}}}, `filter 1 (a..b == null): field "a..b" has an empty segment`},
		{query.Query{Filters: []query.Filter{{Field: "a", Op: query.OpEq, Value: 30}}}, `int is not a JSON value`},
		{query.Query{Filters: []query.Filter{{Field: "a", Op: query.OpEq, Value: uint64(3)}}}, `use int64`},
		{query.Query{Filters: []query.Filter{{Field: "a", Op: query.OpGt, Value: math.NaN()}}}, `NaN`},
		{query.Query{Filters: []query.Filter{{Field: "a", Op: query.OpExists, Value: "yes"}}}, `exists takes no value or a bool, not string`},
		{query.Query{Sort: "a."}, `sort: field "a." has an empty segment`},
		{query.Query{Limit: -1}, `negative limit -1`},
		{query.Query{Aggregate: &query.Aggregate{Kind: "median"}}, `unknown aggregate "median"`},
		{query.Query{Aggregate: &query.Aggregate{Kind: query.Sum, Field: ".x"}}, `sum: field ".x" has an empty segment`},
	} {
		err := tc.q.Validate()
		if !errors.Is(err, query.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want ErrInvalid with %q", err, tc.want)
		}
		if _, rerr := query.Run(tc.q, rows(t, people)); rerr == nil || rerr.Error() != err.Error() {
			t.Errorf("Run: got %v, want %v", rerr, err)
		}
	}
}

// BenchmarkRun: 100,000 rows, two filters, sort by a float field, limit 10.
func BenchmarkRun(b *testing.B) {
	cities := []string{"Paris", "London", "Berlin", "Rome", "Oslo"}
	data := make([]query.Row, 100_000)
	for i := range data {
		data[i] = query.Row{Key: fmt.Sprintf("user/%06d", i), Value: map[string]any{
			"name":    fmt.Sprintf("user %d", i),
			"age":     int64(i % 90),
			"score":   float64(i*7919%100_000) / 100,
			"address": map[string]any{"city": cities[i%len(cities)]},
		}}
	}
	seq := func(yield func(string, any) bool) {
		for _, r := range data {
			if !yield(r.Key, r.Value) {
				return
			}
		}
	}
	q := query.Query{
		Filters: []query.Filter{
			{Field: "age", Op: query.OpGte, Value: int64(30)},
			{Field: "address.city", Op: query.OpEq, Value: "Paris"},
		},
		Sort: "score", Desc: true, Limit: 10,
	}
	for b.Loop() {
		res, err := query.Run(q, seq)
		if err != nil || len(res.Rows) != 10 {
			b.Fatal(len(res.Rows), err)
		}
	}
}
