package dag_test

import (
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/dag/dagtest"
)

// history writes a multi-writer DAG: writers take turns writing to a few keys, each
// seeing only its own store, and sync all stores every few rounds.
func history(t *testing.T, seed int64, writers, rounds int) (*dag.Node, []*dag.Node) {
	t.Helper()
	rng := rand.New(rand.NewSource(seed))
	_, g := dagtest.NewSpace("ingest")
	stores := make([]*dag.MemStore, writers)
	authors := make([]*dagtest.Author, writers)
	for i := range stores {
		stores[i], _ = dagtest.NewSpace("ingest")
		authors[i] = dagtest.NewAuthor(int64(i + 1))
	}
	var all []*dag.Node
	for r := 0; r < rounds; r++ {
		for i, s := range stores {
			op := dagtest.Set(fmt.Sprintf("k/%d", rng.Intn(3)), fmt.Sprintf(`{"w%d":%d}`, i, r))
			n, err := authors[i].Write(s, g.CID(), op)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, n)
		}
		if rng.Intn(3) == 0 {
			for _, s := range stores {
				in := dag.NewIngester(s, g.CID(), nil)
				for _, n := range all {
					if _, err := in.Add(n); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
	return g, all
}

func TestIngestAnyOrder(t *testing.T) {
	g, nodes := history(t, 1, 3, 20)
	var want []cid.Cid
	for seed := int64(0); seed < 20; seed++ {
		rng := rand.New(rand.NewSource(seed))
		s := dag.NewMemStore()
		in := dag.NewIngester(s, g.CID(), nil)
		// Every node at least once, some twice, in random order; the genesis too.
		deliver := append([]*dag.Node{g}, nodes...)
		for range 10 {
			deliver = append(deliver, deliver[rng.Intn(len(deliver))])
		}
		rng.Shuffle(len(deliver), func(i, j int) { deliver[i], deliver[j] = deliver[j], deliver[i] })
		applied := map[cid.Cid]bool{}
		for _, n := range deliver {
			res, err := in.Add(n)
			if err != nil || res.Err() != nil {
				t.Fatalf("seed %d: Add: %v %v", seed, err, res.Err())
			}
			for _, a := range res.Applied {
				if applied[a.CID()] {
					t.Fatalf("seed %d: %s applied twice", seed, a.CID())
				}
				for _, d := range dag.Deps(a) {
					if !applied[d] {
						t.Fatalf("seed %d: %s applied before its dependency %s", seed, a.CID(), d)
					}
				}
				applied[a.CID()] = true
			}
			for _, m := range res.Missing {
				if ok, _ := s.Has(m); ok {
					t.Fatalf("seed %d: reported %s missing but it is stored", seed, m)
				}
			}
		}
		if in.Pending() != 0 || len(in.Missing()) != 0 || len(applied) != len(nodes)+1 {
			t.Fatalf("seed %d: %d pending, missing %v, %d of %d applied", seed, in.Pending(), in.Missing(), len(applied), len(nodes)+1)
		}
		heads, _ := s.Heads()
		if want == nil {
			want = heads
		} else if !slices.EqualFunc(heads, want, cid.Cid.Equals) {
			t.Fatalf("seed %d: heads %v, another order gave %v", seed, heads, want)
		}
	}
}

func TestIngestReportsMissing(t *testing.T) {
	s, g := dagtest.NewSpace("s")
	src, _ := dagtest.NewSpace("s")
	a := dagtest.NewAuthor(1)
	must := dagtest.Must(t)
	n1 := must(a.Write(src, g.CID(), dagtest.Set("a/1", `1`)))
	n2 := must(a.Write(src, g.CID(), dagtest.Set("a/1", `2`)))
	n3 := must(a.Write(src, g.CID(), dagtest.Set("a/1", `3`)))
	in := dag.NewIngester(s, g.CID(), nil)
	res, err := in.Add(n3)
	if err != nil || len(res.Applied) != 0 || !slices.EqualFunc(res.Missing, []cid.Cid{n2.CID()}, cid.Cid.Equals) {
		t.Fatalf("Add(n3) = %+v, %v; want n2 missing", res, err)
	}
	res, _ = in.Add(n2)
	if !slices.EqualFunc(res.Missing, []cid.Cid{n1.CID()}, cid.Cid.Equals) || in.Pending() != 2 {
		t.Fatalf("Add(n2): missing %v, pending %d", res.Missing, in.Pending())
	}
	if m := in.Missing(); !slices.EqualFunc(m, []cid.Cid{n1.CID()}, cid.Cid.Equals) {
		t.Errorf("Missing() = %v, want n1", m)
	}
	res, _ = in.Add(n1)
	if len(res.Applied) != 3 || !res.Applied[0].CID().Equals(n1.CID()) || !res.Applied[2].CID().Equals(n3.CID()) {
		t.Fatalf("Add(n1) applied %v", res.Applied)
	}
	if heads, _ := s.Heads(); !slices.EqualFunc(heads, []cid.Cid{n3.CID()}, cid.Cid.Equals) {
		t.Errorf("heads %v", heads)
	}
	// A node of another space is rejected, not held.
	other, og := dagtest.NewSpace("other")
	x := must(a.Write(other, og.CID(), dagtest.Set("a/1", `1`)))
	if res, _ := in.Add(x); res.Err() == nil || !errors.Is(res.Err(), dag.ErrInvalid) {
		t.Errorf("node of another space: %+v", res)
	}
	if res, _ := in.Add(og); res.Err() == nil {
		t.Errorf("genesis of another space accepted")
	}
}

func TestIngestMaxPending(t *testing.T) {
	s, g := dagtest.NewSpace("s")
	src, _ := dagtest.NewSpace("s")
	a := dagtest.NewAuthor(1)
	var ns []*dag.Node
	for i := range 4 {
		ns = append(ns, dagtest.Must(t)(a.Write(src, g.CID(), dagtest.Set("a/1", fmt.Sprint(i)))))
	}
	in := dag.NewIngester(s, g.CID(), &dag.IngestOptions{MaxPending: 2})
	for _, n := range []*dag.Node{ns[3], ns[2]} {
		if _, err := in.Add(n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := in.Add(ns[1]); !errors.Is(err, dag.ErrTooManyPending) {
		t.Fatalf("third pending node: %v, want ErrTooManyPending", err)
	}
	if in.Pending() != 2 {
		t.Errorf("pending %d", in.Pending())
	}
}

// batchStore is a MemStore that stores batches, and counts them.
type batchStore struct {
	*dag.MemStore
	batches, nodes int
}

func (b *batchStore) PutVerifiedBatch(ns []*dag.Node) error {
	b.batches++
	b.nodes += len(ns)
	for _, n := range ns {
		if err := b.PutVerified(n); err != nil {
			return err
		}
	}
	return nil
}

// TestIngestBatches: nodes offered in shuffled batches end in the same store as one
// by one; a node's checks see what its batch applied before it; each batch is
// stored with one PutVerifiedBatch, dependencies first; Missing names only what
// neither the store, the batch nor the held nodes have.
func TestIngestBatches(t *testing.T) {
	g, nodes := history(t, 2, 3, 20)
	ref := dag.NewMemStore()
	refIn := dag.NewIngester(ref, g.CID(), nil)
	for _, n := range append([]*dag.Node{g}, nodes...) {
		if _, err := refIn.Add(n); err != nil {
			t.Fatal(err)
		}
	}
	want, _ := ref.Heads()
	for seed := int64(0); seed < 20; seed++ {
		rng := rand.New(rand.NewSource(seed))
		s := &batchStore{MemStore: dag.NewMemStore()}
		in := dag.NewIngester(s, g.CID(), nil)
		deliver := append([]*dag.Node{g}, nodes...)
		rng.Shuffle(len(deliver), func(i, j int) { deliver[i], deliver[j] = deliver[j], deliver[i] })
		applied := map[cid.Cid]bool{}
		for len(deliver) > 0 {
			k := min(len(deliver), 1+rng.Intn(12))
			res, err := in.AddBatch(deliver[:k])
			deliver = deliver[k:]
			if err != nil || res.Err() != nil {
				t.Fatalf("seed %d: AddBatch: %v %v", seed, err, res.Err())
			}
			for _, a := range res.Applied {
				for _, d := range dag.Deps(a) {
					if !applied[d] {
						t.Fatalf("seed %d: %s applied before its dependency %s", seed, a.CID(), d)
					}
				}
				applied[a.CID()] = true
			}
			for _, m := range res.Missing {
				if ok, _ := s.Has(m); ok || applied[m] {
					t.Fatalf("seed %d: reported %s missing but it is stored", seed, m)
				}
			}
		}
		heads, _ := s.Heads()
		if in.Pending() != 0 || len(applied) != len(nodes)+1 || !slices.EqualFunc(heads, want, cid.Cid.Equals) {
			t.Fatalf("seed %d: %d pending, %d of %d applied, heads %v want %v", seed, in.Pending(), len(applied), len(nodes)+1, heads, want)
		}
		if s.nodes != len(nodes)+1 || s.batches == 0 {
			t.Fatalf("seed %d: %d nodes in %d batches", seed, s.nodes, s.batches)
		}
	}
}
