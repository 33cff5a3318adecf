package host

import (
	"slices"
	"sync"
	"time"

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
//
// Besides the blocks an operator sets, a Gater holds bans: a peer refused for a
// while because it misbehaved (Ban). A ban ends on its own; a block lasts until
// Unblock. The two are kept apart, so that a ban ending never lifts a block.
type Gater struct {
	mu      sync.RWMutex
	blocked map[peer.ID]struct{}
	banned  map[peer.ID]time.Time // until when
	owner   *Host                 // the Host using the gater, nil if none
	net     network.Network       // owner's network, once it exists
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

// Ban refuses p's connections until the time until and closes those open. A later
// Ban of p replaces the earlier one's end.
func (g *Gater) Ban(p peer.ID, until time.Time) {
	now := time.Now()
	g.mu.Lock()
	if g.banned == nil {
		g.banned = make(map[peer.ID]time.Time)
	}
	for q, end := range g.banned { // the ended bans go, so the map holds current ones only
		if !now.Before(end) {
			delete(g.banned, q)
		}
	}
	g.banned[p] = until
	n := g.net
	g.mu.Unlock()
	if n != nil && now.Before(until) {
		_ = n.ClosePeer(p) // as in Block
	}
}

// BannedUntil returns the end of p's ban, or the zero time if p is not banned.
func (g *Gater) BannedUntil(p peer.ID) time.Time {
	g.mu.RLock()
	end, ok := g.banned[p]
	g.mu.RUnlock()
	if !ok || !time.Now().Before(end) {
		return time.Time{}
	}
	return end
}

// refuses reports whether p is blocked or banned.
func (g *Gater) refuses(p peer.ID) bool {
	g.mu.RLock()
	_, blocked := g.blocked[p]
	end, banned := g.banned[p]
	g.mu.RUnlock()
	return blocked || banned && time.Now().Before(end)
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

// InterceptPeerDial refuses dials to a blocked or banned peer.
func (g *Gater) InterceptPeerDial(p peer.ID) bool { return !g.refuses(p) }

// InterceptAddrDial refuses dials to a blocked or banned peer.
func (g *Gater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return !g.refuses(p) }

// InterceptAccept allows every inbound connection: its peer is not known yet.
func (g *Gater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

// InterceptSecured refuses a connection, either way, once it is known to be a
// blocked or banned peer's.
func (g *Gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return !g.refuses(p)
}

// InterceptUpgraded refuses a blocked or banned peer's connection, for one refused
// while it was being upgraded.
func (g *Gater) InterceptUpgraded(c network.Conn) (bool, control.DisconnectReason) {
	return !g.refuses(c.RemotePeer()), 0
}
