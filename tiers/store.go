package tiers

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/distinctions"
	"github.com/korup2p/korup2p/wal"
)

// decodeLimits decode the WAL's blocks: anything the WAL took (up to its largest
// block) passed Decode or NewNode before, under the caller's limits.
var decodeLimits = distinctions.Limits{MaxBytes: wal.DefaultMaxBlock}

// store is the dag.Store of one space: a view of the DB under the space's prefix.
type store struct {
	db *DB
	k  spaceKeys
}

var _ dag.Store = (*store)(nil)

// read runs fn with the DB open for reading.
func (s *store) read(fn func() error) error {
	s.db.mu.RLock()
	defer s.db.mu.RUnlock()
	if s.db.closed {
		return ErrClosed
	}
	return fn()
}

// Get implements dag.Store: from the cache, or from the WAL at the position the
// index holds.
func (s *store) Get(c cid.Cid) (*dag.Node, error) {
	var n *dag.Node
	err := s.read(func() (err error) {
		n, err = s.db.get(s, c)
		return err
	})
	return n, err
}

func (db *DB) get(s *store, c cid.Cid) (*dag.Node, error) {
	cache := db.cache.Load()
	if n, ok := cache.Get(c); ok && n.SpaceID().Equals(s.k.id) {
		return n, nil
	}
	b, err := db.index.Get(db.ctx, dsKey(s.k.node(c)))
	if errors.Is(err, ds.ErrNotFound) && db.hasDistilled.Load() {
		n, err := db.distilled(s.k, c)
		if err == nil {
			cache.Put(c, n, nodeCost(n))
		}
		return n, err
	}
	if errors.Is(err, ds.ErrNotFound) {
		return nil, fmt.Errorf("get %s: %w", c, dag.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", c, err)
	}
	e, err := decodeEntry(b)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", c, err)
	}
	n, err := db.readNode(e.pos, c)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", c, err)
	}
	cache.Put(c, n, nodeCost(n))
	return n, nil
}

// readNode reads and decodes the node at pos, which the index says is c.
func (db *DB) readNode(pos wal.Pos, c cid.Cid) (*dag.Node, error) {
	b, err := db.log.ReadAt(pos)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorruptIndex, err)
	}
	n, err := dag.DecodeTrusted(b, decodeLimits)
	if err != nil {
		return nil, fmt.Errorf("%w: record at %v: %w", ErrCorruptIndex, pos, err)
	}
	if !n.CID().Equals(c) {
		return nil, fmt.Errorf("%w: record at %v is %s", ErrCorruptIndex, pos, n.CID())
	}
	return n, nil
}

// Has implements dag.Store.
func (s *store) Has(c cid.Cid) (bool, error) {
	var ok bool
	err := s.read(func() (err error) {
		ok, err = s.db.has(s.k, c)
		return err
	})
	return ok, err
}

// has reports whether the space k holds c, whole or distilled. A node in the cache
// is held: nodes enter it once indexed and leave the index only when Repair or
// Distill empties both.
func (db *DB) has(k spaceKeys, c cid.Cid) (bool, error) {
	if n, ok := db.cache.Load().Get(c); ok && n.SpaceID().Equals(k.id) {
		return true, nil
	}
	ok, err := hasKey(db.index.DB, k.node(c))
	if err == nil && !ok {
		ok, err = db.hasDistilledNode(k, c)
	}
	if err != nil {
		return false, fmt.Errorf("has %s: %w", c, err)
	}
	return ok, nil
}

// hasKey reports whether the Pebble database holds key. Most of its calls ask
// about a node not stored yet, which a Bloom filter answers without reading a data
// block; but Pebble consults no filter in its last level (L6, where most of the
// index lives) unless an iterator opts in with UseL6Filters, which DB.Get — and so
// go-datastore's Has — cannot.
func hasKey(db *pebble.DB, key string) (bool, error) {
	it, err := db.NewIter(&pebble.IterOptions{UseL6Filters: true})
	if err != nil {
		return false, err
	}
	ok := it.SeekPrefixGE([]byte(key)) && string(it.Key()) == key
	return ok, it.Close()
}

// Heads implements dag.Store, from the DB's heads cache.
func (s *store) Heads() ([]cid.Cid, error) {
	var out []cid.Cid
	err := s.read(func() (err error) {
		out, err = s.heads()
		return err
	})
	return out, err
}

