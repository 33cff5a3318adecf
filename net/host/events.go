package host

import (
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// PeerEventKind says what happened to a peer.
type PeerEventKind int

const (
	// PeerConnected: the first connection to the peer opened.
	PeerConnected PeerEventKind = iota + 1
	// PeerDisconnected: the last connection to the peer closed.
	PeerDisconnected
)

func (k PeerEventKind) String() string {
	switch k {
	case PeerConnected:
		return "connected"
	case PeerDisconnected:
		return "disconnected"
	}
	return "PeerEventKind(?)"
}

// PeerEvent is a peer becoming connected or disconnected. For each peer the events
// alternate, starting with PeerConnected.
type PeerEvent struct {
	Peer peer.ID
	Kind PeerEventKind
	// Addr is the remote address of the connection that opened first or closed last.
	Addr ma.Multiaddr
}

// Notify calls fn with every PeerEvent from now until cancel is called or the Host
// closes. Events are delivered in order, on one goroutine shared by all
// subscribers and apart from the network's, so fn must return promptly (start a
// goroutine for a sync). An event being delivered when cancel is called may still
// reach fn.
func (h *Host) Notify(fn func(PeerEvent)) (cancel func()) {
	h.subMu.Lock()
	id := h.nextSub
	h.nextSub++
	h.subs[id] = fn
	h.subMu.Unlock()
	return func() {
		h.subMu.Lock()
		delete(h.subs, id)
		h.subMu.Unlock()
	}
}

// onConnected and onDisconnected are the network notifiee's callbacks, called on
// libp2p's goroutines: they only count and queue.
func (h *Host) onConnected(_ network.Network, c network.Conn) {
	h.connMu.Lock()
	h.addConn(c)
	h.connMu.Unlock()
}

func (h *Host) onDisconnected(_ network.Network, c network.Conn) {
	h.connMu.Lock()
	defer h.connMu.Unlock()
	p := c.RemotePeer()
	set := h.conns[p]
	if _, ok := set[c]; !ok {
		return
	}
	delete(set, c)
	if len(set) == 0 {
		delete(h.conns, p)
		h.transition(PeerEvent{Peer: p, Kind: PeerDisconnected, Addr: c.RemoteMultiaddr()})
	}
}

// addConn records c. The caller holds connMu.
func (h *Host) addConn(c network.Conn) {
	p := c.RemotePeer()
	set := h.conns[p]
	if set == nil {
		set = make(map[network.Conn]struct{})
		h.conns[p] = set
	}
	if _, ok := set[c]; ok {
		return
	}
	set[c] = struct{}{}
	if len(set) == 1 {
		h.transition(PeerEvent{Peer: p, Kind: PeerConnected, Addr: c.RemoteMultiaddr()})
	}
}

// transition hands a peer's change to the keeper and the subscribers. The caller
// holds connMu, so both see each peer's changes in the order they happened.
func (h *Host) transition(ev PeerEvent) {
	kind := msgDisconnected
	if ev.Kind == PeerConnected {
		kind = msgConnected
	}
	h.inbox.push(keepMsg{kind: kind, peer: ev.Peer})
	h.outbox.push(ev)
}

// dispatcher delivers PeerEvents to the subscribers until Close.
func (h *Host) dispatcher() {
	defer h.wg.Done()
	var subs []func(PeerEvent)
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-h.outbox.ready:
		}
		for _, ev := range h.outbox.drain() {
			subs = subs[:0]
			h.subMu.Lock()
			for _, fn := range h.subs {
				subs = append(subs, fn)
			}
			h.subMu.Unlock()
			for _, fn := range subs {
				if h.ctx.Err() != nil {
					return
				}
				fn(ev)
			}
		}
	}
}
