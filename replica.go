package korup2p

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/caps"
	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/distinctions"
	"github.com/korup2p/korup2p/net/gossip"
	"github.com/korup2p/korup2p/net/syncproto"
)

// A space is the network's replica of it: the sync protocol reconciles its node
// set (syncproto.Replica) and gossip delivers its new nodes (gossip.Handler). Nodes
// from peers enter through ingest, under the same lock as local writes.

var (
	_ syncproto.Replica = (*space)(nil)
	_ gossip.Handler    = gossipHandler{}
)

// gossipHandler is a space's gossip.Handler (whose Heads means something else than
// the Replica's).
type gossipHandler struct{ sp *space }

// items is a space's node set in (height, CID) order, loaded on first use and kept
// current by every store.
type items struct {
	mu     sync.Mutex
	loaded bool
	list   []syncproto.Item
}

// nodeLister is what loading the item set needs of a store (tiers and MemStore).
type nodeLister interface {
	ForEachNode(fn func(c cid.Cid, height uint64) error) error
}

// Space implements syncproto.Replica.
func (sp *space) Space() cid.Cid { return sp.id() }

// Heads implements syncproto.Replica.
func (sp *space) Heads() ([]cid.Cid, error) { return sp.store.Heads() }

// Has implements syncproto.Replica.
func (sp *space) Has(c cid.Cid) (bool, error) { return sp.store.Has(c) }

// Items implements syncproto.Replica: a copy of the node set.
func (sp *space) Items() ([]syncproto.Item, error) {
	sp.items.mu.Lock()
	defer sp.items.mu.Unlock()
	if err := sp.loadItems(); err != nil {
		return nil, err
	}
	return slices.Clone(sp.items.list), nil
}

// loadItems reads the node set from the store once. sp.items.mu is held.
func (sp *space) loadItems() error {
	if sp.items.loaded {
		return nil
	}
	l, ok := sp.store.(nodeLister)
	if !ok {
		return errors.New("the store cannot list its nodes")
	}
	var list []syncproto.Item
	err := l.ForEachNode(func(c cid.Cid, height uint64) error {
		list = append(list, syncproto.Item{Height: height, CID: c})
		return nil
	})
	if err != nil {
		return fmt.Errorf("list the nodes of space %s: %w", sp.name, err)
	}
	slices.SortFunc(list, syncproto.CompareItems)
	sp.items.list, sp.items.loaded = list, true
	return nil
}

// addItem adds a node just stored to the item set, if it is loaded.
func (sp *space) addItem(n *dag.Node) {
	sp.items.mu.Lock()
	defer sp.items.mu.Unlock()
	if !sp.items.loaded {
		return
	}
	it := syncproto.Item{Height: n.Height, CID: n.CID()}
	i, found := slices.BinarySearchFunc(sp.items.list, it, syncproto.CompareItems)
	if !found {
		sp.items.list = slices.Insert(sp.items.list, i, it)
	}
}

// resetItems drops the item set, to be reloaded (after a snapshot is installed).
func (sp *space) resetItems() {
	sp.items.mu.Lock()
	defer sp.items.mu.Unlock()
	sp.items.list, sp.items.loaded = nil, false
}

// Block implements syncproto.Replica.
func (sp *space) Block(c cid.Cid) ([]byte, error) {
	n, err := sp.store.Get(c)
	if err != nil {
		return nil, err
	}
	if n.IsDistilled() {
		return nil, fmt.Errorf("%s is distilled: %w", c, dag.ErrNotFound)
	}
	return n.Bytes(), nil
}

// TrustSnapshot implements syncproto.SnapshotTruster: a restricted space takes a
// snapshot only from its owner or a peer holding Admin over all of it (one of the
// user's devices, say), since the state folded into one cannot be checked against
// the capabilities of the writes it folds — and such a peer may write any state.
func (sp *space) TrustSnapshot(p peer.ID) bool {
	if sp.acc == nil || p == sp.info.Owner {
		return true
	}
	_, err := sp.acc.leafFor(p, caps.Admin, nil, []string{"*"}, sp.n.opts.Now())
	return err == nil
}

// Snapshot implements syncproto.Replica.
func (sp *space) Snapshot() (cid.Cid, []cid.Cid, error) {
	cut := sp.cut.Load()
	if cut == nil {
		return cid.Undef, nil, nil
	}
	return cut.Snapshot, slices.Clone(cut.Heads), nil
}

