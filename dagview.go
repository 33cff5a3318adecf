package korup2p

import (
	"context"
	"fmt"
	"slices"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/dag"
)

// DAGEntry is one node of a space's DAG, as DAGLog lists it.
type DAGEntry struct {
	CID       cid.Cid
	Parents   []cid.Cid
	Height    uint64
	Clock     dag.Timestamp
	Author    peer.ID
	Keys      []string // the keys the node writes
	Distilled bool     // a stand-in: its history was folded into a snapshot
}

// DAGNode returns node c of the space: the node itself, or its stand-in if the
// space's history before it was distilled (dag.Node.IsDistilled).
func (n *Node) DAGNode(ctx context.Context, space string, c cid.Cid) (*dag.Node, error) {
	sp, unlock, err := n.read(space)
	if err != nil {
		return nil, fmt.Errorf("dag show %s: %w", c, err)
	}
	defer unlock()
	nd, err := sp.store.Get(c)
	if err != nil {
		return nil, fmt.Errorf("dag show %s: %w", c, err)
	}
	return nd, nil
}

// DAGLog returns up to limit nodes of the space (all if limit <= 0), newest first:
// walking back from the heads, highest first (ties by CID), each node after every
// node that names it as a parent — the order `korup2p dag log --graph` draws. The
// walk stops at distilled nodes, which it lists without their parents.
func (n *Node) DAGLog(ctx context.Context, space string, limit int) ([]DAGEntry, error) {
	sp, unlock, err := n.read(space)
	if err != nil {
		return nil, fmt.Errorf("dag log: %w", err)
	}
	defer unlock()
	heads, err := sp.store.Heads()
	if err != nil {
		return nil, fmt.Errorf("dag log: %w", err)
	}
	// A max-heap by (height, CID) over the frontier: a node comes out after all its
	// children, whose heights are greater.
	frontier := map[cid.Cid]*dag.Node{}
	push := func(c cid.Cid) error {
		if _, ok := frontier[c]; ok {
			return nil
		}
		nd, err := sp.store.Get(c)
		if err != nil {
			return err
		}
		frontier[c] = nd
		return nil
	}
	for _, h := range heads {
		if err := push(h); err != nil {
			return nil, fmt.Errorf("dag log: %w", err)
		}
	}
	seen := map[cid.Cid]bool{}
	var out []DAGEntry
	for len(frontier) > 0 && (limit <= 0 || len(out) < limit) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var top *dag.Node
		for _, nd := range frontier {
			if top == nil || nd.Height > top.Height || nd.Height == top.Height && nd.CID().KeyString() > top.CID().KeyString() {
				top = nd
			}
		}
		delete(frontier, top.CID())
		seen[top.CID()] = true
		e := DAGEntry{CID: top.CID(), Parents: slices.Clone(top.Parents), Height: top.Height, Clock: top.Clock,
			Author: top.Author, Distilled: top.IsDistilled()}
		for _, op := range top.Ops {
			e.Keys = append(e.Keys, op.Key)
		}
		out = append(out, e)
		for _, p := range top.Parents {
			if !seen[p] {
				if err := push(p); err != nil {
					return nil, fmt.Errorf("dag log: %w", err)
				}
			}
		}
	}
	return out, nil
}
