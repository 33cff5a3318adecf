package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/spf13/cobra"
)

func (c *cli) getCmd() *cobra.Command {
	var at string
	var heads []string
	var conflicts bool
	cmd := &cobra.Command{
		Use:   "get KEY",
		Short: "Print a key's value as JSON",
		Long: `Print KEY's current value as JSON, or its value in the past: --at a time (RFC 3339,
as history prints it, or Unix milliseconds) or --heads, the space heads that name a
state (as 'dag heads' prints them).

A key written concurrently on several peers reads as their three-way merge; fields
they changed differently are conflicts, won by the latest write. --conflicts lists
them with the losing values. Exits 1 if the key has no value.`,
		Example: `  korup2p get users/ada
  korup2p get users/ada --at 2026-01-02T15:04:05Z
  korup2p get users/ada --at 1767366245000
  korup2p get users/ada --heads "$(korup2p dag heads | paste -sd,)"
  korup2p get users/ada --conflicts
  korup2p get users/ada --json | jq .value.name`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var t time.Time
			if at != "" {
				var err error
				if t, err = parseTime(at); err != nil {
					return err
				}
			}
			hs, err := parseCIDs(heads)
			if err != nil {
				return err
			}
			if !t.IsZero() && len(hs) > 0 {
				return usagef("--at and --heads do not go together")
			}
			return c.withBackend(func(ctx context.Context, b backend) error {
				e, err := b.Get(ctx, c.space, args[0], t, hs)
				if err != nil {
					return err
				}
				if c.json {
					return printJSON(c.stdout, entryOf(e))
				}
				fmt.Fprintln(c.stdout, valueText(e.Value))
				if conflicts {
					for _, cf := range e.Conflicts {
						var losers []string
						for _, l := range cf.Losers {
							losers = append(losers, fmt.Sprintf("%s %s", l.Version, valueText(l.Value)))
						}
						fmt.Fprintf(c.stdout, "conflict %s: won by %s %s; lost: %s\n", pathText(cf.Path), cf.Winner,
							valueText(cf.Value), strings.Join(losers, "; "))
					}
				} else if len(e.Conflicts) > 0 {
					fmt.Fprintf(c.stderr, "note: %d conflicting field(s) from concurrent writes; see --conflicts\n", len(e.Conflicts))
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "read the value as of TIME (RFC 3339 or Unix milliseconds)")
	cmd.Flags().StringSliceVar(&heads, "heads", nil, "read the value as of the space heads CID[,CID]")
	cmd.Flags().BoolVar(&conflicts, "conflicts", false, "list conflicting fields and their losing values")
	return cmd
}

// parseTime reads RFC 3339 (with or without fractional seconds) or Unix milliseconds.
func parseTime(s string) (time.Time, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, usagef("invalid time %q: want RFC 3339 (2006-01-02T15:04:05Z) or Unix milliseconds", s)
	}
	return t, nil
}

// parseCIDs parses CIDs given as flags or arguments (exit code 2 if one is not a CID).
func parseCIDs(ss []string) ([]cid.Cid, error) {
	var out []cid.Cid
	for _, s := range ss {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		c, err := parseCID(s)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func parseCID(s string) (cid.Cid, error) {
	c, err := cid.Decode(s)
	if err != nil {
		return cid.Undef, usagef("invalid CID %q: %v", s, err)
	}
	return c, nil
}
