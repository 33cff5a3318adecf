package dag

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/fxamacker/cbor/v2"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/distinctions"
)

// FormatVersion is the node format this package writes and accepts (field "v").
const FormatVersion = 1

// Kind is what an op does to its key.
type Kind string

const (
	KindSet   Kind = "set"   // replace the value
	KindPatch Kind = "patch" // apply an RFC 7386 merge patch to the merged value of prev
	KindDel   Kind = "del"   // delete the key
)

func (k Kind) valid() bool { return k == KindSet || k == KindPatch || k == KindDel }

// Op is one write to one key inside a node.
type Op struct {
	Key   string
	Prev  []cid.Cid // the key-heads the author had for Key (sorted): the key's own DAG
	Kind  Kind
	Value []byte // canonical DAG-CBOR of a JSON value; nil for KindDel
}

// Node is one atomic write (one or more ops) with its causal context: a delta node.
//
// A Node comes from [Decode] (bytes from a peer or disk, checked) or from [NewNode]
// (a local write, signed). Treat it as immutable: its CID and bytes are computed once.
type Node struct {
	Space   cid.Cid   // the space ID (its genesis CID); cid.Undef in a genesis node
	Parents []cid.Cid // the space heads the author had (sorted, unique)
	Ops     []Op      // sorted by key, one op per key
	Clock   Timestamp // greater than every parent's clock
	Height  uint64    // 1 + max(parent heights); 0 for genesis
	Author  peer.ID   // "" only in an open space's genesis
	Cap     cid.Cid   // the capability that authorises the write; cid.Undef when absent
	Sig     []byte    // ed25519 signature over the node encoded without sig

	cid       cid.Cid
	bytes     []byte
	distilled bool // a stand-in from Distilled
}

// CID returns the node's content address.
func (n *Node) CID() cid.Cid { return n.cid }

// Bytes returns the node's canonical encoding. Do not modify it.
func (n *Node) Bytes() []byte { return n.bytes }

// IsGenesis reports whether n is a space's genesis node.
func (n *Node) IsGenesis() bool { return n.Height == 0 && !n.Space.Defined() }

// Op returns the node's op on key, if any.
func (n *Node) Op(key string) (Op, bool) {
	i, ok := slices.BinarySearchFunc(n.Ops, key, func(o Op, k string) int { return strings.Compare(o.Key, k) })
	if !ok {
		return Op{}, false
	}
	return n.Ops[i], true
}

// SpaceID returns the ID of the space n belongs to: Space, or n's own CID for a genesis.
func (n *Node) SpaceID() cid.Cid {
	if n.IsGenesis() {
		return n.cid
	}
	return n.Space
}

// wire types: the encoding, apart from the domain types above.

type wireClock struct {
	_       struct{} `cbor:",toarray"`
	Wall    uint64
	Logical uint64
}

type wireOp struct {
	Key   string              `cbor:"key"`
	Prev  []distinctions.Link `cbor:"prev,omitempty"`
	Kind  string              `cbor:"kind"`
	Value cbor.RawMessage     `cbor:"value,omitempty"`
}

type wireNode struct {
	V       uint64              `cbor:"v"`
	Space   *distinctions.Link  `cbor:"space,omitempty"`
	Parents []distinctions.Link `cbor:"parents,omitempty"`
	Ops     []wireOp            `cbor:"ops"`
	Clock   wireClock           `cbor:"clock"`
	Height  uint64              `cbor:"height"`
	Author  []byte              `cbor:"author,omitempty"`
	Cap     *distinctions.Link  `cbor:"cap,omitempty"`
	Sig     []byte              `cbor:"sig,omitempty"`
}

func links(cs []cid.Cid) []distinctions.Link {
	if len(cs) == 0 {
		return nil
	}
	out := make([]distinctions.Link, len(cs))
	for i, c := range cs {
		out[i] = distinctions.Link{Cid: c}
	}
	return out
}

func cids(ls []distinctions.Link) []cid.Cid {
	if len(ls) == 0 {
		return nil
	}
	out := make([]cid.Cid, len(ls))
	for i, l := range ls {
		out[i] = l.Cid
	}
	return out
}

