package dagtest

import (
	"errors"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p/dag"
)

// TestStore runs the conformance suite that every dag.Store must pass. newStore
// returns an empty store for the space of the open genesis it is given (stores that
// are bound to one space use it; others ignore it).
func TestStore(t *testing.T, newStore func(t *testing.T, genesis *dag.Node) dag.Store) {
	g, err := dag.NewOpenGenesis("conformance")
	if err != nil {
		t.Fatal(err)
	}
	space := g.CID()
	fresh := func(t *testing.T) dag.Store {
		s := newStore(t, g)
		if err := s.PutVerified(g); err != nil {
			t.Fatalf("PutVerified(genesis): %v", err)
		}
		return s
	}

	t.Run("Empty", func(t *testing.T) {
		s := newStore(t, g)
		if _, err := s.Get(space); !errors.Is(err, dag.ErrNotFound) {
			t.Errorf("Get on empty store: %v, want ErrNotFound", err)
		}
		if ok, err := s.Has(space); ok || err != nil {
			t.Errorf("Has on empty store = %v, %v", ok, err)
		}
		if _, err := s.Children(space); !errors.Is(err, dag.ErrNotFound) {
			t.Errorf("Children of unknown: %v, want ErrNotFound", err)
		}
		wantCIDs(t, "Heads", s.Heads, nil)
		wantCIDs(t, "KeyHeads", func() ([]cid.Cid, error) { return s.KeyHeads("a/b") }, nil)
		wantCIDs(t, "KeyHistory", func() ([]cid.Cid, error) { return s.KeyHistory("a/b") }, nil)
		wantLen(t, s, 0)
	})

	t.Run("ChainAndGet", func(t *testing.T) {
		must := Must(t)
		s := fresh(t)
		a := NewAuthor(1)
		n1 := must(a.Write(s, space, Set("a/1", `{"x":1}`)))
		n2 := must(a.Write(s, space, Set("a/1", `{"x":2}`), Set("b/1", `true`)))
		wantCIDs(t, "Heads", s.Heads, []cid.Cid{n2.CID()})
		wantCIDs(t, "KeyHeads(a/1)", func() ([]cid.Cid, error) { return s.KeyHeads("a/1") }, []cid.Cid{n2.CID()})
		wantCIDs(t, "KeyHistory(a/1)", func() ([]cid.Cid, error) { return s.KeyHistory("a/1") }, []cid.Cid{n1.CID(), n2.CID()})
		wantCIDs(t, "Children(genesis)", func() ([]cid.Cid, error) { return s.Children(space) }, []cid.Cid{n1.CID()})
		wantCIDs(t, "Children(head)", func() ([]cid.Cid, error) { return s.Children(n2.CID()) }, nil)
		wantLen(t, s, 3)
		got, err := s.Get(n2.CID())
		if err != nil {
			t.Fatal(err)
		}
		if !got.CID().Equals(n2.CID()) || string(got.Bytes()) != string(n2.Bytes()) || got.Height != 2 {
			t.Errorf("Get returned %s (height %d), want %s", got.CID(), got.Height, n2.CID())
		}
		if ok, err := s.Has(n1.CID()); !ok || err != nil {
			t.Errorf("Has(n1) = %v, %v", ok, err)
		}
	})

	t.Run("Idempotent", func(t *testing.T) {
		must := Must(t)
		s := fresh(t)
		n := must(NewAuthor(1).Write(s, space, Set("a/1", `1`)))
		if err := s.PutVerified(n); err != nil {
			t.Fatalf("second PutVerified: %v", err)
		}
		wantLen(t, s, 2)
		wantCIDs(t, "KeyHistory", func() ([]cid.Cid, error) { return s.KeyHistory("a/1") }, []cid.Cid{n.CID()})
		wantCIDs(t, "Children(genesis)", func() ([]cid.Cid, error) { return s.Children(space) }, []cid.Cid{n.CID()})
	})

	t.Run("MissingDeps", func(t *testing.T) {
		must := Must(t)
		s := fresh(t)
		a := NewAuthor(1)
		n1 := must(a.Node(space, []*dag.Node{g}, Set("a/1", `1`)))
		n2 := must(a.Node(space, []*dag.Node{n1}, dag.Op{Key: "a/1", Kind: dag.KindSet, Value: JSON(`2`), Prev: []cid.Cid{n1.CID()}}))
		if err := s.PutVerified(n2); !errors.Is(err, dag.ErrMissingDeps) {
			t.Fatalf("PutVerified without parent: %v, want ErrMissingDeps", err)
		}
		if ok, _ := s.Has(n2.CID()); ok {
			t.Error("node stored despite missing dependencies")
		}
		wantCIDs(t, "Heads", s.Heads, []cid.Cid{space})
		wantLen(t, s, 1)
	})

	t.Run("MissingPrev", func(t *testing.T) {
		must := Must(t)
		a, b := NewAuthor(1), NewAuthor(2)
		lost := must(a.Node(space, []*dag.Node{g}, Set("k/1", `1`))) // never stored first
		v1 := must(b.Node(space, []*dag.Node{g}, Set("k/1", `2`)))
		// n's parent is held but one of its prevs is not; its other op writes a new key.
		n := must(a.Node(space, []*dag.Node{v1},
			dag.Op{Key: "k/1", Kind: dag.KindSet, Value: JSON(`3`), Prev: []cid.Cid{lost.CID(), v1.CID()}},
			Set("k/2", `4`)))
		withV1 := func(t *testing.T) dag.Store {
			s := fresh(t)
			if err := s.PutVerified(v1); err != nil {
				t.Fatal(err)
			}
			return s
		}
		wantRefused := func(t *testing.T, s dag.Store, what string, err error) {
			t.Helper()
			if !errors.Is(err, dag.ErrMissingDeps) {
				t.Fatalf("%s: %v, want ErrMissingDeps", what, err)
			}
			for _, c := range []cid.Cid{n.CID(), lost.CID()} {
				if ok, err := s.Has(c); ok || err != nil {
					t.Errorf("after %s: Has(%s) = %v, %v; want false", what, c, ok, err)
				}
			}
			wantCIDs(t, "Heads", s.Heads, []cid.Cid{v1.CID()})
			wantCIDs(t, "KeyHeads(k/1)", func() ([]cid.Cid, error) { return s.KeyHeads("k/1") }, []cid.Cid{v1.CID()})
			wantCIDs(t, "KeyHeads(k/2)", func() ([]cid.Cid, error) { return s.KeyHeads("k/2") }, nil)
			wantCIDs(t, "KeyHistory(k/1)", func() ([]cid.Cid, error) { return s.KeyHistory("k/1") }, []cid.Cid{v1.CID()})
			wantCIDs(t, "Children(v1)", func() ([]cid.Cid, error) { return s.Children(v1.CID()) }, nil)
			if keys, err := s.Keys("k/", "", 0); err != nil || !slices.Equal(keys, []string{"k/1"}) {
				t.Errorf("Keys(k/) = %v, %v; want [k/1]", keys, err)
			}
			wantLen(t, s, 2)
		}

		t.Run("PutVerified", func(t *testing.T) {
			s := withV1(t)
			wantRefused(t, s, "PutVerified", s.PutVerified(n))
		})

		t.Run("PutVerifiedBatch", func(t *testing.T) {
			s := withV1(t)
			bs, ok := s.(dag.BatchStore)
			if !ok {
				t.Skip("not a dag.BatchStore")
			}
			wantRefused(t, s, "PutVerifiedBatch without the prev", bs.PutVerifiedBatch([]*dag.Node{n}))
			wantRefused(t, s, "PutVerifiedBatch with the prev after the node", bs.PutVerifiedBatch([]*dag.Node{n, lost}))
			if err := bs.PutVerifiedBatch([]*dag.Node{lost, n}); err != nil {
				t.Fatalf("PutVerifiedBatch with the prev first: %v", err)
			}
			wantCIDs(t, "Heads", s.Heads, dag.SortCIDs([]cid.Cid{lost.CID(), n.CID()}))
			wantCIDs(t, "KeyHeads(k/1)", func() ([]cid.Cid, error) { return s.KeyHeads("k/1") }, []cid.Cid{n.CID()})
			wantCIDs(t, "KeyHistory(k/1)", func() ([]cid.Cid, error) { return s.KeyHistory("k/1") }, history(lost, v1, n))
			wantLen(t, s, 4)
		})
	})

	t.Run("ForkAndMerge", func(t *testing.T) {
		must := Must(t)
		s := fresh(t)
		a, b := NewAuthor(1), NewAuthor(2)
		na := must(a.Node(space, []*dag.Node{g}, Set("k/1", `{"a":1}`)))
		nb := must(b.Node(space, []*dag.Node{g}, Set("k/1", `{"b":1}`)))
		for _, n := range []*dag.Node{nb, na} {
			if err := s.PutVerified(n); err != nil {
				t.Fatal(err)
			}
		}
		both := dag.SortCIDs([]cid.Cid{na.CID(), nb.CID()})
		wantCIDs(t, "Heads after fork", s.Heads, both)
		wantCIDs(t, "KeyHeads after fork", func() ([]cid.Cid, error) { return s.KeyHeads("k/1") }, both)
		wantCIDs(t, "Children(genesis)", func() ([]cid.Cid, error) { return s.Children(space) }, both)
		m := must(a.Write(s, space, Set("k/1", `{"a":1,"b":1}`)))
		if len(m.Parents) != 2 || len(m.Ops[0].Prev) != 2 {
			t.Fatalf("merge node has parents %v prev %v", m.Parents, m.Ops[0].Prev)
		}
		wantCIDs(t, "Heads after merge", s.Heads, []cid.Cid{m.CID()})
		wantCIDs(t, "KeyHeads after merge", func() ([]cid.Cid, error) { return s.KeyHeads("k/1") }, []cid.Cid{m.CID()})
		hist, err := s.KeyHistory("k/1")
		if err != nil || len(hist) != 3 || !hist[2].Equals(m.CID()) {
			t.Errorf("KeyHistory = %v, %v; want 3 versions ending with the merge", hist, err)
		}
	})

	t.Run("HistoryOrder", func(t *testing.T) {
		must := Must(t)
		s := fresh(t)
		a, b := NewAuthor(1), NewAuthor(2)
		a.Wall, b.Wall = Epoch, Epoch // equal clocks: the author breaks the tie
		na := must(a.Node(space, []*dag.Node{g}, Set("k/1", `1`)))
		nb := must(b.Node(space, []*dag.Node{g}, Set("k/1", `2`)))
		for _, n := range []*dag.Node{nb, na} {
			if err := s.PutVerified(n); err != nil {
				t.Fatal(err)
			}
		}
		wantCIDs(t, "KeyHistory", func() ([]cid.Cid, error) { return s.KeyHistory("k/1") }, history(na, nb))
	})

	t.Run("PrevCoversSomeKeyHeads", func(t *testing.T) {
		must := Must(t)
		s := fresh(t)
		a, b := NewAuthor(1), NewAuthor(2)
		set := func(v string, prev ...*dag.Node) dag.Op {
			op := Set("k/1", v)
			for _, p := range prev {
				op.Prev = append(op.Prev, p.CID())
			}
			return op
		}
		va := must(a.Node(space, []*dag.Node{g}, set(`{"a":1}`)))
		vb := must(b.Node(space, []*dag.Node{g}, set(`{"b":1}`)))
		vc := must(a.Node(space, []*dag.Node{va}, set(`{"a":2}`, va))) // supersedes A only
		other := must(b.Node(space, []*dag.Node{vb}, Set("other/1", `1`)))
		vd := must(b.Node(space, []*dag.Node{vc, other}, set(`{"a":2,"b":1}`, vb, vc)))
		var versions []*dag.Node
		for _, step := range []struct {
			name            string
			n               *dag.Node
			heads, keyHeads []*dag.Node
		}{
			{"A", va, []*dag.Node{va}, []*dag.Node{va}},
			{"B concurrent with A", vb, []*dag.Node{va, vb}, []*dag.Node{va, vb}},
			{"C with prev [A]", vc, []*dag.Node{vb, vc}, []*dag.Node{vb, vc}},
			{"another key after B", other, []*dag.Node{vc, other}, []*dag.Node{vb, vc}},
			{"D with prev [B C]", vd, []*dag.Node{vd}, []*dag.Node{vd}},
		} {
			if err := s.PutVerified(step.n); err != nil {
				t.Fatalf("PutVerified(%s): %v", step.name, err)
			}
			if _, ok := step.n.Op("k/1"); ok {
				versions = append(versions, step.n)
			}
			wantCIDs(t, "Heads after "+step.name, s.Heads, sortedCIDs(step.heads))
			wantCIDs(t, "KeyHeads after "+step.name, func() ([]cid.Cid, error) { return s.KeyHeads("k/1") }, sortedCIDs(step.keyHeads))
			wantCIDs(t, "KeyHistory after "+step.name, func() ([]cid.Cid, error) { return s.KeyHistory("k/1") }, history(versions...))
		}
	})

	t.Run("Keys", func(t *testing.T) {
		must := Must(t)
		s := fresh(t)
		a := NewAuthor(1)
		must(a.Write(s, space, Set("users/bob", `1`), Set("users/ada", `1`), Set("posts/1", `1`), Set("users/cy", `1`)))
		must(a.Write(s, space, Del("users/bob")))
		for _, tc := range []struct {
			prefix, after string
			limit         int
			want          []string
		}{
			{"", "", 0, []string{dag.SpaceKey, "posts/1", "users/ada", "users/bob", "users/cy"}},
			{"users/", "", 0, []string{"users/ada", "users/bob", "users/cy"}},
			{"users/", "", 2, []string{"users/ada", "users/bob"}},
			{"users/", "users/ada", 0, []string{"users/bob", "users/cy"}},
			{"users/", "users/b", 1, []string{"users/bob"}},
			{"", "users/cy", 0, nil},
			{"zzz/", "", 0, nil},
		} {
			got, err := s.Keys(tc.prefix, tc.after, tc.limit)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("Keys(%q, %q, %d) = %v, %v; want %v", tc.prefix, tc.after, tc.limit, got, err, tc.want)
			}
		}
	})

	t.Run("ResultsAreCopies", func(t *testing.T) {
		must := Must(t)
		s := fresh(t)
		a, b := NewAuthor(1), NewAuthor(2)
		for _, n := range []*dag.Node{must(a.Node(space, []*dag.Node{g}, Set("k/1", `1`))), must(b.Node(space, []*dag.Node{g}, Set("k/1", `2`)))} {
			if err := s.PutVerified(n); err != nil {
				t.Fatal(err)
			}
		}
		for _, get := range []func() ([]cid.Cid, error){s.Heads, func() ([]cid.Cid, error) { return s.KeyHeads("k/1") }, func() ([]cid.Cid, error) { return s.Children(space) }, func() ([]cid.Cid, error) { return s.KeyHistory("k/1") }} {
			first, _ := get()
			want := slices.Clone(first)
			first[0], first[1] = first[1], cid.Undef
			if again, _ := get(); !slices.EqualFunc(again, want, cid.Cid.Equals) {
				t.Errorf("modifying a returned slice changed the store: %v, want %v", again, want)
			}
		}
	})
}

