package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/distinctions"
)

// dagEntryJSON is one element of dag log --json.
type dagEntryJSON struct {
	CID       string    `json:"cid"`
	Parents   []string  `json:"parents"`
	Height    uint64    `json:"height"`
	Clock     clockJSON `json:"clock"`
	Time      string    `json:"time"`
	Author    string    `json:"author,omitempty"`
	Keys      []string  `json:"keys"`
	Distilled bool      `json:"distilled,omitempty"`
}

// nodeJSON is dag show: one delta node, its values as JSON.
type nodeJSON struct {
	CID       string    `json:"cid"`
	Space     string    `json:"space,omitempty"` // absent in a genesis node
	Parents   []string  `json:"parents"`
	Height    uint64    `json:"height"`
	Clock     clockJSON `json:"clock"`
	Time      string    `json:"time"`
	Author    string    `json:"author,omitempty"`
	Cap       string    `json:"cap,omitempty"`
	Ops       []opJSON  `json:"ops"`
	Sig       string    `json:"sig,omitempty"` // hex
	Size      int       `json:"size"`          // bytes of the canonical encoding
	Genesis   bool      `json:"genesis,omitempty"`
	Distilled bool      `json:"distilled,omitempty"`
}

type opJSON struct {
	Key   string          `json:"key"`
	Kind  string          `json:"kind"`
	Prev  []string        `json:"prev"`
	Value json.RawMessage `json:"value,omitempty"` // absent for del
}

func nodeOf(n *dag.Node) nodeJSON {
	out := nodeJSON{CID: n.CID().String(), Space: cidString(n.Space), Parents: cidStrings(n.Parents), Height: n.Height,
		Clock: clockOf(n.Clock), Time: timeString(n.Clock), Author: peerString(n.Author), Cap: cidString(n.Cap),
		Sig: hex.EncodeToString(n.Sig), Size: len(n.Bytes()), Genesis: n.IsGenesis(), Distilled: n.IsDistilled(),
		Ops: []opJSON{}}
	for _, op := range n.Ops {
		oj := opJSON{Key: op.Key, Kind: string(op.Kind), Prev: cidStrings(op.Prev)}
		if op.Value != nil {
			v, err := distinctions.DecodeValue(op.Value, distinctions.Limits{MaxBytes: len(op.Value)})
			if err == nil {
				oj.Value, err = distinctions.FormatJSON(v)
			}
			if err != nil { // not a JSON value (a system key's): show its bytes
				oj.Value, _ = json.Marshal(map[string]string{"cbor_hex": hex.EncodeToString(op.Value)})
			}
		}
		out.Ops = append(out.Ops, oj)
	}
	return out
}

func dagEntryOf(e korup2p.DAGEntry) dagEntryJSON {
	keys := e.Keys
	if keys == nil {
		keys = []string{}
	}
	return dagEntryJSON{CID: e.CID.String(), Parents: cidStrings(e.Parents), Height: e.Height, Clock: clockOf(e.Clock),
		Time: timeString(e.Clock), Author: peerString(e.Author), Keys: keys, Distilled: e.Distilled}
}

func (c *cli) dagCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dag",
		Short: "Inspect a space's DAG of delta nodes",
		Long: `Every write is a delta node: its ops, its parents (the space heads its author
had), a hybrid logical clock, its author and signature, addressed by its CID. The
heads — the nodes no other node points to — name the space's whole state.`,
		Example: `  korup2p dag heads
  korup2p dag log --graph --limit 20
  korup2p dag show bafyrei…
  korup2p dag dot | dot -Tsvg > dag.svg`,
		Args: cobra.ArbitraryArgs,
		RunE: groupRunE,
	}
	cmd.AddCommand(c.dagHeadsCmd(), c.dagLogCmd(), c.dagShowCmd(), c.dagDotCmd())
	return cmd
}

func (c *cli) dagHeadsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "heads",
		Short: "Print the space heads, which name its whole state",
		Long: `Print the space heads, sorted, one per line: the nodes no other node points to.
'get --heads' reads a key as of them.`,
		Example: `  korup2p dag heads
  korup2p dag heads --json`,
		Args: noArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withBackend(func(ctx context.Context, b backend) error {
				heads, err := b.Heads(ctx, c.space)
				if err != nil {
					return err
				}
				if c.json {
					return printJSON(c.stdout, cidStrings(heads))
				}
				for _, h := range heads {
					fmt.Fprintln(c.stdout, h)
				}
				return nil
			})
		},
	}
}

