package testnet_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/caps"
	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/distinctions"
	"github.com/korup2p/korup2p/internal/nodetest"
	"github.com/korup2p/korup2p/net/gossip"
	nethost "github.com/korup2p/korup2p/net/host"
	"github.com/korup2p/korup2p/net/syncproto"
	"github.com/korup2p/korup2p/testnet"
)

// Attacks on restricted spaces delivered over the real network. The attacker,
// Mallory, is not a korup2p Node but a bare libp2p host that speaks gossip and the
// sync protocol itself, so it sends nodes no honest Node would make. Every honest
// peer must refuse them (none ever reads what they write), count them
// (AccessStats), blame Mallory and no one else (the sync service's misbehaviour
// score), and go on exchanging honest writes.

// mallory is the attacking host: gossip joined to one space with a handler that
// does nothing, and the sync protocol serving a replica of forged nodes.
type mallory struct {
	key    crypto.PrivKey
	id     peer.ID
	space  cid.Cid
	gen    *dag.Node
	host   *nethost.Host
	gossip *gossip.Service
	sync   *syncproto.Service
	rep    *forgedReplica
}

func newAttackerKey(t *testing.T) (crypto.PrivKey, peer.ID) {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, id
}

// startMallory starts the attacker on 127.0.0.1 with key, connects it to every
// honest peer, and waits until its gossip sees them all on the space's topic. It is
// closed when the test ends.
func startMallory(t *testing.T, key crypto.PrivKey, gen *dag.Node, honest ...*korup2p.Node) *mallory {
	t.Helper()
	h, err := nethost.New(nethost.Config{Key: key, Listen: []string{"/ip4/127.0.0.1/tcp/0"}})
	if err != nil {
		t.Fatal(err)
	}
	g, err := gossip.New(h.Host, nil)
	if err != nil {
		h.Close()
		t.Fatal(err)
	}
	m := &mallory{key: key, id: h.ID(), space: gen.CID(), gen: gen, host: h, gossip: g,
		sync: syncproto.New(h.Host, nil), rep: newForgedReplica(gen)}
	t.Cleanup(func() {
		m.sync.Close()
		if err := m.gossip.Close(); err != nil {
			t.Logf("close Mallory's gossip: %v", err)
		}
		if err := m.host.Close(); err != nil {
			t.Logf("close Mallory's host: %v", err)
		}
	})
	m.sync.Register(m.rep)
	if err := m.gossip.Join(m.space, idleHandler{}); err != nil {
		t.Fatal(err)
	}
	for _, n := range honest {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := m.host.Connect(cctx, n.Addrs()[0])
		cancel()
		if err != nil {
			t.Fatalf("Mallory connects to %s: %v", n.ID(), err)
		}
	}
	waitUntil(t, 5*time.Second, "Mallory sees every honest peer on the space's topic", func() bool {
		on := m.gossip.Peers(m.space)
		for _, n := range honest {
			if !slices.Contains(on, n.ID()) {
				return false
			}
		}
		return true
	})
	return m
}

// forge signs a node of Mallory's writing ops, naming capability, on the genesis.
func (m *mallory) forge(t *testing.T, capability cid.Cid, ops ...dag.Op) *dag.Node {
	t.Helper()
	var clock dag.Clock
	n, err := dag.NewNode(dag.Draft{Space: m.space, Parents: []*dag.Node{m.gen}, Ops: ops, Cap: capability},
		&clock, time.Now().UnixNano(), m.key, distinctions.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// forgeWrites forges n distinct writes of notes/x under capability.
func (m *mallory) forgeWrites(t *testing.T, capability cid.Cid, n int) []*dag.Node {
	t.Helper()
	out := make([]*dag.Node, n)
	for i := range out {
		out[i] = m.forge(t, capability, nodetest.SetOp(t, "notes/x", fmt.Sprintf("pwned %d %d", time.Now().UnixNano(), i)))
	}
	return out
}

// publish gossips nodes on the space's topic.
func (m *mallory) publish(t *testing.T, nodes ...*dag.Node) {
	t.Helper()
	for _, n := range nodes {
		if err := m.gossip.PublishNode(ctx, m.space, n.CID(), n.Bytes()); err != nil {
			t.Errorf("Mallory gossips %s: %v", n.CID(), err)
		}
	}
}

// syncWith runs one session of Mallory's with p, retrying a while if p is busy
// with a session of its own with Mallory.
func (m *mallory) syncWith(t *testing.T, p peer.ID) (syncproto.Result, error) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		res, err := m.sync.Sync(sctx, p, m.space)
		cancel()
		var refused *syncproto.RefusedError
		if errors.As(err, &refused) && refused.Code == syncproto.RefuseBusy && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		return res, err
	}
}

