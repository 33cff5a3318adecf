package main

import (
	"slices"
	"strings"
)

// graphNode is one node for renderGraph: its ID, its parents' IDs and the text
// printed beside it.
type graphNode struct {
	ID      string
	Parents []string
	Text    string
}

// renderGraph draws a DAG as lines of ASCII art, like git log --graph. nodes come
// newest first, each after every node that names it as a parent (the order
// korup2p.Node.DAGLog returns). Parents that are not in nodes — beyond a --limit, or
// folded by distillation — are not drawn; their edges end.
//
// Each node has a lane, a column; a node row shows "*" in the node's lane and "|" in
// the others. Between node rows, transition rows move the edges to the lanes of the
// next state, one column per row: "\" moves an edge right (to a further parent of a
// node with several), "/" moves one left (lanes joining at a common ancestor, or a
// lane closing). "X" marks two edges crossing. For M, a merge of B and C, both children of A:
//
//	$ korup2p dag log --graph
//	* M
//	|\
//	* | B
//	| * C
//	|/
//	* A
//
// It is a pure function of nodes.
func renderGraph(nodes []graphNode) []string {
	present := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		present[n.ID] = true
	}
	var out []string
	var lanes []string // the node each lane waits for
	for _, n := range nodes {
		c := slices.Index(lanes, n.ID)
		if c < 0 { // a head: nothing drawn so far points to it
			lanes = append(lanes, n.ID)
			c = len(lanes) - 1
		}
		row := make([]string, len(lanes))
		for i := range lanes {
			row[i] = "|"
		}
		row[c] = "*"
		line := strings.Join(row, " ")
		if n.Text != "" {
			line += " " + n.Text
		}
		out = append(out, line)

		// The node's lane is replaced by its parents that no lane waits for yet; a
		// parent that a lane waits for already is joined by an edge.
		var parents, fresh []string
		for _, p := range n.Parents {
			if !present[p] || slices.Contains(parents, p) {
				continue
			}
			parents = append(parents, p)
			if !slices.Contains(lanes, p) {
				fresh = append(fresh, p)
			}
		}
		next := slices.Concat(lanes[:c], fresh, lanes[c+1:])
		var edges []edge
		for i, id := range lanes {
			if i != c {
				edges = append(edges, edge{from: i, to: slices.Index(next, id)})
			}
		}
		for _, p := range parents {
			edges = append(edges, edge{from: c, to: slices.Index(next, p)})
		}
		out = append(out, transition(edges)...)
		lanes = next
	}
	return out
}

// edge is a line from lane from of one state to lane to of the next.
type edge struct{ from, to int }

// transition draws the rows that move edges from their lanes to their targets, one
// column per row; none if every edge goes straight down.
func transition(edges []edge) []string {
	var out []string
	cur := make([]int, len(edges))
	width := 0
	for i, e := range edges {
		cur[i] = e.from
		width = max(width, 2*e.from+1, 2*e.to+1)
	}
	for {
		moving := false
		for i, e := range edges {
			moving = moving || cur[i] != e.to
		}
		if !moving {
			return out
		}
		row := []byte(strings.Repeat(" ", width+1))
		put := func(at int, ch byte) {
			switch prev := row[at]; {
			case prev == ' ' || prev == ch:
				row[at] = ch
			case prev == '|' || ch == '|':
				row[at] = '|'
			default: // a '/' and a '\' in one cell: edges crossing
				row[at] = 'X'
			}
		}
		for i, e := range edges {
			switch {
			case cur[i] == e.to:
				put(2*cur[i], '|')
			case cur[i] > e.to:
				put(2*cur[i]-1, '/')
				cur[i]--
			default:
				put(2*cur[i]+1, '\\')
				cur[i]++
			}
		}
		out = append(out, strings.TrimRight(string(row), " "))
	}
}
