package syncproto

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/ipfs/go-cid"
)

// This file is the pure core of the protocol: range-based set reconciliation over
// items ordered by (Height, CID bytes). It does no IO; the session (session.go) sends
// what it returns and applies what it decides.

// Item is one node of a replica's set, ordered by (Height, CID bytes).
type Item struct {
	Height uint64
	CID    cid.Cid
}

// CompareItems orders items by (Height, CID bytes).
func CompareItems(a, b Item) int {
	if c := cmp.Compare(a.Height, b.Height); c != 0 {
		return c
	}
	return strings.Compare(a.CID.KeyString(), b.CID.KeyString())
}

// Bound is an exclusive upper bound in the item order: an item is below b when its
// height is lower, or equal with CID bytes sorting before Prefix. Prefix is the
// shortest prefix of a CID that separates two neighbouring items, so bounds stay short.
type Bound struct {
	Height uint64
	Prefix string // raw bytes
}

// InfBound is above every item.
var InfBound = Bound{Height: math.MaxUint64}

// IsInf reports whether b is InfBound.
func (b Bound) IsInf() bool { return b.Height == math.MaxUint64 && b.Prefix == "" }

// Above reports whether it sorts before b.
func (b Bound) Above(it Item) bool {
	if b.IsInf() {
		return true
	}
	if it.Height != b.Height {
		return it.Height < b.Height
	}
	return it.CID.KeyString() < b.Prefix
}

func compareBounds(a, b Bound) int {
	if c := cmp.Compare(a.Height, b.Height); c != 0 {
		return c
	}
	return strings.Compare(a.Prefix, b.Prefix)
}

// boundBetween returns the shortest bound above prev and not above next (prev < next).
func boundBetween(prev, next Item) Bound {
	if prev.Height < next.Height {
		return Bound{Height: next.Height}
	}
	p, n := prev.CID.KeyString(), next.CID.KeyString()
	i := 0
	for i < len(p) && i < len(n) && p[i] == n[i] {
		i++
	}
	return Bound{Height: next.Height, Prefix: n[:min(i+1, len(n))]}
}

// Fingerprint summarises the items of a range: the first 16 bytes of SHA-256 over
// (the sum mod 2^128 of the first 16 bytes of SHA-256 of each CID, little-endian)
// followed by the count as a uvarint. The sum makes it order-independent and lets a
// set answer any range's fingerprint from prefix sums in O(1).
type Fingerprint [16]byte

// acc is a 128-bit accumulator: a sum of item hashes mod 2^128.
type acc struct{ lo, hi uint64 }

func (a acc) add(b acc) acc {
	lo, carry := bits.Add64(a.lo, b.lo, 0)
	hi, _ := bits.Add64(a.hi, b.hi, carry)
	return acc{lo, hi}
}

func (a acc) sub(b acc) acc {
	lo, borrow := bits.Sub64(a.lo, b.lo, 0)
	hi, _ := bits.Sub64(a.hi, b.hi, borrow)
	return acc{lo, hi}
}

func itemHash(c cid.Cid) acc {
	h := sha256.Sum256([]byte(c.KeyString()))
	return acc{binary.LittleEndian.Uint64(h[0:8]), binary.LittleEndian.Uint64(h[8:16])}
}

func (a acc) fingerprint(count int) Fingerprint {
	var buf [16 + binary.MaxVarintLen64]byte
	binary.LittleEndian.PutUint64(buf[0:8], a.lo)
	binary.LittleEndian.PutUint64(buf[8:16], a.hi)
	n := binary.PutUvarint(buf[16:], uint64(count))
	h := sha256.Sum256(buf[:16+n])
	var fp Fingerprint
	copy(fp[:], h[:16])
	return fp
}

// FingerprintOf returns the fingerprint of a set of CIDs (in any order).
func FingerprintOf(cs []cid.Cid) Fingerprint {
	var a acc
	for _, c := range cs {
		a = a.add(itemHash(c))
	}
	return a.fingerprint(len(cs))
}

