package korup2p

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/korup2p/korup2p/distinctions"
	"github.com/korup2p/korup2p/internal/query"
)

// The query language. See Node.Query.
type (
	// Query selects, sorts, limits and aggregates the values of one namespace.
	Query = query.Query
	// Filter is one condition: Field (a dotted path) Op Value.
	Filter = query.Filter
	// FilterOp is a filter's operator: eq, ne, gt, gte, lt, lte, contains, exists.
	FilterOp = query.Op
	// Aggregate asks for count, sum, avg, min or max instead of rows.
	Aggregate = query.Aggregate
	// AggKind names an aggregate.
	AggKind = query.AggKind
)

// Filter operators.
const (
	FilterEq       = query.OpEq       // equal; numbers numerically, arrays and objects deeply
	FilterNe       = query.OpNe       // not equal, or the field is missing
	FilterGt       = query.OpGt       // greater, within one kind
	FilterGte      = query.OpGte      // greater or equal, within one kind
	FilterLt       = query.OpLt       // less, within one kind
	FilterLte      = query.OpLte      // less or equal, within one kind
	FilterContains = query.OpContains // substring, array element, or object key
	FilterExists   = query.OpExists   // the field is present
)

// Aggregates.
const (
	AggCount = query.Count // matching rows
	AggSum   = query.Sum   // sum of the numeric values of Field
	AggAvg   = query.Avg   // mean of the numeric values of Field
	AggMin   = query.Min   // least value of Field
	AggMax   = query.Max   // greatest value of Field
)

// ErrInvalidQuery is wrapped by the errors of a malformed query or filter.
var ErrInvalidQuery = query.ErrInvalid

// ParseFilter parses "FIELD OP VALUE" (e.g. `age >= 30`, `city = Paris`,
// `tags contains go`, `email exists`), as the CLI's --where does.
func ParseFilter(s string) (Filter, error) { return query.ParseFilter(s) }

// QueryRow is one key and value a query selected.
type QueryRow struct {
	Key   string
	Value json.RawMessage
}

// QueryResult is what Query returns: the rows, or the aggregate.
type QueryResult struct {
	Rows      []QueryRow
	Count     int             // rows returned, or values aggregated
	Aggregate json.RawMessage // the aggregate's value as JSON; nil without one, or with no values
}

// Query runs q over the current values of the keys in namespace (the part of a key
// before its first '/') of space. Deleted keys never take part. Field paths, the
// ordering across types and the aggregates are those of package internal/query:
// numbers compare exactly across integers and floats, rows lacking the sort field
// come last, aggregates ignore Sort and Limit.
func (n *Node) Query(ctx context.Context, space, namespace string, q Query) (QueryResult, error) {
	if namespace == "" || strings.Contains(namespace, "/") {
		return QueryResult{}, fmt.Errorf("query %s: namespace %q: want the part of a key before its first '/'", space, namespace)
	}
	if err := q.Validate(); err != nil {
		return QueryResult{}, fmt.Errorf("query %s/%s: %w", space, namespace, err)
	}
	var scanErr, valueErr error
	rows := func(yield func(string, any) bool) {
		scanErr = n.scan(ctx, space, namespace+"/", "", func(key string, e *entryState) bool {
			v, err := e.value()
			if err != nil {
				valueErr = fmt.Errorf("%s: %w", key, err)
				return false
			}
			return yield(key, v)
		})
	}
	res, err := query.Run(q, rows)
	if err == nil {
		err = cmp.Or(scanErr, valueErr)
	}
	if err != nil {
		return QueryResult{}, fmt.Errorf("query %s/%s: %w", space, namespace, err)
	}
	out := QueryResult{Count: res.Count, Rows: make([]QueryRow, len(res.Rows))}
	for i, r := range res.Rows {
		out.Rows[i].Key = r.Key
		if out.Rows[i].Value, err = distinctions.FormatJSON(r.Value); err != nil {
			return QueryResult{}, err
		}
	}
	if q.Aggregate != nil && res.Value != nil {
		if out.Aggregate, err = distinctions.FormatJSON(res.Value); err != nil {
			return QueryResult{}, err
		}
	}
	return out, nil
}
