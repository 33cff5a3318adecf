// Package dagtest helps test code that stores or reads nodes: TestStore is the
// conformance suite every dag.Store implementation must pass, and Author writes
// signed nodes deterministically (seeded keys, a wall clock that advances by one
// millisecond per node) with Set/Patch/Del op helpers.
//
// Usage, in a Store implementation's tests:
//
//	func TestConformance(t *testing.T) {
//		dagtest.TestStore(t, func(t *testing.T, g *dag.Node) dag.Store { return openMyStore(t, g) })
//	}
package dagtest
