package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/spf13/cobra"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/caps"
)

// inviteJSON is space invite --json.
type inviteJSON struct {
	Ticket  string   `json:"ticket"`
	Space   string   `json:"space"`
	Can     string   `json:"can,omitempty"`     // the ability granted; absent for an open space
	For     string   `json:"for,omitempty"`     // the one peer that may use it; absent: anyone holding it
	Keys    []string `json:"keys,omitempty"`    // key patterns; absent: every key
	Expires string   `json:"expires,omitempty"` // RFC 3339; absent: never
}

func (c *cli) spaceInviteCmd() *cobra.Command {
	var (
		write, admin bool
		forPeer      string
		expires      string
		keys         []string
	)
	cmd := &cobra.Command{
		Use:   "invite",
		Short: "Print an invite ticket for the space",
		Long: `Print an invite ticket for the space of --space: one string ("korup2p1…") that
names the space (its ID and genesis), where to reach this peer, and — for a
restricted space — a capability: read by default, --write or --admin, over the
keys the --keys patterns match (default every key), until --expires (default
never). Give it to the invitee, who runs 'korup2p space join TICKET'. Through a
running daemon the ticket carries the daemon's addresses, so the joiner connects
and syncs at once; made without a daemon, it carries none, and the joiner syncs
once it reaches a peer holding the space.

With --for PEER_ID only that peer can use the ticket. Without it, the ticket
carries a one-time key: anyone holding the ticket can join with what it grants.
Treat such a ticket as a secret, send it over a private channel, give it an
--expires, and revoke it ('korup2p caps list', 'caps revoke') if it leaks.

An open space's ticket grants nothing its name does not: anyone may read and
write an open space.`,
		Example: `  korup2p --space notes space invite
  korup2p --space notes space invite --write --for 12D3KooWAbc… --expires 7d
  korup2p --space notes space invite --keys 'shared/*' --expires 24h --json | jq -r .ticket`,
		Args: noArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if write && admin {
				return &usageError{err: fmt.Errorf("--write and --admin do not go together"), hint: cmd.CommandPath()}
			}
			o := korup2p.InviteOptions{Keys: keys} // Ability 0: read, and an open space takes no options
			switch {
			case write:
				o.Ability = caps.Write
			case admin:
				o.Ability = caps.Admin
			}
			if forPeer != "" {
				p, err := peer.Decode(forPeer)
				if err != nil {
					return usagef("--for %q: not a peer ID: %v", forPeer, err)
				}
				o.For = p
			}
			if err := validPatterns(keys); err != nil {
				return err
			}
			if cmd.Flags().Changed("expires") {
				d, err := parseExpiry(expires)
				if err != nil {
					return badInput(err)
				}
				o.Expiry = time.Now().Add(d)
			}
			return c.withBackend(func(ctx context.Context, b backend) error {
				ticket, err := b.Invite(ctx, c.space, o)
				if err != nil {
					return capsError("space invite", c.space, err)
				}
				can := caps.Read
				if o.Ability != 0 {
					can = o.Ability
				}
				open := c.isOpen(ctx, b)
				if c.json {
					out := inviteJSON{Ticket: ticket, Space: c.space}
					if !open {
						out.Can, out.For, out.Keys, out.Expires = can.String(), peerString(o.For), o.Keys, rfc3339(o.Expiry)
					}
					return printJSON(c.stdout, out)
				}
				fmt.Fprintln(c.stdout, ticket)
				if o.For == "" && !open {
					fmt.Fprintf(c.stderr, "anyone holding this ticket can join %s with %s on %s%s: keep it secret\n",
						c.space, can, keysText(o.Keys), untilText(o.Expiry))
				}
				if b.Mode() == "local" {
					fmt.Fprintln(c.stderr, "no daemon running: the ticket carries no address to reach this peer")
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.BoolVar(&write, "write", false, "the invitee may write (default: read)")
	f.BoolVar(&admin, "admin", false, "the invitee may administer the space (write, and revoke)")
	f.StringVar(&forPeer, "for", "", "only the peer PEER_ID may use the ticket (default: anyone holding it)")
	f.StringVar(&expires, "expires", "", "the capability expires after DURATION, e.g. 72h or 7d (default never)")
	f.StringArrayVar(&keys, "keys", nil, `a key pattern the invitee gets: "*", "prefix/*" or an exact key "namespace/rest" (repeatable; default "*")`)
	return cmd
}

// isOpen reports whether the space of --space is open (false if unknown).
func (c *cli) isOpen(ctx context.Context, b backend) bool {
	spaces, err := b.Spaces(ctx)
	if err != nil {
		return false
	}
	for _, s := range spaces {
		if s.Name == c.space || s.ID.String() == c.space {
			return s.Open
		}
	}
	return false
}

// parseExpiry parses a positive duration: Go's syntax (90m, 72h) or whole days (7d).
func parseExpiry(s string) (time.Duration, error) {
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid --expires %q: want a positive duration such as 72h or 7d", s)
	}
	return d, nil
}
