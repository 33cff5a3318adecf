package tiers

import (
	"fmt"
	"slices"

	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/wal"
)

// PutVerified implements dag.Store: it appends n to the WAL (durable at the next
// Sync) and then indexes it with one atomic batch. It fails with an error wrapping
// dag.ErrMissingDeps if a parent or prev is not in this space, with a *BudgetError
// at the disk budget unless n only deletes, and with an error for a node of another
// space; in each case nothing is written. If the index write fails after the append,
// the DB refuses further writes until it is reopened, which re-indexes the record.
func (s *store) PutVerified(n *dag.Node) error {
	db := s.db
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return ErrClosed
	}
	c := n.CID()
	if !n.SpaceID().Equals(s.k.id) {
		return fmt.Errorf("put %s: node of space %s in the store of space %s", c, n.SpaceID(), s.k.id)
	}
	db.wmu.Lock()
	defer db.wmu.Unlock()
	if db.failed != nil {
		return fmt.Errorf("put %s: an earlier index write failed, reopen to recover: %w", c, db.failed)
	}
	if held, err := db.has(s.k, c); held || err != nil {
		return err
	}
	if missing, err := db.missingDep(s.k, n); err != nil {
		return fmt.Errorf("put %s: %w", c, err)
	} else if missing.Defined() {
		return fmt.Errorf("put %s: %w: %s", c, dag.ErrMissingDeps, missing)
	}
	if used := db.diskUsed(); used >= db.opts.DiskBudget && !deletesOnly(n) {
		return fmt.Errorf("put %s: %w", c, &BudgetError{Budget: db.opts.DiskBudget, Used: used})
	}
	pos, err := db.log.Append(n.Bytes())
	if err != nil {
		return fmt.Errorf("put %s: %w", c, err)
	}
	db.appended(pos[0].Segment)
	w, err := newBatch(db)
	if err == nil {
		err = db.indexNode(w, s.k, n, pos[0])
	}
	if err == nil {
		err = w.commit()
	}
	if err != nil {
		db.failed = err
		return fmt.Errorf("put %s: index: %w", c, err)
	}
	db.noteHeads(s.k, n)
	// A node just stored is the next write's parent: cache it, unless it is a bulk
	// batch that would fill the cache with bytes nobody reads again (Get caches those
	// when they are read).
	if len(n.Bytes()) <= maxPutCached {
		db.cache.Load().Put(c, n, nodeCost(n))
	}
	return nil
}

// PutVerifiedBatch implements dag.BatchStore: PutVerified for each node, with one
// WAL append and one index batch for all of them. Nodes come dependencies first;
// held ones are skipped. A node of another space, a missing dependency (neither
// held nor earlier in the batch) or the disk budget (unless every node only
// deletes) fails the whole batch, and nothing is written.
func (s *store) PutVerifiedBatch(nodes []*dag.Node) error {
	db := s.db
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return ErrClosed
	}
	db.wmu.Lock()
	defer db.wmu.Unlock()
	if db.failed != nil {
		return fmt.Errorf("put batch: an earlier index write failed, reopen to recover: %w", db.failed)
	}
	inBatch := make(map[cid.Cid]bool, len(nodes))
	var todo []*dag.Node
	var blocks [][]byte
	deletes := true
	for _, n := range nodes {
		c := n.CID()
		if !n.SpaceID().Equals(s.k.id) {
			return fmt.Errorf("put %s: node of space %s in the store of space %s", c, n.SpaceID(), s.k.id)
		}
		if inBatch[c] {
			continue
		}
		if held, err := db.has(s.k, c); err != nil {
			return err
		} else if held {
			continue
		}
		for _, d := range dag.Deps(n) {
			if inBatch[d] {
				continue
			}
			if ok, err := db.has(s.k, d); err != nil {
				return fmt.Errorf("put %s: %w", c, err)
			} else if !ok {
				return fmt.Errorf("put %s: %w: %s", c, dag.ErrMissingDeps, d)
			}
		}
		inBatch[c] = true
		todo = append(todo, n)
		blocks = append(blocks, n.Bytes())
		deletes = deletes && deletesOnly(n)
	}
	if len(todo) == 0 {
		return nil
	}
	if used := db.diskUsed(); used >= db.opts.DiskBudget && !deletes {
		return fmt.Errorf("put batch of %d nodes: %w", len(todo), &BudgetError{Budget: db.opts.DiskBudget, Used: used})
	}
	pos, err := db.log.Append(blocks...)
	if err != nil {
		return fmt.Errorf("put batch: %w", err)
	}
	db.appended(pos[len(pos)-1].Segment)
	w, err := newBatch(db)
	for i, n := range todo {
		if err == nil {
			err = db.indexNode(w, s.k, n, pos[i])
		}
	}
	if err == nil {
		err = w.commit()
	}
	if err != nil {
		db.failed = err
		return fmt.Errorf("put batch: index: %w", err)
	}
	cache := db.cache.Load()
	for _, n := range todo {
		db.noteHeads(s.k, n)
		if len(n.Bytes()) <= maxPutCached {
			cache.Put(n.CID(), n, nodeCost(n))
		}
	}
	return nil
}

