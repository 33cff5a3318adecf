package korup2p

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"testing"

	"github.com/charmbracelet/log"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/caps"
	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/distinctions"
)

// BenchmarkIngestCaps measures what capability checks add to ingest: nodes from a
// peer (decode, verify, check, store), in batches as the sync protocol delivers
// them, into an open space and into a restricted space whose writer holds a chain
// of depth 3 (owner → admin → admin → writer).
//
//	go test -run '^$' -bench IngestCaps -benchtime 20000x .
func BenchmarkIngestCaps(b *testing.B) {
	for _, depth := range []int{0, 3} {
		name := "open"
		if depth > 0 {
			name = fmt.Sprintf("depth%d", depth)
		}
		b.Run(name, func(b *testing.B) { benchIngest(b, depth) })
	}
}

func benchIngest(b *testing.B, depth int) {
	n, err := Open(b.TempDir(), &Options{Durability: DurabilityNone, Logger: NewLogger(io.Discard, log.ErrorLevel)})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close(context.Background())
	ctx := context.Background()
	writer, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	var leaf cid.Cid
	spaceName := "bench"
	if _, err := n.CreateSpace(spaceName, depth == 0); err != nil {
		b.Fatal(err)
	}
	sp, _ := n.space(spaceName)
	if depth > 0 {
		key, proof := n.key, cid.Undef
		var ops []dag.Op
		for i := range depth {
			aud, ability := writer, caps.Write
			if i < depth-1 {
				aud, _, _ = crypto.GenerateEd25519Key(rand.Reader)
				ability = caps.Admin
			}
			audID, _ := peer.IDFromPrivateKey(aud)
			tok, err := caps.Issue(key, caps.Token{Audience: audID, Space: sp.id(), Ability: ability, Keys: []string{"*"}, Proof: proof})
			if err != nil {
				b.Fatal(err)
			}
			op, _ := capOp(tok)
			ops = append(ops, op)
			key, proof = aud, tok.CID()
		}
		if _, err := sp.writeSysWith(ctx, ops, cid.Undef); err != nil {
			b.Fatal(err)
		}
		leaf = proof
	}
	heads, _ := sp.store.Heads()
	parent, _ := sp.store.Get(heads[0])
	var clock dag.Clock
	val, _ := distinctions.EncodeValue(fmt.Sprintf("%0100d", 0), distinctions.DefaultLimits)
	blocks := make([][]byte, b.N)
	for i := range b.N {
		nd, err := dag.NewNode(dag.Draft{Space: sp.id(), Parents: []*dag.Node{parent}, Cap: leaf,
			Ops: []dag.Op{{Key: fmt.Sprintf("k/%d", i), Kind: dag.KindSet, Value: val.Bytes}}},
			&clock, n.opts.Now().UnixNano(), writer, distinctions.DefaultLimits)
		if err != nil {
			b.Fatal(err)
		}
		blocks[i], parent = nd.Bytes(), nd
	}
	from, _ := peer.IDFromPrivateKey(writer)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += 512 {
		res, err := sp.Ingest(from, blocks[i:min(i+512, b.N)])
		if err != nil || res.Rejected > 0 {
			b.Fatalf("ingest: %+v, %v", res, err)
		}
	}
	b.StopTimer()
	if got, _ := sp.store.Len(); got < b.N {
		b.Fatalf("%d nodes stored of %d", got, b.N)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/node")
}

// BenchmarkAuthorizeDepth3 is the capability check alone, as ingest runs it on each
// node of a writer whose chain has depth 3 (the chain verified once, then cached).
//
//	go test -run '^$' -bench AuthorizeDepth3 .
func BenchmarkAuthorizeDepth3(b *testing.B) {
	n, err := Open(b.TempDir(), &Options{Durability: DurabilityNone, Logger: NewLogger(io.Discard, log.ErrorLevel)})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close(context.Background())
	if _, err := n.CreateSpace("bench", false); err != nil {
		b.Fatal(err)
	}
	sp, _ := n.space("bench")
	key, proof := n.key, cid.Undef
	var ops []dag.Op
	var writer crypto.PrivKey
	for i := range 3 {
		aud, _, _ := crypto.GenerateEd25519Key(rand.Reader)
		audID, _ := peer.IDFromPrivateKey(aud)
		ability := caps.Admin
		if i == 2 {
			ability, writer = caps.Write, aud
		}
		tok, err := caps.Issue(key, caps.Token{Audience: audID, Space: sp.id(), Ability: ability, Keys: []string{"*"}, Proof: proof})
		if err != nil {
			b.Fatal(err)
		}
		op, _ := capOp(tok)
		ops = append(ops, op)
		key, proof = aud, tok.CID()
	}
	if _, err := sp.writeSysWith(context.Background(), ops, cid.Undef); err != nil {
		b.Fatal(err)
	}
	heads, _ := sp.store.Heads()
	parent, _ := sp.store.Get(heads[0])
	var clock dag.Clock
	val, _ := distinctions.EncodeValue("x", distinctions.DefaultLimits)
	nd, err := dag.NewNode(dag.Draft{Space: sp.id(), Parents: []*dag.Node{parent}, Cap: proof,
		Ops: []dag.Op{{Key: "k/1", Kind: dag.KindSet, Value: val.Bytes}}}, &clock, n.opts.Now().UnixNano(), writer, distinctions.DefaultLimits)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := sp.acc.authorize(sp.store, nd); err != nil {
			b.Fatal(err)
		}
	}
}
