package main

import (
	"context"
	"fmt"

	"github.com/ipfs/go-cid"
	"github.com/spf13/cobra"
)

func (c *cli) diffCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "diff KEY [FROM [TO]]",
		Short: "Compare two versions of a key",
		Long: `Compare KEY's value at version FROM with its value at version TO, field by field.
Without TO, TO is the current version; without FROM either, FROM is the version
before it (before the first version, everything is added). Versions are CIDs as
history prints them.`,
		Example: `  korup2p diff users/ada                  # what the last write changed
  korup2p diff users/ada bafyrei…a        # from that version to now
  korup2p diff users/ada bafyrei…a bafyrei…b --json`,
		Args: rangeArgs(1, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			key := args[0]
			vs, err := parseCIDs(args[1:])
			if err != nil {
				return err
			}
			return c.withBackend(func(ctx context.Context, b backend) error {
				from, to := cid.Undef, cid.Undef
				if len(vs) == 2 {
					from, to = vs[0], vs[1]
				} else {
					hist, err := b.History(ctx, c.space, key, 2)
					if err != nil {
						return err
					}
					to = hist[len(hist)-1].Version
					if len(vs) == 1 {
						from = vs[0]
					} else if len(hist) == 2 {
						from = hist[0].Version
					}
				}
				changes, err := b.Diff(ctx, c.space, key, from, to)
				if err != nil {
					return err
				}
				if c.json {
					out := make([]changeJSON, 0, len(changes))
					for _, ch := range changes {
						p := ch.Path
						if p == nil {
							p = []string{}
						}
						out = append(out, changeJSON{Path: p, Kind: ch.Kind, Old: ch.Old, New: ch.New})
					}
					return printJSON(c.stdout, out)
				}
				if len(changes) == 0 {
					fmt.Fprintln(c.stderr, "no changes")
				}
				for _, ch := range changes {
					switch ch.Kind {
					case "added":
						fmt.Fprintf(c.stdout, "+ %s: %s\n", pathText(ch.Path), valueText(ch.New))
					case "removed":
						fmt.Fprintf(c.stdout, "- %s: %s\n", pathText(ch.Path), valueText(ch.Old))
					default:
						fmt.Fprintf(c.stdout, "~ %s: %s -> %s\n", pathText(ch.Path), valueText(ch.Old), valueText(ch.New))
					}
				}
				return nil
			})
		},
	}
}
