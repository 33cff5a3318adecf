package syncproto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"
	"pgregory.net/rapid"

	"github.com/korup2p/korup2p/distinctions"
)

// These tests exercise the reconciliation core alone: no libp2p, no replicas.

func testCID(i int) cid.Cid {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	return distinctions.Sum(b[:])
}

// testItems returns n items with heights i/per (per items per height).
func testItems(n, per int) []Item {
	out := make([]Item, n)
	for i := range out {
		out[i] = Item{Height: uint64(i / per), CID: testCID(i)}
	}
	slices.SortFunc(out, CompareItems)
	return out
}

func TestBoundBetween(t *testing.T) {
	items := testItems(500, 7)
	for i := 1; i < len(items); i++ {
		prev, next := items[i-1], items[i]
		b := boundBetween(prev, next)
		if !b.Above(prev) || b.Above(next) {
			t.Fatalf("bound %v between %v and %v: above prev %v, above next %v", b, prev, next, b.Above(prev), b.Above(next))
		}
		if prev.Height == next.Height && len(b.Prefix) > 8 {
			t.Errorf("bound prefix of %d bytes between neighbours of one height; want short", len(b.Prefix))
		}
		if prev.Height < next.Height && b.Prefix != "" {
			t.Errorf("bound between heights has a prefix")
		}
	}
	if !InfBound.Above(Item{Height: math.MaxUint64 - 1, CID: testCID(1)}) {
		t.Error("InfBound is not above every item")
	}
}

func TestFingerprintIncremental(t *testing.T) {
	items := testItems(300, 3)
	s := NewSet(items)
	for _, r := range [][2]int{{0, 0}, {0, 300}, {5, 6}, {17, 211}, {299, 300}} {
		want := FingerprintOf(ids(items[r[0]:r[1]]))
		if got := s.fp(r[0], r[1]); got != want {
			t.Errorf("fp%v = %x, want %x", r, got, want)
		}
	}
	// Order-independent.
	cs := ids(items[10:50])
	rev := slices.Clone(cs)
	slices.Reverse(rev)
	if FingerprintOf(cs) != FingerprintOf(rev) {
		t.Error("fingerprint depends on order")
	}
	if FingerprintOf(cs) == FingerprintOf(cs[1:]) {
		t.Error("fingerprint ignores an item")
	}
}

func TestNewSetSortsUnsorted(t *testing.T) {
	items := testItems(50, 4)
	shuffled := slices.Clone(items)
	slices.Reverse(shuffled)
	shuffled = append(shuffled, items[3])
	s := NewSet(shuffled)
	if !slices.EqualFunc(s.Items(), items, func(a, b Item) bool { return CompareItems(a, b) == 0 }) {
		t.Fatal("NewSet did not sort and deduplicate")
	}
	if it, ok := s.Lookup(items[7].CID); !ok || it.Height != items[7].Height {
		t.Errorf("Lookup = %v, %v", it, ok)
	}
	if _, ok := s.Lookup(testCID(10_000)); ok {
		t.Error("Lookup found an absent CID")
	}
}

func TestInitial(t *testing.T) {
	p := DefaultParams
	small := NewSet(testItems(10, 2))
	if rs := small.Initial(p); len(rs) != 1 || rs[0].Mode != ModeIDList || len(rs[0].IDs) != 10 || !rs[0].Upper.IsInf() {
		t.Fatalf("Initial of 10 items = %+v, want one ID list", rs)
	}
	big := NewSet(testItems(1000, 2))
	rs := big.Initial(p)
	if len(rs) != p.Branch+1 {
		t.Fatalf("Initial of 1000 items has %d ranges, want %d", len(rs), p.Branch+1)
	}
	total := uint64(0)
	for _, r := range rs[:p.Branch] {
		total += r.Count
	}
	if last := rs[p.Branch]; total != 1000 || last.Count != 0 || !last.Upper.IsInf() || last.Mode != ModeFingerprint {
		t.Fatalf("Initial counts %d, last range %+v", total, last)
	}
	if err := CheckRanges(rs); err != nil {
		t.Fatal(err)
	}
}

func TestCheckRangesRejects(t *testing.T) {
	fp := Range{Upper: Bound{Height: 5}, Mode: ModeFingerprint}
	for name, rs := range map[string][]Range{
		"not increasing": {fp, fp},
		"above infinity": {{Upper: Bound{Height: math.MaxUint64, Prefix: "x"}, Mode: ModeSkip}},
		"unknown mode":   {{Upper: InfBound, Mode: 7}},
		"ids in skip":    {{Upper: InfBound, Mode: ModeSkip, IDs: []cid.Cid{testCID(1)}}},
		"too many":       slices.Repeat([]Range{fp}, MaxRanges+1),
		"too many ids":   {{Upper: InfBound, Mode: ModeIDList, IDs: make([]cid.Cid, MaxIDs+1)}},
	} {
		if err := CheckRanges(rs); !errors.Is(err, ErrBadRanges) {
			t.Errorf("%s: CheckRanges = %v, want ErrBadRanges", name, err)
		}
	}
}

