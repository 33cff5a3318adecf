package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/spf13/cobra"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/caps"
)

func (c *cli) capsGrantCmd() *cobra.Command {
	var (
		can       string
		keys      []string
		expires   string
		notBefore string
	)
	cmd := &cobra.Command{
		Use:   "grant PEER_ID --can read|write|admin",
		Short: "Grant a peer a capability in the space",
		Long: `Issue a capability token in the restricted space of --space: PEER_ID may read,
write (and read) or administer (write, and revoke others' tokens) the keys the
--keys patterns match ("*" by default: the whole space; "notes/*" a namespace
or prefix; or an exact key, "notes/today"), from --not-before (default now)
until --expires (default never). The token is written into the space and
reaches the peer by sync.

The owner grants anything. Anyone else delegates from the widest token it holds
that covers the grant, and is refused if none does ("capability denied
(insufficient-ability)", "(pattern-mismatch)", ...; exit 1). Prints the new
token's ID, which caps revoke takes.`,
		Example: `  korup2p --space notes caps grant 12D3KooWAbc… --can read
  korup2p --space notes caps grant 12D3KooWAbc… --can write --keys 'drafts/*' --keys todo/today --expires 7d
  korup2p --space notes caps grant 12D3KooWAbc… --can admin --not-before 2026-07-01T00:00:00Z --json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			to, err := peer.Decode(args[0])
			if err != nil {
				return usagef("%q is not a peer ID: %v", args[0], err)
			}
			if !cmd.Flags().Changed("can") {
				return &usageError{err: fmt.Errorf("--can is required (read, write or admin)"), hint: cmd.CommandPath()}
			}
			a, err := caps.ParseAbility(can)
			if err != nil {
				return usagef("--can: %v", err)
			}
			if err := validPatterns(keys); err != nil {
				return err
			}
			g := korup2p.Grant{To: to, Ability: a, Keys: keys}
			if notBefore != "" {
				if g.NotBefore, err = parseTime(notBefore); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("expires") {
				d, err := parseExpiry(expires)
				if err != nil {
					return badInput(err)
				}
				g.Expiry = time.Now().Add(d)
				if !g.NotBefore.IsZero() && !g.Expiry.After(g.NotBefore) {
					return usagef("--expires %s ends before --not-before %s", expires, notBefore)
				}
			}
			return c.withBackend(func(ctx context.Context, b backend) error {
				cp, err := b.Grant(ctx, c.space, g)
				if err != nil {
					return capsError("caps grant", c.space, err)
				}
				if c.json {
					return printJSON(c.stdout, capOf(cp))
				}
				fmt.Fprintf(c.stdout, "granted %s on %s to %s%s (%s)\n", cp.Ability, keysText(cp.Keys), cp.Audience,
					untilText(cp.Expiry), cp.ID)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&can, "can", "", "the ability: read, write or admin (required)")
	f.StringArrayVar(&keys, "keys", nil, `a key pattern: "*", "prefix/*" or an exact key "namespace/rest" (repeatable; default "*")`)
	f.StringVar(&expires, "expires", "", "the capability expires after DURATION, e.g. 72h or 30d (default never)")
	f.StringVar(&notBefore, "not-before", "", "the capability starts at TIME (RFC 3339 or Unix milliseconds; default now)")
	return cmd
}

// validPatterns checks --keys patterns (exit 2 for a bad one).
func validPatterns(keys []string) error {
	for _, k := range keys {
		if err := caps.ValidatePattern(k); err != nil {
			return usagef("--keys %q: %v", k, err)
		}
	}
	return nil
}

// keysText is key patterns for a line of text.
func keysText(keys []string) string {
	if len(keys) == 0 {
		return "*"
	}
	return strings.Join(keys, ",")
}

// untilText is " until TIME" for an expiry, "" for none.
func untilText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return " until " + t.UTC().Format(time.RFC3339)
}
