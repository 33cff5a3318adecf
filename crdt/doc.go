// Package crdt owns korup2p's state function: the value of a key as a pure function
// of the set of nodes held, so every peer holding the same nodes reads the same bytes,
// whatever order the nodes arrived in.
//
// For each key, the key-heads are its versions not superseded (via prev) by another
// version. Reading a key:
//
//   - no key-head: Absent. One: its value — set gives the value, del gives Absent,
//     patch applies an RFC 7386 merge patch to the merged value of its prevs.
//   - several (concurrent writes): an n-way three-way merge ([MergeValues]) against
//     their merge base in the key's own DAG (package lca). With several candidate bases
//     (criss-cross histories) the base is itself their merge, recursively, as git does.
//     Objects merge field by field, recursively; a field changed by exactly one head
//     takes that change; non-objects, type changes and delete-versus-modify are
//     compared whole. A conflict is won by the head of greatest (clock, author, CID)
//     — [dag.HistoryOrder] — and the losing values are reported in State.Conflicts
//     until a write on top of the heads supersedes them.
//
// When the merge base is Absent (two first writes of a key, concurrent) and every
// changed head is an object, the objects still merge field by field, as if the base
// were {}: two devices that create the same record with different fields keep both.
//
// With more than two heads, every head is compared with the one base of them all;
// a head that merely carries an older value of a field that another head changed
// again is a conflict (won by rank), not a fast-forward. This is the DESIGN.md rule
// as written; pairwise merging would need per-field provenance.
//
// Void versions: a Reader that implements [Voider] marks some nodes void — stored,
// so every peer's DAG converges and their descendants still ingest, but without
// effect (access control voids a write made under a revoked capability). A void
// version is transparent: every key reads as if its op did not exist and every prev
// naming it named its own prevs instead, recursively — so its value never surfaces
// (not as a head, a merge base, a patch target, or a conflict's loser), and History
// leaves it out. Void is asked about the key-heads and the versions a merge visits,
// memoised per read; Read never walks the key's history for it.
//
// Time travel: [ReadAt] reads the nodes with clock ≤ T (a causally closed cut, since
// a node's clock is after its parents'); [ReadAsOf] reads the ancestors of given space
// heads. [History] lists versions oldest first; [Diff] compares two versions.
//
// The package is pure (layer 0). Reads memoise version values for the duration of one
// call; caching across calls belongs to the storage tiers.
//
// Usage:
//
//	st, err := crdt.Read(store, "users/ada")
//	if st.Exists() { … st.Value, st.Version, st.Conflicts … }
//	old, err := crdt.ReadAt(store, "users/ada", dag.Timestamp{Wall: t.UnixNano()})
package crdt
