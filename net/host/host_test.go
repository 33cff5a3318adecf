package host

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

func TestParseAddr(t *testing.T) {
	id := "12D3KooWGzBNmWc7j2qPxe1rUGnwqN8X6Gkp5eKzjRwsLdaByGvn"
	for _, tc := range []struct {
		in   string
		want error // nil: parses
	}{
		{"/ip4/127.0.0.1/tcp/4001/p2p/" + id, nil},
		{"/ip4/127.0.0.1/udp/4001/quic-v1/p2p/" + id, nil},
		{" /ip4/10.0.0.1/tcp/1/p2p/" + id + "\n", nil},
		{"", ErrMalformedAddr},
		{"127.0.0.1:4001", ErrMalformedAddr},
		{"/ip4/127.0.0.1/tcp/notaport/p2p/" + id, ErrMalformedAddr},
		{"/ip4/127.0.0.1/tcp/4001/p2p/notapeerid", ErrMalformedAddr},
		{"/ip4/127.0.0.1/tcp/4001", ErrNoPeerID},
		{"/p2p/" + id, ErrNoTransport},
	} {
		info, err := ParseAddr(tc.in)
		if tc.want == nil {
			if err != nil {
				t.Errorf("ParseAddr(%q): %v", tc.in, err)
			} else if info.ID.String() != id || len(info.Addrs) != 1 {
				t.Errorf("ParseAddr(%q) = %v", tc.in, info)
			}
			continue
		}
		var ae *AddrError
		if !errors.Is(err, tc.want) || !errors.As(err, &ae) || ae.Addr != tc.in {
			t.Errorf("ParseAddr(%q) error = %v, want an *AddrError wrapping %v", tc.in, err, tc.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	b := backoff{min: 250 * time.Millisecond, max: 30 * time.Second}
	ceil := b.min
	for i := range 20 {
		lo, hi := b.next(0), ceil
		b2 := backoff{min: b.min, max: b.max, cur: ceil}
		top := b2.next(0.999999)
		if lo != ceil/2 || top < lo || top >= hi {
			t.Fatalf("step %d: delays [%v, %v], want [%v, %v)", i, lo, top, ceil/2, hi)
		}
		ceil = min(ceil*2, b.max)
	}
	if !b.atMax() || b.next(0.5) > b.max {
		t.Fatalf("backoff did not cap at %v: %+v", b.max, b)
	}
	b.reset()
	if d := b.next(0); d != b.min/2 || b.atMax() {
		t.Fatalf("after reset, delay %v", d)
	}
}

func TestNewConfig(t *testing.T) {
	checkNoLeaks(t)
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "Key") {
		t.Errorf("New without a key: %v", err)
	}
	cfg := testConfig(t)
	cfg.Listen = []string{"not an address"}
	if _, err := New(cfg); err == nil {
		t.Error("New with a bad listen address succeeded")
	}
	cfg = testConfig(t)
	cfg.Bootstrap = []string{"/ip4/127.0.0.1/tcp/4001"}
	if _, err := New(cfg); !errors.Is(err, ErrNoPeerID) {
		t.Errorf("New with a bootstrap address lacking /p2p: %v", err)
	}
	cfg = testConfig(t)
	cfg.ConnLow, cfg.ConnHigh = 10, 5
	if _, err := New(cfg); err == nil {
		t.Error("New with ConnLow > ConnHigh succeeded")
	}

	h := newHost(t, testConfig(t))
	addrs := h.Addrs()
	if len(addrs) < 2 {
		t.Fatalf("Addrs() = %v, want TCP and QUIC", addrs)
	}
	for _, a := range addrs {
		info, err := ParseAddr(a.String())
		if err != nil || info.ID != h.ID() {
			t.Errorf("Addrs() has %v: %v", a, err)
		}
		if ip, _ := a.ValueForProtocol(ma.P_IP4); ip != "127.0.0.1" {
			t.Errorf("Addrs() has %v, not on 127.0.0.1", a)
		}
	}
	addr(t, h, "tcp")
	addr(t, h, "quic-v1")
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestConnect(t *testing.T) {
	for _, transport := range []string{"tcp", "quic-v1"} {
		t.Run(transport, func(t *testing.T) {
			checkNoLeaks(t)
			a, b := newHost(t, testConfig(t)), newHost(t, testConfig(t))
			ra, rb := record(a), record(b)
			ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
			defer cancel()
			id, err := a.Connect(ctx, addr(t, b, transport))
			if err != nil || id != b.ID() {
				t.Fatalf("Connect = %v, %v; want %v", id, err, b.ID())
			}
			ra.wait(t, b.ID(), PeerConnected)
			rb.wait(t, a.ID(), PeerConnected)
			conns := a.Host.Network().ConnsToPeer(b.ID())
			if len(conns) != 1 {
				t.Fatalf("%d connections to b", len(conns))
			}
			code := map[string]int{"tcp": ma.P_TCP, "quic-v1": ma.P_QUIC_V1}[transport]
			if _, err := conns[0].RemoteMultiaddr().ValueForProtocol(code); err != nil {
				t.Fatalf("connected over %v, want %s", conns[0].RemoteMultiaddr(), transport)
			}
			// A stream works: ping is on.
			if _, err := a.Host.NewStream(ctx, b.ID(), "/ipfs/ping/1.0.0"); err != nil {
				t.Fatalf("ping stream: %v", err)
			}
		})
	}
}

func TestConnectErrors(t *testing.T) {
	checkNoLeaks(t)
	a := newHost(t, testConfig(t))
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()

	if _, err := a.Connect(ctx, "/ip4/127.0.0.1/tcp/"); !errors.Is(err, ErrMalformedAddr) {
		t.Errorf("malformed: %v", err)
	}
	if _, err := a.Connect(ctx, "/ip4/127.0.0.1/tcp/4001"); !errors.Is(err, ErrNoPeerID) ||
		!strings.Contains(err.Error(), "/p2p") {
		t.Errorf("no /p2p: %v", err)
	}
	if _, err := a.Connect(ctx, addr(t, a, "tcp")); !errors.Is(err, ErrSelf) {
		t.Errorf("self: %v", err)
	}

	// A well-formed address where nobody listens: a dial error, and not kept.
	gone := newHost(t, testConfig(t))
	goneAddr, goneID := addr(t, gone, "tcp"), gone.ID()
	gone.Close()
	ra := record(a)
	dctx, dcancel := context.WithTimeout(ctx, 2*time.Second)
	defer dcancel()
	id, err := a.Connect(dctx, goneAddr)
	if err == nil || id != goneID {
		t.Fatalf("Connect to a closed host = %v, %v", id, err)
	}
	// A restarted peer at that address would be found only by a keeper that kept it.
	back := testConfig(t)
	back.Key = gone.cfg.Key
	back.Listen = []string{strings.TrimSuffix(goneAddr, "/p2p/"+goneID.String())}
	newHost(t, back)
	ra.none(t, goneID, PeerConnected, 500*time.Millisecond)

	a.Close()
	if _, err := a.Connect(ctx, goneAddr); !errors.Is(err, ErrClosed) {
		t.Errorf("Connect after Close: %v", err)
	}
}

func TestKeeperRedials(t *testing.T) {
	for _, transport := range []string{"tcp", "quic-v1"} {
		t.Run(transport, func(t *testing.T) {
			checkNoLeaks(t)
			a, b := newHost(t, testConfig(t)), newHost(t, testConfig(t))
			ra, rb := record(a), record(b)
			ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
			defer cancel()
			if _, err := a.Connect(ctx, addr(t, b, transport)); err != nil {
				t.Fatal(err)
			}
			ra.wait(t, b.ID(), PeerConnected)
			// b drops the connection three times; a redials each time.
			for range 3 {
				rb.wait(t, a.ID(), PeerConnected) // b too has the connection it drops
				// A redial may open a second connection that b only sees once its
				// handshake ends: b drops whatever it holds until a holds none.
				eventually(t, "b drops every connection with a", func() bool {
					if err := b.Host.Network().ClosePeer(a.ID()); err != nil {
						t.Fatal(err)
					}
					return a.Host.Network().Connectedness(b.ID()) != network.Connected
				})
				ra.wait(t, b.ID(), PeerDisconnected)
				ra.wait(t, b.ID(), PeerConnected)
			}
		})
	}
}

func TestKeeperRedialsRestartedPeer(t *testing.T) {
	checkNoLeaks(t)
	var log debugLog
	acfg := testConfig(t)
	acfg.Debug = log.hook()
	a := newHost(t, acfg)
	bcfg := testConfig(t)
	// TCP only: a dial to a closed TCP port fails at once, where QUIC would wait out
	// the dial timeout.
	bcfg.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	b := newHost(t, bcfg)
	ra := record(a)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	baddr := addr(t, b, "tcp")
	if _, err := a.Connect(ctx, baddr); err != nil {
		t.Fatal(err)
	}
	ra.wait(t, b.ID(), PeerConnected)

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	ra.wait(t, b.ID(), PeerDisconnected)
	// Let a fail a few redials before b is back on the same port with the same key.
	eventually(t, "a redials the closed peer and fails twice", func() bool {
		return log.count("redial failed") >= 2
	})
	bcfg.Listen = []string{strings.TrimSuffix(baddr, "/p2p/"+b.ID().String())}
	b2 := newHost(t, bcfg)
	if b2.ID() != b.ID() {
		t.Fatal("restarted peer has another ID")
	}
	ra.wait(t, b.ID(), PeerConnected)
}

func TestBootstrap(t *testing.T) {
	checkNoLeaks(t)
	b := newHost(t, testConfig(t))
	rb := record(b)
	cfg := testConfig(t)
	cfg.Bootstrap = []string{addr(t, b, "quic-v1")}
	a := newHost(t, cfg)
	rb.wait(t, a.ID(), PeerConnected)
	// Kept: b dropping it brings it back.
	if err := b.Host.Network().ClosePeer(a.ID()); err != nil {
		t.Fatal(err)
	}
	rb.wait(t, a.ID(), PeerDisconnected)
	rb.wait(t, a.ID(), PeerConnected)

	// Its own address in the bootstrap list is skipped.
	self := testConfig(t)
	probe := newHost(t, Config{Key: self.Key, Listen: loopback})
	self.Bootstrap = []string{addr(t, probe, "tcp")}
	probe.Close()
	newHost(t, self)
}

func TestForget(t *testing.T) {
	checkNoLeaks(t)
	a, b := newHost(t, testConfig(t)), newHost(t, testConfig(t))
	ra, rb := record(a), record(b)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if _, err := a.Connect(ctx, addr(t, b, "tcp")); err != nil {
		t.Fatal(err)
	}
	ra.wait(t, b.ID(), PeerConnected)
	rb.wait(t, a.ID(), PeerConnected)
	a.Forget(b.ID())
	if err := b.Host.Network().ClosePeer(a.ID()); err != nil {
		t.Fatal(err)
	}
	ra.wait(t, b.ID(), PeerDisconnected)
	// 500 ms is 25 times RedialMin: a kept peer would have been redialed.
	ra.none(t, b.ID(), PeerConnected, 500*time.Millisecond)
	if a.Host.ConnManager().IsProtected(b.ID(), keepTag) {
		t.Error("a forgotten peer is still protected from trimming")
	}
}

// connectPair connects a to b over TCP and returns a's events, once a has seen b.
func connectPair(ctx context.Context, t *testing.T, a, b *Host) *recorder {
	t.Helper()
	ra := record(a)
	if _, err := a.Connect(ctx, addr(t, b, "tcp")); err != nil {
		t.Fatal(err)
	}
	ra.wait(t, b.ID(), PeerConnected)
	return ra
}

// refusedInbound has b dial a, which refuses b, over transport tr. libp2p settles
// the muxer inside the security handshake, so b's dial can complete before a's
// gater learns who is calling; a refuses it then, before it counts as a
// connection, and b loses it at once.
func refusedInbound(ctx context.Context, t *testing.T, a, b *Host, tr string) {
	t.Helper()
	if _, err := b.Connect(ctx, addr(t, a, tr)); err == nil {
		b.Forget(a.ID())
		eventually(t, "b loses the connection a refused", func() bool {
			return len(b.Host.Network().ConnsToPeer(a.ID())) == 0
		})
	}
}

func TestGaterBlock(t *testing.T) {
	checkNoLeaks(t)
	var log debugLog
	acfg := testConfig(t)
	acfg.Debug = log.hook()
	a, b := newHost(t, acfg), newHost(t, testConfig(t))
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	ra := connectPair(ctx, t, a, b)

	a.Gater().Block(b.ID())
	ra.wait(t, b.ID(), PeerDisconnected)
	if got := a.Gater().Blocked(); !slices.Equal(got, []peer.ID{b.ID()}) {
		t.Fatalf("Blocked() = %v", got)
	}
	// Refused both ways, over both transports.
	for _, tr := range []string{"tcp", "quic-v1"} {
		if _, err := a.Connect(ctx, addr(t, b, tr)); err == nil {
			t.Errorf("a dialed blocked b over %s", tr)
		}
		refusedInbound(ctx, t, a, b, tr)
	}
	// a never had a connection to b: no event, and nothing to redial.
	ra.none(t, b.ID(), PeerConnected, 200*time.Millisecond)
	// The keeper parks a blocked peer rather than redialing it: 200 ms is 10 times
	// RedialMin.
	if n := log.count("redialing kept peer"); n > 0 {
		t.Errorf("the keeper redialed a blocked peer %d times", n)
	}

	// Unblocked, the kept peer comes back at once, not after the backoff.
	a.Gater().Unblock(b.ID())
	ra.wait(t, b.ID(), PeerConnected)
	if got := a.Gater().Blocked(); len(got) != 0 {
		t.Fatalf("Blocked() = %v after Unblock", got)
	}
}

// TestGaterBan: a ban closes the peer's connections and refuses it both ways until
// it ends, then the peer may connect again; a ban ending never lifts a block.
func TestGaterBan(t *testing.T) {
	checkNoLeaks(t)
	a, b := newHost(t, testConfig(t)), newHost(t, testConfig(t))
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	ra := connectPair(ctx, t, a, b)

	until := time.Now().Add(2 * time.Second) // long enough for the refused dials below, even under -race
	a.Gater().Ban(b.ID(), until)
	ra.wait(t, b.ID(), PeerDisconnected)
	if got := a.Gater().BannedUntil(b.ID()); !got.Equal(until) {
		t.Errorf("BannedUntil = %v, want %v", got, until)
	}
	if a.Gater().IsBlocked(b.ID()) || len(a.Gater().Blocked()) != 0 {
		t.Error("a ban shows as a block")
	}
	a.Forget(b.ID()) // no redials by the keeper: the dials below are the test's
	if _, err := a.Connect(ctx, addr(t, b, "tcp")); err == nil && time.Now().Before(until) {
		t.Error("a dialed banned b")
	}
	refusedInbound(ctx, t, a, b, "tcp")

	// Once the ban ends, b may connect again.
	eventually(t, "a connects to b after the ban", func() bool {
		if time.Now().Before(until) {
			return false
		}
		_, err := a.Connect(ctx, addr(t, b, "tcp"))
		return err == nil
	})
	if got := a.Gater().BannedUntil(b.ID()); !got.IsZero() {
		t.Errorf("BannedUntil = %v after the ban ended", got)
	}

	// A block outlasts a ban.
	a.Gater().Block(b.ID())
	a.Gater().Ban(b.ID(), time.Now().Add(-time.Second))
	ra.wait(t, b.ID(), PeerDisconnected)
	if _, err := a.Connect(ctx, addr(t, b, "tcp")); err == nil {
		t.Error("a dialed blocked b after a ban of it ended")
	}
	a.Gater().Unblock(b.ID())
}

func TestGaterShared(t *testing.T) {
	checkNoLeaks(t)
	var g Gater
	pre := newKey(t)
	preID, _ := peer.IDFromPrivateKey(pre)
	g.Block(preID) // before any host: recorded
	cfg := testConfig(t)
	cfg.Gater = &g
	a := newHost(t, cfg)
	if a.Gater() != &g || !g.IsBlocked(preID) {
		t.Fatal("host does not use the configured gater")
	}
	cfg2 := testConfig(t)
	cfg2.Gater = &g
	if _, err := New(cfg2); !errors.Is(err, ErrGaterInUse) {
		t.Fatalf("second host on one gater: %v", err)
	}
	a.Close()
	newHost(t, cfg2) // free again
}

func TestGaterConcurrent(t *testing.T) {
	var g Gater
	ids := make([]peer.ID, 8)
	for i := range ids {
		ids[i], _ = peer.IDFromPrivateKey(newKey(t))
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				p := ids[(w+i)%len(ids)]
				switch i % 4 {
				case 0:
					g.Block(p)
				case 1:
					g.Unblock(p)
				case 2:
					g.InterceptPeerDial(p)
				case 3:
					_ = g.Blocked()
				}
			}
		})
	}
	wg.Wait()
	for _, p := range ids {
		g.Unblock(p)
	}
	if len(g.Blocked()) != 0 {
		t.Fatal(g.Blocked())
	}
}

