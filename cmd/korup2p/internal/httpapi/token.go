package httpapi

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/korup2p/korup2p/caps"
)

// API tokens. Besides the master token (DATA/api.token, which the daemon makes
// on its first start and keeps), the API takes minted tokens of limited ability,
// for apps:
//
//	k2a1.<base64url(payload)>.<base64url(HMAC-SHA256(key, payload))>
//
// payload is JSON {"can": "read"|"write"|"admin", "spaces": [NAME|ID, …] (omitted:
// every space), "exp": Unix seconds (omitted: never), "iat": Unix seconds}, and key
// is SHA-256("korup2p api token v1" || master). A token's ID (TokenID) is the
// lowercase hex of the first 8 bytes of its MAC: it names the token without
// giving it away. Minting is stateless: the daemon keeps no list of the tokens it
// minted, and anyone holding the master token can mint one offline (MintToken).
// What the daemon keeps is a list of revoked IDs (Revocations; the daemon's is
// DATA/api.revoked, see RevocationFile): one token is revoked by adding its ID
// there. Rotating the master token — deleting DATA/api.token before a daemon
// start — still invalidates every minted token at once.

// TokenPrefix starts every minted API token (a master token is hex, never this).
const TokenPrefix = "k2a1."

// maxTokenLen bounds a minted token the server will look at.
const maxTokenLen = 4096

// tokenKeyDomain separates the MAC key from any other use of the master token.
const tokenKeyDomain = "korup2p api token v1"

// ErrBadToken means a string is not a minted API token made with this master
// token: malformed, or its MAC does not verify. The server answers it as 401, like
// a wrong master token.
var ErrBadToken = errors.New("invalid API token")

// ErrBadTokenID means a string is not an API token ID: 16 hex digits.
var ErrBadTokenID = errors.New("invalid API token ID")

// tokenIDLen is the length of a token ID in bytes (of the MAC), before hex.
const tokenIDLen = 8

// Reasons of a 403 forbidden answer: the API token is valid but does not allow
// the request. They share their spelling with caps.Reason.
const (
	ReasonInsufficientAbility = string(caps.ReasonInsufficientAbility) // the token's ability is below the route's
	ReasonWrongSpace          = string(caps.ReasonWrongSpace)          // the token is limited to other spaces
	ReasonExpired             = string(caps.ReasonExpired)             // the token has expired
	ReasonRevoked             = string(caps.ReasonRevoked)             // the token's ID is in the revocation list
)

// TokenOptions say what a minted API token allows.
type TokenOptions struct {
	// Ability: caps.Read (every GET, and query), caps.Write (and PUT, PATCH and
	// DELETE of keys, batch, import) or caps.Admin (everything, minting included).
	// Required.
	Ability caps.Ability
	// Spaces limits the token to these spaces, by name or ID; nil: every space.
	Spaces []string
	// Expiry: the token is refused from then on (kept to the second); zero: never.
	Expiry time.Time
	// IssuedAt is recorded in the token; zero: time.Now().
	IssuedAt time.Time
}

// TokenClaims is what a minted token says, and its ID. Its zero-valued Expiry
// means never, and nil Spaces every space.
type TokenClaims struct {
	ID       string // TokenID of the token
	Ability  caps.Ability
	Spaces   []string
	Expiry   time.Time
	IssuedAt time.Time
}

// Expired reports whether the claims' expiry has passed at now.
func (c TokenClaims) Expired(now time.Time) bool {
	return !c.Expiry.IsZero() && !now.Before(c.Expiry)
}

// AllowsSpace reports whether the claims cover the space of name and id (its
// CID string).
func (c TokenClaims) AllowsSpace(name, id string) bool {
	return c.Spaces == nil || slices.Contains(c.Spaces, name) || id != "" && slices.Contains(c.Spaces, id)
}

// tokenPayload is the wire form of TokenClaims.
type tokenPayload struct {
	Can    string   `json:"can"`
	Spaces []string `json:"spaces,omitempty"`
	Exp    int64    `json:"exp,omitempty"`
	Iat    int64    `json:"iat"`
}

// tokenKey is the MAC key of the tokens minted from master.
func tokenKey(master string) []byte {
	k := sha256.Sum256([]byte(tokenKeyDomain + master))
	return k[:]
}

func tokenMAC(master string, payload []byte) []byte {
	m := hmac.New(sha256.New, tokenKey(master))
	m.Write(payload)
	return m.Sum(nil)
}

