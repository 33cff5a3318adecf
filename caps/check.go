package caps

import (
	"errors"
	"fmt"
	"slices"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// MaxDepth is the longest delegation chain Check accepts, counting the root and the leaf.
const MaxDepth = 8

// ErrDenied is matched (errors.Is) by every *Denied.
var ErrDenied = errors.New("capability denied")

// ErrBadInput is returned (wrapped) by Check for a CheckInput it cannot judge: no
// space, owner or actor, or an invalid ability. It is the caller's bug, not a verdict.
var ErrBadInput = errors.New("bad capability check input")

// Reason says why a check was denied.
type Reason string

const (
	ReasonExpired             Reason = "expired"              // now >= a token's expiry, or a delegation outlives its parent
	ReasonNotYetValid         Reason = "not-yet-valid"        // now < a token's not-before, or a delegation starts before its parent
	ReasonRevoked             Reason = "revoked"              // a token of the chain is revoked
	ReasonPatternMismatch     Reason = "pattern-mismatch"     // a key is not matched by the leaf, or a delegation widens its parent's patterns
	ReasonInsufficientAbility Reason = "insufficient-ability" // the leaf's ability is too low, or a delegation raises its parent's
	ReasonBadSignature        Reason = "bad-signature"        // a token's signature does not verify
	ReasonBrokenChain         Reason = "broken-chain"         // no token, a proof that is not the next token, an unresolvable proof
	ReasonNotOwner            Reason = "not-owner"            // the root token is not issued by the space owner
	ReasonTooDeep             Reason = "too-deep"             // more than MaxDepth tokens
	ReasonWrongSpace          Reason = "wrong-space"          // a token is for another space
	ReasonWrongAudience       Reason = "wrong-audience"       // the leaf is not for the actor, or a token is not issued by its parent's audience
)

// Denied is the verdict of a failed check. errors.Is(err, ErrDenied) is true.
type Denied struct {
	Reason Reason
	Token  cid.Cid // the token at fault; cid.Undef when none is (e.g. no token at all)
	Detail string
}

func (e *Denied) Error() string {
	if e.Token.Defined() {
		return fmt.Sprintf("capability denied: %s: token %s: %s", e.Reason, e.Token, e.Detail)
	}
	return fmt.Sprintf("capability denied: %s: %s", e.Reason, e.Detail)
}

// Is reports whether target is ErrDenied.
func (e *Denied) Is(target error) bool { return target == ErrDenied }

func deny(r Reason, c cid.Cid, format string, args ...any) *Denied {
	return &Denied{Reason: r, Token: c, Detail: fmt.Sprintf(format, args...)}
}

// CheckInput is one question: may Actor use Need on Keys in Space at Now?
//
// The chain is given either as Chain (leaf first, root last) or as Leaf with Resolve,
// which Check calls for the leaf and then for each token's Proof. Tokens must come
// from Issue or Decode.
type CheckInput struct {
	Space cid.Cid // the space ID
	Owner peer.ID // the space owner (SpaceInfo.Owner of its genesis)
	Actor peer.ID // who acts: a node's author, a peer asking to be served
	Need  Ability // the ability the action needs
	// Keys are the keys the action touches; each must be matched by the leaf's patterns.
	Keys []string
	// Scope are key patterns the leaf must cover (see Covers), for actions on many
	// keys at once: {"*"} asks for the whole space, {"notes/*"} for a namespace.
	// Keys and Scope may both be empty: then only the ability is asked for.
	Scope []string
	Now   int64 // the time, Unix nanoseconds

	Chain   []*Token                      // leaf first; or nil, and:
	Leaf    cid.Cid                       // the leaf token's CID, resolved with
	Resolve func(cid.Cid) (*Token, error) // a token by CID (e.g. from the space's store)

	// Revoked reports whether a token is revoked by a revocation that CheckRevocation
	// accepted. Check asks it for every token of the chain, on every call (cached or
	// not): a revoked token revokes everything delegated from it. nil: none is.
	Revoked func(cid.Cid) bool
}

// Check verifies in's delegation chain and answers in's question: nil if allowed,
// a *Denied if not (or an error wrapping ErrBadInput). It verifies, leaf to root:
//
//   - at most MaxDepth tokens; every token's signature;
//   - each token's Proof is the next token, whose audience is its issuer; the root
//     has no proof and is issued by the owner; the leaf's audience is the actor;
//   - each delegation only narrows its parent: ability ≤, patterns covered, validity
//     window within; every token is for the space;
//
// then, against in: no token revoked, Now within every token's window, every key
// matched and Scope covered by the leaf's patterns, the leaf's ability ≥ Need.
// The owner needs no token: Check allows the owner anything.
//
// Any holder may delegate a narrower token, whatever its ability; Admin adds the right
// to revoke (see CheckRevocation).
//
// Check is a pure function of in. See [Cache] to verify each chain once.
func Check(in CheckInput) error { return (*Cache)(nil).Check(in) }

// chain is what Check learns from verifying a delegation chain, independent of the
// question asked: enough to answer any question about it without the tokens.
type chain struct {
	links    []link // leaf first
	space    cid.Cid
	root     peer.ID // the root's issuer
	audience peer.ID // the leaf's audience
	ability  Ability // the leaf's
	keys     []string
}

type link struct {
	cid      cid.Cid
	nbf, exp int64
}

func validateInput(in *CheckInput) error {
	switch {
	case !in.Space.Defined():
		return fmt.Errorf("%w: no space", ErrBadInput)
	case in.Owner == "":
		return fmt.Errorf("%w: no owner (an open space needs no capability check)", ErrBadInput)
	case in.Actor == "":
		return fmt.Errorf("%w: no actor", ErrBadInput)
	case !in.Need.Valid():
		return fmt.Errorf("%w: invalid ability %d", ErrBadInput, uint8(in.Need))
	}
	return nil
}

func leafOf(in *CheckInput) (cid.Cid, error) {
	if len(in.Chain) > 0 {
		if in.Chain[0] == nil || !in.Chain[0].cid.Defined() {
			return cid.Undef, deny(ReasonBrokenChain, cid.Undef, "leaf token was not built by Issue or Decode")
		}
		return in.Chain[0].cid, nil
	}
	if !in.Leaf.Defined() {
		return cid.Undef, deny(ReasonBrokenChain, cid.Undef, "no capability token")
	}
	return in.Leaf, nil
}

// collect returns the chain's tokens, leaf first, resolving them if need be.
func collect(in *CheckInput) ([]*Token, error) {
	if len(in.Chain) > 0 {
		if len(in.Chain) > MaxDepth {
			return nil, deny(ReasonTooDeep, in.Chain[0].cid, "chain of %d tokens; at most %d", len(in.Chain), MaxDepth)
		}
		return in.Chain, nil
	}
	if in.Resolve == nil {
		return nil, deny(ReasonBrokenChain, in.Leaf, "no resolver for the chain")
	}
	var out []*Token
	for next := in.Leaf; next.Defined(); next = out[len(out)-1].Proof {
		if len(out) == MaxDepth {
			return nil, deny(ReasonTooDeep, in.Leaf, "chain longer than %d tokens", MaxDepth)
		}
		t, err := in.Resolve(next)
		switch {
		case err != nil:
			return nil, deny(ReasonBrokenChain, next, "resolve: %v", err)
		case t == nil || !t.cid.Equals(next):
			return nil, deny(ReasonBrokenChain, next, "resolver returned another token")
		}
		out = append(out, t)
	}
	return out, nil
}

// verify checks everything about tokens that does not depend on the question.
func verify(tokens []*Token) (*chain, error) {
	for _, t := range tokens {
		if t == nil || !t.cid.Defined() {
			return nil, deny(ReasonBrokenChain, cid.Undef, "a token was not built by Issue or Decode")
		}
		if err := t.verifySig(); err != nil {
			return nil, deny(ReasonBadSignature, t.cid, "%v", err)
		}
	}
	n := len(tokens)
	for i, t := range tokens {
		if i == n-1 {
			if !t.IsRoot() {
				return nil, deny(ReasonBrokenChain, t.cid, "proof %s is not in the chain", t.Proof)
			}
			break
		}
		p := tokens[i+1]
		switch {
		case !t.Proof.Equals(p.cid):
			return nil, deny(ReasonBrokenChain, t.cid, "proof is %s, but the next token is %s", t.Proof, p.cid)
		case !t.Space.Equals(p.Space):
			return nil, deny(ReasonWrongSpace, t.cid, "token is for space %s, its parent for %s", t.Space, p.Space)
		case t.Issuer != p.Audience:
			return nil, deny(ReasonWrongAudience, t.cid, "issued by %s, but the parent was granted to %s", t.Issuer, p.Audience)
		case t.Ability > p.Ability:
			return nil, deny(ReasonInsufficientAbility, t.cid, "delegates %s from a parent granting %s", t.Ability, p.Ability)
		case !Covers(p.Keys, t.Keys):
			return nil, deny(ReasonPatternMismatch, t.cid, "patterns %q are not within the parent's %q", t.Keys, p.Keys)
		case p.NotBefore != 0 && t.NotBefore < p.NotBefore:
			return nil, deny(ReasonNotYetValid, t.cid, "valid from %d, before its parent (from %d)", t.NotBefore, p.NotBefore)
		case p.Expiry != 0 && (t.Expiry == 0 || t.Expiry > p.Expiry):
			return nil, deny(ReasonExpired, t.cid, "valid until %d, after its parent (until %d)", t.Expiry, p.Expiry)
		}
	}
	leaf, root := tokens[0], tokens[n-1]
	c := &chain{links: make([]link, n), space: leaf.Space, root: root.Issuer,
		audience: leaf.Audience, ability: leaf.Ability, keys: leaf.Keys}
	for i, t := range tokens {
		c.links[i] = link{cid: t.cid, nbf: t.NotBefore, exp: t.Expiry}
	}
	return c, nil
}

// decide answers in's question about a verified chain.
func (c *chain) decide(in *CheckInput) error {
	leaf, root := c.links[0].cid, c.links[len(c.links)-1].cid
	switch {
	case !c.space.Equals(in.Space):
		return deny(ReasonWrongSpace, leaf, "chain is for space %s, not %s", c.space, in.Space)
	case c.root != in.Owner:
		return deny(ReasonNotOwner, root, "root issued by %s, not the owner %s", c.root, in.Owner)
	case c.audience != in.Actor:
		return deny(ReasonWrongAudience, leaf, "granted to %s, not %s", c.audience, in.Actor)
	}
	// Root first: the fault nearest the root is the cause.
	if in.Revoked != nil {
		for _, l := range slices.Backward(c.links) {
			if in.Revoked(l.cid) {
				return deny(ReasonRevoked, l.cid, "revoked")
			}
		}
	}
	for _, l := range slices.Backward(c.links) {
		if l.nbf != 0 && in.Now < l.nbf {
			return deny(ReasonNotYetValid, l.cid, "valid from %d; now is %d", l.nbf, in.Now)
		}
		if l.exp != 0 && in.Now >= l.exp {
			return deny(ReasonExpired, l.cid, "expired at %d; now is %d", l.exp, in.Now)
		}
	}
	for _, k := range in.Keys {
		if !MatchAny(c.keys, k) {
			return deny(ReasonPatternMismatch, leaf, "key %q is not matched by %q", k, c.keys)
		}
	}
	if !Covers(c.keys, in.Scope) {
		return deny(ReasonPatternMismatch, leaf, "scope %q is not within %q", in.Scope, c.keys)
	}
	if in.Need > c.ability {
		return deny(ReasonInsufficientAbility, leaf, "grants %s; %s needed", c.ability, in.Need)
	}
	return nil
}

// RevocationInput asks whether Revocation counts in Space.
type RevocationInput struct {
	Space      cid.Cid
	Owner      peer.ID
	Revocation *Revocation
	// Target is the token Revocation names, if known; nil otherwise. Without it, a
	// revoker who is not the owner must hold Admin over the whole space ("*").
	Target *Token
	Now    int64 // when the revoker's Admin is checked, Unix nanoseconds

	// The revoker's Admin chain, when it is neither the target's issuer nor the owner:
	// as in CheckInput.
	Chain   []*Token
	Leaf    cid.Cid
	Resolve func(cid.Cid) (*Token, error)
	Revoked func(cid.Cid) bool
}

// CheckRevocation reports whether in.Revocation counts: nil if its issuer is the
// revoked token's issuer, the space owner, or holds Admin over the revoked token's key
// patterns at Now (checked as Check does); a *Denied otherwise. Callers record only
// revocations that pass, and answer CheckInput.Revoked from them.
func CheckRevocation(in RevocationInput) error {
	r := in.Revocation
	switch {
	case !in.Space.Defined() || in.Owner == "":
		return fmt.Errorf("%w: no space or owner", ErrBadInput)
	case r == nil || !r.cid.Defined():
		return deny(ReasonBrokenChain, cid.Undef, "revocation was not built by IssueRevocation or DecodeRevocation")
	case !r.Space.Equals(in.Space):
		return deny(ReasonWrongSpace, r.Token, "revocation is for space %s, not %s", r.Space, in.Space)
	}
	if err := r.verifySig(); err != nil {
		return deny(ReasonBadSignature, r.Token, "revocation: %v", err)
	}
	scope := []string{"*"}
	if t := in.Target; t != nil {
		switch {
		case !t.cid.Equals(r.Token):
			return deny(ReasonBrokenChain, r.Token, "target is %s, not the revoked token", t.cid)
		case !t.Space.Equals(in.Space):
			return deny(ReasonWrongSpace, r.Token, "revoked token is for space %s", t.Space)
		case t.Issuer == r.Issuer:
			return nil
		}
		scope = t.Keys
	}
	if r.Issuer == in.Owner {
		return nil
	}
	return Check(CheckInput{
		Space: in.Space, Owner: in.Owner, Actor: r.Issuer, Need: Admin, Scope: scope, Now: in.Now,
		Chain: in.Chain, Leaf: in.Leaf, Resolve: in.Resolve, Revoked: in.Revoked,
	})
}
