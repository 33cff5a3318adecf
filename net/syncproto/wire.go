package syncproto

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-varint"

	"github.com/korup2p/korup2p/distinctions"
)

// Protocol limits on one message, whatever a peer's options. A peer that exceeds
// them breaks the protocol.
const (
	// MaxMessageSize bounds one message's encoding (its length prefix excluded): room
	// for one node of the largest size distinctions.DefaultLimits allows, and more.
	MaxMessageSize = 5 << 20
	// MaxBlocks bounds the blocks in one blocks or snapshot-blocks message.
	MaxBlocks = 1024
	// MaxHeads bounds the heads and cut heads in a hello, done or bye message.
	MaxHeads = 4096
	// maxPrefix bounds a bound's CID prefix.
	maxPrefix = 128
)

// msgType is the first element of a message.
type msgType uint8

const (
	msgHello      msgType = 1 // both sides, first
	msgRecon      msgType = 2 // ranges, wants, offers: ends a turn
	msgBlocks     msgType = 3 // node blocks
	msgDone       msgType = 4 // responder: nothing left, my heads: ends the session
	msgRefuse     msgType = 5 // responder: will not sync, and why
	msgSnapGet    msgType = 6 // initiator: send me your snapshot: ends a turn
	msgSnapBlocks msgType = 7 // snapshot blocks; End ends the transfer (and a turn)
	msgBye        msgType = 8 // initiator: my heads after Done
	msgMax                = msgBye
)

func (t msgType) String() string {
	switch t {
	case msgHello:
		return "hello"
	case msgRecon:
		return "recon"
	case msgBlocks:
		return "blocks"
	case msgDone:
		return "done"
	case msgRefuse:
		return "refuse"
	case msgSnapGet:
		return "snapget"
	case msgSnapBlocks:
		return "snapblocks"
	case msgBye:
		return "bye"
	}
	return fmt.Sprintf("msg(%d)", uint8(t))
}

type helloMsg struct {
	V         uint64              `cbor:"v"`
	Space     distinctions.Link   `cbor:"space"`
	Heads     []distinctions.Link `cbor:"heads,omitempty"`
	Count     uint64              `cbor:"count,omitempty"`
	Snap      *distinctions.Link  `cbor:"snap,omitempty"`
	Cut       []distinctions.Link `cbor:"cut,omitempty"`
	CutServed bool                `cbor:"cutServed,omitempty"`
	NeedSnap  bool                `cbor:"needSnap,omitempty"`
}

type wireRange struct {
	_      struct{} `cbor:",toarray"`
	Mode   uint8
	Height uint64
	Prefix []byte
	Count  uint64
	FP     []byte
	IDs    []distinctions.Link
}

type reconMsg struct {
	Ranges []wireRange         `cbor:"ranges,omitempty"`
	Want   []distinctions.Link `cbor:"want,omitempty"`
	Offer  []distinctions.Link `cbor:"offer,omitempty"`
	More   bool                `cbor:"more,omitempty"` // more wants or offers follow: do not end
}

type blocksMsg struct {
	Blocks [][]byte `cbor:"blocks"`
	Left   uint64   `cbor:"left,omitempty"` // blocks still to come in this turn
}

type headsMsg struct { // done and bye
	Heads []distinctions.Link `cbor:"heads,omitempty"`
}

type refuseMsg struct {
	Code   string `cbor:"code"`
	Reason string `cbor:"reason,omitempty"`
}

type snapGetMsg struct {
	Root distinctions.Link `cbor:"root"`
}

type snapBlocksMsg struct {
	Blocks [][]byte `cbor:"blocks,omitempty"`
	End    bool     `cbor:"end,omitempty"`
}

// Refusal codes (refuseMsg.Code).
const (
	RefuseVersion      = "version"       // unsupported protocol version
	RefuseUnknownSpace = "unknown-space" // the space is not served here
	RefuseForbidden    = "forbidden"     // Options.Authorize said no
	RefuseRateLimited  = "rate-limited"  // too many sessions from this peer
	RefuseBusy         = "busy"          // a session for this peer and space is running
)

type linkT = distinctions.Link

func linkOf(c cid.Cid) linkT { return linkT{Cid: c} }

func toLinks(cs []cid.Cid) []distinctions.Link {
	if len(cs) == 0 {
		return nil
	}
	out := make([]distinctions.Link, len(cs))
	for i, c := range cs {
		out[i] = distinctions.Link{Cid: c}
	}
	return out
}

func fromLinks(ls []distinctions.Link) []cid.Cid {
	if len(ls) == 0 {
		return nil
	}
	out := make([]cid.Cid, len(ls))
	for i, l := range ls {
		out[i] = l.Cid
	}
	return out
}