// tb is what the helpers need of *testing.T and *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// sim is the outcome of a simulated exchange between two sets.
type sim struct {
	rounds     int // messages sent, the first included
	haveA      []Item
	needA      []cid.Cid
	haveB      []Item
	needB      []cid.Cid
	rangesSent int
	idsSent    int
}

// simulate runs the reconciliation between a (initiator) and b until a side has
// nothing open, passing every message through the wire encoding.
func simulate(t tb, a, b *Set, p Params, maxRounds int) sim {
	t.Helper()
	var s sim
	msg := a.Initial(p)
	for side := 1; len(msg) > 0; side ^= 1 {
		s.rounds++
		if s.rounds > maxRounds {
			t.Fatalf("no convergence after %d messages", maxRounds)
		}
		msg = wireRoundTrip(t, msg)
		s.rangesSent += len(msg)
		for _, r := range msg {
			s.idsSent += len(r.IDs)
		}
		set := a
		if side == 1 {
			set = b
		}
		o, err := set.Reconcile(msg, p)
		if err != nil {
			t.Fatalf("round %d: %v", s.rounds, err)
		}
		if side == 1 {
			s.haveB, s.needB = append(s.haveB, o.Have...), append(s.needB, o.Need...)
		} else {
			s.haveA, s.needA = append(s.haveA, o.Have...), append(s.needA, o.Need...)
		}
		msg = o.Ranges
	}
	return s
}

func wireRoundTrip(t tb, rs []Range) []Range {
	t.Helper()
	b, err := distinctions.Marshal(&reconMsg{Ranges: rangesToWire(rs)})
	if err != nil {
		t.Fatal(err)
	}
	v, err := decodeBody(msgRecon, b)
	if err != nil {
		t.Fatalf("decode own recon message: %v", err)
	}
	return v.(*reconIn).Ranges
}

// checkDiff asserts that have (from one side) and need (from the other) make up
// exactly want, the set difference; with exact, each item exactly once.
func checkDiff(t tb, what string, have []Item, need []cid.Cid, want map[cid.Cid]bool, exact bool) {
	t.Helper()
	got := map[cid.Cid]int{}
	for _, it := range have {
		got[it.CID]++
	}
	for _, c := range need {
		got[c]++
	}
	for c, n := range got {
		if !want[c] {
			t.Fatalf("%s: %s reported but not in the difference", what, c)
		}
		if exact && n > 1 {
			t.Fatalf("%s: %s reported %d times", what, c, n)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d items found, difference has %d", what, len(got), len(want))
	}
}

func everyOther(items []Item, start int) []Item {
	var out []Item
	for i := start; i < len(items); i += 2 {
		out = append(out, items[i])
	}
	return out
}

func diff(a, b []Item) map[cid.Cid]bool {
	in := map[cid.Cid]bool{}
	for _, it := range b {
		in[it.CID] = true
	}
	out := map[cid.Cid]bool{}
	for _, it := range a {
		if !in[it.CID] {
			out[it.CID] = true
		}
	}
	return out
}

func TestReconcileCases(t *testing.T) {
	all := testItems(20_000, 5)
	for _, tc := range []struct {
		name      string
		a, b      []Item
		maxRounds int // messages
	}{
		{"both empty", nil, nil, 1},
		{"equal small", all[:20], all[:20], 2},
		{"equal large", all[:10_000], all[:10_000], 1},
		{"fresh initiator", all[:1], all[:10_000], 2},
		{"fresh responder", all[:10_000], all[:1], 3},
		{"initiator behind", all[:5_000], all[:10_000], 2},
		{"responder behind", all[:10_000], all[:5_000], 3},
		{"disjoint", all[:1000], all[1000:2000], 6},
		{"disjoint interleaved", everyOther(all[:2000], 0), everyOther(all[:2000], 1), 6},
		{"few apart in many", append(slices.Clone(all[:10_000]), all[15_000:15_003]...), append(slices.Clone(all[:10_000]), all[16_000:16_002]...), 6},
		{"one missing in the middle", slices.Delete(slices.Clone(all[:10_000]), 4321, 4322), all[:10_000], 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := NewSet(tc.a), NewSet(tc.b)
			s := simulate(t, a, b, DefaultParams, 100)
			checkDiff(t, "a\\b", s.haveA, s.needB, diff(a.Items(), b.Items()), true)
			checkDiff(t, "b\\a", s.haveB, s.needA, diff(b.Items(), a.Items()), true)
			if s.rounds > tc.maxRounds {
				t.Errorf("%d messages, want at most %d", s.rounds, tc.maxRounds)
			}
			t.Logf("%d messages, %d ranges, %d IDs", s.rounds, s.rangesSent, s.idsSent)
		})
	}
}

