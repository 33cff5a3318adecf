package tiers_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/dag/dagtest"
	"github.com/korup2p/korup2p/tiers"
)

// storage is the root package's storage interface, method for method.
var _ interface {
	Space(g *dag.Node) (dag.Store, error)
	Sync() error
	Meta(key string) ([]byte, error)
	SetMeta(key string, value []byte) error
	MetaKeys(prefix string) ([]string, error)
	Check() error
	Repair(progress func(done, total int64)) error
	Close() error
} = (*tiers.DB)(nil)

func TestConformance(t *testing.T) {
	for _, cache := range []int64{0, -1} {
		t.Run(fmt.Sprintf("cache=%d", cache), func(t *testing.T) {
			dagtest.TestStore(t, func(t *testing.T, g *dag.Node) dag.Store {
				return space(t, openDB(t, t.TempDir(), &tiers.Options{CacheBytes: cache}), g)
			})
		})
	}
}

func TestMatchesModel(t *testing.T) {
	db := openDB(t, t.TempDir(), &tiers.Options{CacheBytes: -1})
	s := newSim(t, "model", 1)
	st := space(t, db, s.g)
	s.populate(st, 150)
	if !slices.ContainsFunc(s.nodes, func(n *dag.Node) bool { return len(n.Parents) > 1 }) {
		t.Fatal("the simulation made no merge: it tests no forks")
	}
	s.sameAsModel(t, st)
	mustCheck(t, db)
	if got := db.Stats().Nodes; got != 151 {
		t.Errorf("Stats().Nodes = %d, want 151", got)
	}
}

func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	s := newSim(t, "persist", 2)
	db := openDB(t, dir, &tiers.Options{Durability: tiers.DurabilityNone})
	st := space(t, db, s.g)
	s.populate(st, 100)
	before := takeSnapshot(t, st, s.nodes)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Heads(); !errors.Is(err, tiers.ErrClosed) {
		t.Errorf("Heads after Close: %v, want ErrClosed", err)
	}

	db = openDB(t, dir, nil)
	st = space(t, db, s.g)
	if err := takeSnapshot(t, st, s.nodes).equal(before); err != nil {
		t.Fatal(err)
	}
	s.sameAsModel(t, st)
	if got := db.Stats().Replayed; got != 0 {
		t.Errorf("reopening a current index replayed %d records, want 0", got)
	}
	s.populate(st, 20) // and it takes more
	s.sameAsModel(t, st)
	mustCheck(t, db)
}

func TestSpacesAreIsolated(t *testing.T) {
	db := openDB(t, t.TempDir(), nil)
	one, two := newSim(t, "one", 3), newSim(t, "two", 4)
	st1, st2 := space(t, db, one.g), space(t, db, two.g)
	one.populate(st1, 40)
	two.populate(st2, 25)
	one.sameAsModel(t, st1)
	two.sameAsModel(t, st2)
	for _, n := range two.nodes {
		if ok, err := st1.Has(n.CID()); ok || err != nil {
			t.Fatalf("space one Has(%s) of space two = %v, %v", n.CID(), ok, err)
		}
		if _, err := st1.Get(n.CID()); !errors.Is(err, dag.ErrNotFound) {
			t.Fatalf("space one Get of space two's node: %v, want ErrNotFound", err)
		}
		if _, err := st1.Children(n.CID()); !errors.Is(err, dag.ErrNotFound) {
			t.Fatalf("space one Children of space two's node: %v, want ErrNotFound", err)
		}
	}
	if err := st1.PutVerified(two.next()); err == nil {
		t.Error("space one took a node of space two")
	}
	if n, _ := st1.Len(); n != 41 {
		t.Errorf("space one Len = %d, want 41", n)
	}
	if got := db.Stats().Nodes; got != 41+26 {
		t.Errorf("Stats().Nodes = %d, want %d", got, 41+26)
	}
	mustCheck(t, db)
}

