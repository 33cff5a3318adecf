package caps_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p/caps"
)

func reasonOf(t *testing.T, err error) caps.Reason {
	t.Helper()
	if err == nil {
		return ""
	}
	var d *caps.Denied
	if !errors.As(err, &d) || !errors.Is(err, caps.ErrDenied) {
		t.Fatalf("error %v is not a *Denied matching ErrDenied", err)
	}
	return d.Reason
}

func TestCheckAllows(t *testing.T) {
	chain := build(t, baseSpecs())
	if err := caps.Check(baseInput(chain)); err != nil {
		t.Fatalf("valid chain denied: %v", err)
	}
	// Bob, the middle holder, writes with his own two-token chain.
	in := baseInput(chain[1:])
	in.Actor, in.Need, in.Keys = bob.id, caps.Write, []string{"notes/a", "todo/a"}
	if err := caps.Check(in); err != nil {
		t.Fatalf("bob denied: %v", err)
	}
	// The same chain through a resolver.
	in = baseInput(nil)
	in.Leaf, in.Resolve = chain[0].CID(), resolver(chain...)
	if err := caps.Check(in); err != nil {
		t.Fatalf("resolved chain denied: %v", err)
	}
}

func TestOwnerNeedsNoToken(t *testing.T) {
	in := caps.CheckInput{Space: space, Owner: owner.id, Actor: owner.id, Need: caps.Admin, Keys: []string{"any/key"}, Now: t0}
	if err := caps.Check(in); err != nil {
		t.Fatalf("owner denied: %v", err)
	}
	in.Actor = alice.id
	if r := reasonOf(t, caps.Check(in)); r != caps.ReasonBrokenChain {
		t.Fatalf("no token: reason %q, want broken-chain", r)
	}
}

func TestCheckBadInput(t *testing.T) {
	for _, in := range []caps.CheckInput{
		{Owner: owner.id, Actor: alice.id, Need: caps.Read},
		{Space: space, Actor: alice.id, Need: caps.Read},
		{Space: space, Owner: owner.id, Need: caps.Read},
		{Space: space, Owner: owner.id, Actor: alice.id},
	} {
		if err := caps.Check(in); !errors.Is(err, caps.ErrBadInput) || errors.Is(err, caps.ErrDenied) {
			t.Errorf("Check(%+v) = %v, want ErrBadInput", in, err)
		}
	}
}

