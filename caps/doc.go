// Package caps owns korup2p's access control for restricted spaces: capability tokens,
// their delegation chains, revocations, and the verdict on one access.
//
// It is pure (layer 0): no files, sockets, goroutines or wall clock. Callers pass the
// time (Unix nanoseconds), look tokens up for it (CheckInput.Resolve) and say which
// tokens are revoked (CheckInput.Revoked); they store and sync tokens and
// revocations as they store and sync nodes.
//
// # Tokens
//
// A [Token] is a distinction (canonical DAG-CBOR, CIDv1 dag-cbor sha2-256; see package
// distinctions) with short field names:
//
//	v      format version (1)
//	iss    issuer's peer ID (Ed25519); signs the token
//	aud    audience's peer ID: who may use it
//	space  space ID (link)
//	can    "read" | "write" | "admin"
//	keys   key patterns, sorted and unique: "*", "prefix/*" or an exact key
//	nbf    not before, Unix ns (omitted: since always)
//	exp    expiry, Unix ns, exclusive (omitted: never)
//	prf    the parent token (link); omitted in a root token, issued by the owner
//	sig    Ed25519 signature over the token encoded without sig
//
// A [Revocation] ({v, iss, space, rev, sig}) withdraws a token and everything
// delegated from it. The two formats share no set of required fields, and unknown
// fields are rejected, so neither decodes as the other (nor as a dag node).
//
// [Issue] signs a token; [Decode] decodes one strictly (limits, unknown fields,
// non-canonical bytes, format, signature). Tokens and revocations are immutable.
//
// # Delegation and verdicts
//
// The owner of a restricted space needs no token. Anyone else presents a chain, leaf
// first: the leaf is granted to the actor, each token is issued by its parent's
// audience, the root is issued by the owner, at most [MaxDepth] tokens. Any holder may
// delegate, but only narrower: ability ≤ the parent's (Read < Write < Admin), patterns
// covered by the parent's ([Covers]), validity window within the parent's. Admin adds
// the right to revoke tokens for keys it covers.
//
// [Check] returns nil or a *[Denied] naming one [Reason] and the token at fault
// (errors.Is(err, [ErrDenied])). Checks run in a fixed order, so a chain with one fault
// gets that fault's reason: too-deep; per token, the signature; per delegation, proof
// link (broken-chain), space (wrong-space), issuer = parent's audience
// (wrong-audience), ability (insufficient-ability), patterns (pattern-mismatch),
// window (not-yet-valid / expired); then against the question: space, root by owner
// (not-owner), actor (wrong-audience), revocation and time (root first), keys and
// scope (pattern-mismatch), ability.
//
// [CheckRevocation] decides whether a revocation counts: by the revoked token's issuer,
// by the owner, or by a holder of Admin over the revoked token's patterns. Callers
// keep the revocations that count and answer CheckInput.Revoked from them; revoking a
// token denies every chain through it.
//
// [Cache] keeps verified chains by leaf CID so that a repeated check costs map look-ups
// instead of Ed25519 verifications; revocation, time, keys, actor and space are still
// decided on every call.
//
// Usage:
//
//	tok, err := caps.Issue(ownerKey, caps.Token{Audience: bob, Space: spaceID,
//		Ability: caps.Write, Keys: []string{"notes/*"}, Expiry: now + int64(24*time.Hour)})
//	// ... send tok.Bytes(); bob decodes it with caps.Decode(b, distinctions.DefaultLimits)
//	err = cache.Check(caps.CheckInput{Space: spaceID, Owner: owner, Actor: bob,
//		Need: caps.Write, Keys: []string{"notes/today"}, Now: now,
//		Chain: []*caps.Token{tok}, Revoked: isRevoked})
//	if errors.Is(err, caps.ErrDenied) { ... }
package caps
