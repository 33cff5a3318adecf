package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

// exportJSON is export --json (to a file; to stdout, the file is all there is).
type exportJSON struct {
	Space string `json:"space"`
	File  string `json:"file"`
	Bytes int64  `json:"bytes"`
}

// ioBuffer is the buffer between the CAR streams and files.
const ioBuffer = 1 << 20

func (c *cli) exportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "export FILE",
		Short: "Write the space to a CAR file",
		Long: `Write the space of --space to FILE (- for stdout) as a CAR v1 file, which any
IPLD tool reads: its roots are the space's genesis and heads, its blocks every
node held (with the snapshot of a distilled space). 'korup2p import' reads it
back, here or on another peer.

The file is written beside FILE and renamed into place once complete, readable
by its owner only (0600): it holds the space's data. A progress bar shows on
stderr for long exports when stderr is a terminal (not with --json). --json
prints {space, file, bytes} unless FILE is -, where the CAR file is the output.
Refuses to write to stdout when it is a terminal.`,
		Example: `  korup2p export backup.car
  korup2p --space notes export - | ssh bob korup2p import - --as alice-notes
  korup2p export backup.car --json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := args[0]
			if file == "-" && isTerminal(c.stdout) {
				return usagef("refusing to write a CAR file to a terminal: redirect stdout, or give a FILE")
			}
			return c.withBackend(func(ctx context.Context, b backend) error {
				n, err := c.export(ctx, b, file)
				if err != nil || file == "-" {
					return err
				}
				if c.json {
					return printJSON(c.stdout, exportJSON{Space: c.space, File: file, Bytes: n})
				}
				fmt.Fprintf(c.stdout, "exported %s to %s (%s)\n", c.space, file, bytesText(n))
				return nil
			})
		},
	}
}

// export writes the space to file (- for stdout) and returns the bytes written.
func (c *cli) export(ctx context.Context, b backend, file string) (n int64, err error) {
	var dst io.Writer = c.stdout
	commit := func() error { return nil }
	if file != "-" {
		f, cerr := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".tmp*")
		if cerr != nil {
			return 0, fmt.Errorf("export: %w", cerr)
		}
		defer func() {
			if err != nil {
				f.Close()
				os.Remove(f.Name())
			}
		}()
		dst = f
		commit = func() error {
			if err := f.Sync(); err != nil {
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			return os.Rename(f.Name(), file)
		}
	}
	bw := bufio.NewWriterSize(dst, ioBuffer)
	cw := &countingWriter{w: bw}
	var nodes func(done, total int)
	if b.Mode() == "local" { // the Node counts nodes, with their total
		p := c.newProgress("export "+c.space, -1, false)
		defer p.done()
		nodes = func(done, total int) { p.set(int64(done), int64(total)) }
	} else { // the daemon streams bytes: their count, without a total
		cw.p = c.newProgress("export "+c.space, -1, true)
		defer cw.p.done()
	}
	if err := b.Export(ctx, c.space, cw, nodes); err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return 0, fmt.Errorf("export %s: interrupted", c.space)
		}
		return 0, err
	}
	if err := bw.Flush(); err != nil {
		return 0, fmt.Errorf("export %s: %w", c.space, err)
	}
	if err := commit(); err != nil {
		return 0, fmt.Errorf("export %s: %w", c.space, err)
	}
	return cw.n, nil
}
