package host

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	tls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

// Defaults for Config's zero fields.
const (
	DefaultConnLow     = 100
	DefaultConnHigh    = 400
	DefaultConnGrace   = time.Minute
	DefaultRedialMin   = 250 * time.Millisecond
	DefaultRedialMax   = 30 * time.Second
	DefaultRedialReset = 30 * time.Second
	DefaultDialTimeout = 15 * time.Second
)

// DefaultListen are the addresses a Host listens on when Config.Listen is empty:
// TCP and QUIC on every IPv4 interface, ports chosen by the system.
var DefaultListen = []string{"/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"}

// keepTag protects kept peers' connections from the connection manager's trimming.
const keepTag = "korup2p-keep"

// Config configures New. Only Key is required; zero fields take the defaults named.
type Config struct {
	// Key is the host's private key, its peer identity. The root package keeps an
	// Ed25519 key in the data directory.
	Key crypto.PrivKey

	// Listen are the multiaddrs to listen on (default DefaultListen). Only TCP and
	// QUIC (quic-v1) are supported.
	Listen []string

	// Bootstrap are full peer addresses (see ParseAddr) to dial at start and keep
	// connected, as if given to Connect; a peer unreachable at start is retried, and
	// this host's own address is skipped.
	Bootstrap []string

	// ConnLow and ConnHigh are the connection manager's water marks (defaults
	// DefaultConnLow, DefaultConnHigh): past ConnHigh connections it closes the
	// least useful down to ConnLow, sparing kept peers and connections younger than
	// ConnGrace (default DefaultConnGrace).
	ConnLow, ConnHigh int
	ConnGrace         time.Duration

	// Gater decides which peers may connect (default: a new Gater, empty). One Gater
	// serves one open Host at a time.
	Gater *Gater

	// RedialMin and RedialMax bound the delay before redialing a kept peer, which
	// doubles after each failure, with jitter (defaults DefaultRedialMin,
	// DefaultRedialMax). A connection that lasted RedialReset (default
	// DefaultRedialReset) starts the delays again from RedialMin when it drops.
	RedialMin, RedialMax, RedialReset time.Duration

	// DialTimeout bounds each of the keeper's dials (default DefaultDialTimeout).
	// Connect's dial is bounded by its context.
	DialTimeout time.Duration

	// Warn receives warnings (a kept peer unreachable for a while); Debug the
	// keeper's dials and their failures. keyvals alternate keys and values, as
	// charmbracelet/log and log/slog take them. Both may be called from several
	// goroutines at once. The defaults discard them.
	Warn, Debug func(msg string, keyvals ...any)

	bandwidth *metrics.BandwidthCounter // set by New
}

func (c *Config) withDefaults() (Config, []peer.AddrInfo, error) {
	v := *c
	if v.Key == nil {
		return v, nil, errors.New("host config: Key is required")
	}
	if len(v.Listen) == 0 {
		v.Listen = DefaultListen
	}
	for _, s := range v.Listen {
		if _, err := ma.NewMultiaddr(s); err != nil {
			return v, nil, fmt.Errorf("host config: listen address %q: %w", s, err)
		}
	}
	if v.ConnLow == 0 {
		v.ConnLow = DefaultConnLow
	}
	if v.ConnHigh == 0 {
		v.ConnHigh = max(DefaultConnHigh, v.ConnLow)
	}
	if v.ConnLow < 0 || v.ConnHigh < v.ConnLow {
		return v, nil, fmt.Errorf("host config: want 0 <= ConnLow <= ConnHigh, have %d, %d", v.ConnLow, v.ConnHigh)
	}
	if v.ConnGrace == 0 {
		v.ConnGrace = DefaultConnGrace
	}
	if v.RedialMin == 0 {
		v.RedialMin = DefaultRedialMin
	}
	if v.RedialMax == 0 {
		v.RedialMax = max(DefaultRedialMax, v.RedialMin)
	}
	if v.RedialReset == 0 {
		v.RedialReset = DefaultRedialReset
	}
	if v.DialTimeout == 0 {
		v.DialTimeout = DefaultDialTimeout
	}
	if v.ConnGrace < 0 || v.RedialMin < 0 || v.RedialMax < v.RedialMin || v.RedialReset < 0 || v.DialTimeout < 0 {
		return v, nil, errors.New("host config: negative duration, or RedialMax below RedialMin")
	}
	if v.Gater == nil {
		v.Gater = new(Gater)
	}
	if v.Warn == nil {
		v.Warn = func(string, ...any) {}
	}
	if v.Debug == nil {
		v.Debug = func(string, ...any) {}
	}
	var boot []peer.AddrInfo
	for _, s := range v.Bootstrap {
		info, err := ParseAddr(s)
		if err != nil {
			return v, nil, fmt.Errorf("host config: bootstrap: %w", err)
		}
		boot = append(boot, info)
	}
	return v, boot, nil
}