// idleHandler is Mallory's gossip.Handler: it takes nothing.
type idleHandler struct{}

func (idleHandler) ValidateNode(peer.ID, []byte) (gossip.Verdict, any) { return gossip.Ignore, nil }
func (idleHandler) Node(_, _ peer.ID, _ []byte, _ any)                 {}
func (idleHandler) Heads(_, _ peer.ID, _ []cid.Cid)                    {}
func (idleHandler) CIDs(_, _ peer.ID, _ []cid.Cid)                     {}

// forgedReplica is Mallory's syncproto.Replica: the genesis and whatever nodes
// Mallory forged, served as they are; what peers send it is dropped.
type forgedReplica struct {
	space cid.Cid

	mu       sync.Mutex
	nodes    map[cid.Cid]*dag.Node
	received int
}

var _ syncproto.Replica = (*forgedReplica)(nil)

func newForgedReplica(gen *dag.Node) *forgedReplica {
	return &forgedReplica{space: gen.CID(), nodes: map[cid.Cid]*dag.Node{gen.CID(): gen}}
}

func (r *forgedReplica) add(nodes ...*dag.Node) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range nodes {
		r.nodes[n.CID()] = n
	}
}

func (r *forgedReplica) Space() cid.Cid { return r.space }

// Heads are the nodes no other held node names as a parent.
func (r *forgedReplica) Heads() ([]cid.Cid, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	parent := map[cid.Cid]bool{}
	for _, n := range r.nodes {
		for _, p := range n.Parents {
			parent[p] = true
		}
	}
	var out []cid.Cid
	for c := range r.nodes {
		if !parent[c] {
			out = append(out, c)
		}
	}
	return dag.SortCIDs(out), nil
}

func (r *forgedReplica) Items() ([]syncproto.Item, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]syncproto.Item, 0, len(r.nodes))
	for c, n := range r.nodes {
		out = append(out, syncproto.Item{Height: n.Height, CID: c})
	}
	slices.SortFunc(out, syncproto.CompareItems)
	return out, nil
}

func (r *forgedReplica) Has(c cid.Cid) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nodes[c] != nil, nil
}

func (r *forgedReplica) Block(c cid.Cid) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := r.nodes[c]; n != nil {
		return n.Bytes(), nil
	}
	return nil, fmt.Errorf("%s: %w", c, dag.ErrNotFound)
}

func (r *forgedReplica) Ingest(_ peer.ID, blocks [][]byte) (syncproto.IngestResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.received += len(blocks)
	return syncproto.IngestResult{}, nil
}

func (r *forgedReplica) Snapshot() (cid.Cid, []cid.Cid, error) { return cid.Undef, nil, nil }

func (r *forgedReplica) SnapshotBlock(c cid.Cid) ([]byte, error) {
	return nil, fmt.Errorf("%s: %w", c, dag.ErrNotFound)
}

func (r *forgedReplica) InstallSnapshot(cid.Cid, map[cid.Cid][]byte) error {
	return errors.New("Mallory takes no snapshots")
}

