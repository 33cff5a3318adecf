package dag

import (
	"strings"
	"testing"

	"github.com/korup2p/korup2p/distinctions"
)

func benchSigned(b *testing.B) *Node {
	g, _ := NewOpenGenesis("bench")
	var c Clock
	n, err := NewNode(Draft{Space: g.CID(), Parents: []*Node{g}, Ops: []Op{{Key: "notes/1", Kind: KindSet, Value: val(b, `{"text":"`+strings.Repeat("x", 92)+`"}`)}}},
		&c, 1e18, testKey(b, 1), distinctions.DefaultLimits)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkDecodeStructure: the strict canonical decode of one node (the wire struct,
// the canonical re-encoding check, conversion to Node) without any validation rule.
func BenchmarkDecodeStructure(b *testing.B) {
	data := benchSigned(b).Bytes()
	b.ReportAllocs()
	for b.Loop() {
		var w wireNode
		if err := distinctions.Decode(data, &w, distinctions.DefaultLimits); err != nil {
			b.Fatal(err)
		}
		_ = fromWire(&w)
	}
}

// BenchmarkVerifySignature: re-encoding without sig and the ed25519 verification.
func BenchmarkVerifySignature(b *testing.B) {
	n := benchSigned(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := n.checkSig(); err != nil {
			b.Fatal(err)
		}
	}
}
