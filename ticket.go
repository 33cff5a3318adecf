package korup2p

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/caps"
	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/distinctions"
)

// ticketPrefix starts every invite ticket.
const ticketPrefix = "korup2p1"

// ticketEncoding is lowercase base32 without padding: safe in URLs, shells and QR codes.
var ticketEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// ErrInvalidTicket means a string given as an invite ticket is not one.
var ErrInvalidTicket = errors.New("invalid invite ticket")

// ticket is an invite's content: the space (its genesis, whole, so that a
// restricted space's ID can be checked), its name, where to reach the inviter and,
// for a restricted space, a capability: its chain (leaf first) and, when the leaf is
// granted to no peer in particular, the one-time key it is granted to.
type ticket struct {
	V       uint64   `cbor:"v"`
	Name    string   `cbor:"name"`
	Genesis []byte   `cbor:"genesis"`
	Addrs   []string `cbor:"addrs,omitempty"`
	Caps    [][]byte `cbor:"caps,omitempty"`
	Key     []byte   `cbor:"key,omitempty"`
}

// Invite returns a ticket for the space: the space's ID and genesis, its name, this
// peer's addresses and, for a restricted space, a capability (Read unless
// o.Ability says more), as one string to give to the invitee's Join. The
// capability is granted (and written into the space, see Grant) to o.For, or, if
// o.For is empty, to a one-time key carried in the ticket, from which whoever joins
// with it delegates to itself: such a ticket is a secret. An open space's ticket
// grants nothing its name does not, and takes no options.
func (n *Node) Invite(ctx context.Context, space string, o InviteOptions) (string, error) {
	sp, err := n.space(space)
	if err != nil {
		return "", fmt.Errorf("invite: %w", err)
	}
	t := ticket{V: 1, Name: sp.name, Genesis: sp.g.Bytes(), Addrs: n.Addrs()}
	if sp.acc == nil {
		if o.Ability != 0 || o.For != "" || len(o.Keys) > 0 || !o.Expiry.IsZero() {
			return "", fmt.Errorf("invite: space %s: %w", sp.name, ErrOpenSpace)
		}
	} else if t.Caps, t.Key, err = n.inviteCap(ctx, sp, o); err != nil {
		return "", fmt.Errorf("invite: %w", err)
	}
	b, err := distinctions.Marshal(t)
	if err != nil {
		return "", fmt.Errorf("invite: %w", err)
	}
	return ticketPrefix + strings.ToLower(ticketEncoding.EncodeToString(b)), nil
}

// Join adds the space a ticket (from Invite) names, under the ticket's name or as
// if not empty, and connects to the inviter's addresses (without a network, or if
// none answers, the space is added all the same and syncs when a peer holding it
// is reached). A plain space name instead of a ticket joins the open space of that
// name. Joining a space already held returns it.
func (n *Node) Join(ctx context.Context, ticketOrName, as string) (SpaceInfo, error) {
	var g *dag.Node
	var t ticket
	if strings.HasPrefix(ticketOrName, ticketPrefix) {
		b, err := ticketEncoding.DecodeString(strings.ToUpper(strings.TrimPrefix(ticketOrName, ticketPrefix)))
		if err != nil {
			return SpaceInfo{}, fmt.Errorf("join: %w: %v", ErrInvalidTicket, err)
		}
		if err := distinctions.Decode(b, &t, distinctions.Limits{MaxBytes: 64 << 10}); err != nil || t.V != 1 {
			if err == nil {
				err = fmt.Errorf("version %d", t.V)
			}
			return SpaceInfo{}, fmt.Errorf("join: %w: %v", ErrInvalidTicket, err)
		}
		if g, err = dag.Decode(t.Genesis, distinctions.DefaultLimits); err != nil || !g.IsGenesis() {
			return SpaceInfo{}, fmt.Errorf("join: %w: no genesis node (%v)", ErrInvalidTicket, err)
		}
	} else {
		if err := validSpaceName(ticketOrName); err != nil {
			return SpaceInfo{}, fmt.Errorf("join: %q is neither a ticket nor a space name: %w", ticketOrName, err)
		}
		var err error
		if g, err = dag.NewOpenGenesis(ticketOrName); err != nil {
			return SpaceInfo{}, fmt.Errorf("join: %w", err)
		}
		t.Name = ticketOrName
	}
	name := t.Name
	if as != "" {
		name = as
	}
	chain, err := n.ticketChain(g, t)
	if err != nil {
		return SpaceInfo{}, fmt.Errorf("join: %w", err)
	}
	sp := n.held(g.CID())
	if sp == nil {
		if sp, err = n.addSpace(name, g); err != nil {
			return SpaceInfo{}, fmt.Errorf("join: %w", err)
		}
	}
	if err := n.adopt(ctx, sp); err != nil {
		return SpaceInfo{}, fmt.Errorf("join: %w", err)
	}
	var ops []dag.Op // the chain's tokens this peer does not hold yet (joining again adds none)
	for _, tok := range chain {
		if _, err := sp.acc.resolve(tok.CID()); err == nil {
			continue
		}
		op, err := capOp(tok)
		if err != nil {
			return SpaceInfo{}, fmt.Errorf("join: %w", err)
		}
		ops = append(ops, op)
	}
	if len(ops) > 0 {
		if _, err := sp.writeSysWith(ctx, ops, chain[0].CID()); err != nil {
			return SpaceInfo{}, fmt.Errorf("join: write the ticket's capability: %w", err)
		}
	}
	n.connectAll(ctx, t.Addrs)
	n.net.presentAll(sp)
	return sp.infoPublic(), nil
}

