package korup2p

import (
	"errors"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/caps"
)

// ErrDenied means a capability check refused an action: a write to a restricted space
// this peer may not make, a grant wider than what it holds, a revocation it may not
// issue. The error is (or wraps) a *caps.Denied that names the rule (its Reason).
var ErrDenied = caps.ErrDenied

// ErrOpenSpace means a capability operation was asked of an open space, where
// everyone may read and write and capabilities mean nothing.
var ErrOpenSpace = errors.New("the space is open: capabilities apply to restricted spaces only")

// ErrUnknownCapability means no capability token of that ID is held in the space.
var ErrUnknownCapability = errors.New("unknown capability")

// ErrInvalidGrant means a grant (or an invite's capability) is malformed: no
// audience, an unknown ability, a bad key pattern, an expiry in the past.
var ErrInvalidGrant = errors.New("invalid grant")

// Capability is one capability token held in a restricted space, and what this peer
// makes of it now.
type Capability struct {
	ID        cid.Cid
	Issuer    peer.ID
	Audience  peer.ID
	Ability   caps.Ability
	Keys      []string  // key patterns: "*", "prefix/*" or an exact key
	NotBefore time.Time // zero: since always
	Expiry    time.Time // zero: never expires
	Proof     cid.Cid   // the parent token; cid.Undef for a root, issued by the owner
	// Status is "valid", or why the token authorises nothing now: a caps.Reason
	// ("expired", "revoked", "broken-chain", ...).
	Status caps.Reason
	// RevokedBy are the revocations that withdrew this token (or one it is
	// delegated from), by revocation CID.
	RevokedBy []cid.Cid
}

// StatusValid is Capability.Status of a token that authorises now.
const StatusValid caps.Reason = "valid"

// Grant says what a new capability token grants.
type Grant struct {
	To      peer.ID      // the audience: who may use the token
	Ability caps.Ability // Read, Write or Admin
	// Keys are the key patterns; default {"*"}, the whole space.
	Keys      []string
	NotBefore time.Time // zero: from now
	Expiry    time.Time // zero: never
}

// RevocationInfo is a revocation this peer issued.
type RevocationInfo struct {
	ID     cid.Cid // the revocation's CID
	Token  cid.Cid // the token withdrawn (and everything delegated from it)
	Issuer peer.ID
}

// InviteOptions say what an invite ticket grants (restricted spaces only; an open
// space's ticket grants nothing its name does not).
type InviteOptions struct {
	// Ability granted; default caps.Read.
	Ability caps.Ability
	// For is the peer that may use the ticket. Empty: anyone holding the ticket
	// (the ticket then carries a one-time key the joiner delegates from).
	For peer.ID
	// Keys are the key patterns; default {"*"}.
	Keys []string
	// Expiry of the capability; zero: never.
	Expiry time.Time
}