func TestTrickyKeys(t *testing.T) {
	db := openDB(t, t.TempDir(), nil)
	g, err := dag.NewOpenGenesis("keys")
	if err != nil {
		t.Fatal(err)
	}
	st, model := space(t, db, g), dag.NewMemStore()
	for _, s := range []dag.Store{st, model} {
		if err := s.PutVerified(g); err != nil {
			t.Fatal(err)
		}
	}
	a := dagtest.NewAuthor(5)
	for _, k := range trickyKeys {
		n, err := a.Write(model, g.CID(), dagtest.Set(k, `1`))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.PutVerified(n); err != nil {
			t.Fatal(err)
		}
	}
	all, _ := model.Keys("", "", 0)
	prefixes := []string{"", "a", "a/", "a/.", "a/..", "a//", "a/b", "ns/", "ns/x", "ns/x/", "ns/x ", "ns/ü", "ns/\xc3", "u", "zz"}
	afters := append([]string{"", "a", "ns/x", "ns/w", "zzz"}, all...)
	for _, prefix := range prefixes {
		for _, after := range afters {
			for _, limit := range []int{0, 1, 2} {
				got, err := st.Keys(prefix, after, limit)
				want, _ := model.Keys(prefix, after, limit)
				if err != nil || !slices.Equal(got, want) {
					t.Errorf("Keys(%q, %q, %d) = %q, %v; want %q", prefix, after, limit, got, err, want)
				}
			}
		}
	}
	for _, k := range trickyKeys {
		got, _ := st.KeyHistory(k)
		want, _ := model.KeyHistory(k)
		if len(got) != 1 || !got[0].Equals(want[0]) {
			t.Errorf("KeyHistory(%q) = %v, want %v", k, got, want)
		}
	}
}

func TestMeta(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir, nil)
	if v, err := db.Meta("space/x"); v != nil || err != nil {
		t.Fatalf("Meta of absent key = %q, %v", v, err)
	}
	for _, k := range []string{"space/b", "space/a", "space/a/../c", "other", "space//"} {
		if err := db.SetMeta(k, []byte("v:"+k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SetMeta("space/b", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = openDB(t, dir, nil)
	keys, err := db.MetaKeys("space/")
	if want := []string{"space//", "space/a", "space/a/../c", "space/b"}; err != nil || !slices.Equal(keys, want) {
		t.Errorf("MetaKeys = %q, %v; want %q", keys, err, want)
	}
	if all, _ := db.MetaKeys(""); len(all) != 5 {
		t.Errorf("MetaKeys(\"\") = %q, want 5 keys", all)
	}
	if v, err := db.Meta("space/b"); string(v) != "v2" || err != nil {
		t.Errorf("Meta(space/b) = %q, %v", v, err)
	}
}

func TestOptions(t *testing.T) {
	for _, o := range []tiers.Options{
		{Durability: "sometimes"},
		{Durability: tiers.DurabilityAlways, SyncInterval: 5},
		{DiskBudget: -1},
	} {
		if db, err := tiers.Open(t.TempDir(), &o); err == nil {
			db.Close()
			t.Errorf("Open(%+v) succeeded", o)
		}
	}
	for _, mode := range []string{tiers.DurabilityAlways, tiers.DurabilityInterval, tiers.DurabilityNone} {
		db := openDB(t, t.TempDir(), &tiers.Options{Durability: mode})
		s := newSim(t, "modes", 6)
		s.populate(space(t, db, s.g), 3)
		if err := db.Sync(); err != nil {
			t.Errorf("%s: Sync: %v", mode, err)
		}
	}
}

// TestPutVerifiedBatch: a forking history stored in batches (dependencies first
// within each, some nodes repeated) answers as the model does and checks out; a
// batch with a missing dependency or of another space writes nothing.
func TestPutVerifiedBatch(t *testing.T) {
	db := openDB(t, t.TempDir(), nil)
	s := newSim(t, "batch", 3)
	for range 120 {
		s.next()
	}
	st := space(t, db, s.g)
	bs := st.(dag.BatchStore)
	all := append([]*dag.Node{s.g}, s.nodes...)
	if err := bs.PutVerifiedBatch(all[5:9]); !errors.Is(err, dag.ErrMissingDeps) {
		t.Fatalf("a batch without its dependencies: %v", err)
	}
	if n, _ := st.Len(); n != 0 {
		t.Fatalf("a refused batch stored %d nodes", n)
	}
	for i := 0; i < len(all); i += 17 {
		batch := all[i:min(i+17, len(all))]
		if i > 0 {
			batch = append([]*dag.Node{all[i-1]}, batch...) // held already: skipped
		}
		if err := bs.PutVerifiedBatch(batch); err != nil {
			t.Fatal(err)
		}
	}
	s.sameAsModel(t, st)
	mustCheck(t, db)
	other := newSim(t, "other", 4)
	if err := bs.PutVerifiedBatch([]*dag.Node{other.g}); err == nil {
		t.Fatal("stored a node of another space")
	}
}
