package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/korup2p/korup2p/caps"
	"github.com/korup2p/korup2p/cmd/korup2p/internal/httpapi"
)

// tokenJSON is caps token --json.
type tokenJSON struct {
	Token   string   `json:"token"`
	Can     string   `json:"can"`               // read, write or admin
	Spaces  []string `json:"spaces,omitempty"`  // absent: every space
	Expires string   `json:"expires,omitempty"` // RFC 3339; absent: never
	Minted  string   `json:"minted"`            // "offline" (from DATA/api.token) or "daemon"
}

func (c *cli) capsTokenCmd() *cobra.Command {
	var (
		read, write, admin bool
		spaces             []string
		expires            string
	)
	cmd := &cobra.Command{
		Use:   "token --read|--write|--admin",
		Short: "Mint an API token of limited ability for an app",
		Long: `Print a bearer token for the daemon's HTTP API that allows less than the master
token in DATA/api.token: --read (every GET, and query), --write (and PUT, PATCH,
DELETE of keys, batch, import) or --admin (everything: spaces, invites,
capabilities, peers, minting tokens); only in the spaces named by --space
(repeatable; default every space); until --expires (default never). Give it to
an app as its Authorization: Bearer TOKEN, or to the CLI as KORUP2P_API_TOKEN.

With a daemon running (or --api), the daemon mints it with the token this
command holds, and never a wider one than that. Without one, it is minted
offline from DATA/api.token, which a first 'korup2p daemon' makes.

The daemon keeps no list of tokens: a token is valid until it expires or the
master token changes. To revoke every minted token, stop the daemon, delete
DATA/api.token, and start it again (then give the apps new tokens).`,
		Example: `  korup2p caps token --read --space notes --expires 24h
  KORUP2P_API_TOKEN=$(korup2p caps token --write --space notes) my-app
  korup2p caps token --admin --expires 7d --json`,
		Args: noArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
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
	return tokenJSON{Token: tok, Can: claims.Ability.String(), Spaces: claims.Spaces, Expires: rfc3339(claims.Expiry), Minted: minted}, nil
}
