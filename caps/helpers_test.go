package caps_test

import (
	"math/rand"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/caps"
	"github.com/korup2p/korup2p/distinctions"
	"github.com/korup2p/korup2p/internal/proptest"
)

func TestMain(m *testing.M) { proptest.Main(m) }

const (
	t0 = int64(1_700_000_000_000_000_000)
	hr = int64(3600_000_000_000)
)

type who struct {
	key crypto.PrivKey
	id  peer.ID
}

func newWho(seed int64) who {
	key, _, err := crypto.GenerateEd25519Key(rand.New(rand.NewSource(seed)))
	if err != nil {
		panic(err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		panic(err)
	}
	return who{key, id}
}

var (
	owner   = newWho(1)
	alice   = newWho(2)
	bob     = newWho(3)
	carol   = newWho(4)
	mallory = newWho(5)
	space   = distinctions.Sum([]byte("space one"))
	space2  = distinctions.Sum([]byte("space two"))
)

// spec is one token to issue: by, and its fields. Proof is set to the previous
// token's CID unless keepProof.
type spec struct {
	by        who
	tok       caps.Token
	keepProof bool
}

// baseSpecs is a valid 3-token chain, root first:
// owner -admin *-> alice -write notes/*,todo/a-> bob -read notes/x/*-> carol.
func baseSpecs() []spec {
	return []spec{
		{by: owner, tok: caps.Token{Audience: alice.id, Space: space, Ability: caps.Admin, Keys: []string{"*"}, NotBefore: t0, Expiry: t0 + 100*hr}},
		{by: alice, tok: caps.Token{Audience: bob.id, Space: space, Ability: caps.Write, Keys: []string{"notes/*", "todo/a"}, NotBefore: t0 + hr, Expiry: t0 + 50*hr}},
		{by: bob, tok: caps.Token{Audience: carol.id, Space: space, Ability: caps.Read, Keys: []string{"notes/x/*"}, NotBefore: t0 + hr, Expiry: t0 + 10*hr}},
	}
}

// build issues specs root first and returns the chain leaf first.
func build(tb testing.TB, specs []spec) []*caps.Token {
	tb.Helper()
	out := make([]*caps.Token, len(specs))
	prev := cid.Undef
	for i, s := range specs {
		if !s.keepProof {
			s.tok.Proof = prev
		}
		t, err := caps.Issue(s.by.key, s.tok)
		if err != nil {
			tb.Fatalf("issue token %d: %v", i, err)
		}
		out[len(specs)-1-i] = t
		prev = t.CID()
	}
	return out
}

func baseInput(chain []*caps.Token) caps.CheckInput {
	return caps.CheckInput{Space: space, Owner: owner.id, Actor: carol.id, Need: caps.Read,
		Keys: []string{"notes/x/1"}, Now: t0 + 2*hr, Chain: chain}
}

// resolver serves tokens by CID.
func resolver(tokens ...*caps.Token) func(cid.Cid) (*caps.Token, error) {
	m := map[cid.Cid]*caps.Token{}
	for _, t := range tokens {
		m[t.CID()] = t
	}
	return func(c cid.Cid) (*caps.Token, error) {
		if t, ok := m[c]; ok {
			return t, nil
		}
		return nil, caps.ErrInvalidToken // any error: "not found"
	}
}

// wireMap is a token's encoding as a generic map, for forging variants of it.
func wireMap(t *caps.Token) map[string]any {
	m := map[string]any{"v": 1, "iss": []byte(t.Issuer), "aud": []byte(t.Audience),
		"space": distinctions.Link{Cid: t.Space}, "can": t.Ability.String(), "keys": t.Keys, "sig": t.Sig}
	if t.NotBefore != 0 {
		m["nbf"] = t.NotBefore
	}
	if t.Expiry != 0 {
		m["exp"] = t.Expiry
	}
	if t.Proof.Defined() {
		m["prf"] = distinctions.Link{Cid: t.Proof}
	}
	return m
}