// Mode says what a range of a reconciliation message carries.
type Mode uint8

const (
	// ModeSkip: nothing to do in this range (equal, or its differences are known).
	ModeSkip Mode = 0
	// ModeFingerprint: the sender's count and fingerprint of the range.
	ModeFingerprint Mode = 1
	// ModeIDList: every CID the sender holds in the range. The receiver then knows
	// both directions of the difference there.
	ModeIDList Mode = 2
)

func (m Mode) String() string {
	switch m {
	case ModeSkip:
		return "skip"
	case ModeFingerprint:
		return "fingerprint"
	case ModeIDList:
		return "idlist"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// Range is one range of a reconciliation message. The ranges of a message are
// consecutive: each starts at the previous one's Upper (the first at the bottom of
// the order), and everything above the last one is skipped.
type Range struct {
	Upper Bound
	Mode  Mode
	Count uint64      // ModeFingerprint: items in the range
	FP    Fingerprint // ModeFingerprint
	IDs   []cid.Cid   // ModeIDList, in item order
}

// Params tune the reconciliation. The zero value of a field means its default.
type Params struct {
	// Branch is how many sub-ranges a differing range is split into (default 16,
	// 2..64).
	Branch int
	// IDListMax: a side holding at most this many items of a differing range sends
	// their IDs instead of splitting it (default 32, 1..256).
	IDListMax int
	// MaxRanges and MaxIDs bound one message (defaults and maxima: the protocol's
	// MaxRanges and MaxIDs). A side that would exceed them folds the rest of the
	// message into one fingerprint range, handled in a later round.
	MaxRanges int
	MaxIDs    int
}

// Protocol limits on one reconciliation message, whatever a peer's Params.
const (
	MaxRanges = 4096  // ranges in one message
	MaxIDs    = 16384 // CIDs in one message's ID lists, and separately in its wants and offers
)

// DefaultParams are the defaults of Params.
var DefaultParams = Params{Branch: 16, IDListMax: 32, MaxRanges: MaxRanges, MaxIDs: MaxIDs}

func (p Params) withDefaults() Params {
	if p.Branch <= 0 {
		p.Branch = DefaultParams.Branch
	}
	p.Branch = min(max(p.Branch, 2), 64)
	if p.IDListMax <= 0 {
		p.IDListMax = DefaultParams.IDListMax
	}
	p.IDListMax = min(max(p.IDListMax, 1), 256)
	if p.MaxRanges <= 0 || p.MaxRanges > MaxRanges {
		p.MaxRanges = MaxRanges
	}
	p.MaxRanges = max(p.MaxRanges, p.Branch+2)
	if p.MaxIDs <= 0 || p.MaxIDs > MaxIDs {
		p.MaxIDs = MaxIDs
	}
	p.MaxIDs = max(p.MaxIDs, p.IDListMax)
	return p
}

// Set is one side's items prepared for reconciliation: sorted, with prefix sums of
// their hashes. It is immutable and safe for concurrent use.
type Set struct {
	items []Item
	sums  []acc // sums[i] = sum of the hashes of items[:i]

	indexOnce sync.Once
	index     map[string]int // CID key → position, built on first Lookup
}

// NewSet prepares items, which should be sorted by (Height, CID) without duplicates
// (Replica.Items promises it); otherwise NewSet sorts and deduplicates a copy. It
// keeps items, which the caller must not modify.
func NewSet(items []Item) *Set {
	sorted := true
	for i := 1; i < len(items) && sorted; i++ {
		sorted = CompareItems(items[i-1], items[i]) < 0
	}
	if !sorted {
		items = slices.Clone(items)
		slices.SortFunc(items, CompareItems)
		items = slices.CompactFunc(items, func(a, b Item) bool { return CompareItems(a, b) == 0 })
	}
	s := &Set{items: items, sums: make([]acc, len(items)+1)}
	for i, it := range items {
		s.sums[i+1] = s.sums[i].add(itemHash(it.CID))
	}
	return s
}

// Len returns the number of items.
func (s *Set) Len() int { return len(s.items) }

// Items returns the items, sorted. Do not modify them.
func (s *Set) Items() []Item { return s.items }

// Lookup returns the item with CID c.
func (s *Set) Lookup(c cid.Cid) (Item, bool) {
	s.indexOnce.Do(func() {
		s.index = make(map[string]int, len(s.items))
		for i, it := range s.items {
			s.index[it.CID.KeyString()] = i
		}
	})
	i, ok := s.index[c.KeyString()]
	if !ok {
		return Item{}, false
	}
	return s.items[i], true
}

func (s *Set) fp(lo, hi int) Fingerprint { return s.sums[hi].sub(s.sums[lo]).fingerprint(hi - lo) }

// lowerBound returns the index of the first item not below b.
func (s *Set) lowerBound(b Bound) int {
	return sort.Search(len(s.items), func(i int) bool { return !b.Above(s.items[i]) })
}

func ids(items []Item) []cid.Cid {
	out := make([]cid.Cid, len(items))
	for i, it := range items {
		out[i] = it.CID
	}
	return out
}

// Initial returns the first reconciliation message of the side that starts: its IDs
// if it holds at most IDListMax items, otherwise Branch fingerprint ranges by count
// and a last, empty range above its highest item (so that a peer far ahead learns at
// once that everything up there is missing).
func (s *Set) Initial(p Params) []Range {
	p = p.withDefaults()
	n := len(s.items)
	if n <= p.IDListMax {
		return []Range{{Upper: InfBound, Mode: ModeIDList, IDs: ids(s.items)}}
	}
	top := s.items[n-1].Height + 1
	if top == math.MaxUint64 { // cannot happen with real heights; keep InfBound unique
		var b builder
		s.split(&b, 0, n, InfBound, p)
		return b.out
	}
	var b builder
	s.split(&b, 0, n, Bound{Height: top}, p)
	b.add(Range{Upper: InfBound, Mode: ModeFingerprint, FP: acc{}.fingerprint(0)})
	return b.out
}

// Outcome is what one side learns from a message and what it answers.
type Outcome struct {
	Ranges []Range   // the reply; empty when this side has nothing open
	Have   []Item    // items of ours the peer lacks (sorted)
	Need   []cid.Cid // CIDs the peer holds that we lack
}

// Reconcile processes a peer's message against s and returns the reply and the
// differences it resolved. Every range either ends equal (skipped), resolved (an ID
// list received: both directions known), or open again (an ID list or sub-range
// fingerprints sent). The differences resolved over a whole exchange are exact:
// Have of one side together with Need of the other is the set difference, each item
// once (unless the MaxRanges/MaxIDs budget forced a fold, after which an item may be
// resolved again: callers deduplicate).
func (s *Set) Reconcile(in []Range, p Params) (Outcome, error) {
	p = p.withDefaults()
	if err := CheckRanges(in); err != nil {
		return Outcome{}, err
	}
	var o Outcome
	var b builder
	lo := 0
	for _, r := range in {
		hi := s.lowerBound(r.Upper)
		if r.Mode != ModeSkip && (len(b.out)+p.Branch+1 > p.MaxRanges || b.ids+p.IDListMax > p.MaxIDs) {
			// Out of budget: fold the rest of the peer's ranges into one.
			last := in[len(in)-1].Upper
			end := s.lowerBound(last)
			b.add(Range{Upper: last, Mode: ModeFingerprint, Count: uint64(end - lo), FP: s.fp(lo, end)})
			break
		}
		switch r.Mode {
		case ModeSkip:
			b.skip(r.Upper)
		case ModeFingerprint:
			n := hi - lo
			switch {
			case uint64(n) == r.Count && s.fp(lo, hi) == r.FP:
				b.skip(r.Upper)
			case r.Count == 0: // the peer has nothing here: all of ours is missing there
				o.Have = append(o.Have, s.items[lo:hi]...)
				b.skip(r.Upper)
			case n <= p.IDListMax:
				b.add(Range{Upper: r.Upper, Mode: ModeIDList, IDs: ids(s.items[lo:hi])})
			default:
				s.split(&b, lo, hi, r.Upper, p)
			}
		case ModeIDList:
			theirs := make(map[string]struct{}, len(r.IDs))
			for _, c := range r.IDs {
				theirs[c.KeyString()] = struct{}{}
			}
			for _, it := range s.items[lo:hi] {
				k := it.CID.KeyString()
				if _, ok := theirs[k]; ok {
					delete(theirs, k)
				} else {
					o.Have = append(o.Have, it)
				}
			}
			for _, c := range r.IDs {
				if _, ok := theirs[c.KeyString()]; ok {
					o.Need = append(o.Need, c)
					delete(theirs, c.KeyString())
				}
			}
			b.skip(r.Upper)
		}
		lo = hi
	}
	o.Ranges = b.finish()
	return o, nil
}

// split emits up to Branch fingerprint ranges over items[lo:hi], by count, the last
// one ending at upper.
func (s *Set) split(b *builder, lo, hi int, upper Bound, p Params) {
	n := hi - lo
	k := min(p.Branch, n)
	for j := range k {
		start, end := lo+j*n/k, lo+(j+1)*n/k
		u := upper
		if j < k-1 {
			u = boundBetween(s.items[end-1], s.items[end])
		}
		b.add(Range{Upper: u, Mode: ModeFingerprint, Count: uint64(end - start), FP: s.fp(start, end)})
	}
}

// builder assembles a reply: consecutive skips merge, trailing skips are dropped.
type builder struct {
	out []Range
	ids int
}

func (b *builder) skip(upper Bound) {
	if n := len(b.out); n > 0 && b.out[n-1].Mode == ModeSkip {
		b.out[n-1].Upper = upper
		return
	}
	b.out = append(b.out, Range{Upper: upper, Mode: ModeSkip})
}

func (b *builder) add(r Range) {
	b.out = append(b.out, r)
	b.ids += len(r.IDs)
}

func (b *builder) finish() []Range {
	for len(b.out) > 0 && b.out[len(b.out)-1].Mode == ModeSkip {
		b.out = b.out[:len(b.out)-1]
	}
	return b.out
}

// ErrBadRanges is matched by the errors of CheckRanges.
var ErrBadRanges = errors.New("bad reconciliation ranges")

// CheckRanges checks a peer's message: at most MaxRanges ranges and MaxIDs IDs,
// upper bounds strictly increasing with InfBound only last, known modes.
func CheckRanges(in []Range) error {
	if len(in) > MaxRanges {
		return fmt.Errorf("%w: %d ranges, limit %d", ErrBadRanges, len(in), MaxRanges)
	}
	n := 0
	for i, r := range in {
		if i > 0 && compareBounds(in[i-1].Upper, r.Upper) >= 0 {
			return fmt.Errorf("%w: range %d: bounds not increasing", ErrBadRanges, i)
		}
		if r.Upper.Height == math.MaxUint64 && r.Upper.Prefix != "" {
			return fmt.Errorf("%w: range %d: bound above infinity", ErrBadRanges, i)
		}
		switch r.Mode {
		case ModeSkip, ModeFingerprint:
			if len(r.IDs) > 0 {
				return fmt.Errorf("%w: range %d: IDs in a %s range", ErrBadRanges, i, r.Mode)
			}
		case ModeIDList:
			n += len(r.IDs)
		default:
			return fmt.Errorf("%w: range %d: unknown mode %d", ErrBadRanges, i, r.Mode)
		}
	}
	if n > MaxIDs {
		return fmt.Errorf("%w: %d IDs, limit %d", ErrBadRanges, n, MaxIDs)
	}
	return nil
}
