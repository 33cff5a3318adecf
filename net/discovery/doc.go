// Package discovery finds korup2p peers on the local network.
//
// StartMDNS runs go-libp2p's mDNS service over a libp2p host: it announces the host's
// addresses under a service name (DefaultServiceName, "korup2p") and reports every
// other host announcing the same one. It only reports: the caller decides whether to
// connect. DESIGN.md "Network": mDNS finds LAN peers and can be turned off (by not
// starting it), and then the daemon dials only the peers it is given.
//
// mDNS multicasts on every interface that allows it, so its test runs only inside
// network namespaces it creates (as root, with iproute2), and is skipped elsewhere.
//
// # Usage
//
//	closer, err := discovery.StartMDNS(h.Host, "", func(info peer.AddrInfo) {
//		go h.Host.Connect(ctx, info)
//	}, func(msg string, kv ...any) { logger.Debug(msg, kv...) })
//	if err != nil {
//		return err
//	}
//	defer closer.Close() // before closing h
package discovery
