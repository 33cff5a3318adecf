package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/korup2p/korup2p"
)

func (c *cli) historyCmd() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:     "history KEY",
		Aliases: []string{"log"},
		Short:   "List a key's versions, oldest first",
		Long: `List every version of KEY, oldest first: its CID, time, kind (set, patch or del),
author and the value as of that version. A version's time is accepted by
'get --at'. --limit keeps the newest N.`,
		Example: `  korup2p history users/ada
  korup2p history users/ada --limit 5
  korup2p history users/ada --json | jq -r '.[0].time'`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return usagef("--limit %d: want 0 (all) or more", limit)
			}
			return c.withBackend(func(ctx context.Context, b backend) error {
				hist, err := b.History(ctx, c.space, args[0], limit)
				if err != nil {
					return err
				}
				if c.json {
					out := make([]versionJSON, 0, len(hist))
					for _, v := range hist {
						out = append(out, versionOf(v))
					}
					return printJSON(c.stdout, out)
				}
				var rows [][]string
				for _, v := range hist {
					kind := string(v.Kind)
					if v.Distilled {
						kind += " (distilled)"
					}
					rows = append(rows, []string{v.Version.String(), timeString(v.Clock), kind, shortPeer(peerString(v.Author)),
						valueText(v.Value)})
				}
				table(c.stdout, rows)
				return nil
			})
		},
	}
	cmd.Flags().IntVarP(&limit, "limit", "n", 0, "show only the newest N versions (0: all)")
	return cmd
}

func versionOf(v korup2p.Version) versionJSON {
	return versionJSON{Version: cidString(v.Version), Clock: clockOf(v.Clock), Time: timeString(v.Clock),
		Author: peerString(v.Author), Kind: string(v.Kind), Value: v.Value, Distilled: v.Distilled}
}
