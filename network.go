package korup2p

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/net/discovery"
	"github.com/korup2p/korup2p/net/gossip"
	nethost "github.com/korup2p/korup2p/net/host"
	"github.com/korup2p/korup2p/net/syncproto"
)

// NetworkOptions turn on the peer-to-peer layer (Options.Network): one libp2p host
// per Node, gossip of new nodes per space, the sync protocol, and discovery.
type NetworkOptions struct {
	// Listen are the multiaddrs to listen on; default TCP and QUIC on every IPv4
	// interface, on ports the system picks.
	Listen []string
	// Bootstrap are full peer addresses (/ip4/…/tcp/…/p2p/<id>) to connect to at
	// start and keep connected.
	Bootstrap []string
	// NoMDNS turns off LAN discovery by mDNS (on by default).
	NoMDNS bool
	// HeadsInterval is how often each space's heads are announced; default
	// DefaultHeadsInterval. They are also announced to each new peer.
	HeadsInterval time.Duration
	// SyncTimeout bounds one sync session; default DefaultSyncTimeout.
	SyncTimeout time.Duration
	// Faults simulate a lossy, slow network on the gossip this peer receives: for
	// the testnet. The sync protocol repairs what is dropped.
	Faults gossip.Faults
}

// Defaults for NetworkOptions.
const (
	DefaultHeadsInterval = 3 * time.Second
	DefaultSyncTimeout   = 2 * time.Minute
)

// maxSyncs bounds the sync sessions a Node runs at once.
const maxSyncs = 16

// ErrNoNetwork is returned by the network methods of a Node opened without
// Options.Network.
var ErrNoNetwork = errors.New("networking is off (Options.Network is nil)")

// network is a Node's peer-to-peer layer.
type network struct {
	n      *Node
	opts   NetworkOptions
	host   *nethost.Host
	gossip *gossip.Service
	sync   *syncproto.Service
	mdns   io.Closer
	unsub  func()

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sem    chan struct{}

	mu      sync.Mutex
	kicks   map[syncKey]*kick
	shownTo map[syncKey]bool // capability chains presented (caps_net.go)
}

type syncKey struct {
	p     peer.ID
	space cid.Cid
}

// kick is a (peer, space) pair's sync: running, and asked again meanwhile.
type kick struct{ again bool }

func (o NetworkOptions) withDefaults() NetworkOptions {
	if o.HeadsInterval <= 0 {
		o.HeadsInterval = DefaultHeadsInterval
	}
	if o.SyncTimeout <= 0 {
		o.SyncTimeout = DefaultSyncTimeout
	}
	return o
}

// startNetwork starts the host, gossip, the sync protocol and discovery, and joins
// every space attached so far.
func (n *Node) startNetwork() error {
	o := n.opts.Network.withDefaults()
	warn := func(msg string, kv ...any) { n.log.Warn(msg, kv...) }
	debug := func(msg string, kv ...any) { n.log.Debug(msg, kv...) }
	h, err := nethost.New(nethost.Config{Key: n.key, Listen: o.Listen, Bootstrap: o.Bootstrap, Warn: warn, Debug: debug})
	if err != nil {
		return fmt.Errorf("network: %w", err)
	}
	nw := &network{n: n, opts: o, host: h, sem: make(chan struct{}, maxSyncs), kicks: map[syncKey]*kick{}, shownTo: map[syncKey]bool{}}
	nw.ctx, nw.cancel = context.WithCancel(context.Background())
	filter := func(p peer.ID, space cid.Cid) bool { return nw.mayServe(p, space) == nil }
	if nw.gossip, err = gossip.New(h.Host, &gossip.Options{Warn: warn, Faults: o.Faults, PeerFilter: filter}); err != nil {
		h.Close()
		return fmt.Errorf("network: %w", err)
	}
	nw.sync = syncproto.New(h.Host, &syncproto.Options{
		Authorize: nw.mayServe,
		// A peer the sync service refuses for misbehaviour (invalid nodes, by sync or
		// by gossip; protocol violations) is cut off whole until its ban ends: its
		// connections close and the gater refuses new ones, so its gossip stops too.
		OnBan: func(p peer.ID, until time.Time, why string) {
			h.Gater().Ban(p, until)
			n.log.Warn("disconnected a misbehaving peer", "peer", p, "until", until.Format(time.RFC3339), "reason", why)
		},
	})
	h.Host.SetStreamHandler(capsProtocol, nw.handleCaps)
	n.net = nw
	for _, sp := range n.spaceList() {
		if err := nw.join(sp); err != nil {
			nw.close()
			n.net = nil
			return err
		}
	}
	nw.unsub = h.Notify(nw.peerEvent)
	if !o.NoMDNS {
		if nw.mdns, err = discovery.StartMDNS(h.Host, "", nw.found, debug); err != nil {
			n.log.Warn("mDNS discovery is off", "err", err)
		}
	}
	nw.wg.Add(1)
	go nw.announce()
	n.log.Info("network up", "peer", n.id, "addrs", h.Addrs())
	return nil
}

