package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/multiformats/go-multiaddr"
	"github.com/spf13/cobra"

	"github.com/korup2p/korup2p"
)

func (c *cli) connectCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "connect MULTIADDR",
		Short: "Connect the daemon to a peer and keep it connected",
		Long: `Connect the running daemon to the peer at MULTIADDR, a full address with
/p2p/<peer-id> as 'korup2p id' prints it. The daemon keeps the peer connected,
redialing when it drops, and syncs every space the two share.`,
		Example: `  korup2p connect /ip4/192.168.1.20/tcp/4001/p2p/12D3KooWRm…
  korup2p connect "$(ssh other-host korup2p id --json | jq -r '.addrs[0]')"`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ma, err := multiaddr.NewMultiaddr(args[0])
			if err != nil {
				return usagef("invalid multiaddr %q: %v", args[0], err)
			}
			if _, err := ma.ValueForProtocol(multiaddr.P_P2P); err != nil {
				return usagef("multiaddr %q has no /p2p/<peer-id> part", args[0])
			}
			return c.withBackend(func(ctx context.Context, b backend) error {
				p, err := b.Connect(ctx, args[0])
				if errors.Is(err, korup2p.ErrNoNetwork) {
					return errors.New("connect needs a running daemon: start one with 'korup2p daemon'")
				}
				if err != nil {
					return err
				}
				if c.json {
					return printJSON(c.stdout, struct {
						PeerID string `json:"peer_id"`
					}{p})
				}
				fmt.Fprintf(c.stdout, "connected to %s\n", p)
				return nil
			})
		},
	}
}