func optLink(c cid.Cid) *distinctions.Link {
	if !c.Defined() {
		return nil
	}
	return &distinctions.Link{Cid: c}
}

func (n *Node) toWire(withSig bool) wireNode {
	w := wireNode{
		V:       FormatVersion,
		Space:   optLink(n.Space),
		Parents: links(n.Parents),
		Ops:     make([]wireOp, len(n.Ops)),
		Clock:   wireClock{Wall: uint64(n.Clock.Wall), Logical: uint64(n.Clock.Logical)},
		Height:  n.Height,
		Author:  []byte(n.Author),
		Cap:     optLink(n.Cap),
	}
	if withSig {
		w.Sig = n.Sig
	}
	for i, op := range n.Ops {
		w.Ops[i] = wireOp{Key: op.Key, Prev: links(op.Prev), Kind: string(op.Kind), Value: op.Value}
	}
	return w
}

func fromWire(w *wireNode) *Node {
	n := &Node{
		Space:   linkOrUndef(w.Space),
		Parents: cids(w.Parents),
		Ops:     make([]Op, len(w.Ops)),
		Clock:   Timestamp{Wall: int64(w.Clock.Wall), Logical: uint32(w.Clock.Logical)},
		Height:  w.Height,
		Author:  peer.ID(w.Author),
		Cap:     linkOrUndef(w.Cap),
		Sig:     w.Sig,
	}
	for i, op := range w.Ops {
		n.Ops[i] = Op{Key: op.Key, Prev: cids(op.Prev), Kind: Kind(op.Kind), Value: op.Value}
	}
	return n
}

func linkOrUndef(l *distinctions.Link) cid.Cid {
	if l == nil {
		return cid.Undef
	}
	return l.Cid
}

// signingBytes is what the signature covers: the node encoded without sig.
func (n *Node) signingBytes() ([]byte, error) {
	return distinctions.Marshal(n.toWire(false))
}

