package host

import (
	"slices"
	"sync"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Gater is a connection gater that refuses blocked peers: their dials fail, their
// inbound connections are closed as soon as their identity is known (after the
// security handshake), and Block closes the connections already open. The zero
// value blocks nothing and is ready to use; all methods are safe for concurrent use
// and the checks libp2p calls on every connection take only a read lock.
//
// A Gater serves one open Host at a time (Config.Gater; by default New makes one,
// returned by Host.Gater). Peers may be blocked before the Host exists.
type Gater struct {
	mu      sync.RWMutex
	blocked map[peer.ID]struct{}
	owner   *Host           // the Host using the gater, nil if none
	net     network.Network // owner's network, once it exists
}

var _ connmgr.ConnectionGater = (*Gater)(nil)

// Block refuses p's connections from now on and closes those open, until Unblock.
func (g *Gater) Block(p peer.ID) {
	g.mu.Lock()
	if g.blocked == nil {
		g.blocked = make(map[peer.ID]struct{})
	}
	g.blocked[p] = struct{}{}
	n := g.net
	g.mu.Unlock()
	if n != nil {
		_ = n.ClosePeer(p) // an error here is a connection that failed to close cleanly; it is gone either way
	}
}

// Unblock lets p connect again. If p is a kept peer (see Host.Connect), its Host
// redials it at once.
func (g *Gater) Unblock(p peer.ID) {
	g.mu.Lock()
	_, was := g.blocked[p]
	delete(g.blocked, p)
	owner := g.owner
	g.mu.Unlock()
	if was && owner != nil {
		owner.unblocked(p)
	}
}

// IsBlocked reports whether p is blocked.
func (g *Gater) IsBlocked(p peer.ID) bool {
	g.mu.RLock()
	_, ok := g.blocked[p]
	g.mu.RUnlock()
	return ok
}

// Blocked returns the blocked peers, sorted.
func (g *Gater) Blocked() []peer.ID {
	g.mu.RLock()
	out := make([]peer.ID, 0, len(g.blocked))
	for p := range g.blocked {
		out = append(out, p)
	}
	g.mu.RUnlock()
	slices.Sort(out)
	return out
}

// claim makes h the gater's owner, failing if another Host holds it.
func (g *Gater) claim(h *Host) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.owner != nil {
		return ErrGaterInUse
	}
	g.owner = h
	return nil
}

// attach gives the gater its owner's network, for Block to close connections.
func (g *Gater) attach(n network.Network) {
	g.mu.Lock()
	g.net = n
	g.mu.Unlock()
}

// release frees the gater for another Host; the blocked set stays.
func (g *Gater) release(h *Host) {
	g.mu.Lock()
	if g.owner == h {
		g.owner, g.net = nil, nil
	}
	g.mu.Unlock()
}

// InterceptPeerDial refuses dials to a blocked peer.
func (g *Gater) InterceptPeerDial(p peer.ID) bool { return !g.IsBlocked(p) }

// InterceptAddrDial refuses dials to a blocked peer.
func (g *Gater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return !g.IsBlocked(p) }

// InterceptAccept allows every inbound connection: its peer is not known yet.
func (g *Gater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

// InterceptSecured refuses a connection, either way, once it is known to be a
// blocked peer's.
func (g *Gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return !g.IsBlocked(p)
}

// InterceptUpgraded refuses a blocked peer's connection, for one blocked while it
// was being upgraded.
func (g *Gater) InterceptUpgraded(c network.Conn) (bool, control.DisconnectReason) {
	return !g.IsBlocked(c.RemotePeer()), 0
}
