package syncproto

import (
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// ProtocolID is the libp2p protocol of a sync session.
const ProtocolID = "/korup2p/sync/1.0.0"

// ProtocolVersion is the version a hello carries (field "v").
const ProtocolVersion = 1

// Replica is one space on this peer, as the protocol needs it. Safe for concurrent use.
//
// Errors: Block returns an error wrapping dag.ErrNotFound for a node not held whole
// (the session skips it); any other error from a Replica method is a local failure
// that ends the session.
type Replica interface {
	Space() cid.Cid
	Heads() ([]cid.Cid, error)
	// Items returns the nodes this replica can serve, sorted by (Height, CID bytes):
	// a snapshot the caller may keep; it is never modified afterwards.
	Items() ([]Item, error)
	Has(c cid.Cid) (bool, error)     // held whole, or folded into a snapshot (distilled)
	Block(c cid.Cid) ([]byte, error) // the node's bytes; error wrapping dag.ErrNotFound if not held whole
	// Ingest validates and stores nodes a peer sent, in any order (the replica holds
	// back a node whose dependencies are missing until they arrive). Invalid nodes are
	// counted in Rejected, not returned as an error; the error is a local failure.
	Ingest(from peer.ID, blocks [][]byte) (IngestResult, error)
	// Snapshot returns the CID of the replica's last snapshot (cid.Undef if its history
	// was never distilled) and its cut heads; SnapshotBlock returns a block of it
	// (the root or a chunk) by CID.
	Snapshot() (root cid.Cid, cutHeads []cid.Cid, err error)
	SnapshotBlock(c cid.Cid) ([]byte, error)
	// InstallSnapshot makes a replica that lacks the cut start from a peer's snapshot:
	// blocks holds the root and every chunk, by CID (the replica verifies them).
	InstallSnapshot(root cid.Cid, blocks map[cid.Cid][]byte) error
}

// Preparer is implemented by a Replica that checks a batch of blocks on its own
// (decoding, signatures) before ingesting it. A session calls Prepare in its reader
// goroutine as each batch arrives, so one batch is checked while the one before it
// is ingested, then IngestPrepared with what Prepare returned, in the order the
// batches came. Ingest(from, b) must equal IngestPrepared(from, Prepare(from, b)).
type Preparer interface {
	Prepare(from peer.ID, blocks [][]byte) any
	IngestPrepared(from peer.ID, prepared any) (IngestResult, error)
}

// SnapshotTruster is implemented by a Replica that takes snapshots from some peers
// only. A snapshot's folded state cannot be checked node by node, so a replica whose
// writes are access-controlled takes one only from a peer it trusts (korup2p: the
// owner of a restricted space); from others it syncs nodes alone.
type SnapshotTruster interface {
	TrustSnapshot(p peer.ID) bool
}

// IngestResult is the outcome of Replica.Ingest.
type IngestResult struct {
	Applied  int       // nodes stored
	Missing  []cid.Cid // dependencies still lacking (held-back nodes wait for them)
	Rejected int       // invalid nodes
}
