package query

import (
	"container/heap"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/korup2p/korup2p/distinctions"
)

// ErrInvalid is wrapped by every error for a malformed query: from [Query.Validate],
// [Run], and (through [SyntaxError]) [ParseFilter].
var ErrInvalid = errors.New("invalid query")

// ErrOverflow is wrapped by the error [Run] returns when a sum or an average leaves
// the float64 range.
var ErrOverflow = errors.New("result overflows float64")

// Op is a filter operator.
type Op string

// The operators; see the package doc for their exact semantics.
const (
	OpEq       Op = "eq"       // equal; numbers numerically, arrays and objects deeply
	OpNe       Op = "ne"       // not equal, or the field is missing
	OpGt       Op = "gt"       // greater, within one kind
	OpGte      Op = "gte"      // greater or equal, within one kind
	OpLt       Op = "lt"       // less, within one kind
	OpLte      Op = "lte"      // less or equal, within one kind
	OpContains Op = "contains" // substring, array element, or object key
	OpExists   Op = "exists"   // the field is present (absent if Value is false)
)

// Filter is one condition on a value.
type Filter struct {
	Field string // dotted path; "" or "." is the whole value
	Op    Op
	Value any // a JSON value tree; for OpExists nil, true, or false (field absent)
}

// AggKind names an aggregate.
type AggKind string

// The aggregates.
const (
	Count AggKind = "count" // matching rows; Field is ignored
	Sum   AggKind = "sum"   // numeric values of Field
	Avg   AggKind = "avg"   // mean of the numeric values of Field
	Min   AggKind = "min"   // least present value of Field, in the sort order
	Max   AggKind = "max"   // greatest present value of Field, in the sort order
)

// Aggregate reduces the matching rows to one value.
type Aggregate struct {
	Kind  AggKind
	Field string // dotted path; "" or "." is the whole value
}

// Query selects rows. The zero Query returns every row in key order.
type Query struct {
	Filters   []Filter   // all must match
	Sort      string     // dotted path to sort by; "" is key order, "." the whole value
	Desc      bool       // descending (rows lacking the Sort field still come last)
	Limit     int        // at most this many rows, after sorting; 0 is no limit
	Aggregate *Aggregate // nil returns rows; otherwise Sort, Desc and Limit are ignored
}

// Row is one key and its value.
type Row struct {
	Key   string
	Value any
}

// Result is what [Run] returns.
type Result struct {
	Rows  []Row // the selected rows, in order; nil for an aggregate
	Count int   // len(Rows); for an aggregate, how many rows or values it covered
	Value any   // the aggregate; nil for rows, and for sum, avg, min, max of no values
}

// Validate reports what is wrong with q, if anything, with an error wrapping
// [ErrInvalid].
func (q Query) Validate() error {
	_, err := q.compile()
	return err
}

// Run evaluates q over rows, which must arrive in ascending key order. It holds only
// the rows it returns (for an unsorted, ascending query with a Limit it stops pulling
// rows once it has them; with a Sort and a Limit it keeps the best Limit rows seen),
// and nothing at all for an aggregate. Row values are shared with the input, not
// copied.
func Run(q Query, rows iter.Seq2[string, any]) (Result, error) {
	p, err := q.compile()
	if err != nil {
		return Result{}, err
	}
	if p.agg != nil {
		return p.aggregate(rows)
	}
	if !p.byField && !p.desc {
		var out []Row
		for k, v := range rows {
			if p.match(v) {
				out = append(out, Row{Key: k, Value: v})
				if len(out) == p.limit {
					break
				}
			}
		}
		return Result{Rows: out, Count: len(out)}, nil
	}
	return p.sorted(rows), nil
}

// plan is a validated, compiled Query.
type plan struct {
	filters []filter
	sortBy  path
	byField bool // sort by sortBy rather than by key
	desc    bool
	limit   int
	agg     *Aggregate
	aggPath path
}

type filter struct {
	path  path
	op    Op
	value any
	kind  kind
	want  bool // OpExists: whether presence is wanted
}

