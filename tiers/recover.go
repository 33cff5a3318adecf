package tiers

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/wal"
)

// progressEvery is how many replayed records pass between progress reports.
const progressEvery = 1024

// openIndex opens the index, rebuilding it if it is unreadable, and re-indexes the
// WAL after its checkpoint.
func (db *DB) openIndex() error {
	path := filepath.Join(db.dir, indexDir)
	idx, err := openPebble(path, db.opts.Warn, db.opts.IndexCacheBytes, db.opts.indexMemTable(), false)
	if err != nil {
		db.opts.Warn("index unreadable; rebuilding it from the wal", "dir", path, "err", err)
		if err := os.RemoveAll(path); err != nil {
			return fmt.Errorf("remove index: %w", err)
		}
		if idx, err = openPebble(path, db.opts.Warn, db.opts.IndexCacheBytes, db.opts.indexMemTable(), false); err != nil {
			return fmt.Errorf("open index: %w", err)
		}
	}
	db.index = idx
	db.counts = map[cid.Cid]int64{}
	lower := metaKey(metaSnap)
	distilled, err := hasAny(db.meta.DB, lower)
	if err != nil {
		return fmt.Errorf("open metadata: %w", err)
	}
	db.hasDistilled.Store(distilled)
	lost, err := hasAny(db.index.DB, keyLost)
	if err != nil {
		return fmt.Errorf("open index: %w", err)
	}
	db.hasLost.Store(lost)
	db.wmu.Lock()
	defer db.wmu.Unlock()
	from, err := db.checkpoint()
	if err != nil {
		return err
	}
	n, err := db.replay(from, nil)
	db.replayed.Store(n)
	if err != nil {
		return fmt.Errorf("replay wal from %v: %w", from, err)
	}
	db.indexBytes, db.sizedAt = db.measureIndex(), time.Now()
	return nil
}

// checkpoint returns the position to replay the WAL from, after resetting an index
// that cannot be trusted. db.wmu is held.
func (db *DB) checkpoint() (wal.Pos, error) {
	last := db.log.LastPos()
	rebuild := func(why string, kv ...any) (wal.Pos, error) {
		db.opts.Warn(why+"; rebuilding it from the wal", append(kv, "dir", filepath.Join(db.dir, indexDir))...)
		return wal.Pos{}, db.reset()
	}
	v, err := db.index.Get(db.ctx, dsKey(keyVersion))
	switch {
	case errors.Is(err, ds.ErrNotFound) && last.IsZero():
		return wal.Pos{}, db.reset() // a new DB
	case errors.Is(err, ds.ErrNotFound):
		return rebuild("index missing")
	case err != nil:
		return rebuild("index unreadable", "err", err)
	case string(v) != indexVersion:
		return rebuild("index of another version", "version", string(v))
	}
	b, err := db.index.Get(db.ctx, dsKey(keyCkpt))
	var ckpt wal.Pos
	if err == nil {
		ckpt, err = decodePos(b)
	} else if errors.Is(err, ds.ErrNotFound) {
		err = nil
	}
	if err != nil {
		return rebuild("index checkpoint unreadable", "err", err)
	}
	if ckpt.Compare(last) > 0 {
		// The index outlived WAL records that a crash took before they were fsynced:
		// its entries for them would point at whatever is appended there next.
		return rebuild("index is ahead of the wal (records lost in a crash)", "checkpoint", ckpt, "wal_end", last)
	}
	b, err = db.index.Get(db.ctx, dsKey(keyCount))
	var nodes int64
	if err == nil {
		nodes, err = decodeCount(b)
	} else if errors.Is(err, ds.ErrNotFound) {
		err = nil
	}
	if err != nil {
		return rebuild("index count unreadable", "err", err)
	}
	db.nodes.Store(nodes)
	return ckpt, nil
}

// reset empties the index (not the metadata, which lives apart) and the cache.
// db.wmu is held.
func (db *DB) reset() error {
	if err := db.index.DB.DeleteRange([]byte("/"), []byte(successor("/")), pebble.NoSync); err != nil {
		return fmt.Errorf("reset index: %w", err)
	}
	if err := db.index.Put(db.ctx, dsKey(keyVersion), []byte(indexVersion)); err != nil {
		return fmt.Errorf("reset index: %w", err)
	}
	db.nodes.Store(0)
	db.hasLost.Store(false)
	db.counts = map[cid.Cid]int64{}
	db.failed = nil
	db.resetCache()
	return db.seedDistilled()
}

