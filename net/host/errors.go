package host

import (
	"errors"
	"fmt"
)

// ErrMalformedAddr means an address is not a multiaddr at all.
var ErrMalformedAddr = errors.New("malformed multiaddr")

// ErrNoPeerID means an address lacks its /p2p/<peer id> part, without which the peer
// dialed cannot be authenticated.
var ErrNoPeerID = errors.New("no /p2p/<peer id> part")

// ErrNoTransport means an address is only /p2p/<peer id>, with nothing to dial.
var ErrNoTransport = errors.New("no transport address before /p2p")

// ErrSelf means an address names this host itself.
var ErrSelf = errors.New("address of this host itself")

// ErrClosed means the Host was closed.
var ErrClosed = errors.New("host closed")

// ErrGaterInUse means a Gater given in Config already serves another open Host.
var ErrGaterInUse = errors.New("gater already in use by another host")

// AddrError is the error of an address that cannot be dialed as given: the address
// and why. It wraps ErrMalformedAddr (and the parser's error), ErrNoPeerID,
// ErrNoTransport or ErrSelf.
type AddrError struct {
	Addr string
	Err  error
}

func (e *AddrError) Error() string { return fmt.Sprintf("address %q: %v", e.Addr, e.Err) }

func (e *AddrError) Unwrap() error { return e.Err }
