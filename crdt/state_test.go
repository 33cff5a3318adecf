package crdt_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p/crdt"
	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/dag/dagtest"
	"github.com/korup2p/korup2p/distinctions"
)

// tb is what the helpers need of *testing.T and *rapid.T.
type tb interface {
	Helper()
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// replica is one simulated peer: its store and its author.
type replica struct {
	s *dag.MemStore
	a *dagtest.Author
}

type world struct {
	t     tb
	g     *dag.Node
	peers []*replica
}

func newWorld(t tb, n int) *world {
	w := &world{t: t}
	for i := range n {
		s, g := dagtest.NewSpace("crdt")
		w.g = g
		w.peers = append(w.peers, &replica{s: s, a: dagtest.NewAuthor(int64(i + 1))})
	}
	return w
}

func (w *world) write(i int, ops ...dag.Op) *dag.Node {
	w.t.Helper()
	n, err := w.peers[i].a.Write(w.peers[i].s, w.g.CID(), ops...)
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

// sync gives peer to every node peer from holds.
func (w *world) sync(from, to int) {
	w.t.Helper()
	in := dag.NewIngester(w.peers[to].s, w.g.CID(), nil)
	for _, n := range allNodes(w.t, w.peers[from].s) {
		if res, err := in.Add(n); err != nil || res.Err() != nil {
			w.t.Fatal(err, res.Err())
		}
	}
}

func allNodes(t tb, s dag.Store) []*dag.Node {
	heads, _ := s.Heads()
	seen := map[cid.Cid]bool{}
	var out []*dag.Node
	var walk func(c cid.Cid)
	walk = func(c cid.Cid) {
		if seen[c] {
			return
		}
		seen[c] = true
		n, err := s.Get(c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
		for _, p := range n.Parents {
			walk(p)
		}
	}
	for _, h := range heads {
		walk(h)
	}
	return out
}

func (w *world) read(i int, key string) crdt.State {
	w.t.Helper()
	st, err := crdt.Read(w.peers[i].s, key)
	if err != nil {
		w.t.Fatal(err)
	}
	return st
}

func js(t tb, v any) string {
	t.Helper()
	if crdt.IsAbsent(v) {
		return "<absent>"
	}
	b, err := distinctions.FormatJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// converged checks that every peer reads key as want, with the same version and conflicts.
func (w *world) converged(key, want string) crdt.State {
	w.t.Helper()
	first := w.read(0, key)
	if got := js(w.t, first.Value); got != want {
		w.t.Errorf("%s = %s, want %s", key, got, want)
	}
	for i := range w.peers[1:] {
		if a, b := stateBytes(w.t, first), stateBytes(w.t, w.read(i+1, key)); !bytes.Equal(a, b) {
			w.t.Errorf("peer %d reads %s as %s, peer 0 as %s", i+1, key, b, a)
		}
	}
	return first
}

// stateBytes is a canonical rendering of everything a read returns.
func stateBytes(t tb, st crdt.State) []byte {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s|%s|%v|%v|%s|%v|", st.Key, js(t, st.Value), st.Version, st.Clock, st.Author, st.Heads)
	for _, c := range st.Conflicts {
		fmt.Fprintf(&b, "%q:%s=%s", c.Path, c.Winner, js(t, c.Value))
		for _, l := range c.Losers {
			fmt.Fprintf(&b, ",%s=%s", l.Version, js(t, l.Value))
		}
		b.WriteByte(';')
	}
	return b.Bytes()
}

func TestConcurrentFieldsBothSurvive(t *testing.T) {
	w := newWorld(t, 2)
	w.write(0, dagtest.Set("users/ada", `{"name":"Ada","city":"London","age":36}`))
	w.sync(0, 1)
	w.write(0, dagtest.Patch("users/ada", `{"city":"Paris"}`))
	w.write(1, dagtest.Set("users/ada", `{"name":"Ada","city":"London","age":37}`))
	w.sync(0, 1)
	w.sync(1, 0)
	st := w.converged("users/ada", `{"age":37,"city":"Paris","name":"Ada"}`)
	if len(st.Heads) != 2 || len(st.Conflicts) != 0 {
		t.Errorf("heads %v conflicts %v", st.Heads, st.Conflicts)
	}
}

func TestConcurrentSameFieldDeterministicWinner(t *testing.T) {
	w := newWorld(t, 2)
	w.write(0, dagtest.Set("doc/1", `{"title":"a","body":"x"}`))
	w.sync(0, 1)
	na := w.write(0, dagtest.Patch("doc/1", `{"title":"from 0"}`))
	nb := w.write(1, dagtest.Patch("doc/1", `{"title":"from 1"}`))
	w.sync(0, 1)
	w.sync(1, 0)
	win, lose := na, nb
	if dag.HistoryOrder(na, nb) < 0 {
		win, lose = nb, na
	}
	wantTitle := map[*dag.Node]string{na: "from 0", nb: "from 1"}
	st := w.converged("doc/1", fmt.Sprintf(`{"body":"x","title":%q}`, wantTitle[win]))
	if len(st.Conflicts) != 1 {
		t.Fatalf("conflicts = %+v, want one", st.Conflicts)
	}
	c := st.Conflicts[0]
	if !slices.Equal(c.Path, []string{"title"}) || !c.Winner.Equals(win.CID()) || len(c.Losers) != 1 ||
		!c.Losers[0].Version.Equals(lose.CID()) || c.Losers[0].Value != wantTitle[lose] || !st.Version.Equals(win.CID()) {
		t.Errorf("conflict %+v, want %s winning over %s", c, win.CID(), lose.CID())
	}
	// A write on top of the merged state supersedes exactly the merged heads, and the
	// losing value is gone.
	m := w.write(0, dagtest.Patch("doc/1", `{"body":"y"}`))
	if op, _ := m.Op("doc/1"); !slices.EqualFunc(op.Prev, st.Heads, cid.Cid.Equals) {
		t.Errorf("merge write prev %v, want the heads %v", op.Prev, st.Heads)
	}
	w.sync(0, 1)
	st = w.converged("doc/1", fmt.Sprintf(`{"body":"y","title":%q}`, wantTitle[win]))
	if len(st.Heads) != 1 || !st.Heads[0].Equals(m.CID()) || len(st.Conflicts) != 0 {
		t.Errorf("after the write: heads %v conflicts %v", st.Heads, st.Conflicts)
	}
}

func TestEqualClockTie(t *testing.T) {
	w := newWorld(t, 2)
	w.peers[0].a.Wall, w.peers[1].a.Wall = dagtest.Epoch, dagtest.Epoch
	n0 := w.write(0, dagtest.Set("k/1", `"zero"`))
	n1 := w.write(1, dagtest.Set("k/1", `"one"`))
	if n0.Clock != n1.Clock {
		t.Fatalf("clocks differ: %v %v", n0.Clock, n1.Clock)
	}
	w.sync(0, 1)
	w.sync(1, 0)
	want := `"zero"`
	if n1.Author > n0.Author {
		want = `"one"`
	}
	st := w.converged("k/1", want)
	if len(st.Conflicts) != 1 || len(st.Conflicts[0].Path) != 0 {
		t.Errorf("conflicts %+v", st.Conflicts)
	}
}

func TestPutPutDelete(t *testing.T) {
	// Sequential: put, put (on the other writer), delete → absent everywhere.
	w := newWorld(t, 2)
	w.write(0, dagtest.Set("k/1", `1`))
	w.sync(0, 1)
	w.write(1, dagtest.Set("k/1", `2`))
	w.sync(1, 0)
	w.write(0, dagtest.Del("k/1"))
	w.sync(0, 1)
	if st := w.converged("k/1", "<absent>"); st.Exists() || len(st.Conflicts) != 0 {
		t.Errorf("state %+v", st)
	}
	// Concurrent: a delete against an update is compared whole; the greater rank wins
	// and the other is reported.
	w = newWorld(t, 2)
	w.write(0, dagtest.Set("k/1", `{"a":1}`))
	w.sync(0, 1)
	w.write(1, dagtest.Patch("k/1", `{"a":2}`))
	del := w.write(0, dagtest.Del("k/1")) // later wall clock: wins
	w.sync(0, 1)
	w.sync(1, 0)
	st := w.converged("k/1", "<absent>")
	if len(st.Conflicts) != 1 || !st.Conflicts[0].Winner.Equals(del.CID()) || js(t, st.Conflicts[0].Losers[0].Value) != `{"a":2}` {
		t.Errorf("delete-vs-update conflict %+v", st.Conflicts)
	}
	// The update re-applied on top of the merge brings the key back.
	w.write(1, dagtest.Set("k/1", `{"a":3}`))
	w.sync(1, 0)
	w.converged("k/1", `{"a":3}`)
}

func TestCrissCross(t *testing.T) {
	w := newWorld(t, 2)
	w.write(0, dagtest.Set("k/1", `{"a":0,"b":0,"c":0}`))
	w.sync(0, 1)
	w.write(0, dagtest.Patch("k/1", `{"a":1}`))
	w.write(1, dagtest.Patch("k/1", `{"b":1}`))
	// Both merge each other's change concurrently: two merge versions with the same
	// two prevs, then each writes a third field.
	w.sync(0, 1)
	w.sync(1, 0)
	w.write(0, dagtest.Patch("k/1", `{}`))
	w.write(1, dagtest.Patch("k/1", `{}`))
	w.write(0, dagtest.Patch("k/1", `{"c":1}`))
	w.write(1, dagtest.Patch("k/1", `{"a":2}`))
	w.sync(0, 1)
	w.sync(1, 0)
	if st := w.converged("k/1", `{"a":2,"b":1,"c":1}`); len(st.Conflicts) != 0 {
		t.Errorf("criss-cross conflicts %+v", st.Conflicts)
	}
}

func TestTimeTravelHistoryDiff(t *testing.T) {
	w := newWorld(t, 1)
	v1 := w.write(0, dagtest.Set("k/1", `{"v":1,"x":true}`))
	v2 := w.write(0, dagtest.Patch("k/1", `{"v":2,"x":null}`))
	v3 := w.write(0, dagtest.Del("k/1"))
	s := w.peers[0].s
	for _, tc := range []struct {
		at   dag.Timestamp
		want string
	}{
		{dag.Timestamp{Wall: v1.Clock.Wall - 1}, "<absent>"},
		{v1.Clock, `{"v":1,"x":true}`},
		{dag.Timestamp{Wall: v2.Clock.Wall - 1}, `{"v":1,"x":true}`},
		{v2.Clock, `{"v":2}`},
		{v3.Clock, "<absent>"},
	} {
		st, err := crdt.ReadAt(s, "k/1", tc.at)
		if err != nil || js(t, st.Value) != tc.want {
			t.Errorf("ReadAt(%v) = %s, %v; want %s", tc.at, js(t, st.Value), err, tc.want)
		}
	}
	if st, _ := crdt.ReadAt(s, "k/1", dag.Timestamp{Wall: v1.Clock.Wall - 1}); len(st.Heads) != 0 {
		t.Errorf("before the first write: heads %v (a caller tells 'no value then' by no heads)", st.Heads)
	}
	st, err := crdt.ReadAsOf(s, "k/1", []cid.Cid{v2.CID()})
	if err != nil || js(t, st.Value) != `{"v":2}` || !st.Version.Equals(v2.CID()) {
		t.Errorf("ReadAsOf(v2) = %s %s, %v", js(t, st.Value), st.Version, err)
	}
	hist, err := crdt.History(s, "k/1")
	if err != nil || len(hist) != 3 {
		t.Fatalf("History = %v, %v", hist, err)
	}
	for i, want := range []struct {
		c    cid.Cid
		kind dag.Kind
		v    string
	}{{v1.CID(), dag.KindSet, `{"v":1,"x":true}`}, {v2.CID(), dag.KindPatch, `{"v":2}`}, {v3.CID(), dag.KindDel, "<absent>"}} {
		if h := hist[i]; !h.CID.Equals(want.c) || h.Kind != want.kind || js(t, h.Value) != want.v || h.Author != w.peers[0].a.ID {
			t.Errorf("history[%d] = %+v", i, h)
		}
	}
	changes, err := crdt.Diff(s, "k/1", v1.CID(), v2.CID())
	if err != nil || len(changes) != 2 || changes[0].Kind != crdt.Changed || changes[1].Kind != crdt.Removed {
		t.Errorf("Diff(v1, v2) = %+v, %v", changes, err)
	}
	if _, err := crdt.Diff(s, "other/key", v1.CID(), v2.CID()); !errors.Is(err, crdt.ErrNotVersion) {
		t.Errorf("Diff of a version of another key: %v, want ErrNotVersion", err)
	}
	if st := w.read(0, "never/written"); st.Exists() || st.Version.Defined() || len(st.Heads) != 0 {
		t.Errorf("never written: %+v", st)
	}
}
