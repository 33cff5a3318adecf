package crdt

import (
	"fmt"
	"slices"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/lca"
)

// Voider is implemented by a Reader some of whose nodes are void: stored, but without
// effect on any key's state (access control voids writes made under a revoked
// capability). A void version is transparent: for every key, the state is computed
// as if its op on the key did not exist and every prev naming it named the void
// version's own prevs instead, recursively. So a void key-head leaves its prevs as
// key-heads (unless another version supersedes them), a write on top of a void
// version supersedes that version's prevs, a patch on top of one applies to the merged
// value of its prevs, and a void version is never a merge base nor reported in
// State.Heads, State.Version or State.Conflicts.
//
// The answer must depend on the node alone, so that every peer holding the same nodes
// reads the same state. Reads memoise it per call; Void is never asked about a
// distilled stand-in ([dag.Node.IsDistilled]), which is never void. An error from Void
// fails the read. A Reader that does not implement Voider has no void nodes.
type Voider interface {
	Void(n *dag.Node) (bool, error)
}

// isVoid reports whether version c is void. Without a Voider nothing is, and a
// distilled stand-in never is.
func (e *eval) isVoid(c cid.Cid) (bool, error) {
	if e.voider == nil {
		return false, nil
	}
	if v, ok := e.void[c]; ok {
		return v, nil
	}
	n, _, err := e.version(c)
	if err != nil {
		return false, err
	}
	void := false
	if !n.IsDistilled() {
		if void, err = e.voider.Void(n); err != nil {
			return false, fmt.Errorf("void %s: %w", c, err)
		}
	}
	e.void[c] = void
	return void, nil
}

// visible returns heads with each void version replaced by its transparent prevs,
// reduced to the versions that no other one of them descends from. Heads without a
// void version come back as they are, at the cost of one Void per head.
func (e *eval) visible(heads []cid.Cid) ([]cid.Cid, error) {
	if e.voider == nil {
		return heads, nil
	}
	var out []cid.Cid
	replaced := false
	for i, h := range heads {
		void, err := e.isVoid(h)
		if err != nil {
			return nil, err
		}
		if !void {
			if replaced {
				out = append(out, h)
			}
			continue
		}
		if !replaced {
			out, replaced = slices.Clone(heads[:i]), true
		}
		prev, err := e.Parents(h)
		if err != nil {
			return nil, err
		}
		out = append(out, prev...)
	}
	if !replaced {
		return heads, nil
	}
	// The non-void versions that no non-void version has as a transparent prev are
	// exactly the maxima of the void heads' transparent prevs and the other heads.
	return lca.Independent(e, out)
}