func (c *cli) dagLogCmd() *cobra.Command {
	var graph bool
	var limit int
	cmd := &cobra.Command{
		Use:   "log",
		Short: "List the space's nodes, newest first",
		Long: `List the space's nodes newest first, each after every node that points to it:
CID, height, time, author and the keys it wrote. --graph draws the DAG on the left,
like git log --graph: concurrent writes show as branches, and the nodes that merged
them (a write made with several heads) as merges.`,
		Example: `  korup2p dag log --limit 10
  korup2p dag log --graph
  korup2p dag log --json | jq '.[] | select(.parents | length > 1)'`,
		Args: noArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return usagef("--limit %d: want 0 (all) or more", limit)
			}
			return c.withBackend(func(ctx context.Context, b backend) error {
				entries, err := b.DAGLog(ctx, c.space, limit)
				if err != nil {
					return err
				}
				if c.json {
					out := make([]dagEntryJSON, 0, len(entries))
					for _, e := range entries {
						out = append(out, dagEntryOf(e))
					}
					return printJSON(c.stdout, out)
				}
				if !graph {
					var rows [][]string
					for _, e := range entries {
						rows = append(rows, []string{e.CID.String(), fmt.Sprintf("h=%d", e.Height), timeString(e.Clock),
							shortPeer(peerString(e.Author)), entryKeys(e)})
					}
					table(c.stdout, rows)
					return nil
				}
				nodes := make([]graphNode, len(entries))
				for i, e := range entries {
					nodes[i] = graphNode{ID: e.CID.String(), Parents: cidStrings(e.Parents),
						Text: fmt.Sprintf("%s h=%d %s %s", e.CID, e.Height, timeString(e.Clock), entryKeys(e))}
					if e.Distilled {
						nodes[i].Parents = nil
					}
				}
				for _, line := range renderGraph(nodes) {
					fmt.Fprintln(c.stdout, strings.TrimRight(line, " "))
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&graph, "graph", false, "draw the DAG as ASCII art")
	cmd.Flags().IntVarP(&limit, "limit", "n", 0, "list at most N nodes (0: all)")
	return cmd
}

// entryKeys describes what a node wrote.
func entryKeys(e korup2p.DAGEntry) string {
	switch {
	case e.Distilled:
		return "(distilled)"
	case len(e.Parents) == 0 && e.Height == 0:
		return "(genesis)"
	case len(e.Keys) == 0:
		return "-"
	case len(e.Keys) > 5:
		return strings.Join(e.Keys[:5], " ") + fmt.Sprintf(" … (%d keys)", len(e.Keys))
	}
	return strings.Join(e.Keys, " ")
}

func (c *cli) dagShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show CID",
		Short: "Print one node as JSON",
		Long: `Print the node CID of the space as JSON: its space, parents, height, clock,
author, ops (with their values as JSON) and signature.`,
		Example: `  korup2p dag show "$(korup2p dag heads | head -1)"
  korup2p dag show bafyrei… --json | jq '.ops[].key'`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseCID(args[0])
			if err != nil {
				return err
			}
			return c.withBackend(func(ctx context.Context, b backend) error {
				raw, err := b.DAGNode(ctx, c.space, id)
				if err != nil {
					return err
				}
				var buf bytes.Buffer
				if c.json {
					err = json.Compact(&buf, raw)
				} else {
					err = json.Indent(&buf, raw, "", "  ")
				}
				if err != nil {
					return fmt.Errorf("dag show: bad JSON from the %s replica: %w", b.Mode(), err)
				}
				buf.WriteByte('\n')
				_, err = io.Copy(c.stdout, &buf)
				return err
			})
		},
	}
}

func (c *cli) dagDotCmd() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "dot",
		Short: "Print the space's DAG in Graphviz dot",
		Long: `Print the space's DAG (or its newest --limit nodes) as a Graphviz digraph: one
box per node, labelled with its short CID, height and keys, and an edge from each
node to each of its parents.`,
		Example: `  korup2p dag dot | dot -Tsvg > dag.svg
  korup2p dag dot --limit 50 | xdot -`,
		Args: noArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return usagef("--limit %d: want 0 (all) or more", limit)
			}
			return c.withBackend(func(ctx context.Context, b backend) error {
				entries, err := b.DAGLog(ctx, c.space, limit)
				if err != nil {
					return err
				}
				_, err = io.WriteString(c.stdout, dotGraph(c.space, entries))
				return err
			})
		},
	}
	cmd.Flags().IntVarP(&limit, "limit", "n", 0, "draw at most the newest N nodes (0: all)")
	return cmd
}

// dotGraph writes entries as a Graphviz digraph; edges go from child to parent, to
// parents among entries only.
func dotGraph(space string, entries []korup2p.DAGEntry) string {
	var b strings.Builder
	present := map[string]bool{}
	for _, e := range entries {
		present[e.CID.String()] = true
	}
	fmt.Fprintf(&b, "digraph %s {\n", dotQuote("korup2p "+space))
	b.WriteString("  rankdir=TB;\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n")
	for _, e := range entries {
		id := e.CID.String()
		label := fmt.Sprintf("%s\nh=%d %s\n%s", shortCID(id), e.Height, timeString(e.Clock), entryKeys(e))
		fmt.Fprintf(&b, "  %s [label=%s, tooltip=%s];\n", dotQuote(id), dotQuote(label), dotQuote(id))
	}
	for _, e := range entries {
		if e.Distilled {
			continue
		}
		for _, p := range e.Parents {
			if present[p.String()] {
				fmt.Fprintf(&b, "  %s -> %s;\n", dotQuote(e.CID.String()), dotQuote(p.String()))
			}
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// dotQuote quotes s as a dot string.
func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// shortCID abbreviates a CID for labels: its last 10 characters (CIDv1 base32
// strings share their first ones).
func shortCID(s string) string {
	if len(s) <= 12 {
		return s
	}
	return "…" + s[len(s)-10:]
}
