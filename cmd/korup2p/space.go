package main

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/spf13/cobra"
)

// spaceCmd groups the space commands: create, list, and the sharing of a space by
// invite ticket (space_invite.go, space_join.go).
func (c *cli) spaceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "space",
		Short: "Create, list, share and join spaces",
		Long: `A space is one replicated key space: one DAG, one access policy. The space
"default" is created on first start, restricted and owned by this peer. An open
space is readable and writable by any peer that opens the same name, so peers on a
LAN that open "sensors" find and sync with each other.

To share a space, print an invite ticket with 'space invite' and give it to
the other peer, which runs 'space join TICKET'.

Choose the space of the data commands with --space (or KORUP2P_SPACE).`,
		Example: `  korup2p space create sensors --open
  korup2p space list
  korup2p --space sensors put temp/kitchen 21.5
  korup2p --space notes space invite`,
		Args: cobra.ArbitraryArgs,
		RunE: groupRunE,
	}
	cmd.AddCommand(c.spaceCreateCmd(), c.spaceListCmd(), c.spaceInviteCmd(), c.spaceJoinCmd())
	return cmd
}

func (c *cli) spaceCreateCmd() *cobra.Command {
	var open bool
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a space",
		Long: `Create the space NAME: restricted (owned by this peer; the default) or --open
(anyone who knows the name can read and write; its ID depends on the name alone).
Exits 1 if a space of that name exists.`,
		Example: `  korup2p space create notes
  korup2p space create sensors --open --json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validSpaceName(args[0]); err != nil {
				return badInput(err)
			}
			return c.withBackend(func(ctx context.Context, b backend) error {
				info, err := b.CreateSpace(ctx, args[0], open)
				if err != nil {
					return err
				}
				if c.json {
					return printJSON(c.stdout, spaceOf(info))
				}
				kind := "restricted"
				if info.Open {
					kind = "open"
				}
				fmt.Fprintf(c.stdout, "created %s space %s (%s)\n", kind, info.Name, info.ID)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&open, "open", false, "anyone who knows the name may read and write")
	return cmd
}

func (c *cli) spaceListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the spaces this peer holds",
		Example: `  korup2p space list
  korup2p space list --json | jq -r '.[].name'`,
		Args: noArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withBackend(func(ctx context.Context, b backend) error {
				spaces, err := b.Spaces(ctx)
				if err != nil {
					return err
				}
				if c.json {
					out := make([]spaceJSON, 0, len(spaces))
					for _, s := range spaces {
						out = append(out, spaceOf(s))
					}
					return printJSON(c.stdout, out)
				}
				rows := [][]string{{"NAME", "KIND", "ID", "OWNER"}}
				for _, s := range spaces {
					kind, owner := "restricted", peerString(s.Owner)
					if s.Open {
						kind, owner = "open", "-"
					}
					rows = append(rows, []string{s.Name, kind, s.ID.String(), owner})
				}
				table(c.stdout, rows)
				return nil
			})
		},
	}
}

// validSpaceName checks a space name as korup2p.CreateSpace does — 1..64 printable
// characters, no spaces or slashes — so that a bad one exits 2 (invalid input), not 1.
func validSpaceName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("invalid space name: empty")
	case len(name) > 64:
		return fmt.Errorf("invalid space name %q: longer than 64 bytes", name[:64])
	case strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) || r == '/' }) >= 0:
		return fmt.Errorf("invalid space name %q: only printable characters, no spaces or slashes", name)
	}
	return nil
}