// MintToken returns an API token allowing what o says, signed with master (the
// daemon's DATA/api.token). It needs no daemon: a token minted offline works with
// the daemon that reads the same master token.
func MintToken(master string, o TokenOptions) (string, error) {
	if master == "" {
		return "", errors.New("mint an API token: no master token")
	}
	if !o.Ability.Valid() {
		return "", fmt.Errorf("mint an API token: invalid ability %d (want read, write or admin)", uint8(o.Ability))
	}
	if o.Spaces != nil && len(o.Spaces) == 0 {
		return "", errors.New("mint an API token: an empty list of spaces (nil for every space)")
	}
	for _, s := range o.Spaces {
		if s == "" {
			return "", errors.New("mint an API token: an empty space name")
		}
	}
	iat := o.IssuedAt
	if iat.IsZero() {
		iat = time.Now()
	}
	p := tokenPayload{Can: o.Ability.String(), Spaces: o.Spaces, Iat: iat.Unix()}
	if !o.Expiry.IsZero() {
		p.Exp = o.Expiry.Unix()
		if p.Exp <= p.Iat {
			return "", fmt.Errorf("mint an API token: expiry %s is not after its issue %s",
				o.Expiry.UTC().Format(time.RFC3339), iat.UTC().Format(time.RFC3339))
		}
	}
	payload, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("mint an API token: %w", err)
	}
	enc := base64.RawURLEncoding
	return TokenPrefix + enc.EncodeToString(payload) + "." + enc.EncodeToString(tokenMAC(master, payload)), nil
}

// VerifyToken checks that tok was minted with master and returns its claims. It
// does not judge them: the caller compares Expiry with its clock. Every failure
// is ErrBadToken.
func VerifyToken(master, tok string) (TokenClaims, error) {
	payload, mac, err := splitToken(tok)
	if err != nil {
		return TokenClaims{}, err
	}
	if master == "" || !hmac.Equal(mac, tokenMAC(master, payload)) {
		return TokenClaims{}, fmt.Errorf("%w: its MAC does not verify (altered, or minted from another master token)", ErrBadToken)
	}
	return decodeClaims(payload, mac)
}

// UnverifiedTokenClaims returns what tok says without checking who minted it:
// for display only (a daemon's answer to MintToken, say), never to authorise.
func UnverifiedTokenClaims(tok string) (TokenClaims, error) {
	payload, mac, err := splitToken(tok)
	if err != nil {
		return TokenClaims{}, err
	}
	return decodeClaims(payload, mac)
}

// TokenID returns the ID of the minted token tok: the lowercase hex of the first
// 8 bytes of its MAC (16 characters), which a revocation list holds. It checks
// the token's form, not who minted it; a malformed token is ErrBadToken. The
// master token has no ID.
func TokenID(tok string) (string, error) {
	_, mac, err := splitToken(tok)
	if err != nil {
		return "", err
	}
	return tokenIDOf(mac), nil
}

func tokenIDOf(mac []byte) string { return hex.EncodeToString(mac[:tokenIDLen]) }

// ParseTokenID returns s as a token ID if it is one — 16 hex digits, of either
// case — in its canonical lowercase form; else an error wrapping ErrBadTokenID.
func ParseTokenID(s string) (string, error) {
	if _, err := hex.DecodeString(s); err != nil || len(s) != 2*tokenIDLen {
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		return "", fmt.Errorf("%w %q: want 16 hex digits", ErrBadTokenID, s)
	}
	return strings.ToLower(s), nil
}

func splitToken(tok string) (payload, mac []byte, err error) {
	if len(tok) > maxTokenLen {
		return nil, nil, fmt.Errorf("%w: longer than %d bytes", ErrBadToken, maxTokenLen)
	}
	rest, ok := strings.CutPrefix(tok, TokenPrefix)
	if !ok {
		return nil, nil, fmt.Errorf("%w: no %q prefix", ErrBadToken, TokenPrefix)
	}
	p64, m64, ok := strings.Cut(rest, ".")
	if !ok {
		return nil, nil, fmt.Errorf("%w: want %sPAYLOAD.MAC", ErrBadToken, TokenPrefix)
	}
	enc := base64.RawURLEncoding.Strict()
	if payload, err = enc.DecodeString(p64); err != nil {
		return nil, nil, fmt.Errorf("%w: payload: %v", ErrBadToken, err)
	}
	if mac, err = enc.DecodeString(m64); err != nil || len(mac) != sha256.Size {
		return nil, nil, fmt.Errorf("%w: bad MAC encoding", ErrBadToken)
	}
	return payload, mac, nil
}

// decodeClaims decodes a payload strictly: unknown fields, trailing data, an
// unknown ability or an empty list of spaces are errors. mac gives the ID.
func decodeClaims(payload, mac []byte) (TokenClaims, error) {
	var p struct {
		Can    string    `json:"can"`
		Spaces *[]string `json:"spaces"` // a pointer, to tell [] from absent
		Exp    int64     `json:"exp"`
		Iat    int64     `json:"iat"`
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil || dec.More() {
		return TokenClaims{}, fmt.Errorf("%w: bad payload", ErrBadToken)
	}
	a, err := caps.ParseAbility(p.Can)
	if err != nil {
		return TokenClaims{}, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	c := TokenClaims{ID: tokenIDOf(mac), Ability: a, IssuedAt: time.Unix(p.Iat, 0)}
	if p.Spaces != nil {
		if len(*p.Spaces) == 0 || slices.Contains(*p.Spaces, "") {
			return TokenClaims{}, fmt.Errorf("%w: an empty space list or name", ErrBadToken)
		}
		c.Spaces = *p.Spaces
	}
	if p.Exp != 0 {
		c.Expiry = time.Unix(p.Exp, 0)
	}
	return c, nil
}
