package korup2p

import "github.com/ipfs/go-cid"

// Stats describes a Node: its spaces and its hot tier.
type Stats struct {
	PeerID string
	Spaces []SpaceStats
	Hot    CacheStats
}

// SpaceStats describes one space.
type SpaceStats struct {
	SpaceInfo
	Nodes int       // nodes held, genesis included
	Heads []cid.Cid // the space heads, sorted
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
		st.Spaces = append(st.Spaces, SpaceStats{SpaceInfo: info, Nodes: count, Heads: heads})
	}
	st.Hot.Entries, st.Hot.Bytes, st.Hot.Evictions = n.hot.Stats()
	st.Hot.Budget = n.opts.MemoryBudget
	return st, nil
}
