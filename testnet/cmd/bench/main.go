package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/log"
	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/caps"
)

const space = "bench"

type peerNode struct {
	n     *korup2p.Node
	addrs []string
}

type report struct {
	Peers             int     `json:"peers"`
	WritesPerPeer     int     `json:"writes_per_peer"`
	ValueBytes        int     `json:"value_bytes"`
	WriteSeconds      float64 `json:"write_seconds"`
	ConvergeSeconds   float64 `json:"converge_after_last_write_seconds"`
	ConvergeVerified  float64 `json:"converge_state_verified_seconds"`
	WireBytesPerWrite float64 `json:"wire_bytes_per_write"`
	CatchupNodes      int     `json:"catchup_nodes"`
	CatchupSeconds    float64 `json:"catchup_seconds"`
	CatchupVerified   float64 `json:"catchup_state_verified_seconds"`
	ApartNodes        int     `json:"apart_nodes_per_side"`
	ReconRoundTrips   int     `json:"reconcile_round_trips"`
	ReconBytes        int64   `json:"reconcile_bytes"`
	ReconSeconds      float64 `json:"reconcile_seconds"`
	RevokePeers       int     `json:"revoke_peers"`
	RevokeSeconds     float64 `json:"revoke_effective_seconds"`
	PeakHeapPerPeerMB float64 `json:"peak_heap_per_peer_mib"`
}

