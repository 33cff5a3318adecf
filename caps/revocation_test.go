package caps_test

import (
	"errors"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p/caps"
	"github.com/korup2p/korup2p/distinctions"
)

func TestRevocation(t *testing.T) {
	chain := build(t, baseSpecs()) // carol's leaf (by bob), bob's (by alice), alice's admin root
	leaf := chain[0]
	revoke := func(by who) *caps.Revocation {
		t.Helper()
		r, err := caps.IssueRevocation(by.key, caps.Revocation{Space: space, Token: leaf.CID()})
		if err != nil {
			t.Fatal(err)
		}
		back, err := caps.DecodeRevocation(r.Bytes(), distinctions.DefaultLimits)
		if err != nil || !back.CID().Equals(r.CID()) || back.Issuer != by.id || !back.Token.Equals(leaf.CID()) {
			t.Fatalf("revocation round trip: %v", err)
		}
		return back
	}
	base := func(r *caps.Revocation) caps.RevocationInput {
		return caps.RevocationInput{Space: space, Owner: owner.id, Revocation: r, Target: leaf, Now: t0 + 2*hr}
	}
	// By the token's issuer, and by the owner: no chain needed.
	for _, by := range []who{bob, owner} {
		if err := caps.CheckRevocation(base(revoke(by))); err != nil {
			t.Errorf("revocation by %s: %v", by.id, err)
		}
	}
	// By an Admin holder whose patterns cover the token's.
	in := base(revoke(alice))
	in.Chain = chain[2:]
	if err := caps.CheckRevocation(in); err != nil {
		t.Errorf("revocation by admin alice: %v", err)
	}
	// Without knowing the target, alice's admin must cover "*" (it does).
	in.Target = nil
	if err := caps.CheckRevocation(in); err != nil {
		t.Errorf("revocation of an unknown token by admin alice: %v", err)
	}
	// Alice without her chain, carol with a read token, a stranger: denied.
	in = base(revoke(alice))
	if r := reasonOf(t, caps.CheckRevocation(in)); r != caps.ReasonBrokenChain {
		t.Errorf("admin without chain: reason %q", r)
	}
	in = base(revoke(carol))
	in.Chain = chain
	if r := reasonOf(t, caps.CheckRevocation(in)); r != caps.ReasonInsufficientAbility {
		t.Errorf("revocation by reader carol: reason %q", r)
	}
	// Alice's admin expired.
	in = base(revoke(alice))
	in.Chain, in.Now = chain[2:], t0+100*hr
	if r := reasonOf(t, caps.CheckRevocation(in)); r != caps.ReasonExpired {
		t.Errorf("revocation by expired admin: reason %q", r)
	}
	// Checked in another space.
	in = base(revoke(owner))
	in.Space = space2
	if r := reasonOf(t, caps.CheckRevocation(in)); r != caps.ReasonWrongSpace {
		t.Errorf("revocation replayed into another space: reason %q", r)
	}
	// The target must be the revoked token.
	in = base(revoke(bob))
	in.Target = chain[1]
	if r := reasonOf(t, caps.CheckRevocation(in)); r != caps.ReasonBrokenChain {
		t.Errorf("wrong target: reason %q", r)
	}
	if err := caps.CheckRevocation(caps.RevocationInput{Owner: owner.id}); !errors.Is(err, caps.ErrBadInput) {
		t.Errorf("no space: %v", err)
	}
}

func TestRevokingMiddleRevokesLeaf(t *testing.T) {
	chain := build(t, baseSpecs())
	r, err := caps.IssueRevocation(alice.key, caps.Revocation{Space: space, Token: chain[1].CID()})
	if err != nil {
		t.Fatal(err)
	}
	if err := caps.CheckRevocation(caps.RevocationInput{Space: space, Owner: owner.id, Revocation: r, Target: chain[1], Now: t0}); err != nil {
		t.Fatal(err)
	}
	revoked := map[string]bool{r.Token.KeyString(): true}
	in := baseInput(chain)
	in.Revoked = func(c cid.Cid) bool { return revoked[c.KeyString()] }
	var d *caps.Denied
	if err := caps.Check(in); !errors.As(err, &d) || d.Reason != caps.ReasonRevoked || !d.Token.Equals(chain[1].CID()) {
		t.Fatalf("leaf under a revoked middle: %v", err)
	}
}
