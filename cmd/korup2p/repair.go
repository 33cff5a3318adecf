package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/charmbracelet/log"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/korup2p/korup2p"
)

func (c *cli) repairCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "repair",
		Short: "Rebuild the storage indexes from the write-ahead log",
		Long: `Rebuild the data directory's indexes from the write-ahead log, the source of
truth, with a progress bar. Use it if the index is damaged. It needs the data
directory to itself: stop the daemon first.`,
		Example: `  korup2p repair
  korup2p repair --data /var/lib/korup2p --json`,
		Args: noArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if addr, ok := c.runningDaemon(); ok {
				return fmt.Errorf("a daemon is running on %s (API %s): stop it first, then run repair", c.dataDir, addr)
			}
			n, err := korup2p.Open(c.dataDir, &korup2p.Options{Logger: c.logger(log.WarnLevel)})
			if err != nil {
				return err
			}
			var bar *progressbar.ProgressBar
			var total int64
			start := time.Now()
			err = n.Repair(c.ctx, func(done, all int64) {
				total = all
				if c.json {
					return
				}
				if bar == nil {
					bar = progressbar.NewOptions64(all,
						progressbar.OptionSetWriter(c.stderr),
						progressbar.OptionSetDescription("repair"),
						progressbar.OptionShowBytes(true),
						progressbar.OptionSetWidth(30),
						progressbar.OptionThrottle(100*time.Millisecond),
						progressbar.OptionSetVisibility(isTerminal(c.stderr)),
						progressbar.OptionOnCompletion(func() { fmt.Fprintln(c.stderr) }),
					)
				}
				bar.Set64(done)
			})
			if bar != nil && err == nil {
				bar.Finish()
			}
			ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
			defer cancel()
			err = errors.Join(err, n.Close(ctx))
			if err != nil {
				return err
			}
			if c.json {
				return printJSON(c.stdout, struct {
					Repaired bool   `json:"repaired"`
					Bytes    int64  `json:"bytes"`
					Took     string `json:"took"`
				}{true, total, time.Since(start).Round(time.Millisecond).String()})
			}
			fmt.Fprintf(c.stdout, "repaired %s: indexes rebuilt from %s of log in %s\n", c.dataDir, bytesText(total),
				time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
}

// isTerminal reports whether f is a terminal: a character device other than the
// null device. (Close enough without a terminal library.)
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	st, err := file.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(st, null)
}
