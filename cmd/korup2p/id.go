package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

func (c *cli) idCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "id",
		Short: "Show this peer's ID and the addresses other peers can connect to",
		Long: `Show this peer's ID (the author of its writes) and, with a daemon running, the
full addresses (with /p2p/<id>) to give to another peer's 'korup2p connect' or
--bootstrap.`,
		Example: `  korup2p id
  korup2p id --json | jq -r '.addrs[0]'`,
		Args: noArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withBackend(func(ctx context.Context, b backend) error {
				id, addrs, err := b.ID(ctx)
				if err != nil {
					return err
				}
				if c.json {
					if addrs == nil {
						addrs = []string{}
					}
					return printJSON(c.stdout, idJSON{PeerID: id, Addrs: addrs})
				}
				fmt.Fprintln(c.stdout, id)
				for _, a := range addrs {
					fmt.Fprintln(c.stdout, a)
				}
				if len(addrs) == 0 && b.Mode() == "local" {
					fmt.Fprintln(c.stderr, "no daemon running: no listen addresses (start one with 'korup2p daemon')")
				}
				return nil
			})
		},
	}
}
