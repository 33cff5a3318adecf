package dag

import (
	"fmt"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/distinctions"
)

// SpaceInfo describes a space; a genesis node holds it as the value of [SpaceKey].
type SpaceInfo struct {
	Name  string  // the name its creator gave it
	Open  bool    // anyone may read and write an open space
	Owner peer.ID // the creator of a restricted space; "" for an open space
}

// NewOpenGenesis returns the genesis node of the open space called name. It depends on
// the name alone — no author, no clock, no signature — so every peer that opens the
// same name derives the same space ID.
func NewOpenGenesis(name string) (*Node, error) {
	return newGenesis(SpaceInfo{Name: name, Open: true}, Timestamp{}, nil)
}

// NewRestrictedGenesis returns the genesis node of a restricted space owned by key's
// peer, signed by it. The clock makes two spaces of one owner with one name distinct.
func NewRestrictedGenesis(name string, key crypto.PrivKey, clock Timestamp) (*Node, error) {
	owner, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	return newGenesis(SpaceInfo{Name: name, Owner: owner}, clock, key)
}

func newGenesis(info SpaceInfo, clock Timestamp, key crypto.PrivKey) (*Node, error) {
	if info.Name == "" {
		return nil, fmt.Errorf("genesis: empty space name")
	}
	v := map[string]any{"name": info.Name, "open": info.Open}
	if !info.Open {
		v["owner"] = info.Owner.String()
	}
	val, err := distinctions.EncodeValue(v, distinctions.DefaultLimits)
	if err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	n := &Node{Ops: []Op{{Key: SpaceKey, Kind: KindSet, Value: val.Bytes}}, Clock: clock, Author: info.Owner}
	if key != nil {
		if n.Sig, err = signNode(n, key); err != nil {
			return nil, err
		}
	}
	if err := n.seal(distinctions.DefaultLimits, true); err != nil {
		return nil, err
	}
	return n, nil
}

// SpaceInfo returns the description a genesis node holds.
func (n *Node) SpaceInfo() (SpaceInfo, error) {
	if !n.IsGenesis() {
		return SpaceInfo{}, fmt.Errorf("node %s is not a genesis node", n.cid)
	}
	return parseSpaceInfo(n)
}

func parseSpaceInfo(n *Node) (SpaceInfo, error) {
	op, ok := n.Op(SpaceKey)
	if !ok || op.Kind != KindSet || len(n.Ops) != 1 {
		return SpaceInfo{}, fmt.Errorf("want exactly one set op on %s", SpaceKey)
	}
	v, err := distinctions.DecodeValue(op.Value, distinctions.DefaultLimits)
	if err != nil {
		return SpaceInfo{}, err
	}
	m, _ := v.(map[string]any)
	name, _ := m["name"].(string)
	open, okOpen := m["open"].(bool)
	owner, _ := m["owner"].(string)
	fields := 2
	if !open {
		fields = 3 // and the owner
	}
	if name == "" || !okOpen || len(m) != fields {
		return SpaceInfo{}, fmt.Errorf("space description must be {name, open[, owner]}")
	}
	info := SpaceInfo{Name: name, Open: open}
	if !open {
		if info.Owner, err = peer.Decode(owner); err != nil {
			return SpaceInfo{}, fmt.Errorf("owner: %w", err)
		}
	}
	return info, nil
}

func (n *Node) checkGenesis() error {
	c := n.cid
	info, err := parseSpaceInfo(n)
	switch {
	case err != nil:
		return invalid(RuleGenesis, c, "%v", err)
	case len(n.Parents) != 0:
		return invalid(RuleGenesis, c, "a genesis node has no parents")
	case n.Cap.Defined():
		return invalid(RuleGenesis, c, "a genesis node has no capability")
	case info.Open && (n.Author != "" || n.Sig != nil || !n.Clock.IsZero()):
		return invalid(RuleGenesis, c, "an open space's genesis has no author, signature or clock")
	case !info.Open && n.Author != info.Owner:
		return invalid(RuleGenesis, c, "a restricted space's genesis is signed by its owner")
	}
	return nil
}