func main() {
	peers := flag.Int("peers", 3, "peers writing concurrently")
	writes := flag.Int("writes", 1000, "writes per peer, one node each")
	valueBytes := flag.Int("value", 100, "bytes per value")
	catchup := flag.Int("catchup", 10000, "nodes a fresh peer catches up (0 to skip)")
	apart := flag.Int("apart", 1000, "nodes each of two peers writes while apart, then reconciles (0 to skip)")
	revoke := flag.Int("revoke", 3, "peers of a restricted space in which the owner revokes a writer: time until every peer holds it revoked (0 to skip)")
	asJSON := flag.Bool("json", false, "print the report as JSON")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.StringVar(&catchupProfile, "catchup-cpuprofile", "", "write a CPU profile of the catch-up alone (from connect to converged) to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*peers, *writes, *valueBytes, *catchup, *apart, *revoke, *asJSON); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// catchupProfile is the file -catchup-cpuprofile names.
var catchupProfile string

// profile starts a CPU profile into file, if one is named, and returns what stops it.
func profile(file string) (stop func(), err error) {
	if file == "" {
		return func() {}, nil
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func run(peers, writes, valueBytes, catchup, apart, revoke int, asJSON bool) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "korup2p-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	defer func() { // on an error path too, before the directories go
		for p := range opened {
			closeAll([]*peerNode{p})
		}
	}()
	var peak atomic.Uint64
	stop := watchHeap(&peak)
	defer stop()
	r := report{Peers: peers, WritesPerPeer: writes, ValueBytes: valueBytes, CatchupNodes: catchup, ApartNodes: apart, RevokePeers: revoke}
	value := strings.Repeat("x", valueBytes)

	// Convergence: peers writes concurrently, one node per write.
	net, err := start(dir, "conv", peers)
	if err != nil {
		return err
	}
	before := wireBytes(net)
	t0 := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, peers)
	for i, p := range net {
		wg.Go(func() {
			for k := range writes {
				if _, err := p.n.Put(ctx, space, fmt.Sprintf("p%d/%06d", i, k), value); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	last := time.Now()
	r.WriteSeconds = last.Sub(t0).Seconds()
	same, err := waitConverged(net, 60*time.Second)
	if err != nil {
		return err
	}
	r.ConvergeSeconds, r.ConvergeVerified = same.Sub(last).Seconds(), time.Since(last).Seconds()
	r.WireBytesPerWrite = float64(wireBytes(net)-before) / float64(peers*writes)
	closeAll(net)

	// Catch-up: one peer writes catchup nodes; a fresh one joins.
	if catchup > 0 {
		net, err := start(dir, "catchup", 1)
		if err != nil {
			return err
		}
		for k := range catchup {
			if _, err := net[0].n.Put(ctx, space, fmt.Sprintf("c/%07d", k), value); err != nil {
				return err
			}
		}
		fresh, err := open(dir, "catchup-fresh")
		if err != nil {
			return err
		}
		stopProfile, err := profile(catchupProfile)
		if err != nil {
			return err
		}
		t := time.Now()
		if _, err := fresh.n.Connect(ctx, net[0].addrs[0]); err != nil {
			stopProfile()
			return err
		}
		net = append(net, fresh)
		same, err := waitConverged(net, 5*time.Minute)
		r.CatchupSeconds, r.CatchupVerified = same.Sub(t).Seconds(), time.Since(t).Seconds()
		stopProfile()
		if err != nil {
			return err
		}
		closeAll(net)
	}

	// Reconciliation: two peers write apart, then one sync session.
	if apart > 0 {
		a, err := open(dir, "apart-a")
		if err != nil {
			return err
		}
		b, err := open(dir, "apart-b")
		if err != nil {
			return err
		}
		for i, p := range []*peerNode{a, b} {
			for k := range apart {
				if _, err := p.n.Put(ctx, space, fmt.Sprintf("a%d/%06d", i, k), value); err != nil {
					return err
				}
			}
		}
		// Connecting starts a sync on its own, which SyncWith joins. Should b start
		// one too, the two sessions cross and the peer with the smaller ID keeps its
		// own (syncproto): so a, whose session is measured, is that peer.
		if b.n.ID() < a.n.ID() {
			a, b = b, a
		}
		if _, err := a.n.Connect(ctx, b.addrs[0]); err != nil {
			return err
		}
		res, err := a.n.SyncWith(ctx, b.n.ID(), space)
		if err != nil {
			return err
		}
		r.ReconRoundTrips, r.ReconBytes, r.ReconSeconds = res.RoundTrips, res.BytesSent+res.BytesReceived, res.Duration.Seconds()
		if _, err := waitConverged([]*peerNode{a, b}, time.Minute); err != nil {
			return err
		}
		closeAll([]*peerNode{a, b})
	}
	if revoke > 1 {
		if r.RevokeSeconds, err = revocation(dir, revoke); err != nil {
			return err
		}
	}
	r.PeakHeapPerPeerMB = float64(peak.Load()) / float64(max(peers, 2)) / (1 << 20)
	if asJSON {
		return json.NewEncoder(os.Stdout).Encode(r)
	}
	fmt.Printf("peers %d, %d writes each (%d-byte values), one node per write\n", peers, writes, valueBytes)
	fmt.Printf("  writes took                 %.3f s\n", r.WriteSeconds)
	fmt.Printf("  converged after last write  %.3f s (state digests checked equal at %.3f s)\n", r.ConvergeSeconds, r.ConvergeVerified)
	fmt.Printf("  bytes on the wire per write %.0f (all peers, both directions)\n", r.WireBytesPerWrite)
	if catchup > 0 {
		fmt.Printf("fresh peer caught up %d nodes in %.3f s (state digests checked equal at %.3f s)\n", catchup, r.CatchupSeconds, r.CatchupVerified)
	}
	if apart > 0 {
		fmt.Printf("two peers %d nodes apart each: one session of %d round trips, %d bytes, %.3f s\n",
			apart, r.ReconRoundTrips, r.ReconBytes, r.ReconSeconds)
	}
	if revoke > 1 {
		fmt.Printf("%d peers of a restricted space: a revocation held by every peer %.3f s after Revoke returned\n", revoke, r.RevokeSeconds)
	}
	fmt.Printf("peak heap per peer %.1f MiB (one process, divided by peers)\n", r.PeakHeapPerPeerMB)
	return nil
}

// opened are the nodes not closed yet: run closes them on every path before it
// removes their directories.
var opened = map[*peerNode]bool{}

func open(dir, name string) (*peerNode, error) {
	logger := log.NewWithOptions(os.Stderr, log.Options{Prefix: name, Level: log.WarnLevel})
	n, err := korup2p.Open(dir+"/"+name, &korup2p.Options{
		Durability: korup2p.DurabilityAlways,
		Logger:     logger,
		Network:    &korup2p.NetworkOptions{Listen: []string{"/ip4/127.0.0.1/tcp/0"}, NoMDNS: true},
	})
	if err != nil {
		return nil, err
	}
	if _, err := n.CreateSpace(space, true); err != nil {
		return nil, err
	}
	p := &peerNode{n: n, addrs: n.Addrs()}
	opened[p] = true
	return p, nil
}

func start(dir, name string, count int) ([]*peerNode, error) {
	var out []*peerNode
	for i := range count {
		p, err := open(dir, fmt.Sprintf("%s%d", name, i))
		if err != nil {
			return nil, err
		}
		for _, q := range out {
			if _, err := p.n.Connect(context.Background(), q.addrs[0]); err != nil {
				return nil, err
			}
		}
		out = append(out, p)
	}
	return out, nil
}

func closeAll(ps []*peerNode) {
	for _, p := range ps {
		if opened[p] {
			p.n.Close(context.Background())
			delete(opened, p)
		}
	}
}

// waitConverged waits until every peer has the same heads and state digest. It
// returns when the heads were found equal in the check that succeeded: the moment
// every peer held the same nodes. Equal digests then confirm that they read the
// same state; computing them (reading every key) is not part of the time.
func waitConverged(ps []*peerNode, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		same, why := sameHeads(ps)
		at := time.Now()
		if same {
			same, why = sameState(ps)
		}
		if same {
			return at, nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("not converged after %s: %s", timeout, why)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func sameHeads(ps []*peerNode) (bool, string) {
	var heads0 []cid.Cid
	for i, p := range ps {
		heads, err := p.n.Heads(space)
		if err != nil {
			return false, err.Error()
		}
		if i == 0 {
			heads0 = heads
		} else if fmt.Sprint(heads) != fmt.Sprint(heads0) {
			return false, fmt.Sprintf("peer %d has other heads", i)
		}
	}
	return true, ""
}

func sameState(ps []*peerNode) (bool, string) {
	var digest0 string
	for i, p := range ps {
		d, err := p.n.StateDigest(context.Background(), space)
		if err != nil {
			return false, err.Error()
		}
		if i == 0 {
			digest0 = d
		} else if d != digest0 {
			return false, fmt.Sprintf("peer %d has another state", i)
		}
	}
	return true, ""
}

// wireBytes sums what every peer's host sent.
func wireBytes(ps []*peerNode) int64 {
	var total int64
	for _, p := range ps {
		total += p.n.NetworkStats().BytesOut
	}
	return total
}

// watchHeap records the peak heap in use until stop is called.
func watchHeap(peak *atomic.Uint64) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done) }
}

// revocation starts count peers of a restricted space (the owner invites the others
// as writers), revokes the first writer's capability, and returns how long after
// Revoke returned every other peer held it revoked (from then on each refuses the
// writer's new writes; the writer, no longer served the space, may never learn).
func revocation(dir string, count int) (float64, error) {
	ctx := context.Background()
	const team = "team"
	ps, err := start(dir, "revoke", count)
	if err != nil {
		return 0, err
	}
	defer closeAll(ps)
	owner := ps[0]
	if _, err := owner.n.CreateSpace(team, false); err != nil {
		return 0, err
	}
	for _, p := range ps[1:] {
		ticket, err := owner.n.Invite(ctx, team, korup2p.InviteOptions{Ability: caps.Write})
		if err != nil {
			return 0, err
		}
		if _, err := p.n.Join(ctx, ticket, ""); err != nil {
			return 0, err
		}
	}
	victim := ps[1].n.ID()
	var token cid.Cid
	status := func(p *peerNode) (caps.Reason, bool) {
		list, err := p.n.Capabilities(team)
		if err != nil {
			return "", false
		}
		for _, c := range list {
			if c.Audience == victim {
				token = c.ID
				return c.Status, len(list) >= 2*(count-1)
			}
		}
		return "", false
	}
	deadline := time.Now().Add(30 * time.Second)
	for !all(ps, func(p *peerNode) bool { _, ok := status(p); return ok }) {
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("revocation: the peers did not get every capability in 30 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := owner.n.Revoke(ctx, team, token); err != nil {
		return 0, err
	}
	t0 := time.Now()
	// The writer itself is no longer served the space, so it may never learn.
	others := append([]*peerNode{ps[0]}, ps[2:]...)
	for !all(others, func(p *peerNode) bool { s, _ := status(p); return s == caps.ReasonRevoked }) {
		if time.Since(t0) > 30*time.Second {
			var got []string
			for _, p := range others {
				s, _ := status(p)
				got = append(got, string(s))
			}
			return 0, fmt.Errorf("revocation: not held by every peer after 30 s: %v", got)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(t0).Seconds(), nil
}

func all(ps []*peerNode, ok func(*peerNode) bool) bool {
	for _, p := range ps {
		if !ok(p) {
			return false
		}
	}
	return true
}
