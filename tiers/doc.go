// Package tiers is korup2p's on-disk storage: the warm tier, a [dag.Store] per
// space over one write-ahead log and one index, with a cache of decoded nodes in
// front (the hot tier's node half). It stores and caches bytes; it never merges.
//
// A [DB] owns three directories under its own: wal/ (package wal, the source of
// truth for node bytes), index/ (a go-datastore on Pebble, github.com/ipfs/go-ds-pebble,
// derived from the WAL and rebuildable at any time) and meta/ (a second, small
// go-datastore on Pebble for the root's metadata, kept apart so that losing or
// rebuilding the index never loses it). The caller locks the directory against a
// second user (internal/dirlock); Pebble's own LOCK files guard the datastores.
//
// # Ordering rules
//
// Persist before publish: PutVerified appends the node's bytes to the WAL, then
// indexes it with one atomic batch, so a reader never finds an index entry whose
// record is not in the WAL. Nothing is fsynced per put: [DB.Sync] is the durability
// barrier, and the caller calls it before acknowledging what it stored (one fsync for
// a group of nodes and for concurrent callers). Options.Durability chooses the mode:
// "always" (Sync fsyncs the WAL), "interval" (the WAL fsyncs in the background; Sync
// returns at once) or "none". Index writes are never fsynced: the WAL is the truth,
// and each batch carries the checkpoint, the WAL position it indexes up to. Index
// writes are serialised across spaces so that the checkpoint never passes a record
// that is not indexed. SetMeta is fsynced.
//
// # Recovery
//
// Open reads the checkpoint and re-indexes only the WAL records after it
// (wal.Log.Replay), so start-up costs the tail, not the history: with a current
// index it reads one record. Re-indexing is idempotent; a block that is not a node,
// or whose dependencies are not indexed, is reported through Options.Warn and
// skipped. The index is rebuilt from the whole WAL, with a warning and never a
// refusal to open, when it is missing or unreadable, of another format version, or
// ahead of the WAL — its checkpoint past the WAL's last record, which happens when a
// machine crash takes WAL records that were never fsynced while Pebble kept their
// index entries; those entries would point at whatever is appended there next.
// [DB.Repair] rebuilds it on demand; [DB.Check] verifies it against the WAL.
//
// # Index layout
//
// Keys are go-datastore keys built from fixed words and lowercase hex: every CID,
// user key and author is hex-encoded, which keeps byte order and prefixes and never
// contains '/', so ds.NewKey's path cleaning ("//", "..") and segment-wise prefixes
// never see a user's bytes. <sp> is the hex of the space ID, <c> of a node's CID,
// and <p> the space's prefix: the hex of the first 8 bytes of its ID's digest, which
// every key of the space carries (the whole ID would be 72 characters of every key;
// DB.Space refuses a second space with the same prefix).
//
//	/version                          index format version ("2")
//	/checkpoint                       wal.Pos of the last record indexed (16 bytes)
//	/count                            nodes indexed, all spaces (decimal)
//	/spaces/<sp>                      one entry per space with nodes
//	/s/<p>/count                      nodes in the space (decimal)
//	/s/<p>/node/<c>                   segment, offset, height (3 × uint64 BE)
//	/s/<p>/head/<c>                   a head: no stored node names c as a parent
//	/s/<p>/child/<parent>/<c>         c names parent as a parent
//	/s/<p>/khead/<key>/<c>            a key-head of key
//	/s/<p>/hist/<key>/<clock>/a<author>/<c>
//	                                  a version of key; <clock> is 16 hex digits of
//	                                  wall time and 8 of the logical counter, so a
//	                                  prefix scan returns the history oldest first
//	/s/<p>/key/<key>                  key was written (Keys)
//
// Every read of a list is one ordered range scan. go-ds-pebble's Query cannot start
// a scan at a given key — it starts at the first key of a whole-segment prefix and
// skips an offset by stepping — and it runs each query in a goroutine, so range
// scans use the go-ds-pebble Datastore's *pebble.DB directly (Keys seeks straight
// past `after`). So does the check, on every put, that a node is not indexed yet:
// it asks about a key that is mostly absent, which Bloom filters answer, but Pebble
// reads no filter in its last level — where most of the index lives — unless an
// iterator opts in (IterOptions.UseL6Filters), which DB.Get, behind go-datastore's
// Has, never does. Every write, and every other read, goes through go-datastore.
//
// # Budget
//
// At Options.DiskBudget (WAL plus index and metadata on disk; the WAL's size is
// exact, Pebble's is measured at most once a second), PutVerified refuses any node
// that does more than delete with a *[BudgetError] matching [ErrDiskBudget], writing
// nothing. Nodes that only delete still go in, so that a user can act; nothing
// already stored is touched.
//
// # Deep tier: distillation
//
// With a [Retention] (an age, a count of newest nodes to keep, or both), history
// older than it is folded. [DB.PlanDistill] picks the cut — the longest run of the
// oldest sealed WAL segments the retention lets go, a causally closed set because
// every node is appended after its dependencies — and reads their nodes. The caller
// (the root package, which merges; this package never does) computes each written
// key's state over the cut (crdt.ReadWhere with [SpacePlan.Contains]) and passes it
// to [DB.Distill], which:
//
//   - records in the metadata, for every node of the cut, what stays of it: its
//     header and, for each key it is a key-head of at the cut, one op holding the
//     key's folded state (a genesis node stays whole). Reads get it as a
//     dag.Distilled stand-in: Has is true, Get returns the stand-in, so new nodes
//     naming it as a parent or prev are accepted and read as before;
//   - writes the space's snapshot: a content-addressed distinction with the cut's
//     heads and clock, the folds in chunks, and a link to the previous snapshot
//     ([DB.LastSnapshot], [DB.SnapshotBlock]);
//   - drops the cut's node, history (but the stand-in ops') and child entries from
//     the index, fsynced, and only then deletes the segments. A crash between the
//     steps leaves both views readable; the next plan deletes leftover segments.
//
// The current state of every key reads the same afterwards. History before the cut
// is gone: a key's history starts with its stand-in versions, and the root package
// turns time travel before the cut into dag.ErrDistilled. Concurrent edits whose
// merge base was folded merge against the state at the cut; a late edit naming a
// folded version that kept no op merges as if it had no base. Repair re-seeds the
// index from the stand-ins and the last snapshot before re-indexing the WAL, and
// Check counts them. Metadata keys of distillation start with "tiers/".
//
// # Concurrency
//
// A DB and its stores are safe for concurrent use. Reads run concurrently with each
// other and with writes, and see each put entirely or not at all; writes to the
// index are serialised. Close and Repair wait for every operation in progress and
// hold off new ones.
//
// Usage:
//
//	warn := func(msg string, kv ...any) { logger.Warn(msg, kv...) } // charmbracelet/log
//	db, err := tiers.Open(dir, &tiers.Options{Warn: warn})
//	if err != nil { ... }
//	defer db.Close()
//	st, err := db.Space(genesis)
//	err = st.PutVerified(genesis) // and every verified node, dependencies first
//	err = db.Sync()               // then acknowledge
//	n, err := st.Get(c)
package tiers
