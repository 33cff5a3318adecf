package gossip_test

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/dag/dagtest"
	"github.com/korup2p/korup2p/distinctions"
	"github.com/korup2p/korup2p/net/gossip"
)

// recorder is a Handler that validates with dag.Decode and records what arrives.
type recorder struct {
	mu    sync.Mutex
	held  map[cid.Cid]bool
	nodes []cid.Cid
	heads [][]cid.Cid
	cids  []cid.Cid
}

func (r *recorder) ValidateNode(_ peer.ID, b []byte) (gossip.Verdict, any) {
	n, err := dag.Decode(b, distinctions.DefaultLimits)
	if err != nil {
		return gossip.Reject, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.held[n.CID()] {
		return gossip.Ignore, nil
	}
	return gossip.Accept, n
}

func (r *recorder) Node(_, _ peer.ID, _ []byte, decoded any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nodes = append(r.nodes, decoded.(*dag.Node).CID())
}

func (r *recorder) Heads(_, _ peer.ID, heads []cid.Cid) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.heads = append(r.heads, heads)
}

func (r *recorder) CIDs(_, _ peer.ID, cids []cid.Cid) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cids = append(r.cids, cids...)
}

func (r *recorder) snapshot() (nodes []cid.Cid, heads [][]cid.Cid, cids []cid.Cid) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]cid.Cid(nil), r.nodes...), append([][]cid.Cid(nil), r.heads...), append([]cid.Cid(nil), r.cids...)
}

func newHost(t *testing.T) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestGossip: three peers in a line (a–b–c): a node a publishes reaches c through
// b; an invalid node and a malformed message do not; a node over the message limit
// arrives as its CID; heads announcements arrive, repeated ones too.
func TestGossip(t *testing.T) {
	ctx := context.Background()
	_, g := dagtest.NewSpace("gossip")
	space := g.CID()
	hosts := []host.Host{newHost(t), newHost(t), newHost(t)}
	for i := range 2 {
		if err := hosts[i].Connect(ctx, peer.AddrInfo{ID: hosts[i+1].ID(), Addrs: hosts[i+1].Addrs()}); err != nil {
			t.Fatal(err)
		}
	}
	var svcs []*gossip.Service
	var recs []*recorder
	for _, h := range hosts {
		s, err := gossip.New(h, &gossip.Options{MaxMessageSize: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		r := &recorder{held: map[cid.Cid]bool{}}
		if err := s.Join(space, r); err != nil {
			t.Fatal(err)
		}
		svcs, recs = append(svcs, s), append(recs, r)
	}
	if err := svcs[0].Join(space, recs[0]); err == nil {
		t.Fatal("joined a space twice")
	}
	waitFor(t, "the mesh", func() bool {
		return len(svcs[0].MeshPeers(space)) == 1 && len(svcs[1].MeshPeers(space)) == 2 && len(svcs[2].MeshPeers(space)) == 1
	})

	a := dagtest.NewAuthor(1)
	store, _ := dagtest.NewSpace("gossip")
	n1 := dagtest.Must(t)(a.Write(store, space, dagtest.Set("k/1", `1`)))
	if err := svcs[0].PublishNode(ctx, space, n1.CID(), n1.Bytes()); err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(n1.Bytes())
	bad[len(bad)-1] ^= 1 // a broken signature
	n2 := dagtest.Must(t)(a.Write(store, space, dagtest.Set("k/2", `2`)))
	if err := svcs[0].PublishNode(ctx, space, n2.CID(), bad); err != nil {
		t.Fatal(err)
	}
	big := dagtest.Must(t)(a.Write(store, space, dagtest.Set("k/big", `"`+string(bytes.Repeat([]byte("x"), 100<<10))+`"`)))
	if err := svcs[0].PublishNode(ctx, space, big.CID(), big.Bytes()); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := svcs[0].PublishHeads(ctx, space, []cid.Cid{big.CID()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := svcs[0].PublishNode(ctx, space, n2.CID(), n2.Bytes()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if !t.Failed() {
			return
		}
		for i, r := range recs {
			nodes, heads, cids := r.snapshot()
			t.Logf("peer %d: nodes %d heads %d cids %d", i, len(nodes), len(heads), len(cids))
		}
	}()
	waitFor(t, "everything at c", func() bool {
		nodes, heads, cids := recs[2].snapshot()
		return len(nodes) == 2 && len(heads) == 2 && len(cids) == 1
	})
	// Gossip forwards in no promised order (validation runs concurrently).
	nodes, heads, cids := recs[2].snapshot()
	gotBoth := slices.ContainsFunc(nodes, n1.CID().Equals) && slices.ContainsFunc(nodes, n2.CID().Equals)
	if !gotBoth || !cids[0].Equals(big.CID()) || !heads[0][0].Equals(big.CID()) || !heads[1][0].Equals(big.CID()) {
		t.Fatalf("c got nodes %v, heads %v, cids %v", nodes, heads, cids)
	}
	if own, _, _ := recs[0].snapshot(); len(own) != 0 {
		t.Fatalf("a was handed its own nodes: %v", own)
	}
}
