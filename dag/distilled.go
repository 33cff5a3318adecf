package dag

import (
	"slices"
	"strings"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Distilled returns the stand-in a Store gives for node c after folding it into a
// snapshot (package tiers, "distillation"): the node's bytes are gone, and what is
// kept is what its children and readers still need — its space, height, clock and
// author, and for each key whose key-head it was at the cut, one op holding the
// key's state there (KindSet with the merged value, or KindDel), in any order. Its ops name no
// prev and it names no parents: the history behind it was folded.
//
// A stand-in has no bytes and no signature; it is never stored with PutVerified or
// sent to a peer. IsDistilled tells it apart.
func Distilled(c, space cid.Cid, height uint64, clock Timestamp, author peer.ID, ops []Op) *Node {
	ops = slices.Clone(ops)
	slices.SortFunc(ops, func(a, b Op) int { return strings.Compare(a.Key, b.Key) })
	return &Node{Space: space, Height: height, Clock: clock, Author: author, Ops: ops, cid: c, distilled: true}
}

// IsDistilled reports whether n is the stand-in of a distilled node (see Distilled).
func (n *Node) IsDistilled() bool { return n.distilled }
