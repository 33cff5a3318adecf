package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"
)

func (c *cli) capsListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the capabilities held in the space",
		Long: `List the capability tokens held in the restricted space of --space, oldest
first: ID (its end; caps revoke takes it), audience, ability, key patterns,
expiry, and status — "valid", or why the token authorises nothing now (expired,
not-yet-valid, revoked, broken-chain, ...). --json prints them whole, with
issuer, proof (the parent token) and the revocations that withdrew each.

An open space has no capabilities: listing them is an error (exit 1).`,
		Example: `  korup2p --space notes caps list
  korup2p --space notes caps list --json | jq -r '.[] | select(.status == "valid") | .audience'`,
		Args: noArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withBackend(func(ctx context.Context, b backend) error {
				cs, err := b.Capabilities(ctx, c.space)
				if err != nil {
					return capsError("caps list", c.space, err)
				}
				if c.json {
					out := make([]capJSON, 0, len(cs))
					for _, cp := range cs {
						out = append(out, capOf(cp))
					}
					return printJSON(c.stdout, out)
				}
				rows := [][]string{{"ID", "AUDIENCE", "CAN", "KEYS", "EXPIRES", "STATUS"}}
				for _, cp := range cs {
					exp := "never"
					if !cp.Expiry.IsZero() {
						exp = cp.Expiry.UTC().Format(time.RFC3339)
					}
					can := "?"
					if cp.Ability.Valid() {
						can = cp.Ability.String()
					}
					rows = append(rows, []string{shortCID(cidString(cp.ID)), shortPeer(peerString(cp.Audience)), can, keysText(cp.Keys), exp,
						string(cp.Status)})
				}
				table(c.stdout, rows)
				return nil
			})
		},
	}
}
