package main

import (
	"context"

	"github.com/spf13/cobra"
)

func (c *cli) delCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "del KEY",
		Aliases: []string{"delete", "rm"},
		Short:   "Delete a key",
		Long: `Delete KEY: record a delete, which replicates like any write. The key's history
stays readable (history, get --at). Deleting an absent key still records a delete.

Prints the new version.`,
		Example: `  korup2p del users/ada
  korup2p del users/ada --json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withBackend(func(ctx context.Context, b backend) error {
				res, err := b.Delete(ctx, c.space, args[0])
				if err != nil {
					return err
				}
				return c.printWrite(args[0], res)
			})
		},
	}
}
