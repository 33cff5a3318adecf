package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/caps"
	"github.com/korup2p/korup2p/cmd/korup2p/internal/httpapi"
)

// Exit codes: scripts rely on them.
const (
	exitOK     = 0 // success
	exitFailed = 1 // not found, or an operation that failed
	exitUsage  = 2 // bad usage or invalid input
)

// The daemon's API, as the other commands find it.
const (
	defaultAPI  = "127.0.0.1:4777"    // the daemon's default --api-listen
	apiFile     = "api"               // DATA/api: the address the daemon's API listens on
	tokenFile   = "api.token"         // DATA/api.token: the API's bearer token (0600)
	revokedFile = "api.revoked"       // DATA/api.revoked: the IDs of revoked API tokens, one a line (0600)
	apiTokenEnv = "KORUP2P_API_TOKEN" // overrides DATA/api.token (for --api elsewhere)
)

// cli is one run of the command: its streams and global flags.
type cli struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	dataDir string // --data
	space   string // --space
	api     string // --api
	json    bool   // --json
}

// Run runs the korup2p command with args (without the program name) and returns its
// exit code. ctx ends long-running commands (daemon, watch) cleanly.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	root := c.rootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "korup2p: %s\n", oneLine(errorText(err)))
	return exitCode(err)
}

// errorText is err's message, naming the rule of a capability refusal if the
// message does not already.
func errorText(err error) string {
	msg := err.Error()
	var d *caps.Denied
	if errors.As(err, &d) && d.Reason != "" && !strings.Contains(msg, string(d.Reason)) {
		msg += fmt.Sprintf(" (capability denied: %s)", d.Reason)
	}
	return msg
}

// usageError is bad usage or invalid input: exit code 2.
type usageError struct {
	err  error
	hint string // the command whose --help helps, or ""
}

func (e *usageError) Error() string {
	if e.hint != "" {
		return fmt.Sprintf("%v (see '%s --help')", e.err, e.hint)
	}
	return e.err.Error()
}

func (e *usageError) Unwrap() error { return e.err }

// usagef returns a usage error (exit code 2).
func usagef(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// badInput marks err as invalid input (exit code 2).
func badInput(err error) error {
	if err == nil {
		return nil
	}
	return &usageError{err: err}
}

// exitCode maps an error to the documented exit codes.
func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue),
		errors.Is(err, korup2p.ErrInvalidKey),
		errors.Is(err, korup2p.ErrInvalidValue),
		errors.Is(err, korup2p.ErrValueTooLarge),
		errors.Is(err, korup2p.ErrInvalidQuery),
		errors.Is(err, korup2p.ErrInvalidVersion),
		errors.Is(err, korup2p.ErrInvalidTicket),
		errors.Is(err, korup2p.ErrInvalidUserKey),
		errors.Is(err, korup2p.ErrInvalidCAR),
		errors.Is(err, httpapi.ErrInvalidRequest):
		return exitUsage
	}
	return exitFailed
}

// oneLine keeps an error message on one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// defaultDataDir is $XDG_DATA_HOME/korup2p, else ~/.local/share/korup2p.
func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "korup2p")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(".korup2p")
	}
	return filepath.Join(home, ".local", "share", "korup2p")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Command groups in the help.
const (
	groupData    = "data"
	groupNetwork = "network"
	groupAdmin   = "admin"
)

func (c *cli) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "korup2p",
		Short: "A peer-to-peer sync store: a versioned key-value store replicated over libp2p",
		Long: `korup2p is a peer-to-peer sync store. Every write becomes a signed node in a causal
DAG; peers gossip and sync those nodes, and concurrent edits of one key merge
three-way, like git merges files.

Run 'korup2p daemon' to start a peer (zero configuration). With a daemon running,
the data commands go through its local HTTP API; without one, they open the data
directory directly.

Keys are "namespace/rest" (e.g. users/ada); values are JSON.

Exit codes: 0 success, 1 not found or failed, 2 bad usage or invalid input.`,
		Example: `  korup2p daemon &
  korup2p put users/ada '{"name":"Ada","city":"London"}'
  korup2p get users/ada
  korup2p query users --where 'city = London'
  korup2p history users/ada --json`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		Args:              usageArgs(cobra.NoArgs),
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &usageError{err: err, hint: cmd.CommandPath()}
	})
	pf := root.PersistentFlags()
	pf.StringVar(&c.dataDir, "data", envOr("KORUP2P_DATA", defaultDataDir()), "data directory (env KORUP2P_DATA)")
	pf.StringVar(&c.space, "space", envOr("KORUP2P_SPACE", korup2p.DefaultSpace), "space to read and write (env KORUP2P_SPACE)")
	pf.StringVar(&c.api, "api", os.Getenv("KORUP2P_API"), "daemon API address HOST:PORT (env KORUP2P_API; default: read from DATA/api)")
	pf.BoolVar(&c.json, "json", false, "print JSON instead of text")

	root.AddGroup(
		&cobra.Group{ID: groupData, Title: "Data:"},
		&cobra.Group{ID: groupNetwork, Title: "Peers and network:"},
		&cobra.Group{ID: groupAdmin, Title: "Daemon and administration:"},
	)
	add := func(group string, cmds ...*cobra.Command) {
		for _, cmd := range cmds {
			cmd.GroupID = group
			root.AddCommand(cmd)
		}
	}
	add(groupData, c.putCmd(), c.getCmd(), c.delCmd(), c.historyCmd(), c.diffCmd(), c.lsCmd(),
		c.queryCmd(), c.watchCmd(), c.batchCmd(), c.exportCmd(), c.importCmd())
	add(groupNetwork, c.idCmd(), c.peersCmd(), c.connectCmd())
	add(groupAdmin, c.daemonCmd(), c.statusCmd(), c.spaceCmd(), c.capsCmd(), c.dagCmd(), c.repairCmd(), c.completionCmd(root))

	root.SetHelpCommandGroupID(groupAdmin)
	root.InitDefaultHelpCmd()
	for _, sub := range root.Commands() {
		if sub.Name() == "help" {
			sub.Example = "  korup2p help put\n  korup2p help dag log"
		}
	}
	return root
}

// usageArgs marks an argument validator's errors as usage errors.
func usageArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return &usageError{err: err, hint: cmd.CommandPath()}
		}
		return nil
	}
}

func exactArgs(n int) cobra.PositionalArgs    { return usageArgs(cobra.ExactArgs(n)) }
func rangeArgs(a, b int) cobra.PositionalArgs { return usageArgs(cobra.RangeArgs(a, b)) }
func noArgs() cobra.PositionalArgs            { return usageArgs(cobra.NoArgs) }
