package korup2p

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// StateDigest returns a digest of the space's current state: every key with a
// value, in key order, with its value, winning version and key-heads (so conflicts
// count). Two replicas holding the same nodes return the same digest; the testnet
// checks convergence with it.
func (n *Node) StateDigest(ctx context.Context, space string) (string, error) {
	h := sha256.New()
	err := n.scan(ctx, space, "", "", func(key string, e *entryState) bool {
		ent := e.get()
		fmt.Fprintf(h, "%q %s %s %v\n", key, ent.Value, ent.Version, ent.Heads)
		return true
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
