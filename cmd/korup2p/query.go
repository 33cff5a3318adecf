package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/korup2p/korup2p"
)

// queryRowJSON is one element of query --json without an aggregate.
type queryRowJSON struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// aggregateJSON is query --json with an aggregate.
type aggregateJSON struct {
	Aggregate string          `json:"aggregate"` // count, sum, avg, min or max
	Field     string          `json:"field,omitempty"`
	Value     json.RawMessage `json:"value"` // null for sum/avg/min/max of no values
	Count     int             `json:"count"` // rows or values aggregated
}

func (c *cli) queryCmd() *cobra.Command {
	var (
		where                []string
		sort                 string
		desc, count          bool
		limit                int
		sum, avg, minF, maxF string
	)
	cmd := &cobra.Command{
		Use:   "query NAMESPACE",
		Short: "Select, sort and aggregate the values of one namespace",
		Long: `Select the keys of NAMESPACE (the part of a key before its first '/') whose values
match every --where filter, sorted and limited, or aggregate them.

A filter is 'FIELD OP VALUE': FIELD a dotted path (address.city, tags.0); OP one of
= == != > >= < <= or contains, exists (words after a space); VALUE JSON if it parses
as JSON (30, "Ada", true, [1,2]), else the text itself (city = New York).
Numbers compare numerically; comparisons hold only between values of one kind.`,
		Example: `  korup2p query users --where 'age >= 30' --sort age --desc --limit 10
  korup2p query users --where 'city = London' --where 'tags contains go'
  korup2p query users --where 'email exists' --count
  korup2p query orders --sum total --json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns := strings.TrimSuffix(args[0], "/")
			var q korup2p.Query
			for _, w := range where {
				f, err := korup2p.ParseFilter(w)
				if err != nil {
					return badInput(fmt.Errorf("--where: %w", err))
				}
				q.Filters = append(q.Filters, f)
			}
			q.Sort, q.Desc, q.Limit = sort, desc, limit
			if limit < 0 {
				return usagef("--limit %d: want 0 (all) or more", limit)
			}
			var aggs []*korup2p.Aggregate
			if count {
				aggs = append(aggs, &korup2p.Aggregate{Kind: korup2p.AggCount})
			}
			for kind, field := range map[korup2p.AggKind]string{korup2p.AggSum: sum, korup2p.AggAvg: avg,
				korup2p.AggMin: minF, korup2p.AggMax: maxF} {
				if cmd.Flags().Changed(string(kind)) {
					aggs = append(aggs, &korup2p.Aggregate{Kind: kind, Field: field})
				}
			}
			if len(aggs) > 1 {
				return usagef("choose one of --count, --sum, --avg, --min, --max")
			}
			if len(aggs) == 1 {
				q.Aggregate = aggs[0]
			}
			return c.withBackend(func(ctx context.Context, b backend) error {
				res, err := b.Query(ctx, c.space, ns, q)
				if err != nil {
					return err
				}
				if q.Aggregate != nil {
					if c.json {
						v := res.Aggregate
						if v == nil {
							v = json.RawMessage("null")
						}
						return printJSON(c.stdout, aggregateJSON{Aggregate: string(q.Aggregate.Kind), Field: q.Aggregate.Field,
							Value: v, Count: res.Count})
					}
					if res.Aggregate == nil {
						fmt.Fprintln(c.stdout, "null")
						fmt.Fprintln(c.stderr, "note: no values to aggregate")
						return nil
					}
					fmt.Fprintln(c.stdout, valueText(res.Aggregate))
					return nil
				}
				if c.json {
					out := make([]queryRowJSON, 0, len(res.Rows))
					for _, r := range res.Rows {
						out = append(out, queryRowJSON{Key: r.Key, Value: r.Value})
					}
					return printJSON(c.stdout, out)
				}
				var rows [][]string
				for _, r := range res.Rows {
					rows = append(rows, []string{r.Key, valueText(r.Value)})
				}
				table(c.stdout, rows)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&where, "where", "w", nil, "filter 'FIELD OP VALUE' (repeatable; all must match)")
	f.StringVar(&sort, "sort", "", "sort by FIELD (default: key order)")
	f.BoolVar(&desc, "desc", false, "sort in descending order")
	f.IntVarP(&limit, "limit", "n", 0, "return at most N rows (0: all)")
	f.BoolVar(&count, "count", false, "print the number of matching keys")
	f.StringVar(&sum, "sum", "", "print the sum of the numeric values of FIELD")
	f.StringVar(&avg, "avg", "", "print the mean of the numeric values of FIELD")
	f.StringVar(&minF, "min", "", "print the least value of FIELD")
	f.StringVar(&maxF, "max", "", "print the greatest value of FIELD")
	return cmd
}
