package host

import (
	"fmt"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// ParseAddr parses a full peer address, a transport multiaddr followed by the peer's
// ID (/ip4/192.168.1.7/tcp/4001/p2p/12D3KooW…), as Connect and Config.Bootstrap take
// it. Errors are *AddrError.
func ParseAddr(s string) (peer.AddrInfo, error) {
	m, err := ma.NewMultiaddr(strings.TrimSpace(s))
	if err != nil {
		return peer.AddrInfo{}, &AddrError{Addr: s, Err: fmt.Errorf("%w: %w", ErrMalformedAddr, err)}
	}
	transport, id := peer.SplitAddr(m)
	if id == "" {
		return peer.AddrInfo{}, &AddrError{Addr: s, Err: ErrNoPeerID}
	}
	if len(transport) == 0 {
		return peer.AddrInfo{}, &AddrError{Addr: s, Err: ErrNoTransport}
	}
	return peer.AddrInfo{ID: id, Addrs: []ma.Multiaddr{transport}}, nil
}

// mergeAddrs returns have with the addresses of add it lacks appended.
func mergeAddrs(have, add []ma.Multiaddr) []ma.Multiaddr {
	for _, a := range add {
		dup := false
		for _, h := range have {
			if h.Equal(a) {
				dup = true
				break
			}
		}
		if !dup {
			have = append(have, a)
		}
	}
	return have
}
