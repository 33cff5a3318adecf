package query

import (
	"cmp"
	"fmt"
	"math"
	"math/big"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// jsonValue draws JSON value trees nested at most depth deep, rich in numbers that are
// equal or nearly equal across int64, uint64 and float64.
func jsonValue(depth int) *rapid.Generator[any] {
	gens := []*rapid.Generator[any]{
		rapid.Just[any](nil),
		rapid.Map(rapid.Bool(), func(b bool) any { return b }),
		rapid.Map(rapid.Int64Range(-3, 3), func(i int64) any { return i }),
		rapid.Map(rapid.Int64(), func(i int64) any { return i }),
		rapid.Map(rapid.Uint64Min(1<<63), func(u uint64) any { return u }),
		rapid.Map(rapid.Int64Range(-6, 6), func(i int64) any { return float64(i) / 2 }),
		rapid.Map(rapid.Int64(), func(i int64) any { return float64(i) }),
		rapid.Map(rapid.Uint64(), func(u uint64) any { return float64(u) }),
		rapid.Map(rapid.Float64(), func(f float64) any { return f }),
		rapid.SampledFrom([]any{
			int64(math.MaxInt64), int64(math.MinInt64), uint64(math.MaxUint64), uint64(1 << 63),
			two63, -two63, two64, math.Copysign(0, -1), float64(1 << 53), int64(1<<53 + 1),
		}),
		rapid.Map(rapid.StringMatching(`[ab]{0,3}`), func(s string) any { return s }),
	}
	if depth > 0 {
		elem := jsonValue(depth - 1)
		gens = append(gens,
			rapid.Map(rapid.SliceOfN(elem, 0, 3), func(s []any) any { return s }),
			rapid.Map(rapid.MapOfN(rapid.StringMatching(`[ab]{1,2}`), elem, 0, 3), func(m map[string]any) any { return m }),
		)
	}
	return rapid.OneOf(gens...)
}

func bigOf(v any) *big.Float {
	f := new(big.Float).SetPrec(200)
	switch x := v.(type) {
	case int64:
		return f.SetInt64(x)
	case uint64:
		return f.SetUint64(x)
	}
	return f.SetFloat64(v.(float64))
}

// TestCompareIsATotalOrder: compare is antisymmetric and transitive, and orders
// numbers exactly as arbitrary-precision arithmetic does.
func TestCompareIsATotalOrder(t *testing.T) {
	gen := jsonValue(2)
	rapid.Check(t, func(t *rapid.T) {
		a, b, c := gen.Draw(t, "a"), gen.Draw(t, "b"), gen.Draw(t, "c")
		if compare(a, a) != 0 {
			t.Fatalf("compare(a, a) = %d", compare(a, a))
		}
		ab, ba, bc, ac := compare(a, b), compare(b, a), compare(b, c), compare(a, c)
		if ab != -ba {
			t.Fatalf("compare(a, b) = %d but compare(b, a) = %d", ab, ba)
		}
		if ab <= 0 && bc <= 0 && ac > 0 {
			t.Fatalf("a <= b <= c but a > c (%d %d %d)", ab, bc, ac)
		}
		if ab == 0 && bc == 0 && ac != 0 {
			t.Fatalf("a == b == c but a != c")
		}
		if kindOf(a) == kindNumber && kindOf(b) == kindNumber {
			if want := bigOf(a).Cmp(bigOf(b)); ab != want {
				t.Fatalf("compare(%v, %v) = %d, exact comparison says %d", a, b, ab, want)
			}
		}
	})
}

// TestRunSortsByCompare: Run's sort, desc and limit agree with a model that sorts all
// rows by compare (rows lacking the field last, ties by key) and truncates.
func TestRunSortsByCompare(t *testing.T) {
	gen := jsonValue(1)
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 30).Draw(t, "n")
		type row struct {
			key string
			val any
			has bool
		}
		rows := make([]row, n)
		for i := range rows {
			rows[i] = row{key: fmt.Sprintf("k%02d", i), has: rapid.IntRange(0, 5).Draw(t, "has") > 0}
			if rows[i].has {
				rows[i].val = gen.Draw(t, "v")
			}
		}
		desc := rapid.Bool().Draw(t, "desc")
		limit := rapid.IntRange(0, n+1).Draw(t, "limit")

		want := slices.Clone(rows)
		slices.SortFunc(want, func(a, b row) int {
			if a.has != b.has {
				if a.has {
					return -1
				}
				return 1
			}
			c := compare(a.val, b.val)
			if desc {
				c = -c
			}
			return cmp.Or(c, cmp.Compare(a.key, b.key))
		})
		if limit > 0 && limit < n {
			want = want[:limit]
		}

		res, err := Run(Query{Sort: "x", Desc: desc, Limit: limit}, func(yield func(string, any) bool) {
			for _, r := range rows {
				v := map[string]any{}
				if r.has {
					v["x"] = r.val
				}
				if !yield(r.key, v) {
					return
				}
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rows) != len(want) {
			t.Fatalf("got %d rows, want %d", len(res.Rows), len(want))
		}
		for i, r := range res.Rows {
			if r.Key != want[i].key {
				t.Fatalf("row %d is %s, want %s", i, r.Key, want[i].key)
			}
		}
	})
}
