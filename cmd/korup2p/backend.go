package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/charmbracelet/log"
	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/internal/dirlock"
)

// backend is what the data commands need of a korup2p replica: the store opened
// directly (localBackend, over *korup2p.Node) or a running daemon (remoteBackend,
// over its HTTP API). Both return the root package's errors (ErrNotFound, a
// *korup2p.KeyError, ...) where they can, so exit codes do not depend on the mode.
type backend interface {
	Put(ctx context.Context, space, key string, value json.RawMessage) (korup2p.WriteResult, error)
	Patch(ctx context.Context, space, key string, patch json.RawMessage) (korup2p.WriteResult, error)
	Delete(ctx context.Context, space, key string) (korup2p.WriteResult, error)
	Batch(ctx context.Context, space string, ops []korup2p.Op) (korup2p.WriteResult, error)
	// Get reads key now, as of the wall-clock time at (if not zero) or as of the
	// space heads (if any).
	Get(ctx context.Context, space, key string, at time.Time, heads []cid.Cid) (korup2p.Entry, error)
	// History returns key's versions oldest first: the newest limit of them (all if
	// limit <= 0).
	History(ctx context.Context, space, key string, limit int) ([]korup2p.Version, error)
	Diff(ctx context.Context, space, key string, from, to cid.Cid) ([]korup2p.Change, error)
	List(ctx context.Context, space, prefix, after string, limit int) ([]korup2p.Listed, error)
	Query(ctx context.Context, space, namespace string, q korup2p.Query) (korup2p.QueryResult, error)
	// Watch delivers the changes of keys with prefix until ctx ends; the channel is
	// closed then (or when the replica goes away).
	Watch(ctx context.Context, space, prefix string) (<-chan korup2p.Event, error)

	Spaces(ctx context.Context) ([]korup2p.SpaceInfo, error)
	CreateSpace(ctx context.Context, name string, open bool) (korup2p.SpaceInfo, error)
	Heads(ctx context.Context, space string) ([]cid.Cid, error)
	// DAGLog lists up to limit nodes of the space (all if limit <= 0), newest first.
	DAGLog(ctx context.Context, space string, limit int) ([]korup2p.DAGEntry, error)
	// DAGNode returns node c of the space as JSON (see nodeJSON).
	DAGNode(ctx context.Context, space string, c cid.Cid) (json.RawMessage, error)

	// Invite returns an invite ticket for the space, carrying the capability o
	// says (korup2p.Node.Invite).
	Invite(ctx context.Context, space string, o korup2p.InviteOptions) (string, error)
	// Grant issues a capability token in a restricted space (korup2p.Node.Grant).
	Grant(ctx context.Context, space string, g korup2p.Grant) (korup2p.Capability, error)
	// Revoke withdraws the capability token id and everything delegated from it.
	Revoke(ctx context.Context, space string, id cid.Cid) (korup2p.RevocationInfo, error)
	// Capabilities lists the capability tokens held in the space, oldest first.
	Capabilities(ctx context.Context, space string) ([]korup2p.Capability, error)
	// Join adds the space a ticket names, or the open space of that name, under the
	// ticket's name or as if not empty; a daemon connects to the inviter too.
	Join(ctx context.Context, ticketOrName, as string) (korup2p.SpaceInfo, error)
	// Export writes the space to w as a CAR v1 file. progress, if not nil, is
	// called with the nodes written and their total where the backend counts them
	// (the local one); the daemon's streams bytes alone.
	Export(ctx context.Context, space string, w io.Writer, progress func(done, total int)) error
	// Import adds the space in r, a CAR file, under the name it carries or as if
	// not empty (korup2p.Node.Import).
	Import(ctx context.Context, r io.Reader, as string) (korup2p.SpaceInfo, error)

	ID(ctx context.Context) (peerID string, addrs []string, err error)
	Peers(ctx context.Context) ([]peerJSON, error)
	Connect(ctx context.Context, addr string) (peerID string, err error)
	Status(ctx context.Context) (statusJSON, error)

	// Mode is "local" (the store opened directly) or "daemon".
	Mode() string
	Close(ctx context.Context) error
}

// closeTimeout bounds closing a store opened directly.
const closeTimeout = 10 * time.Second

// withBackend runs fn on the backend for the global flags — the daemon's API when a
// daemon owns the data directory, else the store opened directly — and closes it.
func (c *cli) withBackend(fn func(ctx context.Context, b backend) error) error {
	b, err := c.openBackend()
	if err != nil {
		return err
	}
	err = fn(c.ctx, b)
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if cerr := b.Close(ctx); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

// openBackend picks the backend:
//
//   - --api (or KORUP2P_API) given: that daemon, which must answer;
//   - DATA/api names an address that answers: the daemon there;
//   - otherwise the store in DATA, opened directly, without the network.
func (c *cli) openBackend() (backend, error) {
	addr, err := c.daemonAddr()
	if err != nil {
		return nil, err
	}
	if addr != "" {
		return c.remote(addr)
	}
	return c.openLocal()
}

// runningDaemon returns the API address in DATA/api if a daemon answers there.
func (c *cli) runningDaemon() (string, bool) {
	b, err := os.ReadFile(filepath.Join(c.dataDir, apiFile))
	if err != nil {
		return "", false
	}
	addr := strings.TrimSpace(string(b))
	if addr == "" || pingAPI(addr) != nil {
		return "", false // a daemon that was killed left it behind
	}
	return addr, true
}

// remote returns the daemon backend at addr, with the token from KORUP2P_API_TOKEN
// or DATA/api.token.
func (c *cli) remote(addr string) (backend, error) {
	token, err := c.apiToken()
	if err != nil {
		return nil, err
	}
	return newRemoteBackend(addr, token), nil
}

// apiToken is the token the CLI presents to a daemon: KORUP2P_API_TOKEN (a master
// token or a minted one), else DATA/api.token; "" if neither.
func (c *cli) apiToken() (string, error) {
	if token := os.Getenv(apiTokenEnv); token != "" {
		return token, nil
	}
	return c.masterToken()
}

// masterToken is the daemon's master token, DATA/api.token; "" if there is none.
func (c *cli) masterToken() (string, error) {
	b, err := os.ReadFile(filepath.Join(c.dataDir, tokenFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read the API token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// daemonAddr is the address of the daemon the commands would use — --api, or
// DATA/api if a daemon answers there — or "" when they would open the store.
func (c *cli) daemonAddr() (string, error) {
	if c.api != "" {
		if err := pingAPI(c.api); err != nil {
			return "", fmt.Errorf("no daemon answers at %s (--api): %w", c.api, err)
		}
		return c.api, nil
	}
	if addr, ok := c.runningDaemon(); ok {
		return addr, nil
	}
	return "", nil
}

// openLocal opens the store in DATA directly, without the network.
func (c *cli) openLocal() (backend, error) {
	n, err := korup2p.Open(c.dataDir, &korup2p.Options{Logger: c.logger(log.WarnLevel)})
	if err != nil {
		var inUse *dirlock.InUseError
		if errors.As(err, &inUse) {
			return nil, fmt.Errorf("%w: another korup2p command (a watch?) or a daemon still starting holds it", err)
		}
		return nil, err
	}
	return &localBackend{n: n}, nil
}

// logger returns a charmbracelet logger on stderr at the level in KORUP2P_LOG, else
// at def.
func (c *cli) logger(def log.Level) *log.Logger {
	return korup2p.NewLogger(c.stderr, def)
}
