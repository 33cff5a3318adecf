package lca_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	"pgregory.net/rapid"

	"github.com/korup2p/korup2p/internal/dagshape"
	"github.com/korup2p/korup2p/lca"
)

// model is a random DAG with every node's ancestors worked out by brute
// force. Node i is named "n<i>", and its parents have smaller numbers.
type model struct {
	shape *dagshape.Graph
	graph lca.Graph // shape, or shape with heights that skip values
	cids  []cid.Cid
	anc   [][]bool // anc[i][j]: node j is node i or an ancestor of it
}

// drawModel draws a DAG of n nodes. If rooted, node 0 is its only root.
func drawModel(t *rapid.T, n int, rooted bool) *model {
	m := &model{shape: &dagshape.Graph{}}
	gaps := rapid.Bool().Draw(t, "gaps")
	hs := make(map[cid.Cid]uint64, n)
	for i := range n {
		least := 0
		if rooted && i > 0 {
			least = 1
		}
		anc := make([]bool, n)
		anc[i] = true
		var parents []string
		var h uint64
		for range rapid.IntRange(least, min(i, 3)).Draw(t, "parents") {
			// Shrinks towards i-1, so towards long chains.
			p := i - 1 - rapid.IntRange(0, i-1).Draw(t, "back")
			parents = append(parents, fmt.Sprint("n", p))
			for j, ok := range m.anc[p] {
				anc[j] = anc[j] || ok
			}
			h = max(h, hs[m.cids[p]]+1)
		}
		if gaps {
			h += rapid.Uint64Range(0, 3).Draw(t, "gap")
		}
		c := m.shape.Add(fmt.Sprint("n", i), parents...)
		hs[c] = h
		m.cids = append(m.cids, c)
		m.anc = append(m.anc, anc)
	}
	m.graph = m.shape
	if gaps {
		m.graph = heights{m.shape, hs}
	}
	return m
}

// mergeBases returns the names of the maximal common ancestors of vs.
func (m *model) mergeBases(vs []int) []string {
	if len(vs) == 0 {
		return nil
	}
	var common []int
	for j := range m.cids {
		if !slices.ContainsFunc(vs, func(v int) bool { return !m.anc[v][j] }) {
			common = append(common, j)
		}
	}
	return m.heads(common)
}

// heads returns the names of the elements of set that are not ancestors of
// another element.
func (m *model) heads(set []int) []string {
	var names []string
	for _, j := range set {
		if !slices.ContainsFunc(set, func(k int) bool { return k != j && m.anc[k][j] }) {
			names = append(names, m.shape.Name(m.cids[j]))
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func (m *model) cidsOf(is []int) []cid.Cid {
	cs := make([]cid.Cid, len(is))
	for k, i := range is {
		cs[k] = m.cids[i]
	}
	return cs
}

func (m *model) check(t *rapid.T, vs []int) {
	got, err := lca.MergeBases(m.graph, m.cidsOf(vs)...)
	if err != nil {
		t.Fatalf("graph %s: MergeBases: %v", m.shape, err)
	}
	if !slices.IsSortedFunc(got, func(a, b cid.Cid) int { return strings.Compare(a.KeyString(), b.KeyString()) }) {
		t.Fatalf("MergeBases result not sorted by CID bytes")
	}
	if names, want := m.shape.Names(got), m.mergeBases(vs); !slices.Equal(names, want) {
		t.Fatalf("graph %s: MergeBases(%v) = %v, want %v", m.shape, m.shape.Names(m.cidsOf(vs)), names, want)
	}
	perm := rapid.Permutation(vs).Draw(t, "permuted")
	again, err := lca.MergeBases(m.graph, m.cidsOf(perm)...)
	if err != nil || !slices.Equal(again, got) {
		t.Fatalf("graph %s: MergeBases depends on input order: %v, then %v (%v)",
			m.shape, m.shape.Names(got), m.shape.Names(again), err)
	}

	heads, err := lca.Independent(m.graph, m.cidsOf(vs))
	if err != nil {
		t.Fatalf("graph %s: Independent: %v", m.shape, err)
	}
	if names, want := m.shape.Names(heads), m.heads(vs); !slices.Equal(names, want) {
		t.Fatalf("graph %s: Independent(%v) = %v, want %v", m.shape, m.shape.Names(m.cidsOf(vs)), names, want)
	}
}

func TestProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 40).Draw(t, "n")
		m := drawModel(t, n, rapid.Bool().Draw(t, "rooted"))
		node := rapid.IntRange(0, n-1)
		m.check(t, rapid.SliceOfN(node, 1, 6).Draw(t, "versions"))

		a, b := node.Draw(t, "a"), node.Draw(t, "b")
		got, err := lca.IsAncestor(m.graph, m.cids[a], m.cids[b])
		if err != nil {
			t.Fatalf("graph %s: IsAncestor: %v", m.shape, err)
		}
		if want := m.anc[b][a]; got != want {
			t.Fatalf("graph %s: IsAncestor(n%d, n%d) = %v, want %v", m.shape, a, b, got, want)
		}
	})
}

// TestPropertiesManyVersions checks more versions than fit in one bitset word.
func TestPropertiesManyVersions(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(65, 120).Draw(t, "n")
		m := drawModel(t, n, true)
		m.check(t, rapid.SliceOfNDistinct(rapid.IntRange(0, n-1), 65, n, rapid.ID).Draw(t, "versions"))
	})
}
