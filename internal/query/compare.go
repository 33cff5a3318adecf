package query

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// kind is the order of JSON kinds in the sort order.
type kind uint8

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
	kindOther // not a JSON value; resolve treats it as absent
)

func kindOf(v any) kind {
	switch v.(type) {
	case nil:
		return kindNull
	case bool:
		return kindBool
	case int64, uint64, float64:
		return kindNumber
	case string:
		return kindString
	case []any:
		return kindArray
	case map[string]any:
		return kindObject
	}
	return kindOther
}

// compare is the total order of the package doc: kinds first, then within a kind.
// It returns 0 exactly when a and b are equal for eq.
func compare(a, b any) int {
	ka, kb := kindOf(a), kindOf(b)
	if ka != kb {
		return cmp.Compare(ka, kb)
	}
	switch ka {
	case kindBool:
		x, y := a.(bool), b.(bool)
		switch {
		case x == y:
			return 0
		case y:
			return -1
		}
		return 1
	case kindNumber:
		return compareNumbers(a, b)
	case kindString:
		return strings.Compare(a.(string), b.(string))
	case kindArray:
		x, y := a.([]any), b.([]any)
		for i := range min(len(x), len(y)) {
			if c := compare(x[i], y[i]); c != 0 {
				return c
			}
		}
		return cmp.Compare(len(x), len(y))
	case kindObject:
		// Objects compare as their (key, value) lists in key order.
		x, y := a.(map[string]any), b.(map[string]any)
		xk, yk := slices.Sorted(maps.Keys(x)), slices.Sorted(maps.Keys(y))
		for i := range min(len(xk), len(yk)) {
			if c := strings.Compare(xk[i], yk[i]); c != 0 {
				return c
			}
			if c := compare(x[xk[i]], y[yk[i]]); c != 0 {
				return c
			}
		}
		return cmp.Compare(len(xk), len(yk))
	}
	return 0 // null, or two values outside the representation
}

// compareNumbers compares two numbers exactly, whatever their Go types. A NaN (never
// in a valid value) sorts below every other number, as in cmp.Compare.
func compareNumbers(a, b any) int {
	switch x := a.(type) {
	case int64:
		switch y := b.(type) {
		case int64:
			return cmp.Compare(x, y)
		case uint64:
			if x < 0 {
				return -1
			}
			return cmp.Compare(uint64(x), y)
		case float64:
			return compareIntFloat(x, y)
		}
	case uint64:
		switch y := b.(type) {
		case int64:
			return -compareNumbers(y, x)
		case uint64:
			return cmp.Compare(x, y)
		case float64:
			return compareUintFloat(x, y)
		}
	case float64:
		if y, ok := b.(float64); ok {
			return cmp.Compare(x, y)
		}
		return -compareNumbers(b, x)
	}
	panic(fmt.Sprintf("query: compareNumbers(%T, %T)", a, b)) // kindOf guarantees numbers
}

const (
	two63 = float64(1 << 63)
	two64 = 2 * two63
)

func compareIntFloat(i int64, f float64) int {
	switch {
	case math.IsNaN(f) || f < -two63:
		return 1
	case f >= two63:
		return -1
	}
	t := math.Trunc(f) // |t| < 2^63, so int64(t) is exact
	if c := cmp.Compare(i, int64(t)); c != 0 {
		return c
	}
	return cmp.Compare(t, f) // i == t: the fraction of f decides
}

func compareUintFloat(u uint64, f float64) int {
	switch {
	case math.IsNaN(f) || f < 0:
		return 1
	case f >= two64:
		return -1
	}
	t := math.Trunc(f)
	if c := cmp.Compare(u, uint64(t)); c != 0 {
		return c
	}
	return cmp.Compare(t, f)
}

// contains implements OpContains.
func contains(x, v any) bool {
	switch x := x.(type) {
	case string:
		s, ok := v.(string)
		return ok && strings.Contains(x, s)
	case []any:
		return slices.ContainsFunc(x, func(e any) bool { return compare(e, v) == 0 })
	case map[string]any:
		k, ok := v.(string)
		if !ok {
			return false
		}
		_, ok = x[k]
		return ok
	}
	return false
}

// A path is a parsed field path; nil is the whole value.
type path []segment

type segment struct {
	key   string
	index int // the array index key names, or -1
}

// parsePath parses a dotted field path; "" and "." are the whole value.
func parsePath(s string) (path, error) {
	if s == "" || s == "." {
		return nil, nil
	}
	parts := strings.Split(s, ".")
	p := make(path, len(parts))
	for i, part := range parts {
		if part == "" {
			return nil, fmt.Errorf("field %q has an empty segment", s)
		}
		p[i] = segment{key: part, index: -1}
		if n, err := strconv.Atoi(part); err == nil && n >= 0 && strconv.Itoa(n) == part {
			p[i].index = n
		}
	}
	return p, nil
}

// resolve returns the value at p in v and whether it is present.
func (p path) resolve(v any) (any, bool) {
	for _, s := range p {
		switch x := v.(type) {
		case map[string]any:
			e, ok := x[s.key]
			if !ok {
				return nil, false
			}
			v = e
		case []any:
			if s.index < 0 || s.index >= len(x) {
				return nil, false
			}
			v = x[s.index]
		default:
			return nil, false
		}
	}
	return v, kindOf(v) != kindOther
}
