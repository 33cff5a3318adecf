package distinctions

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"
)

// linkTag is the CBOR tag of an IPLD link (CID) in DAG-CBOR.
const linkTag = 42

// Link is a CID as it appears inside a distinction: CBOR tag 42 around a byte string
// holding 0x00 and the binary CID. The zero Link does not encode; optional links are
// pointers or omitted fields.
type Link struct{ cid.Cid }

// MarshalCBOR implements cbor.Marshaler.
func (l Link) MarshalCBOR() ([]byte, error) {
	if !l.Defined() {
		return nil, errors.New("link: undefined CID")
	}
	raw := l.Bytes()
	n := len(raw) + 1
	out := make([]byte, 0, n+11)
	out = append(out, 0xd8, linkTag) // tag 42, one-byte argument
	out = appendHeader(out, 2, uint64(n))
	out = append(out, 0x00)
	return append(out, raw...), nil
}

// UnmarshalCBOR implements cbor.Unmarshaler. It accepts only the canonical form.
func (l *Link) UnmarshalCBOR(data []byte) error {
	if len(data) < 3 || data[0] != 0xd8 || data[1] != linkTag {
		return fmt.Errorf("%w: link: want tag 42", ErrMalformed)
	}
	body, err := byteString(data[2:])
	if err != nil {
		return fmt.Errorf("%w: link: %v", ErrMalformed, err)
	}
	if len(body) < 2 || body[0] != 0x00 {
		return fmt.Errorf("%w: link: want a 0x00 multibase prefix", ErrMalformed)
	}
	c, err := cid.Cast(body[1:])
	if err != nil {
		return fmt.Errorf("%w: link: %v", ErrMalformed, err)
	}
	l.Cid = c
	return nil
}

// appendHeader appends a CBOR head of major type mt with argument n, shortest form.
func appendHeader(b []byte, mt byte, n uint64) []byte {
	mt <<= 5
	switch {
	case n < 24:
		return append(b, mt|byte(n))
	case n <= 0xff:
		return append(b, mt|24, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, mt|25), uint16(n))
	case n <= 0xffffffff:
		return binary.BigEndian.AppendUint32(append(b, mt|26), uint32(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, mt|27), n)
	}
}

// byteString returns the content of the single definite-length byte string that is
// all of b, insisting on the shortest head.
func byteString(b []byte) ([]byte, error) {
	if len(b) == 0 || b[0]>>5 != 2 {
		return nil, errors.New("want a byte string")
	}
	var n uint64
	ai, rest := b[0]&0x1f, b[1:]
	switch {
	case ai < 24:
		n = uint64(ai)
	case ai == 24 && len(rest) >= 1:
		n, rest = uint64(rest[0]), rest[1:]
	case ai == 25 && len(rest) >= 2:
		n, rest = uint64(binary.BigEndian.Uint16(rest)), rest[2:]
	case ai == 26 && len(rest) >= 4:
		n, rest = uint64(binary.BigEndian.Uint32(rest)), rest[4:]
	case ai == 27 && len(rest) >= 8:
		n, rest = binary.BigEndian.Uint64(rest), rest[8:]
	default:
		return nil, errors.New("bad byte string head")
	}
	if uint64(len(rest)) != n {
		return nil, errors.New("byte string length does not match")
	}
	if len(appendHeader(nil, 2, n)) != len(b)-int(n) {
		return nil, ErrNotCanonical
	}
	return rest, nil
}
