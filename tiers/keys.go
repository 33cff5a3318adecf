package tiers

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	"github.com/multiformats/go-multihash"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/wal"
)

// The index's key scheme (see doc.go). Every variable part — a CID, a user key, an
// author — is lowercase hex, which keeps byte order and prefixes and never contains
// '/', so go-datastore's path rules never touch it. Keys are built as strings and
// wrapped with ds.RawKey: they are clean by construction.
const (
	keyVersion = "/version"    // index format version
	keyCkpt    = "/checkpoint" // wal.Pos of the last WAL record indexed
	keyCount   = "/count"      // nodes indexed, all spaces
	keySpaces  = "/spaces/"    // + space: one entry per space with nodes
	keySpace   = "/s/"         // + space: that space's index (spaceKeys)
	keyLost    = "/lost/"      // + space + "/" + CID: a dependency whose record was lost
)

// indexVersion is the format of the index. An index of another version is rebuilt.
// Version 2 names a space by a short prefix of its ID (spacePrefix) instead of the
// whole ID.
const indexVersion = "2"

// spaceKeys builds the keys of one space's index, all under /s/<prefix>.
type spaceKeys struct {
	id   cid.Cid // the space
	base string
}

func newSpaceKeys(space cid.Cid) spaceKeys {
	return spaceKeys{id: space, base: keySpace + spacePrefix(space)}
}

// spacePrefixBytes is how much of a space ID's digest names it in index keys.
const spacePrefixBytes = 8

// spacePrefix names a space in the index: the hex of the first spacePrefixBytes of
// its ID's SHA-256 digest (16 characters instead of the whole ID's 72), which every
// index key of the space carries. DB.Space refuses a space whose prefix another
// space of the index has; finding such a pair by chance, or making one on purpose
// for a space someone else created, is out of reach (a 64-bit second preimage).
func spacePrefix(space cid.Cid) string {
	if h, err := multihash.Decode(space.Hash()); err == nil && len(h.Digest) >= spacePrefixBytes {
		return hexs(h.Digest[:spacePrefixBytes])
	}
	return hexs(space.Bytes()) // not a digest we expect: the whole ID
}

// lost marks c as a dependency of indexed nodes whose WAL record was lost
// (damaged): recovery indexed its dependents without it.
func (k spaceKeys) lost(c cid.Cid) string {
	return keyLost + hexs(k.id.Bytes()) + "/" + hexs(c.Bytes())
}

// count holds the number of nodes in the space.
func (k spaceKeys) count() string { return k.base + "/count" }

// node maps a CID to its entry (encodeEntry).
func (k spaceKeys) node(c cid.Cid) string { return k.base + "/node/" + hexs(c.Bytes()) }

// headPrefix lists the heads: head(c) holds no value.
func (k spaceKeys) headPrefix() string    { return k.base + "/head/" }
func (k spaceKeys) head(c cid.Cid) string { return k.headPrefix() + hexs(c.Bytes()) }

// childPrefix lists the children of parent: child(parent, c).
func (k spaceKeys) childPrefix(parent cid.Cid) string {
	return k.base + "/child/" + hexs(parent.Bytes()) + "/"
}
func (k spaceKeys) child(parent, c cid.Cid) string { return k.childPrefix(parent) + hexs(c.Bytes()) }

// kheadPrefix lists the key-heads of key: khead(key, c).
func (k spaceKeys) kheadPrefix(key string) string {
	return k.base + "/khead/" + hexs([]byte(key)) + "/"
}
func (k spaceKeys) khead(key string, c cid.Cid) string {
	return k.kheadPrefix(key) + hexs(c.Bytes())
}

// histPrefix lists the versions of key in history order: clock (16 hex digits of
// wall, 8 of logical), then "a" and the author (so that an empty author is not an
// empty segment), then the CID — each part fixed-width or followed by '/', which
// sorts below every hex digit, so byte order is (clock, author, CID) order.
func (k spaceKeys) histPrefix(key string) string { return k.base + "/hist/" + hexs([]byte(key)) + "/" }
func (k spaceKeys) hist(key string, n *dag.Node) string {
	return fmt.Sprintf("%s%016x%08x/a%s/%s", k.histPrefix(key), n.Clock.Wall, n.Clock.Logical,
		hexs([]byte(n.Author)), hexs(n.CID().Bytes()))
}

// keyPrefix lists every key ever written: key(key) holds no value.
func (k spaceKeys) keyPrefix() string     { return k.base + "/key/" }
func (k spaceKeys) key(key string) string { return k.keyPrefix() + hexs([]byte(key)) }

func hexs(b []byte) string { return hex.EncodeToString(b) }

// lastCID decodes the CID in the last segment of an index key.
func lastCID(key []byte) (cid.Cid, error) {
	s := string(key)
	return hexCID(s[strings.LastIndexByte(s, '/')+1:])
}

func hexCID(s string) (cid.Cid, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return cid.Undef, fmt.Errorf("%w: bad key segment %q", ErrCorruptIndex, s)
	}
	c, err := cid.Cast(b)
	if err != nil {
		return cid.Undef, fmt.Errorf("%w: bad cid in key: %v", ErrCorruptIndex, err)
	}
	return c, nil
}

// hexString decodes the hex user key after prefix in an index key.
func hexString(key []byte, prefix string) (string, error) {
	b, err := hex.DecodeString(string(key[len(prefix):]))
	if err != nil {
		return "", fmt.Errorf("%w: bad key %q", ErrCorruptIndex, key)
	}
	return string(b), nil
}

// successor returns the smallest string greater than every string with prefix p.
// Index keys are ASCII, so the last byte is never 0xff.
func successor(p string) string {
	return p[:len(p)-1] + string(p[len(p)-1]+1)
}

// entry is the value of a node key: where the node's record is and its height.
type entry struct {
	pos    wal.Pos
	height uint64
}

func encodeEntry(e entry) []byte {
	return binary.BigEndian.AppendUint64(encodePos(e.pos), e.height)
}

func decodeEntry(b []byte) (entry, error) {
	if len(b) != 24 {
		return entry{}, fmt.Errorf("%w: node entry of %d bytes", ErrCorruptIndex, len(b))
	}
	pos, _ := decodePos(b[:16])
	return entry{pos: pos, height: binary.BigEndian.Uint64(b[16:])}, nil
}

// encodePos writes p as 16 bytes: segment and offset, big-endian.
func encodePos(p wal.Pos) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 24), p.Segment)
	return binary.BigEndian.AppendUint64(b, uint64(p.Offset))
}

func decodePos(b []byte) (wal.Pos, error) {
	if len(b) != 16 {
		return wal.Pos{}, fmt.Errorf("%w: position of %d bytes", ErrCorruptIndex, len(b))
	}
	return wal.Pos{Segment: binary.BigEndian.Uint64(b), Offset: int64(binary.BigEndian.Uint64(b[8:]))}, nil
}

func encodeCount(n int64) []byte { return strconv.AppendInt(nil, n, 10) }

func decodeCount(b []byte) (int64, error) {
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: bad count %q", ErrCorruptIndex, b)
	}
	return n, nil
}

func dsKey(s string) ds.Key { return ds.RawKey(s) }