// held returns the space of ID id if this node holds it.
func (n *Node) held(id cid.Cid) *space {
	for _, sp := range n.spaceList() {
		if sp.id().Equals(id) {
			return sp
		}
	}
	return nil
}

// inviteCap grants the capability an invite carries and returns its chain (leaf
// first, as bytes) and the one-time key it is granted to, if any.
func (n *Node) inviteCap(ctx context.Context, sp *space, o InviteOptions) ([][]byte, []byte, error) {
	g := Grant{To: o.For, Ability: o.Ability, Keys: o.Keys, Expiry: o.Expiry}
	if g.Ability == 0 {
		g.Ability = caps.Read
	}
	var key []byte
	if g.To == "" {
		priv, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		if key, err = crypto.MarshalPrivateKey(priv); err != nil {
			return nil, nil, err
		}
		if g.To, err = peer.IDFromPrivateKey(priv); err != nil {
			return nil, nil, err
		}
	}
	c, err := n.Grant(ctx, sp.name, g)
	if err != nil {
		return nil, nil, err
	}
	var chain [][]byte
	for _, tc := range chainOf(c.ID, sp.acc.resolve) {
		tok, _ := sp.acc.resolve(tc)
		chain = append(chain, tok.Bytes())
	}
	return chain, key, nil
}

// ticketChain checks the capability a ticket carries for this peer and returns
// its chain, leaf first, ending in a delegation to this peer when the ticket
// carries a one-time key; nil if it carries none.
func (n *Node) ticketChain(g *dag.Node, t ticket) ([]*caps.Token, error) {
	if len(t.Caps) == 0 {
		return nil, nil
	}
	info, err := g.SpaceInfo()
	if err != nil || info.Open {
		return nil, fmt.Errorf("%w: a capability for an open space", ErrInvalidTicket)
	}
	if len(t.Caps) > caps.MaxDepth {
		return nil, fmt.Errorf("%w: a chain of %d tokens", ErrInvalidTicket, len(t.Caps))
	}
	var chain []*caps.Token
	for _, b := range t.Caps {
		tok, err := caps.Decode(b, distinctions.DefaultLimits)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidTicket, err)
		}
		chain = append(chain, tok)
	}
	leaf := chain[0]
	if t.Key != nil {
		priv, err := crypto.UnmarshalPrivateKey(t.Key)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidTicket, err)
		}
		tok, err := caps.Issue(priv, caps.Token{Audience: n.id, Space: g.CID(), Ability: leaf.Ability, Keys: leaf.Keys,
			NotBefore: leaf.NotBefore, Expiry: leaf.Expiry, Proof: leaf.CID()})
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidTicket, err)
		}
		chain = append([]*caps.Token{tok}, chain...)
	} else if leaf.Audience != n.id {
		return nil, &caps.Denied{Reason: caps.ReasonWrongAudience, Token: leaf.CID(),
			Detail: fmt.Sprintf("the ticket is for peer %s, not this peer (%s)", leaf.Audience, n.id)}
	}
	err = caps.Check(caps.CheckInput{Space: g.CID(), Owner: info.Owner, Actor: n.id, Need: chain[0].Ability,
		Now: n.opts.Now().UnixNano(), Chain: chain})
	if err != nil {
		return nil, fmt.Errorf("the ticket's capability: %w", err)
	}
	return chain, nil
}

// connectAll connects to each address, best effort, when there is a network.
func (n *Node) connectAll(ctx context.Context, addrs []string) {
	if n.net == nil {
		return
	}
	for _, a := range addrs {
		if _, err := n.Connect(ctx, a); err != nil {
			n.log.Debug("connect to the inviter", "addr", a, "err", err)
		}
	}
}