func rangesToWire(rs []Range) []wireRange {
	if len(rs) == 0 {
		return nil
	}
	out := make([]wireRange, len(rs))
	for i, r := range rs {
		w := wireRange{Mode: uint8(r.Mode), Height: r.Upper.Height, Prefix: []byte(r.Upper.Prefix)}
		switch r.Mode {
		case ModeFingerprint:
			w.Count, w.FP = r.Count, r.FP[:]
		case ModeIDList:
			w.IDs = toLinks(r.IDs)
		}
		out[i] = w
	}
	return out
}

// rangesFromWire converts and checks a peer's ranges.
func rangesFromWire(ws []wireRange) ([]Range, error) {
	if len(ws) > MaxRanges {
		return nil, fmt.Errorf("%w: %d ranges, limit %d", ErrBadRanges, len(ws), MaxRanges)
	}
	out := make([]Range, len(ws))
	for i, w := range ws {
		if len(w.Prefix) > maxPrefix {
			return nil, fmt.Errorf("%w: range %d: prefix of %d bytes", ErrBadRanges, i, len(w.Prefix))
		}
		r := Range{Upper: Bound{Height: w.Height, Prefix: string(w.Prefix)}, Mode: Mode(w.Mode)}
		switch r.Mode {
		case ModeSkip:
			if w.Count != 0 || len(w.FP) != 0 || len(w.IDs) != 0 {
				return nil, fmt.Errorf("%w: range %d: skip with a payload", ErrBadRanges, i)
			}
		case ModeFingerprint:
			if len(w.FP) != len(r.FP) || len(w.IDs) != 0 {
				return nil, fmt.Errorf("%w: range %d: bad fingerprint", ErrBadRanges, i)
			}
			r.Count = w.Count
			copy(r.FP[:], w.FP)
		case ModeIDList:
			if w.Count != 0 || len(w.FP) != 0 {
				return nil, fmt.Errorf("%w: range %d: ID list with a fingerprint", ErrBadRanges, i)
			}
			r.IDs = fromLinks(w.IDs)
		default:
			return nil, fmt.Errorf("%w: range %d: unknown mode %d", ErrBadRanges, i, w.Mode)
		}
		out[i] = r
	}
	return out, CheckRanges(out)
}

// ErrProtocol is matched (errors.Is) by every error that says the peer broke the
// protocol: a malformed or oversized message, one out of turn, bounds exceeded. Such a
// peer is scored down.
var ErrProtocol = errors.New("sync protocol violation")

type violation struct{ err error }

func (v *violation) Error() string        { return "sync protocol violation: " + v.err.Error() }
func (v *violation) Unwrap() error        { return v.err }
func (v *violation) Is(target error) bool { return target == ErrProtocol }

func violationf(format string, args ...any) error {
	return &violation{fmt.Errorf(format, args...)}
}

// decodeLimits bound the decoding of one message body.
var decodeLimits = distinctions.Limits{MaxBytes: MaxMessageSize, MaxDepth: 8, MaxItems: MaxIDs}

// A message on the wire is uvarint(len) followed by len bytes: the canonical CBOR
// array [type, body], body a map. The array head and the type are one byte each.

// conn frames messages over a stream and counts the bytes.
type conn struct {
	max  uint64 // largest message accepted; 0 means MaxMessageSize
	r    *bufio.Reader
	w    *bufio.Writer
	sent int64
	recv int64
}

func newConn(rw io.ReadWriter) *conn {
	return &conn{r: bufio.NewReaderSize(rw, 64<<10), w: bufio.NewWriterSize(rw, 64<<10)}
}

// send encodes and buffers one message; flush sends what is buffered.
func (c *conn) send(t msgType, body any) error {
	b, err := distinctions.Marshal(body)
	if err != nil {
		return err
	}
	n := 2 + len(b)
	if n > MaxMessageSize {
		return fmt.Errorf("%s message of %d bytes exceeds the limit of %d", t, n, MaxMessageSize)
	}
	var hdr [varint.MaxLenUvarint63 + 2]byte
	k := varint.PutUvarint(hdr[:], uint64(n))
	hdr[k], hdr[k+1] = 0x82, byte(t)
	if _, err := c.w.Write(hdr[:k+2]); err != nil {
		return err
	}
	if _, err := c.w.Write(b); err != nil {
		return err
	}
	c.sent += int64(k + n)
	return nil
}

func (c *conn) flush() error { return c.w.Flush() }

