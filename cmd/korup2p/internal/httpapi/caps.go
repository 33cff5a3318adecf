package httpapi

import (
	"bytes"
	"net/http"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/caps"
)

// The capability routes of a restricted space: list, grant, revoke. An open space
// answers 409 open_space; a refusal of the Node's capability check is 403 denied
// with the caps reason.

func (s *server) handleCaps(w http.ResponseWriter, r *http.Request) {
	space, err := s.space(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cs, err := s.n.Capabilities(space)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]capWire, len(cs))
	for i, c := range cs {
		out[i] = toCap(c)
	}
	s.writeJSON(w, http.StatusOK, out)
}

func (s *server) handleGrant(w http.ResponseWriter, r *http.Request) {
	space, err := s.space(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req grantWire
	if err := s.decodeBody(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	g, err := grantOf(req, s.now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.n.Grant(r.Context(), space, g)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, toCap(c))
}

// grantOf checks a grant body: a peer, an ability, valid patterns, an expiry
// after now and after not_before.
func grantOf(req grantWire, now time.Time) (korup2p.Grant, error) {
	if req.To == "" {
		return korup2p.Grant{}, badRequest(ReasonRequest, "grant: no to (want the audience's peer ID)")
	}
	to, err := peer.Decode(req.To)
	if err != nil {
		return korup2p.Grant{}, badRequest(ReasonRequest, "grant: to %q: not a peer ID: %v", req.To, err)
	}
	a, err := parseCan("grant", req.Can, false)
	if err != nil {
		return korup2p.Grant{}, err
	}
	if err := validPatterns("grant", req.Keys); err != nil {
		return korup2p.Grant{}, err
	}
	g := korup2p.Grant{To: to, Ability: a, Keys: req.Keys}
	if g.NotBefore, err = parseWireTime("not_before", req.NotBefore); err != nil {
		return korup2p.Grant{}, err
	}
	if g.Expiry, err = parseWireTime("expires", req.Expires); err != nil {
		return korup2p.Grant{}, err
	}
	if !g.Expiry.IsZero() && !g.Expiry.After(now) {
		return korup2p.Grant{}, badRequest(ReasonRequest, "grant: expires %s is not in the future", req.Expires)
	}
	if !g.NotBefore.IsZero() && !g.Expiry.IsZero() && !g.Expiry.After(g.NotBefore) {
		return korup2p.Grant{}, badRequest(ReasonRequest, "grant: expires %s is not after not_before %s", req.Expires, req.NotBefore)
	}
	return g, nil
}

// parseCan parses an ability; "" is an error unless optional (then caps.Read).
func parseCan(op, s string, optional bool) (caps.Ability, error) {
	if s == "" && optional {
		return caps.Read, nil
	}
	a, err := caps.ParseAbility(s)
	if err != nil {
		return 0, badRequest(ReasonRequest, "%s: can: %v", op, err)
	}
	return a, nil
}

func validPatterns(op string, keys []string) error {
	for _, k := range keys {
		if err := caps.ValidatePattern(k); err != nil {
			return badRequest(ReasonRequest, "%s: keys: %v", op, err)
		}
	}
	return nil
}

func (s *server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	space, err := s.space(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := cid.Decode(r.PathValue("cid"))
	if err != nil {
		s.fail(w, r, badRequest(ReasonRequest, "revoke: %q is not a capability ID (a CID): %v", r.PathValue("cid"), err))
		return
	}
	info, err := s.n.Revoke(r.Context(), space, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, toRevocation(info))
}

// inviteOptions reads the optional body of POST .../invite: none (or only
// white space) is the zero InviteOptions.
func (s *server) inviteOptions(w http.ResponseWriter, r *http.Request) (korup2p.InviteOptions, error) {
	b, err := s.body(w, r)
	if err != nil {
		return korup2p.InviteOptions{}, err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return korup2p.InviteOptions{}, nil
	}
	var req inviteRequestWire
	if err := decodeStrict(b, &req); err != nil {
		return korup2p.InviteOptions{}, err
	}
	var o korup2p.InviteOptions
	if req.Can != "" {
		if o.Ability, err = parseCan("invite", req.Can, true); err != nil {
			return o, err
		}
	}
	if req.For != "" {
		if o.For, err = peer.Decode(req.For); err != nil {
			return o, badRequest(ReasonRequest, "invite: for %q: not a peer ID: %v", req.For, err)
		}
	}
	if err := validPatterns("invite", req.Keys); err != nil {
		return o, err
	}
	o.Keys = req.Keys
	if o.Expiry, err = parseWireTime("expires", req.Expires); err != nil {
		return o, err
	}
	if !o.Expiry.IsZero() && !o.Expiry.After(s.now()) {
		return o, badRequest(ReasonRequest, "invite: expires %s is not in the future", o.Expiry.UTC().Format(time.RFC3339))
	}
	return o, nil
}
