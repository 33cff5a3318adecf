package dag

import (
	"errors"
	"math/rand"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/distinctions"
)

func testKey(t testing.TB, seed int64) crypto.PrivKey {
	k, _, err := crypto.GenerateEd25519Key(rand.New(rand.NewSource(seed)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func val(t testing.TB, s string) []byte {
	v, err := distinctions.ParseJSON([]byte(s), distinctions.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	d, err := distinctions.EncodeValue(v, distinctions.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	return d.Bytes
}

// reencode signs n as it stands (with key, unless key is nil) and encodes it without
// any check, so that Decode meets exactly the fault the test put in.
func reencode(t *testing.T, n *Node, key crypto.PrivKey) []byte {
	t.Helper()
	if key != nil {
		var err error
		if n.Sig, err = signNode(n, key); err != nil {
			t.Fatal(err)
		}
	}
	b, err := distinctions.Marshal(n.toWire(true))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeRules(t *testing.T) {
	key := testKey(t, 1)
	g, err := NewOpenGenesis("s")
	if err != nil {
		t.Fatal(err)
	}
	var clock Clock
	good := func() *Node {
		n, err := NewNode(Draft{Space: g.CID(), Parents: []*Node{g}, Ops: []Op{
			{Key: "a/1", Kind: KindSet, Value: val(t, `{"x":1}`)},
			{Key: "a/2", Kind: KindDel},
		}}, &clock, 1e18, key, distinctions.DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if _, err := Decode(good().Bytes(), distinctions.DefaultLimits); err != nil {
		t.Fatalf("a good node does not decode: %v", err)
	}
	other := testKey(t, 2)
	for _, tc := range []struct {
		name string
		edit func(n *Node)
		key  crypto.PrivKey
		rule Rule
	}{
		{"bad signature", func(n *Node) { n.Sig[0] ^= 1 }, nil, RuleSignature},
		{"signed by another key", func(n *Node) {}, other, RuleSignature},
		{"no signature", func(n *Node) { n.Sig = nil }, nil, RuleSignature},
		{"no author", func(n *Node) { n.Author = "" }, key, RuleAuthor},
		{"garbage author", func(n *Node) { n.Author = peer.ID("xyz") }, key, RuleAuthor},
		{"no ops", func(n *Node) { n.Ops = nil }, key, RuleOps},
		{"unsorted ops", func(n *Node) { n.Ops[0], n.Ops[1] = n.Ops[1], n.Ops[0] }, key, RuleOps},
		{"duplicate key", func(n *Node) { n.Ops[1].Key = n.Ops[0].Key; n.Ops[1].Kind = KindSet; n.Ops[1].Value = n.Ops[0].Value }, key, RuleOps},
		{"bad key", func(n *Node) { n.Ops[0].Key = "nonamespace" }, key, RuleKey},
		{"unknown kind", func(n *Node) { n.Ops[0].Kind = "append" }, key, RuleOps},
		{"del with value", func(n *Node) { n.Ops[1].Value = val(t, `1`) }, key, RuleOps},
		{"set without value", func(n *Node) { n.Ops[0].Value = nil }, key, RuleOps},
		{"value not JSON", func(n *Node) { n.Ops[0].Value = []byte{0x41, 0x00} }, key, RuleValue},
		{"value not canonical", func(n *Node) { n.Ops[0].Value = []byte{0x18, 0x01} }, key, RuleValue},
		{"no parents", func(n *Node) { n.Parents = nil }, key, RuleParents},
		{"unsorted parents", func(n *Node) { n.Parents = []cid.Cid{g.CID(), g.CID()} }, key, RuleParents},
		{"no space", func(n *Node) { n.Space = cid.Undef }, key, RuleSpace},
		{"height 0", func(n *Node) { n.Height = 0 }, key, RuleHeight},
		{"writes the space key", func(n *Node) { n.Ops[0].Key = SpaceKey }, key, RuleKey},
		{"unsorted prev", func(n *Node) { n.Ops[0].Prev = []cid.Cid{g.CID(), g.CID()} }, key, RulePrev},
	} {
		n := good()
		tc.edit(n)
		_, err := Decode(reencode(t, n, tc.key), distinctions.DefaultLimits)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Rule != tc.rule || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Decode = %v, want rule %s", tc.name, err, tc.rule)
		}
	}
	// DecodeTrusted skips only the signature.
	forged := good()
	forged.Sig[0] ^= 1
	if _, err := DecodeTrusted(reencode(t, forged, nil), distinctions.DefaultLimits); err != nil {
		t.Errorf("DecodeTrusted checked the signature: %v", err)
	}
	forged.Height = 0
	if _, err := DecodeTrusted(reencode(t, forged, nil), distinctions.DefaultLimits); err == nil {
		t.Error("DecodeTrusted skipped the format checks")
	}
	// A clock beyond int64 is rejected.
	w0 := good().toWire(true)
	w0.Clock.Wall = 1 << 63
	b0, _ := distinctions.Marshal(w0)
	if _, err := DecodeTrusted(b0, distinctions.DefaultLimits); err == nil || err.(*ValidationError).Rule != RuleClock {
		t.Errorf("clock out of range: %v", err)
	}
	// The format version is checked.
	w := good().toWire(true)
	w.V = 2
	b, _ := distinctions.Marshal(w)
	if _, err := Decode(b, distinctions.DefaultLimits); err == nil || err.(*ValidationError).Rule != RuleVersion {
		t.Errorf("version 2: %v", err)
	}
	// Truncated bytes, and an unknown field, are decode errors.
	gb := good().Bytes()
	if _, err := Decode(gb[:len(gb)-3], distinctions.DefaultLimits); err == nil || err.(*ValidationError).Rule != RuleDecode {
		t.Errorf("truncated: %v", err)
	}
	extra, _ := distinctions.Marshal(struct {
		wireNode
		X int `cbor:"x"`
	}{good().toWire(true), 1})
	if _, err := Decode(extra, distinctions.DefaultLimits); err == nil || err.(*ValidationError).Rule != RuleDecode {
		t.Errorf("unknown field: %v", err)
	}
}

func TestGenesis(t *testing.T) {
	a, _ := NewOpenGenesis("sensors")
	b, _ := NewOpenGenesis("sensors")
	c, _ := NewOpenGenesis("other")
	if !a.CID().Equals(b.CID()) || a.CID().Equals(c.CID()) {
		t.Fatalf("open space IDs: %s %s %s — same name must give the same ID, another name another", a.CID(), b.CID(), c.CID())
	}
	if info, err := a.SpaceInfo(); err != nil || info != (SpaceInfo{Name: "sensors", Open: true}) {
		t.Errorf("SpaceInfo = %+v, %v", info, err)
	}
	key := testKey(t, 1)
	r, err := NewRestrictedGenesis("sensors", key, Timestamp{Wall: 5})
	if err != nil {
		t.Fatal(err)
	}
	owner, _ := peer.IDFromPrivateKey(key)
	if info, err := r.SpaceInfo(); err != nil || info.Owner != owner || info.Open {
		t.Errorf("restricted SpaceInfo = %+v, %v", info, err)
	}
	for _, n := range []*Node{a, r} {
		d, err := Decode(n.Bytes(), distinctions.DefaultLimits)
		if err != nil || !d.CID().Equals(n.CID()) || !d.IsGenesis() || !d.SpaceID().Equals(n.CID()) {
			t.Errorf("genesis %s does not round-trip: %v", n.CID(), err)
		}
	}
	// An open genesis with an author, or a restricted one signed by another key, is rejected.
	bad := *a
	bad.Author = owner
	if _, err := Decode(reencode(t, &bad, key), distinctions.DefaultLimits); err == nil || err.(*ValidationError).Rule != RuleGenesis {
		t.Errorf("open genesis with author: %v", err)
	}
	forged := *r
	if _, err := Decode(reencode(t, &forged, testKey(t, 2)), distinctions.DefaultLimits); err == nil || err.(*ValidationError).Rule != RuleSignature {
		t.Errorf("restricted genesis signed by another key: %v", err)
	}
	if _, err := NewOpenGenesis(""); err == nil {
		t.Error("empty space name accepted")
	}
}
