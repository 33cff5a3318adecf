package korup2p

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/tiers"
)

// storage is what a Node needs of its disk. The disk tiers implement it; memStorage
// is the in-memory one (Options.InMemory, tests).
//
// Stores never fsync on their own: a Node stores a group of nodes, then calls Sync
// once before acknowledging them (group commit).
type storage interface {
	// Space returns the store of the space whose genesis is g, creating it if new.
	Space(g *dag.Node) (dag.Store, error)
	// Sync makes every node stored so far durable.
	Sync() error
	// Meta returns the metadata value under key, or nil if there is none.
	Meta(key string) ([]byte, error)
	// SetMeta stores a metadata value durably.
	SetMeta(key string, value []byte) error
	// MetaKeys returns the metadata keys with the prefix, sorted.
	MetaKeys(prefix string) ([]string, error)
	// Usage reports the storage's size and state.
	Usage() StorageStats
	// Check verifies the stores' consistency (every indexed node readable, heads and
	// key-heads as the nodes say).
	Check() error
	// Repair rebuilds the indexes from the log, reporting progress.
	Repair(progress func(done, total int64)) error
	// PlanDistill, Distill and LastSnapshot are the deep tier (see tiers.DB).
	PlanDistill(r Retention, now time.Time) (*tiers.Plan, error)
	Distill(p *tiers.Plan, folds map[cid.Cid][]tiers.Fold) (map[cid.Cid]cid.Cid, error)
	LastSnapshot(space cid.Cid) (*tiers.SnapshotInfo, error)
	SnapshotBlock(c cid.Cid) ([]byte, error)
	SnapshotBlocks(space cid.Cid) (cid.Cid, map[cid.Cid][]byte, error)
	InstallSnapshot(space, root cid.Cid, blocks map[cid.Cid][]byte) error
	Close() error
}

type memStorage struct {
	mu     sync.Mutex
	spaces map[cid.Cid]*dag.MemStore
	meta   map[string][]byte
}

func newMemStorage() *memStorage {
	return &memStorage{spaces: map[cid.Cid]*dag.MemStore{}, meta: map[string][]byte{}}
}

func (m *memStorage) Space(g *dag.Node) (dag.Store, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.spaces[g.CID()]
	if !ok {
		s = dag.NewMemStore()
		m.spaces[g.CID()] = s
	}
	return s, nil
}

func (m *memStorage) Sync() error { return nil }

func (m *memStorage) Meta(key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.meta[key], nil
}

func (m *memStorage) SetMeta(key string, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.meta[key] = value
	return nil
}

func (m *memStorage) MetaKeys(prefix string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.meta {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (m *memStorage) Usage() StorageStats { return StorageStats{} }

func (m *memStorage) Check() error { return nil }

func (m *memStorage) Repair(func(done, total int64)) error { return nil }

// An in-memory Node keeps all history: it has no segments to fold.

func (m *memStorage) PlanDistill(Retention, time.Time) (*tiers.Plan, error) { return nil, nil }

func (m *memStorage) Distill(*tiers.Plan, map[cid.Cid][]tiers.Fold) (map[cid.Cid]cid.Cid, error) {
	return nil, errors.New("an in-memory node has no history to distill")
}

func (m *memStorage) LastSnapshot(cid.Cid) (*tiers.SnapshotInfo, error) { return nil, nil }

func (m *memStorage) SnapshotBlock(c cid.Cid) ([]byte, error) {
	return nil, fmt.Errorf("snapshot block %s: %w", c, dag.ErrNotFound)
}

func (m *memStorage) SnapshotBlocks(cid.Cid) (cid.Cid, map[cid.Cid][]byte, error) {
	return cid.Undef, nil, nil
}

func (m *memStorage) InstallSnapshot(cid.Cid, cid.Cid, map[cid.Cid][]byte) error {
	return errors.New("an in-memory node cannot start from a snapshot: it keeps all history")
}

func (m *memStorage) Close() error { return nil }
