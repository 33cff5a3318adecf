package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/charmbracelet/log"
	"github.com/multiformats/go-multiaddr"
	"github.com/spf13/cobra"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/cmd/korup2p/internal/httpapi"
	"github.com/korup2p/korup2p/internal/atomicfile"
	"github.com/korup2p/korup2p/internal/dirlock"
)

// defaultP2PPort is the port the daemon listens on for peers unless --listen says
// otherwise; when it is taken, the system picks one.
const defaultP2PPort = 4001

// Shutdown bounds: the HTTP server first (watch streams are ended by canceling
// their base context), then the Node.
const (
	httpShutdownTimeout = 3 * time.Second
	nodeCloseTimeout    = 5 * time.Second
)

type daemonConfig struct {
	listen    []string
	bootstrap []string
	noMDNS    bool
	apiListen string
}

func (c *cli) daemonCmd() *cobra.Command {
	var cfg daemonConfig
	cmd := &cobra.Command{
		Use:     "daemon",
		Aliases: []string{"start"},
		Short:   "Run a peer: the store, the network and the local HTTP API",
		Long: `Run a korup2p peer in the foreground until interrupted (SIGINT or SIGTERM), with
zero configuration. On first start it creates the data directory, the peer
identity and the space "default".

It listens for peers on TCP and QUIC port 4001 (any free port if 4001 is taken, or
--listen), finds peers on the LAN by mDNS (unless --no-mdns), dials the --bootstrap
peers, and dials nothing else. It serves the HTTP API on 127.0.0.1:4777
(--api-listen) and writes the address it bound to DATA/api; the other commands
find the daemon there. Logs go to stderr, at the level in KORUP2P_LOG (debug,
info, warn, error).

The API's master bearer token is DATA/api.token (0600): made on the first start,
kept by later ones. API tokens minted from it ('korup2p caps token') work until
they expire, are revoked one by one ('korup2p caps token --revoke ID', which
adds the ID to DATA/api.revoked; the daemon reads that file at start and again
whenever it changes, so editing it by hand works too), or the master token
changes: to revoke them all, stop the daemon, delete DATA/api.token and start it
again.`,
		Example: `  korup2p daemon
  korup2p daemon --data /var/lib/korup2p --no-mdns --bootstrap /ip4/10.0.0.5/tcp/4001/p2p/12D3KooW…
  korup2p daemon --listen /ip4/0.0.0.0/tcp/4101 --api-listen 127.0.0.1:0
  KORUP2P_LOG=debug korup2p start`,
		Args: noArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, a := range cfg.listen {
				if _, err := multiaddr.NewMultiaddr(a); err != nil {
					return usagef("--listen %q: %v", a, err)
				}
			}
			for _, a := range cfg.bootstrap {
				ma, err := multiaddr.NewMultiaddr(a)
				if err != nil {
					return usagef("--bootstrap %q: %v", a, err)
				}
				if _, err := ma.ValueForProtocol(multiaddr.P_P2P); err != nil {
					return usagef("--bootstrap %q: no /p2p/<peer-id> part", a)
				}
			}
			if _, _, err := net.SplitHostPort(cfg.apiListen); err != nil {
				return usagef("--api-listen %q: want HOST:PORT: %v", cfg.apiListen, err)
			}
			return c.runDaemon(cfg)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&cfg.listen, "listen", nil, "multiaddr to listen on for peers (repeatable; default TCP and QUIC on port 4001)")
	f.StringArrayVar(&cfg.bootstrap, "bootstrap", nil, "peer address with /p2p/<id> to connect to and keep connected (repeatable)")
	f.BoolVar(&cfg.noMDNS, "no-mdns", false, "do not discover peers on the LAN by mDNS")
	f.StringVar(&cfg.apiListen, "api-listen", defaultAPI, "HOST:PORT for the HTTP API (127.0.0.1:0 picks a free port)")
	return cmd
}

// defaultListen is TCP and QUIC on every IPv4 interface at port.
func defaultListen(port int) []string {
	return []string{fmt.Sprintf("/ip4/0.0.0.0/tcp/%d", port), fmt.Sprintf("/ip4/0.0.0.0/udp/%d/quic-v1", port)}
}

// portFree reports whether TCP and UDP port are free on every IPv4 interface.
func portFree(port int) error {
	addr := fmt.Sprintf("0.0.0.0:%d", port)
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		return err
	}
	l.Close()
	pc, err := net.ListenPacket("udp4", addr)
	if err != nil {
		return err
	}
	return pc.Close()
}

func isAddrInUse(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use")
}