// heads is Heads with the DB open for reading.
func (s *store) heads() ([]cid.Cid, error) {
	db := s.db
	db.headsMu.Lock()
	set, ok := db.heads[s.k.id]
	db.headsMu.Unlock()
	if !ok {
		scanned, err := db.scanCIDs(s.k.headPrefix())
		if err != nil {
			return nil, err
		}
		// Install the scan only if no write happened meanwhile: take wmu, rescan
		// under it, so the set and the index agree.
		db.wmu.Lock()
		if scanned, err = db.scanCIDs(s.k.headPrefix()); err == nil {
			set = make(map[cid.Cid]struct{}, len(scanned))
			for _, c := range scanned {
				set[c] = struct{}{}
			}
			db.headsMu.Lock()
			if db.heads == nil {
				db.heads = map[cid.Cid]map[cid.Cid]struct{}{}
			}
			db.heads[s.k.id] = set
			db.headsMu.Unlock()
		}
		db.wmu.Unlock()
		if err != nil {
			return nil, err
		}
		return scanned, nil
	}
	db.headsMu.Lock()
	out := make([]cid.Cid, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	db.headsMu.Unlock()
	return dag.SortCIDs(out), nil
}

// noteHeads updates the heads cache after n was indexed. db.wmu is held.
func (db *DB) noteHeads(k spaceKeys, n *dag.Node) {
	db.headsMu.Lock()
	defer db.headsMu.Unlock()
	set, ok := db.heads[k.id]
	if !ok {
		return // not loaded: the next Heads scans
	}
	for _, p := range n.Parents {
		delete(set, p)
	}
	set[n.CID()] = struct{}{}
}

// dropHeads forgets every cached heads set (recovery re-indexed behind it).
func (db *DB) dropHeads() {
	db.headsMu.Lock()
	db.heads = nil
	db.headsMu.Unlock()
}

// Children implements dag.Store.
func (s *store) Children(c cid.Cid) ([]cid.Cid, error) {
	var out []cid.Cid
	err := s.read(func() error {
		ok, err := s.db.has(s.k, c)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("children of %s: %w", c, dag.ErrNotFound)
		}
		out, err = s.db.scanCIDs(s.k.childPrefix(c))
		return err
	})
	return out, err
}

// KeyHeads implements dag.Store.
func (s *store) KeyHeads(key string) ([]cid.Cid, error) {
	return s.scanCIDs(s.k.kheadPrefix(key))
}

// KeyHistory implements dag.Store: the history keys sort in history order.
func (s *store) KeyHistory(key string) ([]cid.Cid, error) {
	return s.scanCIDs(s.k.histPrefix(key))
}

// Keys implements dag.Store with one range scan that starts at the first key after
// `after` (a seek, not a scan from the start of the prefix).
func (s *store) Keys(prefix, after string, limit int) ([]string, error) {
	base := s.k.keyPrefix()
	lower := base + hexs([]byte(prefix))
	upper := successor(lower)
	if after >= prefix {
		lower = s.k.key(after) + "\x00" // the least index key after after's
	}
	var out []string
	err := s.read(func() error {
		if lower >= upper {
			return nil
		}
		return scan(s.db.index.DB, lower, upper, func(key []byte) error {
			k, err := hexString(key, base)
			if err != nil {
				return err
			}
			out = append(out, k)
			if limit > 0 && len(out) == limit {
				return errStop
			}
			return nil
		})
	})
	return out, err
}

// Len implements dag.Store.
func (s *store) Len() (int, error) {
	var n int64
	err := s.read(func() (err error) {
		n, err = s.db.count(s.k.count())
		return err
	})
	return int(n), err
}

// count reads a counter of the index; an absent one is zero.
func (db *DB) count(key string) (int64, error) {
	b, err := db.index.Get(db.ctx, dsKey(key))
	switch {
	case errors.Is(err, ds.ErrNotFound):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("read %s: %w", key, err)
	}
	return decodeCount(b)
}

func (s *store) scanCIDs(prefix string) ([]cid.Cid, error) {
	var out []cid.Cid
	err := s.read(func() (err error) {
		out, err = s.db.scanCIDs(prefix)
		return err
	})
	return out, err
}

// scanCIDs returns the CIDs that end the index keys under prefix, in key order.
func (db *DB) scanCIDs(prefix string) ([]cid.Cid, error) {
	var out []cid.Cid
	err := scan(db.index.DB, prefix, successor(prefix), func(key []byte) error {
		c, err := lastCID(key)
		out = append(out, c)
		return err
	})
	return out, err
}

// errStop ends a scan early without an error.
var errStop = errors.New("stop scan")

// scan calls fn with each key in [lower, upper) of a Pebble database, in order,
// until fn returns an error (errStop stops without one). The key is valid only
// during the call.
//
// Range scans go to Pebble directly: go-ds-pebble's Query can only start at the
// first key of a whole-segment prefix (it skips an offset by stepping) and runs
// each query in a goroutine, so a seek to `after` cannot be expressed through
// go-datastore. Every write goes through go-datastore.
func scan(db *pebble.DB, lower, upper string, fn func(key []byte) error) error {
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte(lower), UpperBound: []byte(upper)})
	if err != nil {
		return fmt.Errorf("scan index: %w", err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		if err = fn(it.Key()); err != nil {
			break
		}
	}
	if errors.Is(err, errStop) {
		err = nil
	}
	if cerr := it.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("scan index: %w", cerr)
	}
	return err
}

// ForEachNode calls fn with the CID and height of every node the space holds whole
// (not the distilled ones), in CID order, until fn returns an error, which it
// returns. It reads the index only.
func (s *store) ForEachNode(fn func(c cid.Cid, height uint64) error) error {
	prefix := s.k.base + "/node/"
	return s.read(func() error {
		it, err := s.db.index.DB.NewIter(&pebble.IterOptions{LowerBound: []byte(prefix), UpperBound: []byte(successor(prefix))})
		if err != nil {
			return err
		}
		for ok := it.First(); ok; ok = it.Next() {
			c, err := lastCID(it.Key())
			if err == nil {
				var v []byte
				if v, err = it.ValueAndErr(); err == nil {
					var e entry
					if e, err = decodeEntry(v); err == nil {
						err = fn(c, e.height)
					}
				}
			}
			if err != nil {
				it.Close()
				return err
			}
		}
		return it.Close()
	})
}