// join starts gossip and sync for a space.
func (nw *network) join(sp *space) error {
	if err := nw.gossip.Join(sp.id(), gossipHandler{sp}); err != nil {
		return fmt.Errorf("network: space %s: %w", sp.name, err)
	}
	nw.sync.Register(sp)
	return nil
}

func (nw *network) close() error {
	nw.cancel()
	if nw.unsub != nil {
		nw.unsub()
	}
	var errs []error
	if nw.mdns != nil {
		errs = append(errs, nw.mdns.Close())
	}
	nw.wg.Wait()
	nw.sync.Close()
	errs = append(errs, nw.gossip.Close(), nw.host.Close())
	return errors.Join(errs...)
}

// found connects to a peer mDNS found.
func (nw *network) found(info peer.AddrInfo) {
	ctx, cancel := context.WithTimeout(nw.ctx, 10*time.Second)
	defer cancel()
	if err := nw.host.Host.Connect(ctx, info); err != nil {
		nw.n.log.Debug("connect to a LAN peer", "peer", info.ID, "err", err)
	}
}

// peerEvent starts syncing every space with a new peer and tells it our heads.
// Of the two peers, the one with the smaller ID starts the sync (it runs both ways).
func (nw *network) peerEvent(ev nethost.PeerEvent) {
	if ev.Kind != nethost.PeerConnected {
		return
	}
	for _, sp := range nw.n.spaceList() {
		if nw.n.id < ev.Peer {
			nw.kick(ev.Peer, sp)
		}
		nw.presentAsync(ev.Peer, sp)
	}
	nw.wg.Add(1)
	go func() {
		defer nw.wg.Done()
		nw.announceAll()
	}()
}

// announce publishes every space's heads every HeadsInterval.
func (nw *network) announce() {
	defer nw.wg.Done()
	t := time.NewTicker(nw.opts.HeadsInterval)
	defer t.Stop()
	for {
		select {
		case <-nw.ctx.Done():
			return
		case <-t.C:
			nw.announceAll()
			nw.pingAll()
		}
	}
}

// pingAll pings every connected peer once, which records its latency in the
// peerstore (NetworkStats.Latency); the pings run concurrently, each bounded.
func (nw *network) pingAll() {
	h := nw.host.Host
	for _, p := range h.Network().Peers() {
		nw.wg.Add(1)
		go func() {
			defer nw.wg.Done()
			ctx, cancel := context.WithTimeout(nw.ctx, 5*time.Second)
			defer cancel()
			select { // one result is enough; Ping records it
			case <-ping.Ping(ctx, h, p):
			case <-ctx.Done():
			}
		}()
	}
}

func (nw *network) announceAll() {
	for _, sp := range nw.n.spaceList() {
		heads, err := sp.store.Heads()
		if err == nil {
			err = nw.gossip.PublishHeads(nw.ctx, sp.id(), heads)
		}
		if err != nil && nw.ctx.Err() == nil {
			nw.n.log.Debug("announce heads", "space", sp.name, "err", err)
		}
	}
}

// publish gossips nodes this peer just wrote.
func (nw *network) publish(sp *space, nodes []*dag.Node) {
	if nw == nil {
		return
	}
	for _, node := range nodes {
		if err := nw.gossip.PublishNode(nw.ctx, sp.id(), node.CID(), node.Bytes()); err != nil && nw.ctx.Err() == nil {
			nw.n.log.Warn("gossip a write", "space", sp.name, "node", node.CID(), "err", err)
		}
	}
	// Publishing reaches mesh peers only (flood publishing would ignore the peer
	// filter of restricted spaces); a peer on the topic but not in the mesh yet (it
	// connected since the last heartbeat) gets the writes by sync instead.
	if len(nodes) > 0 {
		mesh := nw.gossip.MeshPeers(sp.id())
		for _, p := range nw.gossip.Peers(sp.id()) {
			if !slices.Contains(mesh, p) {
				nw.kick(p, sp) // only if p may read sp
			}
		}
	}
}

// kick syncs the space with peer p soon: at once if no sync of that pair runs, or
// again once the running one ends.
func (nw *network) kick(p peer.ID, sp *space) {
	if nw == nil || p == "" || p == nw.n.id || nw.mayServe(p, sp.id()) != nil {
		return // a sync sends our nodes: only to peers that may read them
	}
	key := syncKey{p, sp.id()}
	nw.mu.Lock()
	defer nw.mu.Unlock()
	if nw.ctx.Err() != nil {
		return
	}
	if k, ok := nw.kicks[key]; ok {
		k.again = true
		return
	}
	nw.kicks[key] = &kick{}
	nw.wg.Add(1)
	go nw.syncLoop(key, sp)
}

