package host

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

type msgKind int

const (
	msgKeep         msgKind = iota + 1 // keep peer at addrs
	msgForget                          // stop keeping peer
	msgConnected                       // peer's first connection opened
	msgDisconnected                    // peer's last connection closed
	msgDialed                          // the keeper's dial of peer ended with err
	msgUnblocked                       // the gater unblocked peer
)

// keepMsg is one input of the keeper, which owns all kept-peer state.
type keepMsg struct {
	kind  msgKind
	peer  peer.ID
	addrs []ma.Multiaddr
	err   error
}

// kept is the keeper's state for one peer it keeps connected.
type kept struct {
	addrs     []ma.Multiaddr
	connected bool
	since     time.Time // when connected last became true
	dialing   bool      // a dial is under way
	due       time.Time // when to dial next; zero if no dial is scheduled
	bo        backoff
	warned    bool // Warn was told it is unreachable, since it last connected
}

// keeper redials kept peers when they disconnect, until Close. Its inputs come from
// the queue, its timer is the earliest scheduled redial; it never waits otherwise.
func (h *Host) keeper() {
	defer h.wg.Done()
	peers := make(map[peer.ID]*kept)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		now := time.Now()
		for _, m := range h.inbox.drain() {
			h.handle(peers, m, now)
		}
		var next time.Time
		for id, k := range peers {
			if k.due.IsZero() || k.dialing || k.connected {
				continue
			}
			if k.due.After(now) {
				if next.IsZero() || k.due.Before(next) {
					next = k.due
				}
				continue
			}
			k.due = time.Time{}
			if h.gater.IsBlocked(id) {
				continue // parked until Unblock
			}
			k.dialing = true
			h.wg.Add(1)
			go h.dial(id, append([]ma.Multiaddr(nil), k.addrs...))
		}
		if !next.IsZero() {
			timer.Reset(next.Sub(now))
		}
		select {
		case <-h.ctx.Done():
			return
		case <-h.inbox.ready:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// handle applies one input to the kept peers.
func (h *Host) handle(peers map[peer.ID]*kept, m keepMsg, now time.Time) {
	k := peers[m.peer]
	switch m.kind {
	case msgKeep:
		if k == nil {
			k = &kept{bo: backoff{min: h.cfg.RedialMin, max: h.cfg.RedialMax}}
			peers[m.peer] = k
			h.Host.ConnManager().Protect(m.peer, keepTag)
			// Its connection may have come and gone before this message: ask.
			if h.Host.Network().Connectedness(m.peer) == network.Connected {
				k.connected, k.since = true, now
			} else {
				k.due = now
			}
		}
		k.addrs = mergeAddrs(k.addrs, m.addrs)
	case msgForget:
		if k != nil {
			delete(peers, m.peer)
			h.Host.ConnManager().Unprotect(m.peer, keepTag)
		}
	case msgConnected:
		if h.gater.IsBlocked(m.peer) {
			// Blocked while this connection was being set up, past the gater's checks.
			_ = h.Host.Network().ClosePeer(m.peer)
		}
		if k != nil && !k.connected {
			k.connected, k.since, k.due, k.warned = true, now, time.Time{}, false
		}
	case msgDisconnected:
		if k == nil || !k.connected {
			return
		}
		k.connected = false
		if now.Sub(k.since) >= h.cfg.RedialReset {
			k.bo.reset()
		}
		if !k.dialing {
			h.schedule(m.peer, k, now, nil)
		}
	case msgDialed:
		if k == nil {
			return
		}
		k.dialing = false
		if m.err != nil {
			h.cfg.Debug("redial failed", "peer", m.peer, "err", m.err)
		}
		if !k.connected {
			// Failed, or connected and already dropped again.
			h.schedule(m.peer, k, now, m.err)
		}
	case msgUnblocked:
		if k != nil && !k.connected && !k.dialing {
			k.bo.reset()
			k.due = now
		}
	}
}

// schedule sets k's next redial after a backoff delay, unless k is blocked: a
// blocked peer is parked until Unblock.
func (h *Host) schedule(id peer.ID, k *kept, now time.Time, err error) {
	if h.gater.IsBlocked(id) {
		k.due = time.Time{}
		return
	}
	d := k.bo.next(rand.Float64())
	k.due = now.Add(d)
	h.cfg.Debug("redial scheduled", "peer", id, "in", d)
	if err != nil && k.bo.atMax() && !k.warned {
		k.warned = true
		h.cfg.Warn("kept peer unreachable; still retrying", "peer", id, "err", err)
	}
}

// dial is the keeper's dial of one kept peer; its result goes back to the keeper.
func (h *Host) dial(id peer.ID, addrs []ma.Multiaddr) {
	defer h.wg.Done()
	ctx, cancel := context.WithTimeout(h.ctx, h.cfg.DialTimeout)
	defer cancel()
	// Our backoff paces the redials; the swarm's own (5 s and up per address after a
	// failure) would only delay reconnecting to a peer that restarted.
	ctx = network.WithForceDirectDial(ctx, "korup2p keeper")
	h.cfg.Debug("redialing kept peer", "peer", id)
	err := h.Host.Connect(ctx, peer.AddrInfo{ID: id, Addrs: addrs})
	h.inbox.push(keepMsg{kind: msgDialed, peer: id, err: err})
}
