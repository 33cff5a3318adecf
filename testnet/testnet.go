package testnet

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/log"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/net/gossip"
)

// Space is the open space every peer of a Net joins.
const Space = "testnet"

// Options configure a Net.
type Options struct {
	// Seed drives every random choice; 0 picks one from the clock. It is logged,
	// and printed again when the test fails.
	Seed uint64
	// HeadsInterval is each peer's heads announcement period (default 200 ms).
	HeadsInterval time.Duration
	// Durability of the peers' writes (default korup2p.DurabilityNone: the tests are
	// about the network).
	Durability korup2p.Durability
	// Logs sends the peers' logs to the test log (at debug level with Debug).
	Logs, Debug bool
	// Drop and Latency simulate lossy, slow links: each peer drops that share of
	// the gossip it receives and delivers the rest that late.
	Drop    float64
	Latency time.Duration
	// Retention and SegmentSize configure the peers' distillation (see
	// korup2p.Options); zero keeps all history.
	Retention   korup2p.Retention
	SegmentSize int64
}

// Net is a set of peers.
type Net struct {
	t    testing.TB
	opts Options
	Rng  *rand.Rand // for the test's goroutine; the peers draw under rngMu
	dir  string

	rngMu sync.Mutex

	mu    sync.Mutex
	peers []*Peer
}

// Peer is one peer of a Net.
type Peer struct {
	Index int
	Dir   string
	ID    peer.ID
	Node  *korup2p.Node // nil while killed
	addrs []string

	mu    sync.Mutex
	acked map[string]string // key → the value of the last write acknowledged here
}

// New starts n peers, connects each to every other and waits until each has
// joined Space. The peers are closed when the test ends.
func New(t testing.TB, n int, opts *Options) *Net {
	t.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Seed == 0 {
		o.Seed = uint64(time.Now().UnixNano())
	}
	if o.HeadsInterval <= 0 {
		o.HeadsInterval = 200 * time.Millisecond
	}
	if o.Durability == "" {
		o.Durability = korup2p.DurabilityNone
	}
	t.Logf("testnet seed %d", o.Seed)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testnet seed %d (set Options.Seed to replay)", o.Seed)
		}
	})
	nw := &Net{t: t, opts: o, Rng: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)), dir: t.TempDir()}
	t.Cleanup(nw.closeAll)
	for range n {
		nw.AddPeer()
	}
	return nw
}

// float64 draws from the seeded generator, safely from any goroutine.
func (nw *Net) float64() float64 {
	nw.rngMu.Lock()
	defer nw.rngMu.Unlock()
	return nw.Rng.Float64()
}

// Peers returns the peers, killed ones included.
func (nw *Net) Peers() []*Peer {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	return slices.Clone(nw.peers)
}

// Peer returns peer i.
func (nw *Net) Peer(i int) *Peer { return nw.Peers()[i] }

// AddPeer starts a fresh peer, connects it to every running peer and returns it.
func (nw *Net) AddPeer() *Peer {
	nw.t.Helper()
	nw.mu.Lock()
	p := &Peer{Index: len(nw.peers), acked: map[string]string{}}
	p.Dir = filepath.Join(nw.dir, fmt.Sprintf("peer%d", p.Index))
	nw.peers = append(nw.peers, p)
	nw.mu.Unlock()
	nw.start(p)
	for _, q := range nw.Peers() {
		if q != p && q.Node != nil {
			nw.connect(p, q)
		}
	}
	return p
}

func (nw *Net) start(p *Peer) {
	nw.t.Helper()
	if err := os.MkdirAll(p.Dir, 0o700); err != nil {
		nw.t.Fatal(err)
	}
	logger := log.New(io(nw.t, p.Index, nw.opts.Logs))
	if nw.opts.Debug {
		logger.SetLevel(log.DebugLevel)
	}
	n, err := korup2p.Open(p.Dir, &korup2p.Options{
		Durability:   nw.opts.Durability,
		Logger:       logger,
		Retention:    nw.opts.Retention,
		DistillEvery: time.Hour, // tests distill when they choose
		SegmentSize:  nw.opts.SegmentSize,
		Network: &korup2p.NetworkOptions{
			Listen:        []string{"/ip4/127.0.0.1/tcp/0"},
			NoMDNS:        true,
			HeadsInterval: nw.opts.HeadsInterval,
			Faults:        gossip.Faults{Drop: nw.opts.Drop, Latency: nw.opts.Latency, Rand: nw.float64},
		},
	})
	if err != nil {
		nw.t.Fatalf("peer %d: %v", p.Index, err)
	}
	if _, err := n.CreateSpace(Space, true); err != nil && !errors.Is(err, korup2p.ErrSpaceExists) {
		nw.t.Fatalf("peer %d: %v", p.Index, err)
	}
	p.Node, p.ID, p.addrs = n, n.ID(), n.Addrs()
}

func (nw *Net) connect(a, b *Peer) {
	nw.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.Node.Connect(ctx, b.addrs[0]); err != nil {
		nw.t.Fatalf("connect peer %d to %d: %v", a.Index, b.Index, err)
	}
}

// Kill closes peer i as a crash would leave it: its data directory stays.
func (nw *Net) Kill(i int) {
	nw.t.Helper()
	p := nw.Peer(i)
	if p.Node == nil {
		return
	}
	if err := p.Node.Close(context.Background()); err != nil {
		nw.t.Logf("close peer %d: %v", i, err)
	}
	p.Node = nil
}

