package dag

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/google/btree"
	"github.com/ipfs/go-cid"
)

// MemStore is a Store in memory. The zero value is not usable; call NewMemStore.
type MemStore struct {
	mu       sync.RWMutex
	nodes    map[cid.Cid]*Node
	children map[cid.Cid][]cid.Cid
	heads    map[cid.Cid]struct{}
	keyHeads map[string][]cid.Cid
	history  map[string][]*Node // sorted by HistoryOrder
	keys     *btree.BTreeG[string]
}

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{
		nodes:    map[cid.Cid]*Node{},
		children: map[cid.Cid][]cid.Cid{},
		heads:    map[cid.Cid]struct{}{},
		keyHeads: map[string][]cid.Cid{},
		history:  map[string][]*Node{},
		keys:     btree.NewOrderedG[string](32),
	}
}

// Get implements Store.
func (s *MemStore) Get(c cid.Cid) (*Node, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, ok := s.nodes[c]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, c)
	}
	return n, nil
}

// Has implements Store.
func (s *MemStore) Has(c cid.Cid) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.nodes[c]
	return ok, nil
}

// PutVerified implements Store.
func (s *MemStore) PutVerified(n *Node) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := n.CID()
	if _, ok := s.nodes[c]; ok {
		return nil
	}
	for _, d := range Deps(n) {
		if _, ok := s.nodes[d]; !ok {
			return fmt.Errorf("put %s: %w: %s", c, ErrMissingDeps, d)
		}
	}
	s.nodes[c] = n
	s.heads[c] = struct{}{}
	for _, p := range n.Parents {
		delete(s.heads, p)
		s.children[p] = insertSorted(s.children[p], c)
	}
	for _, op := range n.Ops {
		s.keyHeads[op.Key] = insertSorted(slices.DeleteFunc(s.keyHeads[op.Key], func(h cid.Cid) bool {
			return slices.ContainsFunc(op.Prev, h.Equals)
		}), c)
		h := s.history[op.Key]
		if h == nil {
			s.keys.ReplaceOrInsert(op.Key)
		}
		i, _ := slices.BinarySearchFunc(h, n, HistoryOrder)
		s.history[op.Key] = slices.Insert(h, i, n)
	}
	return nil
}

func insertSorted(cs []cid.Cid, c cid.Cid) []cid.Cid {
	i, found := slices.BinarySearchFunc(cs, c, cmpCID)
	if found {
		return cs
	}
	return slices.Insert(cs, i, c)
}

// Heads implements Store.
func (s *MemStore) Heads() ([]cid.Cid, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]cid.Cid, 0, len(s.heads))
	for c := range s.heads {
		out = append(out, c)
	}
	slices.SortFunc(out, cmpCID)
	return out, nil
}

// Children implements Store.
func (s *MemStore) Children(c cid.Cid) ([]cid.Cid, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, ok := s.nodes[c]; !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, c)
	}
	return slices.Clone(s.children[c]), nil
}

// KeyHeads implements Store.
func (s *MemStore) KeyHeads(key string) ([]cid.Cid, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.keyHeads[key]), nil
}

// KeyHistory implements Store.
func (s *MemStore) KeyHistory(key string) ([]cid.Cid, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	h := s.history[key]
	out := make([]cid.Cid, len(h))
	for i, n := range h {
		out[i] = n.CID()
	}
	return out, nil
}

// Keys implements Store.
func (s *MemStore) Keys(prefix, after string, limit int) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	s.keys.AscendGreaterOrEqual(max(prefix, after), func(k string) bool {
		if !strings.HasPrefix(k, prefix) || (limit > 0 && len(out) == limit) {
			return false
		}
		if k != after {
			out = append(out, k)
		}
		return true
	})
	return out, nil
}

// Len implements Store.
func (s *MemStore) Len() (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.nodes), nil
}

// HistoryOrder orders versions of a key oldest first: by clock, then author, then CID.
// Since a node's clock is after its parents' and its prevs', it is a topological order.
func HistoryOrder(a, b *Node) int {
	if c := a.Clock.Compare(b.Clock); c != 0 {
		return c
	}
	if c := strings.Compare(string(a.Author), string(b.Author)); c != 0 {
		return c
	}
	return cmpCID(a.CID(), b.CID())
}

// Deps returns what must be stored before n: its parents and the prevs of its ops,
// sorted and unique.
func Deps(n *Node) []cid.Cid {
	deps := slices.Clone(n.Parents)
	for _, op := range n.Ops {
		deps = append(deps, op.Prev...)
	}
	return SortCIDs(deps)
}

// ForEachNode calls fn with the CID and height of every node held, in no order,
// until fn returns an error, which it returns. fn must not call s.
func (s *MemStore) ForEachNode(fn func(c cid.Cid, height uint64) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for c, n := range s.nodes {
		if err := fn(c, n.Height); err != nil {
			return err
		}
	}
	return nil
}
