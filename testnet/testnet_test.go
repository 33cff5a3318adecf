package testnet_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/testnet"
)

var ctx = context.Background()

// size scales a test's write count down under -short (CI's race run).
func size(n int) int {
	if testing.Short() {
		return max(n/10, 50)
	}
	return n
}

// writeMany has peer i put n keys of its own, as fast as it can.
func writeMany(t *testing.T, nw *testnet.Net, i, n int) {
	t.Helper()
	for k := range n {
		if err := nw.Put(i, fmt.Sprintf("p%d/k%04d", i, k), fmt.Sprintf("v%d.%d", i, k)); err != nil {
			t.Errorf("peer %d write %d: %v", i, k, err)
			return
		}
	}
}

// TestThreePeersConverge: three peers writing 1,000 keys each concurrently end
// with the same heads and state, and nothing acknowledged is lost.
func TestThreePeersConverge(t *testing.T) {
	nw := testnet.New(t, 3, nil)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() { writeMany(t, nw, i, size(1000)) })
	}
	wg.Wait()
	took := nw.WaitConverged(30 * time.Second)
	t.Logf("converged %s after the last write", took)
	nw.CheckNoLostWrites()
}

// partitionedPair returns a net of two peers, cut apart, both holding key.
func partitionedPair(t *testing.T, key, value string) *testnet.Net {
	t.Helper()
	nw := testnet.New(t, 2, nil)
	if err := nw.Put(0, key, []byte(value)); err != nil {
		t.Fatal(err)
	}
	nw.WaitConverged(10 * time.Second)
	nw.Partition([]int{0}, []int{1})
	return nw
}

