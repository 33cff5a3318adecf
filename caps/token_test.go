package caps_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p/caps"
	"github.com/korup2p/korup2p/distinctions"
)

func TestAbility(t *testing.T) {
	for _, a := range []caps.Ability{caps.Read, caps.Write, caps.Admin} {
		b, err := a.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back caps.Ability
		if err := back.UnmarshalText(b); err != nil || back != a {
			t.Fatalf("%s: round trip gave %v, %v", a, back, err)
		}
	}
	if !(caps.Read < caps.Write && caps.Write < caps.Admin) {
		t.Fatal("abilities are not ordered")
	}
	for _, s := range []string{"", "Read", "owner", "admin "} {
		if _, err := caps.ParseAbility(s); err == nil {
			t.Errorf("ParseAbility(%q) accepted", s)
		}
	}
	if _, err := caps.Ability(0).MarshalText(); err == nil {
		t.Error("zero ability marshalled")
	}
}

func TestPatterns(t *testing.T) {
	match := []struct {
		p, k string
		ok   bool
	}{
		{"*", "a/b", true},
		{"a/*", "a/b", true},
		{"a/*", "a/b/c", true},
		{"a/*", "a/", false},
		{"a/*", "ab/c", false},
		{"a/*", "b/a", false},
		{"a/b/*", "a/b/c", true},
		{"a/b/*", "a/bc", false},
		{"a/b", "a/b", true},
		{"a/b", "a/b/c", false},
		{"a/b*", "a/b*", true}, // "*" not after "/" is an ordinary character
		{"a/b*", "a/bc", false},
	}
	for _, c := range match {
		if got := caps.Match(c.p, c.k); got != c.ok {
			t.Errorf("Match(%q, %q) = %v, want %v", c.p, c.k, got, c.ok)
		}
	}
	within := []struct {
		child, parent string
		ok            bool
	}{
		{"*", "*", true},
		{"a/*", "*", true},
		{"*", "a/*", false},
		{"a/b/*", "a/*", true},
		{"a/*", "a/b/*", false},
		{"a/*", "a/*", true},
		{"ab/*", "a/*", false},
		{"a/k", "a/*", true},
		{"a/*", "a/k", false},
		{"a/k", "a/k", true},
		{"a/k", "a/j", false},
	}
	for _, c := range within {
		if got := caps.Within(c.child, c.parent); got != c.ok {
			t.Errorf("Within(%q, %q) = %v, want %v", c.child, c.parent, got, c.ok)
		}
	}
	if !caps.Covers([]string{"a/*", "b/k"}, []string{"a/x/*", "b/k", "a/q"}) {
		t.Error("Covers: every child pattern is within a parent one")
	}
	if caps.Covers([]string{"a/*", "b/k"}, []string{"a/x", "b/*"}) {
		t.Error("Covers: b/* is within no parent pattern")
	}
	if !caps.Covers([]string{"a/k"}, nil) {
		t.Error("Covers: nothing is covered by anything")
	}
	for _, p := range []string{"", "/*", "nokey", "a/", "/b", "a\x00/b", string([]byte{0xff, '/', 'a'})} {
		if caps.ValidatePattern(p) == nil {
			t.Errorf("ValidatePattern(%q) accepted", p)
		}
	}
	for _, p := range []string{"*", "a/*", "a/b/*", "a/b", "a/b*"} {
		if err := caps.ValidatePattern(p); err != nil {
			t.Errorf("ValidatePattern(%q): %v", p, err)
		}
	}
}