func TestNotifyCancel(t *testing.T) {
	checkNoLeaks(t)
	a, b := newHost(t, testConfig(t)), newHost(t, testConfig(t))
	var mu sync.Mutex
	var seen []string
	cancelSub := a.Notify(func(ev PeerEvent) {
		mu.Lock()
		seen = append(seen, fmt.Sprint(ev.Kind))
		mu.Unlock()
	})
	ra, rb := record(a), record(b)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if _, err := a.Connect(ctx, addr(t, b, "tcp")); err != nil {
		t.Fatal(err)
	}
	ra.wait(t, b.ID(), PeerConnected)
	rb.wait(t, a.ID(), PeerConnected)
	cancelSub()
	a.Forget(b.ID())
	b.Host.Network().ClosePeer(a.ID())
	ra.wait(t, b.ID(), PeerDisconnected)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(seen, []string{"connected"}) {
		t.Fatalf("canceled subscriber saw %v", seen)
	}
}

// TestDialsFromEphemeralPort checks that TCP dials do not reuse the listen port.
// Peers that dial each other at the same moment — two that find each other by mDNS,
// or keep each other and lose their connection — would otherwise make one TCP
// connection with two initiators (a simultaneous open), where both handshakes fail.
// TestMDNS in net/discovery saw it between network namespaces.
func TestDialsFromEphemeralPort(t *testing.T) {
	checkNoLeaks(t)
	a, b := newHost(t, testConfig(t)), newHost(t, testConfig(t))
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if _, err := a.Connect(ctx, addr(t, b, "tcp")); err != nil {
		t.Fatal(err)
	}
	listen, _ := ma.StringCast(addr(t, a, "tcp")).ValueForProtocol(ma.P_TCP)
	for _, c := range a.Host.Network().ConnsToPeer(b.ID()) {
		if local, _ := c.LocalMultiaddr().ValueForProtocol(ma.P_TCP); local == listen {
			t.Errorf("dialed from the listen port: %v", c.LocalMultiaddr())
		}
	}
}
