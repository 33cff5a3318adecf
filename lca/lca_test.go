package lca_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p/internal/dagshape"
	"github.com/korup2p/korup2p/lca"
)

func TestMergeBases(t *testing.T) {
	const crissCross = "G -> A; G -> B; A,B -> X; A,B -> Y"
	tests := []struct {
		name     string
		shape    string
		versions string // names separated by spaces
		want     string
	}{
		{"no versions", "A", "", ""},
		{"single node", "A", "A", "A"},
		{"one version", "A -> B -> C", "B", "B"},
		{"chain", "A -> B -> C", "B C", "B"},
		{"chain reversed", "A -> B -> C", "C A", "A"},
		{"fork", "G -> A; G -> B", "A B", "G"},
		{"uneven fork", "R -> G -> A1 -> A2 -> A3; G -> B1", "A3 B1", "G"},
		{"diamond", "G -> A -> M; G -> B -> M", "A B", "G"},
		{"diamond and its merge", "G -> A -> M; G -> B -> M", "A M", "A"},
		{"fork after diamond", "G -> A,B; A,B -> M; M -> X; M -> Y", "X Y", "M"},
		{"merged branch", "G -> A -> B -> M; G -> C -> M; M -> X; C -> Y", "X Y", "C"},
		{"criss-cross", crissCross, "X Y", "A B"},
		{"criss-cross deeper", crissCross + "; X -> X1 -> X2; Y -> Y1", "X2 Y1", "A B"},
		{"criss-cross and a base", crissCross, "X A", "A"},
		{"double criss-cross", crissCross + "; X,Y -> P; X,Y -> Q", "P Q", "X Y"},
		{"disjoint roots", "A; B", "A B", ""},
		{"disjoint chains", "A -> B; C -> D", "B D", ""},
		{"two roots shared", "R -> A; S -> B; R,S -> C", "A C", "R"},
		{"two roots apart", "R -> A; S -> B; R,S -> C", "A B", ""},
		{"3-way", "G -> A -> B; G -> C; B,C -> M", "B C M", "G"},
		{"3-way deeper than pairs", "G -> A,B,C; A -> X; B -> Y; A,B -> Z", "X Y Z", "G"},
		{"3-way pair", "G -> A,B,C; A -> X; B -> Y; A,B -> Z", "X Z", "A"},
		{"3-way criss-cross", "G -> A,B; A,B -> X,Y,Z", "X Y Z", "A B"},
		{"3-way one disjoint", "G -> A,B; H", "A B H", ""},
		{"ancestor of the others", "G -> A -> B; A -> C", "A B C", "A"},
		{"root ancestor", "G -> A -> B; A -> C", "G B", "G"},
		{"duplicates", crissCross, "X X Y Y X", "A B"},
		{"duplicates of one", crissCross, "X X", "X"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := dagshape.MustParse(tt.shape)
			got, err := lca.MergeBases(g, g.CIDs(strings.Fields(tt.versions)...)...)
			if err != nil {
				t.Fatal(err)
			}
			checkSorted(t, got)
			if names := strings.Join(g.Names(got), " "); names != tt.want {
				t.Errorf("MergeBases(%s) = [%s], want [%s]", tt.versions, names, tt.want)
			}
		})
	}
}

func TestMergeBasesManyVersions(t *testing.T) {
	// 100 versions, so more than one bitset word.
	var g dagshape.Graph
	g.Add("R")
	g.Add("S", "R")
	g.Add("Lone")
	var kids []cid.Cid
	for i := range 100 {
		kids = append(kids, g.Add(fmt.Sprint("K", i), "S"))
	}
	g.Add("K99x", "K99")
	tests := []struct {
		name     string
		versions []cid.Cid
		want     string
	}{
		{"siblings", kids, "S"},
		{"siblings and parent", append(slices.Clone(kids), g.CID("S")), "S"},
		{"siblings and a grandchild", append(slices.Clone(kids[1:]), g.CID("K99x")), "S"},
		{"one outside", append(slices.Clone(kids), g.CID("Lone")), ""},
		{"all the same", slices.Repeat(g.CIDs("K7"), 100), "K7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lca.MergeBases(&g, tt.versions...)
			if err != nil {
				t.Fatal(err)
			}
			if names := strings.Join(g.Names(got), " "); names != tt.want {
				t.Errorf("got [%s], want [%s]", names, tt.want)
			}
		})
	}
}

