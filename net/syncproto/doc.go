// Package syncproto is the stream protocol /korup2p/sync/1.0.0, with which two peers
// reconcile the node sets of one space: afterwards both hold the union. Round trips
// grow with the log of the divergence, never with the depth of the DAG, and a fresh
// peer catches up at bulk-transfer speed (from a snapshot when its peer distilled its
// history).
//
// It owns the protocol and its bounds; the replica — the space on this peer, its
// storage and the validation of nodes — is the caller's, behind [Replica]. Package
// layout: recon.go is the pure core (fingerprints, range splitting, the decision for
// each range; no IO), wire.go the messages and their framing, session.go one run of
// the protocol on a stream, service.go the libp2p side (handler, Sync, limits,
// scores, status), snapshot.go the snapshot transfer.
//
// # Usage
//
//	svc := syncproto.New(h, &syncproto.Options{Progress: bar.Set})
//	defer svc.Close()
//	svc.Register(replica) // serve the space; register as many as needed
//	res, err := svc.Sync(ctx, peerID, replica.Space())
//	// res.RoundTrips, res.NodesReceived, ...; svc.Status() for a CLI
//
// # Items and fingerprints
//
// A replica's set is its Items: the nodes it can serve whole, ordered by (Height,
// CID bytes). The order puts parents before children and spreads each height's nodes
// at random. A range of items is named by an exclusive upper [Bound]: a height and
// the shortest CID prefix that separates two neighbouring items. Its [Fingerprint] is
// the first 16 bytes of SHA-256 over (the sum mod 2^128 of the first 16 bytes of
// SHA-256 of each CID, little-endian, then the count as a uvarint): order-
// independent, and answered for any range in O(1) from prefix sums computed once per
// Items snapshot (the service keeps the last one per space while Items returns the
// same slice).
//
// # Algorithm
//
// Range-based set reconciliation after Negentropy. A reconciliation message is a
// list of consecutive ranges from the bottom of the order, each with its upper bound
// and a mode; everything above the last range is skipped.
//
//   - skip: nothing to do here (equal, or the difference is already known).
//   - fingerprint: the sender's count and fingerprint of its items in the range.
//   - idlist: every CID the sender holds in the range.
//
// The initiator starts with its ID list if it holds at most IDListMax (32) items, or
// else Branch (16) fingerprint ranges of equal counts and a last, empty range above
// its highest item — so a peer far ahead learns at once that everything up there is
// missing. Each side answers every range: an equal fingerprint and count → skip; a
// peer count of zero → all our items there are missing on its side, skip; our count
// at most IDListMax → our ID list; else Branch sub-range fingerprints. An ID list
// received tells its receiver both directions of the difference in that range, which
// it then skips. The exchange ends when a side has no range left open. Property
// tests check that the differences both sides resolve are exactly the set
// differences, each item once.
//
// A message carries at most MaxRanges (4096) ranges and MaxIDs (16384) IDs; a side
// that would exceed them folds the rest of its peer's ranges into one fingerprint
// range, handled in later rounds (it may then resolve an item twice; the session
// sends and asks for each node once).
//
// # Session
//
// One session is one stream. Messages alternate in turns: one side writes a turn — any
// number of blocks messages, then one message that ends the turn — while the other
// reads it, so no side ever blocks writing while its peer writes too.
//
//	initiator                                  responder
//	hello{v, space, heads, count, snap, cut, cutServed}
//	                                           hello{..., needSnap}   (or refuse{code})
//	  equal heads: done, one round trip.
//	[snapblocks... end]   if the responder needs our snapshot
//	[snapget{root}]       if we need the responder's
//	                                           [snapblocks... end]
//	blocks... recon{ranges, want, offer, more}
//	                                           blocks... recon{...}
//	...                                        ...
//	blocks... recon{...}
//	                                           blocks... done{heads}
//	bye{heads}
//
// A side that learns the peer lacks some of its items (from an ID list, or an empty
// range) pushes them as blocks in its next turn; CIDs the peer holds and it lacks go
// in want, and the peer sends them in its next turn. Towards a peer that has a
// snapshot (whose items may omit history it has distilled), a side offers CIDs
// instead of pushing them; the peer wants those it does not Has. Once no range is
// open, a side also wants the dependencies its replica reported missing. The
// responder answers done when nothing is left open on either side (no ranges, no
// wants or offers, more unset); the initiator then knows the peer's final heads and
// answers bye with its own, so both record whether they ended in sync.
//
// Transfer: the nodes of a turn go in (Height, CID) order, so that parents precede
// children, in blocks messages of at most BatchBytes (1 MiB) and BatchNodes (512;
// a larger node goes alone); each says how many nodes are still to come in the turn,
// for progress. The receiver hands each batch to Replica.Ingest as it arrives while
// a reader goroutine reads and decodes the next: batches are never acknowledged one
// by one. A Replica that is also a [Preparer] has each batch checked (decoded, its
// signatures verified) by Prepare in that reader goroutine, then stored by
// IngestPrepared, so that checking one batch overlaps storing the one before.
//
// Resumption: what an interrupted session delivered was ingested batch by batch and
// stays. The next session reconciles anew, and the receiver's items now include
// those nodes, so only the remainder moves. No state survives a session.
//
// Snapshots: a hello names the replica's last snapshot (root and cut heads), and
// whether it can serve the cut heads whole (cutServed). A side that lacks part of a
// peer's cut that the peer cannot serve starts from the peer's snapshot: the
// initiator asks for it (snapget), or the responder says needSnap in its hello and
// the initiator sends it. The root, every chunk it names, and the older snapshots it
// names through "prev" (as far as the sender keeps them) travel in snapblocks
// messages; the receiver checks each block's CID, that the root and all its chunks
// arrived, calls Replica.InstallSnapshot, reloads its items, and reconciles as usual.
// Only the root's "chunks" and "prev" links are read here (package tiers defines the
// format). A snapshot is bounded by Options.MaxSnapshotBytes.
//
// # Wire format
//
// Each message is uvarint(len) (go-varint: minimal, at most 9 bytes) followed by len
// bytes: the canonical DAG-CBOR array [type, body], body a map decoded strictly
// (package distinctions: no unknown fields, no duplicate keys, canonical form only;
// zero fields omitted). CIDs are tag-42 links. Types and bodies:
//
//	1 hello      {v, space, heads?, count?, snap?, cut?, cutServed?, needSnap?}
//	2 recon      {ranges?, want?, offer?, more?}
//	             range = [mode, height, prefix, count, fp, ids]  (mode 0 skip,
//	             1 fingerprint: count and 16-byte fp, 2 idlist: ids); the infinite
//	             bound is height 2^64-1 with an empty prefix
//	3 blocks     {blocks: [bytes], left?}
//	4 done       {heads?}
//	5 refuse     {code, reason?}   codes: version, unknown-space, forbidden,
//	             rate-limited, busy
//	6 snapget    {root}
//	7 snapblocks {blocks?, end?}
//	8 bye        {heads?}
//
// # Bounds and abuse
//
// Every message is at most MaxMessageSize (5 MiB; a hello 1 MiB); a larger length
// prefix ends the session before anything is read. A message holds at most MaxRanges
// ranges, MaxIDs IDs in its ID lists and as many in each of want and offer,
// MaxBlocks blocks and MaxHeads heads. A session has a deadline (SessionTimeout,
// default 30 s; an inbound peer must send its hello within 10 s) and at most
// MaxRounds (64) round trips. Inbound sessions are capped (MaxInbound, default 16):
// beyond it new streams are reset at once. Each peer has a token bucket of inbound
// sessions (InboundRate, default 4/s, burst 16), one inbound session per peer and
// space at a time (a second waits up to 5 s for the first, then is refused busy),
// and a misbehaviour score: a message that breaks the protocol adds
// PenaltyViolation (25), a node the replica rejects PenaltyRejected (5, at most 25
// per batch); the score halves every 10 minutes, and at BanThreshold (100) the peer
// is refused for BanDuration (10 minutes) — its streams reset unread, Sync to it
// fails with ErrBanned — and a warning is logged; Options.OnBan lets the caller cut
// it off beyond this protocol (korup2p bans it at its connection gater). Stream
// resets, timeouts and refusals score nothing.
//
// # Concurrency
//
// A Service is safe for concurrent use. Concurrent Sync calls for one peer and space
// share one session and its result; it is canceled only when every caller's context
// is done. Close ends all sessions and waits for their goroutines.
package syncproto