// Host is korup2p's libp2p host: the libp2p host itself, the peers it keeps
// connected, its Gater, and peer events. Its methods are safe for concurrent use.
//
// Host does not embed host.Host, whose Connect and Addrs mean something else; use the
// Host field for everything libp2p (streams, pubsub, the peerstore).
type Host struct {
	// Host is the libp2p host. Close it only through Host.Close.
	Host host.Host

	cfg   Config
	gater *Gater

	ctx    context.Context // canceled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the keeper, the dispatcher and the keeper's dials

	notifiee *network.NotifyBundle
	connMu   sync.Mutex                            // orders transitions; guards conns
	conns    map[peer.ID]map[network.Conn]struct{} // open connections per peer, as notified
	inbox    *queue[keepMsg]                       // the keeper's input
	outbox   *queue[PeerEvent]                     // the dispatcher's input

	subMu   sync.Mutex
	subs    map[int]func(PeerEvent)
	nextSub int

	closeOnce sync.Once
	closeErr  error
}

// New builds and starts a Host: it listens, starts the keeper, and dials
// Config.Bootstrap in the background.
func New(cfg Config) (*Host, error) {
	cfg, boot, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg.bandwidth = metrics.NewBandwidthCounter()
	h := &Host{
		cfg:    cfg,
		gater:  cfg.Gater,
		conns:  make(map[peer.ID]map[network.Conn]struct{}),
		inbox:  newQueue[keepMsg](),
		outbox: newQueue[PeerEvent](),
		subs:   make(map[int]func(PeerEvent)),
	}
	if err := h.gater.claim(h); err != nil {
		return nil, err
	}
	lh, err := newLibp2p(cfg)
	if err != nil {
		h.gater.release(h)
		return nil, err
	}
	h.Host = lh
	h.gater.attach(lh.Network())
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.notifiee = &network.NotifyBundle{ConnectedF: h.onConnected, DisconnectedF: h.onDisconnected}
	lh.Network().Notify(h.notifiee)
	// Connections made before Notify (inbound ones racing New) are picked up here.
	// Listing them under connMu orders this against their notifications.
	h.connMu.Lock()
	for _, c := range lh.Network().Conns() {
		h.addConn(c)
	}
	h.connMu.Unlock()
	for _, info := range boot {
		if info.ID == lh.ID() {
			continue // a shared list of every node's address names this one too
		}
		h.inbox.push(keepMsg{kind: msgKeep, peer: info.ID, addrs: info.Addrs})
	}
	h.wg.Add(2)
	go h.keeper()
	go h.dispatcher()
	return h, nil
}

