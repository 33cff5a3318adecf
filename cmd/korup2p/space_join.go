package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/korup2p/korup2p"
)

// ticketPrefix starts every invite ticket; an argument without it is a space name.
const ticketPrefix = "korup2p1"

func (c *cli) spaceJoinCmd() *cobra.Command {
	var as string
	cmd := &cobra.Command{
		Use:   "join TICKET|NAME",
		Short: "Join a space from an invite ticket, or an open space by name",
		Long: `Join the space an invite ticket ('korup2p space invite') names, under the
ticket's name or --as NAME, or the open space called NAME. Through a running
daemon, the daemon connects to the inviter's addresses in the ticket and syncs
the space; without one, the space is added to the data directory and syncs once
a daemon runs and reaches a peer holding it.

Joining a space already held prints it. Exits 2 for an invalid ticket or name,
and 1 if the name is taken by another space (choose another with --as).`,
		Example: `  korup2p space join korup2p1… --as team-notes
  korup2p space join sensors
  korup2p space join "$(ssh alice korup2p space invite)" --json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			arg := strings.TrimSpace(args[0])
			if !strings.HasPrefix(arg, ticketPrefix) {
				if err := validSpaceName(arg); err != nil {
					return badInput(fmt.Errorf("%q is neither an invite ticket (korup2p1…) nor a space name: %w", arg, err))
				}
			}
			if as != "" {
				if err := validSpaceName(as); err != nil {
					return badInput(fmt.Errorf("--as: %w", err))
				}
			}
			return c.withBackend(func(ctx context.Context, b backend) error {
				info, err := b.Join(ctx, arg, as)
				if errors.Is(err, korup2p.ErrSpaceExists) {
					return suggestAs(err)
				}
				if err != nil {
					return err
				}
				if c.json {
					return printJSON(c.stdout, spaceOf(info))
				}
				fmt.Fprintf(c.stdout, "joined %s space %s (%s)\n", spaceKind(info), info.Name, info.ID)
				if b.Mode() == "local" {
					fmt.Fprintln(c.stderr, "no daemon running: the space syncs once 'korup2p daemon' runs and reaches a peer holding it")
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "the local name of the space (default: the ticket's)")
	return cmd
}

// spaceKind is "open" or "restricted".
func spaceKind(info korup2p.SpaceInfo) string {
	if info.Open {
		return "open"
	}
	return "restricted"
}

// suggestAs completes an ErrSpaceExists error of join or import with the way out.
func suggestAs(err error) error {
	if msg := err.Error(); strings.Contains(msg, "--as") || strings.Contains(msg, "held as") {
		return err // the root's message says it, or another name would not help
	}
	return fmt.Errorf("%w (choose another local name with --as NAME)", err)
}
