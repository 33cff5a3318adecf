package dag

import "github.com/ipfs/go-cid"

// Store holds the nodes of one space and the indexes that reading state needs.
// Implementations: [MemStore] here; the disk tiers in package tiers. Every Store must
// pass the conformance suite in package dagtest.
//
// Nodes enter only through PutVerified, dependencies first: a node's parents and the
// prevs of its ops are stored before it. Under that rule the heads and key-heads are
// maintained incrementally. All slices returned are fresh copies owned by the caller.
//
// Implementations are safe for concurrent use.
type Store interface {
	// Get returns the node with CID c, or an error wrapping ErrNotFound.
	Get(c cid.Cid) (*Node, error)
	// Has reports whether the store holds c.
	Has(c cid.Cid) (bool, error)
	// PutVerified stores n, which the caller has verified (Decode or NewNode, then an
	// Ingester's checks against its parents). Storing a node already held is a no-op.
	// A missing parent or prev is an error wrapping ErrMissingDeps; nothing is stored.
	PutVerified(n *Node) error
	// Heads returns the nodes no other node names as a parent, sorted by CID.
	Heads() ([]cid.Cid, error)
	// Children returns the nodes that name c as a parent, sorted by CID; an error
	// wrapping ErrNotFound if c is not held.
	Children(c cid.Cid) ([]cid.Cid, error)
	// KeyHeads returns the versions of key that no other version names in its prev,
	// sorted by CID; empty if the key was never written.
	KeyHeads(key string) ([]cid.Cid, error)
	// KeyHistory returns every version of key, oldest first: ordered by (clock,
	// author, CID), which is a topological order of the key's DAG.
	KeyHistory(key string) ([]cid.Cid, error)
	// Keys returns, in byte order, up to limit keys (all if limit <= 0) that start
	// with prefix and sort after the key after ("" for the first). A key is listed
	// once written, even if its current state is deleted; reserved
	// keys (SysNamespace) are listed too.
	Keys(prefix, after string, limit int) ([]string, error)
	// Len returns the number of nodes held.
	Len() (int, error)
}
