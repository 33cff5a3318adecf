package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/korup2p/korup2p"
)

func (c *cli) idCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "id",
		Short: "Show this peer's ID and the addresses other peers can connect to",
		Long: `Show this peer's ID (the author of its writes) and, with a daemon running, the
full addresses (with /p2p/<id>) to give to another peer's 'korup2p connect' or
--bootstrap. With a user key in the data directory (see 'id export'), its user ID
too.`,
		Example: `  korup2p id
  korup2p id --json | jq -r '.addrs[0]'`,
		Args: noArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withBackend(func(ctx context.Context, b backend) error {
				id, addrs, err := b.ID(ctx)
				if err != nil {
					return err
				}
				user, _ := korup2p.ReadUserID(c.dataDir)
				if c.json {
					if addrs == nil {
						addrs = []string{}
					}
					j := idJSON{PeerID: id, Addrs: addrs}
					if user != "" {
						j.UserID = user.String()
					}
					return printJSON(c.stdout, j)
				}
				fmt.Fprintln(c.stdout, id)
				if user != "" {
					fmt.Fprintln(c.stdout, "user", user)
				}
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
	cmd.AddCommand(c.idExportCmd(), c.idImportCmd())
	return cmd
}
