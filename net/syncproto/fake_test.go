package syncproto

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/dag/dagtest"
	"github.com/korup2p/korup2p/distinctions"
)

// fakeReplica is a Replica over a dag.MemStore and a dag.Ingester. Its snapshot
// format is its own (fakeSnapRoot): enough for the protocol, which reads only the
// root's "chunks" and "prev" links.
type fakeReplica struct {
	space cid.Cid

	mu       sync.Mutex
	store    *dag.MemStore
	in       *dag.Ingester
	items    []Item // cache; nil when stale
	snapRoot cid.Cid
	cut      []cid.Cid
	snap     map[cid.Cid][]byte
	// distilledHas are nodes folded into the snapshot, which Has reports (set before use).
	distilledHas map[cid.Cid]bool
	ingested     int // Ingest calls
	rejected     int
	// trustSigs makes Ingest skip signature verification (dag.DecodeTrusted).
	trustSigs bool
	// onIngest, if set, is called (without the lock) after every Ingest.
	onIngest func(r *fakeReplica, blocks [][]byte)
}

var _ Replica = (*fakeReplica)(nil)

func newFake(store *dag.MemStore, space cid.Cid) *fakeReplica {
	return &fakeReplica{space: space, store: store, in: dag.NewIngester(store, space, nil), trustSigs: raceEnabled}
}

func (r *fakeReplica) Space() cid.Cid { return r.space }

// Heads returns the store's heads, except, once the replica has a snapshot, those
// below its cut: a stand-in names no parents, so the genesis kept whole would
// otherwise look like a head (a real store knows it is behind the cut).
func (r *fakeReplica) Heads() ([]cid.Cid, error) {
	heads, err := r.store.Heads()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	cut := slices.Clone(r.cut)
	r.mu.Unlock()
	if len(cut) == 0 {
		return heads, nil
	}
	floor := uint64(math.MaxUint64)
	for _, c := range cut {
		if n, err := r.store.Get(c); err == nil {
			floor = min(floor, n.Height)
		}
	}
	return slices.DeleteFunc(heads, func(h cid.Cid) bool {
		n, err := r.store.Get(h)
		return err == nil && n.Height < floor
	}), nil
}

func (r *fakeReplica) Items() ([]Item, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.items != nil {
		return r.items, nil
	}
	var all []Item
	if err := r.store.ForEachNode(func(c cid.Cid, h uint64) error {
		all = append(all, Item{Height: h, CID: c})
		return nil
	}); err != nil {
		return nil, err
	}
	items := make([]Item, 0, len(all))
	for _, it := range all {
		if n, err := r.store.Get(it.CID); err == nil && !n.IsDistilled() {
			items = append(items, it)
		}
	}
	slices.SortFunc(items, CompareItems)
	r.items = items
	return items, nil
}

func (r *fakeReplica) Has(c cid.Cid) (bool, error) {
	if r.distilledHas[c] {
		return true, nil
	}
	return r.store.Has(c)
}

func (r *fakeReplica) Block(c cid.Cid) ([]byte, error) {
	n, err := r.store.Get(c)
	if err != nil {
		return nil, err
	}
	if n.IsDistilled() {
		return nil, fmt.Errorf("%w: %s was distilled", dag.ErrNotFound, c)
	}
	return n.Bytes(), nil
}

// Ingest decodes (verifying signatures) in parallel, then adds under the lock.
func (r *fakeReplica) Ingest(from peer.ID, blocks [][]byte) (IngestResult, error) {
	nodes := make([]*dag.Node, len(blocks))
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), 8)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(blocks); i += workers {
				decode := dag.Decode
				if r.trustSigs {
					decode = dag.DecodeTrusted
				}
				if n, err := decode(blocks[i], distinctions.DefaultLimits); err == nil {
					nodes[i] = n
				}
			}
		}()
	}
	wg.Wait()
	var res IngestResult
	r.mu.Lock()
	for _, n := range nodes {
		if n == nil {
			res.Rejected++
			continue
		}
		a, err := r.in.Add(n)
		if err != nil {
			r.mu.Unlock()
			return res, err
		}
		res.Applied += len(a.Applied)
		res.Rejected += len(a.Rejected)
	}
	res.Missing = r.in.Missing()
	if res.Applied > 0 {
		r.items = nil
	}
	r.ingested++
	r.rejected += res.Rejected
	hook := r.onIngest
	r.mu.Unlock()
	if hook != nil {
		hook(r, blocks)
	}
	return res, nil
}

