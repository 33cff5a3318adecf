package caps_test

import (
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p/caps"
)

// BenchmarkCheck checks a write by the holder of a depth-3 chain (owner → alice →
// bob → carol), verifying every signature each time (no cache) or once (cache).
func BenchmarkCheck(b *testing.B) {
	chain := build(b, baseSpecs())
	in := baseInput(chain)
	revoked := map[string]bool{}
	in.Revoked = func(c cid.Cid) bool { return revoked[c.KeyString()] }
	b.Run("nocache", func(b *testing.B) {
		for b.Loop() {
			if err := caps.Check(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cache", func(b *testing.B) {
		c := caps.NewCache(0)
		for b.Loop() {
			if err := c.Check(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("resolve-cache", func(b *testing.B) {
		c := caps.NewCache(0)
		in := in
		in.Chain, in.Leaf, in.Resolve = nil, chain[0].CID(), resolver(chain...)
		for b.Loop() {
			if err := c.Check(in); err != nil {
				b.Fatal(err)
			}
		}
	})
}