// restrictedTrio has peer 0 (A) create the restricted space team and invite peer
// 1 (B) as a writer and peer 2 (C) as a reader, and waits until each holds both
// tokens. It returns the space's genesis.
func restrictedTrio(t *testing.T, nw *testnet.Net) *dag.Node {
	t.Helper()
	a, b, c := nw.Peer(0).Node, nw.Peer(1).Node, nw.Peer(2).Node
	info, err := a.CreateSpace(team, false)
	if err != nil {
		t.Fatal(err)
	}
	invite(t, a, b, caps.Write)
	invite(t, a, c, caps.Read)
	bTok, cTok := tokenFor(t, a, b.ID()), tokenFor(t, a, c.ID())
	waitHeld(t, bTok.ID, a, b, c)
	waitHeld(t, cTok.ID, a, b, c)
	gen, err := a.DAGNode(ctx, team, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	return gen
}

// waitHeld waits until every node holds token id, valid.
func waitHeld(t *testing.T, id cid.Cid, nodes ...*korup2p.Node) {
	t.Helper()
	waitUntil(t, 10*time.Second, "every peer holds token "+id.String(), func() bool {
		for _, n := range nodes {
			if statusOn(n, id) != korup2p.StatusValid {
				return false
			}
		}
		return true
	})
}

func rejected(n *korup2p.Node, r caps.Reason) int64 { return n.AccessStats().Rejected[r] }

// scoreOf returns n's sync misbehaviour score of p, and whether n refuses p.
func scoreOf(n *korup2p.Node, p peer.ID) (float64, bool) {
	for _, ps := range n.NetworkStats().Peers {
		if ps.Peer == p {
			return ps.Score, !ps.BannedUntil.IsZero()
		}
	}
	return 0, false
}

// honestGoesOn has from write key and waits until every node in to reads it.
func honestGoesOn(t *testing.T, from *korup2p.Node, key string, to ...*korup2p.Node) {
	t.Helper()
	if _, err := from.Put(ctx, team, key, key); err != nil {
		t.Fatalf("honest write %s: %v", key, err)
	}
	want := fmt.Sprintf("%q", key)
	waitUntil(t, 10*time.Second, "every peer reads the honest write "+key, func() bool {
		for _, n := range to {
			if !reads(n, key, want) {
				return false
			}
		}
		return true
	})
}

// neverWritten fails unless no honest peer reads notes/x or holds a forged node.
func neverWritten(t *testing.T, forged []*dag.Node, honest ...*korup2p.Node) {
	t.Helper()
	for i, n := range honest {
		if e, err := n.Get(ctx, team, "notes/x"); !errors.Is(err, korup2p.ErrNotFound) {
			t.Errorf("peer %d reads notes/x = %s (%v): Mallory's write took effect", i, e.Value, err)
		}
		for _, f := range forged {
			if _, err := n.DAGNode(ctx, team, f.CID()); err == nil {
				t.Errorf("peer %d stores Mallory's forged node %s", i, f.CID())
			}
		}
	}
}

// honestUnblamed fails if an honest peer scored another down: only Mallory
// misbehaved.
func honestUnblamed(t *testing.T, honest ...*korup2p.Node) {
	t.Helper()
	for i, n := range honest {
		for j, o := range honest {
			if score, banned := scoreOf(n, o.ID()); i != j && (score != 0 || banned) {
				t.Errorf("peer %d scores honest peer %d %.1f (refused: %v)", i, j, score, banned)
			}
		}
	}
}

// TestAttackNetNoCapability: Mallory, holding no capability, gossips writes (one
// naming no capability, one naming B's token) and asks A and B for sync sessions.
// The sessions are refused, the writes are stored nowhere, the one naming B's
// token is counted wrong-audience by every peer, and honest writes go on.
func TestAttackNetNoCapability(t *testing.T) {
	nw := testnet.New(t, 3, nil)
	a, b, c := nw.Peer(0).Node, nw.Peer(1).Node, nw.Peer(2).Node
	honest := []*korup2p.Node{a, b, c}
	gen := restrictedTrio(t, nw)
	bTok := tokenFor(t, a, b.ID())

	key, _ := newAttackerKey(t)
	m := startMallory(t, key, gen, honest...)
	before := make([]int64, len(honest))
	beforeNoCap := make([]int64, len(honest))
	for i, n := range honest {
		before[i] = rejected(n, caps.ReasonWrongAudience)
		beforeNoCap[i] = rejected(n, caps.ReasonBrokenChain)
	}

	noCap := m.forge(t, cid.Undef, nodetest.SetOp(t, "notes/x", "pwned: no capability"))
	stolen := m.forge(t, bTok.ID, nodetest.SetOp(t, "notes/x", "pwned: B's token"))
	forged := []*dag.Node{noCap, stolen}
	m.rep.add(forged...)
	m.publish(t, forged...)

	for i, p := range []*korup2p.Node{a, b} {
		_, err := m.syncWith(t, p.ID())
		var refused *syncproto.RefusedError
		if !errors.As(err, &refused) || refused.Code != syncproto.RefuseForbidden {
			t.Errorf("Mallory syncs with peer %d: %v, want a forbidden refusal", i, err)
		}
	}

	// Every peer received the gossiped node from Mallory directly (Mallory publishes
	// to every peer on the topic) and refused it.
	waitUntil(t, 5*time.Second, "every peer refuses both nodes", func() bool {
		for i, n := range honest {
			if rejected(n, caps.ReasonWrongAudience) <= before[i] || rejected(n, caps.ReasonBrokenChain) <= beforeNoCap[i] {
				return false
			}
		}
		return true
	})
	honestGoesOn(t, a, "notes/after", honest...)
	honestGoesOn(t, b, "notes/b-after", honest...)
	neverWritten(t, forged, honest...)
	for i, n := range honest {
		if score, _ := scoreOf(n, m.id); score <= 0 {
			t.Errorf("peer %d scores Mallory %.1f after refusing its gossiped node", i, score)
		}
	}
	honestUnblamed(t, honest...)
}

// TestAttackNetReaderWrites: Mallory holds a read token (granted by A, held in the
// space) and writes with it, by gossip and by sync sessions with A. Every peer
// refuses the writes (insufficient-ability); A's penalties for the rejected nodes
// add up until A refuses Mallory's sessions; B's writes reach A and C throughout.
func TestAttackNetReaderWrites(t *testing.T) {
	nw := testnet.New(t, 3, nil)
	a, b, c := nw.Peer(0).Node, nw.Peer(1).Node, nw.Peer(2).Node
	honest := []*korup2p.Node{a, b, c}
	gen := restrictedTrio(t, nw)

	key, id := newAttackerKey(t)
	mTok, err := a.Grant(ctx, team, korup2p.Grant{To: id, Ability: caps.Read})
	if err != nil {
		t.Fatal(err)
	}
	waitHeld(t, mTok.ID, honest...)
	m := startMallory(t, key, gen, honest...)
	const reason = caps.ReasonInsufficientAbility

	// Gossip: every peer refuses the write, from Mallory directly.
	before := make([]int64, len(honest))
	for i, n := range honest {
		before[i] = rejected(n, reason)
	}
	gossiped := m.forgeWrites(t, mTok.ID, 1)
	m.publish(t, gossiped...)
	waitUntil(t, 5*time.Second, "every peer refuses Mallory's gossiped write", func() bool {
		for i, n := range honest {
			if rejected(n, reason) <= before[i] {
				return false
			}
		}
		return true
	})
	honestGoesOn(t, b, "notes/b0", a, c)

	// Sync: each session sends A the same five writes, a batch that scores Mallory
	// PenaltyViolation (the cap per batch); A refuses Mallory once its score
	// reaches the threshold. A may also start sessions with Mallory on its own,
	// which fetch the writes too: the bound is loose.
	synced := m.forgeWrites(t, mTok.ID, 5)
	m.rep.add(synced...)
	const maxSessions = int(syncproto.DefaultBanThreshold/syncproto.PenaltyViolation) + 2
	banned := false
	for i := 0; i < maxSessions && !banned; i++ {
		rejBefore := rejected(a, reason)
		res, err := m.syncWith(t, a.ID())
		_, banned = scoreOf(a, m.id)
		if err != nil {
			if !banned {
				t.Fatalf("Mallory's session %d with A: %v, and A does not refuse Mallory", i, err)
			}
			t.Logf("Mallory's session %d with A ended: %v", i, err)
			break
		}
		if i == 0 {
			if res.NodesSent < len(synced) {
				t.Errorf("Mallory's first session sent %d nodes, want its %d writes", res.NodesSent, len(synced))
			}
			if got := rejected(a, reason); got < rejBefore+int64(len(synced)) {
				t.Errorf("A counts %d %s rejections after Mallory's session, want at least %d", got, reason, rejBefore+int64(len(synced)))
			}
		}
		honestGoesOn(t, b, fmt.Sprintf("notes/b%d", i+1), a, c)
	}
	if !banned {
		score, _ := scoreOf(a, m.id)
		t.Fatalf("A still serves Mallory after %d sessions of rejected writes (score %.1f)", maxSessions, score)
	}
	// A cuts Mallory off whole, not only its sync sessions: it closes Mallory's
	// connections and refuses new ones, so Mallory's gossip no longer reaches A.
	waitUntil(t, 5*time.Second, "A drops its connections to Mallory", func() bool {
		return !slices.Contains(a.NetworkStats().Connected, m.id)
	})
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_, _ = m.host.Connect(cctx, a.Addrs()[0]) // may complete on Mallory's side before A knows who calls
	cancel()
	waitUntil(t, 5*time.Second, "A refuses Mallory's new connection", func() bool {
		return !slices.Contains(a.NetworkStats().Connected, m.id) && len(m.host.Host.Network().ConnsToPeer(a.ID())) == 0
	})
	// A later session is refused.
	if _, err := m.syncWith(t, a.ID()); err == nil {
		t.Errorf("A serves a session to Mallory, which it refuses for misbehaviour")
	} else if errors.Is(err, syncproto.ErrBanned) {
		t.Errorf("Mallory's session failed on Mallory's own ban, not A's refusal: %v", err)
	}
	if _, banned := scoreOf(a, m.id); !banned {
		t.Errorf("A no longer refuses Mallory")
	}

	honestGoesOn(t, b, "notes/b-final", a, c)
	neverWritten(t, append(gossiped, synced...), honest...)
	honestUnblamed(t, honest...)
}

// TestAttackNetHonestTrafficContinues: while Mallory, a reader, floods the peers
// with gossiped writes and sync sessions, each of B's writes reaches A and C, and
// none of Mallory's is stored.
func TestAttackNetHonestTrafficContinues(t *testing.T) {
	nw := testnet.New(t, 3, nil)
	a, b, c := nw.Peer(0).Node, nw.Peer(1).Node, nw.Peer(2).Node
	honest := []*korup2p.Node{a, b, c}
	gen := restrictedTrio(t, nw)
	key, id := newAttackerKey(t)
	mTok, err := a.Grant(ctx, team, korup2p.Grant{To: id, Ability: caps.Read})
	if err != nil {
		t.Fatal(err)
	}
	waitHeld(t, mTok.ID, honest...)
	m := startMallory(t, key, gen, honest...)
	synced := m.forgeWrites(t, mTok.ID, 5)
	m.rep.add(synced...)
	before := make([]int64, len(honest))
	for i, n := range honest {
		before[i] = rejected(n, caps.ReasonInsufficientAbility)
	}

	// Forged up front: the attacker's goroutine must not call t.Fatal.
	flood := m.forgeWrites(t, mTok.ID, 300)
	var (
		wg   sync.WaitGroup
		sent int
	)
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i < len(flood) {
				m.publish(t, flood[i])
				sent = i + 1
			}
			if i%4 == 0 {
				p := honest[i/4%len(honest)]
				sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				_, _ = m.sync.Sync(sctx, p.ID(), m.space) // refused once banned: the attack goes on by gossip
				cancel()
			}
			time.Sleep(5 * time.Millisecond) // pacing the attacker, not a wait for a condition
		}
	})
	for i := range 10 {
		honestGoesOn(t, b, fmt.Sprintf("notes/b%d", i), a, c)
	}
	close(stop)
	wg.Wait()

	forged := append(flood, synced...)
	gossiped := flood[:sent]
	t.Logf("Mallory gossiped %d writes while B wrote 10", len(gossiped))
	for i, n := range honest {
		got := rejected(n, caps.ReasonInsufficientAbility)
		if got <= before[i] {
			t.Errorf("peer %d counts no %s rejection during the attack", i, caps.ReasonInsufficientAbility)
		}
		score, banned := scoreOf(n, m.id)
		t.Logf("peer %d: %d rejected, Mallory scored %.1f, refused %v", i, got-before[i], score, banned)
	}
	honestGoesOn(t, a, "notes/a-final", b, c)
	neverWritten(t, forged, honest...)
	honestUnblamed(t, honest...)
}