// Restart opens killed peer i again on its data directory and reconnects it.
func (nw *Net) Restart(i int) {
	nw.t.Helper()
	p := nw.Peer(i)
	if p.Node != nil {
		nw.t.Fatalf("peer %d is running", i)
	}
	nw.start(p)
	for _, q := range nw.Peers() {
		if q != p && q.Node != nil {
			nw.connect(p, q)
		}
	}
}

// Partition cuts every link between peers of different groups (a peer in no group
// is cut from all); links within a group stay. Heal restores them.
func (nw *Net) Partition(groups ...[]int) {
	nw.t.Helper()
	group := map[int]int{}
	for g, members := range groups {
		for _, i := range members {
			group[i] = g + 1
		}
	}
	peers := nw.Peers()
	for _, a := range peers {
		for _, b := range peers {
			if a == b || a.Node == nil || group[a.Index] != 0 && group[a.Index] == group[b.Index] {
				continue
			}
			if err := a.Node.BlockPeer(b.ID); err != nil {
				nw.t.Fatal(err)
			}
		}
	}
}

// Heal lifts every partition and reconnects the peers at once (their keepers would,
// after a backoff).
func (nw *Net) Heal() {
	nw.t.Helper()
	peers := nw.Peers()
	for _, a := range peers {
		for _, b := range peers {
			if a != b && a.Node != nil {
				if err := a.Node.UnblockPeer(b.ID); err != nil {
					nw.t.Fatal(err)
				}
			}
		}
	}
	for i, a := range peers {
		for _, b := range peers[i+1:] {
			if a.Node != nil && b.Node != nil {
				nw.connect(a, b)
			}
		}
	}
}

// Put writes key = value on peer i and records the acknowledged write.
func (nw *Net) Put(i int, key string, value any) error {
	p := nw.Peer(i)
	if _, err := p.Node.Put(context.Background(), Space, key, value); err != nil {
		return err
	}
	p.mu.Lock()
	p.acked[key] = fmt.Sprint(value)
	p.mu.Unlock()
	return nil
}

// Acked returns every key some peer acknowledged a write of.
func (nw *Net) Acked() map[string]bool {
	out := map[string]bool{}
	for _, p := range nw.Peers() {
		p.mu.Lock()
		for k := range p.acked {
			out[k] = true
		}
		p.mu.Unlock()
	}
	return out
}

// State is what convergence compares: a peer's heads and state digest.
type State struct {
	Heads  []cid.Cid
	Digest string
}

// StateOf returns peer i's state of Space.
func (nw *Net) StateOf(i int) (State, error) {
	p := nw.Peer(i)
	if p.Node == nil {
		return State{}, fmt.Errorf("peer %d is down", i)
	}
	heads, err := p.Node.Heads(Space)
	if err != nil {
		return State{}, err
	}
	d, err := p.Node.StateDigest(context.Background(), Space)
	return State{Heads: heads, Digest: d}, err
}

// WaitConverged waits until every running peer has the same heads and state
// digest, and fails the test after timeout. It returns how long it waited.
func (nw *Net) WaitConverged(timeout time.Duration) time.Duration {
	nw.t.Helper()
	start := time.Now()
	var last string
	for {
		ok, why := nw.converged()
		if ok {
			return time.Since(start)
		}
		last = why
		if time.Since(start) > timeout {
			nw.t.Fatalf("not converged after %s: %s", timeout, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (nw *Net) converged() (bool, string) {
	var first *State
	firstIdx := -1
	for _, p := range nw.Peers() {
		if p.Node == nil {
			continue
		}
		st, err := nw.StateOf(p.Index)
		if err != nil {
			return false, err.Error()
		}
		if first == nil {
			first, firstIdx = &st, p.Index
			continue
		}
		if !slices.EqualFunc(st.Heads, first.Heads, cid.Cid.Equals) || st.Digest != first.Digest {
			return false, fmt.Sprintf("peer %d has %d heads, digest %.8s; peer %d %d heads, digest %.8s",
				p.Index, len(st.Heads), st.Digest, firstIdx, len(first.Heads), first.Digest)
		}
	}
	return true, ""
}

// CheckNoLostWrites fails the test unless every running peer has a value for every
// key some peer acknowledged writing (keys are never deleted by the tests that use
// it).
func (nw *Net) CheckNoLostWrites() {
	nw.t.Helper()
	acked := nw.Acked()
	for _, p := range nw.Peers() {
		if p.Node == nil {
			continue
		}
		for k := range acked {
			if _, err := p.Node.Get(context.Background(), Space, k); err != nil {
				nw.t.Fatalf("peer %d lost acknowledged write %s: %v", p.Index, k, err)
			}
		}
	}
}

func (nw *Net) closeAll() {
	for _, p := range nw.Peers() {
		if p.Node != nil {
			p.Node.Close(context.Background())
			p.Node = nil
		}
	}
}

// io returns the writer a peer logs to: the test log, or nowhere.
func io(t testing.TB, i int, on bool) *logWriter {
	return &logWriter{t: t, prefix: fmt.Sprintf("peer%d ", i), on: on}
}

type logWriter struct {
	t      testing.TB
	prefix string
	on     bool
}

func (w *logWriter) Write(b []byte) (int, error) {
	if w.on {
		w.t.Log(w.prefix + strings.TrimRight(string(b), "\n"))
	}
	return len(b), nil
}
