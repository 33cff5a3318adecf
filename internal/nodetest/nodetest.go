package nodetest

import (
	"bytes"
	"context"
	"testing"

	"github.com/ipfs/go-cid"
	carv2 "github.com/ipld/go-car/v2"
	carstorage "github.com/ipld/go-car/v2/storage"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/distinctions"
)

// SetOp is the op that sets key to the JSON value v.
func SetOp(t testing.TB, key string, v any) dag.Op {
	t.Helper()
	d, err := distinctions.EncodeValue(v, distinctions.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	return dag.Op{Key: key, Kind: dag.KindSet, Value: d.Bytes}
}

// CAR is a CAR v1 file of a space as Export writes one: the genesis first (and
// the only root), then nodes, in the order given.
func CAR(t testing.TB, gen *dag.Node, nodes ...*dag.Node) []byte {
	t.Helper()
	var buf bytes.Buffer
	car, err := carstorage.NewWritable(&buf, []cid.Cid{gen.CID()}, carv2.WriteAsCarV1(true))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range append([]*dag.Node{gen}, nodes...) {
		if err := car.Put(context.Background(), n.CID().KeyString(), n.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	if err := car.Finalize(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