// maxPutCached is the largest node PutVerified caches.
const maxPutCached = 64 << 10

// missingDep returns the first of n's dependencies that the space lacks, or
// cid.Undef.
func (db *DB) missingDep(k spaceKeys, n *dag.Node) (cid.Cid, error) {
	for _, d := range dag.Deps(n) {
		ok, err := db.has(k, d)
		if err != nil {
			return cid.Undef, err
		}
		if !ok {
			return d, nil
		}
	}
	return cid.Undef, nil
}

func deletesOnly(n *dag.Node) bool {
	for _, op := range n.Ops {
		if op.Kind != dag.KindDel {
			return false
		}
	}
	return true
}

// indexNode adds to w what indexing n, whose record is at pos, writes: its entry,
// the heads, the children of its parents, for each op the key-heads, the history
// and the key list, the counts and the checkpoint. Its dependencies are indexed (or
// earlier in w) and it is not. The counts in memory move at once: if w fails to
// commit, the DB must be reopened. db.wmu is held.
func (db *DB) indexNode(w *batch, k spaceKeys, n *dag.Node, pos wal.Pos) error {
	c := n.CID()
	spaceCount, ok := db.counts[k.id]
	if !ok {
		var err error
		if spaceCount, err = db.count(k.count()); err != nil {
			return err
		}
	}
	w.put(k.node(c), encodeEntry(entry{pos: pos, height: n.Height}))
	refill := false
	if db.hasLost.Load() {
		var err error
		if refill, err = hasKey(db.index.DB, k.lost(c)); err != nil {
			return err
		}
	}
	if refill {
		w.del(k.lost(c)) // a lost record restored: its children are indexed already
	} else {
		w.put(k.head(c), nil)
	}
	for _, p := range n.Parents {
		w.del(k.head(p))
		w.put(k.child(p, c), nil)
	}
	for _, op := range n.Ops {
		for _, p := range op.Prev {
			w.del(k.khead(op.Key, p))
		}
		if superseded, err := db.namedAsPrev(k, op.Key, c, refill); err != nil {
			return err
		} else if !superseded {
			w.put(k.khead(op.Key, c), nil)
		}
		w.put(k.hist(op.Key, n), nil)
		w.put(k.key(op.Key), nil)
	}
	if spaceCount == 0 {
		w.put(keySpaces+hexs(k.id.Bytes()), nil)
	}
	w.put(k.count(), encodeCount(spaceCount+1))
	w.put(keyCount, encodeCount(db.nodes.Load()+1))
	w.put(keyCkpt, encodePos(pos))
	db.counts[k.id] = spaceCount + 1
	db.nodes.Add(1)
	return nil
}

// namedAsPrev reports whether a version of key in the index names c as a prev. Only
// a lost node restored (refill) can have later versions: for others it is false.
func (db *DB) namedAsPrev(k spaceKeys, key string, c cid.Cid, refill bool) (bool, error) {
	if !refill {
		return false, nil
	}
	hist, err := db.scanCIDs(k.histPrefix(key))
	if err != nil {
		return false, err
	}
	s := &store{db: db, k: k}
	for _, v := range hist {
		vn, err := db.get(s, v)
		if err != nil {
			return false, err
		}
		if op, ok := vn.Op(key); ok && slices.ContainsFunc(op.Prev, c.Equals) {
			return true, nil
		}
	}
	return false, nil
}

// batch is one atomic write to the index through go-datastore; the first error
// sticks and fails the commit.
type batch struct {
	db  *DB
	b   ds.Batch
	err error
}

func newBatch(db *DB) (*batch, error) {
	b, err := db.index.Batch(db.ctx)
	if err != nil {
		return nil, fmt.Errorf("index batch: %w", err)
	}
	return &batch{db: db, b: b}, nil
}

func (w *batch) put(key string, value []byte) {
	if w.err == nil {
		w.err = w.b.Put(w.db.ctx, dsKey(key), value)
	}
}

func (w *batch) del(key string) {
	if w.err == nil {
		w.err = w.b.Delete(w.db.ctx, dsKey(key))
	}
}

func (w *batch) commit() error {
	if w.err != nil {
		return w.err
	}
	if err := w.b.Commit(w.db.ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
