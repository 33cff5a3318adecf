package caps

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/distinctions"
)

// FormatVersion is the token and revocation format this package writes and accepts.
const FormatVersion = 1

// ErrInvalidToken is matched (errors.Is) by every error Decode and DecodeRevocation
// return, and by Issue and IssueRevocation for a token they refuse to sign. Errors
// from the strict decoder also match distinctions.ErrMalformed, ErrNotCanonical or
// ErrTooLarge.
var ErrInvalidToken = errors.New("invalid capability")

// ErrBadSignature is matched, with ErrInvalidToken, when a signature is missing or
// does not verify for the issuer.
var ErrBadSignature = errors.New("bad signature")

// Token is a capability: Issuer lets Audience use Ability on the keys matched by Keys
// in Space, from NotBefore to Expiry, as delegated by the token Proof.
//
// A Token comes from [Issue] (signed here) or [Decode] (bytes from a peer or disk,
// checked). Treat it as immutable: its CID and bytes are computed once.
type Token struct {
	Issuer    peer.ID  // signs the token; Ed25519
	Audience  peer.ID  // who may use it (and delegate it, with Admin)
	Space     cid.Cid  // the space ID (CID of its genesis)
	Ability   Ability  // Read, Write or Admin
	Keys      []string // key patterns (see Match), sorted and unique
	NotBefore int64    // Unix ns; valid from NotBefore on; 0 = since always
	Expiry    int64    // Unix ns; valid before Expiry; 0 = never expires
	Proof     cid.Cid  // the parent token; cid.Undef for a root, issued by the owner
	Sig       []byte   // Ed25519 signature over the token encoded without sig

	cid   cid.Cid
	bytes []byte
}

// CID returns the token's content address; cid.Undef for a Token not built by Issue
// or Decode.
func (t *Token) CID() cid.Cid { return t.cid }

// Bytes returns the token's canonical encoding. Do not modify it.
func (t *Token) Bytes() []byte { return t.bytes }

// IsRoot reports whether t claims to be a root token (no proof).
func (t *Token) IsRoot() bool { return !t.Proof.Defined() }

// ValidAt reports whether now is within t's own validity window:
// NotBefore <= now < Expiry, with 0 meaning unbounded.
func (t *Token) ValidAt(now int64) bool {
	return (t.NotBefore == 0 || now >= t.NotBefore) && (t.Expiry == 0 || now < t.Expiry)
}

func (t *Token) String() string {
	return fmt.Sprintf("cap %s: %s grants %s %s on %v in %s", t.cid, t.Issuer, t.Audience, t.Ability, t.Keys, t.Space)
}

// wireToken is the encoding. Short keys; empty and zero optional fields are omitted so
// that every token has exactly one encoding.
type wireToken struct {
	V     uint64             `cbor:"v"`
	Iss   []byte             `cbor:"iss"`
	Aud   []byte             `cbor:"aud"`
	Space distinctions.Link  `cbor:"space"`
	Can   string             `cbor:"can"`
	Keys  []string           `cbor:"keys"`
	Nbf   int64              `cbor:"nbf,omitempty"`
	Exp   int64              `cbor:"exp,omitempty"`
	Prf   *distinctions.Link `cbor:"prf,omitempty"`
	Sig   []byte             `cbor:"sig,omitempty"`
}

func optLink(c cid.Cid) *distinctions.Link {
	if !c.Defined() {
		return nil
	}
	return &distinctions.Link{Cid: c}
}

func (t *Token) toWire(withSig bool) wireToken {
	w := wireToken{
		V: FormatVersion, Iss: []byte(t.Issuer), Aud: []byte(t.Audience),
		Space: distinctions.Link{Cid: t.Space}, Can: t.Ability.String(), Keys: t.Keys,
		Nbf: t.NotBefore, Exp: t.Expiry, Prf: optLink(t.Proof),
	}
	if withSig {
		w.Sig = t.Sig
	}
	return w
}

func (t *Token) signingBytes() ([]byte, error) { return distinctions.Marshal(t.toWire(false)) }

