package korup2p

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ipfs/go-cid"
	libnet "github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/caps"
	"github.com/korup2p/korup2p/distinctions"
)

// The capability exchange: when two peers connect (and when a peer joins a space),
// each presents, for every restricted space it holds a capability in, its chain of
// tokens, so that the other may serve it that space (sync and gossip) before the
// tokens reach it through the space itself. A presented chain only ever decides
// reads; writes are decided by the tokens in the DAG.

// capsProtocol is the stream protocol of the exchange: one capsHello, one capsReply.
const capsProtocol = "/korup2p/caps/1.0.0"

// capsTimeout bounds one exchange.
const capsTimeout = 10 * time.Second

// maxCapsMessage bounds a message: MaxDepth tokens fit with room to spare.
const maxCapsMessage = 64 << 10

type capsHello struct {
	Space distinctions.Link `cbor:"space"`
	Chain [][]byte          `cbor:"chain"` // leaf first
}

type capsReply struct {
	OK     bool   `cbor:"ok"`
	Reason string `cbor:"reason,omitempty"`
	Detail string `cbor:"detail,omitempty"`
}

func writeMsg(w io.Writer, v any) error {
	b, err := distinctions.Marshal(v)
	if err != nil {
		return err
	}
	hdr := binary.AppendUvarint(nil, uint64(len(b)))
	_, err = w.Write(append(hdr, b...))
	return err
}

func readMsg(r *bufio.Reader, v any) error {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return err
	}
	if n > maxCapsMessage {
		return fmt.Errorf("a message of %d bytes exceeds %d", n, maxCapsMessage)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return err
	}
	return distinctions.Decode(b, v, distinctions.Limits{MaxBytes: maxCapsMessage})
}

// handleCaps answers a peer's presented chain.
func (nw *network) handleCaps(s libnet.Stream) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(capsTimeout))
	p := s.Conn().RemotePeer()
	var hello capsHello
	if err := readMsg(bufio.NewReader(s), &hello); err != nil {
		_ = s.Reset()
		return
	}
	reply := capsReply{OK: true}
	sp := nw.n.held(hello.Space.Cid)
	err := func() error {
		switch {
		case sp == nil:
			return &caps.Denied{Reason: caps.ReasonWrongSpace, Detail: "this peer does not hold the space"}
		case sp.acc == nil:
			return nil
		case len(hello.Chain) > caps.MaxDepth:
			return &caps.Denied{Reason: caps.ReasonTooDeep, Detail: fmt.Sprintf("%d tokens", len(hello.Chain))}
		}
		chain := make([]*caps.Token, len(hello.Chain))
		for i, b := range hello.Chain {
			t, err := caps.Decode(b, distinctions.DefaultLimits)
			if err != nil {
				return &caps.Denied{Reason: caps.ReasonBrokenChain, Detail: err.Error()}
			}
			chain[i] = t
		}
		return sp.acc.present(p, chain, time.Now())
	}()
	if err != nil {
		reply = capsReply{Reason: string(reasonOf(err)), Detail: err.Error()}
		var d *caps.Denied
		if errors.As(err, &d) {
			reply.Detail = d.Detail
		}
		nw.n.log.Debug("refused a presented capability", "peer", p, "space", hello.Space.Cid, "err", err)
	}
	_ = writeMsg(s, reply)
	if err == nil && sp != nil {
		nw.kick(p, sp)
		if !nw.shown(p, sp) { // it may not know that we may read: show it, once
			nw.presentAsync(p, sp)
		}
	}
}