// SnapshotBlock implements syncproto.Replica.
func (sp *space) SnapshotBlock(c cid.Cid) ([]byte, error) { return sp.n.store.SnapshotBlock(c) }

// InstallSnapshot implements syncproto.Replica: the space starts from a peer's
// snapshot, and every cached value of it is dropped.
func (sp *space) InstallSnapshot(root cid.Cid, blocks map[cid.Cid][]byte) error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if err := sp.n.store.InstallSnapshot(sp.id(), root, blocks); err != nil {
		return err
	}
	sp.n.hot.Clear()
	sp.resetItems()
	if err := sp.loadCut(); err != nil {
		return err
	}
	if cut := sp.cut.Load(); cut != nil {
		sp.clock.Observe(cut.Clock)
	}
	sp.n.log.Info("space starts from a peer's snapshot", "space", sp.name, "snapshot", root)
	return nil
}

// Ingest implements syncproto.Replica: it decodes and checks blocks (signatures in
// parallel) and ingests them.
func (sp *space) Ingest(from peer.ID, blocks [][]byte) (syncproto.IngestResult, error) {
	return sp.IngestPrepared(from, sp.Prepare(from, blocks))
}

// prepared is a batch of blocks from a peer, decoded and checked on their own.
type prepared struct {
	nodes   []*dag.Node // the valid ones
	invalid int         // blocks that did not decode, or belong to another space
}

// Prepare implements syncproto.Preparer: it decodes blocks and checks each on its own
// (format, signature, space), on every core. A sync session calls it as a batch
// arrives, while the batch before it is ingested.
func (sp *space) Prepare(_ peer.ID, blocks [][]byte) any {
	nodes := make([]*dag.Node, len(blocks))
	var wg sync.WaitGroup
	next := make(chan int, len(blocks))
	for i := range blocks {
		next <- i
	}
	close(next)
	limits := distinctions.Limits{MaxBytes: sp.n.maxNodeBytes()}
	for range min(runtime.GOMAXPROCS(0), len(blocks)) {
		wg.Go(func() {
			for i := range next {
				n, err := dag.Decode(blocks[i], limits)
				if err == nil && n.SpaceID().Equals(sp.id()) {
					nodes[i] = n
				}
			}
		})
	}
	wg.Wait()
	valid := slices.DeleteFunc(nodes, func(n *dag.Node) bool { return n == nil })
	return &prepared{nodes: valid, invalid: len(blocks) - len(valid)}
}

// IngestPrepared implements syncproto.Preparer: it ingests what Prepare checked.
func (sp *space) IngestPrepared(from peer.ID, p any) (syncproto.IngestResult, error) {
	b, ok := p.(*prepared)
	if !ok {
		return syncproto.IngestResult{}, fmt.Errorf("ingest into %s: %T is not a prepared batch", sp.name, p)
	}
	res, err := sp.ingest(from, b.nodes)
	for range b.invalid {
		sp.n.denials.add("invalid", false)
	}
	res.Rejected += b.invalid
	return res, err
}

// ingest adds nodes from a peer (decoded and checked on their own) through the
// space's Ingester: what it applies is stored, reflected in the hot tier and the
// item set, and reported to subscribers.
func (sp *space) ingest(from peer.ID, nodes []*dag.Node) (syncproto.IngestResult, error) {
	var res syncproto.IngestResult
	var events []Event
	sp.mu.Lock()
	r, failed := sp.ingester.AddBatch(nodes) // one WAL append and index batch
	if sp.acc != nil {
		changed := false
		for _, a := range r.Applied {
			// authorize noted a revocation already, so note alone would not say.
			changed = sp.acc.note(a) || needNote(a) || changed
		}
		if changed {
			sp.n.hot.Clear() // what a revocation voids reads differently
			sp.n.net.revoked(sp)
		}
		for _, a := range r.Applied {
			if void, err := sp.acc.Void(a); err == nil && void {
				sp.n.denials.add(caps.ReasonRevoked, true)
				sp.n.log.Warn("a write concurrent with a revocation has no effect", "space", sp.name, "peer", from,
					"node", a.CID(), "author", a.Author)
			}
		}
	}
	for _, a := range r.Applied {
		sp.applied(a, &events)
	}
	res.Applied += len(r.Applied)
	res.Rejected += len(r.Rejected)
	for _, v := range r.Rejected {
		sp.n.denials.add(reasonOf(v), false)
		sp.n.log.Warn("rejected a node from a peer", "space", sp.name, "peer", from, "err", v)
	}
	res.Missing = sp.ingester.Missing()
	sp.mu.Unlock()
	// Nodes from peers are not fsynced here: nothing was acknowledged for them, the
	// next local write's sync covers them, and a crash before it loses only what the
	// next sync fetches again.
	sp.n.subs.publish(events)
	if failed != nil {
		return res, fmt.Errorf("ingest into %s: %w", sp.name, failed)
	}
	return res, nil
}

