package tiers_test

import (
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/dag/dagtest"
	"github.com/korup2p/korup2p/tiers"
)

// trickyKeys are keys that a path-cleaning key scheme would mangle.
var trickyKeys = []string{
	"a/../b", "a//b", "a/./b", "a/b", "a/b/", "ns/ü", "ns/x y", "ns/x", "ns/x/y", "ns/x/", "ns/%2F", "users/bob",
}

// openDB opens a DB in dir and closes it when the test ends, unless the test did.
func openDB(t testing.TB, dir string, opts *tiers.Options) *tiers.DB {
	t.Helper()
	db, err := tiers.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil && !errors.Is(err, tiers.ErrClosed) {
			t.Errorf("close: %v", err)
		}
	})
	return db
}

// warnings collects Options.Warn calls.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) warn(msg string, kv ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, fmt.Sprint(append([]any{msg}, kv...)...))
}

func (w *warnings) has(substr string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.ContainsFunc(w.msgs, func(m string) bool { return strings.Contains(m, substr) })
}

// sim builds a space's DAG as two authors on two replicas would, syncing now and
// then, so that it forks and merges. Every node also goes into model, a MemStore
// that the tests compare the DB with, and is listed in creation (causal) order.
type sim struct {
	t        testing.TB
	g        *dag.Node
	rng      *rand.Rand
	authors  []*dagtest.Author
	replicas []*dag.MemStore
	model    *dag.MemStore
	nodes    []*dag.Node
}

func newSim(t testing.TB, name string, seed int64) *sim {
	t.Helper()
	g, err := dag.NewOpenGenesis(name)
	if err != nil {
		t.Fatal(err)
	}
	s := &sim{t: t, g: g, rng: rand.New(rand.NewSource(seed)), model: dag.NewMemStore()}
	for i := range 2 {
		r := dag.NewMemStore()
		s.mustPut(r, g)
		s.replicas = append(s.replicas, r)
		s.authors = append(s.authors, dagtest.NewAuthor(seed*10+int64(i)))
	}
	s.mustPut(s.model, g)
	s.nodes = append(s.nodes, g)
	return s
}

func (s *sim) mustPut(st dag.Store, n *dag.Node) {
	s.t.Helper()
	if err := st.PutVerified(n); err != nil {
		s.t.Fatal(err)
	}
}

// next writes one node (after syncing the replicas, now and then) and returns it.
func (s *sim) next() *dag.Node {
	s.t.Helper()
	if s.rng.Intn(4) == 0 {
		for _, r := range s.replicas {
			for _, n := range s.nodes {
				s.mustPut(r, n)
			}
		}
	}
	i := s.rng.Intn(len(s.authors))
	var ops []dag.Op
	for _, k := range s.rng.Perm(len(trickyKeys))[:1+s.rng.Intn(3)] {
		key := trickyKeys[k]
		switch s.rng.Intn(5) {
		case 0:
			ops = append(ops, dagtest.Del(key))
		case 1:
			ops = append(ops, dagtest.Patch(key, fmt.Sprintf(`{"p":%d}`, s.rng.Intn(100))))
		default:
			ops = append(ops, dagtest.Set(key, fmt.Sprintf(`{"v":%d}`, s.rng.Intn(100))))
		}
	}
	n, err := s.authors[i].Write(s.replicas[i], s.g.CID(), ops...)
	if err != nil {
		s.t.Fatal(err)
	}
	s.mustPut(s.model, n)
	s.nodes = append(s.nodes, n)
	return n
}

// populate stores the genesis (if new) and n more nodes in st.
func (s *sim) populate(st dag.Store, n int) {
	s.t.Helper()
	if ok, err := st.Has(s.g.CID()); err != nil {
		s.t.Fatal(err)
	} else if !ok {
		s.mustPut(st, s.g)
	}
	for range n {
		s.mustPut(st, s.next())
	}
}

// snapshot is everything a dag.Store answers about its nodes.
type snapshot struct {
	Len      int
	Heads    []cid.Cid
	Keys     []string
	KeyHeads map[string][]cid.Cid
	History  map[string][]cid.Cid
	Children map[cid.Cid][]cid.Cid
}

func takeSnapshot(t testing.TB, st dag.Store, nodes []*dag.Node) snapshot {
	t.Helper()
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var s snapshot
	var err error
	s.Len, err = st.Len()
	check(err)
	s.Heads, err = st.Heads()
	check(err)
	s.Keys, err = st.Keys("", "", 0)
	check(err)
	s.KeyHeads, s.History, s.Children = map[string][]cid.Cid{}, map[string][]cid.Cid{}, map[cid.Cid][]cid.Cid{}
	for _, k := range s.Keys {
		s.KeyHeads[k], err = st.KeyHeads(k)
		check(err)
		s.History[k], err = st.KeyHistory(k)
		check(err)
	}
	for _, n := range nodes {
		got, err := st.Get(n.CID())
		check(err)
		if string(got.Bytes()) != string(n.Bytes()) {
			t.Fatalf("Get(%s) returned other bytes", n.CID())
		}
		s.Children[n.CID()], err = st.Children(n.CID())
		check(err)
	}
	return s
}

func (s snapshot) equal(o snapshot) error {
	eq := func(a, b []cid.Cid) bool { return slices.EqualFunc(a, b, cid.Cid.Equals) }
	switch {
	case s.Len != o.Len:
		return fmt.Errorf("Len %d, want %d", s.Len, o.Len)
	case !eq(s.Heads, o.Heads):
		return fmt.Errorf("Heads %v, want %v", s.Heads, o.Heads)
	case !slices.Equal(s.Keys, o.Keys):
		return fmt.Errorf("Keys %q, want %q", s.Keys, o.Keys)
	}
	for _, k := range o.Keys {
		if !eq(s.KeyHeads[k], o.KeyHeads[k]) {
			return fmt.Errorf("KeyHeads(%q) %v, want %v", k, s.KeyHeads[k], o.KeyHeads[k])
		}
		if !eq(s.History[k], o.History[k]) {
			return fmt.Errorf("KeyHistory(%q) %v, want %v", k, s.History[k], o.History[k])
		}
	}
	for c, want := range o.Children {
		if !eq(s.Children[c], want) {
			return fmt.Errorf("Children(%s) %v, want %v", c, s.Children[c], want)
		}
	}
	return nil
}

// sameAsModel fails t unless st answers as the model does about the sim's nodes.
func (s *sim) sameAsModel(t testing.TB, st dag.Store) {
	t.Helper()
	if err := takeSnapshot(t, st, s.nodes).equal(takeSnapshot(t, s.model, s.nodes)); err != nil {
		t.Fatal(err)
	}
}

func mustCheck(t testing.TB, db *tiers.DB) {
	t.Helper()
	if err := db.Check(); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

func space(t testing.TB, db *tiers.DB, g *dag.Node) dag.Store {
	t.Helper()
	st, err := db.Space(g)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
