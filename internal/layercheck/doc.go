// Package layercheck holds the test that keeps layer 0 pure: the packages distinctions,
// dag, lca, crdt and caps (and their test-support subpackages) import no os, net,
// syscall or libp2p host/network package directly, start no goroutine, and read no
// wall clock. DESIGN.md "Layers" is the rule; this package only checks it.
//
// It checks direct imports, in the packages' own source. Their dependencies do
// import such packages (fmt imports os; libp2p's peer IDs bring go-multiaddr,
// which imports net), but only for types and encodings: the rule is that layer 0
// itself does no IO, not that nothing below it could.
package layercheck