// newLibp2p builds the libp2p host New wraps.
func newLibp2p(cfg Config) (host.Host, error) {
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits.AutoScale()))
	if err != nil {
		return nil, fmt.Errorf("resource manager: %w", err)
	}
	cm, err := connmgr.NewConnManager(cfg.ConnLow, cfg.ConnHigh, connmgr.WithGracePeriod(cfg.ConnGrace))
	if err != nil {
		rm.Close()
		return nil, fmt.Errorf("connection manager: %w", err)
	}
	// libp2p.New closes rm and cm if it fails.
	lh, err := libp2p.New(
		libp2p.BandwidthReporter(cfg.bandwidth),
		libp2p.Identity(cfg.Key),
		libp2p.ListenAddrStrings(cfg.Listen...),
		// Dials from ephemeral ports, not the listen port: two peers dialing each
		// other at once (both found by mDNS, or both redialing) would otherwise meet
		// in one TCP connection with two initiators, and both handshakes would fail.
		// Reusing the port helps only NAT traversal, which is off.
		libp2p.Transport(tcp.NewTCPTransport, tcp.DisableReuseport()),
		libp2p.Transport(quic.NewTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Security(tls.ID, tls.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.ConnectionGater(cfg.Gater),
		libp2p.Ping(true),
		// Off: relay (and so hole punching and auto-relay, which need it). Left off by
		// not being asked for: NAT port mapping (UPnP, NAT-PMP), the AutoNAT service,
		// hole punching. No routing, so no DHT and no public bootstrap peers.
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
	)
	if err != nil {
		return nil, fmt.Errorf("libp2p host: %w", err)
	}
	return lh, nil
}

// ID returns the host's peer ID.
func (h *Host) ID() peer.ID { return h.Host.ID() }

// Gater returns the host's connection gater.
func (h *Host) Gater() *Gater { return h.gater }

// Bandwidth returns the bytes the host sent and received, all protocols, since New.
func (h *Host) Bandwidth() (out, in int64) {
	t := h.cfg.bandwidth.GetBandwidthTotals()
	return t.TotalOut, t.TotalIn
}

// Addrs returns the host's addresses in full, /p2p/<id> included
// (/ip4/192.168.1.7/tcp/4001/p2p/12D3KooW…), for sharing with peers: Connect and
// Config.Bootstrap take them.
func (h *Host) Addrs() []ma.Multiaddr {
	addrs, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: h.Host.ID(), Addrs: h.Host.Addrs()})
	if err != nil {
		return nil // only for an invalid ID, which a running host does not have
	}
	return addrs
}

// Connect dials a peer by its full address (see ParseAddr) and, once connected,
// keeps it: whenever the connection drops, the keeper redials it, backing off
// exponentially with jitter, until Forget. Addresses given for a peer already kept
// are added to the ones it is redialed at. Connect returns the peer's ID, also with
// a dial error when the address was well formed. A peer that could not be dialed is
// not kept; one that is blocked (see Gater) cannot be dialed.
func (h *Host) Connect(ctx context.Context, addr string) (peer.ID, error) {
	info, err := ParseAddr(addr)
	if err != nil {
		return "", err
	}
	if info.ID == h.Host.ID() {
		return info.ID, &AddrError{Addr: addr, Err: ErrSelf}
	}
	if h.ctx.Err() != nil {
		return info.ID, ErrClosed
	}
	// Force a dial even if the swarm backed off from this peer's addresses after an
	// earlier failure: the caller asked for it now.
	dctx := network.WithForceDirectDial(ctx, "korup2p connect")
	if err := h.Host.Connect(dctx, info); err != nil {
		return info.ID, fmt.Errorf("connect %s: %w", info.ID, err)
	}
	h.inbox.push(keepMsg{kind: msgKeep, peer: info.ID, addrs: info.Addrs})
	return info.ID, nil
}

// Forget stops keeping p connected: a connection that drops is no longer redialed.
// It closes nothing; a dial already under way may still connect.
func (h *Host) Forget(p peer.ID) {
	h.inbox.push(keepMsg{kind: msgForget, peer: p})
}

// unblocked is Gater.Unblock's hook: a kept peer is redialed at once.
func (h *Host) unblocked(p peer.ID) {
	h.inbox.push(keepMsg{kind: msgUnblocked, peer: p})
}

// Close stops the keeper and the event dispatch, waits for them, and closes the
// libp2p host with its connections. No PeerEvent is delivered once it returns. It
// is safe to call more than once.
func (h *Host) Close() error {
	h.closeOnce.Do(func() {
		h.Host.Network().StopNotify(h.notifiee)
		h.cancel()
		h.wg.Wait()
		h.closeErr = h.Host.Close()
		h.gater.release(h)
	})
	return h.closeErr
}
