package query

import (
	"fmt"
	"iter"
	"math"
	"math/big"
)

// aggregate reduces the matching rows to p.agg, holding no row.
func (p *plan) aggregate(rows iter.Seq2[string, any]) (Result, error) {
	var (
		n    int
		acc  sum
		best any
	)
	kind := p.agg.Kind
	for _, v := range rows {
		if !p.match(v) {
			continue
		}
		if kind == Count {
			n++
			continue
		}
		x, ok := p.aggPath.resolve(v)
		if !ok {
			continue
		}
		switch kind {
		case Sum, Avg:
			if !acc.add(x) {
				continue
			}
		case Min:
			if n == 0 || compare(x, best) < 0 {
				best = x
			}
		case Max:
			if n == 0 || compare(x, best) > 0 {
				best = x
			}
		}
		n++
	}
	r := Result{Count: n}
	switch {
	case kind == Count:
		r.Value = int64(n)
	case n == 0:
	case kind == Sum:
		v, f := acc.total()
		if math.IsInf(f, 0) {
			return Result{}, fmt.Errorf("query: sum of %q: %w", p.agg.Field, ErrOverflow)
		}
		r.Value = v
	case kind == Avg:
		_, f := acc.total()
		if f /= float64(n); math.IsInf(f, 0) {
			return Result{}, fmt.Errorf("query: avg of %q: %w", p.agg.Field, ErrOverflow)
		}
		r.Value = f
	default:
		r.Value = best
	}
	return r, nil
}

// sum adds numbers, integers exactly: the running int64 total spills into a big.Int
// only when it would overflow.
type sum struct {
	i      int64
	big    *big.Int // nil until needed
	f      float64  // the float values
	floats bool
}

// add adds x if it is a number.
func (s *sum) add(x any) bool {
	switch x := x.(type) {
	case int64:
		r := s.i + x
		if (x > 0 && r < s.i) || (x < 0 && r > s.i) {
			s.spill().Add(s.big, big.NewInt(s.i))
			r = x
		}
		s.i = r
	case uint64:
		s.spill().Add(s.big, new(big.Int).SetUint64(x))
	case float64:
		s.f += x
		s.floats = true
	default:
		return false
	}
	return true
}

func (s *sum) spill() *big.Int {
	if s.big == nil {
		s.big = new(big.Int)
	}
	return s.big
}

// total returns the sum as a value — an int64 if every value was an integer and the
// exact total fits, else a float64 — and as a float64.
func (s *sum) total() (any, float64) {
	if s.big == nil {
		if !s.floats {
			return s.i, float64(s.i)
		}
		f := float64(s.i) + s.f
		return f, f
	}
	t := new(big.Int).Add(s.big, big.NewInt(s.i))
	f, _ := new(big.Float).SetInt(t).Float64()
	if !s.floats && t.IsInt64() {
		return t.Int64(), f
	}
	f += s.f
	return f, f
}