// TestConcurrentFieldsSurvive: two peers apart edit different fields of one key;
// after healing both edits are on every peer.
func TestConcurrentFieldsSurvive(t *testing.T) {
	nw := partitionedPair(t, "doc/1", `{"title":"a","body":"x"}`)
	if _, err := nw.Peer(0).Node.Patch(ctx, testnet.Space, "doc/1", []byte(`{"title":"b"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := nw.Peer(1).Node.Patch(ctx, testnet.Space, "doc/1", []byte(`{"body":"y"}`)); err != nil {
		t.Fatal(err)
	}
	nw.Heal()
	nw.WaitConverged(10 * time.Second)
	for _, p := range nw.Peers() {
		e, err := p.Node.Get(ctx, testnet.Space, "doc/1")
		if err != nil || string(e.Value) != `{"body":"y","title":"b"}` || len(e.Conflicts) != 0 {
			t.Fatalf("peer %d: %s %+v %v", p.Index, e.Value, e.Conflicts, err)
		}
	}
}

// TestSameFieldConverges: two peers apart set the same field differently; every
// peer ends with the same winner and reports the loser.
func TestSameFieldConverges(t *testing.T) {
	nw := partitionedPair(t, "doc/1", `{"title":"a"}`)
	for i, v := range []string{"left", "right"} {
		if _, err := nw.Peer(i).Node.Patch(ctx, testnet.Space, "doc/1", []byte(`{"title":"`+v+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	nw.Heal()
	nw.WaitConverged(10 * time.Second)
	var first string
	for _, p := range nw.Peers() {
		e, err := p.Node.Get(ctx, testnet.Space, "doc/1")
		if err != nil || len(e.Conflicts) != 1 || len(e.Conflicts[0].Losers) != 1 {
			t.Fatalf("peer %d: %s %+v %v", p.Index, e.Value, e.Conflicts, err)
		}
		got := string(e.Value) + " lost " + string(e.Conflicts[0].Losers[0].Value)
		if first == "" {
			first = got
		} else if got != first {
			t.Fatalf("peer %d reads %s, peer 0 %s", p.Index, got, first)
		}
	}
	if !strings.Contains(first, "left") || !strings.Contains(first, "right") {
		t.Fatalf("winner and loser: %s", first)
	}
}

// TestPutPutDelete: one peer puts twice, the other deletes concurrently; both end
// with the same state.
func TestPutPutDelete(t *testing.T) {
	nw := partitionedPair(t, "k/1", `1`)
	a, b := nw.Peer(0).Node, nw.Peer(1).Node
	for _, v := range []string{`2`, `3`} {
		if _, err := a.Put(ctx, testnet.Space, "k/1", []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Delete(ctx, testnet.Space, "k/1"); err != nil {
		t.Fatal(err)
	}
	nw.Heal()
	nw.WaitConverged(10 * time.Second)
}

// TestRandomPartitions: five peers write while random partitions come and go for a
// bounded time; after healing they converge and nothing acknowledged is lost.
func TestRandomPartitions(t *testing.T) {
	nw := testnet.New(t, 5, nil)
	deadline := time.Now().Add(3 * time.Second)
	for round := 0; time.Now().Before(deadline) && round < 30; round++ {
		perm := nw.Rng.Perm(5)
		cut := 1 + nw.Rng.IntN(4)
		nw.Heal()
		nw.Partition(perm[:cut], perm[cut:])
		for i := range 5 {
			for k := range 5 {
				if err := nw.Put(i, fmt.Sprintf("r%02d/p%d/%d", round, i, k), round); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	nw.Heal()
	t.Logf("converged %s after healing", nw.WaitConverged(30*time.Second))
	nw.CheckNoLostWrites()
}

// TestKilledMidSyncResumes: a peer killed while catching up, and restarted on its
// data directory, resumes and converges.
func TestKilledMidSyncResumes(t *testing.T) {
	nw := testnet.New(t, 2, nil)
	nw.Partition([]int{0}, []int{1})
	writeMany(t, nw, 0, size(3000))
	nw.Heal()
	deadline := time.Now().Add(10 * time.Second)
	for { // kill peer 1 once it holds part of what peer 0 wrote
		st, err := nw.Peer(1).Node.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if n := nodesIn(st, testnet.Space); n > 1 {
			t.Logf("killed with %d of %d nodes", n, size(3000))
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("peer 1 received nothing")
		}
		time.Sleep(time.Millisecond)
	}
	nw.Kill(1)
	nw.Restart(1)
	nw.WaitConverged(30 * time.Second)
	nw.CheckNoLostWrites()
}

func nodesIn(st korup2p.Stats, space string) int {
	for _, s := range st.Spaces {
		if s.Name == space {
			return s.Nodes
		}
	}
	return 0
}

// TestFreshPeerCatchesUp: a peer joining a space of 10,000 nodes catches up
// completely.
func TestFreshPeerCatchesUp(t *testing.T) {
	nw := testnet.New(t, 1, nil)
	writeMany(t, nw, 0, size(10000))
	start := time.Now()
	nw.AddPeer()
	nw.WaitConverged(60 * time.Second)
	t.Logf("a fresh peer caught up %d nodes in %s", size(10000), time.Since(start))
	nw.CheckNoLostWrites()
}

// TestLossySlowLinks: peers that lose 30% of the gossip they receive and get the
// rest 50 ms late still converge, with nothing acknowledged lost: heads
// announcements and the sync protocol repair what gossip dropped.
func TestLossySlowLinks(t *testing.T) {
	nw := testnet.New(t, 3, &testnet.Options{Drop: 0.3, Latency: 50 * time.Millisecond})
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() { writeMany(t, nw, i, size(300)) })
	}
	wg.Wait()
	t.Logf("converged %s after the last write", nw.WaitConverged(30*time.Second))
	nw.CheckNoLostWrites()
}

// TestInviteJoin: a peer joins another's restricted space from an invite ticket
// and syncs it; a bad ticket is refused clearly.
func TestInviteJoin(t *testing.T) {
	nw := testnet.New(t, 2, nil)
	a, b := nw.Peer(0).Node, nw.Peer(1).Node
	if _, err := a.CreateSpace("team", false); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Put(ctx, "team", "plan/1", []byte(`"ship it"`)); err != nil {
		t.Fatal(err)
	}
	ticket, err := a.Invite(context.Background(), "team", korup2p.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := b.Join(ctx, ticket, "")
	if err != nil || info.Name != "team" || info.Open {
		t.Fatalf("join: %+v, %v", info, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		e, err := b.Get(ctx, "team", "plan/1")
		if err == nil && string(e.Value) == `"ship it"` {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the joined space did not sync: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if again, err := b.Join(ctx, ticket, ""); err != nil || !again.ID.Equals(info.ID) {
		t.Fatalf("joining again: %+v, %v", again, err)
	}
	if _, err := b.Join(ctx, "korup2p1notaticket", ""); !errors.Is(err, korup2p.ErrInvalidTicket) {
		t.Fatalf("a bad ticket: %v", err)
	}
}

// TestFreshPeerFromSnapshot: a peer whose history was distilled serves a fresh peer
// its snapshot first, then the nodes after it; the fresh peer ends with the same
// state, and writes on either side keep converging.
func TestFreshPeerFromSnapshot(t *testing.T) {
	nw := testnet.New(t, 1, &testnet.Options{Retention: korup2p.Retention{Keep: 50}, SegmentSize: 16 << 10})
	for i := range 600 {
		if err := nw.Put(0, fmt.Sprintf("doc/%03d", i%200), map[string]any{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := nw.Peer(0).Node.Distill(ctx)
	if err != nil || res.Nodes == 0 {
		t.Fatalf("distill: %+v, %v", res, err)
	}
	t.Logf("distilled %d writes", res.Nodes)
	nw.AddPeer()
	nw.WaitConverged(30 * time.Second)
	nw.CheckNoLostWrites()
	if err := nw.Put(1, "doc/new", "from the fresh peer"); err != nil {
		t.Fatal(err)
	}
	if err := nw.Put(0, "doc/000", "after the cut"); err != nil {
		t.Fatal(err)
	}
	nw.WaitConverged(30 * time.Second)
	if h, err := nw.Peer(1).Node.History(ctx, testnet.Space, "doc/001"); err != nil || !h[0].Distilled {
		t.Fatalf("the fresh peer's history of doc/001: %+v, %v", h, err)
	}
}

// TestLatency: connected peers ping each other, and NetworkStats reports the
// latency and addresses of each.
func TestLatency(t *testing.T) {
	nw := testnet.New(t, 2, nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		ns := nw.Peer(0).Node.NetworkStats()
		p := nw.Peer(1).ID
		if ns.Latency[p] > 0 && len(ns.PeerAddrs[p]) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no latency for the other peer: %v %v", ns.Latency, ns.PeerAddrs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
