package dagtest

import (
	"fmt"
	"math/rand"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/distinctions"
)

// Epoch is the wall time (Unix nanoseconds) at which test authors start writing.
const Epoch = int64(1_700_000_000_000_000_000)

// Author writes signed nodes deterministically: its key comes from a seed and its wall
// clock advances one millisecond per node unless Wall is set.
type Author struct {
	Key   crypto.PrivKey
	ID    peer.ID
	Clock dag.Clock
	Wall  int64
}

// NewAuthor returns the author whose Ed25519 key is derived from seed.
func NewAuthor(seed int64) *Author {
	key, _, err := crypto.GenerateEd25519Key(rand.New(rand.NewSource(seed)))
	if err != nil {
		panic(err) // reading from math/rand cannot fail
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		panic(err)
	}
	return &Author{Key: key, ID: id, Wall: Epoch}
}

// Node signs a node with the given parents and ops, advancing the author's wall clock.
func (a *Author) Node(space cid.Cid, parents []*dag.Node, ops ...dag.Op) (*dag.Node, error) {
	a.Wall += 1_000_000
	return dag.NewNode(dag.Draft{Space: space, Parents: parents, Ops: ops}, &a.Clock, a.Wall, a.Key, distinctions.DefaultLimits)
}

// Write builds a node on s's current heads, each op's prev set to s's key-heads for
// its key, and stores it through a fresh Ingester. It fails if the node is rejected.
func (a *Author) Write(s dag.Store, space cid.Cid, ops ...dag.Op) (*dag.Node, error) {
	heads, err := s.Heads()
	if err != nil {
		return nil, err
	}
	parents := make([]*dag.Node, len(heads))
	for i, h := range heads {
		if parents[i], err = s.Get(h); err != nil {
			return nil, err
		}
	}
	for i := range ops {
		if ops[i].Prev, err = s.KeyHeads(ops[i].Key); err != nil {
			return nil, err
		}
	}
	n, err := a.Node(space, parents, ops...)
	if err != nil {
		return nil, err
	}
	res, err := dag.NewIngester(s, space, nil).Add(n)
	if err != nil {
		return nil, err
	}
	if err := res.Err(); err != nil {
		return nil, err
	}
	if len(res.Applied) != 1 {
		return nil, fmt.Errorf("write %s: applied %d nodes, missing %v", n.CID(), len(res.Applied), res.Missing)
	}
	return n, nil
}

// Set returns a set op of key to the JSON text v. It panics on invalid JSON (a test bug).
func Set(key, v string) dag.Op { return dag.Op{Key: key, Kind: dag.KindSet, Value: JSON(v)} }

// Patch returns a merge-patch op on key with the JSON text v.
func Patch(key, v string) dag.Op { return dag.Op{Key: key, Kind: dag.KindPatch, Value: JSON(v)} }

// Del returns a delete op on key.
func Del(key string) dag.Op { return dag.Op{Key: key, Kind: dag.KindDel} }

// JSON returns the canonical encoding of the JSON text v. It panics on invalid JSON.
func JSON(v string) []byte {
	x, err := distinctions.ParseJSON([]byte(v), distinctions.DefaultLimits)
	if err != nil {
		panic(fmt.Sprintf("dagtest.JSON(%q): %v", v, err))
	}
	d, err := distinctions.EncodeValue(x, distinctions.DefaultLimits)
	if err != nil {
		panic(err)
	}
	return d.Bytes
}

// NewSpace returns a MemStore holding the genesis of an open space called name.
func NewSpace(name string) (*dag.MemStore, *dag.Node) {
	g, err := dag.NewOpenGenesis(name)
	if err != nil {
		panic(err)
	}
	s := dag.NewMemStore()
	if err := s.PutVerified(g); err != nil {
		panic(err)
	}
	return s, g
}
