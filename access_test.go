package korup2p_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
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
)

// Attacks on the access control of restricted spaces. Each test crafts nodes with
// keys of its own (an attacker's, or a peer's the owner granted to), delivers them
// to the owner's Node as a peer would (Import of a CAR file, which ingests every
// node as if a peer sent it), and checks that the attack is refused for the right
// reason (AccessStats) and that honest writes go on being accepted and read.

const team = "team"

// t0 is the owner's wall clock in these tests.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// peerKey is a key the test signs with.
type peerKey struct {
	priv crypto.PrivKey
	id   peer.ID
}

func newPeerKey(t *testing.T) peerKey {
	t.Helper()
	priv, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return peerKey{priv, id}
}

// world is a restricted space owned by an in-memory Node whose clock the test sets.
type world struct {
	t       *testing.T
	owner   *korup2p.Node
	clk     *fakeClock
	space   korup2p.SpaceInfo
	gen     *dag.Node
	honestN int
}

func newWorld(t *testing.T) *world {
	t.Helper()
	clk := &fakeClock{t: t0}
	owner := openMem(t, &korup2p.Options{Now: clk.Now})
	info, err := owner.CreateSpace(team, false)
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, owner: owner, clk: clk, space: info, gen: genesisOf(t, owner, team, info.ID)}
}

func genesisOf(t *testing.T, n *korup2p.Node, space string, id cid.Cid) *dag.Node {
	t.Helper()
	g, err := n.DAGNode(ctx, space, id)
	if err != nil || !g.IsGenesis() {
		t.Fatalf("genesis of %s: %v", space, err)
	}
	return g
}