// TestReconcileRoundsLogarithmic: the messages needed for a few differences grow
// with the log of the set size.
func TestReconcileRoundsLogarithmic(t *testing.T) {
	all := testItems(300_000, 3)
	for _, n := range []int{1_000, 10_000, 100_000} {
		a := slices.Clone(all[:n])
		b := slices.Delete(slices.Clone(all[:n]), n/3, n/3+1)
		b = append(b, all[n+10])
		s := simulate(t, NewSet(a), NewSet(b), DefaultParams, 100)
		// log16(n/32) splits, each a message each way, plus the ID lists.
		limit := 2*int(math.Ceil(math.Log(float64(n)/32)/math.Log(16))) + 3
		if s.rounds > limit {
			t.Errorf("n=%d: %d messages, want at most %d", n, s.rounds, limit)
		}
		t.Logf("n=%d: %d messages, %d ranges, %d IDs", n, s.rounds, s.rangesSent, s.idsSent)
	}
}

// TestReconcileProperty: against random pairs of sets, the differences each side
// resolves together make up exactly the set differences, and the exchange ends.
func TestReconcileProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 400).Draw(t, "universe")
		perHeight := rapid.IntRange(1, 20).Draw(t, "perHeight")
		// How each item is held: 0 both, 1 only a, 2 only b, 3 neither.
		pDiff := rapid.SampledFrom([]int{0, 2, 10, 50, 100}).Draw(t, "pDiff%")
		seed := rapid.Int64().Draw(t, "seed")
		var a, b []Item
		for i := range n {
			it := Item{Height: uint64(i / perHeight), CID: testCID(int(seed%1_000_000)*1000 + i)}
			r := uint64(seed) ^ uint64(i)*0x9E3779B97F4A7C15
			r ^= r >> 29
			r *= 0xBF58476D1CE4E5B9
			r ^= r >> 32
			if int(r%100) >= pDiff {
				a, b = append(a, it), append(b, it)
				continue
			}
			switch r >> 40 % 3 {
			case 0:
				a = append(a, it)
			case 1:
				b = append(b, it)
			}
		}
		slices.SortFunc(a, CompareItems)
		slices.SortFunc(b, CompareItems)
		p := Params{
			Branch:    rapid.IntRange(2, 16).Draw(t, "branch"),
			IDListMax: rapid.IntRange(1, 40).Draw(t, "idListMax"),
		}
		fold := rapid.Bool().Draw(t, "fold")
		if fold { // budgets small enough to force folding
			p.MaxRanges = rapid.IntRange(1, 40).Draw(t, "maxRanges")
			p.MaxIDs = rapid.IntRange(1, 60).Draw(t, "maxIDs")
		}
		sa, sb := NewSet(a), NewSet(b)
		s := simulate(t, sa, sb, p, 5000)
		checkDiff(t, "a\\b", s.haveA, s.needB, diff(a, b), !fold)
		checkDiff(t, "b\\a", s.haveB, s.needA, diff(b, a), !fold)
	})
}

func BenchmarkReconcileCore(b *testing.B) {
	all := testItems(200_000, 3)
	for _, n := range []int{10_000, 100_000} {
		a := all[:n]
		c := append(slices.Clone(all[:n-5]), all[n+1:n+4]...)
		sa, sc := NewSet(a), NewSet(c)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var s sim
			for b.Loop() {
				s = simulate(b, sa, sc, DefaultParams, 100)
			}
			b.ReportMetric(float64(s.rounds), "msgs/op")
		})
	}
}

// TestReconcileFolds: with budgets far below what the differences need, every
// message stays within them and the exchange still finds every difference.
func TestReconcileFolds(t *testing.T) {
	all := testItems(4000, 2)
	a, b := NewSet(everyOther(all, 0)), NewSet(everyOther(all, 1))
	p := Params{Branch: 16, IDListMax: 32, MaxRanges: 20, MaxIDs: 64}
	msg := a.Initial(p)
	var haveA, haveB []Item
	var needA, needB []cid.Cid
	rounds := 0
	for side := 1; len(msg) > 0; side ^= 1 {
		if rounds++; rounds > 10_000 {
			t.Fatal("no convergence")
		}
		n := 0
		for _, r := range msg {
			n += len(r.IDs)
		}
		if rounds > 1 && (len(msg) > p.MaxRanges || n > p.MaxIDs) {
			t.Fatalf("message of %d ranges and %d IDs exceeds the budget", len(msg), n)
		}
		set := a
		if side == 1 {
			set = b
		}
		o, err := set.Reconcile(msg, p)
		if err != nil {
			t.Fatal(err)
		}
		if side == 1 {
			haveB, needB = append(haveB, o.Have...), append(needB, o.Need...)
		} else {
			haveA, needA = append(haveA, o.Have...), append(needA, o.Need...)
		}
		msg = o.Ranges
	}
	checkDiff(t, "a\\b", haveA, needB, diff(a.Items(), b.Items()), false)
	checkDiff(t, "b\\a", haveB, needA, diff(b.Items(), a.Items()), false)
	t.Logf("%d messages", rounds)
}