// readRaw reads one message and returns its type and body. A frame that breaks the
// protocol is a violation; a stream error (EOF, reset, deadline) is returned as is.
func (c *conn) readRaw() (msgType, []byte, error) {
	n, err := varint.ReadUvarint(c.r)
	if err != nil {
		if isVarintErr(err) {
			return 0, nil, violationf("length prefix: %v", err)
		}
		return 0, nil, err
	}
	if limit := cmp.Or(c.max, MaxMessageSize); n > limit {
		return 0, nil, violationf("message of %d bytes exceeds the limit of %d", n, limit)
	}
	if n < 3 {
		return 0, nil, violationf("message of %d bytes is too short", n)
	}
	// Grow the buffer as the bytes arrive: a peer announcing a large message and
	// stalling holds little memory.
	buf := make([]byte, 0, min(n, 64<<10))
	for uint64(len(buf)) < n {
		k := min(n-uint64(len(buf)), uint64(max(len(buf), 64<<10)))
		buf = slices.Grow(buf, int(k))
		if _, err := io.ReadFull(c.r, buf[len(buf):len(buf)+int(k)]); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, nil, err
		}
		buf = buf[:len(buf)+int(k)]
	}
	c.recv += int64(varint.UvarintSize(n)) + int64(n)
	if buf[0] != 0x82 || buf[1] == 0 || buf[1] > byte(msgMax) {
		return 0, nil, violationf("message does not start with [type, body] (%x)", buf[:2])
	}
	return msgType(buf[1]), buf[2:], nil
}

func isVarintErr(err error) bool {
	return errors.Is(err, varint.ErrOverflow) || errors.Is(err, varint.ErrNotMinimal)
}

// inbound is one message read, decoded and checked.
type inbound struct {
	t    msgType
	size int // body bytes
	v    any // *helloMsg, *reconIn, *blocksMsg, *headsMsg, *refuseMsg, *snapGetMsg, *snapBlocksMsg
	err  error

	prepared any // for blocks, what the replica's Preparer made of them (nil without one)
}

// reconIn is a checked recon message in domain types.
type reconIn struct {
	Ranges []Range
	Want   []cid.Cid
	Offer  []cid.Cid
	More   bool
}

// read reads and decodes one message.
func (c *conn) read() inbound {
	t, body, err := c.readRaw()
	if err != nil {
		return inbound{err: err}
	}
	v, err := decodeBody(t, body)
	return inbound{t: t, size: len(body), v: v, err: err}
}

// decodeBody strictly decodes and checks the body of a message of type t.
func decodeBody(t msgType, body []byte) (any, error) {
	bad := func(err error) (any, error) { return nil, violationf("%s message: %v", t, err) }
	switch t {
	case msgHello:
		var m helloMsg
		if err := distinctions.Decode(body, &m, decodeLimits); err != nil {
			return bad(err)
		}
		if len(m.Heads) > MaxHeads || len(m.Cut) > MaxHeads {
			return bad(fmt.Errorf("more than %d heads", MaxHeads))
		}
		if m.Snap == nil && (len(m.Cut) > 0 || m.CutServed) {
			return bad(errors.New("cut heads without a snapshot"))
		}
		return &m, nil
	case msgRecon:
		var m reconMsg
		if err := distinctions.Decode(body, &m, decodeLimits); err != nil {
			return bad(err)
		}
		if len(m.Want) > MaxIDs || len(m.Offer) > MaxIDs {
			return bad(fmt.Errorf("more than %d wants or offers", MaxIDs))
		}
		rs, err := rangesFromWire(m.Ranges)
		if err != nil {
			return bad(err)
		}
		return &reconIn{Ranges: rs, Want: fromLinks(m.Want), Offer: fromLinks(m.Offer), More: m.More}, nil
	case msgBlocks:
		var m blocksMsg
		if err := distinctions.Decode(body, &m, decodeLimits); err != nil {
			return bad(err)
		}
		if len(m.Blocks) == 0 || len(m.Blocks) > MaxBlocks {
			return bad(fmt.Errorf("%d blocks, want 1..%d", len(m.Blocks), MaxBlocks))
		}
		if m.Left > math.MaxInt32 {
			return bad(fmt.Errorf("left %d", m.Left))
		}
		return &m, nil
	case msgDone, msgBye:
		var m headsMsg
		if err := distinctions.Decode(body, &m, decodeLimits); err != nil {
			return bad(err)
		}
		if len(m.Heads) > MaxHeads {
			return bad(fmt.Errorf("more than %d heads", MaxHeads))
		}
		return &m, nil
	case msgRefuse:
		var m refuseMsg
		if err := distinctions.Decode(body, &m, decodeLimits); err != nil {
			return bad(err)
		}
		if len(m.Code) > 64 || len(m.Reason) > 1024 {
			return bad(errors.New("refusal too long"))
		}
		return &m, nil
	case msgSnapGet:
		var m snapGetMsg
		if err := distinctions.Decode(body, &m, decodeLimits); err != nil {
			return bad(err)
		}
		return &m, nil
	case msgSnapBlocks:
		var m snapBlocksMsg
		if err := distinctions.Decode(body, &m, decodeLimits); err != nil {
			return bad(err)
		}
		if len(m.Blocks) > MaxBlocks {
			return bad(fmt.Errorf("%d blocks, limit %d", len(m.Blocks), MaxBlocks))
		}
		return &m, nil
	}
	return bad(errors.New("unknown type"))
}