func TestTokenRoundTrip(t *testing.T) {
	chain := build(t, baseSpecs())
	for _, tok := range chain {
		got, err := caps.Decode(tok.Bytes(), distinctions.DefaultLimits)
		if err != nil {
			t.Fatalf("decode %s: %v", tok.CID(), err)
		}
		if !got.CID().Equals(tok.CID()) || !bytes.Equal(got.Bytes(), tok.Bytes()) || got.Issuer != tok.Issuer ||
			got.Audience != tok.Audience || got.Ability != tok.Ability || !got.Proof.Equals(tok.Proof) ||
			got.NotBefore != tok.NotBefore || got.Expiry != tok.Expiry || len(got.Keys) != len(tok.Keys) {
			t.Fatalf("round trip changed the token:\n%v\n%v", tok, got)
		}
		if !got.CID().Equals(distinctions.Sum(tok.Bytes())) {
			t.Fatal("CID is not the sum of the bytes")
		}
	}
	// Issue sorts and deduplicates patterns.
	tok, err := caps.Issue(owner.key, caps.Token{Audience: alice.id, Space: space, Ability: caps.Read, Keys: []string{"b/*", "a/k", "b/*"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(tok.Keys) != 2 || tok.Keys[0] != "a/k" {
		t.Fatalf("keys %q, want sorted and unique", tok.Keys)
	}
}

func TestIssueRefuses(t *testing.T) {
	ok := caps.Token{Audience: alice.id, Space: space, Ability: caps.Read, Keys: []string{"a/*"}}
	for name, f := range map[string]func(t *caps.Token){
		"other issuer":    func(t *caps.Token) { t.Issuer = bob.id },
		"no space":        func(t *caps.Token) { t.Space = cid.Undef },
		"no ability":      func(t *caps.Token) { t.Ability = 0 },
		"ability 4":       func(t *caps.Token) { t.Ability = 4 },
		"no keys":         func(t *caps.Token) { t.Keys = nil },
		"bad pattern":     func(t *caps.Token) { t.Keys = []string{"nokey"} },
		"no audience":     func(t *caps.Token) { t.Audience = "" },
		"empty window":    func(t *caps.Token) { t.NotBefore, t.Expiry = t0, t0 },
		"negative expiry": func(t *caps.Token) { t.Expiry = -1 },
	} {
		tok := ok
		f(&tok)
		if _, err := caps.Issue(owner.key, tok); !errors.Is(err, caps.ErrInvalidToken) {
			t.Errorf("%s: Issue = %v, want ErrInvalidToken", name, err)
		}
	}
}

func TestDecodeStrict(t *testing.T) {
	tok := build(t, baseSpecs())[1]
	enc := func(m map[string]any) []byte {
		b, err := distinctions.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if b := enc(wireMap(tok)); !bytes.Equal(b, tok.Bytes()) {
		t.Fatal("wireMap does not reproduce the encoding")
	}
	m := wireMap(tok)
	m["x"] = 1
	if _, err := caps.Decode(enc(m), distinctions.DefaultLimits); !errors.Is(err, caps.ErrInvalidToken) || !errors.Is(err, distinctions.ErrMalformed) {
		t.Errorf("unknown field: %v", err)
	}
	// Non-shortest integer for "v": 1.
	b := tok.Bytes()
	i := bytes.Index(b, []byte{0x61, 'v', 0x01})
	nc := append(append(bytes.Clone(b[:i+2]), 0x18, 0x01), b[i+3:]...)
	if _, err := caps.Decode(nc, distinctions.DefaultLimits); !errors.Is(err, distinctions.ErrNotCanonical) {
		t.Errorf("non-canonical integer: %v", err)
	}
	m = wireMap(tok)
	sig := bytes.Clone(tok.Sig)
	sig[3] ^= 0x10
	m["sig"] = sig
	if _, err := caps.Decode(enc(m), distinctions.DefaultLimits); !errors.Is(err, caps.ErrBadSignature) {
		t.Errorf("bad signature: %v", err)
	}
	m = wireMap(tok)
	delete(m, "sig")
	if _, err := caps.Decode(enc(m), distinctions.DefaultLimits); !errors.Is(err, caps.ErrBadSignature) {
		t.Errorf("no signature: %v", err)
	}
	m = wireMap(tok)
	m["keys"] = []string{"todo/a", "notes/*"} // unsorted (and the signature no longer covers it)
	if _, err := caps.Decode(enc(m), distinctions.DefaultLimits); !errors.Is(err, caps.ErrInvalidToken) {
		t.Errorf("unsorted keys: %v", err)
	}
	m = wireMap(tok)
	m["can"] = "root"
	if _, err := caps.Decode(enc(m), distinctions.DefaultLimits); !errors.Is(err, caps.ErrInvalidToken) {
		t.Errorf("unknown ability: %v", err)
	}
	m = wireMap(tok)
	m["v"] = 2
	if _, err := caps.Decode(enc(m), distinctions.DefaultLimits); !errors.Is(err, caps.ErrInvalidToken) {
		t.Errorf("version 2: %v", err)
	}
	if _, err := caps.Decode(tok.Bytes(), distinctions.Limits{MaxBytes: 64}); !errors.Is(err, distinctions.ErrTooLarge) {
		t.Errorf("over the size limit: %v", err)
	}
	// A revocation is not a token, nor the reverse.
	r, err := caps.IssueRevocation(alice.key, caps.Revocation{Space: space, Token: tok.CID()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := caps.Decode(r.Bytes(), distinctions.DefaultLimits); err == nil {
		t.Error("a revocation decoded as a token")
	}
	if _, err := caps.DecodeRevocation(tok.Bytes(), distinctions.DefaultLimits); err == nil {
		t.Error("a token decoded as a revocation")
	}
}
