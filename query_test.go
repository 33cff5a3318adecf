package korup2p_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/korup2p/korup2p"
)

func TestQuery(t *testing.T) {
	n := openMem(t, nil)
	people := []string{
		`{"name":"Ada","age":36,"city":"London","tags":["math","code"]}`,
		`{"name":"Bob","age":25,"city":"Paris"}`,
		`{"name":"Cy","age":41.5,"city":"London","tags":["art"]}`,
		`{"name":"Di","city":"Berlin"}`,
	}
	for i, p := range people {
		mustPut(t, n, "default", fmt.Sprintf("people/%d", i), []byte(p))
	}
	mustPut(t, n, "default", "pets/1", []byte(`{"name":"Rex","age":3}`))
	mustPut(t, n, "default", "people/9", []byte(`{"name":"Gone","age":99}`))
	if _, err := n.Delete(ctx, "default", "people/9"); err != nil {
		t.Fatal(err)
	}
	where := func(s ...string) []korup2p.Filter {
		var fs []korup2p.Filter
		for _, x := range s {
			f, err := korup2p.ParseFilter(x)
			if err != nil {
				t.Fatal(err)
			}
			fs = append(fs, f)
		}
		return fs
	}
	keys := func(r korup2p.QueryResult) string {
		s := ""
		for _, row := range r.Rows {
			s += row.Key + " "
		}
		return s
	}
	for _, tc := range []struct {
		name string
		q    korup2p.Query
		want string
	}{
		{"all", korup2p.Query{}, "people/0 people/1 people/2 people/3 "},
		{"eq", korup2p.Query{Filters: where("city = London")}, "people/0 people/2 "},
		{"gte across int and float", korup2p.Query{Filters: where("age >= 36")}, "people/0 people/2 "},
		{"contains", korup2p.Query{Filters: where("tags contains art")}, "people/2 "},
		{"exists", korup2p.Query{Filters: where("age exists", "city != Paris")}, "people/0 people/2 "},
		{"sort desc limit", korup2p.Query{Sort: "age", Desc: true, Limit: 2}, "people/2 people/0 "},
		{"missing sort field last", korup2p.Query{Sort: "age"}, "people/1 people/0 people/2 people/3 "},
	} {
		r, err := n.Query(ctx, "default", "people", tc.q)
		if err != nil || keys(r) != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.name, keys(r), err, tc.want)
		}
	}
	for _, tc := range []struct {
		agg  korup2p.Aggregate
		want string
	}{
		{korup2p.Aggregate{Kind: korup2p.AggCount}, "4"},
		{korup2p.Aggregate{Kind: korup2p.AggSum, Field: "age"}, "102.5"},
		{korup2p.Aggregate{Kind: korup2p.AggAvg, Field: "age"}, "34.166666666666664"},
		{korup2p.Aggregate{Kind: korup2p.AggMin, Field: "age"}, "25"},
		{korup2p.Aggregate{Kind: korup2p.AggMax, Field: "name"}, `"Di"`},
	} {
		r, err := n.Query(ctx, "default", "people", korup2p.Query{Aggregate: &tc.agg})
		if err != nil || string(r.Aggregate) != tc.want {
			t.Errorf("%s(%s) = %s, %v; want %s", tc.agg.Kind, tc.agg.Field, r.Aggregate, err, tc.want)
		}
	}
	if _, err := n.Query(ctx, "default", "people/x", korup2p.Query{}); err == nil {
		t.Error("a namespace with a slash was accepted")
	}
	if _, err := n.Query(ctx, "default", "people", korup2p.Query{Filters: []korup2p.Filter{{Field: "a", Op: "like"}}}); !errors.Is(err, korup2p.ErrInvalidQuery) {
		t.Errorf("unknown operator: %v", err)
	}
	st, err := n.Stats()
	if err != nil || len(st.Spaces) != 1 || st.Spaces[0].Nodes != 8 || len(st.Spaces[0].Heads) != 1 || st.Hot.Entries == 0 {
		t.Errorf("Stats = %+v, %v", st, err)
	}
}
