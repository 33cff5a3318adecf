package syncproto

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/dag/dagtest"
	"github.com/korup2p/korup2p/distinctions"
)

// Tests over real libp2p hosts, on 127.0.0.1 only.

func newHost(t testing.TB) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func connect(t testing.TB, a, b host.Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
		t.Fatal(err)
	}
}

// logs collects warnings.
type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) warn(msg string, kv ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintln(append([]any{msg}, kv...)...))
}

func (l *logs) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

type testNode struct {
	h    host.Host
	svc  *Service
	logs *logs
}

func newNode(t testing.TB, opts *Options) *testNode {
	t.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.InboundRate == 0 {
		o.InboundRate = -1 // tests sync often; TestRateLimit sets its own
	}
	n := &testNode{h: newHost(t), logs: &logs{}}
	if o.Warn == nil {
		o.Warn = n.logs.warn
	}
	n.svc = New(n.h, &o)
	t.Cleanup(n.svc.Close)
	return n
}

// pair returns two connected nodes serving a and b (nil: none).
func pair(t testing.TB, a, b Replica, oa, ob *Options) (*testNode, *testNode) {
	t.Helper()
	na, nb := newNode(t, oa), newNode(t, ob)
	connect(t, na.h, nb.h)
	if a != nil {
		na.svc.Register(a)
	}
	if b != nil {
		nb.svc.Register(b)
	}
	return na, nb
}

