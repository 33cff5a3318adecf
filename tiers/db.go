package tiers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/ipfs/go-cid"
	pebbleds "github.com/ipfs/go-ds-pebble"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/internal/lru"
	"github.com/korup2p/korup2p/wal"
)

// Directories inside the DB's directory.
const (
	walDir   = "wal"
	indexDir = "index"
	metaDir  = "meta"
)

// metaCacheBytes is the block cache of the metadata store: a few small values.
const metaCacheBytes = 1 << 20

// Memtable sizes. Pebble preallocates each WAL file to its memtable's size and
// keeps a few for reuse, all counted against the disk budget: the metadata is
// small, and the index's memtable is at most 1/64 of the budget.
const (
	metaMemTable     = 256 << 10
	maxIndexMemTable = 4 << 20 // Pebble's default
	minIndexMemTable = 256 << 10
)

// indexMemTable returns the index's memtable size for the options.
func (o Options) indexMemTable() int64 {
	return min(maxIndexMemTable, max(minIndexMemTable, o.DiskBudget/64))
}

// sizeTTL is how long the measured size of the index stays current for the disk
// budget: Pebble's metrics are too costly to take on every put.
const sizeTTL = time.Second

// DB is the warm tier: one WAL and one index holding the nodes of many spaces. Its
// methods, and those of the stores Space returns, are safe for concurrent use.
type DB struct {
	dir   string
	opts  Options
	ctx   context.Context // for go-datastore calls; nothing here is cancelable
	log   *wal.Log
	index *pebbleds.Datastore // the index; rebuilt from the WAL at will
	meta  *pebbleds.Datastore // the root's metadata; never rebuilt

	// mu is read-locked by every operation and write-locked by Close and Repair.
	mu     sync.RWMutex
	closed bool

	// wmu serialises writes to the index, so that the checkpoint only moves forward
	// over records that are indexed, and heads and counts are read-modify-written
	// by one writer.
	wmu        sync.Mutex
	failed     error             // a failed index write: later writes fail until reopened
	counts     map[cid.Cid]int64 // nodes per space, as read or written by this DB
	indexBytes int64             // index and meta size on disk when last measured
	sizedAt    time.Time         // when indexBytes was measured

	// heads caches each space's heads: a scan of the head entries wades through the
	// tombstone of every head ever replaced, so it grows with the writes. Loaded by
	// one scan on first use, updated by PutVerified after each commit, dropped when
	// recovery re-indexes. Guarded by headsMu (readers) and wmu (writers).
	headsMu sync.Mutex
	heads   map[cid.Cid]map[cid.Cid]struct{}

	cold *cold // the compactor of sealed segments; nil with Options.NoCold

	// hasDistilled is set once some space was distilled: reads that miss the index
	// then look for a stand-in in the metadata.
	hasDistilled atomic.Bool
	// hasLost is set while the index records a lost dependency (keyLost): a node
	// stored then may already have children.
	hasLost atomic.Bool

	cache    atomic.Pointer[lru.Cache[cid.Cid, *dag.Node]]
	nodes    atomic.Int64 // mirrors keyCount
	replayed atomic.Int64 // WAL records re-indexed by Open
}

