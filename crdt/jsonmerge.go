package crdt

import (
	"math"
	"slices"
)

// Absent stands for no value: a deleted key, a key never written, a missing object field.
//
// Absent is not a JSON value. An object field holding Absent is treated everywhere as a
// missing field, and the values this package returns never hold Absent inside an object.
// Absent must not appear inside an array.
var Absent any = absent{}

type absent struct{}

// IsAbsent reports whether v is [Absent].
func IsAbsent(v any) bool {
	_, ok := v.(absent)
	return ok
}

// Equal reports whether a and b are the same JSON value: nil, bool, int64, uint64,
// float64, string, []any and map[string]any, compared deeply, or both [Absent].
//
// Types never cross: int64(1) differs from float64(1), and int64 from uint64 (which only
// holds integers above math.MaxInt64). Floats are equal when their bits are, as their
// canonical encodings are: 0.0 differs from -0.0. A nil map or slice equals an empty one.
// A value of any other Go type is unequal to everything, itself included.
func Equal(a, b any) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case absent:
		return IsAbsent(b)
	case bool:
		b, ok := b.(bool)
		return ok && a == b
	case int64:
		b, ok := b.(int64)
		return ok && a == b
	case uint64:
		b, ok := b.(uint64)
		return ok && a == b
	case float64:
		b, ok := b.(float64)
		return ok && math.Float64bits(a) == math.Float64bits(b)
	case string:
		b, ok := b.(string)
		return ok && a == b
	case []any:
		b, ok := b.([]any)
		return ok && slices.EqualFunc(a, b, Equal)
	case map[string]any:
		b, ok := b.(map[string]any)
		return ok && equalObjects(a, b)
	}
	return false
}

func equalObjects(a, b map[string]any) bool {
	shared := 0 // keys of b also in a
	for k, av := range a {
		if !Equal(av, fieldOf(b, k)) {
			return false
		}
		if _, ok := b[k]; ok {
			shared++
		}
	}
	if shared == len(b) {
		return true
	}
	for k, bv := range b { // only Absent may be missing from a
		if _, ok := a[k]; !ok && !IsAbsent(bv) {
			return false
		}
	}
	return true
}

// Conflict reports a value position that concurrent heads changed to different values.
type Conflict struct {
	Path   []string // object field path from the top; empty for the whole value
	Winner int      // index into heads of the head whose value won
	Value  any      // the winning value at Path (may be Absent)
	Losers []Loser  // the other changed values at Path, sorted by head index
}

// Loser is a value that lost a [Conflict].
type Loser struct {
	Head  int // index into heads
	Value any // may be Absent
}

// MergeValues merges concurrent versions of one JSON value three-way against their merge
// base. heads are given in ascending rank order: when heads conflict, the head with the
// greatest index wins. base may be Absent (no common ancestor, or it was deleted); heads
// may be Absent (deleted).
//
// At each position, the heads whose value is not [Equal] to the base's have changed it.
// If none has, the base's value stays; if all that have agree, their value is taken. If
// they disagree but all hold objects, and the base holds an object or is Absent, the
// objects are merged field by field, recursively, over the sorted union of their field
// names; a field that merges to Absent is left out. Otherwise the values are compared
// whole: the changed head with the greatest index wins, and a Conflict lists the other
// changed heads that disagree with it. Arrays are always compared whole.
//
// Conflicts come sorted by path. Neither merged nor the conflicts share memory with the
// inputs, which are never modified. Values of Go types outside the JSON representation
// (see [Equal]) are never equal to anything, so they always count as changes, and they are
// returned as they are, not copied.
func MergeValues(base any, heads []any) (merged any, conflicts []Conflict) {
	idx := make([]int, len(heads))
	for i := range idx {
		idx[i] = i
	}
	m := merger{}
	merged = m.merge(nil, base, heads, idx)
	return merged, m.conflicts
}

type merger struct {
	conflicts []Conflict
}

// merge merges the position at path, where vals[i] is the value of head idx[i].
func (m *merger) merge(path []string, base any, vals []any, idx []int) any {
	var cv []any // values of the heads that changed this position
	var ci []int // and their indices
	for i, v := range vals {
		if !Equal(v, base) {
			cv = append(cv, v)
			ci = append(ci, idx[i])
		}
	}
	if len(cv) == 0 {
		return cloneValue(base)
	}
	last := len(cv) - 1
	disagree := false
	for _, v := range cv[:last] {
		if !Equal(v, cv[last]) {
			disagree = true
			break
		}
	}
	if !disagree {
		return cloneValue(cv[last])
	}
	if objectsMerge(base, cv) {
		return m.mergeObjects(path, base, cv, ci)
	}
	c := Conflict{Path: append([]string{}, path...), Winner: ci[last], Value: cloneValue(cv[last])}
	for i, v := range cv[:last] {
		if !Equal(v, cv[last]) {
			c.Losers = append(c.Losers, Loser{Head: ci[i], Value: cloneValue(v)})
		}
	}
	m.conflicts = append(m.conflicts, c)
	return cloneValue(cv[last])
}

// objectsMerge reports whether changed values merge field by field: all are objects and
// the base is an object or Absent.
func objectsMerge(base any, changed []any) bool {
	if _, ok := base.(map[string]any); !ok && !IsAbsent(base) {
		return false
	}
	for _, v := range changed {
		if _, ok := v.(map[string]any); !ok {
			return false
		}
	}
	return true
}

// mergeObjects merges objects vals (of heads idx) field by field against base, an object
// or Absent.
func (m *merger) mergeObjects(path []string, base any, vals []any, idx []int) map[string]any {
	b, _ := base.(map[string]any)
	objs := make([]map[string]any, len(vals))
	for i, v := range vals {
		objs[i] = v.(map[string]any)
	}
	keys := fieldNames(b, objs...)
	out := make(map[string]any, len(keys))
	fv := make([]any, len(vals))
	for _, k := range keys {
		for i, o := range objs {
			fv[i] = fieldOf(o, k)
		}
		if v := m.merge(append(path, k), fieldOf(b, k), fv, idx); !IsAbsent(v) {
			out[k] = v
		}
	}
	return out
}

// fieldOf returns the value of o's field k, or Absent.
func fieldOf(o map[string]any, k string) any {
	if v, ok := o[k]; ok {
		return v
	}
	return Absent
}

// fieldNames returns the sorted union of the objects' field names. It costs least with
// the object holding the most fields first.
func fieldNames(first map[string]any, rest ...map[string]any) []string {
	keys := make([]string, 0, len(first))
	for k := range first {
		keys = append(keys, k)
	}
	for _, o := range rest {
		for k := range o {
			if _, dup := first[k]; !dup {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	if len(rest) > 1 {
		keys = slices.Compact(keys)
	}
	return keys
}

// cloneValue returns a deep copy of v that shares no memory with it. Objects lose their
// Absent fields; nil objects and arrays become empty ones. Values of other types are
// immutable or unknown, and returned as they are.
func cloneValue(v any) any {
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = cloneValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			if !IsAbsent(e) {
				out[k] = cloneValue(e)
			}
		}
		return out
	}
	return v
}