// TestDenyReasons: each case breaks one thing and must produce exactly its reason,
// naming the token at fault (0 root, 1 middle, 2 leaf; -1 none).
func TestDenyReasons(t *testing.T) {
	type tc struct {
		name   string
		specs  func(s []spec)                      // changes the chain (root first)
		chain  func(c []*caps.Token) []*caps.Token // changes the issued chain (leaf first)
		input  func(in *caps.CheckInput)
		reason caps.Reason
		at     int
	}
	cases := []tc{
		{name: "expired", input: func(in *caps.CheckInput) { in.Now = t0 + 10*hr }, reason: caps.ReasonExpired, at: 2},
		{name: "expired root", specs: func(s []spec) { s[0].tok.Expiry = t0 + 10*hr + 1; s[1].tok.Expiry = t0 + 10*hr + 1 },
			input: func(in *caps.CheckInput) { in.Now = t0 + 10*hr + 1 }, reason: caps.ReasonExpired, at: 0},
		{name: "delegation outlives parent", specs: func(s []spec) { s[2].tok.Expiry = t0 + 51*hr }, reason: caps.ReasonExpired, at: 2},
		{name: "delegation never expires", specs: func(s []spec) { s[2].tok.Expiry = 0 }, reason: caps.ReasonExpired, at: 2},
		{name: "not yet valid", input: func(in *caps.CheckInput) { in.Now = t0 + hr - 1 }, reason: caps.ReasonNotYetValid, at: 1},
		{name: "delegation starts before parent", specs: func(s []spec) { s[2].tok.NotBefore = t0 }, reason: caps.ReasonNotYetValid, at: 2},
		{name: "delegation from always", specs: func(s []spec) { s[1].tok.NotBefore = 0 }, reason: caps.ReasonNotYetValid, at: 1},
		{name: "revoked leaf", input: func(in *caps.CheckInput) { in.Revoked = is(in.Chain[0].CID()) }, reason: caps.ReasonRevoked, at: 2},
		{name: "revoked middle revokes leaf", input: func(in *caps.CheckInput) { in.Revoked = is(in.Chain[1].CID()) }, reason: caps.ReasonRevoked, at: 1},
		{name: "revoked root", input: func(in *caps.CheckInput) { in.Revoked = is(in.Chain[2].CID()) }, reason: caps.ReasonRevoked, at: 0},
		{name: "key not matched", input: func(in *caps.CheckInput) { in.Keys = []string{"notes/x/1", "notes/y"} }, reason: caps.ReasonPatternMismatch, at: 2},
		{name: "scope not covered", input: func(in *caps.CheckInput) { in.Scope = []string{"notes/*"} }, reason: caps.ReasonPatternMismatch, at: 2},
		{name: "delegation widens patterns", specs: func(s []spec) { s[2].tok.Keys = []string{"notes/x/*", "todo/*"} }, reason: caps.ReasonPatternMismatch, at: 2},
		{name: "delegation widens a key to a prefix", specs: func(s []spec) { s[2].tok.Keys = []string{"todo/a/*"} },
			input: func(in *caps.CheckInput) { in.Keys = []string{"todo/a/1"} }, reason: caps.ReasonPatternMismatch, at: 2},
		{name: "insufficient ability", input: func(in *caps.CheckInput) { in.Need = caps.Write }, reason: caps.ReasonInsufficientAbility, at: 2},
		{name: "delegation raises ability", specs: func(s []spec) { s[2].tok.Ability = caps.Admin }, reason: caps.ReasonInsufficientAbility, at: 2},
		{name: "bad signature", chain: func(c []*caps.Token) []*caps.Token { c[1] = tamper(c[1]); return c }, reason: caps.ReasonBadSignature, at: 1},
		{name: "proof is not the next token", specs: func(s []spec) { s[2].tok.Proof = space2; s[2].keepProof = true }, reason: caps.ReasonBrokenChain, at: 2},
		{name: "missing middle", chain: func(c []*caps.Token) []*caps.Token { return []*caps.Token{c[0], c[2]} }, reason: caps.ReasonBrokenChain, at: 2},
		{name: "root has a proof", chain: func(c []*caps.Token) []*caps.Token { return c[:2] }, reason: caps.ReasonBrokenChain, at: 1},
		{name: "hand-built token", chain: func(c []*caps.Token) []*caps.Token { c[1] = &caps.Token{}; return c }, reason: caps.ReasonBrokenChain, at: -1},
		{name: "root not by owner", specs: func(s []spec) { s[0].by = mallory }, reason: caps.ReasonNotOwner, at: 0},
		{name: "chain does not reach the owner", chain: func(c []*caps.Token) []*caps.Token { return c }, input: func(in *caps.CheckInput) { in.Owner = mallory.id }, reason: caps.ReasonNotOwner, at: 0},
		{name: "replay into another space", input: func(in *caps.CheckInput) { in.Space = space2 }, reason: caps.ReasonWrongSpace, at: 2},
		{name: "link of another space", specs: func(s []spec) { s[2].tok.Space = space2 }, reason: caps.ReasonWrongSpace, at: 2},
		{name: "leaf for someone else", input: func(in *caps.CheckInput) { in.Actor = mallory.id }, reason: caps.ReasonWrongAudience, at: 2},
		{name: "issued by a non-holder", specs: func(s []spec) { s[1].by = mallory }, reason: caps.ReasonWrongAudience, at: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			specs := baseSpecs()
			if c.specs != nil {
				c.specs(specs)
			}
			chain := build(t, specs)
			want := cid.Undef
			if c.at >= 0 {
				want = chain[2-c.at].CID()
			}
			if c.chain != nil {
				chain = c.chain(chain)
			}
			in := baseInput(chain)
			if c.input != nil {
				c.input(&in)
			}
			for _, cache := range []*caps.Cache{nil, caps.NewCache(4)} {
				err := cache.Check(in)
				if got := reasonOf(t, err); got != c.reason {
					t.Fatalf("reason %q (%v), want %q", got, err, c.reason)
				}
				var d *caps.Denied
				errors.As(err, &d)
				if !d.Token.Equals(want) {
					t.Fatalf("denied token %s, want %s (%v)", d.Token, want, err)
				}
			}
		})
	}
}