// headsOf returns n's heads of space as nodes: what a peer builds on.
func headsOf(t *testing.T, n *korup2p.Node, space string) []*dag.Node {
	t.Helper()
	hs, err := n.Heads(space)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*dag.Node, len(hs))
	for i, h := range hs {
		if out[i], err = n.DAGNode(ctx, space, h); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func (w *world) heads() []*dag.Node { return headsOf(w.t, w.owner, team) }

// grant has the owner grant g to peer to.
func (w *world) grant(to peer.ID, g korup2p.Grant) korup2p.Capability {
	w.t.Helper()
	g.To = to
	c, err := w.owner.Grant(ctx, team, g)
	if err != nil {
		w.t.Fatalf("grant %+v: %v", g, err)
	}
	return c
}

// token returns token c as the space holds it: decoded from the value of its
// reserved key.
func (w *world) token(c cid.Cid) *caps.Token {
	w.t.Helper()
	return tokenIn(w.t, w.owner, team, c)
}

func tokenIn(t *testing.T, n *korup2p.Node, space string, c cid.Cid) *caps.Token {
	t.Helper()
	key := dag.SysNamespace + "/caps/" + c.String()
	log, err := n.DAGLog(ctx, space, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range log {
		nd, err := n.DAGNode(ctx, space, e.CID)
		if err != nil {
			t.Fatal(err)
		}
		op, ok := nd.Op(key)
		if !ok {
			continue
		}
		v, err := distinctions.DecodeValue(op.Value, distinctions.DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		b, err := base64.RawURLEncoding.DecodeString(v.(string))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := caps.Decode(b, distinctions.DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	t.Fatalf("token %s is not held in %s", c, space)
	return nil
}

// craft builds a node of space signed by k, naming capability, on parents, at
// wall time wall.
func craft(t *testing.T, space cid.Cid, k peerKey, capability cid.Cid, parents []*dag.Node, wall time.Time, ops ...dag.Op) *dag.Node {
	t.Helper()
	var clock dag.Clock
	n, err := dag.NewNode(dag.Draft{Space: space, Parents: parents, Ops: ops, Cap: capability}, &clock, wall.UnixNano(), k.priv, distinctions.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// write crafts k's node of the world's space on the owner's heads, now.
func (w *world) write(k peerKey, capability cid.Cid, ops ...dag.Op) *dag.Node {
	w.t.Helper()
	return craft(w.t, w.space.ID, k, capability, w.heads(), w.clk.Now(), ops...)
}

// sysOp writes b under the reserved key as korup2p does: a base64url string.
func sysOp(t *testing.T, key string, b []byte) dag.Op {
	t.Helper()
	return nodetest.SetOp(t, key, base64.RawURLEncoding.EncodeToString(b))
}

func tokenOp(t *testing.T, tok *caps.Token) dag.Op {
	t.Helper()
	return sysOp(t, dag.SysNamespace+"/caps/"+tok.CID().String(), tok.Bytes())
}

func revocationOp(t *testing.T, r *caps.Revocation) dag.Op {
	t.Helper()
	return sysOp(t, dag.SysNamespace+"/revocations/"+r.CID().String(), r.Bytes())
}

func issue(t *testing.T, k peerKey, tok caps.Token) *caps.Token {
	t.Helper()
	out, err := caps.Issue(k.priv, tok)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// deliverTo imports nodes into n's space as a peer's would arrive.
func deliverTo(t *testing.T, n *korup2p.Node, space string, gen *dag.Node, nodes ...*dag.Node) error {
	t.Helper()
	_, err := n.Import(ctx, bytes.NewReader(nodetest.CAR(t, gen, nodes...)), space, nil)
	return err
}

func (w *world) deliver(nodes ...*dag.Node) error {
	w.t.Helper()
	return deliverTo(w.t, w.owner, team, w.gen, nodes...)
}

func held(n *korup2p.Node, space string, c cid.Cid) bool {
	_, err := n.DAGNode(ctx, space, c)
	return err == nil
}

// accept delivers nodes and fails unless every one is stored.
func (w *world) accept(nodes ...*dag.Node) {
	w.t.Helper()
	if err := w.deliver(nodes...); err != nil {
		w.t.Fatalf("an authorised write was refused: %v", err)
	}
	for _, n := range nodes {
		if !held(w.owner, team, n.CID()) {
			w.t.Fatalf("node %s is not stored", n.CID())
		}
	}
}

// reject delivers n alone and fails unless it is refused for one of reasons (the
// first is the one expected; others are named where more than one is right), is
// not stored, and AccessStats counts it. Then an honest write must go through.
func (w *world) reject(n *dag.Node, reasons ...caps.Reason) caps.Reason {
	w.t.Helper()
	before := w.owner.AccessStats()
	err := w.deliver(n)
	if err == nil || !strings.Contains(err.Error(), "1 invalid nodes") {
		w.t.Errorf("delivering an unauthorised node: %v, want 1 invalid node", err)
	}
	if held(w.owner, team, n.CID()) {
		w.t.Errorf("the refused node %s is stored", n.CID())
	}
	after := w.owner.AccessStats()
	var got caps.Reason
	for r, c := range after.Rejected {
		if c != before.Rejected[r] {
			if got != "" || c != before.Rejected[r]+1 {
				w.t.Errorf("AccessStats.Rejected went from %v to %v: want one more rejection", before.Rejected, after.Rejected)
			}
			got = r
		}
	}
	if !containsReason(reasons, got) {
		w.t.Errorf("refused for %q (AccessStats %v), want %q", got, after.Rejected, reasons)
	}
	if after.Voided != before.Voided {
		w.t.Errorf("AccessStats.Voided changed: %d → %d", before.Voided, after.Voided)
	}
	w.honest()
	return got
}

func containsReason(rs []caps.Reason, r caps.Reason) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// honest has the owner write a fresh key and read it back: honest traffic goes on.
func (w *world) honest() {
	w.t.Helper()
	w.honestN++
	key := fmt.Sprintf("honest/%d", w.honestN)
	mustPut(w.t, w.owner, team, key, w.honestN)
	if e := mustGet(w.t, w.owner, team, key); string(e.Value) != fmt.Sprint(w.honestN) {
		w.t.Fatalf("honest write %s reads %s", key, e.Value)
	}
}

// absent fails unless key has no value.
func absent(t *testing.T, n *korup2p.Node, space, key string) {
	t.Helper()
	if e, err := n.Get(ctx, space, key); !errors.Is(err, korup2p.ErrNotFound) {
		t.Errorf("%s reads %s (%v): an unauthorised write took effect", key, e.Value, err)
	}
}

func reads(t *testing.T, n *korup2p.Node, space, key, want string) {
	t.Helper()
	e, err := n.Get(ctx, space, key)
	if err != nil || string(e.Value) != want {
		t.Errorf("%s reads %s (%v), want %s", key, e.Value, err, want)
	}
}

// TestAttackNoCapability: a peer holding no capability cannot write, whatever
// capability it names.
func TestAttackNoCapability(t *testing.T) {
	w := newWorld(t)
	mallory := newPeerKey(t)
	w.reject(w.write(mallory, cid.Undef, nodetest.SetOp(t, "notes/a", "pwned")), caps.ReasonBrokenChain)
	absent(t, w.owner, team, "notes/a")
	if got := w.owner.AccessStats().Rejected[caps.ReasonBrokenChain]; got != 1 {
		t.Errorf("AccessStats counts %d broken-chain rejections, want 1", got)
	}

	// A token the space does not hold.
	w.reject(w.write(mallory, w.gen.CID(), nodetest.SetOp(t, "notes/a", "pwned")), caps.ReasonBrokenChain)

	// Someone else's token, held in the space.
	alice := newPeerKey(t)
	c := w.grant(alice.id, korup2p.Grant{Ability: caps.Write})
	w.reject(w.write(mallory, c.ID, nodetest.SetOp(t, "notes/a", "pwned")), caps.ReasonWrongAudience)
	absent(t, w.owner, team, "notes/a")

	w.accept(w.write(alice, c.ID, nodetest.SetOp(t, "notes/a", "alice")))
	reads(t, w.owner, team, "notes/a", `"alice"`)
}

// TestAttackReaderWrites: a read-only token does not let its holder write; it
// does let it publish tokens.
func TestAttackReaderWrites(t *testing.T) {
	w := newWorld(t)
	reader := newPeerKey(t)
	c := w.grant(reader.id, korup2p.Grant{Ability: caps.Read})
	w.reject(w.write(reader, c.ID, nodetest.SetOp(t, "notes/a", "pwned")), caps.ReasonInsufficientAbility)
	absent(t, w.owner, team, "notes/a")

	// Publishing a (narrower) token needs Read only.
	friend := newPeerKey(t)
	d := issue(t, reader, caps.Token{Audience: friend.id, Space: w.space.ID, Ability: caps.Read, Keys: []string{"*"}, Proof: c.ID})
	w.accept(w.write(reader, c.ID, tokenOp(t, d)))
	w.honest()
}

// TestAttackPatternMismatch: a writer limited to notes/* writes nothing else,
// not even in a node that also writes notes/*, and no reserved key.
func TestAttackPatternMismatch(t *testing.T) {
	w := newWorld(t)
	bob := newPeerKey(t)
	c := w.grant(bob.id, korup2p.Grant{Ability: caps.Write, Keys: []string{"notes/*"}})
	w.reject(w.write(bob, c.ID, nodetest.SetOp(t, "admin/x", "pwned")), caps.ReasonPatternMismatch)
	absent(t, w.owner, team, "admin/x")

	w.accept(w.write(bob, c.ID, nodetest.SetOp(t, "notes/a", "fine")))
	reads(t, w.owner, team, "notes/a", `"fine"`)

	w.reject(w.write(bob, c.ID, nodetest.SetOp(t, "notes/b", "half"), nodetest.SetOp(t, "admin/y", "pwned")), caps.ReasonPatternMismatch)
	absent(t, w.owner, team, "notes/b")
	absent(t, w.owner, team, "admin/y")

	w.reject(w.write(bob, c.ID, nodetest.SetOp(t, dag.SysNamespace+"/admin", "pwned")), caps.ReasonPatternMismatch)
}

// TestAttackTokenWindow: a token is used only within its validity window, judged
// at the node's clock.
func TestAttackTokenWindow(t *testing.T) {
	w := newWorld(t)
	early, late := newPeerKey(t), newPeerKey(t)
	soon := w.grant(early.id, korup2p.Grant{Ability: caps.Write, NotBefore: t0.Add(time.Hour)})
	exp := w.grant(late.id, korup2p.Grant{Ability: caps.Write, Expiry: t0.Add(time.Hour)})

	w.reject(w.write(early, soon.ID, nodetest.SetOp(t, "notes/early", "pwned")), caps.ReasonNotYetValid)
	absent(t, w.owner, team, "notes/early")
	w.accept(w.write(late, exp.ID, nodetest.SetOp(t, "notes/late", "in time")))

	w.clk.Set(t0.Add(90 * time.Minute))
	w.reject(w.write(late, exp.ID, nodetest.SetOp(t, "notes/late", "too late")), caps.ReasonExpired)
	reads(t, w.owner, team, "notes/late", `"in time"`)
	w.accept(w.write(early, soon.ID, nodetest.SetOp(t, "notes/early", "now valid")))
	reads(t, w.owner, team, "notes/early", `"now valid"`)
}

// wireToken mirrors the token encoding (caps/token.go), to forge tokens.
type wireToken struct {
	V     uint64             `cbor:"v"`
	Iss   []byte             `cbor:"iss"`
	Aud   []byte             `cbor:"aud"`
	Space distinctions.Link  `cbor:"space"`
	Can   string             `cbor:"can"`
	Keys  []string           `cbor:"keys"`
	Nbf   int64              `cbor:"nbf,omitempty"`
	Exp   int64              `cbor:"exp,omitempty"`
	Prf   *distinctions.Link `cbor:"prf,omitempty"`
	Sig   []byte             `cbor:"sig,omitempty"`
}

func wireOf(tok *caps.Token) wireToken {
	w := wireToken{V: caps.FormatVersion, Iss: []byte(tok.Issuer), Aud: []byte(tok.Audience),
		Space: distinctions.Link{Cid: tok.Space}, Can: tok.Ability.String(), Keys: tok.Keys,
		Nbf: tok.NotBefore, Exp: tok.Expiry, Sig: tok.Sig}
	if tok.Proof.Defined() {
		w.Prf = &distinctions.Link{Cid: tok.Proof}
	}
	return w
}

// TestAttackForgedToken: a token altered after signing authorises nothing.
//
// caps.Decode verifies a token's signature, so a forged token never enters the
// space: the node carrying it is refused as it is decoded (broken-chain, the
// reason for a malformed reserved op), and a node naming it without carrying it
// names a token the space does not hold (broken-chain). bad-signature, Check's
// reason, is accepted too: it is what a forged token would get if it reached a
// chain check.
func TestAttackForgedToken(t *testing.T) {
	w := newWorld(t)
	bob := newPeerKey(t)
	c := w.grant(bob.id, korup2p.Grant{Ability: caps.Write, Keys: []string{"notes/*"}})
	real := w.token(c.ID)
	forgedReasons := []caps.Reason{caps.ReasonBrokenChain, caps.ReasonBadSignature}

	// The mirror encodes a real token exactly, so what it forges is well formed.
	if b, err := distinctions.Marshal(wireOf(real)); err != nil || !bytes.Equal(b, real.Bytes()) {
		t.Fatalf("the wire mirror does not reproduce the token: %v", err)
	}

	t.Run("flipped signature byte", func(t *testing.T) {
		b := bytes.Clone(real.Bytes())
		i := bytes.Index(b, real.Sig)
		if i < 0 {
			t.Fatal("signature not found in the token's bytes")
		}
		b[i+7] ^= 0x01
		forged := distinctions.Sum(b)
		op := sysOp(t, dag.SysNamespace+"/caps/"+forged.String(), b)
		w.reject(w.write(bob, forged, op, nodetest.SetOp(t, "notes/x", "forged")), forgedReasons...)
		absent(t, w.owner, team, "notes/x")
	})

	t.Run("widened keys, signature kept", func(t *testing.T) {
		wt := wireOf(real)
		wt.Keys = []string{"*"}
		b, err := distinctions.Marshal(wt)
		if err != nil {
			t.Fatal(err)
		}
		forged := distinctions.Sum(b)
		op := sysOp(t, dag.SysNamespace+"/caps/"+forged.String(), b)
		// Carried by the node that uses it.
		w.reject(w.write(bob, forged, op, nodetest.SetOp(t, "admin/x", "forged")), forgedReasons...)
		// Published on its own, under bob's real token.
		w.reject(w.write(bob, c.ID, op), forgedReasons...)
		// Named, not carried.
		w.reject(w.write(bob, forged, nodetest.SetOp(t, "admin/x", "forged")), forgedReasons...)
		absent(t, w.owner, team, "admin/x")
	})

	w.accept(w.write(bob, c.ID, nodetest.SetOp(t, "notes/x", "real")))
	reads(t, w.owner, team, "notes/x", `"real"`)
}

// TestAttackWideningDelegation: a delegation never grants more than its parent.
func TestAttackWideningDelegation(t *testing.T) {
	w := newWorld(t)
	bob, carol, dave, erin := newPeerKey(t), newPeerKey(t), newPeerKey(t), newPeerKey(t)
	c := w.grant(bob.id, korup2p.Grant{Ability: caps.Write, Keys: []string{"notes/*"}})

	wide := issue(t, bob, caps.Token{Audience: carol.id, Space: w.space.ID, Ability: caps.Write, Keys: []string{"*"}, Proof: c.ID})
	w.reject(w.write(carol, wide.CID(), tokenOp(t, wide), nodetest.SetOp(t, "admin/x", "pwned")), caps.ReasonPatternMismatch)
	w.reject(w.write(carol, wide.CID(), tokenOp(t, wide), nodetest.SetOp(t, "notes/c", "pwned")), caps.ReasonPatternMismatch)
	absent(t, w.owner, team, "admin/x")
	absent(t, w.owner, team, "notes/c")

	r := w.grant(dave.id, korup2p.Grant{Ability: caps.Read})
	raised := issue(t, dave, caps.Token{Audience: erin.id, Space: w.space.ID, Ability: caps.Write, Keys: []string{"*"}, Proof: r.ID})
	w.reject(w.write(erin, raised.CID(), tokenOp(t, raised), nodetest.SetOp(t, "notes/e", "pwned")), caps.ReasonInsufficientAbility)
	absent(t, w.owner, team, "notes/e")

	// A narrowing delegation works.
	narrow := issue(t, bob, caps.Token{Audience: carol.id, Space: w.space.ID, Ability: caps.Write, Keys: []string{"notes/c"}, Proof: c.ID})
	w.accept(w.write(carol, narrow.CID(), tokenOp(t, narrow), nodetest.SetOp(t, "notes/c", "delegated")))
	reads(t, w.owner, team, "notes/c", `"delegated"`)
}

// TestAttackSelfIssuedRoot: a chain must start at the owner.
func TestAttackSelfIssuedRoot(t *testing.T) {
	w := newWorld(t)
	mallory, bob := newPeerKey(t), newPeerKey(t)
	root := issue(t, mallory, caps.Token{Audience: mallory.id, Space: w.space.ID, Ability: caps.Admin, Keys: []string{"*"}})
	w.reject(w.write(mallory, root.CID(), tokenOp(t, root), nodetest.SetOp(t, "notes/a", "pwned")), caps.ReasonNotOwner)
	absent(t, w.owner, team, "notes/a")

	// A writer on notes/* roots itself a token for everything.
	w.grant(bob.id, korup2p.Grant{Ability: caps.Write, Keys: []string{"notes/*"}})
	self := issue(t, bob, caps.Token{Audience: bob.id, Space: w.space.ID, Ability: caps.Write, Keys: []string{"*"}})
	w.reject(w.write(bob, self.CID(), tokenOp(t, self), nodetest.SetOp(t, "admin/x", "pwned")), caps.ReasonNotOwner)
	absent(t, w.owner, team, "admin/x")
}

// TestAttackRevokedWriter: after a revocation, the revoked writer and its
// delegates write nothing that builds on it; what they wrote concurrently is
// stored void; what they wrote before stays.
func TestAttackRevokedWriter(t *testing.T) {
	w := newWorld(t)
	bob, dave := newPeerKey(t), newPeerKey(t)
	c := w.grant(bob.id, korup2p.Grant{Ability: caps.Write})
	d := issue(t, bob, caps.Token{Audience: dave.id, Space: w.space.ID, Ability: caps.Write, Keys: []string{"notes/*"}, Proof: c.ID})

	before := w.write(bob, c.ID, nodetest.SetOp(t, "notes/before", "b"))
	w.accept(before)
	dBefore := w.write(dave, d.CID(), tokenOp(t, d), nodetest.SetOp(t, "notes/d-before", "d"))
	w.accept(dBefore)

	preRevocation := w.heads()
	overwrite := nodetest.SetOp(t, "notes/before", "overwritten")
	overwrite.Prev = []cid.Cid{before.CID()}
	conc := craft(t, w.space.ID, bob, c.ID, preRevocation, t0, nodetest.SetOp(t, "notes/concurrent", "c"), overwrite)
	dConc := craft(t, w.space.ID, dave, d.CID(), preRevocation, t0, nodetest.SetOp(t, "notes/d-concurrent", "d"))

	rev, err := w.owner.Revoke(ctx, team, c.ID)
	if err != nil {
		t.Fatal(err)
	}

	w.reject(w.write(bob, c.ID, nodetest.SetOp(t, "notes/after", "pwned")), caps.ReasonRevoked)
	w.reject(w.write(dave, d.CID(), nodetest.SetOp(t, "notes/d-after", "pwned")), caps.ReasonRevoked)
	absent(t, w.owner, team, "notes/after")
	absent(t, w.owner, team, "notes/d-after")

	for i, n := range []*dag.Node{conc, dConc} {
		voided := w.owner.AccessStats().Voided
		if err := w.deliver(n); err != nil {
			t.Fatalf("a write concurrent with the revocation: %v, want it stored (void)", err)
		}
		if !held(w.owner, team, n.CID()) {
			t.Fatalf("concurrent write %d is not stored", i)
		}
		if got := w.owner.AccessStats().Voided; got != voided+1 {
			t.Errorf("AccessStats.Voided = %d after concurrent write %d, want %d", got, i, voided+1)
		}
	}
	absent(t, w.owner, team, "notes/concurrent")
	absent(t, w.owner, team, "notes/d-concurrent")
	reads(t, w.owner, team, "notes/before", `"b"`)
	reads(t, w.owner, team, "notes/d-before", `"d"`)

	list, err := w.owner.Capabilities(team)
	if err != nil {
		t.Fatal(err)
	}
	for _, cp := range list {
		if (cp.ID.Equals(c.ID) || cp.ID.Equals(d.CID())) && (cp.Status != caps.ReasonRevoked || len(cp.RevokedBy) != 1 || !cp.RevokedBy[0].Equals(rev.ID)) {
			t.Errorf("capability %s: status %s, revoked by %v; want revoked by %s", cp.ID, cp.Status, cp.RevokedBy, rev.ID)
		}
	}
	w.honest()
	mustPut(t, w.owner, team, "notes/concurrent", "owner")
	reads(t, w.owner, team, "notes/concurrent", `"owner"`)
}

// TestAttackRevocationFromPeer: a revocation that reaches a replica from a peer
// voids, there too, a write concurrent with it that the replica had already
// stored and read: the replica then reads as the revoker does.
func TestAttackRevocationFromPeer(t *testing.T) {
	w := newWorld(t)
	replica := openMem(t, &korup2p.Options{Now: w.clk.Now})
	bob := newPeerKey(t)
	c := w.grant(bob.id, korup2p.Grant{Ability: caps.Write})
	sync := func() { // the owner's nodes reach the replica
		t.Helper()
		var buf bytes.Buffer
		if err := w.owner.Export(ctx, team, &buf, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := replica.Import(ctx, &buf, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	sync()

	conc := craft(t, w.space.ID, bob, c.ID, headsOf(t, replica, team), t0, nodetest.SetOp(t, "notes/c", "concurrent"))
	if err := deliverTo(t, replica, team, w.gen, conc); err != nil {
		t.Fatal(err)
	}
	reads(t, replica, team, "notes/c", `"concurrent"`) // valid until the revocation arrives

	if _, err := w.owner.Revoke(ctx, team, c.ID); err != nil {
		t.Fatal(err)
	}
	if err := w.deliver(conc); err != nil {
		t.Fatal(err)
	}
	absent(t, w.owner, team, "notes/c")
	sync()
	absent(t, replica, team, "notes/c")

	da, err := w.owner.StateDigest(ctx, team)
	if err != nil {
		t.Fatal(err)
	}
	db, err := replica.StateDigest(ctx, team)
	if err != nil {
		t.Fatal(err)
	}
	if da != db {
		t.Errorf("the owner and the replica hold the same nodes but read differently: digests %.12s, %.12s", da, db)
	}
}

// TestAttackForeignRevocation: only the issuer, the owner or an admin over the
// token's keys may revoke it, and a revocation is published by its own issuer.
func TestAttackForeignRevocation(t *testing.T) {
	w := newWorld(t)
	bob, reader := newPeerKey(t), newPeerKey(t)
	c := w.grant(bob.id, korup2p.Grant{Ability: caps.Write})
	rc := w.grant(reader.id, korup2p.Grant{Ability: caps.Read})

	byReader, err := caps.IssueRevocation(reader.priv, caps.Revocation{Space: w.space.ID, Token: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	w.reject(w.write(reader, rc.ID, revocationOp(t, byReader)), caps.ReasonInsufficientAbility)

	// The reader publishes a revocation it did not sign.
	other, err := caps.IssueRevocation(newPeerKey(t).priv, caps.Revocation{Space: w.space.ID, Token: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	w.reject(w.write(reader, rc.ID, revocationOp(t, other)), caps.ReasonWrongAudience)

	w.accept(w.write(bob, c.ID, nodetest.SetOp(t, "notes/bob", "still writes")))
	reads(t, w.owner, team, "notes/bob", `"still writes"`)
}

// TestAttackCrossSpaceReplay: a node, or a token, of one space means nothing in
// another, even one of the same owner.
func TestAttackCrossSpaceReplay(t *testing.T) {
	w := newWorld(t)
	other, err := w.owner.CreateSpace("other", false)
	if err != nil {
		t.Fatal(err)
	}
	otherGen := genesisOf(t, w.owner, "other", other.ID)
	bob := newPeerKey(t)
	c := w.grant(bob.id, korup2p.Grant{Ability: caps.Write})
	tok := w.token(c.ID)

	ownerNode, err := w.owner.DAGNode(ctx, team, mustPut(t, w.owner, team, "notes/o", "team").Version)
	if err != nil {
		t.Fatal(err)
	}
	bobNode := w.write(bob, c.ID, nodetest.SetOp(t, "notes/b", "team"))
	w.accept(bobNode)

	t.Run("nodes replayed", func(t *testing.T) {
		before := w.owner.AccessStats()
		for _, n := range []*dag.Node{ownerNode, bobNode} {
			if err := deliverTo(t, w.owner, "other", otherGen, n); err == nil || !strings.Contains(err.Error(), "1 invalid nodes") {
				t.Errorf("a node of another space: %v, want it refused", err)
			}
			if held(w.owner, "other", n.CID()) {
				t.Errorf("node %s of another space is stored", n.CID())
			}
		}
		absent(t, w.owner, "other", "notes/o")
		absent(t, w.owner, "other", "notes/b")
		// AccessStats.Rejected documents "invalid" for a node that broke the
		// space rule.
		if got, want := w.owner.AccessStats().Rejected["invalid"], before.Rejected["invalid"]+2; got != want {
			t.Errorf(`AccessStats.Rejected["invalid"] = %d after two nodes of another space, want %d`, got, want)
		}
	})

	otherHeads := func() []*dag.Node { return headsOf(t, w.owner, "other") }
	rejectOther := func(n *dag.Node, reason caps.Reason) {
		t.Helper()
		before := w.owner.AccessStats().Rejected[reason]
		if err := deliverTo(t, w.owner, "other", otherGen, n); err == nil {
			t.Errorf("a write under a token of another space was accepted")
		}
		if got := w.owner.AccessStats().Rejected[reason]; got != before+1 {
			t.Errorf("AccessStats.Rejected[%s] = %d, want %d", reason, got, before+1)
		}
	}
	// The token of team, carried into other.
	rejectOther(craft(t, other.ID, bob, c.ID, otherHeads(), t0, tokenOp(t, tok), nodetest.SetOp(t, "notes/b", "pwned")), caps.ReasonWrongSpace)
	// Named, not carried: other does not hold it.
	rejectOther(craft(t, other.ID, bob, c.ID, otherHeads(), t0, nodetest.SetOp(t, "notes/b", "pwned")), caps.ReasonBrokenChain)
	absent(t, w.owner, "other", "notes/b")

	mustPut(t, w.owner, "other", "notes/o", "other")
	reads(t, w.owner, "other", "notes/o", `"other"`)
	reads(t, w.owner, team, "notes/o", `"team"`)
	w.honest()
}

// deniedReason fails unless err matches ErrDenied, and returns its reason.
func deniedReason(t *testing.T, what string, err error) caps.Reason {
	t.Helper()
	var d *caps.Denied
	if !errors.Is(err, korup2p.ErrDenied) || !errors.As(err, &d) {
		t.Errorf("%s: %v, want ErrDenied", what, err)
		return ""
	}
	return d.Reason
}

// TestAccessLocalRefusals: the API refuses, before writing anything, what the
// peer may not do.
func TestAccessLocalRefusals(t *testing.T) {
	w := newWorld(t)
	member := openMem(t, &korup2p.Options{Now: w.clk.Now})
	stranger := openMem(t, &korup2p.Options{Now: w.clk.Now})
	sync := func(n *korup2p.Node) {
		t.Helper()
		var buf bytes.Buffer
		if err := w.owner.Export(ctx, team, &buf, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Import(ctx, &buf, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	sync(member)
	sync(stranger)
	headsBefore, _ := member.Heads(team)

	_, err := member.Put(ctx, team, "notes/a", "pwned")
	if r := deniedReason(t, "a non-member's put", err); r != caps.ReasonBrokenChain {
		t.Errorf("a non-member's put: reason %q, want %q", r, caps.ReasonBrokenChain)
	}
	var ke *korup2p.KeyError
	if !errors.As(err, &ke) || ke.Key != "notes/a" {
		t.Errorf("a non-member's put: %v, want a KeyError naming the key", err)
	}
	if heads, _ := member.Heads(team); len(heads) != len(headsBefore) || !heads[0].Equals(headsBefore[0]) {
		t.Errorf("a refused put changed the heads: %v → %v", headsBefore, heads)
	}

	rc := w.grant(member.ID(), korup2p.Grant{Ability: caps.Read})
	wc := w.grant(newPeerKey(t).id, korup2p.Grant{Ability: caps.Write})
	sync(member)
	sync(stranger)

	_, err = member.Put(ctx, team, "notes/a", "pwned")
	if r := deniedReason(t, "a reader's put", err); r != caps.ReasonInsufficientAbility {
		t.Errorf("a reader's put: reason %q, want %q", r, caps.ReasonInsufficientAbility)
	}
	_, err = member.Grant(ctx, team, korup2p.Grant{To: newPeerKey(t).id, Ability: caps.Write})
	if r := deniedReason(t, "a reader granting write", err); r != caps.ReasonInsufficientAbility {
		t.Errorf("a reader granting write: reason %q, want %q", r, caps.ReasonInsufficientAbility)
	}
	if _, err := member.Grant(ctx, team, korup2p.Grant{To: newPeerKey(t).id, Ability: caps.Read}); err != nil {
		t.Errorf("a reader delegating read: %v", err)
	}
	_, err = member.Revoke(ctx, team, wc.ID)
	if r := deniedReason(t, "a reader revoking a writer", err); r != caps.ReasonInsufficientAbility {
		t.Errorf("a reader revoking a writer: reason %q, want %q", r, caps.ReasonInsufficientAbility)
	}
	_, err = stranger.Revoke(ctx, team, rc.ID)
	if r := deniedReason(t, "a stranger revoking", err); r != caps.ReasonBrokenChain {
		t.Errorf("a stranger revoking: reason %q, want %q", r, caps.ReasonBrokenChain)
	}
	_, err = stranger.Grant(ctx, team, korup2p.Grant{To: stranger.ID(), Ability: caps.Admin})
	if r := deniedReason(t, "a stranger granting itself", err); r != caps.ReasonBrokenChain {
		t.Errorf("a stranger granting itself: reason %q, want %q", r, caps.ReasonBrokenChain)
	}

	list, err := w.owner.Capabilities(team)
	if err != nil {
		t.Fatal(err)
	}
	for _, cp := range list {
		if cp.Status != korup2p.StatusValid {
			t.Errorf("capability %s is %s after refused revocations", cp.ID, cp.Status)
		}
	}
	w.honest()
}
