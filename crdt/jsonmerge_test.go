package crdt

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/korup2p/korup2p/distinctions"
)

// js parses JSON text into the value representation.
func js(s string) any {
	v, err := distinctions.ParseJSON([]byte(s), distinctions.DefaultLimits)
	if err != nil {
		panic(fmt.Sprintf("js(%q): %v", s, err))
	}
	return v
}

// dump renders v exactly: types, float bits, nil containers and Absent all show.
func dump(v any) string {
	var b strings.Builder
	dumpTo(&b, v)
	return b.String()
}

func dumpTo(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case absent:
		b.WriteString("<absent>")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case uint64:
		b.WriteString("u" + strconv.FormatUint(v, 10))
	case float64:
		b.WriteString(strconv.FormatFloat(v, 'g', -1, 64) + "f")
		if math.Signbit(v) && v == 0 {
			b.WriteString("-")
		}
	case string:
		b.WriteString(strconv.Quote(v))
	case []any:
		if v == nil {
			b.WriteString("nil")
		}
		b.WriteString("[")
		for i, e := range v {
			if i > 0 {
				b.WriteString(",")
			}
			dumpTo(b, e)
		}
		b.WriteString("]")
	case map[string]any:
		if v == nil {
			b.WriteString("nil")
		}
		b.WriteString("{")
		for i, k := range slices.Sorted(maps.Keys(v)) {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(strconv.Quote(k) + ":")
			dumpTo(b, v[k])
		}
		b.WriteString("}")
	default:
		fmt.Fprintf(b, "%T(%v)", v, v)
	}
}

// scribble overwrites every object and array inside v, to catch outputs that alias inputs.
func scribble(v any) {
	switch v := v.(type) {
	case []any:
		for i, e := range v {
			scribble(e)
			v[i] = "scribbled"
		}
	case map[string]any:
		for k, e := range v {
			scribble(e)
			v[k] = "scribbled"
		}
		v["scribbled"] = true
	}
}

// wellFormed reports whether v holds no Absent inside it and no nil object or array.
func wellFormed(v any) bool {
	switch v := v.(type) {
	case []any:
		return v != nil && !slices.ContainsFunc(v, func(e any) bool { return IsAbsent(e) || !wellFormed(e) })
	case map[string]any:
		if v == nil {
			return false
		}
		for _, e := range v {
			if IsAbsent(e) || !wellFormed(e) {
				return false
			}
		}
	}
	return true
}

// valueAt returns the value at an object field path, or Absent.
func valueAt(v any, path []string) any {
	for _, k := range path {
		o, ok := v.(map[string]any)
		if !ok {
			return Absent
		}
		v = fieldOf(o, k)
	}
	return v
}

var genFieldName = rapid.SampledFrom([]string{"a", "b", "c", "d"})

// genScalar draws from small domains, so that equal values are frequent.
func genScalar() *rapid.Generator[any] {
	return rapid.OneOf(
		rapid.Just[any](nil),
		rapid.Map(rapid.Bool(), func(b bool) any { return b }),
		rapid.Map(rapid.Int64Range(-2, 2), func(i int64) any { return i }),
		rapid.Map(rapid.Uint64Range(math.MaxInt64+1, math.MaxInt64+2), func(u uint64) any { return u }),
		rapid.Map(rapid.SampledFrom([]float64{0, math.Copysign(0, -1), 1, 2.5}), func(f float64) any { return f }),
		rapid.Map(rapid.SampledFrom([]string{"", "x", "y"}), func(s string) any { return s }),
	)
}

// genValue draws a JSON value nested at most depth levels.
func genValue(depth int) *rapid.Generator[any] {
	if depth <= 0 {
		return genScalar()
	}
	return rapid.OneOf(genScalar(), genArray(depth-1), genObject(depth-1))
}

func genArray(depth int) *rapid.Generator[any] {
	return rapid.Map(rapid.SliceOfN(genValue(depth), 0, 3), func(s []any) any { return s })
}

func genObject(depth int) *rapid.Generator[any] {
	return rapid.Map(rapid.MapOfN(genFieldName, genValue(depth), 0, 4), func(m map[string]any) any { return m })
}

