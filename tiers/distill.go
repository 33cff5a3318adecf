package tiers

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/distinctions"
	"github.com/korup2p/korup2p/wal"
)

// Retention selects the history that distillation folds. The zero Retention keeps
// everything. With both limits set, history is folded only where both allow it.
type Retention struct {
	// Age folds the WAL segments all of whose nodes are older than Age, by their
	// clocks' wall time. Zero sets no age limit.
	Age time.Duration
	// Keep leaves at least the newest Keep nodes whole. Zero sets no count limit.
	Keep int64
}

// IsZero reports whether r keeps everything.
func (r Retention) IsZero() bool { return r.Age <= 0 && r.Keep <= 0 }

// maxPlanNodes bounds the nodes one distillation folds (the plan holds each one's
// header in memory); a larger backlog takes several rounds.
const maxPlanNodes = 1 << 18

// Plan is a distillation prepared by PlanDistill: the cut (every WAL segment up to
// Through) and, per space, what the caller must fold.
type Plan struct {
	Through uint64       // the last WAL segment the cut holds; all before it too
	Spaces  []*SpacePlan // sorted by space ID
}

// SpacePlan is the part of a cut in one space.
type SpacePlan struct {
	Space cid.Cid
	// Heads are the heads of the cut in the space (with what earlier distillations
	// folded): the cut's nodes that no other node of the cut names as a parent.
	Heads []cid.Cid
	Clock dag.Timestamp // the greatest clock in the cut
	Keys  []string      // the keys the cut's nodes write, sorted
	nodes map[cid.Cid]*planNode
}

// Len returns the number of the space's nodes the cut folds now.
func (s *SpacePlan) Len() int { return len(s.nodes) }

// Contains reports whether node c of the space is in the cut: folded now, or
// by an earlier distillation.
func (s *SpacePlan) Contains(n *dag.Node) bool {
	return s.nodes[n.CID()] != nil || n.IsDistilled()
}

// planNode is what folding a node needs of it once its record is gone: its header
// (as a stand-in without ops), its parents and the keys it writes. A genesis node
// keeps its bytes.
type planNode struct {
	n       *dag.Node
	parents []cid.Cid
	keys    []string
	genesis []byte
}

func newPlanNode(n *dag.Node) *planNode {
	pn := &planNode{n: dag.Distilled(n.CID(), n.SpaceID(), n.Height, n.Clock, n.Author, nil), parents: n.Parents}
	for _, op := range n.Ops {
		pn.keys = append(pn.keys, op.Key)
	}
	if n.IsGenesis() {
		pn.genesis = n.Bytes()
	}
	return pn
}

// Fold is the state of one key at a cut, which the caller computes (the tiers never
// merge): its key-heads there and its merged value.
type Fold struct {
	Key   string
	Heads []cid.Cid // the key-heads at the cut
	Value []byte    // canonical DAG-CBOR of the merged value; nil when deleted
}

// PlanDistill returns the distillation r allows now, or nil when it allows none:
// the longest run of the oldest sealed WAL segments that r lets go, read to learn
// their nodes. The caller computes a Fold for each key of each SpacePlan (the
// state over the versions the plan Contains) and passes them to Distill.
func (db *DB) PlanDistill(r Retention, now time.Time) (*Plan, error) {
	if r.IsZero() {
		return nil, nil
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return nil, ErrClosed
	}
	if err := db.removeDistilled(); err != nil {
		return nil, err
	}
	cutoff := now.Add(-r.Age).UnixNano()
	total := db.nodes.Load()
	p := &Plan{}
	spaces := map[cid.Cid]*SpacePlan{}
	folded := 0
	segs := db.log.Segments()
	for _, s := range segs[:len(segs)-1] {
		if !s.Sealed {
			break
		}
		recs, old, err := db.segmentNodes(s.Seq, r.Age > 0, cutoff)
		if err != nil {
			return nil, err
		}
		switch {
		case !old:
		case r.Keep > 0 && int64(folded+len(recs)) > total-r.Keep:
		case folded > 0 && folded+len(recs) > maxPlanNodes:
		default:
			for _, n := range recs {
				sp := spaces[n.SpaceID()]
				if sp == nil {
					sp = &SpacePlan{Space: n.SpaceID(), nodes: map[cid.Cid]*planNode{}}
					spaces[sp.Space] = sp
				}
				sp.nodes[n.CID()] = newPlanNode(n)
			}
			folded += len(recs)
			p.Through = s.Seq
			continue
		}
		break
	}
	if p.Through == 0 {
		return nil, nil
	}
	for _, sp := range spaces {
		if err := db.finishPlan(sp); err != nil {
			return nil, err
		}
		p.Spaces = append(p.Spaces, sp)
	}
	slices.SortFunc(p.Spaces, func(a, b *SpacePlan) int { return strings.Compare(a.Space.KeyString(), b.Space.KeyString()) })
	return p, nil
}