// runDaemon runs the daemon until c.ctx ends (a signal) or the API server fails.
func (c *cli) runDaemon(cfg daemonConfig) (err error) {
	logger := c.logger(log.InfoLevel)
	listen, defaults := cfg.listen, len(cfg.listen) == 0
	if defaults {
		listen = defaultListen(defaultP2PPort)
		if err := portFree(defaultP2PPort); err != nil {
			logger.Warn(fmt.Sprintf("port %d is taken; listening on ports the system picks", defaultP2PPort), "err", err)
			listen = defaultListen(0)
		}
	}
	open := func(listen []string) (*korup2p.Node, error) {
		return korup2p.Open(c.dataDir, &korup2p.Options{Logger: logger,
			Network: &korup2p.NetworkOptions{Listen: listen, Bootstrap: cfg.bootstrap, NoMDNS: cfg.noMDNS}})
	}
	n, err := open(listen)
	if err != nil && defaults && isAddrInUse(err) { // taken between the check and the bind
		logger.Warn(fmt.Sprintf("port %d is taken; listening on ports the system picks", defaultP2PPort), "err", err)
		n, err = open(defaultListen(0))
	}
	if err != nil {
		var inUse *dirlock.InUseError
		if errors.As(err, &inUse) {
			return fmt.Errorf("%w: is a daemon already running with this data directory?", err)
		}
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), nodeCloseTimeout)
		defer cancel()
		if cerr := n.Close(ctx); cerr != nil {
			logger.Error("close the store", "err", cerr)
			if err == nil {
				err = cerr
			}
		}
	}()

	ln, err := net.Listen("tcp", cfg.apiListen)
	if err != nil {
		return fmt.Errorf("HTTP API: %w (choose another address with --api-listen; 127.0.0.1:0 picks a free port)", err)
	}
	if ip := net.ParseIP(strings.Trim(hostOf(cfg.apiListen), "[]")); ip == nil || !ip.IsLoopback() {
		logger.Warn("the HTTP API listens beyond loopback: anyone who can reach it and holds the token can read and write",
			"addr", ln.Addr())
	}
	apiPath, tokenPath := filepath.Join(c.dataDir, apiFile), filepath.Join(c.dataDir, tokenFile)
	token, made, err := masterToken(tokenPath)
	if err != nil {
		ln.Close()
		return err
	}
	// The token first: a client that finds DATA/api finds the token with it.
	// (Written again when kept, so that its mode is 0600 whatever it was.)
	if err := atomicfile.Write(tokenPath, []byte(token+"\n"), 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("write the API token: %w", err)
	}
	if made {
		logger.Info("made a new API master token; tokens minted from an earlier one no longer work", "path", tokenPath)
	}
	// Read now, so that a file that cannot be read stops the start rather than
	// lets revoked tokens in; later changes are read as they come.
	revoked := httpapi.NewRevocationFile(filepath.Join(c.dataDir, revokedFile), logger)
	nrev, err := revoked.Load()
	if err != nil {
		ln.Close()
		return err
	}
	if nrev > 0 {
		logger.Info("API tokens revoked", "count", nrev, "path", revoked.Path())
	}
	if err := atomicfile.Write(apiPath, []byte(ln.Addr().String()+"\n"), 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("write the API address: %w", err)
	}
	defer func() {
		if rerr := os.Remove(apiPath); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			logger.Error("remove the API address file", "path", apiPath, "err", rerr)
		}
	}()

	// Canceling base ends the watch streams, which Shutdown would wait for.
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	srv := &http.Server{
		Handler:           httpapi.NewServer(n, httpapi.ServerOptions{Token: token, Logger: logger, Revocations: revoked}),
		BaseContext:       func(net.Listener) context.Context { return base },
		ReadHeaderTimeout: 10 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	addrs := n.Addrs()
	fmt.Fprintf(c.stdout, "korup2p daemon: peer %s listening on %s; API http://%s (data %s)\n",
		n.ID(), strings.Join(addrs, " "), ln.Addr(), c.dataDir)
	logger.Info("daemon ready", "peer", n.ID(), "api", ln.Addr().String(), "data", c.dataDir)

	var serveErr error
	select {
	case <-c.ctx.Done():
		logger.Info("shutting down")
	case serveErr = <-served:
		logger.Error("the HTTP API stopped", "err", serveErr)
	}
	cancelBase()
	ctx, cancel := context.WithTimeout(context.Background(), httpShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		logger.Warn("HTTP API: requests still running at shutdown; closing them", "err", err)
		srv.Close()
	}
	if serveErr == nil {
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			serveErr = err
		}
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("HTTP API: %w", serveErr)
	}
	return nil
}

func hostOf(hostport string) string {
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	return h
}

// masterToken returns the API master token in path if it holds one (64 hex
// digits), else a new one (made true). Keeping it across starts keeps the API
// tokens minted from it valid; deleting the file revokes them.
func masterToken(path string) (token string, made bool, err error) {
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", false, fmt.Errorf("read the API token: %w", err)
	}
	if t := strings.TrimSpace(string(b)); len(t) == 64 {
		if _, err := hex.DecodeString(t); err == nil {
			return t, false, nil
		}
	}
	token, err = newToken()
	return token, err == nil, err
}

// newToken returns 32 random bytes in hex.
func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("API token: %w", err)
	}
	return hex.EncodeToString(b), nil
}
