package main

import (
	"bufio"
	"cmp"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/korup2p/korup2p/internal/dagshape"
)

var update = flag.Bool("update", false, "rewrite testdata/dag_graph.txt with the graphs drawn now")

// graphCase is one case of testdata/dag_graph.txt:
//
//	graph SHAPE [| limit N]
//	EXPECTED LINES…
//	(a blank line)
type graphCase struct {
	header string // the "graph …" line
	shape  string
	limit  int
	want   []string
}

func readGraphCases(t *testing.T, path string) (cases []graphCase, comments map[int][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	comments = map[int][]string{}
	sc := bufio.NewScanner(f)
	var cur *graphCase
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		switch {
		case cur != nil && text != "":
			cur.want = append(cur.want, text)
		case cur != nil:
			cases = append(cases, *cur)
			cur = nil
		case strings.HasPrefix(text, "graph "):
			gc := graphCase{header: text, shape: strings.TrimPrefix(text, "graph ")}
			if shape, lim, ok := strings.Cut(gc.shape, "| limit "); ok {
				n, err := strconv.Atoi(strings.TrimSpace(lim))
				if err != nil {
					t.Fatalf("%s:%d: bad limit: %v", path, line, err)
				}
				gc.shape, gc.limit = strings.TrimSpace(shape), n
			}
			cur = &gc
		case text == "" || strings.HasPrefix(text, "#"):
			comments[len(cases)] = append(comments[len(cases)], text)
		default:
			t.Fatalf("%s:%d: want a 'graph SHAPE' line, got %q", path, line, text)
		}
	}
	if cur != nil {
		cases = append(cases, *cur)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases, comments
}

var shapeName = regexp.MustCompile(`[A-Za-z0-9_]+`)

// shapeNodes orders a dagshape graph as DAGLog does — newest first, by height, so
// every node comes after its children — with ties by name, and names each node's
// parents in name order.
func shapeNodes(t *testing.T, shape string) []graphNode {
	t.Helper()
	g, err := dagshape.Parse(shape)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range shapeName.FindAllString(shape, -1) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	height := func(name string) uint64 {
		h, err := g.Height(g.CID(name))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(height(b), height(a)), strings.Compare(a, b))
	})
	nodes := make([]graphNode, len(names))
	for i, name := range names {
		ps, err := g.Parents(g.CID(name))
		if err != nil {
			t.Fatal(err)
		}
		parents := g.Names(ps)
		slices.Sort(parents)
		nodes[i] = graphNode{ID: name, Parents: parents, Text: name}
	}
	return nodes
}

// TestRenderGraph draws the shapes of testdata/dag_graph.txt (go test -run
// TestRenderGraph -update rewrites the expected graphs).
func TestRenderGraph(t *testing.T) {
	const path = "testdata/dag_graph.txt"
	cases, comments := readGraphCases(t, path)
	var out strings.Builder
	for i, gc := range cases {
		for _, c := range comments[i] {
			out.WriteString(c + "\n")
		}
		nodes := shapeNodes(t, gc.shape)
		if gc.limit > 0 && gc.limit < len(nodes) {
			nodes = nodes[:gc.limit]
		}
		got := renderGraph(nodes)
		fmt.Fprintf(&out, "%s\n%s\n\n", gc.header, strings.Join(got, "\n"))
		if !*update && !slices.Equal(got, gc.want) {
			t.Errorf("%s:\ngot:\n%s\nwant:\n%s", gc.header, strings.Join(got, "\n"), strings.Join(gc.want, "\n"))
		}
	}
	for _, c := range comments[len(cases)] {
		out.WriteString(c + "\n")
	}
	if *update {
		if err := os.WriteFile(path, []byte(strings.TrimRight(out.String(), "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRenderGraphRandom draws random DAGs and checks what every drawing must
// hold: one node row per node, in order, with one "*"; only graph characters on
// the left; and every edge drawn, so that lanes never grow past the nodes.
func TestRenderGraphRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		n := 1 + r.IntN(25)
		var g dagshape.Graph
		var nodes []graphNode
		names := []string{}
		for i := range n {
			name := fmt.Sprintf("N%d", i)
			var parents []string
			for k := 0; k < r.IntN(4) && len(names) > 0; k++ {
				p := names[r.IntN(len(names))]
				if !slices.Contains(parents, p) {
					parents = append(parents, p)
				}
			}
			g.Add(name, parents...)
			names = append(names, name)
			nodes = append(nodes, graphNode{ID: name, Parents: parents, Text: name})
		}
		// Newest first: the reverse of the order added is topological.
		slices.Reverse(nodes)
		if round%3 == 0 { // and sometimes cut, as --limit does
			nodes = nodes[:1+r.IntN(len(nodes))]
		}
		lines := renderGraph(nodes)
		next := 0
		for _, line := range lines {
			graph, text, _ := strings.Cut(line, " N")
			if strings.Trim(graph, "*|/\\X ") != "" {
				t.Fatalf("%s: line %q: not a graph character on the left", g.String(), line)
			}
			if strings.Contains(graph, "*") {
				if strings.Count(graph, "*") != 1 || next >= len(nodes) || "N"+text != nodes[next].ID {
					t.Fatalf("%s: line %q: want the node row of %s", g.String(), line, nodes[min(next, len(nodes)-1)].ID)
				}
				if width := (len(strings.TrimRight(graph, " ")) + 1) / 2; width > len(nodes) {
					t.Fatalf("%s: line %q: %d lanes for %d nodes", g.String(), line, width, len(nodes))
				}
				next++
			}
		}
		if next != len(nodes) {
			t.Fatalf("%s: %d node rows for %d nodes:\n%s", g.String(), next, len(nodes), strings.Join(lines, "\n"))
		}
	}
}
