package crdt_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"pgregory.net/rapid"

	"github.com/korup2p/korup2p/crdt"
	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/dag/dagtest"
	"github.com/korup2p/korup2p/distinctions"
)

// voiding is a Reader whose nodes in void are void. It counts the calls a read makes,
// and fails the test if Void is asked about a distilled stand-in.
type voiding struct {
	crdt.Reader
	t    tb
	void map[cid.Cid]bool
	err  error // returned by Void when set

	voidCalls, historyCalls int
}

func voids(t tb, r crdt.Reader, nodes ...*dag.Node) *voiding {
	v := &voiding{Reader: r, t: t, void: map[cid.Cid]bool{}}
	for _, n := range nodes {
		v.void[n.CID()] = true
	}
	return v
}

func (v *voiding) Void(n *dag.Node) (bool, error) {
	if n.IsDistilled() {
		v.t.Errorf("Void asked about the distilled stand-in %s", n.CID())
	}
	v.voidCalls++
	return v.void[n.CID()], v.err
}

func (v *voiding) KeyHistory(key string) ([]cid.Cid, error) {
	v.historyCalls++
	return v.Reader.KeyHistory(key)
}

// logWorld is a world that remembers every node written, in order (a topological one).
type logWorld struct {
	*world
	all []*dag.Node
}

func newLogWorld(t tb, n int) *logWorld { return &logWorld{world: newWorld(t, n)} }

func (w *logWorld) write(i int, ops ...dag.Op) *dag.Node {
	w.t.Helper()
	n := w.world.write(i, ops...)
	w.all = append(w.all, n)
	return n
}

// rebuilt is the reference for a void set: the same DAG rebuilt with each void node's
// ops replaced by a write of an unrelated key, and every prev naming a void version
// naming that version's prevs instead, recursively. Every node keeps its author,
// clock and height, so versions rank the same; to and back map CIDs both ways.
type rebuilt struct {
	s        *dag.MemStore
	to, back map[cid.Cid]cid.Cid
}

