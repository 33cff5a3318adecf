package main

import (
	"context"

	"github.com/spf13/cobra"
)

func (c *cli) lsCmd() *cobra.Command {
	var limit int
	var after string
	cmd := &cobra.Command{
		Use:     "ls [PREFIX]",
		Aliases: []string{"list"},
		Short:   "List keys and their versions, in key order",
		Long: `List the keys that have a value (deleted keys are not listed), in key order, with
the version that last wrote each. PREFIX narrows the list; --after and --limit page
through it.`,
		Example: `  korup2p ls
  korup2p ls users/
  korup2p ls users/ --limit 100 --after users/ada
  korup2p ls --json | jq -r '.[].key'`,
		Args: rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return usagef("--limit %d: want 0 (all) or more", limit)
			}
			prefix := ""
			if len(args) == 1 {
				prefix = args[0]
			}
			return c.withBackend(func(ctx context.Context, b backend) error {
				keys, err := b.List(ctx, c.space, prefix, after, limit)
				if err != nil {
					return err
				}
				if c.json {
					out := make([]listedJSON, 0, len(keys))
					for _, k := range keys {
						out = append(out, listedJSON{Key: k.Key, Version: cidString(k.Version)})
					}
					return printJSON(c.stdout, out)
				}
				var rows [][]string
				for _, k := range keys {
					rows = append(rows, []string{k.Key, k.Version.String()})
				}
				table(c.stdout, rows)
				return nil
			})
		},
	}
	cmd.Flags().IntVarP(&limit, "limit", "n", 0, "list at most N keys (0: all)")
	cmd.Flags().StringVar(&after, "after", "", "list only keys after KEY (to page)")
	return cmd
}
