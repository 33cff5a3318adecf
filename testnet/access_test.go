package testnet_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	"github.com/korup2p/korup2p/net/syncproto"
	"github.com/korup2p/korup2p/testnet"
)

// Access control over real libp2p hosts: who is served a restricted space, and how
// fast a revocation reaches the other members.

const team = "team"

// waitUntil polls cond every 10 ms until it holds, and fails the test after d.
// It returns how long it waited.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not after %s", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func reads(n *korup2p.Node, key, want string) bool {
	e, err := n.Get(ctx, team, key)
	return err == nil && string(e.Value) == want
}

// invite has inviter invite joiner (for its ID, with ability) and joiner join.
func invite(t *testing.T, inviter, joiner *korup2p.Node, ability caps.Ability) {
	t.Helper()
	ticket, err := inviter.Invite(ctx, team, korup2p.InviteOptions{Ability: ability, For: joiner.ID()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := joiner.Join(ctx, ticket, ""); err != nil {
		t.Fatal(err)
	}
}

func dagLen(t *testing.T, n *korup2p.Node) int {
	t.Helper()
	log, err := n.DAGLog(ctx, team, 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(log)
}

// TestAccessNoReadNoNodes: a peer that holds a restricted space without a read
// capability is served none of its nodes, by gossip or by sync, while an invited
// reader receives them all.
func TestAccessNoReadNoNodes(t *testing.T) {
	nw := testnet.New(t, 3, nil)
	a, b, c := nw.Peer(0).Node, nw.Peer(1).Node, nw.Peer(2).Node
	info, err := a.CreateSpace(team, false)
	if err != nil {
		t.Fatal(err)
	}
	invite(t, a, b, caps.Read)

	// A ticket for B is no use to C.
	ticket, err := a.Invite(ctx, team, korup2p.InviteOptions{For: b.ID()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Join(ctx, ticket, ""); !errors.Is(err, korup2p.ErrDenied) {
		t.Fatalf("C joins with B's ticket: %v, want ErrDenied", err)
	}
	// C holds the space all the same, from its genesis (an ID is not a secret).
	gen, err := a.DAGNode(ctx, team, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Import(ctx, bytes.NewReader(nodetest.CAR(t, gen)), "", nil); err != nil {
		t.Fatal(err)
	}

	const n = 20
	for i := range n {
		if _, err := a.Put(ctx, team, fmt.Sprintf("notes/%02d", i), i); err != nil {
			t.Fatal(err)
		}
	}
	took := waitUntil(t, 10*time.Second, "B receives A's writes", func() bool {
		for i := range n {
			if !reads(b, fmt.Sprintf("notes/%02d", i), fmt.Sprint(i)) {
				return false
			}
		}
		return true
	})
	t.Logf("the reader had all %d writes %s after the last", n, took)

	// Watch C for a few heads announcements: gossip and the syncs they start.
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if l := dagLen(t, c); l != 1 {
			t.Fatalf("C, which may not read, holds %d nodes of the space", l)
		}
	}
	// The owner refuses C's session. B is refused before any session: C holds no
	// evidence that B may read (tokens come with the space's nodes), so C does not
	// offer it its own nodes.
	_, err = c.SyncWith(ctx, a.ID(), team)
	var refused *syncproto.RefusedError
	if !errors.As(err, &refused) || refused.Code != syncproto.RefuseForbidden {
		t.Errorf("C syncs with the owner: %v, want a forbidden refusal", err)
	}
	_, err = c.SyncWith(ctx, b.ID(), team)
	if !errors.As(err, &refused) && !errors.Is(err, korup2p.ErrDenied) {
		t.Errorf("C syncs with the reader: %v, want a refusal", err)
	}
	if l := dagLen(t, c); l != 1 {
		t.Errorf("C, which may not read, holds %d nodes of the space", l)
	}
	if _, err := c.Get(ctx, team, "notes/00"); !errors.Is(err, korup2p.ErrNotFound) {
		t.Errorf("C reads notes/00: %v", err)
	}
}

// TestAccessInviteJoinWrite: a write invite (a ticket for anyone) lets the joiner
// write, and its writes reach the inviter.
func TestAccessInviteJoinWrite(t *testing.T) {
	nw := testnet.New(t, 2, nil)
	a, b := nw.Peer(0).Node, nw.Peer(1).Node
	if _, err := a.CreateSpace(team, false); err != nil {
		t.Fatal(err)
	}
	ticket, err := a.Invite(ctx, team, korup2p.InviteOptions{Ability: caps.Write})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Join(ctx, ticket, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctx, team, "notes/b", "from the joiner"); err != nil {
		t.Fatalf("the joiner writes: %v", err)
	}
	took := waitUntil(t, 10*time.Second, "the inviter reads the joiner's write", func() bool {
		return reads(a, "notes/b", `"from the joiner"`)
	})
	t.Logf("the inviter read the joiner's write after %s", took)
	if st := a.AccessStats(); len(st.Rejected) != 0 || st.Voided != 0 {
		t.Errorf("the inviter refused nodes: %+v", st)
	}
}

// tokenFor returns the ID of the token n holds in the space for peer p.
func tokenFor(t *testing.T, n *korup2p.Node, p peer.ID) korup2p.Capability {
	t.Helper()
	list, err := n.Capabilities(team)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		if c.Audience == p {
			return c
		}
	}
	t.Fatalf("no token for %s", p)
	return korup2p.Capability{}
}

// statusOn returns the status n gives token id; "" if n does not hold it.
func statusOn(n *korup2p.Node, id cid.Cid) caps.Reason {
	list, err := n.Capabilities(team)
	if err != nil {
		return ""
	}
	for _, c := range list {
		if c.ID.Equals(id) {
			return c.Status
		}
	}
	return ""
}

func peerKeyOf(t *testing.T, p *testnet.Peer) crypto.PrivKey {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.Dir, "identity.key"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := crypto.UnmarshalPrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestAccessRevocationPropagates: a revocation reaches the other writers within a
// gossip round; from then on they refuse the revoked writer's new writes.
func TestAccessRevocationPropagates(t *testing.T) {
	nw := testnet.New(t, 3, nil)
	a, b, c := nw.Peer(0).Node, nw.Peer(1).Node, nw.Peer(2).Node
	info, err := a.CreateSpace(team, false)
	if err != nil {
		t.Fatal(err)
	}
	invite(t, a, b, caps.Write)
	invite(t, a, c, caps.Write)
	bTok := tokenFor(t, a, b.ID())
	if _, err := b.Put(ctx, team, "notes/b1", "before"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "C reads B's write", func() bool { return reads(c, "notes/b1", `"before"`) })
	if s := statusOn(c, bTok.ID); s != korup2p.StatusValid {
		t.Fatalf("C holds B's token as %q", s)
	}

	start := time.Now()
	if _, err := a.Revoke(ctx, team, bTok.ID); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, "C learns of the revocation", func() bool { return statusOn(c, bTok.ID) == caps.ReasonRevoked })
	onC := time.Since(start)
	if onC > 5*time.Second {
		t.Errorf("the revocation took %s to reach C", onC)
	}
	t.Logf("the revocation took effect on C %s after Revoke was called", onC)

	// C refuses B's writes built on the revocation.
	heads, err := c.Heads(team)
	if err != nil {
		t.Fatal(err)
	}
	var parents []*dag.Node
	for _, h := range heads {
		p, err := c.DAGNode(ctx, team, h)
		if err != nil {
			t.Fatal(err)
		}
		parents = append(parents, p)
	}
	val, err := distinctions.EncodeValue("after", distinctions.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	var clock dag.Clock
	late, err := dag.NewNode(dag.Draft{Space: info.ID, Parents: parents, Cap: bTok.ID,
		Ops: []dag.Op{{Key: "notes/b2", Kind: dag.KindSet, Value: val.Bytes}}}, &clock, time.Now().UnixNano(), peerKeyOf(t, nw.Peer(1)), distinctions.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	gen, err := c.DAGNode(ctx, team, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	before := c.AccessStats().Rejected[caps.ReasonRevoked]
	if _, err := c.Import(ctx, bytes.NewReader(nodetest.CAR(t, gen, late)), "", nil); err == nil {
		t.Errorf("C accepted B's write built on the revocation")
	}
	if got := c.AccessStats().Rejected[caps.ReasonRevoked]; got != before+1 {
		t.Errorf("C counts %d revoked rejections, want %d", got, before+1)
	}
	// B is no longer served the space, so it may not know it is revoked: what it
	// writes now either does not reach the others or is void there.
	if _, err := b.Put(ctx, team, "notes/b3", "after"); err != nil && !errors.Is(err, korup2p.ErrDenied) {
		t.Errorf("B writes after its revocation: %v", err)
	}

	// Honest traffic goes on; B's earlier write stays.
	if _, err := c.Put(ctx, team, "notes/c1", "honest"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "A reads C's write", func() bool { return reads(a, "notes/c1", `"honest"`) })
	for _, n := range []*korup2p.Node{a, c} {
		if !reads(n, "notes/b1", `"before"`) {
			t.Errorf("B's write before the revocation is gone on %s", n.ID())
		}
		for _, k := range []string{"notes/b2", "notes/b3"} {
			if _, err := n.Get(ctx, team, k); !errors.Is(err, korup2p.ErrNotFound) {
				t.Errorf("B's write %s after the revocation: %v on %s", k, err, n.ID())
			}
		}
	}
}

// TestAccessRevokedReaderCutOff: once a revocation reaches a member, that member
// stops serving the revoked peer: it is sent nothing written after it, by gossip
// either (a gossipsub mesh keeps its peers until they leave, so the member must
// drop the revoked peer from it, as the revoker does). The revoker drops B at
// once; this is about C, which learns of the revocation from the network.
func TestAccessRevokedReaderCutOff(t *testing.T) {
	nw := testnet.New(t, 3, nil)
	a, b, c := nw.Peer(0).Node, nw.Peer(1).Node, nw.Peer(2).Node
	if _, err := a.CreateSpace(team, false); err != nil {
		t.Fatal(err)
	}
	invite(t, a, c, caps.Write)
	joined := time.Now()
	invite(t, a, b, caps.Read)
	bTok := tokenFor(t, a, b.ID())
	// C's writes reach B; until gossipsub's heartbeat (about a second) has taken B
	// into C's mesh.
	for i := 0; i == 0 || time.Since(joined) < 1500*time.Millisecond; i++ {
		key := fmt.Sprintf("notes/warm%d", i)
		if _, err := c.Put(ctx, team, key, i); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 10*time.Second, "B reads C's "+key, func() bool { return reads(b, key, fmt.Sprint(i)) })
	}

	if _, err := a.Revoke(ctx, team, bTok.ID); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, "C learns of the revocation", func() bool { return statusOn(c, bTok.ID) == caps.ReasonRevoked })
	if _, err := c.Put(ctx, team, "notes/secret", "after"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "A reads C's write", func() bool { return reads(a, "notes/secret", `"after"`) })
	// Watch B over two heartbeats.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if e, err := b.Get(ctx, team, "notes/secret"); err == nil {
			t.Fatalf("B, revoked, received C's write after the revocation: %s", e.Value)
		}
	}
}

// TestAccessJoinThroughMember: a reader who joins while the inviter is out of
// reach syncs the space from another member it is connected to (Join: the space
// "syncs when a peer holding it is reached").
func TestAccessJoinThroughMember(t *testing.T) {
	nw := testnet.New(t, 3, nil)
	a, b, c := nw.Peer(0).Node, nw.Peer(1).Node, nw.Peer(2).Node
	if _, err := a.CreateSpace(team, false); err != nil {
		t.Fatal(err)
	}
	invite(t, a, c, caps.Write)
	if _, err := c.Put(ctx, team, "notes/c", "from C"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "A reads C's write", func() bool { return reads(a, "notes/c", `"from C"`) })
	if err := a.BlockPeer(b.ID()); err != nil {
		t.Fatal(err)
	}
	if err := b.BlockPeer(a.ID()); err != nil {
		t.Fatal(err)
	}
	invite(t, a, b, caps.Read) // B's Join cannot reach A
	took := waitUntil(t, 5*time.Second, "B syncs the space from C", func() bool { return reads(b, "notes/c", `"from C"`) })
	t.Logf("B synced from C after %s", took)
}
