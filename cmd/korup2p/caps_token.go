package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/charmbracelet/log"
	"github.com/spf13/cobra"

	"github.com/korup2p/korup2p/caps"
	"github.com/korup2p/korup2p/cmd/korup2p/internal/httpapi"
)

// tokenJSON is caps token --json.
type tokenJSON struct {
	Token   string   `json:"token"`
	ID      string   `json:"id"`                // httpapi.TokenID: what --revoke takes
	Can     string   `json:"can"`               // read, write or admin
	Spaces  []string `json:"spaces,omitempty"`  // absent: every space
	Expires string   `json:"expires,omitempty"` // RFC 3339; absent: never
	Minted  string   `json:"minted"`            // "offline" (from DATA/api.token) or "daemon"
}

// tokenRevokedJSON is caps token --revoke --json.
type tokenRevokedJSON struct {
	ID      string `json:"id"`
	Already bool   `json:"already_revoked"` // it was revoked before
	Revoked string `json:"revoked"`         // "daemon", or "offline" (in DATA/api.revoked)
}

func (c *cli) capsTokenCmd() *cobra.Command {
	var (
		read, write, admin bool
		spaces             []string
		expires            string
		revoke             string
	)
	cmd := &cobra.Command{
		Use:   "token --read|--write|--admin | --revoke ID|TOKEN",
		Short: "Mint an API token of limited ability for an app, or revoke one",
		Long: `Print a bearer token for the daemon's HTTP API that allows less than the master
token in DATA/api.token: --read (every GET, and query), --write (and PUT, PATCH,
DELETE of keys, batch, import) or --admin (everything: spaces, invites,
capabilities, peers, minting tokens); only in the spaces named by --space
(repeatable; default every space); until --expires (default never). Give it to
an app as its Authorization: Bearer TOKEN, or to the CLI as KORUP2P_API_TOKEN.

With a daemon running (or --api), the daemon mints it with the token this
command holds, and never a wider one than that. Without one, it is minted
offline from DATA/api.token, which a first 'korup2p daemon' makes.

The token alone goes to stdout; its ID (16 hex digits, which names it without
giving it away) goes to stderr, and to "id" with --json.

--revoke ID revokes that one token (or --revoke TOKEN, whose ID it derives):
through the daemon if one is running (with an admin token not limited to
spaces), else by adding the ID to DATA/api.revoked, one ID a line, which the
daemon reads when it starts and again whenever the file changes. From then on
the daemon refuses the token: "API token refused (revoked)". Revoking a token
twice is no error. To accept it again, delete its line from DATA/api.revoked.

The daemon keeps no list of the tokens it minted: a token is valid until it
expires, is revoked, or the master token changes. To revoke every minted token
at once, stop the daemon, delete DATA/api.token, and start it again (then give
the apps new tokens).`,
		Example: `  korup2p caps token --read --space notes --expires 24h
  KORUP2P_API_TOKEN=$(korup2p caps token --write --space notes) my-app
  korup2p caps token --admin --expires 7d --json
  korup2p caps token --revoke 3f9a0c1d2e4b5a67`,
		Args: noArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("revoke") {
				for _, other := range []string{"read", "write", "admin", "space", "expires"} {
					if cmd.Flags().Changed(other) {
						return &usageError{err: fmt.Errorf("--revoke and --%s do not go together", other), hint: cmd.CommandPath()}
					}
				}
				return c.revokeToken(revoke)
			}
			var o httpapi.TokenOptions
			switch {
			case btoi(read)+btoi(write)+btoi(admin) > 1:
				return &usageError{err: errors.New("--read, --write and --admin do not go together"), hint: cmd.CommandPath()}
			case read:
				o.Ability = caps.Read
			case write:
				o.Ability = caps.Write
			case admin:
				o.Ability = caps.Admin
			default:
				return &usageError{err: errors.New("want one of --read, --write or --admin"), hint: cmd.CommandPath()}
			}
			for _, s := range spaces {
				if err := validSpaceName(s); err != nil {
					return badInput(fmt.Errorf("--space: %w", err))
				}
			}
			o.Spaces = spaces
			if cmd.Flags().Changed("expires") {
				d, err := parseExpiry(expires)
				if err != nil {
					return badInput(err)
				}
				o.Expiry = time.Now().Add(d)
			}
			out, err := c.mintToken(o)
			if err != nil {
				return err
			}
			if c.json {
				return printJSON(c.stdout, out)
			}
			fmt.Fprintln(c.stdout, out.Token)
			fmt.Fprintf(c.stderr, "token ID %s (revoke it with 'korup2p caps token --revoke %s')\n", out.ID, out.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&read, "read", false, "the token may read")
	f.BoolVar(&write, "write", false, "the token may read and write keys")
	f.BoolVar(&admin, "admin", false, "the token may do anything")
	// Shadows the global --space: here it is repeatable and limits the token.
	f.StringArrayVar(&spaces, "space", nil, "limit the token to the space NAME (repeatable; default every space)")
	f.StringVar(&expires, "expires", "", "the token expires after DURATION, e.g. 24h or 30d (default never)")
	f.StringVar(&revoke, "revoke", "", "revoke the token of this ID (or this whole token) instead of minting one")
	return cmd
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// mintToken mints through the daemon the commands would use, else offline from
// DATA/api.token.
func (c *cli) mintToken(o httpapi.TokenOptions) (tokenJSON, error) {
	addr, err := c.daemonAddr()
	if err != nil {
		return tokenJSON{}, err
	}
	var tok, minted string
	if addr != "" {
		held, err := c.apiToken()
		if err != nil {
			return tokenJSON{}, err
		}
		cl := httpapi.NewClient(addr, held)
		defer cl.Close()
		if tok, err = cl.MintToken(c.ctx, o); err != nil {
			return tokenJSON{}, capsError("caps token", "", err)
		}
		minted = "daemon"
	} else {
		master, err := c.masterToken()
		if err != nil {
			return tokenJSON{}, err
		}
		if master == "" {
			return tokenJSON{}, fmt.Errorf("caps token: no daemon running and no master token in %s to mint from: "+
				"start 'korup2p daemon' once to make it", strings.TrimSuffix(c.dataDir, "/")+"/"+tokenFile)
		}
		if tok, err = httpapi.MintToken(master, o); err != nil {
			return tokenJSON{}, err
		}
		minted = "offline"
	}
	// What the token says (the daemon may have narrowed its expiry to its own).
	claims, err := httpapi.UnverifiedTokenClaims(tok)
	if err != nil {
		return tokenJSON{}, fmt.Errorf("caps token: %w", err)
	}
	return tokenJSON{Token: tok, ID: claims.ID, Can: claims.Ability.String(), Spaces: claims.Spaces,
		Expires: rfc3339(claims.Expiry), Minted: minted}, nil
}

// revokeToken revokes the token of ID idOrToken (or the token itself) through
// the daemon the commands would use, else in DATA/api.revoked.
func (c *cli) revokeToken(idOrToken string) error {
	idOrToken = strings.TrimSpace(idOrToken)
	var id string
	var err error
	if strings.HasPrefix(idOrToken, httpapi.TokenPrefix) {
		id, err = httpapi.TokenID(idOrToken)
	} else {
		id, err = httpapi.ParseTokenID(idOrToken)
	}
	if err != nil {
		return badInput(fmt.Errorf("--revoke: %w (want the ID 'caps token' printed, or the token)", err))
	}
	addr, err := c.daemonAddr()
	if err != nil {
		return err
	}
	out := tokenRevokedJSON{ID: id}
	if addr != "" {
		held, err := c.apiToken()
		if err != nil {
			return err
		}
		cl := httpapi.NewClient(addr, held)
		defer cl.Close()
		if out.Already, err = cl.RevokeToken(c.ctx, id); err != nil {
			return capsError("caps token --revoke", "", err)
		}
		out.Revoked = "daemon"
	} else {
		// Into a data directory a daemon has used; never make one here.
		if _, err := os.Stat(c.dataDir); err != nil {
			return fmt.Errorf("caps token --revoke: no daemon running, and no data directory to write %s in: %w", revokedFile, err)
		}
		f := httpapi.NewRevocationFile(filepath.Join(c.dataDir, revokedFile), c.logger(log.WarnLevel))
		if out.Already, err = f.Revoke(id); err != nil {
			return fmt.Errorf("caps token --revoke: %w", err)
		}
		out.Revoked = "offline"
	}
	if c.json {
		return printJSON(c.stdout, out)
	}
	where := "by the daemon"
	if out.Revoked == "offline" {
		where = "in " + filepath.Join(c.dataDir, revokedFile)
	}
	if out.Already {
		fmt.Fprintf(c.stdout, "API token %s was already revoked (%s)\n", id, where)
	} else {
		fmt.Fprintf(c.stdout, "revoked API token %s (%s)\n", id, where)
	}
	return nil
}