// applied updates the caches after a peer's node n was stored, and records the
// events it causes. sp.mu is held for writing.
func (sp *space) applied(n *dag.Node, events *[]Event) {
	sp.clock.Observe(n.Clock)
	sp.addItem(n)
	for _, op := range n.Ops {
		ck := cacheKey{sp.ord, op.Key}
		old, cached := sp.n.hot.Get(ck)
		sp.n.hot.Delete(ck)
		if dag.IsSysKey(op.Key) || !sp.n.subs.watching(sp.name, op.Key) {
			continue
		}
		cur, err := sp.state(op.Key)
		if err != nil {
			sp.n.log.Warn("read after a peer's write", "space", sp.name, "key", op.Key, "err", err)
			continue
		}
		ev := Event{Space: sp.name, Key: op.Key, Version: n.CID()}
		existed := cached && old.exists()
		if !cached && cur.exists() { // was it there before? its history tells
			hist, err := sp.store.KeyHistory(op.Key)
			existed = err == nil && len(hist) > 1
		}
		switch {
		case cur.exists() && existed:
			ev.Type = EventUpdate
		case cur.exists():
			ev.Type = EventInsert
		case existed:
			ev.Type = EventDelete
		default:
			continue
		}
		ev.Value = cur.entry.Value
		*events = append(*events, ev)
	}
}

// ValidateNode implements gossip.Handler: the node's format and signature, its
// space, and whether it is new.
func (g gossipHandler) ValidateNode(from peer.ID, block []byte) (gossip.Verdict, any) {
	sp := g.sp
	n, err := dag.Decode(block, distinctions.Limits{MaxBytes: sp.n.maxNodeBytes()})
	if err != nil || !n.SpaceID().Equals(sp.id()) {
		sp.n.denials.add("invalid", false)
		return gossip.Reject, nil
	}
	if ok, err := sp.store.Has(n.CID()); err != nil || ok {
		return gossip.Ignore, nil
	}
	if sp.acc != nil {
		if _, _, err := sp.acc.precheck(sp.store, n); err != nil {
			r := reasonOf(err)
			if r == caps.ReasonBrokenChain && n.Cap.Defined() {
				return gossip.Ignore, nil // its tokens may not have reached us yet: a sync brings both
			}
			sp.n.denials.add(r, false)
			sp.n.log.Warn("rejected a gossiped node", "space", sp.name, "peer", from, "node", n.CID(), "err", err)
			if nw := sp.n.net; nw != nil {
				nw.sync.Penalize(from, syncproto.PenaltyRejected, "gossiped a node access control refused")
			}
			return gossip.Reject, nil // not forwarded
		}
	}
	return gossip.Accept, n
}

// Node implements gossip.Handler: the node is ingested; if it waits for nodes we
// lack, the peer that forwarded it is asked for them.
func (g gossipHandler) Node(from, via peer.ID, _ []byte, decoded any) {
	sp := g.sp
	n, ok := decoded.(*dag.Node)
	if !ok {
		return
	}
	res, err := sp.ingest(from, []*dag.Node{n})
	if err != nil {
		sp.n.log.Warn("ingest a gossiped node", "space", sp.name, "peer", from, "err", err)
	}
	if len(res.Missing) > 0 {
		sp.n.net.kick(via, sp)
	}
}

// Heads implements gossip.Handler: heads we lack start a sync with the peer.
func (g gossipHandler) Heads(_, via peer.ID, heads []cid.Cid) { g.sp.lacking(via, heads) }

// CIDs implements gossip.Handler: nodes announced by CID are fetched by a sync.
func (g gossipHandler) CIDs(_, via peer.ID, cids []cid.Cid) { g.sp.lacking(via, cids) }

func (sp *space) lacking(p peer.ID, cids []cid.Cid) {
	for _, c := range cids {
		if ok, err := sp.store.Has(c); err != nil || !ok {
			sp.n.net.kick(p, sp)
			return
		}
	}
}