func syncNow(t testing.TB, from *testNode, to *testNode, space cid.Cid) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := from.svc.Sync(ctx, to.h.ID(), space)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	return res
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// noLeaks fails t if goroutines of this package outlive the test's services; it
// registers first so that it runs after every other cleanup.
func noLeaks(t testing.TB) {
	t.Helper()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		buf := make([]byte, 16<<20)
		for {
			var leaked []string
			n := runtime.Stack(buf, true)
			for _, g := range strings.Split(string(buf[:n]), "\n\n") {
				if strings.Contains(g, "syncproto.(*session)") || strings.Contains(g, "syncproto.(*Service)") || strings.Contains(g, "syncproto.(*fakeReplica)") {
					leaked = append(leaked, g)
				}
			}
			if len(leaked) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%d goroutines outlived the services:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

func spaceStatus(svc *Service, p peer.ID, space cid.Cid) (SpaceStatus, PeerStatus, bool) {
	for _, ps := range svc.Status() {
		if ps.Peer != p {
			continue
		}
		for _, s := range ps.Spaces {
			if s.Space.Equals(space) {
				return s, ps, true
			}
		}
		return SpaceStatus{}, ps, false
	}
	return SpaceStatus{}, PeerStatus{}, false
}

func sessions(svc *Service, p peer.ID, space cid.Cid) int {
	s, _, _ := spaceStatus(svc, p, space)
	return s.Sessions
}

func TestSyncIdentical(t *testing.T) {
	noLeaks(t)
	h := chainOf(t, 200, 1, nil)
	a, b := h.replica(t), h.replica(t)
	na, nb := pair(t, a, b, nil, nil)
	res := syncNow(t, na, nb, h.g.CID())
	if res.RoundTrips != 1 || !res.InSync || res.NodesSent+res.NodesReceived != 0 {
		t.Fatalf("identical sets: %+v; want one round trip, in sync, nothing sent", res)
	}
	t.Logf("identical 201 nodes: %d round trip, %d bytes sent, %d received, %v", res.RoundTrips, res.BytesSent, res.BytesReceived, res.Duration)
	waitFor(t, "responder status", func() bool { return sessions(nb.svc, na.h.ID(), h.g.CID()) == 1 })
	if st, _, _ := spaceStatus(nb.svc, na.h.ID(), h.g.CID()); !st.InSync || st.LastError != "" {
		t.Errorf("responder status %+v", st)
	}
}

func TestSyncDisjoint1k(t *testing.T) {
	noLeaks(t)
	ha, hb := chainOf(t, 1000, 1, nil), chainOf(t, 1000, 2, nil)
	a, b := ha.replica(t), hb.replica(t)
	na, nb := pair(t, a, b, nil, nil)
	res := syncNow(t, na, nb, ha.g.CID())
	wantUnion(t, a, b, 2001)
	if res.RoundTrips > 8 {
		t.Errorf("%d round trips, want at most 8", res.RoundTrips)
	}
	if res.NodesSent != 1000 || res.NodesReceived != 1000 || !res.InSync || res.Behind != 1000 || res.Ahead != 1000 {
		t.Errorf("result %+v; want 1000 nodes each way, in sync", res)
	}
	t.Logf("disjoint 1,000 + 1,000: %d round trips, %d bytes sent, %d received, %v", res.RoundTrips, res.BytesSent, res.BytesReceived, res.Duration)
}

func TestCatchUp10k(t *testing.T) {
	noLeaks(t)
	h := chainOf(t, 10_000, 3, nil)
	a, b := h.replica(t), h.fresh(t)
	var mu sync.Mutex
	var calls, lastDone, lastTotal int
	progress := func(p peer.ID, space cid.Cid, done, total int) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		lastDone, lastTotal = done, total
	}
	na, nb := pair(t, a, b, nil, &Options{Progress: progress})
	res := syncNow(t, nb, na, h.g.CID())
	wantUnion(t, a, b, 10_001)
	if res.NodesReceived != 10_000 || res.Applied != 10_000 || !res.InSync || res.RoundTrips > 3 {
		t.Errorf("result %+v", res)
	}
	mu.Lock()
	if lastDone != 10_000 || lastTotal != 10_000 || calls < 10_000/DefaultBatchNodes {
		t.Errorf("progress: %d calls, last %d/%d", calls, lastDone, lastTotal)
	}
	mu.Unlock()
	st, _, _ := spaceStatus(nb.svc, na.h.ID(), h.g.CID())
	if !st.InSync || st.Behind != 10_000 || st.NodesReceived != 10_000 || st.BytesReceived != res.BytesReceived {
		t.Errorf("status %+v", st)
	}
	t.Logf("catch-up of 10,000 nodes: %v, %d round trips, %d bytes received (%.0f nodes/s)", res.Duration, res.RoundTrips, res.BytesReceived, 10_000/res.Duration.Seconds())
}

func TestFewDivergentInLarge(t *testing.T) {
	noLeaks(t)
	common := chainOf(t, 10_000, 3, nil)
	ha, hb := chainOf(t, 3, 4, common), chainOf(t, 2, 5, common)
	a, b := ha.replica(t), hb.replica(t)
	na, nb := pair(t, a, b, nil, nil)
	res := syncNow(t, na, nb, common.g.CID())
	wantUnion(t, a, b, 10_006)
	if res.RoundTrips > 6 || res.NodesSent != 3 || res.NodesReceived != 2 {
		t.Errorf("result %+v; want at most 6 round trips, 3 nodes sent, 2 received", res)
	}
	t.Logf("5 divergent in 10,000 common: %d round trips, %d bytes sent, %d received, %v", res.RoundTrips, res.BytesSent, res.BytesReceived, res.Duration)

	// A single node on a side branch deep in the history (not at the top) is found too.
	side, err := dagtest.NewAuthor(8).Node(common.g.CID(), []*dag.Node{common.nodes[4321]}, dagtest.Set("side/1", `true`))
	if err != nil {
		t.Fatal(err)
	}
	c, d := common.replica(t), common.replica(t)
	if err := c.store.PutVerified(side); err != nil {
		t.Fatal(err)
	}
	nc, nd := pair(t, c, d, nil, nil)
	res = syncNow(t, nd, nc, common.g.CID())
	wantUnion(t, c, d, 10_002)
	if res.RoundTrips > 6 || res.NodesReceived != 1 {
		t.Errorf("side branch: %+v", res)
	}
	t.Logf("one side-branch node at height %d among 10,000: %d round trips, %d bytes sent, %d received", side.Height, res.RoundTrips, res.BytesSent, res.BytesReceived)
}

func TestInterruptedResume(t *testing.T) {
	noLeaks(t)
	h := chainOf(t, 10_000, 3, nil)
	a, b := h.replica(t), h.fresh(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	progress := func(p peer.ID, space cid.Cid, done, total int) {
		if done >= 2048 {
			cancel()
		}
	}
	na, nb := pair(t, a, b, nil, &Options{Progress: progress, BatchNodes: 256})
	if _, err := nb.svc.Sync(ctx, na.h.ID(), h.g.CID()); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted Sync: %v, want context.Canceled", err)
	}
	waitFor(t, "both sessions to end", func() bool {
		return sessions(nb.svc, na.h.ID(), h.g.CID()) == 1 && sessions(na.svc, nb.h.ID(), h.g.CID()) == 1
	})
	held := storeLen(b)
	if held <= 2048 || held >= 10_001 {
		t.Fatalf("after the interruption b holds %d nodes", held)
	}
	st, _, _ := spaceStatus(nb.svc, na.h.ID(), h.g.CID())
	if st.LastError == "" || st.InSync {
		t.Errorf("status after interruption: %+v", st)
	}
	res := syncNow(t, nb, na, h.g.CID())
	wantUnion(t, a, b, 10_001)
	if res.NodesReceived != 10_001-held || res.NodesSent != 0 {
		t.Errorf("resumed sync received %d nodes (sent %d), want only the %d remaining", res.NodesReceived, res.NodesSent, 10_001-held)
	}
	t.Logf("interrupted after %d nodes; the next sync moved the remaining %d in %d round trips, %v", held-1, res.NodesReceived, res.RoundTrips, res.Duration)
}

// rawStream opens a protocol stream from h to p without a service.
func rawStream(t testing.TB, h host.Host, p peer.ID) network.Stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := h.NewStream(ctx, p, ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	_ = st.SetDeadline(time.Now().Add(10 * time.Second))
	return st
}

// readAll reads st until an error and returns what it read and the error.
func readAll(st network.Stream) ([]byte, error) {
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := st.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out, err
		}
	}
}