func (q Query) compile() (*plan, error) {
	p := &plan{desc: q.Desc, limit: q.Limit, byField: q.Sort != ""}
	for i, f := range q.Filters {
		c, err := compileFilter(f)
		if err != nil {
			return nil, fmt.Errorf("%w: filter %d (%s): %v", ErrInvalid, i, f, err)
		}
		p.filters = append(p.filters, c)
	}
	var err error
	if p.sortBy, err = parsePath(q.Sort); err != nil {
		return nil, fmt.Errorf("%w: sort: %v", ErrInvalid, err)
	}
	if q.Limit < 0 {
		return nil, fmt.Errorf("%w: negative limit %d", ErrInvalid, q.Limit)
	}
	if a := q.Aggregate; a != nil {
		switch a.Kind {
		case Count:
		case Sum, Avg, Min, Max:
			if p.aggPath, err = parsePath(a.Field); err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, a.Kind, err)
			}
		default:
			return nil, fmt.Errorf("%w: unknown aggregate %q (want count, sum, avg, min or max)", ErrInvalid, a.Kind)
		}
		p.agg = a
	}
	return p, nil
}

func compileFilter(f Filter) (filter, error) {
	p, err := parsePath(f.Field)
	if err != nil {
		return filter{}, err
	}
	c := filter{path: p, op: f.Op, value: f.Value, kind: kindOf(f.Value)}
	switch f.Op {
	case OpExists:
		switch v := f.Value.(type) {
		case nil:
			c.want = true
		case bool:
			c.want = v
		default:
			return filter{}, fmt.Errorf("exists takes no value or a bool, not %T", f.Value)
		}
		return c, nil
	case OpEq, OpNe, OpGt, OpGte, OpLt, OpLte, OpContains:
	default:
		return filter{}, fmt.Errorf("unknown operator %q (want eq, ne, gt, gte, lt, lte, contains or exists)", f.Op)
	}
	if err := distinctions.CheckValue(f.Value, distinctions.DefaultLimits); err != nil {
		return filter{}, err
	}
	return c, nil
}

func (p *plan) match(v any) bool {
	for i := range p.filters {
		if !p.filters[i].match(v) {
			return false
		}
	}
	return true
}

func (f *filter) match(v any) bool {
	x, ok := f.path.resolve(v)
	switch {
	case f.op == OpExists:
		return ok == f.want
	case !ok:
		return f.op == OpNe
	case f.op == OpEq:
		return compare(x, f.value) == 0
	case f.op == OpNe:
		return compare(x, f.value) != 0
	case f.op == OpContains:
		return contains(x, f.value)
	case kindOf(x) != f.kind:
		return false
	}
	c := compare(x, f.value)
	switch f.op {
	case OpGt:
		return c > 0
	case OpGte:
		return c >= 0
	case OpLt:
		return c < 0
	}
	return c <= 0 // OpLte; compile admits no other
}

// entry is a matching row with its sort value resolved once.
type entry struct {
	Row
	val any
	has bool
}

func (p *plan) order(a, b entry) int {
	if !p.byField {
		if p.desc {
			return strings.Compare(b.Key, a.Key)
		}
		return strings.Compare(a.Key, b.Key)
	}
	if a.has != b.has {
		if a.has {
			return -1
		}
		return 1
	}
	if a.has {
		c := compare(a.val, b.val)
		if p.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return strings.Compare(a.Key, b.Key)
}

func (p *plan) sorted(rows iter.Seq2[string, any]) Result {
	top := &worstFirst{order: p.order}
	for k, v := range rows {
		if !p.match(v) {
			continue
		}
		e := entry{Row: Row{Key: k, Value: v}}
		if p.byField {
			e.val, e.has = p.sortBy.resolve(v)
		}
		switch {
		case p.limit == 0:
			top.es = append(top.es, e)
		case len(top.es) < p.limit:
			heap.Push(top, e)
		case p.order(e, top.es[0]) < 0:
			top.es[0] = e
			heap.Fix(top, 0)
		}
	}
	slices.SortFunc(top.es, p.order)
	out := make([]Row, len(top.es))
	for i, e := range top.es {
		out[i] = e.Row
	}
	return Result{Rows: out, Count: len(out)}
}

// worstFirst is a heap of entries with the one that sorts last on top.
type worstFirst struct {
	es    []entry
	order func(a, b entry) int
}

func (h *worstFirst) Len() int           { return len(h.es) }
func (h *worstFirst) Less(i, j int) bool { return h.order(h.es[i], h.es[j]) > 0 }
func (h *worstFirst) Swap(i, j int)      { h.es[i], h.es[j] = h.es[j], h.es[i] }
func (h *worstFirst) Push(x any)         { h.es = append(h.es, x.(entry)) }
func (h *worstFirst) Pop() any {
	e := h.es[len(h.es)-1]
	h.es = h.es[:len(h.es)-1]
	return e
}