// segmentNodes returns the indexed nodes in segment seq, in log order. With
// byAge, it stops at the first node whose clock is not before cutoff and reports
// that the segment is not old.
func (db *DB) segmentNodes(seq uint64, byAge bool, cutoff int64) (nodes []*dag.Node, old bool, err error) {
	old = true
	err = db.log.Replay(wal.Pos{Segment: seq}, func(p wal.Pos, b []byte) error {
		if p.Segment != seq {
			return errStop
		}
		n, err := dag.DecodeTrusted(b, decodeLimits)
		if err != nil {
			return nil // not a node: reported by recovery, nothing to fold
		}
		if byAge && n.Clock.Wall >= cutoff {
			old = false
			return errStop
		}
		if ok, err := hasKey(db.index.DB, newSpaceKeys(n.SpaceID()).node(n.CID())); err != nil || !ok {
			return err // not indexed: folded already, or skipped by recovery
		}
		nodes = append(nodes, n)
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("plan distillation: segment %d: %w", seq, err)
	}
	return nodes, old, nil
}

// finishPlan sets the heads, clock and keys of sp from its nodes and the space's
// last snapshot.
func (db *DB) finishPlan(sp *SpacePlan) error {
	named := map[cid.Cid]bool{}
	keys := map[string]bool{}
	for _, pn := range sp.nodes {
		for _, p := range pn.parents {
			named[p] = true
		}
		for _, k := range pn.keys {
			keys[k] = true
		}
		if pn.n.Clock.Compare(sp.Clock) > 0 {
			sp.Clock = pn.n.Clock
		}
	}
	last, err := db.lastSnapshot(sp.Space)
	if err != nil {
		return err
	}
	if last != nil {
		for _, h := range last.Heads {
			if !named[h] {
				sp.Heads = append(sp.Heads, h)
			}
		}
		if last.Clock.Compare(sp.Clock) > 0 {
			sp.Clock = last.Clock
		}
	}
	for c := range sp.nodes {
		if !named[c] {
			sp.Heads = append(sp.Heads, c)
		}
	}
	dag.SortCIDs(sp.Heads)
	for k := range keys {
		sp.Keys = append(sp.Keys, k)
	}
	slices.Sort(sp.Keys)
	return nil
}

// Distill folds the cut of p: for each space it records the stand-in of every node
// in the cut (dag.Distilled: its header, and for each key it is a key-head of at
// the cut the key's folded state) and a content-addressed snapshot of the folds,
// then drops the nodes from the index and deletes the cut's WAL segments. folds
// holds, per space, a Fold for each key of the SpacePlan. Reads of the current
// state are unchanged; reads of history before the cut fail with dag.ErrDistilled.
// It returns the snapshot CID of each space.
//
// The metadata is written first (fsynced), then the index (fsynced), then the
// segments are deleted: a crash in between leaves both views readable, and the
// next PlanDistill finishes the deletion.
func (db *DB) Distill(p *Plan, folds map[cid.Cid][]Fold) (map[cid.Cid]cid.Cid, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return nil, ErrClosed
	}
	db.wmu.Lock()
	defer db.wmu.Unlock()
	if db.failed != nil {
		return nil, fmt.Errorf("distill: an earlier index write failed, reopen to recover: %w", db.failed)
	}
	through, err := db.distilledThrough()
	if err != nil {
		return nil, err
	}
	if p.Through <= through {
		return nil, fmt.Errorf("distill: segments up to %d are distilled already", through)
	}
	mb, err := db.meta.Batch(db.ctx)
	if err != nil {
		return nil, fmt.Errorf("distill: %w", err)
	}
	w, err := newBatch(db)
	if err != nil {
		return nil, err
	}
	snaps := map[cid.Cid]cid.Cid{}
	var dropped int64
	for _, sp := range p.Spaces {
		snap, err := db.distillSpace(mb, w, sp, folds[sp.Space])
		if err != nil {
			return nil, fmt.Errorf("distill space %s: %w", sp.Space, err)
		}
		snaps[sp.Space] = snap
		dropped += int64(len(sp.nodes))
	}
	if err := mb.Put(db.ctx, dsKey(metaKey(metaThrough)), strconv.AppendUint(nil, p.Through, 10)); err != nil {
		return nil, fmt.Errorf("distill: %w", err)
	}
	if err := mb.Commit(db.ctx); err != nil {
		return nil, fmt.Errorf("distill: metadata: %w", err)
	}
	db.hasDistilled.Store(true)
	w.put(keyCount, encodeCount(db.nodes.Load()-dropped))
	if err := w.commit(); err == nil {
		err = db.index.DB.LogData(nil, pebble.Sync) // fsync before the records go
	}
	if err != nil {
		db.failed = err
		return nil, fmt.Errorf("distill: index: %w", err)
	}
	db.nodes.Add(-dropped)
	db.resetCache() // it may hold whole nodes that are stand-ins now
	if err := db.removeDistilled(); err != nil {
		return snaps, err
	}
	// Reclaim the index's space now, not at Pebble's leisure: compact the spaces'
	// ranges, so that the dropped entries and their tombstones go.
	for _, sp := range p.Spaces {
		base := newSpaceKeys(sp.Space).base + "/"
		if err := db.index.DB.Compact(db.ctx, []byte(base), []byte(successor(base)), false); err != nil {
			return snaps, fmt.Errorf("distill: compact index: %w", err)
		}
	}
	db.indexBytes, db.sizedAt = db.measureIndex(), time.Now()
	return snaps, nil
}