func TestGarbagePeerRefused(t *testing.T) {
	noLeaks(t)
	h := chainOf(t, 50, 1, nil)
	a, b := h.replica(t), h.fresh(t)
	na, nb := pair(t, a, b, nil, nil)
	bad := newHost(t)
	connect(t, bad, na.h)
	hello := frame(t, msgHello, &helloMsg{V: 1, Space: linkOf(h.g.CID())})
	garbage := [][]byte{
		{0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, // not [type, body]
		{0xff, 0xff, 0xff, 0xff, 0x7f},                                     // a 34 GB message
		append([]byte{0x05, 0x82, byte(msgHello)}, 0xa1, 0x61, 'x', 0x00),  // wrong fields
		frame(t, msgBlocks, &blocksMsg{Blocks: [][]byte{{1}}}),             // out of turn
	}
	for i, g := range garbage {
		st := rawStream(t, bad, na.h.ID())
		if _, err := st.Write(g); err != nil {
			t.Fatal(err)
		}
		if got, err := readAll(st); err == nil || len(got) != 0 {
			t.Fatalf("garbage %d: read %x, %v; want the stream reset", i, got, err)
		}
		_ = st.Close()
	}
	waitFor(t, "the bad peer to be refused", func() bool {
		_, ps, _ := spaceStatus(na.svc, bad.ID(), h.g.CID())
		return !ps.BannedUntil.IsZero()
	})
	if !na.logs.contains("refusing peer") {
		t.Error("no warning logged for the refused peer")
	}
	// Refused now even with a valid hello: reset, no answer.
	st := rawStream(t, bad, na.h.ID())
	_, _ = st.Write(hello)
	if got, err := readAll(st); err == nil || errors.Is(err, io.EOF) || len(got) != 0 {
		t.Fatalf("refused peer's hello: read %x, %v; want a reset", got, err)
	}
	// Others are still served, and we do not dial the refused peer either.
	res := syncNow(t, nb, na, h.g.CID())
	if res.NodesReceived != 50 {
		t.Errorf("good peer after the ban: %+v", res)
	}
	if _, err := na.svc.Sync(context.Background(), bad.ID(), h.g.CID()); !errors.Is(err, ErrBanned) {
		t.Errorf("Sync with the refused peer: %v, want ErrBanned", err)
	}
}

// corrupting serves every node with one signature byte flipped.
type corrupting struct{ *fakeReplica }

func (c corrupting) Block(id cid.Cid) ([]byte, error) {
	b, err := c.fakeReplica.Block(id)
	if err != nil {
		return nil, err
	}
	b = append([]byte(nil), b...)
	b[len(b)-1] ^= 1
	return b, nil
}

func TestInvalidNodesScoredDown(t *testing.T) {
	noLeaks(t)
	h := chainOf(t, 200, 1, nil)
	a, b := corrupting{h.replica(t)}, h.fresh(t)
	b.trustSigs = false
	type ban struct {
		p     peer.ID
		until time.Time
	}
	bans := make(chan ban, 4)
	onBan := func(p peer.ID, until time.Time, why string) { bans <- ban{p, until} }
	na, nb := pair(t, a, b, &Options{BatchNodes: 10}, &Options{OnBan: onBan})
	_, err := nb.svc.Sync(context.Background(), na.h.ID(), h.g.CID())
	if !errors.Is(err, ErrBanned) {
		t.Fatalf("Sync with a peer sending invalid nodes: %v, want ErrBanned", err)
	}
	if storeLen(b) != 1 {
		t.Errorf("b stored %d nodes", storeLen(b))
	}
	_, ps, _ := spaceStatus(nb.svc, na.h.ID(), h.g.CID())
	if ps.BannedUntil.IsZero() {
		t.Errorf("peer not refused: %+v", ps)
	}
	select { // OnBan told once, with the same end
	case got := <-bans:
		if got.p != na.h.ID() || !got.until.Equal(ps.BannedUntil) {
			t.Errorf("OnBan(%s, %v), want (%s, %v)", got.p, got.until, na.h.ID(), ps.BannedUntil)
		}
	default:
		t.Error("OnBan not called")
	}
	if len(bans) != 0 {
		t.Errorf("OnBan called %d more times", len(bans))
	}
	if b.rejected < 40 || b.rejected > 60 {
		t.Errorf("rejected %d nodes before refusing the peer, want about 40", b.rejected)
	}
}

func TestMaxInbound(t *testing.T) {
	noLeaks(t)
	h := chainOf(t, 20, 1, nil)
	a, b := h.replica(t), h.fresh(t)
	na, nb := pair(t, a, b, &Options{MaxInbound: 1}, nil)
	slow := newHost(t)
	connect(t, slow, na.h)
	st := rawStream(t, slow, na.h.ID())
	if _, err := st.Write([]byte{0x05}); err != nil { // a length, and no message
		t.Fatal(err)
	}
	waitFor(t, "the slow session to take the slot", func() bool { return len(na.svc.inbound) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := nb.svc.Sync(ctx, na.h.ID(), h.g.CID()); err == nil {
		t.Fatal("Sync succeeded beyond MaxInbound")
	}
	_ = st.Reset()
	waitFor(t, "the slot to free", func() bool { return len(na.svc.inbound) == 0 })
	if res := syncNow(t, nb, na, h.g.CID()); res.NodesReceived != 20 {
		t.Errorf("after the slot freed: %+v", res)
	}
}

func TestRateLimit(t *testing.T) {
	noLeaks(t)
	h := chainOf(t, 20, 1, nil)
	na, nb := pair(t, h.replica(t), h.replica(t), &Options{InboundRate: 0.001, InboundBurst: 2}, nil)
	for range 2 {
		syncNow(t, nb, na, h.g.CID())
	}
	_, err := nb.svc.Sync(context.Background(), na.h.ID(), h.g.CID())
	var refused *RefusedError
	if !errors.As(err, &refused) || refused.Code != RefuseRateLimited || !errors.Is(err, ErrRefused) {
		t.Fatalf("third Sync: %v, want refused as rate-limited", err)
	}
	if _, ps, _ := spaceStatus(na.svc, nb.h.ID(), h.g.CID()); ps.Score != 0 {
		t.Errorf("rate limiting scored the peer down: %v", ps.Score)
	}
}

func TestUnknownSpaceAndAuthorize(t *testing.T) {
	noLeaks(t)
	h := chainOf(t, 20, 1, nil)
	other := dagtestSpace(t, "other")
	forbid := func(p peer.ID, space cid.Cid) error {
		if space.Equals(other.space) {
			return errors.New("no read capability")
		}
		return nil
	}
	na, nb := pair(t, h.replica(t), h.fresh(t), &Options{Authorize: forbid}, nil)
	nb.svc.Register(other)
	var refused *RefusedError
	if _, err := nb.svc.Sync(context.Background(), na.h.ID(), other.space); !errors.As(err, &refused) || refused.Code != RefuseUnknownSpace {
		t.Errorf("unknown space: %v", err)
	}
	na.svc.Register(dagtestSpace(t, "other"))
	if _, err := nb.svc.Sync(context.Background(), na.h.ID(), other.space); !errors.As(err, &refused) || refused.Code != RefuseForbidden || !strings.Contains(refused.Reason, "capability") {
		t.Errorf("forbidden space: %v", err)
	}
	if _, err := nb.svc.Sync(context.Background(), na.h.ID(), testCID(1)); !errors.Is(err, ErrUnknownSpace) {
		t.Errorf("Sync of an unregistered space: %v, want ErrUnknownSpace", err)
	}
	nb.svc.Unregister(other.space)
	if _, err := nb.svc.Sync(context.Background(), na.h.ID(), other.space); !errors.Is(err, ErrUnknownSpace) {
		t.Errorf("Sync after Unregister: %v, want ErrUnknownSpace", err)
	}
}

func dagtestSpace(t testing.TB, name string) *fakeReplica {
	t.Helper()
	g, err := dag.NewOpenGenesis(name)
	if err != nil {
		t.Fatal(err)
	}
	s := dag.NewMemStore()
	if err := s.PutVerified(g); err != nil {
		t.Fatal(err)
	}
	return newFake(s, g.CID())
}

func TestCoalesce(t *testing.T) {
	noLeaks(t)
	h := chainOf(t, 2000, 1, nil)
	a, b := h.replica(t), h.fresh(t)
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	progress := func(peer.ID, cid.Cid, int, int) {
		once.Do(func() {
			close(started)
			select { // hold the session until the second caller joined (bounded)
			case <-release:
			case <-time.After(10 * time.Second):
			}
		})
	}
	na, nb := pair(t, a, b, nil, &Options{Progress: progress})
	type out struct {
		res Result
		err error
	}
	results := make(chan out, 2)
	call := func() {
		res, err := nb.svc.Sync(context.Background(), na.h.ID(), h.g.CID())
		results <- out{res, err}
	}
	go call()
	<-started
	go call()
	key := sessionKey{na.h.ID(), h.g.CID()}
	waitFor(t, "the second caller to join", func() bool {
		nb.svc.mu.Lock()
		defer nb.svc.mu.Unlock()
		return nb.svc.calls[key] != nil && nb.svc.calls[key].waiters == 2
	})
	close(release)
	r1, r2 := <-results, <-results
	if r1.err != nil || r2.err != nil || r1.res != r2.res || r1.res.NodesReceived != 2000 {
		t.Fatalf("coalesced results: %+v / %+v", r1, r2)
	}
	waitFor(t, "responder status", func() bool { return sessions(na.svc, nb.h.ID(), h.g.CID()) == 1 })
	if n := sessions(nb.svc, na.h.ID(), h.g.CID()); n != 1 {
		t.Errorf("%d sessions for two coalesced calls", n)
	}
}

func TestCloseEndsSessions(t *testing.T) {
	noLeaks(t)
	h := chainOf(t, 2000, 1, nil)
	a, b := h.replica(t), h.fresh(t)
	started := make(chan struct{})
	var once sync.Once
	na, nb := pair(t, a, b, nil, nil)
	b.onIngest = func(*fakeReplica, [][]byte) { once.Do(func() { close(started) }) }
	errc := make(chan error, 1)
	go func() {
		_, err := nb.svc.Sync(context.Background(), na.h.ID(), h.g.CID())
		errc <- err
	}()
	<-started
	na.svc.Close()
	if err := <-errc; err == nil {
		t.Log("sync finished before the peer closed") // possible on a fast machine
	}
	if _, err := na.svc.Sync(context.Background(), nb.h.ID(), h.g.CID()); !errors.Is(err, ErrClosed) {
		t.Errorf("Sync after Close: %v", err)
	}
}

func TestSnapshotBootstrap(t *testing.T) {
	noLeaks(t)
	full := chainOf(t, 200, 6, nil)
	a := distilled(t, full.g, full.nodes, 99)
	b := full.fresh(t)
	na, nb := pair(t, a, b, &Options{BatchBytes: 64 << 10}, nil)
	res := syncNow(t, nb, na, full.g.CID())
	if !res.Snapshot || !res.InSync || res.NodesReceived != 100 {
		t.Errorf("result %+v; want a snapshot bootstrap, then 100 nodes", res)
	}
	wantUnion(t, a, b, 102)
	root, cut, _ := b.Snapshot()
	if !root.Equals(a.snapRoot) || len(cut) != 1 || !cut[0].Equals(full.nodes[99].CID()) || len(b.snap) != 6 {
		t.Errorf("installed snapshot %s cut %v with %d blocks; want %s with 6 blocks", root, cut, len(b.snap), a.snapRoot)
	}
	t.Logf("snapshot bootstrap: %d round trips, %d bytes received, %v", res.RoundTrips, res.BytesReceived, res.Duration)
}

func TestSnapshotPushedToResponder(t *testing.T) {
	noLeaks(t)
	full := chainOf(t, 200, 6, nil)
	a := distilled(t, full.g, full.nodes, 99)
	b := full.fresh(t)
	na, nb := pair(t, a, b, nil, nil)
	res := syncNow(t, na, nb, full.g.CID())
	if !res.InSync || res.NodesSent != 100 {
		t.Errorf("result %+v", res)
	}
	wantUnion(t, a, b, 102)
	if root, _, _ := b.Snapshot(); !root.Equals(a.snapRoot) {
		t.Errorf("responder installed %s, want %s", root, a.snapRoot)
	}
}

// TestDistilledPeerGetsOffers: a peer whose history before its cut was distilled
// lists only the nodes after it; the full peer offers what the peer seems to lack
// instead of pushing it, and sends only what the peer really lacks.
func TestDistilledPeerGetsOffers(t *testing.T) {
	noLeaks(t)
	full := chainOf(t, 200, 6, nil)
	more := chainOf(t, 5, 7, full)
	a := distilled(t, full.g, full.nodes, 99)
	a.distilledHas = map[cid.Cid]bool{}
	for _, n := range full.nodes[:99] {
		a.distilledHas[n.CID()] = true
	}
	b := more.replica(t)
	na, nb := pair(t, a, b, nil, nil)
	res := syncNow(t, nb, na, full.g.CID())
	if res.NodesSent != 5 || res.NodesReceived != 0 || !res.InSync {
		t.Errorf("result %+v; want the 5 new nodes sent, nothing else", res)
	}
	if storeLen(a) != 107 {
		t.Errorf("a holds %d nodes, want 107", storeLen(a))
	}
	t.Logf("distilled peer: %d round trips, %d bytes sent", res.RoundTrips, res.BytesSent)
}

func TestSnapshotRootCheck(t *testing.T) {
	// A snapshot whose chunk is missing from the transfer is a violation.
	var ss session
	ss.svc = &Service{opts: (*Options)(nil).withDefaults()}
	root, err := distinctions.Encode(fakeSnapRoot{V: 1, Chunks: toLinks([]cid.Cid{testCID(1)})})
	if err != nil {
		t.Fatal(err)
	}
	ss.snapRoot = root.CID
	if _, err := ss.receiveSnapshot(&snapBlocksMsg{Blocks: [][]byte{root.Bytes}, End: true}); !errors.Is(err, ErrProtocol) {
		t.Errorf("missing chunk: %v, want ErrProtocol", err)
	}
	ss.snapRoot = cid.Undef
	if _, err := ss.receiveSnapshot(&snapBlocksMsg{Blocks: [][]byte{root.Bytes}}); !errors.Is(err, ErrProtocol) {
		t.Errorf("unasked snapshot: %v, want ErrProtocol", err)
	}
}

// preparing is a replica that checks each batch ahead of ingesting it (a Preparer).
type preparing struct {
	*fakeReplica
	mu       sync.Mutex
	order    []int // the sequence number of each batch IngestPrepared got
	prepared int
	direct   int // Ingest calls, which a session must not make to a Preparer
}

type preparedBatch struct {
	seq    int
	blocks [][]byte
}

func (p *preparing) Prepare(_ peer.ID, blocks [][]byte) any {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prepared++
	return preparedBatch{seq: p.prepared, blocks: blocks}
}

func (p *preparing) IngestPrepared(from peer.ID, x any) (IngestResult, error) {
	b := x.(preparedBatch)
	p.mu.Lock()
	p.order = append(p.order, b.seq)
	p.mu.Unlock()
	return p.fakeReplica.Ingest(from, b.blocks)
}

func (p *preparing) Ingest(from peer.ID, blocks [][]byte) (IngestResult, error) {
	p.mu.Lock()
	p.direct++
	p.mu.Unlock()
	return p.fakeReplica.Ingest(from, blocks)
}

// TestPreparer: a replica that is a Preparer has every batch prepared (in the
// session's reader) and then ingested from what Prepare returned, in arrival order.
func TestPreparer(t *testing.T) {
	noLeaks(t)
	h := chainOf(t, 2000, 4, nil)
	a := h.replica(t)
	b := &preparing{fakeReplica: h.fresh(t)}
	na, nb := pair(t, a, b, nil, nil)
	res := syncNow(t, nb, na, h.g.CID())
	wantUnion(t, a, b.fakeReplica, 2001)
	if res.Applied != 2000 || !res.InSync {
		t.Errorf("result %+v", res)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.direct != 0 {
		t.Errorf("Ingest called %d times on a Preparer", b.direct)
	}
	if want := 2000 / DefaultBatchNodes; b.prepared < want || len(b.order) != b.prepared {
		t.Fatalf("%d batches prepared, %d ingested; want at least %d, all ingested", b.prepared, len(b.order), want)
	}
	for i, seq := range b.order {
		if seq != i+1 {
			t.Fatalf("batches ingested in the order %v, not as they came", b.order)
		}
	}
}