func TestIsAncestor(t *testing.T) {
	g := dagshape.MustParse("G -> A -> B -> M; G -> C -> M; C -> D; H")
	tests := []struct {
		a, b string
		want bool
	}{
		{"A", "A", true},
		{"A", "B", true},
		{"G", "M", true},
		{"C", "M", true},
		{"A", "M", true},
		{"B", "A", false},
		{"M", "G", false},
		{"A", "C", false},
		{"B", "D", false},
		{"D", "M", false},
		{"H", "M", false},
		{"G", "H", false},
	}
	for _, tt := range tests {
		got, err := lca.IsAncestor(g, g.CID(tt.a), g.CID(tt.b))
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("IsAncestor(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestIndependent(t *testing.T) {
	const crissCross = "G -> A; G -> B; A,B -> X; A,B -> Y"
	tests := []struct {
		shape, cs, want string
	}{
		{"A", "", ""},
		{"A", "A", "A"},
		{"A -> B -> C", "A B C", "C"},
		{"A -> B -> C", "C A", "C"},
		{"G -> A; G -> B", "A B G", "A B"},
		{crissCross, "A B X Y G", "X Y"},
		{crissCross, "A X B", "X"},
		{crissCross, "Y Y A Y", "Y"},
		{"A; B", "A B", "A B"},
		{"R -> A -> B; R -> C", "B C A", "B C"},
	}
	for _, tt := range tests {
		g := dagshape.MustParse(tt.shape)
		got, err := lca.Independent(g, g.CIDs(strings.Fields(tt.cs)...))
		if err != nil {
			t.Fatal(err)
		}
		checkSorted(t, got)
		if names := strings.Join(g.Names(got), " "); names != tt.want {
			t.Errorf("%s: Independent(%s) = [%s], want [%s]", tt.shape, tt.cs, names, tt.want)
		}
	}
}

func TestUnknownCID(t *testing.T) {
	g := dagshape.MustParse("G -> A -> A2; G -> B")
	a, b, unknown := g.CID("A2"), g.CID("B"), dagshape.NameCID("Z")
	calls := map[string]func() error{
		"MergeBases":          func() error { _, err := lca.MergeBases(g, a, unknown, b); return err },
		"MergeBases one":      func() error { _, err := lca.MergeBases(g, unknown); return err },
		"IsAncestor a":        func() error { _, err := lca.IsAncestor(g, unknown, b); return err },
		"IsAncestor b":        func() error { _, err := lca.IsAncestor(g, a, unknown); return err },
		"IsAncestor a == b":   func() error { _, err := lca.IsAncestor(g, unknown, unknown); return err },
		"Independent":         func() error { _, err := lca.Independent(g, []cid.Cid{a, unknown}); return err },
		"Independent one":     func() error { _, err := lca.Independent(g, []cid.Cid{unknown}); return err },
		"MergeBases of hole":  func() error { _, err := lca.MergeBases(holes{g, unknown}, a, b); return err },
		"IsAncestor of hole":  func() error { _, err := lca.IsAncestor(holes{g, unknown}, b, a); return err },
		"Independent of hole": func() error { _, err := lca.Independent(holes{g, unknown}, []cid.Cid{a, b}); return err },
	}
	for name, call := range calls {
		err := call()
		if !errors.Is(err, lca.ErrNotFound) {
			t.Errorf("%s: error %v, want ErrNotFound", name, err)
			continue
		}
		var ne *lca.NodeError
		if !errors.As(err, &ne) || ne.CID != unknown || !strings.Contains(err.Error(), unknown.String()) {
			t.Errorf("%s: error %q does not name %s", name, err, unknown)
		}
	}
}

// holes is a graph in which every node has the extra parent hole, which the
// graph does not hold.
type holes struct {
	*dagshape.Graph
	hole cid.Cid
}

func (g holes) Parents(c cid.Cid) ([]cid.Cid, error) {
	ps, err := g.Graph.Parents(c)
	return append(ps, g.hole), err
}

func TestBadHeight(t *testing.T) {
	g := dagshape.MustParse("G -> A -> B; A -> C")
	bad := heights{g, map[cid.Cid]uint64{g.CID("G"): 0, g.CID("A"): 2, g.CID("B"): 2, g.CID("C"): 3}}
	b, c := g.CID("B"), g.CID("C")
	calls := map[string]func() error{
		"MergeBases":  func() error { _, err := lca.MergeBases(bad, b, c); return err },
		"IsAncestor":  func() error { _, err := lca.IsAncestor(bad, g.CID("G"), b); return err },
		"Independent": func() error { _, err := lca.Independent(bad, []cid.Cid{b, g.CID("G")}); return err },
	}
	for name, call := range calls {
		err := call()
		var ne *lca.NodeError
		if !errors.Is(err, lca.ErrBadHeight) || !errors.As(err, &ne) || ne.CID != g.CID("A") {
			t.Errorf("%s: error %v, want ErrBadHeight about A", name, err)
		}
	}
}

// heights is a graph with the heights of h instead of the exact ones.
type heights struct {
	*dagshape.Graph
	h map[cid.Cid]uint64
}

func (g heights) Height(c cid.Cid) (uint64, error) {
	h, ok := g.h[c]
	if !ok {
		return 0, lca.ErrNotFound
	}
	return h, nil
}

// TestStopsEarly checks that the searches visit the nodes near the given
// ones, not the long history below them.
func TestStopsEarly(t *testing.T) {
	var g dagshape.Graph
	g.Add("n0")
	for i := 1; i < 10_000; i++ {
		g.Add(fmt.Sprint("n", i), fmt.Sprint("n", i-1))
	}
	g.Add("A1", "n9999")
	g.Add("A2", "A1")
	g.Add("B1", "n9999")
	g.Add("M", "A2", "B1")
	g.Add("X", "M")
	g.Add("Y", "M")
	for _, tt := range []struct {
		name string
		max  int
		call func(lca.Graph) error
	}{
		{"MergeBases", 6, func(cg lca.Graph) error {
			_, err := lca.MergeBases(cg, g.CID("X"), g.CID("Y"))
			return err
		}},
		{"MergeBases fork", 8, func(cg lca.Graph) error {
			_, err := lca.MergeBases(cg, g.CID("A2"), g.CID("B1"))
			return err
		}},
		{"MergeBases 3-way", 14, func(cg lca.Graph) error {
			_, err := lca.MergeBases(cg, g.CID("A2"), g.CID("B1"), g.CID("n9990"))
			return err
		}},
		{"IsAncestor", 4, func(cg lca.Graph) error {
			_, err := lca.IsAncestor(cg, g.CID("A1"), g.CID("X"))
			return err
		}},
		{"not IsAncestor", 6, func(cg lca.Graph) error {
			_, err := lca.IsAncestor(cg, g.CID("B1"), g.CID("A2"))
			return err
		}},
		{"Independent", 12, func(cg lca.Graph) error {
			_, err := lca.Independent(cg, g.CIDs("X", "Y", "A1", "n9998"))
			return err
		}},
	} {
		cg := &counting{Graph: &g}
		if err := tt.call(cg); err != nil {
			t.Fatal(err)
		}
		if cg.parents > tt.max {
			t.Errorf("%s: %d calls to Parents, want at most %d", tt.name, cg.parents, tt.max)
		}
	}
}

// counting counts calls to Parents.
type counting struct {
	*dagshape.Graph
	parents int
}

func (g *counting) Parents(c cid.Cid) ([]cid.Cid, error) {
	g.parents++
	return g.Graph.Parents(c)
}

func checkSorted(t *testing.T, cs []cid.Cid) {
	t.Helper()
	if !slices.IsSortedFunc(cs, func(a, b cid.Cid) int { return strings.Compare(a.KeyString(), b.KeyString()) }) {
		t.Errorf("result not sorted by CID bytes: %v", cs)
	}
}

func TestParentsError(t *testing.T) {
	g := dagshape.MustParse("G -> A -> A2; G -> B")
	broken := failing{g, g.CID("A")}
	calls := map[string]func() error{
		"MergeBases":  func() error { _, err := lca.MergeBases(broken, g.CID("A2"), g.CID("B")); return err },
		"IsAncestor":  func() error { _, err := lca.IsAncestor(broken, g.CID("G"), g.CID("A2")); return err },
		"Independent": func() error { _, err := lca.Independent(broken, g.CIDs("A2", "G")); return err },
	}
	for name, call := range calls {
		err := call()
		var ne *lca.NodeError
		if !errors.Is(err, errBroken) || !errors.As(err, &ne) || ne.Op != "parents" || ne.CID != g.CID("A") {
			t.Errorf("%s: error %v, want errBroken from parents of A", name, err)
		}
	}
}

var errBroken = errors.New("broken")

// failing is a graph that cannot read the parents of one node.
type failing struct {
	*dagshape.Graph
	bad cid.Cid
}

func (g failing) Parents(c cid.Cid) ([]cid.Cid, error) {
	if c == g.bad {
		return nil, errBroken
	}
	return g.Graph.Parents(c)
}

// TestLongSearches runs searches too long for their memory to be reused,
// between short ones that reuse memory.
func TestLongSearches(t *testing.T) {
	var g dagshape.Graph
	g.Add("n0")
	for i := 1; i < 20_000; i++ {
		g.Add(fmt.Sprint("n", i), fmt.Sprint("n", i-1))
	}
	g.Add("X", "n19999")
	g.Add("Y", "n19999")
	g.Add("Z", "n0")
	for range 3 {
		if bases, err := lca.MergeBases(&g, g.CID("X"), g.CID("Z")); err != nil || len(bases) != 1 || bases[0] != g.CID("n0") {
			t.Fatalf("MergeBases(X, Z) = %v, %v; want [n0]", g.Names(bases), err)
		}
		if bases, err := lca.MergeBases(&g, g.CID("X"), g.CID("Y")); err != nil || len(bases) != 1 || bases[0] != g.CID("n19999") {
			t.Fatalf("MergeBases(X, Y) = %v, %v; want [n19999]", g.Names(bases), err)
		}
		if ok, err := lca.IsAncestor(&g, g.CID("n0"), g.CID("X")); err != nil || !ok {
			t.Fatalf("IsAncestor(n0, X) = %v, %v", ok, err)
		}
		if heads, err := lca.Independent(&g, g.CIDs("n0", "X", "Z")); err != nil || len(heads) != 2 {
			t.Fatalf("Independent(n0, X, Z) = %v, %v; want [X Z]", g.Names(heads), err)
		}
	}
}
