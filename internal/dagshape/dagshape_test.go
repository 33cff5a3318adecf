package dagshape_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/korup2p/korup2p/internal/dagshape"
	"github.com/korup2p/korup2p/lca"
)

// describe renders g as sorted "name/height<parents" lines, a form that
// does not depend on the order nodes were added.
func describe(t *testing.T, g *dagshape.Graph, names ...string) string {
	t.Helper()
	var lines []string
	for _, n := range names {
		c := g.CID(n)
		ps, err := g.Parents(c)
		if err != nil {
			t.Fatalf("Parents(%s): %v", n, err)
		}
		h, err := g.Height(c)
		if err != nil {
			t.Fatalf("Height(%s): %v", n, err)
		}
		lines = append(lines, fmt.Sprintf("%s/%d<%s", n, h, strings.Join(g.Names(ps), ",")))
	}
	slices.Sort(lines)
	return strings.Join(lines, " ")
}

func TestParse(t *testing.T) {
	tests := []struct {
		shape string
		want  string
	}{
		{"", ""},
		{"A", "A/0<"},
		{" ; A ;; ", "A/0<"},
		{"A,B", "A/0< B/0<"},
		{"A -> B -> C", "A/0< B/1<A C/2<B"},
		{"G -> A -> B; G -> C; B,C -> M", "A/1<G B/2<A C/1<G G/0< M/3<B,C"},
		{"A -> B,C", "A/0< B/1<A C/1<A"},
		{"A,B -> C,D", "A/0< B/0< C/1<A,B D/1<A,B"},
		{"B,C -> M; G -> B; G -> C", "B/1<G C/1<G G/0< M/2<B,C"},
		{"A -> B; A -> B; A,A -> B", "A/0< B/1<A"},
		{"x_1->y_2\n;\tR", "R/0< x_1/0< y_2/1<x_1"},
		{"G -> A; G -> B; A,B -> X; A,B -> Y", "A/1<G B/1<G G/0< X/2<A,B Y/2<A,B"},
	}
	for _, tt := range tests {
		t.Run(tt.shape, func(t *testing.T) {
			g, err := dagshape.Parse(tt.shape)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			if tt.want != "" {
				for _, line := range strings.Split(tt.want, " ") {
					names = append(names, line[:strings.Index(line, "/")])
				}
			}
			if got := describe(t, g, names...); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		shape string
		want  string // in the error message
	}{
		{"A ->", `col 5: expected a name, found end of input`},
		{"-> A", `col 1: expected a name, found "->"`},
		{"A -> -> B", `col 6: expected a name, found "->"`},
		{"A,,B", `col 3: expected a name, found ","`},
		{"A,", `col 3: expected a name, found end of input`},
		{"A B", `col 3: expected "->", "," or ";", found "B"`},
		{"A -> B C", `col 8: expected "->", "," or ";", found "C"`},
		{"A - B", `col 3: unexpected '-'`},
		{"A > B", `col 3: unexpected '>'`},
		{"Ä -> B", `col 1: unexpected 'Ä'`},
		{"A -> A", `cycle A -> A`},
		{"A -> B; B -> A", `cycle A -> B -> A`},
		{"R -> A -> B -> C; C -> A", `cycle A -> B -> C -> A`},
		{"X -> Y; C -> A; A -> B -> C", `cycle C -> A -> B -> C`},
	}
	for _, tt := range tests {
		t.Run(tt.shape, func(t *testing.T) {
			_, err := dagshape.Parse(tt.shape)
			if err == nil {
				t.Fatal("no error")
			}
			if msg := err.Error(); !strings.Contains(msg, tt.want) || !strings.HasPrefix(msg, "dagshape: parse ") {
				t.Errorf("error %q, want it to contain %q", msg, tt.want)
			}
			mustPanic(t, "MustParse", func() { dagshape.MustParse(tt.shape) })
		})
	}
}

func TestCIDs(t *testing.T) {
	g := dagshape.MustParse("A -> B")
	h, err := multihash.Sum([]byte("A"), multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	want := cid.NewCidV1(cid.DagCBOR, h)
	if got := g.CID("A"); got != want || dagshape.NameCID("A") != want {
		t.Errorf("CID(A) = %s, want %s", got, want)
	}
	if p := want.Prefix(); p.Version != 1 || p.Codec != 0x71 || p.MhType != multihash.SHA2_256 {
		t.Errorf("prefix %+v", p)
	}
	if other := dagshape.MustParse("A"); other.CID("A") != want {
		t.Error("the same name has different CIDs in two graphs")
	}
	if g.Name(want) != "A" {
		t.Errorf("Name = %q", g.Name(want))
	}
	unknown := dagshape.NameCID("Z")
	if got := g.Name(unknown); got != "?"+unknown.String() {
		t.Errorf("Name(unknown) = %q", got)
	}
	if got := g.Names(g.CIDs("B", "A")); !slices.Equal(got, []string{"A", "B"}) {
		t.Errorf("Names = %q", got)
	}
	if _, err := g.Parents(unknown); !errors.Is(err, lca.ErrNotFound) {
		t.Errorf("Parents(unknown) error %v", err)
	}
	if _, err := g.Height(unknown); !errors.Is(err, lca.ErrNotFound) {
		t.Errorf("Height(unknown) error %v", err)
	}
	mustPanic(t, "CID(Z)", func() { g.CID("Z") })
}

func TestParentsIsACopy(t *testing.T) {
	g := dagshape.MustParse("A,B -> C")
	ps, _ := g.Parents(g.CID("C"))
	ps[0] = g.CID("C")
	if got := describe(t, g, "C"); got != "C/1<A,B" {
		t.Errorf("after changing the returned slice: %s", got)
	}
}

func TestAdd(t *testing.T) {
	var g dagshape.Graph // the zero value is ready
	g.Add("G")
	g.Add("A", "G")
	g.Add("B", "G", "G")
	c := g.Add("M", "A", "B")
	if c != g.CID("M") {
		t.Error("Add returned a different CID")
	}
	if got, want := describe(t, &g, "G", "A", "B", "M"), "A/1<G B/1<G G/0< M/2<A,B"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	mustPanic(t, "duplicate", func() { g.Add("A") })
	mustPanic(t, "unknown parent", func() { g.Add("X", "Y") })
	mustPanic(t, "empty name", func() { g.Add("") })
	mustPanic(t, "bad name", func() { g.Add("a b") })
}

func TestHeightIsLongestPath(t *testing.T) {
	g := dagshape.MustParse("R -> A -> B -> C -> M; R -> M; R -> D")
	for name, want := range map[string]uint64{"R": 0, "A": 1, "D": 1, "C": 3, "M": 4} {
		if h, _ := g.Height(g.CID(name)); h != want {
			t.Errorf("Height(%s) = %d, want %d", name, h, want)
		}
	}
}

func TestStringRoundTrip(t *testing.T) {
	for _, shape := range []string{
		"",
		"A",
		"A; B; C",
		"G -> A -> B; G -> C; B,C -> M",
		"R -> A -> B -> C -> M; R -> M; R -> D; E",
		"G -> A; G -> B; A,B -> X; A,B -> Y",
	} {
		g := dagshape.MustParse(shape)
		s := g.String()
		g2, err := dagshape.Parse(s)
		if err != nil {
			t.Fatalf("String() of %q = %q, which does not parse: %v", shape, s, err)
		}
		names := g.Names(g.CIDs(allNames(shape)...))
		if a, b := describe(t, g, names...), describe(t, g2, names...); a != b {
			t.Errorf("%q printed as %q reads back as %s, want %s", shape, s, b, a)
		}
	}
	if got, want := dagshape.MustParse("G -> A -> B; G -> C; B,C -> M; E").String(),
		"G -> A; A -> B; G -> C; B,C -> M; E"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func allNames(shape string) []string {
	seen := map[string]bool{}
	var names []string
	for _, f := range strings.FieldsFunc(shape, func(r rune) bool { return strings.ContainsRune(" ;,->", r) }) {
		if !seen[f] {
			seen[f] = true
			names = append(names, f)
		}
	}
	return names
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", what)
		}
	}()
	f()
}
