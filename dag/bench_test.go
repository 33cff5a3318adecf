package dag_test

import (
	"strings"
	"testing"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/dag/dagtest"
	"github.com/korup2p/korup2p/distinctions"
)

// benchNode returns a genesis and a typical node: one set op with a 100-byte value.
func benchNode(b *testing.B) (*dag.Node, *dag.Node, dag.Op) {
	_, g := dagtest.NewSpace("bench")
	op := dagtest.Set("notes/1", `{"text":"`+strings.Repeat("x", 92)+`"}`)
	if len(op.Value) != 100 {
		b.Fatalf("value is %d bytes", len(op.Value))
	}
	n, err := dagtest.NewAuthor(1).Node(g.CID(), []*dag.Node{g}, op)
	if err != nil {
		b.Fatal(err)
	}
	return g, n, op
}

// BenchmarkNewNode: encode + hash + sign one node with a 100-byte value (NewNode also
// runs the self-checks Decode would).
func BenchmarkNewNode(b *testing.B) {
	g, _, op := benchNode(b)
	a := dagtest.NewAuthor(1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Node(g.CID(), []*dag.Node{g}, op); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeVerify: strict decode + signature verification of one node: what a
// peer pays per received node.
func BenchmarkDecodeVerify(b *testing.B) {
	_, n, _ := benchNode(b)
	data := n.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dag.Decode(data, distinctions.DefaultLimits); err != nil {
			b.Fatal(err)
		}
	}
}