// Open opens the DB in dir, creating it if needed: the WAL in dir/wal, the index in
// dir/index and the metadata in dir/meta. It re-indexes the WAL records after the
// index's checkpoint — only those — and rebuilds an index that is missing,
// unreadable, of another version or ahead of the WAL, with a warning rather than a
// refusal. The caller ensures that no one else has dir open (internal/dirlock).
func Open(dir string, opts *Options) (*DB, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	db := &DB{dir: dir, opts: o, ctx: context.Background()}
	db.resetCache()
	if db.meta, err = openPebble(filepath.Join(dir, metaDir), o.Warn, metaCacheBytes, metaMemTable, true); err != nil {
		return nil, fmt.Errorf("open %s: meta: %w", dir, err)
	}
	if db.log, err = wal.Open(filepath.Join(dir, walDir), o.walOptions()); err != nil {
		db.meta.Close()
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	if err := db.openIndex(); err != nil {
		db.closeAll()
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	if !o.NoCold {
		db.startCold()
	}
	return db, nil
}

// openPebble opens a go-datastore on Pebble in path with a block cache of
// cacheBytes. Writes are fsynced if sync; otherwise Pebble's own WAL takes them
// without fsync.
func openPebble(path string, warn func(string, ...any), cacheBytes, memTable int64, sync bool) (*pebbleds.Datastore, error) {
	po := &pebble.Options{Logger: pebbleLogger{warn}, CacheSize: cacheBytes, MemTableSize: uint64(memTable)}
	// Puts look up keys that are mostly absent (is this node held yet?): a Bloom
	// filter answers those without reading data blocks.
	po.Levels[0].FilterPolicy = bloom.FilterPolicy(10)
	opts := []pebbleds.Option{pebbleds.WithPebbleOpts(po)}
	if sync {
		opts = append(opts, pebbleds.WithPebbleWriteOptions(pebble.Sync))
	}
	return pebbleds.NewDatastore(path, opts...)
}

// pebbleLogger sends Pebble's errors to Options.Warn and drops its chatter.
type pebbleLogger struct{ warn func(string, ...any) }

func (l pebbleLogger) Infof(string, ...any) {}
func (l pebbleLogger) Errorf(format string, args ...any) {
	l.warn("pebble: "+fmt.Sprintf(format, args...), "component", "index")
}
func (l pebbleLogger) Fatalf(format string, args ...any) {
	panic("pebble: " + fmt.Sprintf(format, args...))
}

// Space returns the store of the space whose genesis is g. It stores nothing: the
// caller stores g with PutVerified like any node.
func (db *DB) Space(g *dag.Node) (dag.Store, error) {
	if !g.IsGenesis() {
		return nil, fmt.Errorf("space of %s: not a genesis node", g.CID())
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return nil, ErrClosed
	}
	k := newSpaceKeys(g.CID())
	if other, err := db.spaceWithPrefix(k); err != nil {
		return nil, fmt.Errorf("space of %s: %w", g.CID(), err)
	} else if other.Defined() {
		return nil, fmt.Errorf("space of %s: its index prefix %s is taken by space %s", g.CID(), k.base, other)
	}
	return &store{db: db, k: k}, nil
}

// spaceWithPrefix returns a space of the index, other than k's, whose keys have k's
// prefix, or cid.Undef. It reads the list of spaces (one entry each).
func (db *DB) spaceWithPrefix(k spaceKeys) (cid.Cid, error) {
	other := cid.Undef
	err := scan(db.index.DB, keySpaces, successor(keySpaces), func(key []byte) error {
		sp, err := lastCID(key)
		if err != nil {
			return err
		}
		if !sp.Equals(k.id) && newSpaceKeys(sp).base == k.base {
			other = sp
			return errStop
		}
		return nil
	})
	return other, err
}

// Sync is the durability barrier: with DurabilityAlways, every node stored before
// the call is on stable storage when it returns, and concurrent calls share one
// fsync. With the other modes it returns at once.
func (db *DB) Sync() error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return ErrClosed
	}
	if db.opts.Durability != DurabilityAlways {
		return nil
	}
	return db.log.Sync()
}

// Close fsyncs the WAL, flushes the index and closes everything. Later calls fail
// with ErrClosed.
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return ErrClosed
	}
	db.closed = true
	db.stopCold()
	return db.closeAll()
}

func (db *DB) closeAll() error {
	var errs []error
	if db.log != nil {
		errs = append(errs, db.log.Close())
	}
	if db.index != nil {
		errs = append(errs, db.index.Close())
	}
	return errors.Join(append(errs, db.meta.Close())...)
}

// Stats describes a DB.
type Stats struct {
	WALBytes     int64 // bytes of the WAL's segment files (cold ones compressed)
	WALSegments  int
	ColdSegments int   // of those, compressed
	IndexBytes   int64 // bytes of the index and the metadata on disk
	Nodes        int64 // nodes indexed, all spaces
	CacheEntries int   // decoded nodes in the cache
	CacheBytes   int64 // their estimated size
	Replayed     int64 // WAL records that Open re-indexed: the tail after the checkpoint
}

// Stats returns a snapshot of the DB's sizes; the zero Stats after Close.
func (db *DB) Stats() Stats {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return Stats{}
	}
	st := Stats{Nodes: db.nodes.Load(), Replayed: db.replayed.Load(), IndexBytes: db.measureIndex()}
	segs := db.log.Segments()
	st.WALSegments = len(segs)
	for _, s := range segs {
		st.WALBytes += s.DiskSize
		if s.Cold {
			st.ColdSegments++
		}
	}
	st.CacheEntries, st.CacheBytes, _ = db.cache.Load().Stats()
	return st
}

// measureIndex returns the bytes on disk of the index and the metadata, as Pebble
// accounts them.
func (db *DB) measureIndex() int64 {
	return int64(db.index.DB.Metrics().DiskSpaceUsage() + db.meta.DB.Metrics().DiskSpaceUsage())
}

// diskUsed returns the bytes of the WAL, exact, and of the index, measured at most
// sizeTTL ago. db.wmu is held.
func (db *DB) diskUsed() int64 {
	if now := time.Now(); now.Sub(db.sizedAt) >= sizeTTL {
		db.indexBytes, db.sizedAt = db.measureIndex(), now
	}
	used := db.indexBytes
	for _, s := range db.log.Segments() {
		used += s.DiskSize
	}
	return used
}

func (db *DB) resetCache() {
	db.cache.Store(lru.New[cid.Cid, *dag.Node](db.opts.CacheBytes))
}

// nodeCost estimates the memory of a decoded node: its bytes, kept once in the node
// and aliased by its values, plus its structure.
func nodeCost(n *dag.Node) int64 { return int64(2*len(n.Bytes()) + 256) }

// Usage is Stats, under the name the root package's storage interface uses.
func (db *DB) Usage() Stats { return db.Stats() }