// replay re-indexes the WAL's records after from (all of them for the zero Pos),
// idempotently, and returns how many it read. progress, if not nil, is called with
// the bytes of WAL read and the total. db.wmu is held.
func (db *DB) replay(from wal.Pos, progress func(done, total int64)) (int64, error) {
	segs := db.log.Segments()
	before := make(map[uint64]int64, len(segs)) // bytes in the segments before each
	var total int64
	for _, s := range segs {
		before[s.Seq] = total
		total += s.Size
	}
	r := &replayer{db: db, last: from, indexed: from}
	err := db.log.Replay(from, func(p wal.Pos, block []byte) error {
		if p == from && !from.IsZero() {
			return nil // the checkpoint's own record is indexed
		}
		r.read++
		if err := r.add(p, block); err != nil {
			return err
		}
		if progress != nil && r.read%progressEvery == 0 {
			progress(before[p.Segment]+p.Offset, total)
		}
		return nil
	})
	if err == nil {
		err = r.flush()
	}
	if err != nil {
		return r.read, err
	}
	if progress != nil {
		progress(total, total)
	}
	return r.read, nil
}

// replayBatch is how many replayed nodes share one index batch.
const replayBatch = 256

// replayer re-indexes WAL records in batches. Nodes staged in the batch count as
// held for the records after them.
type replayer struct {
	db      *DB
	w       *batch
	staged  map[cid.Cid]bool
	last    wal.Pos // the last record read
	indexed wal.Pos // the checkpoint committed
	read    int64
}

// add indexes the block at p unless it is indexed already. A block that is not a
// node, or whose dependencies are not indexed, is reported and skipped.
func (r *replayer) add(p wal.Pos, block []byte) error {
	db := r.db
	r.last = p
	n, err := dag.DecodeTrusted(block, decodeLimits)
	if err != nil {
		db.opts.Warn("wal record is not a node; skipped", "pos", p, "err", err)
		return nil
	}
	k := newSpaceKeys(n.SpaceID())
	if held, err := r.has(k, n.CID()); held || err != nil {
		return err
	}
	if r.w == nil {
		if r.w, err = newBatch(db); err != nil {
			return err
		}
		r.staged = map[cid.Cid]bool{}
	}
	for _, d := range dag.Deps(n) {
		if ok, err := r.has(k, d); err != nil {
			return err
		} else if !ok {
			// Its record was lost (a damaged WAL record the reader skipped): index the
			// node anyway, so that one lost record does not strand everything after
			// it, and remember the hole for Check and for the peer that refills it.
			db.opts.Warn("wal record's dependency was lost; indexed without it (a peer can restore it)",
				"pos", p, "node", n.CID(), "missing", d)
			r.w.put(k.lost(d), nil)
			db.hasLost.Store(true)
		}
	}
	db.dropHeads()
	if err := db.indexNode(r.w, k, n, p); err != nil {
		return err
	}
	r.staged[n.CID()] = true
	if len(r.staged) >= replayBatch {
		return r.flush()
	}
	return nil
}

func (r *replayer) has(k spaceKeys, c cid.Cid) (bool, error) {
	if r.staged[c] {
		return true, nil
	}
	return r.db.has(k, c)
}

// flush commits the staged nodes and the checkpoint of the last record read, which
// may be past them if the last records were skipped.
func (r *replayer) flush() error {
	if r.last == r.indexed {
		return nil
	}
	if r.w == nil {
		var err error
		if r.w, err = newBatch(r.db); err != nil {
			return err
		}
	}
	r.w.put(keyCkpt, encodePos(r.last))
	if err := r.w.commit(); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	r.w, r.staged, r.indexed = nil, nil, r.last
	return nil
}

// Repair rebuilds the whole index from the WAL; the metadata is kept. progress, if
// not nil, is called now and then with the bytes of WAL read and the total, and
// once at the end with done == total. Reads and writes wait until it is done.
func (db *DB) Repair(progress func(done, total int64)) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return ErrClosed
	}
	db.wmu.Lock()
	defer db.wmu.Unlock()
	if err := db.reset(); err != nil {
		return fmt.Errorf("repair: %w", err)
	}
	if _, err := db.replay(wal.Pos{}, progress); err != nil {
		db.failed = err // the counts in memory are off: writes wait for a reopen
		return fmt.Errorf("repair: %w", err)
	}
	db.indexBytes, db.sizedAt = db.measureIndex(), time.Now()
	return nil
}
