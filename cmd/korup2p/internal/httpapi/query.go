package httpapi

import (
	"net/http"
	"strings"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/distinctions"
)

// filterOps maps every spelling of a filter operator the API accepts.
var filterOps = map[string]korup2p.FilterOp{
	"=": korup2p.FilterEq, "==": korup2p.FilterEq, "!=": korup2p.FilterNe,
	">": korup2p.FilterGt, ">=": korup2p.FilterGte, "<": korup2p.FilterLt, "<=": korup2p.FilterLte,
	"eq": korup2p.FilterEq, "ne": korup2p.FilterNe, "gt": korup2p.FilterGt, "gte": korup2p.FilterGte,
	"lt": korup2p.FilterLt, "lte": korup2p.FilterLte, "contains": korup2p.FilterContains, "exists": korup2p.FilterExists,
}

// toQuery converts a query body to the root's Query: filter values are parsed as
// the Node parses stored values, so numbers compare alike.
func (qw queryWire) toQuery() (korup2p.Query, error) {
	if qw.Namespace == "" || strings.Contains(qw.Namespace, "/") {
		return korup2p.Query{}, badRequest(ReasonQuery, "query: namespace %q: want the part of a key before its first '/'", qw.Namespace)
	}
	q := korup2p.Query{Sort: qw.Sort, Desc: qw.Desc, Limit: qw.Limit}
	for i, f := range qw.Where {
		op, ok := filterOps[strings.ToLower(f.Op)]
		if !ok {
			return korup2p.Query{}, badRequest(ReasonQuery, "query: where[%d]: unknown op %q", i, f.Op)
		}
		flt := korup2p.Filter{Field: f.Field, Op: op}
		if len(f.Value) > 0 {
			v, err := distinctions.ParseJSON(f.Value, distinctions.DefaultLimits)
			if err != nil {
				return korup2p.Query{}, badRequest(ReasonQuery, "query: where[%d] value: %v", i, err)
			}
			flt.Value = v
		}
		q.Filters = append(q.Filters, flt)
	}
	if a := qw.Aggregate; a != nil {
		var aggs []korup2p.Aggregate
		if a.Count {
			aggs = append(aggs, korup2p.Aggregate{Kind: korup2p.AggCount})
		}
		for _, x := range []struct {
			kind  korup2p.AggKind
			field *string
		}{{korup2p.AggSum, a.Sum}, {korup2p.AggAvg, a.Avg}, {korup2p.AggMin, a.Min}, {korup2p.AggMax, a.Max}} {
			if x.field != nil {
				aggs = append(aggs, korup2p.Aggregate{Kind: x.kind, Field: *x.field})
			}
		}
		if len(aggs) != 1 {
			return korup2p.Query{}, badRequest(ReasonQuery, "query: aggregate: set exactly one of count, sum, avg, min, max (got %d)", len(aggs))
		}
		q.Aggregate = &aggs[0]
	}
	return q, nil
}

func (s *server) handleQuery(w http.ResponseWriter, r *http.Request) {
	space, err := s.space(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req queryWire
	if err := s.decodeBody(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	q, err := req.toQuery()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.n.Query(r.Context(), space, req.Namespace, q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := queryResultWire{Rows: make([]rowWire, len(res.Rows)), Count: res.Count, Aggregate: res.Aggregate}
	for i, row := range res.Rows {
		out.Rows[i] = rowWire{Key: row.Key, Value: row.Value}
	}
	s.m.read("query")
	s.writeJSON(w, http.StatusOK, out)
}