// distillSpace adds to mb and w the folding of sp and returns its snapshot's CID.
func (db *DB) distillSpace(mb ds.Batch, w *batch, sp *SpacePlan, folds []Fold) (cid.Cid, error) {
	k := newSpaceKeys(sp.Space)
	records := make(map[cid.Cid]*distRecord, len(sp.nodes))
	for c, pn := range sp.nodes {
		n := pn.n
		records[c] = &distRecord{Height: n.Height, Clock: [2]int64{n.Clock.Wall, int64(n.Clock.Logical)},
			Author: []byte(n.Author), Node: pn.genesis} // a genesis, the space's description, stays whole
	}
	// Earlier stand-ins whose ops change: a key they folded was written again in
	// the cut, so they are no longer its key-heads at the cut.
	older := map[cid.Cid]*distRecord{}
	byKey := map[string]bool{}
	// boundary: the folded nodes that whole nodes name (parents, prevs), which a
	// peer starting from the snapshot needs the headers of.
	boundary := map[cid.Cid]bool{}
	for c := range sp.nodes {
		children, err := db.scanCIDs(k.childPrefix(c))
		if err != nil {
			return cid.Undef, err
		}
		for _, ch := range children {
			if sp.nodes[ch] == nil {
				boundary[c] = true
			}
		}
	}
	slices.SortFunc(folds, func(a, b Fold) int { return strings.Compare(a.Key, b.Key) })
	for _, f := range folds {
		byKey[f.Key] = true
		op := distOp{Key: f.Key, Value: f.Value, Del: f.Value == nil}
		heads := map[cid.Cid]bool{}
		for _, h := range f.Heads {
			heads[h] = true
			if r := records[h]; r != nil {
				r.Ops = append(r.Ops, op)
			}
		}
		hist, err := db.scanCIDs(k.histPrefix(f.Key))
		if err != nil {
			return cid.Undef, err
		}
		for _, c := range hist {
			if heads[c] || records[c] != nil {
				continue
			}
			if ok, err := hasKey(db.index.DB, k.node(c)); err != nil {
				return cid.Undef, err
			} else if ok { // a whole version after the cut: are its prevs folded?
				if err := db.noteBoundary(k, sp, f.Key, c, boundary); err != nil {
					return cid.Undef, err
				}
				continue
			}
			r := older[c]
			if r == nil {
				if r, err = db.distRecord(k, c); err != nil {
					return cid.Undef, err
				}
				older[c] = r
			}
			w.del(k.hist(f.Key, r.standIn(c, sp.Space)))
			r.Ops = slices.DeleteFunc(r.Ops, func(o distOp) bool { return o.Key == f.Key })
		}
	}
	for c, pn := range sp.nodes {
		n := pn.n
		r := records[c]
		w.del(k.node(c))
		for _, p := range pn.parents {
			w.del(k.child(p, c))
		}
		for _, key := range pn.keys {
			if !byKey[key] {
				return cid.Undef, fmt.Errorf("no fold for key %q", key)
			}
			if !slices.ContainsFunc(r.Ops, func(o distOp) bool { return o.Key == key }) {
				w.del(k.hist(key, n))
			}
		}
	}
	for c, r := range records {
		if err := putRecord(db, mb, k, c, r); err != nil {
			return cid.Undef, err
		}
	}
	for c, r := range older {
		if err := putRecord(db, mb, k, c, r); err != nil {
			return cid.Undef, err
		}
	}
	count, ok := db.counts[k.id]
	if !ok {
		var err error
		if count, err = db.count(k.count()); err != nil {
			return cid.Undef, err
		}
	}
	count -= int64(len(sp.nodes))
	w.put(k.count(), encodeCount(count))
	db.counts[k.id] = count
	return db.putSnapshot(mb, sp, folds, boundary, func(c cid.Cid) (SnapshotHead, error) {
		r := records[c]
		if r == nil {
			var err error
			if r = older[c]; r == nil {
				if r, err = db.distRecord(k, c); err != nil {
					return SnapshotHead{}, err
				}
			}
		}
		return SnapshotHead{C: distinctions.Link{Cid: c}, Height: r.Height, Clock: r.Clock, Author: r.Author}, nil
	})
}