// checkFormat checks what t says about itself, except its signature.
func (t *Token) checkFormat() error {
	switch {
	case !t.Space.Defined():
		return invalidf("no space")
	case !t.Ability.Valid():
		return invalidf("invalid ability %d", uint8(t.Ability))
	case len(t.Keys) == 0:
		return invalidf("no key patterns")
	case len(t.Keys) > MaxPatterns:
		return invalidf("%d key patterns; at most %d", len(t.Keys), MaxPatterns)
	case !slices.IsSorted(t.Keys) || len(slices.Compact(slices.Clone(t.Keys))) != len(t.Keys):
		return invalidf("key patterns are not sorted and unique")
	case t.NotBefore < 0 || t.Expiry < 0:
		return invalidf("negative validity time")
	case t.NotBefore != 0 && t.Expiry != 0 && t.Expiry <= t.NotBefore:
		return invalidf("empty validity window: expiry %d is not after not-before %d", t.Expiry, t.NotBefore)
	}
	for _, k := range t.Keys {
		if err := ValidatePattern(k); err != nil {
			return invalidf("%v", err)
		}
	}
	if _, err := peer.IDFromBytes([]byte(t.Audience)); err != nil {
		return invalidf("audience: %v", err)
	}
	if _, err := issuerKey(t.Issuer); err != nil {
		return err
	}
	return nil
}

func issuerKey(id peer.ID) (crypto.PubKey, error) {
	if id == "" {
		return nil, invalidf("no issuer")
	}
	pub, err := id.ExtractPublicKey()
	if err != nil {
		return nil, invalidf("issuer %q: %v", id, err)
	}
	if pub.Type() != crypto.Ed25519 {
		return nil, invalidf("issuer key is %s, want Ed25519", pub.Type())
	}
	return pub, nil
}

func verifySig(issuer peer.ID, msg, sig []byte) error {
	pub, err := issuerKey(issuer)
	if err != nil {
		return err
	}
	if len(sig) == 0 {
		return fmt.Errorf("%w: %w: not signed", ErrInvalidToken, ErrBadSignature)
	}
	ok, err := pub.Verify(msg, sig)
	if err != nil || !ok {
		return fmt.Errorf("%w: %w: signature does not verify for issuer %s", ErrInvalidToken, ErrBadSignature, issuer)
	}
	return nil
}

// verifySig checks t's signature against its fields as they are now.
func (t *Token) verifySig() error {
	msg, err := t.signingBytes()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	return verifySig(t.Issuer, msg, t.Sig)
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidToken, fmt.Sprintf(format, args...))
}

func signer(key crypto.PrivKey, claimed peer.ID) (peer.ID, error) {
	if key == nil {
		return "", invalidf("no signing key")
	}
	if key.Type() != crypto.Ed25519 {
		return "", invalidf("signing key is %s, want Ed25519", key.Type())
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if claimed != "" && claimed != id {
		return "", invalidf("issuer %s is not the signing key's peer %s", claimed, id)
	}
	return id, nil
}

// Issue signs t with key and returns the sealed token. t.Issuer may be left empty (it
// is set to key's peer ID); if set, it must be key's. Keys are sorted and deduplicated;
// Sig is ignored. Issue checks t's format as Decode would; it does not check that the
// issuer may grant t (that is [Check]'s job, given the chain).
func Issue(key crypto.PrivKey, t Token) (*Token, error) {
	id, err := signer(key, t.Issuer)
	if err != nil {
		return nil, err
	}
	t.Issuer = id
	t.Keys = slices.Compact(slices.Sorted(slices.Values(t.Keys)))
	t.Sig, t.cid, t.bytes = nil, cid.Undef, nil
	if err := t.checkFormat(); err != nil {
		return nil, err
	}
	msg, err := t.signingBytes()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if t.Sig, err = key.Sign(msg); err != nil {
		return nil, fmt.Errorf("issue: sign: %w", err)
	}
	if t.bytes, err = distinctions.Marshal(t.toWire(true)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	t.cid = distinctions.Sum(t.bytes)
	return &t, nil
}

// Decode strictly decodes a token and checks everything it says about itself:
// canonical DAG-CBOR within l with no unknown field, version, a valid ability, sorted
// unique well-formed key patterns, a non-empty validity window, Ed25519 issuer, and the
// signature. It does not look at other tokens: [Check] verifies chains.
func Decode(b []byte, l distinctions.Limits) (*Token, error) {
	var w wireToken
	if err := distinctions.Decode(b, &w, l); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if w.V != FormatVersion {
		return nil, invalidf("format version %d, want %d", w.V, FormatVersion)
	}
	a, err := ParseAbility(w.Can)
	if err != nil {
		return nil, invalidf("%v", err)
	}
	t := &Token{
		Issuer: peer.ID(w.Iss), Audience: peer.ID(w.Aud), Space: w.Space.Cid, Ability: a,
		Keys: w.Keys, NotBefore: w.Nbf, Expiry: w.Exp, Sig: w.Sig,
	}
	if w.Prf != nil {
		t.Proof = w.Prf.Cid
	}
	if err := t.checkFormat(); err != nil {
		return nil, err
	}
	if err := t.verifySig(); err != nil {
		return nil, err
	}
	t.bytes = bytes.Clone(b)
	t.cid = distinctions.Sum(t.bytes)
	return t, nil
}
