package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/caps"
)

// principal is who a request acts as: the master token (every ability, every
// space) or a minted API token (its claims).
type principal struct {
	TokenClaims
	master bool
}

type principalKey struct{}

// principalOf is the request's principal; without one (never after ServeHTTP),
// the zero principal, which no route allows.
func principalOf(r *http.Request) principal {
	p, _ := r.Context().Value(principalKey{}).(principal)
	return p
}

// authenticate finds the request's principal from its bearer token: the master
// token, or a token minted from it. A missing, malformed or badly signed token is
// 401; a minted token that has expired or is revoked, 403 forbidden/expired or
// forbidden/revoked: it is authentic, and no longer allowed anything. The master
// token is never looked up in the revocation list.
func (s *server) authenticate(r *http.Request) (principal, *requestError) {
	unauthorized := func(detail string) (principal, *requestError) {
		return principal{}, &requestError{status: http.StatusUnauthorized, code: CodeUnauthorized,
			msg: "missing or wrong API token (want Authorization: Bearer TOKEN)" + detail}
	}
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if s.noToken || len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return unauthorized("")
	}
	tok := strings.TrimSpace(h[len(prefix):])
	got := sha256.Sum256([]byte(tok))
	if subtle.ConstantTimeCompare(got[:], s.token[:]) == 1 {
		return principal{TokenClaims: TokenClaims{Ability: caps.Admin}, master: true}, nil
	}
	if !strings.HasPrefix(tok, TokenPrefix) {
		return unauthorized("")
	}
	claims, err := VerifyToken(s.master, tok)
	if err != nil {
		return unauthorized(fmt.Sprintf(": %v; a minted token dies with the master token it was minted from", err))
	}
	if claims.Expired(s.now()) {
		return principal{}, forbidden(ReasonExpired, "the API token expired at %s", claims.Expiry.UTC().Format(time.RFC3339))
	}
	if s.revoked.Revoked(claims.ID) {
		return principal{}, forbidden(ReasonRevoked, "the API token %s is revoked", claims.ID)
	}
	return principal{TokenClaims: claims}, nil
}

// forbidden is a 403: the API token is valid but does not allow the request.
func forbidden(reason, format string, args ...any) *requestError {
	return &requestError{status: http.StatusForbidden, code: CodeForbidden, reason: reason,
		msg: fmt.Sprintf("API token refused (%s): ", reason) + fmt.Sprintf(format, args...)}
}

// wrongSpace refuses a request outside the spaces p is limited to.
func wrongSpace(p principal) *requestError {
	return forbidden(ReasonWrongSpace, "the token is limited to the spaces %s", strings.Join(p.Spaces, ", "))
}

// guard wraps h with the API token check of a route: the ability it needs, and,
// for a token limited to spaces, the route's {space} among them (every: the
// route reaches every space at once and a limited token is refused).
func (s *server) guard(need caps.Ability, every bool, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalOf(r)
		if p.Ability < need {
			s.fail(w, r, forbidden(ReasonInsufficientAbility, "%s needs %s; the token allows %s", r.Pattern, need, abilityName(p.Ability)))
			return
		}
		if p.Spaces != nil {
			if every {
				s.fail(w, r, forbidden(ReasonWrongSpace, "%s reaches every space; the token is limited to %s",
					r.Pattern, strings.Join(p.Spaces, ", ")))
				return
			}
			if sp := r.PathValue("space"); sp != "" && !s.allows(p, sp) {
				s.fail(w, r, wrongSpace(p))
				return
			}
		}
		h(w, r)
	})
}

func abilityName(a caps.Ability) string {
	if !a.Valid() {
		return "nothing"
	}
	return a.String()
}

// allows reports whether p covers the space named (by name or ID) nameOrID.
func (s *server) allows(p principal, nameOrID string) bool {
	if p.Spaces == nil || slices.Contains(p.Spaces, nameOrID) {
		return true
	}
	if info, ok := s.lookupSpace(nameOrID); ok {
		return p.AllowsSpace(info.Name, info.ID.String())
	}
	return false
}

// lookupSpace finds a space held by name, else by ID string.
func (s *server) lookupSpace(nameOrID string) (korup2p.SpaceInfo, bool) {
	spaces := s.n.Spaces()
	for _, info := range spaces {
		if info.Name == nameOrID {
			return info, true
		}
	}
	for _, info := range spaces {
		if info.ID.String() == nameOrID {
			return info, true
		}
	}
	return korup2p.SpaceInfo{}, false
}

// handleMintToken mints an API token no wider than the caller's: ability at most
// its own (the route needs admin anyway), spaces among its own (by default all of
// them), expiry no later than its own (by default the same).
func (s *server) handleMintToken(w http.ResponseWriter, r *http.Request) {
	var req tokenRequestWire
	if err := s.decodeBody(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := caps.ParseAbility(req.Can)
	if err != nil {
		s.fail(w, r, badRequest(ReasonRequest, "mint a token: can: %v", err))
		return
	}
	p := principalOf(r)
	if a > p.Ability {
		s.fail(w, r, forbidden(ReasonInsufficientAbility, "cannot mint a %s token with a %s one", a, abilityName(p.Ability)))
		return
	}
	o := TokenOptions{Ability: a, IssuedAt: s.now()}
	if req.Spaces != nil {
		if len(req.Spaces) == 0 {
			s.fail(w, r, badRequest(ReasonRequest, "mint a token: spaces: empty (leave it out for every space the caller may reach)"))
			return
		}
		for _, sp := range req.Spaces {
			if sp == "" {
				s.fail(w, r, badRequest(ReasonRequest, "mint a token: spaces: an empty name"))
				return
			}
			if !s.allows(p, sp) {
				s.fail(w, r, forbidden(ReasonWrongSpace, "cannot mint a token for %s: the caller is limited to %s", sp, strings.Join(p.Spaces, ", ")))
				return
			}
		}
		o.Spaces = req.Spaces
	} else if p.Spaces != nil {
		o.Spaces = slices.Clone(p.Spaces)
	}
	if req.Expires != "" {
		if o.Expiry, err = parseWireTime("expires", req.Expires); err != nil {
			s.fail(w, r, err)
			return
		}
		if !o.Expiry.After(o.IssuedAt) {
			s.fail(w, r, badRequest(ReasonRequest, "mint a token: expires %s is not in the future", req.Expires))
			return
		}
	}
	if !p.Expiry.IsZero() && (o.Expiry.IsZero() || o.Expiry.After(p.Expiry)) {
		o.Expiry = p.Expiry // no longer than the caller's
	}
	tok, err := MintToken(s.master, o)
	if err != nil {
		s.fail(w, r, badRequest(ReasonRequest, "%v", err))
		return
	}
	out := tokenWire{Token: tok, Can: a.String(), Spaces: o.Spaces}
	if !o.Expiry.IsZero() {
		out.Expires = o.Expiry.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	s.writeJSON(w, http.StatusCreated, out)
}

// handleRevokeToken adds {id}, a TokenID, to the revocation list: the token is
// refused from the next request on. Revoking one already revoked is no error.
func (s *server) handleRevokeToken(w http.ResponseWriter, r *http.Request) {
	id, err := ParseTokenID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, badRequest(ReasonRequest, "revoke a token: %v (the ID 'korup2p caps token' prints)", err))
		return
	}
	already, err := s.revoked.Revoke(id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, tokenRevokedWire{ID: id, Already: already})
}
