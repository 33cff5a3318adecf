package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/ipfs/go-cid"
	"github.com/spf13/cobra"

	"github.com/korup2p/korup2p"
)

// minIDSuffix is the shortest end of a capability ID caps revoke looks up.
const minIDSuffix = 8

// revocationJSON is caps revoke --json.
type revocationJSON struct {
	ID     string `json:"id"`    // the revocation's CID
	Token  string `json:"token"` // the capability withdrawn
	Issuer string `json:"issuer"`
}

func (c *cli) capsRevokeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke CAP_ID",
		Short: "Revoke a capability, and everything delegated from it",
		Long: `Withdraw the capability token CAP_ID in the space of --space, and every token
delegated from it, by writing a signed revocation into the space. CAP_ID is the
ID caps grant printed, or its end as caps list shows it (…x7k2q9ab), if one
token alone ends so.

Its issuer, the space owner and admins over its keys may revoke a token; anyone
else is refused ("capability denied (…)", exit 1). An ID the space does not
hold exits 1 too.`,
		Example: `  korup2p --space notes caps revoke bafyreigh2akiscaildc…
  korup2p --space notes caps revoke …x7k2q9ab
  korup2p --space notes caps revoke bafyreigh2akiscaildc… --json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			arg := strings.TrimSpace(args[0])
			id, err := cid.Decode(arg)
			suffix := strings.TrimPrefix(arg, "…")
			if err != nil && (len(suffix) < minIDSuffix || strings.Trim(suffix, "abcdefghijklmnopqrstuvwxyz234567") != "") {
				return usagef("%q is not a capability ID (a CID as caps grant or caps list --json print it): %v", arg, err)
			}
			return c.withBackend(func(ctx context.Context, b backend) error {
				if !id.Defined() {
					if id, err = c.capBySuffix(ctx, b, suffix); err != nil {
						return err
					}
				}
				info, err := b.Revoke(ctx, c.space, id)
				if err != nil {
					return capsError("caps revoke", c.space, err)
				}
				if c.json {
					return printJSON(c.stdout, revocationJSON{ID: cidString(info.ID), Token: cidString(info.Token),
						Issuer: peerString(info.Issuer)})
				}
				fmt.Fprintf(c.stdout, "revoked %s (revocation %s)\n", info.Token, info.ID)
				return nil
			})
		},
	}
}

// capBySuffix finds the one capability of the space whose ID ends with suffix.
func (c *cli) capBySuffix(ctx context.Context, b backend, suffix string) (cid.Cid, error) {
	cs, err := b.Capabilities(ctx, c.space)
	if err != nil {
		return cid.Undef, capsError("caps revoke", c.space, err)
	}
	var found []cid.Cid
	for _, cp := range cs {
		if strings.HasSuffix(cp.ID.String(), suffix) {
			found = append(found, cp.ID)
		}
	}
	switch len(found) {
	case 0:
		return cid.Undef, fmt.Errorf("caps revoke: %w: no capability of space %s ends with %q", korup2p.ErrUnknownCapability, c.space, suffix)
	case 1:
		return found[0], nil
	}
	return cid.Undef, usagef("caps revoke: %d capabilities end with %q: give the whole ID (caps list --json)", len(found), suffix)
}