func rebuild(t tb, w *world, all []*dag.Node, void map[cid.Cid]bool) *rebuilt {
	t.Helper()
	keys := map[peer.ID]crypto.PrivKey{}
	for _, p := range w.peers {
		keys[p.a.ID] = p.a.Key
	}
	s := dag.NewMemStore()
	if err := s.PutVerified(w.g); err != nil {
		t.Fatal(err)
	}
	g := w.g.CID()
	orig := map[cid.Cid]*dag.Node{g: w.g}
	ref := map[cid.Cid]*dag.Node{g: w.g}
	rb := &rebuilt{s: s, to: map[cid.Cid]cid.Cid{g: g}, back: map[cid.Cid]cid.Cid{g: g}}
	var flat func(key string, prev []cid.Cid) []cid.Cid
	flat = func(key string, prev []cid.Cid) []cid.Cid {
		var out []cid.Cid
		for _, p := range prev {
			if void[p] {
				op, _ := orig[p].Op(key)
				out = append(out, flat(key, op.Prev)...)
			} else {
				out = append(out, rb.to[p])
			}
		}
		return out
	}
	in := dag.NewIngester(s, g, nil)
	for _, n := range all {
		orig[n.CID()] = n
		parents := make([]*dag.Node, len(n.Parents))
		for i, p := range n.Parents {
			parents[i] = ref[p]
		}
		ops := []dag.Op{dagtest.Set("z/void", `0`)}
		if !void[n.CID()] {
			ops = nil
			for _, op := range n.Ops {
				op.Prev = flat(op.Key, op.Prev)
				ops = append(ops, op)
			}
		}
		var clock dag.Clock
		if n.Clock.Logical > 0 {
			clock.Observe(dag.Timestamp{Wall: n.Clock.Wall, Logical: n.Clock.Logical - 1})
		}
		r, err := dag.NewNode(dag.Draft{Space: g, Parents: parents, Ops: ops}, &clock, n.Clock.Wall, keys[n.Author], distinctions.DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		if r.Clock != n.Clock || r.Height != n.Height {
			t.Fatalf("rebuilt %s at %v height %d, want %v height %d", n.CID(), r.Clock, r.Height, n.Clock, n.Height)
		}
		if res, err := in.Add(r); err != nil || res.Err() != nil {
			t.Fatal(err, res.Err())
		}
		ref[n.CID()] = r
		rb.to[n.CID()], rb.back[r.CID()] = r.CID(), n.CID()
	}
	return rb
}

// original returns st, read from the rebuilt DAG, with its versions named by the
// original CIDs.
func (rb *rebuilt) original(t tb, st crdt.State) crdt.State {
	t.Helper()
	m := func(c cid.Cid) cid.Cid {
		if !c.Defined() {
			return c
		}
		o, ok := rb.back[c]
		if !ok {
			t.Fatalf("%s is no rebuilt node", c)
		}
		return o
	}
	st.Version = m(st.Version)
	heads := make([]cid.Cid, len(st.Heads))
	for i, h := range st.Heads {
		heads[i] = m(h)
	}
	st.Heads = dag.SortCIDs(heads)
	conflicts := slices.Clone(st.Conflicts)
	for i, c := range conflicts {
		c.Winner = m(c.Winner)
		c.Losers = slices.Clone(c.Losers)
		for j := range c.Losers {
			c.Losers[j].Version = m(c.Losers[j].Version)
		}
		conflicts[i] = c
	}
	st.Conflicts = conflicts
	return st
}

// sameAsRebuilt checks that r reads key as the rebuilt DAG does.
func (rb *rebuilt) sameAsRebuilt(t tb, r crdt.Reader, key string) crdt.State {
	t.Helper()
	got := mustRead(t, r, key)
	want := rb.original(t, mustRead(t, rb.s, key))
	if a, b := stateBytes(t, got), stateBytes(t, want); !bytes.Equal(a, b) {
		t.Fatalf("with void versions %s reads\n%s\nthe DAG without their ops\n%s", key, a, b)
	}
	return got
}

func mustRead(t tb, r crdt.Reader, key string) crdt.State {
	t.Helper()
	st, err := crdt.Read(r, key)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// isOnly checks that st holds value want, merged from exactly the heads given, with
// no conflict.
func isOnly(t *testing.T, st crdt.State, want string, heads ...*dag.Node) {
	t.Helper()
	var hs []cid.Cid
	for _, h := range heads {
		hs = append(hs, h.CID())
	}
	if got := js(t, st.Value); got != want || !slices.EqualFunc(st.Heads, dag.SortCIDs(hs), cid.Cid.Equals) || len(st.Conflicts) != 0 {
		t.Errorf("state %s heads %v conflicts %+v, want %s heads %v and no conflict", got, st.Heads, st.Conflicts, want, hs)
	}
}

func TestVoidHeadReadsAsItsPrev(t *testing.T) {
	w := newWorld(t, 1)
	v1 := w.write(0, dagtest.Set("k/1", `{"a":1}`))
	v2 := w.write(0, dagtest.Set("k/1", `{"a":2}`))
	v3 := w.write(0, dagtest.Del("k/1"))
	st := mustRead(t, voids(t, w.peers[0].s, v3), "k/1")
	isOnly(t, st, `{"a":2}`, v2)
	st = mustRead(t, voids(t, w.peers[0].s, v2, v3), "k/1")
	isOnly(t, st, `{"a":1}`, v1)
	if !st.Version.Equals(v1.CID()) || st.Clock != v1.Clock {
		t.Errorf("version %s at %v, want %s", st.Version, st.Clock, v1.CID())
	}
	st = mustRead(t, voids(t, w.peers[0].s, v1, v2, v3), "k/1")
	isOnly(t, st, "<absent>")
	if st.Version.Defined() {
		t.Errorf("every version void: version %s", st.Version)
	}
}

func TestVoidConcurrentHeadNoConflict(t *testing.T) {
	w := newWorld(t, 2)
	w.write(0, dagtest.Set("k/1", `{"a":0,"b":0}`))
	w.sync(0, 1)
	h0 := w.write(0, dagtest.Patch("k/1", `{"a":1}`))
	h1 := w.write(1, dagtest.Set("k/1", `{"a":2,"b":2}`))
	w.sync(0, 1)
	w.sync(1, 0)
	if st := w.read(0, "k/1"); len(st.Conflicts) != 1 {
		t.Fatalf("without void versions: conflicts %+v, want one", st.Conflicts)
	}
	for _, tc := range []struct {
		void, keep *dag.Node
		want       string
	}{{h0, h1, `{"a":2,"b":2}`}, {h1, h0, `{"a":1,"b":0}`}} {
		r := voids(t, w.peers[0].s, tc.void)
		st := mustRead(t, r, "k/1")
		isOnly(t, st, tc.want, tc.keep)
		if !st.Version.Equals(tc.keep.CID()) {
			t.Errorf("version %s, want %s", st.Version, tc.keep.CID())
		}
		m, err := crdt.Merge(r, "k/1", []cid.Cid{h1.CID(), h0.CID()})
		if err != nil || !bytes.Equal(stateBytes(t, m), stateBytes(t, st)) {
			t.Errorf("Merge of both heads = %s, %v; Read = %s", stateBytes(t, m), err, stateBytes(t, st))
		}
	}
}

func TestVoidWriteOnTop(t *testing.T) {
	for _, tc := range []struct {
		name string
		top  dag.Op
		want string
	}{
		{"set", dagtest.Set("k/1", `{"c":3}`), `{"c":3}`},
		{"patch", dagtest.Patch("k/1", `{"c":3}`), `{"a":1,"c":3}`},
		{"del", dagtest.Del("k/1"), "<absent>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newLogWorld(t, 1)
			w.write(0, dagtest.Set("k/1", `{"a":1}`))
			v2 := w.write(0, dagtest.Patch("k/1", `{"b":2}`))
			v3 := w.write(0, tc.top)
			r := voids(t, w.peers[0].s, v2)
			isOnly(t, rebuild(t, w.world, w.all, r.void).sameAsRebuilt(t, r, "k/1"), tc.want, v3)
		})
	}
}

// TestVoidMergeBase: a void merge base gives way to its own prevs, in a diamond and
// in a criss-cross, exactly as if its op had never been written.
func TestVoidMergeBase(t *testing.T) {
	t.Run("diamond", func(t *testing.T) {
		w := newLogWorld(t, 2)
		w.write(0, dagtest.Set("k/1", `{"a":0,"b":0}`))
		base := w.write(0, dagtest.Patch("k/1", `{"a":1}`))
		w.sync(0, 1)
		h0 := w.write(0, dagtest.Patch("k/1", `{"b":1}`))
		h1 := w.write(1, dagtest.Set("k/1", `{"a":1,"b":0}`))
		w.sync(0, 1)
		w.sync(1, 0)
		// With base counted, h1 changes nothing and h0 takes b; void, the base is
		// {"a":0,"b":0}: h0 (a patch on it) changes b and h1 changes a.
		w.converged("k/1", `{"a":1,"b":1}`)
		r := voids(t, w.peers[0].s, base)
		isOnly(t, rebuild(t, w.world, w.all, r.void).sameAsRebuilt(t, r, "k/1"), `{"a":1,"b":1}`, h0, h1)
		// Both void: a patch on the merge of h0 and h1 applies to h0's value alone.
		w.write(0, dagtest.Patch("k/1", `{"a":null}`))
		r = voids(t, w.peers[0].s, base, h1)
		if st := rebuild(t, w.world, w.all, r.void).sameAsRebuilt(t, r, "k/1"); js(t, st.Value) != `{"b":1}` {
			t.Errorf("patch over a void base and a void head: %s", js(t, st.Value))
		}
	})
	t.Run("criss-cross", func(t *testing.T) {
		// As in TestCrissCross, two merge versions m0 and m1 of a and b make a and b
		// the candidate bases of x and y; void, a gives way to its prev.
		w := newLogWorld(t, 2)
		w.write(0, dagtest.Set("k/1", `{"a":0,"b":0,"c":0}`))
		w.sync(0, 1)
		a := w.write(0, dagtest.Patch("k/1", `{"a":1}`))
		w.write(1, dagtest.Patch("k/1", `{"b":1}`))
		w.sync(0, 1)
		w.sync(1, 0)
		w.write(0, dagtest.Patch("k/1", `{}`))
		w.write(1, dagtest.Patch("k/1", `{}`))
		x := w.write(0, dagtest.Patch("k/1", `{"c":1}`))
		y := w.write(1, dagtest.Patch("k/1", `{"b":2}`))
		w.sync(0, 1)
		w.sync(1, 0)
		w.converged("k/1", `{"a":1,"b":2,"c":1}`)
		r := voids(t, w.peers[1].s, a)
		isOnly(t, rebuild(t, w.world, w.all, r.void).sameAsRebuilt(t, r, "k/1"), `{"a":0,"b":2,"c":1}`, x, y)
	})
}

func TestVoidHistoryAndTimeTravel(t *testing.T) {
	w := newWorld(t, 1)
	v1 := w.write(0, dagtest.Set("k/1", `{"v":1}`))
	v2 := w.write(0, dagtest.Patch("k/1", `{"v":2}`))
	v3 := w.write(0, dagtest.Patch("k/1", `{"w":3}`))
	r := voids(t, w.peers[0].s, v2)
	hist, err := crdt.History(r, "k/1")
	if err != nil || len(hist) != 2 {
		t.Fatalf("History = %+v, %v; want v1 and v3", hist, err)
	}
	if !hist[0].CID.Equals(v1.CID()) || js(t, hist[0].Value) != `{"v":1}` ||
		!hist[1].CID.Equals(v3.CID()) || js(t, hist[1].Value) != `{"v":1,"w":3}` {
		t.Errorf("History = %+v", hist)
	}
	for _, tc := range []struct {
		at   *dag.Node
		want string
		head *dag.Node
	}{{v1, `{"v":1}`, v1}, {v2, `{"v":1}`, v1}, {v3, `{"v":1,"w":3}`, v3}} {
		st, err := crdt.ReadAt(r, "k/1", tc.at.Clock)
		if err != nil {
			t.Fatal(err)
		}
		isOnly(t, st, tc.want, tc.head)
		if st, err = crdt.ReadAsOf(r, "k/1", []cid.Cid{tc.at.CID()}); err != nil {
			t.Fatal(err)
		}
		isOnly(t, st, tc.want, tc.head)
	}
	st, err := crdt.Merge(r, "k/1", []cid.Cid{v2.CID()})
	if err != nil {
		t.Fatal(err)
	}
	isOnly(t, st, `{"v":1}`, v1)
	// The value at a void version is its prevs' value.
	if ch, err := crdt.Diff(r, "k/1", v1.CID(), v2.CID()); err != nil || len(ch) != 0 {
		t.Errorf("Diff(v1, void v2) = %+v, %v; want no change", ch, err)
	}
	if ch, err := crdt.Diff(r, "k/1", v2.CID(), v3.CID()); err != nil || len(ch) != 1 || ch[0].Kind != crdt.Added || ch[0].Path[0] != "w" {
		t.Errorf("Diff(void v2, v3) = %+v, %v; want w added", ch, err)
	}
}

// TestVoidFastPath: with no void key-head, a read asks Void about the key-heads and
// the versions the merge visits, and never walks the key's history.
func TestVoidFastPath(t *testing.T) {
	w := newWorld(t, 3)
	for i := range 3 {
		w.write(i, dagtest.Set("k/1", fmt.Sprint(i)))
		w.write(i, dagtest.Set("k/1", fmt.Sprint(i+10)))
	}
	r := voids(t, w.peers[0].s)
	if st := mustRead(t, r, "k/1"); js(t, st.Value) != "10" || r.voidCalls != 1 || r.historyCalls != 0 {
		t.Errorf("one head: %d Void calls, %d KeyHistory calls; want 1 and 0", r.voidCalls, r.historyCalls)
	}
	for i := range 2 {
		w.sync(i+1, 0)
	}
	r = voids(t, w.peers[0].s)
	st := mustRead(t, r, "k/1")
	if len(st.Heads) != 3 || r.historyCalls != 0 {
		t.Errorf("heads %v: %d KeyHistory calls, want 0", st.Heads, r.historyCalls)
	}
	if plain := w.read(0, "k/1"); !bytes.Equal(stateBytes(t, plain), stateBytes(t, st)) {
		t.Errorf("nothing void reads\n%s\nwithout a Voider\n%s", stateBytes(t, st), stateBytes(t, plain))
	}
}

// TestVoidDistilled: Void is never asked about a distilled stand-in, and a void
// version after the cut, even one whose prev was folded, gives way to the cut's state.
func TestVoidDistilled(t *testing.T) {
	w := newWorld(t, 2)
	v1 := w.write(0, dagtest.Set("t/k", `{"a":1}`))
	w.sync(0, 1)
	v2 := w.write(0, dagtest.Patch("t/k", `{"b":2}`))
	late := w.write(1, dagtest.Patch("t/k", `{"e":5}`)) // prev v1, folded
	v3 := w.write(0, dagtest.Patch("t/k", `{"c":3}`))
	w.sync(1, 0)
	d := distill(t, w.peers[0].s, map[cid.Cid]bool{v1.CID(): true, v2.CID(): true}, "t/k")
	if st := mustRead(t, voids(t, d), "t/k"); js(t, st.Value) != `{"a":1,"b":2,"c":3,"e":5}` {
		t.Fatalf("nothing void: %s", js(t, st.Value))
	}
	isOnly(t, mustRead(t, voids(t, d, late), "t/k"), `{"a":1,"b":2,"c":3}`, v3)
	isOnly(t, mustRead(t, voids(t, d, late, v3), "t/k"), `{"a":1,"b":2}`, v2)
	hist, err := crdt.History(voids(t, d, late, v3), "t/k")
	if err != nil || len(hist) != 1 || !hist[0].Distilled {
		t.Errorf("History = %+v, %v; want the stand-in alone", hist, err)
	}
}

func TestVoidError(t *testing.T) {
	w := newWorld(t, 1)
	w.write(0, dagtest.Set("k/1", `1`))
	r := voids(t, w.peers[0].s)
	r.err = errors.New("no verdict")
	if _, err := crdt.Read(r, "k/1"); !errors.Is(err, r.err) {
		t.Errorf("Read = %v, want the Void error", err)
	}
	if _, err := crdt.History(r, "k/1"); !errors.Is(err, r.err) {
		t.Errorf("History = %v, want the Void error", err)
	}
}

// TestVoidIsTransparent: random multi-writer histories with a random set of void
// nodes read — Read, Merge, ReadWhere, ReadAt, ReadAsOf, History — exactly as the
// same DAG rebuilt without the void nodes' ops, whatever order the nodes arrived in;
// and a Voider that voids nothing changes no byte of any read.
func TestVoidIsTransparent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := newWorld(t, rapid.IntRange(1, 3).Draw(t, "peers"))
		var all []*dag.Node
		void := map[cid.Cid]bool{}
		steps := rapid.IntRange(1, 25).Draw(t, "steps")
		for s := range steps {
			i := rapid.IntRange(0, len(w.peers)-1).Draw(t, "peer")
			if rapid.IntRange(0, 2).Draw(t, "action") > 0 {
				var ops []dag.Op
				for _, key := range propKeys[:rapid.IntRange(1, 2).Draw(t, "keys")] {
					switch rapid.IntRange(0, 3).Draw(t, "kind") {
					case 0:
						ops = append(ops, dagtest.Del(key))
					case 1:
						ops = append(ops, dagtest.Patch(key, genPatch(t, fmt.Sprint("patch", s))))
					default:
						ops = append(ops, dagtest.Set(key, genValue(t, fmt.Sprint("value", s))))
					}
				}
				n := w.write(i, ops...)
				all = append(all, n)
				if rapid.IntRange(0, 2).Draw(t, "void") == 0 {
					void[n.CID()] = true
				}
				continue
			}
			j := rapid.IntRange(0, len(w.peers)-1).Draw(t, "from")
			src := allNodes(t, w.peers[j].s)
			pick := rapid.Permutation(src).Draw(t, "order")
			pick = pick[:rapid.IntRange(0, len(pick)).Draw(t, "count")]
			in := dag.NewIngester(w.peers[i].s, w.g.CID(), nil)
			for _, n := range pick {
				if res, err := in.Add(n); err != nil || res.Err() != nil {
					t.Fatal(err, res.Err())
				}
			}
		}
		if len(all) == 0 {
			return
		}
		rb := rebuild(t, w, all, void)
		s := dag.NewMemStore()
		in := dag.NewIngester(s, w.g.CID(), nil)
		for _, n := range rapid.Permutation(append(all, w.g)).Draw(t, "delivery") {
			if res, err := in.Add(n); err != nil || res.Err() != nil {
				t.Fatal(err, res.Err())
			}
		}
		r := &voiding{Reader: s, t: t, void: void}
		none := &voiding{Reader: s, t: t}
		at := rapid.SampledFrom(all).Draw(t, "at")
		for _, key := range propKeys {
			st := rb.sameAsRebuilt(t, r, key)
			b := stateBytes(t, st)
			check := func(what string, got crdt.State, err error) {
				t.Helper()
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if g := stateBytes(t, got); !bytes.Equal(g, b) {
					t.Fatalf("%s of %s reads\n%s\nnot\n%s", what, key, g, b)
				}
			}
			heads, _ := s.KeyHeads(key) // void ones among them
			m, err := crdt.Merge(r, key, rapid.Permutation(heads).Draw(t, "heads"))
			check("Merge of the key-heads", m, err)
			rw, err := crdt.ReadWhere(r, key, func(*dag.Node) (bool, error) { return true, nil })
			check("ReadWhere(all)", rw, err)

			b = stateBytes(t, rb.original(t, must(t)(crdt.ReadAt(rb.s, key, at.Clock))))
			ra, err := crdt.ReadAt(r, key, at.Clock)
			check("ReadAt", ra, err)
			b = stateBytes(t, rb.original(t, must(t)(crdt.ReadAsOf(rb.s, key, []cid.Cid{rb.to[at.CID()]}))))
			ro, err := crdt.ReadAsOf(r, key, []cid.Cid{at.CID()})
			check("ReadAsOf", ro, err)

			b = stateBytes(t, mustRead(t, s, key))
			check("Read with nothing void", mustRead(t, none, key), nil)

			got, err := crdt.History(r, key)
			if err != nil {
				t.Fatal(err)
			}
			want, err := crdt.History(rb.s, key)
			if err != nil {
				t.Fatal(err)
			}
			same := len(got) == len(want)
			for i := 0; same && i < len(got); i++ {
				g, w := got[i], want[i]
				same = g.CID.Equals(rb.back[w.CID]) && g.Kind == w.Kind && g.Clock == w.Clock && js(t, g.Value) == js(t, w.Value)
			}
			if !same {
				t.Fatalf("History of %s: %+v\nrebuilt: %+v", key, got, want)
			}
		}
	})
}

// must returns a function that fails t on an error and returns the state.
func must(t tb) func(crdt.State, error) crdt.State {
	return func(st crdt.State, err error) crdt.State {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
}
