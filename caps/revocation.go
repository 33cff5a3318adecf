package caps

import (
	"bytes"
	"fmt"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/distinctions"
)

// Revocation withdraws a token, and with it every token delegated from it. It is
// permanent: there is no un-revoking (issue a new token instead).
//
// A revocation counts only if [CheckRevocation] accepts it: its issuer is the revoked
// token's issuer, the space owner, or a holder of Admin over the revoked token's keys.
// Like a Token, a Revocation comes from [IssueRevocation] or [DecodeRevocation] and is
// immutable.
type Revocation struct {
	Issuer peer.ID // signs the revocation; Ed25519
	Space  cid.Cid // the space of the revoked token
	Token  cid.Cid // the revoked token
	Sig    []byte  // Ed25519 signature over the revocation encoded without sig

	cid   cid.Cid
	bytes []byte
}

// CID returns the revocation's content address.
func (r *Revocation) CID() cid.Cid { return r.cid }

// Bytes returns the revocation's canonical encoding. Do not modify it.
func (r *Revocation) Bytes() []byte { return r.bytes }

type wireRevocation struct {
	V     uint64            `cbor:"v"`
	Iss   []byte            `cbor:"iss"`
	Space distinctions.Link `cbor:"space"`
	Rev   distinctions.Link `cbor:"rev"`
	Sig   []byte            `cbor:"sig,omitempty"`
}

func (r *Revocation) toWire(withSig bool) wireRevocation {
	w := wireRevocation{V: FormatVersion, Iss: []byte(r.Issuer), Space: distinctions.Link{Cid: r.Space}, Rev: distinctions.Link{Cid: r.Token}}
	if withSig {
		w.Sig = r.Sig
	}
	return w
}

func (r *Revocation) checkFormat() error {
	switch {
	case !r.Space.Defined():
		return invalidf("revocation: no space")
	case !r.Token.Defined():
		return invalidf("revocation: no token")
	}
	_, err := issuerKey(r.Issuer)
	return err
}

func (r *Revocation) verifySig() error {
	msg, err := distinctions.Marshal(r.toWire(false))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	return verifySig(r.Issuer, msg, r.Sig)
}

// IssueRevocation signs r with key. r.Issuer may be empty (set from key) or key's.
func IssueRevocation(key crypto.PrivKey, r Revocation) (*Revocation, error) {
	id, err := signer(key, r.Issuer)
	if err != nil {
		return nil, err
	}
	r.Issuer, r.Sig, r.cid, r.bytes = id, nil, cid.Undef, nil
	if err := r.checkFormat(); err != nil {
		return nil, err
	}
	msg, err := distinctions.Marshal(r.toWire(false))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if r.Sig, err = key.Sign(msg); err != nil {
		return nil, fmt.Errorf("revoke: sign: %w", err)
	}
	if r.bytes, err = distinctions.Marshal(r.toWire(true)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	r.cid = distinctions.Sum(r.bytes)
	return &r, nil
}

// DecodeRevocation strictly decodes a revocation and checks its format and signature.
// Whether its issuer may revoke the token is [CheckRevocation]'s question.
func DecodeRevocation(b []byte, l distinctions.Limits) (*Revocation, error) {
	var w wireRevocation
	if err := distinctions.Decode(b, &w, l); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if w.V != FormatVersion {
		return nil, invalidf("revocation: format version %d, want %d", w.V, FormatVersion)
	}
	r := &Revocation{Issuer: peer.ID(w.Iss), Space: w.Space.Cid, Token: w.Rev.Cid, Sig: w.Sig}
	if err := r.checkFormat(); err != nil {
		return nil, err
	}
	if err := r.verifySig(); err != nil {
		return nil, err
	}
	r.bytes = bytes.Clone(b)
	r.cid = distinctions.Sum(r.bytes)
	return r, nil
}