func putRecord(db *DB, mb ds.Batch, k spaceKeys, c cid.Cid, r *distRecord) error {
	b, err := distinctions.Marshal(r)
	if err != nil {
		return err
	}
	return mb.Put(db.ctx, dsKey(metaKey(distKey(k.id, c))), b)
}

// noteBoundary adds to boundary the prevs of key's whole version c that are in the
// cut or were folded before.
func (db *DB) noteBoundary(k spaceKeys, sp *SpacePlan, key string, c cid.Cid, boundary map[cid.Cid]bool) error {
	n, err := db.get(&store{db: db, k: k}, c)
	if err != nil {
		return err
	}
	op, _ := n.Op(key)
	for _, p := range op.Prev {
		if sp.nodes[p] != nil {
			boundary[p] = true
		} else if ok, err := hasKey(db.index.DB, k.node(p)); err != nil {
			return err
		} else if !ok {
			boundary[p] = true
		}
	}
	return nil
}

// removeDistilled deletes the WAL segments a distillation folded, if a crash left
// them. db.mu is held.
func (db *DB) removeDistilled() error {
	through, err := db.distilledThrough()
	if err != nil || through == 0 {
		return err
	}
	if segs := db.log.Segments(); len(segs) > 1 && segs[0].Seq <= through {
		if err := db.log.Remove(through + 1); err != nil {
			return fmt.Errorf("distill: %w", err)
		}
	}
	return nil
}

// Metadata keys of distillation, apart from the root's (which never start "tiers/").
const (
	metaThrough   = "tiers/through"  // the last WAL segment distilled (decimal)
	metaDist      = "tiers/dist/"    // + space + "/" + CID bytes: a distRecord
	metaSnap      = "tiers/snap/"    // + space bytes: the CID of its last snapshot
	metaSnapBlock = "tiers/snapblk/" // + CID bytes: a snapshot block
)

func distKey(space, c cid.Cid) string {
	return metaDist + string(space.Bytes()) + "/" + string(c.Bytes())
}

func (db *DB) distilledThrough() (uint64, error) {
	b, err := db.meta.Get(db.ctx, dsKey(metaKey(metaThrough)))
	if errors.Is(err, ds.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read distillation state: %w", err)
	}
	n, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read distillation state: %w", err)
	}
	return n, nil
}

// distRecord is what stays of a distilled node (see dag.Distilled), in the metadata.
type distRecord struct {
	Height uint64   `cbor:"h"`
	Clock  [2]int64 `cbor:"c"` // wall, logical
	Author []byte   `cbor:"a,omitempty"`
	Ops    []distOp `cbor:"ops,omitempty"`
	Node   []byte   `cbor:"node,omitempty"` // a genesis node, kept whole
}

type distOp struct {
	Key   string `cbor:"k"`
	Del   bool   `cbor:"d,omitempty"`
	Value []byte `cbor:"v,omitempty"`
}

// standIn returns the stand-in of node c of space sp, or the node itself for a
// genesis kept whole.
func (r *distRecord) standIn(c, sp cid.Cid) *dag.Node {
	ops := make([]dag.Op, len(r.Ops))
	for i, o := range r.Ops {
		ops[i] = dag.Op{Key: o.Key, Kind: dag.KindSet, Value: o.Value}
		if o.Del {
			ops[i] = dag.Op{Key: o.Key, Kind: dag.KindDel}
		}
	}
	clock := dag.Timestamp{Wall: r.Clock[0], Logical: uint32(r.Clock[1])}
	return dag.Distilled(c, sp, r.Height, clock, peer.ID(r.Author), ops)
}

