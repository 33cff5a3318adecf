// Package host builds korup2p's libp2p host and keeps its peers connected.
//
// It owns one libp2p host per daemon (DESIGN.md "Network"): TCP and QUIC (quic-v1)
// listeners, Noise and TLS security, yamux, identify and ping, the resource manager
// with libp2p's scaled default limits, and a connection manager (water marks
// Config.ConnLow and ConnHigh, grace Config.ConnGrace). Relay, hole punching, AutoNAT
// and NAT port mapping (UPnP, NAT-PMP) are off, and there is no routing: the host
// dials only the peers it is given, never a public bootstrap list. TCP dials leave
// from ephemeral ports, so that two peers dialing each other at once get two
// connections rather than one broken simultaneous open.
//
// It does not own the peer's identity (the root package keeps the key in the data
// directory and passes it in Config.Key), LAN discovery (net/discovery finds peers;
// the caller connects), nor any protocol spoken over the connections.
//
// # Kept peers
//
// Connect dials a full address (/ip4/…/tcp/…/p2p/<id>; see ParseAddr) and, once
// connected, keeps the peer, as New does for Config.Bootstrap. One keeper goroutine
// watches the network's notifications and redials a kept peer whenever its last
// connection closes: first after about Config.RedialMin, then doubling up to
// Config.RedialMax, each delay jittered to between half and all of its ceiling. A
// connection that lasted Config.RedialReset starts the delays again from the bottom.
// Forget stops keeping a peer. Kept peers are protected from the connection
// manager's trimming.
//
// # Gating
//
// Every Host has a Gater (Config.Gater, or its own). A blocked peer's dials fail, its
// inbound connections are refused once the security handshake names it, and Block
// closes the connections open. The keeper parks a blocked kept peer instead of
// redialing it, and Unblock redials it at once. The testnet partitions peers this
// way. Ban refuses a peer the same way until a given time — the root package bans a
// peer the sync service refuses for misbehaviour; bans and blocks are kept apart,
// so a ban that ends never lifts a block, and a banned kept peer is redialed with
// the usual delays (each dial fails until the ban ends). The gater's checks take a
// read lock and nothing else.
//
// # Events
//
// Notify delivers a PeerEvent when a peer's first connection opens (PeerConnected)
// and when its last closes (PeerDisconnected): per peer they alternate. The root
// package starts a sync on each PeerConnected. Events reach subscribers on one
// goroutine of their own, in order, never on libp2p's; a subscriber must return
// promptly, and Close waits for it.
//
// # Lifetime
//
// New starts two goroutines (the keeper and the event dispatcher), and the keeper a
// short-lived one per dial; Close cancels them all, waits for them, then closes the
// libp2p host. Use Host.Host, the libp2p host, for streams, pubsub and the peerstore,
// but close it only through Host.Close.
//
// # Usage
//
//	h, err := host.New(host.Config{
//		Key:       key, // the peer identity from the data directory
//		Bootstrap: bootstrapFlag,
//		Warn:      func(msg string, kv ...any) { logger.Warn(msg, kv...) }, // charmbracelet/log
//		Debug:     func(msg string, kv ...any) { logger.Debug(msg, kv...) },
//	})
//	if err != nil {
//		return err
//	}
//	defer h.Close()
//	cancel := h.Notify(func(ev host.PeerEvent) {
//		if ev.Kind == host.PeerConnected {
//			go syncWith(ev.Peer)
//		}
//	})
//	defer cancel()
//	for _, a := range h.Addrs() {
//		fmt.Println(a) // /ip4/192.168.1.7/tcp/41234/p2p/12D3KooW…
//	}
//	id, err := h.Connect(ctx, "/ip4/192.168.1.8/udp/4001/quic-v1/p2p/12D3KooW…")
//	...
//	h.Gater().Block(id) // refuse it, and drop its connections
//	h.Gater().Unblock(id) // the keeper reconnects
package host
