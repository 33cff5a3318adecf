// Package lca finds merge bases (lowest common ancestors) in a DAG of
// content-addressed nodes.
//
// The package is pure: it reads the DAG only through the small [Graph]
// interface, which the caller implements over its own storage, and it starts
// no goroutines, touches no files and reads no clock.
//
// # Contract
//
// A [Graph] names each node by its CID and gives its parents and its height.
// Heights are generation numbers: a node's height must be strictly greater
// than the height of every one of its parents (1 + the greatest parent height
// is the usual choice, with 0 for roots, but gaps are allowed). Every search
// here visits nodes in decreasing height, so it stops as soon as nothing
// below can change the answer: the cost depends on how far the given nodes
// have diverged, not on the size of the DAG. A graph that breaks the height
// rule is reported with [ErrBadHeight] rather than given a wrong answer.
//
// A CID the graph does not hold must be reported with an error that matches
// [ErrNotFound] under [errors.Is]. Every error from this package that concerns
// one node is a [*NodeError] naming that node, so a caller missing part of
// its history can tell which node to fetch.
//
// Results are sets: they hold no duplicates and are sorted by the bytes of
// their CIDs, so equal inputs give identical slices whatever their order.
// The functions are safe for concurrent use if the Graph is; a search keeps
// no state between calls except reusable scratch memory.
//
// # Usage
//
//	// Heads of one key written concurrently on two devices.
//	bases, err := lca.MergeBases(g, headA, headB)
//	switch {
//	case err != nil:
//		return err
//	case len(bases) == 0:
//		// No common history: merge against an empty base.
//	case len(bases) == 1:
//		// The usual case: a three-way merge against bases[0].
//	default:
//		// Criss-cross history: several best candidates, which the caller
//		// merges (recursively) into one virtual base, as git does.
//	}
//
//	// Is the local head already contained in a peer's head?
//	ok, err := lca.IsAncestor(g, localHead, peerHead)
//
//	// The heads among a set of versions.
//	heads, err := lca.Independent(g, versions)
package lca
