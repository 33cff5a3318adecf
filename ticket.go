package korup2p

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"

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
// restricted space's ID can be checked), its name, and where to reach the inviter.
type ticket struct {
	V       uint64   `cbor:"v"`
	Name    string   `cbor:"name"`
	Genesis []byte   `cbor:"genesis"`
	Addrs   []string `cbor:"addrs,omitempty"`
}

// Invite returns a ticket for the space: the space's ID and genesis, its name, and
// this peer's addresses, as one string to give to the invitee's Join. Until
// capabilities exist (the access issue), a ticket grants nothing: it shares what
// an open space's name already does, and a restricted space's ID.
func (n *Node) Invite(space string) (string, error) {
	sp, err := n.space(space)
	if err != nil {
		return "", fmt.Errorf("invite: %w", err)
	}
	b, err := distinctions.Marshal(ticket{V: 1, Name: sp.name, Genesis: sp.g.Bytes(), Addrs: n.Addrs()})
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
	for _, info := range n.Spaces() {
		if info.ID.Equals(g.CID()) {
			n.connectAll(ctx, t.Addrs)
			return info, nil
		}
	}
	sp, err := n.addSpace(name, g)
	if err != nil {
		return SpaceInfo{}, fmt.Errorf("join: %w", err)
	}
	n.connectAll(ctx, t.Addrs)
	return sp.infoPublic(), nil
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