func (r *fakeReplica) Snapshot() (cid.Cid, []cid.Cid, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.snapRoot, slices.Clone(r.cut), nil
}

func (r *fakeReplica) SnapshotBlock(c cid.Cid) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b, ok := r.snap[c]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("%w: snapshot block %s", dag.ErrNotFound, c)
}

// fakeSnapRoot is the fake's snapshot root: chunks (opaque here), the previous
// snapshot, and the cut heads with what their children's checks need.
type fakeSnapRoot struct {
	V      uint64              `cbor:"v"`
	Cut    []fakeHead          `cbor:"cut"`
	Prev   *distinctions.Link  `cbor:"prev,omitempty"`
	Chunks []distinctions.Link `cbor:"chunks"`
}

type fakeHead struct {
	_       struct{} `cbor:",toarray"`
	C       distinctions.Link
	Height  uint64
	Wall    int64
	Logical uint64
	Author  []byte
}

func (r *fakeReplica) InstallSnapshot(root cid.Cid, blocks map[cid.Cid][]byte) error {
	for c, b := range blocks {
		if !distinctions.Sum(b).Equals(c) {
			return fmt.Errorf("%w: block %s does not hash to its CID", dag.ErrInvalid, c)
		}
	}
	var s fakeSnapRoot
	if err := distinctions.Decode(blocks[root], &s, distinctions.DefaultLimits); err != nil {
		return fmt.Errorf("snapshot root: %w", err)
	}
	for _, ch := range s.Chunks {
		if _, ok := blocks[ch.Cid]; !ok {
			return fmt.Errorf("snapshot chunk %s missing", ch.Cid)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var cut []cid.Cid
	for _, h := range s.Cut {
		n := dag.Distilled(h.C.Cid, r.space, h.Height, dag.Timestamp{Wall: h.Wall, Logical: uint32(h.Logical)}, peer.ID(h.Author), nil)
		if err := r.store.PutVerified(n); err != nil {
			return err
		}
		cut = append(cut, h.C.Cid)
	}
	r.snapRoot, r.cut, r.snap, r.items = root, cut, blocks, nil
	return nil
}

// distilled returns a replica holding genesis, a stand-in for nodes[cut] (a chain:
// each node's only parent is the previous one, and no op names a prev), and the
// nodes after it whole, with a snapshot of two generations (the older one named as
// prev) of chunks big enough to need several messages.
func distilled(t testing.TB, g *dag.Node, nodes []*dag.Node, cut int) *fakeReplica {
	t.Helper()
	s := dag.NewMemStore()
	if err := s.PutVerified(g); err != nil {
		t.Fatal(err)
	}
	c := nodes[cut]
	if err := s.PutVerified(dag.Distilled(c.CID(), g.CID(), c.Height, c.Clock, c.Author, nil)); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes[cut+1:] {
		if err := s.PutVerified(n); err != nil {
			t.Fatal(err)
		}
	}
	r := newFake(s, g.CID())
	r.snap = map[cid.Cid][]byte{}
	put := func(v any) distinctions.Link {
		d, err := distinctions.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		r.snap[d.CID] = d.Bytes
		return distinctions.Link{Cid: d.CID}
	}
	chunk := func(i int) distinctions.Link {
		entries := make([]any, 0, 2000)
		for j := range 2000 {
			entries = append(entries, fmt.Sprintf("chunk %d entry %d: some folded state", i, j))
		}
		return put(map[string]any{"entries": entries})
	}
	older := put(fakeSnapRoot{V: 1, Chunks: []distinctions.Link{chunk(-1)}})
	head := fakeHead{C: distinctions.Link{Cid: c.CID()}, Height: c.Height, Wall: c.Clock.Wall, Logical: uint64(c.Clock.Logical), Author: []byte(c.Author)}
	root := put(fakeSnapRoot{V: 1, Cut: []fakeHead{head}, Prev: &older, Chunks: []distinctions.Link{chunk(0), chunk(1), chunk(2)}})
	r.snapRoot, r.cut = root.Cid, []cid.Cid{c.CID()}
	return r
}

// history is a generated DAG: genesis and nodes in an order where parents precede
// children.
type history struct {
	g     *dag.Node
	nodes []*dag.Node
}

var (
	historiesMu sync.Mutex
	histories   = map[string]*history{}
)

// chainOf returns (cached) a chain of n nodes by author seed on top of base (nil: the
// genesis of space "syncproto-test"; else base's last node), each writing its own key.
func chainOf(t testing.TB, n int, seed int64, base *history) *history {
	t.Helper()
	key := fmt.Sprintf("%d/%d/%p", n, seed, base)
	historiesMu.Lock()
	defer historiesMu.Unlock()
	if h := histories[key]; h != nil {
		return h
	}
	var s *dag.MemStore
	var g *dag.Node
	if base == nil {
		s, g = dagtest.NewSpace("syncproto-test")
	} else {
		s, g = base.store(t), base.g
	}
	a := dagtest.NewAuthor(seed)
	h := &history{g: g}
	prev := g
	if base != nil {
		h.nodes = slices.Clone(base.nodes)
		prev = base.nodes[len(base.nodes)-1]
	}
	for i := range n {
		nd, err := a.Node(g.CID(), []*dag.Node{prev}, dagtest.Set(fmt.Sprintf("k%d/%d", seed, i), `{"n":1}`))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.PutVerified(nd); err != nil {
			t.Fatal(err)
		}
		h.nodes = append(h.nodes, nd)
		prev = nd
	}
	histories[key] = h
	return h
}

// store returns a fresh MemStore holding the history.
func (h *history) store(t testing.TB) *dag.MemStore {
	t.Helper()
	s := dag.NewMemStore()
	for _, n := range append([]*dag.Node{h.g}, h.nodes...) {
		if err := s.PutVerified(n); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func (h *history) replica(t testing.TB) *fakeReplica { return newFake(h.store(t), h.g.CID()) }

// fresh returns a replica holding only the genesis.
func (h *history) fresh(t testing.TB) *fakeReplica {
	t.Helper()
	s := dag.NewMemStore()
	if err := s.PutVerified(h.g); err != nil {
		t.Fatal(err)
	}
	return newFake(s, h.g.CID())
}

// nodeSet returns the CIDs a replica stores (stand-ins included).
func nodeSet(t testing.TB, r *fakeReplica) map[cid.Cid]bool {
	t.Helper()
	out := map[cid.Cid]bool{}
	if err := r.store.ForEachNode(func(c cid.Cid, _ uint64) error { out[c] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func storeLen(r *fakeReplica) int {
	n, _ := r.store.Len()
	return n
}

// wantUnion checks that both replicas hold the same nodes and heads.
func wantUnion(t testing.TB, a, b *fakeReplica, want int) {
	t.Helper()
	sa, sb := nodeSet(t, a), nodeSet(t, b)
	if len(sa) != want || len(sb) != want {
		t.Fatalf("replicas hold %d and %d nodes, want %d each", len(sa), len(sb), want)
	}
	for c := range sa {
		if !sb[c] {
			t.Fatalf("%s held by one side only", c)
		}
	}
	ha, _ := a.Heads()
	hb, _ := b.Heads()
	if !slices.EqualFunc(ha, hb, cid.Cid.Equals) {
		t.Fatalf("heads differ: %v vs %v", ha, hb)
	}
}
