package discovery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
)

// DefaultServiceName is the mDNS service korup2p peers announce and look for when
// StartMDNS is given none.
const DefaultServiceName = "korup2p"

// StartMDNS announces h on the LAN by mDNS, under serviceName (default
// DefaultServiceName), and looks for other hosts announcing the same, calling onPeer
// with each one found: its ID and the addresses it announced. onPeer is never called
// with h itself, is called on one goroutine at a time and may be called again for a
// peer already found (announcements repeat); the caller decides whether to connect.
// debug, if not nil, receives debug messages with keyvals as charmbracelet/log and
// log/slog take them.
//
// mDNS multicasts on every interface that allows it. Close stops announcing and
// looking, and returns once onPeer has returned for the last time.
func StartMDNS(h host.Host, serviceName string, onPeer func(peer.AddrInfo), debug func(msg string, keyvals ...any)) (io.Closer, error) {
	if h == nil || onPeer == nil {
		return nil, errors.New("mdns: a host and an onPeer function are required")
	}
	if serviceName == "" {
		serviceName = DefaultServiceName
	}
	if debug == nil {
		debug = func(string, ...any) {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &mdnsDiscovery{
		self:   h.ID(),
		onPeer: onPeer,
		debug:  debug,
		ctx:    ctx,
		cancel: cancel,
		ready:  make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	d.svc = mdns.NewMdnsService(h, serviceName, d)
	if err := d.svc.Start(); err != nil {
		d.svc.Close()
		cancel()
		return nil, fmt.Errorf("mdns: %w", err)
	}
	go d.deliver()
	debug("mdns started", "service", serviceName)
	return d, nil
}

// mdnsDiscovery hands the peers libp2p's mDNS service finds to onPeer, from a
// goroutine of its own: the service calls HandlePeerFound on goroutines it does not
// wait for, which may outlive Close.
type mdnsDiscovery struct {
	svc    mdns.Service
	self   peer.ID
	onPeer func(peer.AddrInfo)
	debug  func(msg string, keyvals ...any)

	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	found  []peer.AddrInfo
	ready  chan struct{} // has a value when found may be non-empty
	done   chan struct{} // closed when deliver returns

	closeOnce sync.Once
}

// HandlePeerFound implements mdns.Notifee.
func (d *mdnsDiscovery) HandlePeerFound(info peer.AddrInfo) {
	if info.ID == d.self || info.ID == "" || d.ctx.Err() != nil {
		return
	}
	d.mu.Lock()
	d.found = append(d.found, info)
	d.mu.Unlock()
	select {
	case d.ready <- struct{}{}:
	default:
	}
}

func (d *mdnsDiscovery) deliver() {
	defer close(d.done)
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-d.ready:
		}
		d.mu.Lock()
		found := d.found
		d.found = nil
		d.mu.Unlock()
		for _, info := range found {
			if d.ctx.Err() != nil {
				return
			}
			d.debug("mdns found peer", "peer", info.ID, "addrs", info.Addrs)
			d.onPeer(info)
		}
	}
}

// Close stops mDNS and waits for onPeer to return. It is safe to call more than once.
func (d *mdnsDiscovery) Close() error {
	d.closeOnce.Do(func() {
		d.svc.Close()
		d.cancel()
		<-d.done
	})
	return nil
}