func (nw *network) syncLoop(key syncKey, sp *space) {
	defer nw.wg.Done()
	for {
		select {
		case nw.sem <- struct{}{}:
		case <-nw.ctx.Done():
			nw.mu.Lock()
			delete(nw.kicks, key)
			nw.mu.Unlock()
			return
		}
		ctx, cancel := context.WithTimeout(nw.ctx, nw.opts.SyncTimeout)
		res, err := nw.sync.Sync(ctx, key.p, key.space)
		cancel()
		<-nw.sem
		if err != nil && nw.ctx.Err() == nil {
			nw.n.log.Debug("sync", "space", sp.name, "peer", key.p, "err", err)
		} else if err == nil {
			nw.n.log.Debug("synced", "space", sp.name, "peer", key.p, "received", res.NodesReceived, "sent", res.NodesSent)
		}
		nw.mu.Lock()
		k := nw.kicks[key]
		if !k.again || nw.ctx.Err() != nil {
			delete(nw.kicks, key)
			nw.mu.Unlock()
			return
		}
		k.again = false
		nw.mu.Unlock()
	}
}

// spaceList returns the attached spaces.
func (n *Node) spaceList() []*space {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]*space, 0, len(n.spaces))
	for _, sp := range n.spaces {
		out = append(out, sp)
	}
	return out
}

// Addrs returns this peer's full addresses (with /p2p/<id>) to give to other peers'
// Connect or Bootstrap; nil without a network.
func (n *Node) Addrs() []string {
	if n.net == nil {
		return nil
	}
	var out []string
	for _, a := range n.net.host.Addrs() {
		out = append(out, a.String())
	}
	return out
}

// Connect connects to the peer at addr (a full multiaddr with /p2p/<id>) and keeps
// it connected, redialing with backoff when it drops.
func (n *Node) Connect(ctx context.Context, addr string) (peer.ID, error) {
	if n.net == nil {
		return "", ErrNoNetwork
	}
	return n.net.host.Connect(ctx, addr)
}

// SyncWith runs one sync session of space with peer p now, both ways, and returns
// what it moved.
func (n *Node) SyncWith(ctx context.Context, p peer.ID, spaceName string) (syncproto.Result, error) {
	if n.net == nil {
		return syncproto.Result{}, ErrNoNetwork
	}
	sp, err := n.space(spaceName)
	if err != nil {
		return syncproto.Result{}, err
	}
	if err := n.net.mayServe(p, sp.id()); err != nil {
		return syncproto.Result{}, fmt.Errorf("sync %s with %s: %w", sp.name, p, err)
	}
	return n.net.sync.Sync(ctx, p, sp.id())
}

// BlockPeer refuses and drops every connection with peer p until UnblockPeer: the
// testnet partitions peers with it.
func (n *Node) BlockPeer(p peer.ID) error {
	if n.net == nil {
		return ErrNoNetwork
	}
	n.net.host.Gater().Block(p)
	return nil
}

// UnblockPeer lifts BlockPeer.
func (n *Node) UnblockPeer(p peer.ID) error {
	if n.net == nil {
		return ErrNoNetwork
	}
	n.net.host.Gater().Unblock(p)
	return nil
}

// NetworkStats are a Node's network totals.
type NetworkStats struct {
	PeerID   string
	Addrs    []string
	BytesOut int64 // sent by the libp2p host since Open, all protocols
	BytesIn  int64
	// Connected are the peers connected now; Peers are the peers synced with (or
	// refused) since Open, per space: in sync, behind by N nodes, bytes and nodes
	// moved.
	Connected []peer.ID
	Peers     []PeerStatus
	// Latency is the measured round trip to each connected peer (identify and
	// ping keep it), and PeerAddrs the addresses known for it.
	Latency   map[peer.ID]time.Duration
	PeerAddrs map[peer.ID][]string
}

// PeerStatus is one connected or recently synced peer, per space.
type PeerStatus = syncproto.PeerStatus

// NetworkStats returns the network's totals and each peer's sync status; the zero
// NetworkStats without a network.
func (n *Node) NetworkStats() NetworkStats {
	if n.net == nil {
		return NetworkStats{}
	}
	st := NetworkStats{PeerID: n.id.String(), Addrs: n.Addrs(), Peers: n.net.sync.Status(),
		Connected: n.net.host.Host.Network().Peers()}
	st.BytesOut, st.BytesIn = n.net.host.Bandwidth()
	ps := n.net.host.Host.Peerstore()
	st.Latency, st.PeerAddrs = map[peer.ID]time.Duration{}, map[peer.ID][]string{}
	for _, p := range st.Connected {
		st.Latency[p] = ps.LatencyEWMA(p)
		for _, a := range ps.Addrs(p) {
			st.PeerAddrs[p] = append(st.PeerAddrs[p], a.String()+"/p2p/"+p.String())
		}
	}
	return st
}
