package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/korup2p/korup2p"
)

func (c *cli) watchCmd() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "watch [PREFIX]",
		Short: "Print changes to keys as they happen, one per line",
		Long: `Print every change (insert, update, delete) to the keys that start with PREFIX, one
per line, in commit order, until interrupted (or after --limit changes). With a
daemon running, changes arriving from peers show too. Without one, watch opens the
store itself and holds it: only this process can write to it meanwhile.

If watch falls behind, an overflow line says how many changes it missed.`,
		Example: `  korup2p watch users/
  korup2p watch --json | jq -c 'select(.type == "delete")'
  korup2p watch orders/ --limit 1   # wait for the next change`,
		Args: rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return usagef("--limit %d: want 0 (no limit) or more", limit)
			}
			prefix := ""
			if len(args) == 1 {
				prefix = args[0]
			}
			return c.withBackend(func(ctx context.Context, b backend) error {
				ctx, cancel := context.WithCancel(ctx)
				defer cancel()
				events, err := b.Watch(ctx, c.space, prefix)
				if err != nil {
					return err
				}
				// On stderr, so that it is a readiness signal even with --json.
				fmt.Fprintf(c.stderr, "watching %s/%s* (%s); interrupt to stop\n", c.space, prefix, b.Mode())
				seen := 0
				for {
					select {
					case <-ctx.Done():
						return nil // interrupted: a clean end
					case ev, ok := <-events:
						if !ok {
							if ctx.Err() != nil {
								return nil
							}
							if b.Mode() == "daemon" {
								return errors.New("watch ended: the daemon stopped or closed the stream")
							}
							return errors.New("watch ended: the store closed")
						}
						if err := c.printEvent(ev); err != nil {
							return err
						}
						if ev.Type == korup2p.EventOverflow {
							continue
						}
						if seen++; limit > 0 && seen >= limit {
							return nil
						}
					}
				}
			})
		},
	}
	cmd.Flags().IntVarP(&limit, "limit", "n", 0, "exit after N changes (0: run until interrupted)")
	return cmd
}

func (c *cli) printEvent(ev korup2p.Event) error {
	if c.json {
		return printJSON(c.stdout, eventJSON{Type: string(ev.Type), Key: ev.Key, Version: cidString(ev.Version),
			Value: ev.Value, Missed: ev.Missed})
	}
	var err error
	switch ev.Type {
	case korup2p.EventOverflow:
		_, err = fmt.Fprintf(c.stdout, "overflow: missed %d change(s); re-read what matters\n", ev.Missed)
	case korup2p.EventDelete:
		_, err = fmt.Fprintf(c.stdout, "delete %s %s\n", ev.Key, ev.Version)
	default:
		_, err = fmt.Fprintf(c.stdout, "%s %s %s %s\n", ev.Type, ev.Key, ev.Version, valueText(ev.Value))
	}
	return err
}
