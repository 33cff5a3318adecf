package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/korup2p/korup2p"
)

func (c *cli) importCmd() *cobra.Command {
	var as string
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Add the space in a CAR file",
		Long: `Read FILE (- for stdin), a CAR file that 'korup2p export' wrote, and add the
space it holds under the name it carries or --as NAME. Every node is checked as
if a peer had sent it. Importing into the same space under the same name adds
what it lacks; a name taken by another space exits 1 (choose another with --as).
Through a running daemon, the file is streamed to it.

A progress bar shows on stderr for long imports when stderr is a terminal (not
with --json). Prints the space: --json as space list --json does.`,
		Example: `  korup2p import backup.car
  korup2p import backup.car --as restored --json
  ssh alice korup2p export - | korup2p import - --as alice-default`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := args[0]
			if as != "" {
				if err := validSpaceName(as); err != nil {
					return badInput(fmt.Errorf("--as: %w", err))
				}
			}
			var src io.Reader = c.stdin
			size := int64(-1)
			if file == "-" {
				if isTerminal(c.stdin) {
					return usagef("no CAR file on stdin (a terminal): pipe one in, or give a FILE")
				}
			} else {
				f, err := os.Open(file)
				if err != nil {
					return fmt.Errorf("import: %w", err)
				}
				defer f.Close()
				if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
					size = fi.Size()
				}
				src = f
			}
			return c.withBackend(func(ctx context.Context, b backend) error {
				cr := &countingReader{r: src, p: c.newProgress("import", size, true)}
				info, err := b.Import(ctx, bufio.NewReaderSize(cr, ioBuffer), as)
				cr.p.done()
				switch {
				case errors.Is(err, korup2p.ErrSpaceExists):
					return suggestAs(err)
				case err != nil && errors.Is(err, context.Canceled) && ctx.Err() != nil:
					return fmt.Errorf("import: interrupted")
				case err != nil:
					return err
				}
				if c.json {
					return printJSON(c.stdout, spaceOf(info))
				}
				fmt.Fprintf(c.stdout, "imported %s space %s (%s)\n", spaceKind(info), info.Name, info.ID)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "the local name of the space (default: the one in the file)")
	return cmd
}