// Decode strictly decodes and checks one node: canonical encoding within l, the format
// rules of [Node], every op's value, and the author's signature. It does not look at
// other nodes: [Ingester] checks a node against its parents. Errors are *ValidationError.
func Decode(data []byte, l distinctions.Limits) (*Node, error) {
	n, err := DecodeTrusted(data, l)
	if err != nil {
		return nil, err
	}
	if n.Author != "" { // checkFormat allows no author only in an open space's genesis
		if err := n.checkSig(); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// DecodeTrusted decodes a node this peer stored itself after it passed Decode or
// NewNode — a block of its own WAL. It checks everything Decode checks except the
// signature, which it trusts: the Ed25519 verification is most of Decode's cost.
// Never use it on bytes from the network.
func DecodeTrusted(data []byte, l distinctions.Limits) (*Node, error) {
	var w wireNode
	if err := distinctions.Decode(data, &w, l); err != nil {
		return nil, invalid(RuleDecode, distinctions.Sum(data), "%v", err)
	}
	n := fromWire(&w)
	n.bytes = bytes.Clone(data)
	n.cid = distinctions.Sum(n.bytes)
	if w.V != FormatVersion {
		return nil, invalid(RuleVersion, n.cid, "format version %d, want %d", w.V, FormatVersion)
	}
	if w.Clock.Wall > MaxWall || w.Clock.Logical > 1<<32-1 {
		return nil, invalid(RuleClock, n.cid, "clock out of range (wall time after 2200-01-01, or counter beyond 32 bits)")
	}
	if err := n.checkFormat(l, true); err != nil {
		return nil, err
	}
	return n, nil
}

// checkFormat checks everything about n that needs no other node, except the
// signature (which checkSig checks) and, unless checkValues, the op values' encoding.
func (n *Node) checkFormat(l distinctions.Limits, checkValues bool) error {
	c := n.cid
	if !slices.IsSortedFunc(n.Parents, cmpCID) || hasDup(n.Parents) {
		return invalid(RuleParents, c, "parents are not sorted and unique")
	}
	if len(n.Ops) == 0 {
		return invalid(RuleOps, c, "no ops")
	}
	for i, op := range n.Ops {
		if i > 0 && strings.Compare(n.Ops[i-1].Key, op.Key) >= 0 {
			return invalid(RuleOps, c, "ops are not sorted by key with one op per key (at %q)", op.Key)
		}
		if err := ValidateKey(op.Key); err != nil {
			return invalid(RuleKey, c, "%v", err)
		}
		if !op.Kind.valid() {
			return invalid(RuleOps, c, "op on %q has unknown kind %q", op.Key, op.Kind)
		}
		if (op.Kind == KindDel) != (op.Value == nil) {
			return invalid(RuleOps, c, "op %s on %q: a value is required for set and patch and forbidden for del", op.Kind, op.Key)
		}
		if op.Value != nil && checkValues {
			if _, err := distinctions.DecodeValue(op.Value, l); err != nil {
				return invalid(RuleValue, c, "op on %q: %v", op.Key, err)
			}
		}
		if !slices.IsSortedFunc(op.Prev, cmpCID) || hasDup(op.Prev) {
			return invalid(RulePrev, c, "prev of %q is not sorted and unique", op.Key)
		}
	}
	if n.IsGenesis() {
		return n.checkGenesis()
	}
	if n.Author == "" {
		return invalid(RuleAuthor, c, "no author")
	}
	switch {
	case !n.Space.Defined():
		return invalid(RuleSpace, c, "no space")
	case len(n.Parents) == 0:
		return invalid(RuleParents, c, "no parents (only a genesis node, at height 0, has none)")
	case n.Height == 0:
		return invalid(RuleHeight, c, "height 0 outside a genesis node")
	}
	for _, op := range n.Ops {
		if op.Key == SpaceKey {
			return invalid(RuleKey, c, "only a genesis node writes %s", SpaceKey)
		}
	}
	return nil
}

func (n *Node) checkSig() error {
	if n.Author == "" {
		return invalid(RuleAuthor, n.cid, "no author")
	}
	pub, err := n.Author.ExtractPublicKey()
	if err != nil {
		return invalid(RuleAuthor, n.cid, "author %q: %v", n.Author, err)
	}
	if pub.Type() != crypto.Ed25519 {
		return invalid(RuleAuthor, n.cid, "author key is %s, want Ed25519", pub.Type())
	}
	if len(n.Sig) == 0 {
		return invalid(RuleSignature, n.cid, "not signed")
	}
	msg, err := n.signingBytes()
	if err != nil {
		return invalid(RuleSignature, n.cid, "%v", err)
	}
	ok, err := pub.Verify(msg, n.Sig)
	if err != nil || !ok {
		return invalid(RuleSignature, n.cid, "signature does not verify for author %s", n.Author)
	}
	return nil
}

// seal encodes n, computes its CID, and checks its format as Decode would: the
// limits on the whole encoding (size, nesting, elements), then every field. The
// signature, just made by our own key, is not verified again.
func (n *Node) seal(l distinctions.Limits, checkValues bool) error {
	b, err := distinctions.Marshal(n.toWire(true))
	if err != nil {
		return err
	}
	n.bytes, n.cid = b, distinctions.Sum(b)
	if err := distinctions.CheckLimits(b, withDefaultLimits(l)); err != nil {
		e := invalid(RuleDecode, n.cid, "%v", err)
		e.Err = distinctions.ErrTooLarge
		return e
	}
	return n.checkFormat(l, checkValues)
}

// withDefaultLimits fills in the limits left zero, as distinctions does.
func withDefaultLimits(l distinctions.Limits) distinctions.Limits {
	d := distinctions.DefaultLimits
	l.MaxBytes = cmp.Or(max(l.MaxBytes, 0), d.MaxBytes)
	l.MaxDepth = cmp.Or(max(l.MaxDepth, 0), d.MaxDepth)
	l.MaxItems = cmp.Or(max(l.MaxItems, 0), d.MaxItems)
	return l
}

// OpValueDepth is how many levels of nesting a node adds around an op's value (the
// node, its ops, the op). A value fits in a node decoded under limits l if it is
// within ValueLimits(l).
const OpValueDepth = 3

// ValueLimits returns the limits an op value must meet to fit in a node decoded
// under l: l with OpValueDepth fewer levels of nesting.
func ValueLimits(l distinctions.Limits) distinctions.Limits {
	l = withDefaultLimits(l)
	l.MaxDepth = max(l.MaxDepth-OpValueDepth, 1)
	return l
}

// Draft is what an author decides when writing: which space, on top of which
// parents, and the ops. [NewNode] fills in the rest.
type Draft struct {
	Space   cid.Cid
	Parents []*Node // the author's current space heads
	Ops     []Op    // any order; one op per key; Prev and Value as in Op
	Cap     cid.Cid // optional
	// ValuesCanonical says the caller encoded every op value with
	// distinctions.EncodeValue itself, so NewNode does not decode them again.
	ValuesCanonical bool
}

// NewNode builds and signs a node: it sorts parents, ops and prevs, sets the height
// from the parents, and takes the clock from c (after observing every parent's clock),
// with wall the current wall time in Unix nanoseconds. The result has been checked as
// Decode would check it, except that the signature it just made is not verified again.
func NewNode(d Draft, c *Clock, wall int64, key crypto.PrivKey, l distinctions.Limits) (*Node, error) {
	if len(d.Parents) == 0 {
		return nil, fmt.Errorf("new node: no parents")
	}
	if key == nil || key.Type() != crypto.Ed25519 {
		return nil, errors.New("new node: the signing key must be Ed25519 (a libp2p Ed25519 identity)")
	}
	if l = withDefaultLimits(l); len(d.Ops) > l.MaxItems || len(d.Parents) > l.MaxItems {
		return nil, fmt.Errorf("new node: %d ops and %d parents; a node holds at most %d of each: %w",
			len(d.Ops), len(d.Parents), l.MaxItems, distinctions.ErrTooLarge)
	}
	author, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("new node: %w", err)
	}
	n := &Node{Space: d.Space, Author: author, Cap: d.Cap, Ops: make([]Op, len(d.Ops))}
	for _, p := range d.Parents {
		n.Parents = append(n.Parents, p.CID())
		n.Height = max(n.Height, p.Height+1)
		c.Observe(p.Clock)
	}
	if n.Clock, err = c.Now(wall); err != nil {
		return nil, fmt.Errorf("new node: %w", err)
	}
	slices.SortFunc(n.Parents, cmpCID)
	n.Parents = slices.CompactFunc(n.Parents, cid.Cid.Equals)
	for i, op := range d.Ops {
		op.Prev = slices.Clone(op.Prev)
		slices.SortFunc(op.Prev, cmpCID)
		op.Prev = slices.CompactFunc(op.Prev, cid.Cid.Equals)
		n.Ops[i] = op
	}
	slices.SortFunc(n.Ops, func(a, b Op) int { return strings.Compare(a.Key, b.Key) })
	if n.Sig, err = signNode(n, key); err != nil {
		return nil, err
	}
	if err := n.seal(l, !d.ValuesCanonical); err != nil {
		return nil, err
	}
	return n, nil
}

func signNode(n *Node, key crypto.PrivKey) ([]byte, error) {
	msg, err := n.signingBytes()
	if err != nil {
		return nil, fmt.Errorf("new node: %w", err)
	}
	sig, err := key.Sign(msg)
	if err != nil {
		return nil, fmt.Errorf("new node: sign: %w", err)
	}
	return sig, nil
}

func cmpCID(a, b cid.Cid) int { return strings.Compare(a.KeyString(), b.KeyString()) }

func hasDup(cs []cid.Cid) bool {
	for i := 1; i < len(cs); i++ {
		if cs[i].Equals(cs[i-1]) {
			return true
		}
	}
	return false
}

// SortCIDs sorts cs in the canonical order (by binary CID) and removes duplicates.
func SortCIDs(cs []cid.Cid) []cid.Cid {
	slices.SortFunc(cs, cmpCID)
	return slices.CompactFunc(cs, cid.Cid.Equals)
}