// genValueOrAbsent draws mostly objects, sometimes other values or Absent.
func genValueOrAbsent(depth int) *rapid.Generator[any] {
	return rapid.OneOf(genObject(depth), genObject(depth), genValue(depth), rapid.Just(Absent))
}

// genEdit draws a concurrent version of v: v itself, Absent, a new value, or (mostly) v
// with its fields edited recursively and perhaps one added, or a new object if v is Absent.
func genEdit(v any, depth int) *rapid.Generator[any] {
	return rapid.Custom(func(t *rapid.T) any {
		switch rapid.IntRange(0, 9).Draw(t, "edit") {
		case 0:
			return v
		case 1:
			return Absent
		case 2:
			return genValue(depth).Draw(t, "replace")
		}
		o, ok := v.(map[string]any)
		if !ok && IsAbsent(v) {
			return genObject(depth-1).Draw(t, "create")
		}
		if !ok {
			return v
		}
		out := make(map[string]any, len(o)+1)
		for _, k := range slices.Sorted(maps.Keys(o)) {
			if e := genEdit(o[k], depth-1).Draw(t, k); !IsAbsent(e) {
				out[k] = e
			}
		}
		if rapid.Bool().Draw(t, "add") {
			out[genFieldName.Draw(t, "key")] = genValue(depth-1).Draw(t, "added")
		}
		return out
	})
}

func dumpConflicts(cs []Conflict) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "%q winner=%d value=%s losers=[", c.Path, c.Winner, dump(c.Value))
		for _, l := range c.Losers {
			fmt.Fprintf(&b, " %d:%s", l.Head, dump(l.Value))
		}
		b.WriteString(" ]\n")
	}
	return b.String()
}

func TestEqual(t *testing.T) {
	type foreign struct{ x int }
	tests := []struct {
		a, b any
		want bool
	}{
		{nil, nil, true},
		{Absent, Absent, true},
		{nil, Absent, false},
		{nil, false, false},
		{nil, "", false},
		{nil, map[string]any(nil), false},
		{nil, []any(nil), false},
		{true, true, true},
		{true, false, false},
		{int64(1), int64(1), true},
		{int64(1), int64(2), false},
		{int64(1), float64(1), false},
		{int64(1), uint64(1), false},
		{uint64(math.MaxUint64), uint64(math.MaxUint64), true},
		{1.5, 1.5, true},
		{0.0, math.Copysign(0, -1), false},
		{"a", "a", true},
		{"a", "b", false},
		{"1", int64(1), false},
		{[]any(nil), []any{}, true},
		{[]any{}, map[string]any{}, false},
		{js(`[1,[2,{"a":3}]]`), js(`[1,[2,{"a":3}]]`), true},
		{js(`[1,2]`), js(`[2,1]`), false},
		{js(`[1]`), js(`[1,1]`), false},
		{map[string]any(nil), map[string]any{}, true},
		{js(`{"a":1,"b":{"c":[true]}}`), js(`{"b":{"c":[true]},"a":1}`), true},
		{js(`{"a":1}`), js(`{"a":1.0}`), false},
		{js(`{"a":1}`), js(`{"b":1}`), false},
		{js(`{"a":1}`), js(`{"a":1,"b":null}`), false},
		{js(`{"a":null}`), js(`{}`), false},
		{map[string]any{"a": int64(1), "b": Absent}, js(`{"a":1}`), true},
		{map[string]any{"b": Absent}, map[string]any{"c": Absent}, true},
		{map[string]any{"b": Absent}, js(`{"b":null}`), false},
		// Foreign types are unequal to everything, themselves included.
		{1, 1, false},
		{[]int{1}, []int{1}, false},
		{foreign{1}, foreign{1}, false},
		{map[string]any{"a": 1}, map[string]any{"a": 1}, false},
		{int64(1), 1, false},
	}
	for _, tt := range tests {
		if got := Equal(tt.a, tt.b); got != tt.want {
			t.Errorf("Equal(%s, %s) = %v, want %v", dump(tt.a), dump(tt.b), got, tt.want)
		}
		if got := Equal(tt.b, tt.a); got != tt.want {
			t.Errorf("Equal(%s, %s) = %v, want %v", dump(tt.b), dump(tt.a), got, tt.want)
		}
	}
}

func TestEqualProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := genValueOrAbsent(3).Draw(t, "a")
		b := genValueOrAbsent(3).Draw(t, "b")
		if !Equal(a, a) || !Equal(a, cloneValue(a)) {
			t.Fatalf("%s is not equal to itself or its clone", dump(a))
		}
		if Equal(a, b) != Equal(b, a) {
			t.Fatalf("Equal is not symmetric on %s, %s", dump(a), dump(b))
		}
		if Equal(a, b) != (dump(a) == dump(b)) {
			t.Fatalf("Equal(%s, %s) = %v disagrees with exact rendering", dump(a), dump(b), Equal(a, b))
		}
	})
}

func TestMergeValues(t *testing.T) {
	tests := []struct {
		name      string
		base      any
		heads     []any
		want      any
		conflicts []Conflict
	}{
		{name: "no heads", base: js(`{"a":1}`), want: js(`{"a":1}`)},
		{name: "no heads, absent", base: Absent, want: Absent},
		{name: "nothing changed", base: js(`{"a":1}`), heads: []any{js(`{"a":1}`), js(`{"a":1}`)}, want: js(`{"a":1}`)},
		{name: "one head changed", base: int64(1), heads: []any{int64(1), int64(2)}, want: int64(2)},
		{name: "same change", base: int64(1), heads: []any{int64(2), int64(2)}, want: int64(2)},
		{name: "integer to float is a change", base: int64(1), heads: []any{1.0, int64(1)}, want: 1.0},
		{name: "all deleted", base: js(`{"a":1}`), heads: []any{Absent, Absent}, want: Absent},
		{name: "created once", base: Absent, heads: []any{Absent, js(`{"a":1}`)}, want: js(`{"a":1}`)},
		{
			name:  "disjoint fields",
			base:  js(`{"a":1,"b":1}`),
			heads: []any{js(`{"a":2,"b":1}`), js(`{"a":1,"b":3}`)},
			want:  js(`{"a":2,"b":3}`),
		},
		{
			name:  "three heads, disjoint fields",
			base:  js(`{"a":1,"b":1,"c":1}`),
			heads: []any{js(`{"a":2,"b":1,"c":1}`), js(`{"a":1,"b":2,"c":1}`), js(`{"a":1,"b":1}`)},
			want:  js(`{"a":2,"b":2}`),
		},
		{
			name:  "nested disjoint fields",
			base:  js(`{"a":{"x":1,"y":1}}`),
			heads: []any{js(`{"a":{"x":2,"y":1}}`), js(`{"a":{"x":1,"y":2}}`)},
			want:  js(`{"a":{"x":2,"y":2}}`),
		},
		{
			name:  "created concurrently, disjoint fields",
			base:  Absent,
			heads: []any{js(`{"a":1}`), js(`{"b":2}`)},
			want:  js(`{"a":1,"b":2}`),
		},
		{
			name:  "fields added and deleted",
			base:  js(`{"a":1,"b":1}`),
			heads: []any{js(`{"b":1,"c":1}`), js(`{"a":1,"d":1}`), js(`{"a":1,"b":1}`)},
			want:  js(`{"c":1,"d":1}`),
		},
		{
			name:  "every field deleted leaves an empty object",
			base:  js(`{"a":1,"b":1}`),
			heads: []any{js(`{"b":1}`), js(`{"a":1}`)},
			want:  js(`{}`),
		},
		{
			name:  "field conflict",
			base:  js(`{"a":1}`),
			heads: []any{js(`{"a":2}`), js(`{"a":3}`)},
			want:  js(`{"a":3}`),
			conflicts: []Conflict{
				{Path: []string{"a"}, Winner: 1, Value: int64(3), Losers: []Loser{{0, int64(2)}}},
			},
		},
		{
			name:  "nested field conflict",
			base:  js(`{"a":{"x":1},"b":1}`),
			heads: []any{js(`{"a":{"x":2},"b":1}`), js(`{"a":{"x":3},"b":2}`)},
			want:  js(`{"a":{"x":3},"b":2}`),
			conflicts: []Conflict{
				{Path: []string{"a", "x"}, Winner: 1, Value: int64(3), Losers: []Loser{{0, int64(2)}}},
			},
		},
		{
			name:  "conflicts sorted by path",
			base:  js(`{"b":1,"a":{"y":1,"x":1},"c":1}`),
			heads: []any{js(`{"b":2,"a":{"y":2,"x":2},"c":2}`), js(`{"b":3,"a":{"y":3,"x":3},"c":1}`)},
			want:  js(`{"b":3,"a":{"y":3,"x":3},"c":2}`),
			conflicts: []Conflict{
				{Path: []string{"a", "x"}, Winner: 1, Value: int64(3), Losers: []Loser{{0, int64(2)}}},
				{Path: []string{"a", "y"}, Winner: 1, Value: int64(3), Losers: []Loser{{0, int64(2)}}},
				{Path: []string{"b"}, Winner: 1, Value: int64(3), Losers: []Loser{{0, int64(2)}}},
			},
		},
		{
			name:  "concurrent creations of one field",
			base:  Absent,
			heads: []any{js(`{"a":1}`), js(`{"a":2}`)},
			want:  js(`{"a":2}`),
			conflicts: []Conflict{
				{Path: []string{"a"}, Winner: 1, Value: int64(2), Losers: []Loser{{0, int64(1)}}},
			},
		},
		{
			name:  "delete versus modify, modify wins",
			base:  js(`{"a":1,"b":1}`),
			heads: []any{Absent, js(`{"a":1,"b":2}`)},
			want:  js(`{"a":1,"b":2}`),
			conflicts: []Conflict{
				{Path: []string{}, Winner: 1, Value: js(`{"a":1,"b":2}`), Losers: []Loser{{0, Absent}}},
			},
		},
		{
			name:  "delete versus modify, delete wins",
			base:  js(`{"a":1,"b":1}`),
			heads: []any{js(`{"a":1,"b":2}`), Absent},
			want:  Absent,
			conflicts: []Conflict{
				{Path: []string{}, Winner: 1, Value: Absent, Losers: []Loser{{0, js(`{"a":1,"b":2}`)}}},
			},
		},
		{
			name:  "field delete versus modify",
			base:  js(`{"a":1,"b":1}`),
			heads: []any{js(`{"b":1}`), js(`{"a":2,"b":1}`)},
			want:  js(`{"a":2,"b":1}`),
			conflicts: []Conflict{
				{Path: []string{"a"}, Winner: 1, Value: int64(2), Losers: []Loser{{0, Absent}}},
			},
		},
		{
			name:  "field modify versus delete",
			base:  js(`{"a":1,"b":1}`),
			heads: []any{js(`{"a":2,"b":1}`), js(`{"b":1}`)},
			want:  js(`{"b":1}`),
			conflicts: []Conflict{
				{Path: []string{"a"}, Winner: 1, Value: Absent, Losers: []Loser{{0, int64(2)}}},
			},
		},
		{
			name:  "type change of a field",
			base:  js(`{"a":{"x":1}}`),
			heads: []any{js(`{"a":{"x":2}}`), js(`{"a":[1]}`)},
			want:  js(`{"a":[1]}`),
			conflicts: []Conflict{
				{Path: []string{"a"}, Winner: 1, Value: js(`[1]`), Losers: []Loser{{0, js(`{"x":2}`)}}},
			},
		},
		{
			name:  "objects over a null base are compared whole",
			base:  nil,
			heads: []any{js(`{"a":1}`), js(`{"b":1}`)},
			want:  js(`{"b":1}`),
			conflicts: []Conflict{
				{Path: []string{}, Winner: 1, Value: js(`{"b":1}`), Losers: []Loser{{0, js(`{"a":1}`)}}},
			},
		},
		{
			name:  "arrays are compared whole",
			base:  js(`[1,2]`),
			heads: []any{js(`[1,2,3]`), js(`[0,1,2]`)},
			want:  js(`[0,1,2]`),
			conflicts: []Conflict{
				{Path: []string{}, Winner: 1, Value: js(`[0,1,2]`), Losers: []Loser{{0, js(`[1,2,3]`)}}},
			},
		},
		{
			name:  "losers listed once per head",
			base:  int64(1),
			heads: []any{int64(2), int64(2), int64(1), int64(3)},
			want:  int64(3),
			conflicts: []Conflict{
				{Path: []string{}, Winner: 3, Value: int64(3), Losers: []Loser{{0, int64(2)}, {1, int64(2)}}},
			},
		},
		{
			name:  "heads agreeing with the winner are not losers",
			base:  int64(1),
			heads: []any{int64(2), int64(3), int64(1), int64(3)},
			want:  int64(3),
			conflicts: []Conflict{
				{Path: []string{}, Winner: 3, Value: int64(3), Losers: []Loser{{0, int64(2)}}},
			},
		},
		{
			name:  "unchanged last head does not win",
			base:  int64(1),
			heads: []any{int64(2), int64(3), int64(1)},
			want:  int64(3),
			conflicts: []Conflict{
				{Path: []string{}, Winner: 1, Value: int64(3), Losers: []Loser{{0, int64(2)}}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, conflicts := MergeValues(tt.base, tt.heads)
			if !Equal(got, tt.want) {
				t.Errorf("merged = %s, want %s", dump(got), dump(tt.want))
			}
			if g, w := dumpConflicts(conflicts), dumpConflicts(tt.conflicts); g != w {
				t.Errorf("conflicts:\n%s want:\n%s", g, w)
			}
			for _, c := range conflicts {
				if c.Path == nil {
					t.Errorf("conflict path is nil, want empty")
				}
			}
			if !wellFormed(got) {
				t.Errorf("merged %s holds Absent or nil containers", dump(got))
			}
		})
	}
}

func TestMergeValuesForeignTypes(t *testing.T) {
	type foreign struct{}
	// A foreign value always counts as a change, and is returned as it is.
	got, conflicts := MergeValues(1, []any{1})
	if got != 1 || conflicts != nil {
		t.Errorf("MergeValues(1, [1]) = %v, %v; want 1, no conflicts", got, conflicts)
	}
	got, conflicts = MergeValues(js(`{"a":1}`), []any{map[string]any{"a": foreign{}}, js(`{"a":1,"b":2}`)})
	if want := map[string]any{"a": foreign{}, "b": int64(2)}; dump(got) != dump(want) || conflicts != nil {
		t.Errorf("merged = %s, %v; want %s, no conflicts", dump(got), conflicts, dump(want))
	}
	_, conflicts = MergeValues(nil, []any{[]int{1}, []int{1}})
	if len(conflicts) != 1 || conflicts[0].Winner != 1 {
		t.Errorf("conflicts = %v, want head 1 winning over head 0", conflicts)
	}
}

func TestMergeSingleHead(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		base := genValueOrAbsent(3).Draw(t, "base")
		head := genValueOrAbsent(3).Draw(t, "head")
		got, conflicts := MergeValues(base, []any{head})
		if !Equal(got, head) || conflicts != nil {
			t.Fatalf("MergeValues(%s, [%s]) = %s, %v", dump(base), dump(head), dump(got), conflicts)
		}
	})
}

func TestMergeValuesProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		base := genValueOrAbsent(3).Draw(t, "base")
		n := rapid.IntRange(1, 4).Draw(t, "n")
		heads := make([]any, n)
		for i := range heads {
			heads[i] = genEdit(base, 3).Draw(t, fmt.Sprintf("head%d", i))
		}
		before := dump(append([]any{base}, heads...))

		got, conflicts := MergeValues(base, heads)
		again, againConflicts := MergeValues(base, heads)
		if dump(got) != dump(again) || dumpConflicts(conflicts) != dumpConflicts(againConflicts) {
			t.Fatalf("not deterministic:\n%s\n%s\n%s\n%s", dump(got), dumpConflicts(conflicts), dump(again), dumpConflicts(againConflicts))
		}
		if !wellFormed(got) {
			t.Fatalf("merged %s holds Absent or nil containers", dump(got))
		}

		var changed []int
		for i, h := range heads {
			if !Equal(h, base) {
				changed = append(changed, i)
			}
		}
		switch len(changed) {
		case 0:
			if !Equal(got, base) || conflicts != nil {
				t.Fatalf("no head changed, merged = %s, %s", dump(got), dumpConflicts(conflicts))
			}
		case 1:
			if !Equal(got, heads[changed[0]]) || conflicts != nil {
				t.Fatalf("only head %d changed, merged = %s, %s", changed[0], dump(got), dumpConflicts(conflicts))
			}
		}

		for i, c := range conflicts {
			if i > 0 && slices.Compare(conflicts[i-1].Path, c.Path) >= 0 {
				t.Fatalf("conflict paths out of order:\n%s", dumpConflicts(conflicts))
			}
			if !Equal(valueAt(got, c.Path), c.Value) || !Equal(valueAt(heads[c.Winner], c.Path), c.Value) {
				t.Fatalf("conflict %q: value %s, merged has %s, winner has %s",
					c.Path, dump(c.Value), dump(valueAt(got, c.Path)), dump(valueAt(heads[c.Winner], c.Path)))
			}
			if len(c.Losers) == 0 {
				t.Fatalf("conflict %q without losers", c.Path)
			}
			losers := map[int]bool{}
			for j, l := range c.Losers {
				if j > 0 && c.Losers[j-1].Head >= l.Head || l.Head >= c.Winner {
					t.Fatalf("conflict %q: losers out of order or above the winner:\n%s", c.Path, dumpConflicts(conflicts))
				}
				if !Equal(valueAt(heads[l.Head], c.Path), l.Value) || Equal(l.Value, c.Value) {
					t.Fatalf("conflict %q: loser %d has %s", c.Path, l.Head, dump(l.Value))
				}
				losers[l.Head] = true
			}
			for h := range heads {
				v := valueAt(heads[h], c.Path)
				if h > c.Winner && !Equal(v, valueAt(base, c.Path)) {
					t.Fatalf("conflict %q: head %d changed it but did not win", c.Path, h)
				}
				if h != c.Winner && !losers[h] && !Equal(v, c.Value) && !Equal(v, valueAt(base, c.Path)) {
					t.Fatalf("conflict %q: head %d changed it but is not a loser", c.Path, h)
				}
			}
		}

		if n == 2 && conflicts == nil {
			swapped, _ := MergeValues(base, []any{heads[1], heads[0]})
			if !Equal(got, swapped) {
				t.Fatalf("conflict-free merge depends on head order: %s vs %s", dump(got), dump(swapped))
			}
		}

		if dump(append([]any{base}, heads...)) != before {
			t.Fatalf("inputs modified")
		}
		scribble(got)
		for _, c := range conflicts {
			scribble(c.Value)
			for _, l := range c.Losers {
				scribble(l.Value)
			}
		}
		if dump(append([]any{base}, heads...)) != before {
			t.Fatalf("outputs alias inputs")
		}
	})
}

// benchObject returns an object of 20 fields, with nested objects and arrays.
func benchObject() map[string]any {
	o := map[string]any{}
	for i := range 20 {
		k := fmt.Sprintf("field%02d", i)
		switch i % 4 {
		case 0:
			o[k] = int64(i)
		case 1:
			o[k] = fmt.Sprintf("value %d", i)
		case 2:
			o[k] = map[string]any{"x": int64(i), "y": "y", "z": []any{true, 1.5}}
		case 3:
			o[k] = []any{int64(i), "a", nil}
		}
	}
	return o
}

func BenchmarkMergeValues(b *testing.B) {
	for _, n := range []int{2, 8} {
		base := benchObject()
		heads := make([]any, n)
		for i := range heads {
			h := benchObject()
			h[fmt.Sprintf("field%02d", 3+2*i)] = fmt.Sprintf("head %d", i) // disjoint fields
			h["field02"].(map[string]any)[fmt.Sprintf("h%d", i)] = true    // nested, disjoint
			h["field00"] = int64(100 + i)                                  // one conflict
			heads[i] = h
		}
		b.Run(fmt.Sprintf("heads=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				MergeValues(base, heads)
			}
		})
	}
}