// present shows peer p this peer's chain for sp, if sp is restricted and this peer
// holds a capability to read it (the owner needs none).
func (nw *network) present(ctx context.Context, p peer.ID, sp *space) error {
	if sp.acc == nil || sp.acc.owner == nw.n.id {
		return nil
	}
	leaf, err := sp.acc.leafFor(nw.n.id, caps.Read, nil, nil, time.Now())
	if err != nil {
		return nil // nothing to show
	}
	// Marked before sending, so that a peer presenting back meanwhile is not
	// answered with a second presentation; unmarked if this one fails.
	key := syncKey{p, sp.id()}
	nw.mu.Lock()
	nw.shownTo[key] = true
	nw.mu.Unlock()
	ok := false
	defer func() {
		if !ok {
			nw.mu.Lock()
			delete(nw.shownTo, key)
			nw.mu.Unlock()
		}
	}()
	hello := capsHello{Space: distinctions.Link{Cid: sp.id()}}
	for _, c := range chainOf(leaf, sp.acc.resolve) {
		t, err := sp.acc.resolve(c)
		if err != nil {
			return err
		}
		hello.Chain = append(hello.Chain, t.Bytes())
	}
	ctx, cancel := context.WithTimeout(ctx, capsTimeout)
	defer cancel()
	s, err := nw.host.Host.NewStream(ctx, p, capsProtocol)
	if err != nil {
		return err
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(capsTimeout))
	if err := writeMsg(s, hello); err != nil {
		return err
	}
	var reply capsReply
	if err := readMsg(bufio.NewReader(s), &reply); err != nil {
		return err
	}
	if !reply.OK {
		return fmt.Errorf("%w: %s: %s", caps.ErrDenied, reply.Reason, reply.Detail)
	}
	ok = true
	nw.kick(p, sp) // it serves us now; the smaller ID may not have started
	return nil
}

// presentAll presents sp's chain to every connected peer, in the background.
func (nw *network) presentAll(sp *space) {
	if nw == nil || sp.acc == nil {
		return
	}
	for _, p := range nw.host.Host.Network().Peers() {
		nw.presentAsync(p, sp)
	}
}

func (nw *network) presentAsync(p peer.ID, sp *space) {
	nw.wg.Add(1)
	go func() {
		defer nw.wg.Done()
		if err := nw.present(nw.ctx, p, sp); err != nil && nw.ctx.Err() == nil {
			nw.n.log.Debug("present a capability", "peer", p, "space", sp.name, "err", err)
		}
	}()
}

// mayServe reports whether p may be served space (sync and gossip): always for an
// open space, else if it proved a read capability.
// It takes no Node lock: pubsub calls it from its event loop, which attaching a
// space waits for.
func (nw *network) mayServe(p peer.ID, space cid.Cid) error {
	a, ok := nw.n.accs.Load(space)
	if !ok {
		return nil // open, or not held (then there is nothing to serve)
	}
	return a.(*access).mayRead(p, time.Now())
}

// dropReaders closes the connections of peers in sp's gossip mesh that may no
// longer read it (a revocation withdrew their capability): pubsub keeps mesh peers
// until they leave, and a new connection starts with the peer filter.
func (nw *network) dropReaders(sp *space) {
	if nw == nil || sp.acc == nil {
		return
	}
	for _, p := range nw.gossip.MeshPeers(sp.id()) {
		if err := sp.acc.mayRead(p, time.Now()); err != nil {
			nw.n.log.Info("a peer may no longer read the space: disconnecting it", "peer", p, "space", sp.name, "reason", reasonOf(err))
			_ = nw.host.Host.Network().ClosePeer(p)
		}
	}
}

// revoked reacts to a change of the revocations that count in sp: peers that may
// no longer read it are dropped from its mesh, in the background.
func (nw *network) revoked(sp *space) {
	if nw == nil || nw.ctx.Err() != nil {
		return
	}
	nw.wg.Add(1)
	go func() {
		defer nw.wg.Done()
		nw.dropReaders(sp)
	}()
}

// shown reports whether this peer presented its chain for sp to p already (since
// connecting, or joining sp).
func (nw *network) shown(p peer.ID, sp *space) bool {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	return nw.shownTo[syncKey{p, sp.id()}]
}