func wantCIDs(t *testing.T, what string, get func() ([]cid.Cid, error), want []cid.Cid) {
	t.Helper()
	got, err := get()
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if !slices.EqualFunc(got, want, cid.Cid.Equals) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// history returns the CIDs of the versions vs in KeyHistory's order.
func history(vs ...*dag.Node) []cid.Cid {
	vs = slices.Clone(vs)
	slices.SortFunc(vs, dag.HistoryOrder)
	return cids(vs)
}

// sortedCIDs returns the CIDs of ns sorted, as Heads and KeyHeads return them.
func sortedCIDs(ns []*dag.Node) []cid.Cid { return dag.SortCIDs(cids(ns)) }

func cids(ns []*dag.Node) []cid.Cid {
	out := make([]cid.Cid, len(ns))
	for i, n := range ns {
		out[i] = n.CID()
	}
	return out
}

func wantLen(t *testing.T, s dag.Store, want int) {
	t.Helper()
	if n, err := s.Len(); n != want || err != nil {
		t.Errorf("Len = %d, %v; want %d", n, err, want)
	}
}

// Must returns a function that fails t on a non-nil error and otherwise returns n.
func Must(t testing.TB) func(n *dag.Node, err error) *dag.Node {
	return func(n *dag.Node, err error) *dag.Node {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
}
