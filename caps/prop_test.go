package caps_test

import (
	"errors"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/korup2p/korup2p/caps"
)

var pool = func() []who {
	out := make([]who, 6)
	for i := range out {
		out[i] = newWho(int64(100 + i))
	}
	return out
}()

// narrow returns a pattern within p.
func narrow(t *rapid.T, p string, label string) string {
	switch {
	case p == "*":
		return rapid.SampledFrom([]string{"*", "a/*", "b/*", "a/b/*", "a/k", "c/d"}).Draw(t, label)
	case len(p) > 2 && p[len(p)-2:] == "/*":
		x := p[:len(p)-1]
		return rapid.SampledFrom([]string{p, x + "s/*", x + "k"}).Draw(t, label)
	}
	return p
}

// keyIn returns a key p matches.
func keyIn(p string) string {
	switch {
	case p == "*":
		return "z/any"
	case len(p) > 2 && p[len(p)-2:] == "/*":
		return p[:len(p)-1] + "q"
	}
	return p
}

// genChain draws a chain built only by narrowing, as specs root first.
func genChain(t *rapid.T) []spec {
	n := rapid.IntRange(1, caps.MaxDepth).Draw(t, "depth")
	specs := make([]spec, n)
	by := owner
	for i := range n {
		to := rapid.SampledFrom(pool).Draw(t, "audience")
		var tok caps.Token
		if i == 0 {
			tok.Ability = caps.Ability(rapid.IntRange(1, 3).Draw(t, "ability"))
			tok.Keys = rapid.SliceOfN(rapid.SampledFrom([]string{"*", "a/*", "b/*", "a/b/*", "a/k", "b/k"}), 1, 3).Draw(t, "keys")
			if rapid.Bool().Draw(t, "root nbf") {
				tok.NotBefore = t0 + int64(rapid.IntRange(0, 10).Draw(t, "nbf"))*hr
			}
			if rapid.Bool().Draw(t, "root exp") {
				tok.Expiry = max(tok.NotBefore, t0) + int64(rapid.IntRange(1, 1000).Draw(t, "exp"))*hr
			}
		} else {
			p := specs[i-1].tok
			tok.Ability = caps.Ability(rapid.IntRange(1, int(p.Ability)).Draw(t, "ability"))
			for range rapid.IntRange(1, 3).Draw(t, "patterns") {
				tok.Keys = append(tok.Keys, narrow(t, rapid.SampledFrom(p.Keys).Draw(t, "parent pattern"), "pattern"))
			}
			lo, hi := p.NotBefore, p.Expiry // the child's window goes within [lo, hi)
			switch {
			case lo == 0 && hi == 0:
				lo, hi = t0-5*hr, t0+2000*hr
			case lo == 0:
				lo = hi - 10*hr
			case hi == 0:
				hi = lo + 2000*hr
			}
			if p.NotBefore != 0 || rapid.Bool().Draw(t, "bound nbf") {
				tok.NotBefore = rapid.Int64Range(lo, hi-1).Draw(t, "nbf")
				lo = tok.NotBefore
			}
			if p.Expiry != 0 || rapid.Bool().Draw(t, "bound exp") {
				tok.Expiry = rapid.Int64Range(lo+1, hi).Draw(t, "exp")
			}
		}
		tok.Audience, tok.Space = to.id, space
		specs[i] = spec{by: by, tok: tok}
		by = to
	}
	return specs
}

func TestPropNarrowingVerifiesWideningCaught(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		specs := genChain(rt)
		chain := build(t, specs)
		leaf := chain[0]
		lo, hi := leaf.NotBefore, leaf.Expiry
		switch {
		case lo == 0 && hi == 0:
			lo, hi = t0-10*hr, t0+3000*hr
		case lo == 0:
			lo = hi - 20*hr
		case hi == 0:
			hi = lo + 3000*hr
		}
		in := caps.CheckInput{
			Space: space, Owner: owner.id, Actor: leaf.Audience, Now: rapid.Int64Range(lo, hi-1).Draw(rt, "now"),
			Need:  caps.Ability(rapid.IntRange(1, int(leaf.Ability)).Draw(rt, "need")),
			Keys:  []string{keyIn(rapid.SampledFrom(leaf.Keys).Draw(rt, "key from"))},
			Scope: leaf.Keys, Chain: chain,
		}
		if in.Actor == owner.id {
			rt.Skip("the owner needs no token")
		}
		if err := caps.Check(in); err != nil {
			rt.Fatalf("narrowing chain denied: %v", err)
		}
		if len(specs) < 2 {
			return
		}
		// Widen one delegation in one way.
		i := rapid.IntRange(1, len(specs)-1).Draw(rt, "widen at")
		p, c := specs[i-1].tok, &specs[i].tok
		var ways []caps.Reason
		if c.Ability < caps.Admin && p.Ability == c.Ability {
			ways = append(ways, caps.ReasonInsufficientAbility)
		}
		if !slices.Contains(p.Keys, "*") {
			ways = append(ways, caps.ReasonPatternMismatch)
		}
		if p.NotBefore != 0 {
			ways = append(ways, caps.ReasonNotYetValid)
		}
		if p.Expiry != 0 {
			ways = append(ways, caps.ReasonExpired)
		}
		if len(ways) == 0 {
			return
		}
		want := rapid.SampledFrom(ways).Draw(rt, "widening")
		switch want {
		case caps.ReasonInsufficientAbility:
			c.Ability = p.Ability + 1
		case caps.ReasonPatternMismatch:
			c.Keys = append(slices.Clone(c.Keys), "*")
		case caps.ReasonNotYetValid:
			c.NotBefore = p.NotBefore - 1
		case caps.ReasonExpired:
			c.Expiry = p.Expiry + 1
		}
		wide := build(t, specs)
		in.Chain = wide
		in.Actor = wide[0].Audience
		var d *caps.Denied
		err := caps.Check(in)
		if !errors.As(err, &d) || d.Reason != want || !d.Token.Equals(wide[len(wide)-1-i].CID()) {
			rt.Fatalf("widening %s at %d: got %v", want, i, err)
		}
	})
}
