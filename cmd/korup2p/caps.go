package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/caps"
	"github.com/korup2p/korup2p/cmd/korup2p/internal/httpapi"
)

// capsCmd groups the capability commands of a restricted space (caps_grant.go,
// caps_revoke.go, caps_list.go) and the minting of API tokens (caps_token.go).
func (c *cli) capsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "caps",
		Short: "Grant, revoke and list capabilities; mint API tokens",
		Long: `A restricted space is owned by the peer that created it; anyone else reads and
writes it with a capability: a token signed by the owner (or delegated, never
wider, by a holder) that grants a peer read, write or admin over key patterns
("*", "notes/*" or an exact key such as "notes/today"), optionally from a time
and until one. Tokens and revocations are written into the space and sync like
data; a revocation withdraws a token and everything delegated from it. An open
space has no capabilities: everyone may read and write it.

caps grant, revoke and list act on the space of --space. An invite ticket
('korup2p space invite') carries a capability too.

caps token mints an API token for an app: a bearer token for the daemon's HTTP
API that allows only reading, writing or administering, in some spaces, for a
while. It is not a capability of a space: it limits what a local app may ask of
this peer.

A refusal names the rule that refused, e.g. "capability denied
(insufficient-ability): …", and exits 1.`,
		Example: `  korup2p --space notes caps grant 12D3KooWAbc… --can write --keys 'notes/*' --expires 30d
  korup2p --space notes caps list
  korup2p --space notes caps revoke bafyreib…
  korup2p caps token --read --space notes --expires 24h`,
		Args: cobra.ArbitraryArgs,
		RunE: groupRunE,
	}
	cmd.AddCommand(c.capsGrantCmd(), c.capsRevokeCmd(), c.capsListCmd(), c.capsTokenCmd())
	return cmd
}

// capJSON is one capability in caps grant --json and caps list --json; it has
// the HTTP API's shape.
type capJSON struct {
	ID        string   `json:"id"`
	Issuer    string   `json:"issuer"`
	Audience  string   `json:"audience"`
	Can       string   `json:"can"` // read, write or admin
	Keys      []string `json:"keys"`
	NotBefore string   `json:"not_before,omitempty"` // RFC 3339; absent: since always
	Expires   string   `json:"expires,omitempty"`    // RFC 3339; absent: never
	Proof     string   `json:"proof,omitempty"`      // the parent token; absent for a root token
	Status    string   `json:"status"`               // "valid", or why not (expired, revoked, ...)
	RevokedBy []string `json:"revoked_by"`
}

func capOf(cp korup2p.Capability) capJSON {
	out := capJSON{ID: cidString(cp.ID), Issuer: peerString(cp.Issuer), Audience: peerString(cp.Audience),
		Keys: cp.Keys, NotBefore: rfc3339(cp.NotBefore), Expires: rfc3339(cp.Expiry), Proof: cidString(cp.Proof),
		Status: string(cp.Status), RevokedBy: cidStrings(cp.RevokedBy)}
	if out.Keys == nil {
		out.Keys = []string{}
	}
	if cp.Ability.Valid() {
		out.Can = cp.Ability.String()
	}
	return out
}

// rfc3339 is t in RFC 3339 (UTC, nanoseconds when it has them), "" for zero.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// explainedError gives err a message that names the rule that refused; it
// unwraps to err, so exit codes and errors.Is still see the root error.
type explainedError struct {
	msg string
	err error
}

func (e *explainedError) Error() string { return e.msg }
func (e *explainedError) Unwrap() error { return e.err }

// capsError words a refusal of a caps command as "OP: capability denied (REASON):
// …" or "OP: API token refused (REASON): …", and an open space as such; other
// errors pass unchanged.
func capsError(op, space string, err error) error {
	var d *caps.Denied
	switch {
	case err == nil:
		return nil
	case errors.As(err, &d):
		detail := d.Detail
		if d.Token.Defined() {
			detail = fmt.Sprintf("token %s: %s", d.Token, detail)
		}
		if detail == "" {
			detail = err.Error()
		}
		return &explainedError{msg: fmt.Sprintf("%s: capability denied (%s): %s", op, d.Reason, detail), err: err}
	case errors.Is(err, korup2p.ErrDenied), errors.Is(err, httpapi.ErrForbidden):
		return &explainedError{msg: fmt.Sprintf("%s: %v", op, err), err: err}
	case errors.Is(err, korup2p.ErrOpenSpace):
		return &explainedError{msg: fmt.Sprintf("%s: space %s is open: anyone may read and write it, and capabilities "+
			"apply to restricted spaces only (create one with 'korup2p space create NAME')", op, space), err: err}
	}
	return err
}