func TestTooDeep(t *testing.T) {
	people := []who{owner, alice, bob, carol, mallory}
	var specs []spec
	for i := 0; i <= caps.MaxDepth; i++ {
		by, to := people[i%len(people)], people[(i+1)%len(people)]
		if i == 0 {
			by = owner
		}
		specs = append(specs, spec{by: by, tok: caps.Token{Audience: to.id, Space: space, Ability: caps.Read, Keys: []string{"*"}}})
		specs[i].by = by
		if i > 0 {
			specs[i].by = people[i%len(people)]
			specs[i-1].tok.Audience = specs[i].by.id
		}
	}
	chain := build(t, specs) // MaxDepth+1 tokens
	leaf := chain[0]
	in := caps.CheckInput{Space: space, Owner: owner.id, Actor: leaf.Audience, Need: caps.Read, Now: t0}
	in.Chain = chain
	if r := reasonOf(t, caps.Check(in)); r != caps.ReasonTooDeep {
		t.Fatalf("chain of %d: reason %q, want too-deep", len(chain), r)
	}
	in.Chain, in.Leaf, in.Resolve = nil, leaf.CID(), resolver(chain...)
	if r := reasonOf(t, caps.Check(in)); r != caps.ReasonTooDeep {
		t.Fatalf("resolved chain of %d: reason %q, want too-deep", len(chain), r)
	}
	// MaxDepth tokens is fine.
	full := build(t, specs[:caps.MaxDepth])
	in = caps.CheckInput{Space: space, Owner: owner.id, Actor: full[0].Audience, Need: caps.Read, Now: t0, Chain: full}
	if err := caps.Check(in); err != nil {
		t.Fatalf("chain of %d denied: %v", len(full), err)
	}
}

func TestResolveErrors(t *testing.T) {
	chain := build(t, baseSpecs())
	in := baseInput(nil)
	in.Leaf, in.Resolve = chain[0].CID(), resolver(chain[0], chain[2]) // middle missing
	if r := reasonOf(t, caps.Check(in)); r != caps.ReasonBrokenChain {
		t.Fatalf("reason %q, want broken-chain", r)
	}
	in.Resolve = func(c cid.Cid) (*caps.Token, error) { return chain[2], nil } // lies
	if r := reasonOf(t, caps.Check(in)); r != caps.ReasonBrokenChain {
		t.Fatalf("lying resolver: reason %q, want broken-chain", r)
	}
	in.Resolve = nil
	if r := reasonOf(t, caps.Check(in)); r != caps.ReasonBrokenChain {
		t.Fatalf("no resolver: reason %q, want broken-chain", r)
	}
}

func is(c cid.Cid) func(cid.Cid) bool { return func(x cid.Cid) bool { return x.Equals(c) } }

// tamper returns a copy of t (keeping its CID) whose signature no longer verifies.
func tamper(t *caps.Token) *caps.Token {
	cp := *t
	cp.Sig = bytes.Clone(t.Sig)
	cp.Sig[0] ^= 1
	return &cp
}

func TestCache(t *testing.T) {
	chain := build(t, baseSpecs())
	cache := caps.NewCache(2)
	in := baseInput(chain)
	for range 3 {
		if err := cache.Check(in); err != nil {
			t.Fatal(err)
		}
	}
	if s := cache.Stats(); s.Hits != 2 || s.Misses != 1 || s.Len != 1 {
		t.Fatalf("stats %+v, want 2 hits, 1 miss, 1 entry", s)
	}
	// Revocation is checked on every call, cached or not.
	in.Revoked = is(chain[1].CID())
	if r := reasonOf(t, cache.Check(in)); r != caps.ReasonRevoked {
		t.Fatalf("cached chain with revoked middle: reason %q, want revoked", r)
	}
	in.Revoked = nil
	// So are time, keys, ability, actor and space.
	for _, f := range []func(*caps.CheckInput){
		func(in *caps.CheckInput) { in.Now = t0 + 11*hr },
		func(in *caps.CheckInput) { in.Keys = []string{"todo/a"} },
		func(in *caps.CheckInput) { in.Need = caps.Write },
		func(in *caps.CheckInput) { in.Actor = bob.id },
		func(in *caps.CheckInput) { in.Space = space2 },
		func(in *caps.CheckInput) { in.Owner = alice.id },
	} {
		in2 := in
		f(&in2)
		if err := cache.Check(in2); !errors.Is(err, caps.ErrDenied) {
			t.Fatalf("cached chain: %v, want denied", err)
		}
	}
	// Failures are not cached.
	fresh := caps.NewCache(2)
	bad := baseInput([]*caps.Token{chain[0], tamper(chain[1]), chain[2]})
	if r := reasonOf(t, fresh.Check(bad)); r != caps.ReasonBadSignature {
		t.Fatalf("tampered middle: reason %q", r)
	}
	if s := fresh.Stats(); s.Len != 0 {
		t.Fatalf("a failed chain was cached")
	}
	// The bound holds: three more distinct leaves, at most 2 chains kept.
	for _, k := range []string{"notes/y", "notes/z", "notes/w"} {
		other := baseSpecs()
		other[2].tok.Keys = []string{"notes/x/*", k}
		if err := cache.Check(baseInput(build(t, other))); err != nil {
			t.Fatal(err)
		}
	}
	if s := cache.Stats(); s.Len != 2 {
		t.Fatalf("cache holds %d chains, bound is 2", s.Len)
	}
}
