package korup2p

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p/caps"
	"github.com/korup2p/korup2p/dag"
)

// restricted returns the access state of the named space, or ErrOpenSpace.
func (n *Node) restricted(verb, name string) (*space, *access, error) {
	sp, err := n.space(name)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", verb, err)
	}
	if sp.acc == nil {
		return nil, nil, fmt.Errorf("%s: space %s: %w", verb, sp.name, ErrOpenSpace)
	}
	return sp, sp.acc, nil
}

// Grant issues a capability token for the space, signed by this peer, and writes it
// into the space (so it syncs like data). The owner grants anything; anyone else
// delegates from a token it holds that covers the grant, and is refused (ErrDenied,
// naming the rule) if none does. A delegation never outlives its parent: a zero
// Expiry becomes the parent's.
func (n *Node) Grant(ctx context.Context, space string, g Grant) (Capability, error) {
	sp, acc, err := n.restricted("grant", space)
	if err != nil {
		return Capability{}, err
	}
	tok, err := n.issue(acc, g)
	if err != nil {
		return Capability{}, fmt.Errorf("grant: %w", err)
	}
	op, err := capOp(tok)
	if err != nil {
		return Capability{}, fmt.Errorf("grant: %w", err)
	}
	if _, err := sp.writeSys(ctx, []dag.Op{op}); err != nil {
		return Capability{}, fmt.Errorf("grant: %w", err)
	}
	return acc.describe(tok, n.opts.Now()), nil
}

// issue signs a token for g: a root token if this peer owns the space, else a
// delegation from the newest token it holds that allows it.
func (n *Node) issue(acc *access, g Grant) (*caps.Token, error) {
	if g.To == "" {
		return nil, fmt.Errorf("%w: no audience: say which peer the capability is for", ErrInvalidGrant)
	}
	if !g.Ability.Valid() {
		return nil, fmt.Errorf("%w: ability %d: want read, write or admin", ErrInvalidGrant, g.Ability)
	}
	keys := g.Keys
	if len(keys) == 0 {
		keys = []string{"*"}
	}
	keys = slices.Clone(keys)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	for _, k := range keys {
		if err := caps.ValidatePattern(k); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidGrant, err)
		}
	}
	t := caps.Token{Issuer: n.id, Audience: g.To, Space: acc.space, Ability: g.Ability, Keys: keys}
	if !g.NotBefore.IsZero() {
		t.NotBefore = g.NotBefore.UnixNano()
	}
	if !g.Expiry.IsZero() {
		t.Expiry = g.Expiry.UnixNano()
	}
	now := n.opts.Now()
	if t.Expiry != 0 && t.Expiry <= now.UnixNano() {
		return nil, fmt.Errorf("%w: the expiry %s is in the past", ErrInvalidGrant, g.Expiry.Format(time.RFC3339))
	}
	if n.id != acc.owner {
		leaf, err := acc.leafFor(n.id, g.Ability, nil, keys, now)
		if err != nil {
			return nil, fmt.Errorf("this peer cannot grant %s on %v: %w", g.Ability, keys, err)
		}
		parent, err := acc.resolve(leaf)
		if err != nil {
			return nil, err
		}
		t.Proof = leaf
		if t.NotBefore < parent.NotBefore {
			t.NotBefore = parent.NotBefore
		}
		if parent.Expiry != 0 && (t.Expiry == 0 || t.Expiry > parent.Expiry) {
			if t.Expiry != 0 {
				return nil, &caps.Denied{Reason: caps.ReasonExpired, Token: leaf,
					Detail: fmt.Sprintf("the grant would outlive the token it is delegated from, which expires %s", time.Unix(0, parent.Expiry).Format(time.RFC3339))}
			}
			t.Expiry = parent.Expiry
		}
	}
	return caps.Issue(n.key, t)
}

// Revoke withdraws the token id, and everything delegated from it, by writing a
// signed revocation into the space. Its issuer, the owner and admins over its keys
// may revoke it; anyone else is refused (ErrDenied, naming the rule).
func (n *Node) Revoke(ctx context.Context, space string, id cid.Cid) (RevocationInfo, error) {
	sp, acc, err := n.restricted("revoke", space)
	if err != nil {
		return RevocationInfo{}, err
	}
	target, err := acc.resolve(id)
	if err != nil {
		return RevocationInfo{}, fmt.Errorf("revoke %s: %w", id, ErrUnknownCapability)
	}
	r, err := caps.IssueRevocation(n.key, caps.Revocation{Issuer: n.id, Space: acc.space, Token: id})
	if err != nil {
		return RevocationInfo{}, fmt.Errorf("revoke: %w", err)
	}
	in := caps.RevocationInput{Space: acc.space, Owner: acc.owner, Revocation: r, Target: target,
		Now: n.opts.Now().UnixNano(), Resolve: acc.resolve, Revoked: acc.revoked}
	if n.id != acc.owner && n.id != target.Issuer {
		leaf, err := acc.leafFor(n.id, caps.Admin, nil, target.Keys, n.opts.Now())
		if err != nil {
			return RevocationInfo{}, fmt.Errorf("revoke %s: only its issuer, the owner or an admin over its keys may: %w", id, err)
		}
		in.Leaf = leaf
	}
	if err := caps.CheckRevocation(in); err != nil {
		return RevocationInfo{}, fmt.Errorf("revoke %s: %w", id, err)
	}
	op, err := revOp(r)
	if err != nil {
		return RevocationInfo{}, fmt.Errorf("revoke: %w", err)
	}
	if _, err := sp.writeSys(ctx, []dag.Op{op}); err != nil {
		return RevocationInfo{}, fmt.Errorf("revoke: %w", err)
	}
	return RevocationInfo{ID: r.CID(), Token: id, Issuer: n.id}, nil
}

// Capabilities lists the capability tokens held in the space, oldest first, each
// with what this peer makes of it now.
func (n *Node) Capabilities(space string) ([]Capability, error) {
	_, acc, err := n.restricted("capabilities", space)
	if err != nil {
		return nil, err
	}
	acc.mu.RLock()
	toks := make([]*caps.Token, len(acc.order))
	for i, c := range acc.order {
		toks[i] = acc.tokens[c]
	}
	acc.mu.RUnlock()
	now := n.opts.Now()
	out := make([]Capability, len(toks))
	for i, t := range toks {
		out[i] = acc.describe(t, now)
	}
	return out, nil
}

// describe turns a token into a Capability, judged at now.
func (a *access) describe(t *caps.Token, now time.Time) Capability {
	c := Capability{ID: t.CID(), Issuer: t.Issuer, Audience: t.Audience, Ability: t.Ability,
		Keys: slices.Clone(t.Keys), Proof: t.Proof, Status: StatusValid}
	if t.NotBefore != 0 {
		c.NotBefore = time.Unix(0, t.NotBefore)
	}
	if t.Expiry != 0 {
		c.Expiry = time.Unix(0, t.Expiry)
	}
	a.mu.RLock()
	for _, tc := range chainOf(t.CID(), a.resolveHeld) {
		for _, r := range a.counted[tc] {
			c.RevokedBy = append(c.RevokedBy, r.rev.CID())
		}
	}
	a.mu.RUnlock()
	err := a.cache.Check(caps.CheckInput{Space: a.space, Owner: a.owner, Actor: t.Audience, Need: t.Ability,
		Now: now.UnixNano(), Leaf: t.CID(), Resolve: a.resolve, Revoked: a.revoked})
	if d, ok := err.(*caps.Denied); ok {
		c.Status = d.Reason
	} else if err != nil {
		c.Status = caps.ReasonBrokenChain
	}
	return c
}
