package korup2p

import (
	"context"
	"fmt"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p/tiers"
)

// Stats describes a Node: its spaces and its hot tier.
type Stats struct {
	PeerID  string
	Spaces  []SpaceStats
	Hot     CacheStats
	Storage StorageStats // zeros in memory
}

// StorageStats describes the disk tiers.
type StorageStats = tiers.Stats

// SpaceStats describes one space.
type SpaceStats struct {
	SpaceInfo
	Nodes int       // nodes held, genesis included
	Heads []cid.Cid // the space heads, sorted
	// Distilled is the space's last distillation cut: history before it is folded
	// into its snapshot. Nil while the space keeps all its history.
	Distilled *SpaceCut `json:",omitempty"`
}

// CacheStats describes the hot tier: materialised values in memory.
type CacheStats struct {
	Entries   int
	Bytes     int64 // estimated
	Budget    int64
	Evictions uint64
}

// Stats returns a snapshot of the node's state.
func (n *Node) Stats() (Stats, error) {
	st := Stats{PeerID: n.id.String()}
	for _, info := range n.Spaces() {
		sp, err := n.space(info.Name)
		if err != nil {
			return Stats{}, err
		}
		count, err := sp.store.Len()
		if err != nil {
			return Stats{}, err
		}
		heads, err := sp.store.Heads()
		if err != nil {
			return Stats{}, err
		}
		st.Spaces = append(st.Spaces, SpaceStats{SpaceInfo: info, Nodes: count, Heads: heads, Distilled: sp.cut.Load()})
	}
	st.Hot.Entries, st.Hot.Bytes, st.Hot.Evictions = n.hot.Stats()
	st.Hot.Budget = n.opts.hotBudget()
	st.Storage = n.store.Usage()
	return st, nil
}

// Check verifies the consistency of the node's storage: every indexed node readable
// and matching its CID, heads and key-heads as the nodes say.
func (n *Node) Check(ctx context.Context) error {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.closed {
		return ErrClosed
	}
	return n.store.Check()
}

// Repair rebuilds the storage indexes from the write-ahead log, reporting progress
// (done of total bytes). The hot cache is emptied.
func (n *Node) Repair(ctx context.Context, progress func(done, total int64)) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrClosed
	}
	for _, sp := range n.spaces {
		sp.mu.Lock()
		defer sp.mu.Unlock()
	}
	if err := n.store.Repair(progress); err != nil {
		return fmt.Errorf("repair: %w", err)
	}
	n.hot.Clear() // cleared, not replaced: Get reads n.hot without a lock
	return nil
}