// distRecord reads the record of distilled node c; dag.ErrNotFound if there is none.
func (db *DB) distRecord(k spaceKeys, c cid.Cid) (*distRecord, error) {
	b, err := db.meta.Get(db.ctx, dsKey(metaKey(distKey(k.id, c))))
	if errors.Is(err, ds.ErrNotFound) {
		return nil, fmt.Errorf("get %s: %w", c, dag.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", c, err)
	}
	var r distRecord
	if err := distinctions.Decode(b, &r, decodeLimits); err != nil {
		return nil, fmt.Errorf("get %s: distilled record: %w", c, err)
	}
	return &r, nil
}

// distilled returns the stand-in of node c, if it was distilled. A genesis node
// comes back whole.
func (db *DB) distilled(k spaceKeys, c cid.Cid) (*dag.Node, error) {
	r, err := db.distRecord(k, c)
	if err != nil {
		return nil, err
	}
	if r.Node != nil {
		n, err := dag.DecodeTrusted(r.Node, decodeLimits)
		if err != nil {
			return nil, fmt.Errorf("get %s: distilled genesis: %w", c, err)
		}
		return n, nil
	}
	return r.standIn(c, k.id), nil
}

// hasDistilledNode reports whether node c of the space was distilled.
func (db *DB) hasDistilledNode(k spaceKeys, c cid.Cid) (bool, error) {
	if !db.hasDistilled.Load() {
		return false, nil
	}
	return hasKey(db.meta.DB, metaKey(distKey(k.id, c)))
}

// Snapshot is a space's state at a distillation's cut, as a content-addressed
// distinction: the cut's heads and clock, the folds of the keys written since the
// previous snapshot (Prev; the state at the cut is this snapshot's folds over its
// predecessors'), in chunks of at most snapshotChunk bytes.
//
// Every version it names comes with its header (SnapshotHead), so that a peer that
// starts from the snapshot can check and rank the nodes written after the cut.
type Snapshot struct {
	V      uint64              `cbor:"v"`
	Space  distinctions.Link   `cbor:"space"`
	Heads  []SnapshotHead      `cbor:"heads"`
	Clock  [2]int64            `cbor:"clock"`
	Prev   *distinctions.Link  `cbor:"prev,omitempty"`
	Chunks []distinctions.Link `cbor:"chunks"`
	// Boundary are the other folded nodes that whole nodes named (as parent or
	// prev) when the snapshot was made.
	Boundary []SnapshotHead `cbor:"boundary,omitempty"`
}

// SnapshotHead names a distilled node with its header: CID, height, clock (wall,
// logical) and author.
type SnapshotHead struct {
	_      struct{} `cbor:",toarray"`
	C      distinctions.Link
	Height uint64
	Clock  [2]int64
	Author []byte
}

// snapshotChunk is the largest chunk of a snapshot's folds, in encoded bytes.
const snapshotChunk = 256 << 10

// SnapshotEntry is one key's fold in a snapshot chunk.
type SnapshotEntry struct {
	Key   string         `cbor:"key"`
	Heads []SnapshotHead `cbor:"heads"`
	Value []byte         `cbor:"value,omitempty"` // canonical DAG-CBOR; absent when deleted
}

// SnapshotChunk is one chunk of a snapshot's folds, sorted by key.
type SnapshotChunk struct {
	Entries []SnapshotEntry `cbor:"entries"`
}

// putSnapshot adds to mb the snapshot of sp with folds (sorted by key) and returns
// its CID.
func (db *DB) putSnapshot(mb ds.Batch, sp *SpacePlan, folds []Fold, boundary map[cid.Cid]bool,
	header func(cid.Cid) (SnapshotHead, error)) (cid.Cid, error) {
	snap := Snapshot{V: 1, Space: distinctions.Link{Cid: sp.Space}, Clock: [2]int64{sp.Clock.Wall, int64(sp.Clock.Logical)}}
	heads := func(cs []cid.Cid) ([]SnapshotHead, error) {
		out := make([]SnapshotHead, len(cs))
		for i, c := range cs {
			var err error
			if out[i], err = header(c); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	var err error
	if snap.Heads, err = heads(sp.Heads); err != nil {
		return cid.Undef, err
	}
	var edge []cid.Cid
	for c := range boundary {
		if !slices.ContainsFunc(sp.Heads, c.Equals) {
			edge = append(edge, c)
		}
	}
	if snap.Boundary, err = heads(dag.SortCIDs(edge)); err != nil {
		return cid.Undef, err
	}
	if prev, err := db.lastSnapshotCID(sp.Space); err != nil {
		return cid.Undef, err
	} else if prev.Defined() {
		snap.Prev = &distinctions.Link{Cid: prev}
	}
	put := func(v any) (cid.Cid, error) {
		d, err := distinctions.Encode(v)
		if err != nil {
			return cid.Undef, err
		}
		return d.CID, mb.Put(db.ctx, dsKey(metaKey(metaSnapBlock+string(d.CID.Bytes()))), d.Bytes)
	}
	var chunk SnapshotChunk
	size := 0
	flush := func() error {
		if len(chunk.Entries) == 0 {
			return nil
		}
		c, err := put(chunk)
		snap.Chunks = append(snap.Chunks, distinctions.Link{Cid: c})
		chunk, size = SnapshotChunk{}, 0
		return err
	}
	for _, f := range folds {
		e := SnapshotEntry{Key: f.Key, Value: f.Value}
		if e.Heads, err = heads(f.Heads); err != nil {
			return cid.Undef, err
		}
		n := len(f.Key) + len(f.Value) + 100*len(f.Heads) + 16
		if size+n > snapshotChunk {
			if err := flush(); err != nil {
				return cid.Undef, err
			}
		}
		chunk.Entries = append(chunk.Entries, e)
		size += n
	}
	if err := flush(); err != nil {
		return cid.Undef, err
	}
	c, err := put(snap)
	if err != nil {
		return cid.Undef, err
	}
	return c, mb.Put(db.ctx, dsKey(metaKey(metaSnap+string(sp.Space.Bytes()))), c.Bytes())
}

// lastSnapshotCID returns the CID of the space's last snapshot, or cid.Undef.
func (db *DB) lastSnapshotCID(space cid.Cid) (cid.Cid, error) {
	b, err := db.meta.Get(db.ctx, dsKey(metaKey(metaSnap+string(space.Bytes()))))
	if errors.Is(err, ds.ErrNotFound) {
		return cid.Undef, nil
	}
	if err != nil {
		return cid.Undef, fmt.Errorf("read snapshot of %s: %w", space, err)
	}
	c, err := cid.Cast(b)
	if err != nil {
		return cid.Undef, fmt.Errorf("read snapshot of %s: %w", space, err)
	}
	return c, nil
}

// SnapshotInfo describes a space's last snapshot, in domain types.
type SnapshotInfo struct {
	CID   cid.Cid
	Heads []cid.Cid
	Clock dag.Timestamp // the cut: history at or before it is distilled
}

// lastSnapshot returns the space's last snapshot, or nil.
func (db *DB) lastSnapshot(space cid.Cid) (*SnapshotInfo, error) {
	c, err := db.lastSnapshotCID(space)
	if err != nil || !c.Defined() {
		return nil, err
	}
	b, err := db.meta.Get(db.ctx, dsKey(metaKey(metaSnapBlock+string(c.Bytes()))))
	if err != nil {
		return nil, fmt.Errorf("read snapshot %s: %w", c, err)
	}
	var s Snapshot
	if err := distinctions.Decode(b, &s, decodeLimits); err != nil {
		return nil, fmt.Errorf("read snapshot %s: %w", c, err)
	}
	info := &SnapshotInfo{CID: c, Clock: dag.Timestamp{Wall: s.Clock[0], Logical: uint32(s.Clock[1])}}
	for _, h := range s.Heads {
		info.Heads = append(info.Heads, h.C.Cid)
	}
	return info, nil
}

// LastSnapshot returns the last snapshot of the space, or nil if it was never
// distilled.
func (db *DB) LastSnapshot(space cid.Cid) (*SnapshotInfo, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return nil, ErrClosed
	}
	return db.lastSnapshot(space)
}

// SnapshotBlock returns the bytes of a snapshot block (a Snapshot or one of its
// chunks) by CID, for a peer that bootstraps from it; dag.ErrNotFound if unknown.
func (db *DB) SnapshotBlock(c cid.Cid) ([]byte, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return nil, ErrClosed
	}
	b, err := db.meta.Get(db.ctx, dsKey(metaKey(metaSnapBlock+string(c.Bytes()))))
	if errors.Is(err, ds.ErrNotFound) {
		return nil, fmt.Errorf("snapshot block %s: %w", c, dag.ErrNotFound)
	}
	return b, err
}

// seedDistilled writes into an index just reset what distillation keeps in the
// metadata: for each snapshotted space its entry, the heads of its last cut and,
// for each stand-in op, the key-head, history and key entries. Re-indexing the WAL
// then removes those that later nodes supersede. db.wmu is held.
func (db *DB) seedDistilled() error {
	lower := metaKey(metaSnap)
	var spaces []cid.Cid
	err := scan(db.meta.DB, lower, successor(lower), func(key []byte) error {
		k, err := hexString(key, "/")
		if err != nil {
			return err
		}
		sp, err := cid.Cast([]byte(k[len(metaSnap):]))
		spaces = append(spaces, sp)
		return err
	})
	if err != nil {
		return fmt.Errorf("seed distilled: %w", err)
	}
	db.hasDistilled.Store(len(spaces) > 0)
	for _, sp := range spaces {
		if err := db.seedSpace(sp); err != nil {
			return fmt.Errorf("seed distilled space %s: %w", sp, err)
		}
	}
	return nil
}

func (db *DB) seedSpace(sp cid.Cid) error {
	k := newSpaceKeys(sp)
	last, err := db.lastSnapshot(sp)
	if err != nil {
		return err
	}
	w, err := newBatch(db)
	if err != nil {
		return err
	}
	w.put(keySpaces+hexs(sp.Bytes()), nil)
	for _, h := range last.Heads {
		w.put(k.head(h), nil)
	}
	prefix := metaKey(metaDist + string(sp.Bytes()) + "/")
	err = db.scanMeta(prefix, func(key, value []byte) error {
		n, err := decodeDistEntry(k, key, value)
		if err != nil {
			return err
		}
		for _, op := range n.Ops {
			c := n.CID()
			w.put(k.khead(op.Key, c), nil)
			w.put(k.hist(op.Key, n), nil)
			w.put(k.key(op.Key), nil)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return w.commit()
}

// scanMeta calls fn with each metadata key under prefix (an encoded metaKey) and
// its value, in order.
func (db *DB) scanMeta(prefix string, fn func(key, value []byte) error) error {
	it, err := db.meta.DB.NewIter(&pebble.IterOptions{LowerBound: []byte(prefix), UpperBound: []byte(successor(prefix))})
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err == nil {
			err = fn(it.Key(), v)
		}
		if err != nil {
			it.Close()
			return err
		}
	}
	return it.Close()
}

// hasAny reports whether the Pebble database holds a key with the prefix.
func hasAny(db *pebble.DB, prefix string) (bool, error) {
	found := false
	err := scan(db, prefix, successor(prefix), func([]byte) error {
		found = true
		return errStop
	})
	return found, err
}

// decodeDistEntry decodes a distRecord of space k listed by scanMeta into its
// stand-in (with ops; a genesis too).
func decodeDistEntry(k spaceKeys, key, value []byte) (*dag.Node, error) {
	raw, err := hexString(key, "/")
	if err != nil {
		return nil, err
	}
	c, err := cid.Cast([]byte(raw[len(metaDist)+len(k.id.Bytes())+1:]))
	if err != nil {
		return nil, fmt.Errorf("%w: distilled record key: %v", ErrCorruptIndex, err)
	}
	var r distRecord
	if err := distinctions.Decode(value, &r, decodeLimits); err != nil {
		return nil, fmt.Errorf("%w: distilled record %s: %v", ErrCorruptIndex, c, err)
	}
	return r.standIn(c, k.id), nil
}

// InstallSnapshot makes the store of space start from a peer's snapshot: blocks
// holds the root (root) and every chunk it links, by CID. Each block must hash to
// its CID and the root must be a snapshot of space. It records a stand-in for every
// version the snapshot names (the cut's heads, and each key's fold heads with its
// folded state) and indexes them as a distillation would have, so that the nodes
// after the cut can be ingested on top. The store must not hold the cut yet: a
// snapshot whose heads are all held is a no-op.
func (db *DB) InstallSnapshot(space, root cid.Cid, blocks map[cid.Cid][]byte) error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return ErrClosed
	}
	snap, chunks, err := decodeSnapshot(space, root, blocks)
	if err != nil {
		return fmt.Errorf("install snapshot %s: %w", root, err)
	}
	db.wmu.Lock()
	defer db.wmu.Unlock()
	k := newSpaceKeys(space)
	held := true
	for _, h := range snap.Heads {
		ok, err := db.has(k, h.C.Cid)
		if err != nil {
			return err
		}
		held = held && ok
	}
	if held {
		return nil
	}
	records := map[cid.Cid]*distRecord{}
	record := func(h SnapshotHead) *distRecord {
		r := records[h.C.Cid]
		if r == nil {
			r = &distRecord{Height: h.Height, Clock: h.Clock, Author: h.Author}
			records[h.C.Cid] = r
		}
		return r
	}
	for _, h := range snap.Heads {
		record(h)
	}
	for _, h := range snap.Boundary {
		record(h)
	}
	for _, ch := range chunks {
		for _, e := range ch.Entries {
			for _, h := range e.Heads {
				r := record(h)
				r.Ops = append(r.Ops, distOp{Key: e.Key, Value: e.Value, Del: e.Value == nil})
			}
		}
	}
	// The store may hold the genesis whole (and nothing else): it is the cut's past,
	// and is folded as a distillation folds it, kept whole in its record.
	w, err := newBatch(db)
	if err != nil {
		return err
	}
	var whole int64
	err = (&store{db: db, k: k}).ForEachNode(func(c cid.Cid, _ uint64) error {
		n, err := db.get(&store{db: db, k: k}, c)
		if err != nil {
			return err
		}
		if !n.IsGenesis() {
			return fmt.Errorf("install snapshot %s: the store already holds node %s after its genesis", root, c)
		}
		r := records[c]
		if r == nil {
			r = &distRecord{}
			records[c] = r
		}
		r.Node = n.Bytes()
		w.del(k.node(c))
		whole++
		return nil
	})
	if err != nil {
		return err
	}
	mb, err := db.meta.Batch(db.ctx)
	if err != nil {
		return err
	}
	for c, r := range records {
		if err := putRecord(db, mb, k, c, r); err != nil {
			return err
		}
	}
	for c, b := range blocks {
		if err := mb.Put(db.ctx, dsKey(metaKey(metaSnapBlock+string(c.Bytes()))), b); err != nil {
			return err
		}
	}
	if err := mb.Put(db.ctx, dsKey(metaKey(metaSnap+string(space.Bytes()))), root.Bytes()); err != nil {
		return err
	}
	if err := mb.Commit(db.ctx); err != nil {
		return fmt.Errorf("install snapshot %s: metadata: %w", root, err)
	}
	db.hasDistilled.Store(true)
	if whole > 0 {
		count, err := db.count(k.count())
		if err != nil {
			return err
		}
		w.put(k.count(), encodeCount(count-whole))
		w.put(keyCount, encodeCount(db.nodes.Load()-whole))
		db.counts[k.id] = count - whole
		db.nodes.Add(-whole)
	}
	heads, err := db.scanCIDs(k.headPrefix())
	if err != nil {
		return err
	}
	for _, h := range heads { // what the store held is the cut's past (its genesis)
		if !slices.ContainsFunc(snap.Heads, func(sh SnapshotHead) bool { return sh.C.Cid.Equals(h) }) {
			w.del(k.head(h))
		}
	}
	if err := w.commit(); err != nil {
		return err
	}
	db.dropHeads()
	db.resetCache()
	return db.seedSpace(space)
}

// decodeSnapshot checks and decodes a snapshot's blocks: the root, its chunks and
// its predecessors (Prev) with theirs. It returns the root and one chunk holding
// each key's newest entry along the chain.
func decodeSnapshot(space, root cid.Cid, blocks map[cid.Cid][]byte) (*Snapshot, []SnapshotChunk, error) {
	for c, b := range blocks {
		if got := distinctions.Sum(b); !got.Equals(c) {
			return nil, nil, fmt.Errorf("block %s hashes to %s", c, got)
		}
	}
	var first *Snapshot
	seen := map[string]bool{}
	var merged SnapshotChunk
	var boundary []SnapshotHead
	for c, depth := root, 0; c.Defined(); depth++ {
		b, ok := blocks[c]
		if !ok {
			return nil, nil, fmt.Errorf("snapshot block %s missing", c)
		}
		var snap Snapshot
		if err := distinctions.Decode(b, &snap, decodeLimits); err != nil {
			return nil, nil, fmt.Errorf("snapshot %s: %w", c, err)
		}
		if snap.V != 1 || !snap.Space.Cid.Equals(space) {
			return nil, nil, fmt.Errorf("%s is not a version-1 snapshot of space %s", c, space)
		}
		if depth > len(blocks) {
			return nil, nil, errors.New("snapshot chain loops")
		}
		if first == nil {
			first = &snap
		}
		boundary = append(boundary, snap.Boundary...)
		for _, l := range snap.Chunks {
			b, ok := blocks[l.Cid]
			if !ok {
				return nil, nil, fmt.Errorf("chunk %s missing", l.Cid)
			}
			var ch SnapshotChunk
			if err := distinctions.Decode(b, &ch, decodeLimits); err != nil {
				return nil, nil, fmt.Errorf("chunk %s: %w", l.Cid, err)
			}
			for _, e := range ch.Entries {
				if !seen[e.Key] {
					seen[e.Key] = true
					merged.Entries = append(merged.Entries, e)
				}
			}
		}
		c = cid.Undef
		if snap.Prev != nil {
			c = snap.Prev.Cid
		}
	}
	first.Boundary = boundary
	return first, []SnapshotChunk{merged}, nil
}

// SnapshotBlocks returns every block of the space's last snapshot — the root, its
// chunks and its predecessors' — by CID: what InstallSnapshot takes.
func (db *DB) SnapshotBlocks(space cid.Cid) (root cid.Cid, blocks map[cid.Cid][]byte, err error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return cid.Undef, nil, ErrClosed
	}
	if root, err = db.lastSnapshotCID(space); err != nil || !root.Defined() {
		return cid.Undef, nil, err
	}
	blocks = map[cid.Cid][]byte{}
	get := func(c cid.Cid) ([]byte, error) {
		b, err := db.meta.Get(db.ctx, dsKey(metaKey(metaSnapBlock+string(c.Bytes()))))
		if err != nil {
			return nil, fmt.Errorf("snapshot block %s: %w", c, err)
		}
		blocks[c] = b
		return b, nil
	}
	for c := root; c.Defined(); {
		b, err := get(c)
		if err != nil {
			return cid.Undef, nil, err
		}
		var snap Snapshot
		if err := distinctions.Decode(b, &snap, decodeLimits); err != nil {
			return cid.Undef, nil, fmt.Errorf("snapshot %s: %w", c, err)
		}
		for _, l := range snap.Chunks {
			if _, err := get(l.Cid); err != nil {
				return cid.Undef, nil, err
			}
		}
		c = cid.Undef
		if snap.Prev != nil {
			c = snap.Prev.Cid
		}
	}
	return root, blocks, nil
}
