// Package layercheck holds the test that keeps layer 0 pure: the packages distinctions,
// dag, lca, crdt and caps (and their test-support subpackages) import no os, net,
// syscall or libp2p host/network package, start no goroutine, and read no wall clock.
// DESIGN.md "Layers" is the rule; this package only checks it.
package layercheck
