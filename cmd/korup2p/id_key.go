package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/internal/atomicfile"
)

// userKeyJSON is id export/import --json.
type userKeyJSON struct {
	UserID  string `json:"user_id"`
	Created bool   `json:"created,omitempty"`
	Key     string `json:"key,omitempty"` // export to stdout only
	File    string `json:"file,omitempty"`
}

const userKeyNote = "the daemon, if one runs on this data directory, uses the user key from its next start"

func (c *cli) idExportCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Print the user key, to use one identity on several devices",
		Long: `Print the user key of the data directory ("korup2pkey1…"), creating it first if
there is none. Import it on your other devices with 'korup2p id import': restricted
spaces a device creates are then owned by the user, not by the device, and every
device holding the key may read, write and administer them — each writing as
itself, with a capability the user key grants it (revoke that capability to cut
off a lost device).

The key is a secret: whoever holds it acts as you. --out writes it to a file
readable by you alone instead of printing it.`,
		Example: `  korup2p id export --out user.key
  korup2p id export | ssh laptop korup2p id import -`,
		Args: noArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			text, user, created, err := korup2p.ExportUserKey(c.dataDir)
			if err != nil {
				return err
			}
			if out != "" {
				if err := atomicfile.Write(out, []byte(text+"\n"), 0o600); err != nil {
					return err
				}
			}
			if created {
				fmt.Fprintf(c.stderr, "created user key %s; %s\n", user, userKeyNote)
			}
			switch {
			case c.json:
				j := userKeyJSON{UserID: user.String(), Created: created, File: out}
				if out == "" {
					j.Key = text
				}
				return printJSON(c.stdout, j)
			case out != "":
				fmt.Fprintf(c.stdout, "user %s: key written to %s\n", user, out)
			default:
				fmt.Fprintln(c.stdout, text)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "write the key to FILE (mode 0600) instead of printing it")
	return cmd
}

func (c *cli) idImportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE|-",
		Short: "Take the user key another device exported",
		Long: `Store in the data directory the user key that 'korup2p id export' printed on
another device (from FILE, or standard input with -). It refuses to replace a
different user key; importing the same key again changes nothing.`,
		Example: `  korup2p id import user.key
  korup2p id import - < user.key`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var r io.Reader = c.stdin
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			b, err := io.ReadAll(io.LimitReader(r, 64<<10))
			if err != nil {
				return err
			}
			user, err := korup2p.ImportUserKey(c.dataDir, strings.TrimSpace(string(b)))
			if err != nil {
				return err
			}
			fmt.Fprintln(c.stderr, userKeyNote)
			if c.json {
				return printJSON(c.stdout, userKeyJSON{UserID: user.String()})
			}
			fmt.Fprintf(c.stdout, "user %s\n", user)
			return nil
		},
	}
}
