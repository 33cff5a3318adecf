package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/spf13/cobra"
)

// inviteJSON is space invite --json.
type inviteJSON struct {
	Ticket string `json:"ticket"`
	Space  string `json:"space"`
}

func (c *cli) spaceInviteCmd() *cobra.Command {
	var (
		write, admin bool
		forPeer      string
		expires      string
	)
	cmd := &cobra.Command{
		Use:   "invite",
		Short: "Print an invite ticket for the space",
		Long: `Print an invite ticket for the space of --space: one string ("korup2p1…") that
names the space (its ID and genesis) and where to reach this peer. Give it to the
invitee, who runs 'korup2p space join TICKET'. Through a running daemon the ticket
carries the daemon's addresses, so the joiner connects and syncs at once; made
without a daemon, it carries none, and the joiner syncs once it reaches a peer
holding the space.

A ticket grants nothing yet. Capabilities (who may read, write or administer a
space, for whom, until when) come with access control; until then a ticket
grants nothing that the space's name does not, and --write, --admin, --for and
--expires are checked but stored nowhere (a warning says so).`,
		Example: `  korup2p --space notes space invite
  korup2p --space notes space invite --json | jq -r .ticket`,
		Args: noArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			var given []string
			if write && admin {
				return &usageError{err: fmt.Errorf("--write and --admin do not go together"), hint: cmd.CommandPath()}
			}
			for _, f := range []string{"write", "admin", "for", "expires"} {
				if cmd.Flags().Changed(f) {
					given = append(given, "--"+f)
				}
			}
			if forPeer != "" {
				if _, err := peer.Decode(forPeer); err != nil {
					return usagef("--for %q: not a peer ID: %v", forPeer, err)
				}
			}
			if cmd.Flags().Changed("expires") {
				if _, err := parseExpiry(expires); err != nil {
					return badInput(err)
				}
			}
			return c.withBackend(func(ctx context.Context, b backend) error {
				ticket, err := b.Invite(ctx, c.space)
				if err != nil {
					return err
				}
				if len(given) > 0 {
					fmt.Fprintf(c.stderr, "korup2p: warning: %s not enforced yet: capabilities come with access control; "+
						"until then this ticket grants nothing the space name does not\n", strings.Join(given, ", "))
				}
				if c.json {
					return printJSON(c.stdout, inviteJSON{Ticket: ticket, Space: c.space})
				}
				fmt.Fprintln(c.stdout, ticket)
				if b.Mode() == "local" {
					fmt.Fprintln(c.stderr, "no daemon running: the ticket carries no address to reach this peer")
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.BoolVar(&write, "write", false, "the invitee may write (not enforced yet)")
	f.BoolVar(&admin, "admin", false, "the invitee may administer the space (not enforced yet)")
	f.StringVar(&forPeer, "for", "", "only the peer PEER_ID may use the ticket (not enforced yet)")
	f.StringVar(&expires, "expires", "", "the ticket expires after DURATION, e.g. 72h or 7d (not enforced yet)")
	return cmd
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
