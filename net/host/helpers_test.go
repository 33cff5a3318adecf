package host

import (
	"crypto/rand"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// loopback are the test hosts' listen addresses: 127.0.0.1 only.
var loopback = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}

// waitLimit bounds every wait for the network.
const waitLimit = 10 * time.Second

func newKey(t testing.TB) crypto.PrivKey {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testConfig is a loopback host with fast redials.
func testConfig(t testing.TB) Config {
	return Config{
		Key:       newKey(t),
		Listen:    loopback,
		RedialMin: 20 * time.Millisecond,
		RedialMax: 500 * time.Millisecond,
		Warn:      func(msg string, kv ...any) { t.Logf("warn: %s %v", msg, kv) },
	}
}

// debugLog counts a host's Debug messages by text.
type debugLog struct {
	mu sync.Mutex
	n  map[string]int
}

// hook returns a Config.Debug that counts into l.
func (l *debugLog) hook() func(string, ...any) {
	return func(msg string, _ ...any) {
		l.mu.Lock()
		if l.n == nil {
			l.n = make(map[string]int)
		}
		l.n[msg]++
		l.mu.Unlock()
	}
}

func (l *debugLog) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[msg]
}

// newHost starts a host that the test closes at its end.
func newHost(t testing.TB, cfg Config) *Host {
	t.Helper()
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// addr returns h's full address for the transport named ("tcp" or "quic-v1").
func addr(t testing.TB, h *Host, transport string) string {
	t.Helper()
	code := ma.P_TCP
	if transport == "quic-v1" {
		code = ma.P_QUIC_V1
	}
	for _, a := range h.Addrs() {
		if _, err := a.ValueForProtocol(code); err == nil {
			return a.String()
		}
	}
	t.Fatalf("%s has no %s address among %v", h.ID(), transport, h.Addrs())
	return ""
}

// recorder collects a host's peer events.
type recorder struct {
	ch chan PeerEvent
}

func record(h *Host) *recorder {
	r := &recorder{ch: make(chan PeerEvent, 1024)}
	h.Notify(func(ev PeerEvent) {
		select {
		case r.ch <- ev:
		default:
			panic("recorder full")
		}
	})
	return r
}

// wait returns once p's event of kind arrives, failing the test after waitLimit.
// Other events are dropped.
func (r *recorder) wait(t testing.TB, p peer.ID, kind PeerEventKind) {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		select {
		case ev := <-r.ch:
			if ev.Peer == p && ev.Kind == kind {
				return
			}
		case <-deadline.C:
			t.Fatalf("no %s event for %s within %v", kind, p, waitLimit)
		}
	}
}

// none fails the test if p's event of kind arrives within d.
func (r *recorder) none(t testing.TB, p peer.ID, kind PeerEventKind, d time.Duration) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		select {
		case ev := <-r.ch:
			if ev.Peer == p && ev.Kind == kind {
				t.Fatalf("unexpected %s event for %s", kind, p)
			}
		case <-deadline.C:
			return
		}
	}
}

// eventually waits for cond, failing the test after waitLimit.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", waitLimit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkNoLeaks fails the test if a goroutine of this package outlives it. libp2p's
// own background goroutines are not counted: some are process-wide. Call it first,
// so that its cleanup runs after the hosts close.
func checkNoLeaks(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			stacks := ours()
			if stacks == "" {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("goroutines left running after Close:\n%s", stacks)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

var stackBuf = struct {
	sync.Mutex
	b []byte
}{b: make([]byte, 4<<20)}

// ours returns the stacks of running goroutines in this package's code (not tests).
func ours() string {
	stackBuf.Lock()
	defer stackBuf.Unlock()
	all := string(stackBuf.b[:runtime.Stack(stackBuf.b, true)])
	var out []string
	for _, g := range strings.Split(all, "\n\n") {
		if strings.Contains(g, "korup2p/net/host.(*Host)") && !strings.Contains(g, "korup2p/net/host.Test") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}
