package crdt_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p/crdt"
	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/dag/dagtest"
	"github.com/korup2p/korup2p/distinctions"
)

// distilled is a Reader over a store whose nodes in cut were folded the way package
// tiers folds them: each is a dag.Distilled stand-in that keeps, for each key it was
// a key-head of at the cut, one op holding the key's state there; the other versions
// leave the key's history.
type distilled struct {
	s     dag.Store
	cut   map[cid.Cid]bool
	stand map[cid.Cid]*dag.Node
}

func distill(t *testing.T, s dag.Store, cut map[cid.Cid]bool, keys ...string) *distilled {
	t.Helper()
	d := &distilled{s: s, cut: cut, stand: map[cid.Cid]*dag.Node{}}
	ops := map[cid.Cid][]dag.Op{}
	for _, k := range keys {
		st, err := crdt.ReadWhere(s, k, func(n *dag.Node) (bool, error) { return cut[n.CID()], nil })
		if err != nil {
			t.Fatal(err)
		}
		op := dag.Op{Key: k, Kind: dag.KindDel}
		if st.Exists() {
			v, err := distinctions.EncodeValue(st.Value, distinctions.DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			op = dag.Op{Key: k, Kind: dag.KindSet, Value: v.Bytes}
		}
		for _, h := range st.Heads {
			ops[h] = append(ops[h], op)
		}
	}
	for c := range cut {
		n, err := s.Get(c)
		if err != nil {
			t.Fatal(err)
		}
		d.stand[c] = dag.Distilled(c, n.SpaceID(), n.Height, n.Clock, n.Author, ops[c])
	}
	return d
}

func (d *distilled) Get(c cid.Cid) (*dag.Node, error) {
	if n, ok := d.stand[c]; ok {
		return n, nil
	}
	return d.s.Get(c)
}

func (d *distilled) KeyHeads(key string) ([]cid.Cid, error) { return d.s.KeyHeads(key) }

func (d *distilled) KeyHistory(key string) ([]cid.Cid, error) {
	hist, err := d.s.KeyHistory(key)
	return slices.DeleteFunc(hist, func(c cid.Cid) bool {
		n := d.stand[c]
		if n == nil {
			return false
		}
		_, ok := n.Op(key)
		return !ok
	}), err
}

// TestDistilledHistoryReadsTheSame: folding the history before a cut into stand-ins
// changes no current value, neither for a patch chain across the cut nor for
// concurrent edits whose merge base is a folded version.
func TestDistilledHistoryReadsTheSame(t *testing.T) {
	w := newWorld(t, 2)
	v1 := w.write(0, dagtest.Set("t/k", `{"a":1}`), dagtest.Set("t/gone", `1`))
	v2 := w.write(0, dagtest.Patch("t/k", `{"b":2}`), dagtest.Del("t/gone"))
	w.sync(0, 1)
	cut := map[cid.Cid]bool{v1.CID(): true, v2.CID(): true}
	w.write(0, dagtest.Patch("t/k", `{"c":3}`))
	w.write(1, dagtest.Patch("t/k", `{"d":4}`))
	w.sync(1, 0)
	full := w.read(0, "t/k")
	d := distill(t, w.peers[0].s, cut, "t/k", "t/gone")
	got, err := crdt.Read(d, "t/k")
	if err != nil {
		t.Fatal(err)
	}
	if a, b := js(t, got.Value), js(t, full.Value); a != b || a != `{"a":1,"b":2,"c":3,"d":4}` {
		t.Fatalf("distilled read %s, full read %s", a, b)
	}
	if gone, err := crdt.Read(d, "t/gone"); err != nil || gone.Exists() {
		t.Fatalf("deleted key after distillation: %v, %v", js(t, gone.Value), err)
	}
	hist, err := crdt.History(d, "t/k")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 || !hist[0].Distilled || hist[0].CID != v2.CID() || js(t, hist[0].Value) != `{"a":1,"b":2}` {
		t.Fatalf("history after distillation: %+v", hist)
	}
	// Time travel to a clock before the cut finds nothing of k's folded past.
	if st, err := crdt.ReadAt(d, "t/k", v1.Clock); err != nil || st.Exists() {
		t.Fatalf("ReadAt before the cut: %s, %v", js(t, st.Value), err)
	}
	if st, err := crdt.ReadAt(d, "t/k", v2.Clock); err != nil || js(t, st.Value) != `{"a":1,"b":2}` {
		t.Fatalf("ReadAt the cut: %s, %v", js(t, st.Value), err)
	}
}

// TestDistilledLateBranch: a version that reached the store after the cut but names
// a folded version that kept no op as its prev reads without error: that prev is
// left out, and the late edit merges with the state at the cut.
func TestDistilledLateBranch(t *testing.T) {
	w := newWorld(t, 2)
	v1 := w.write(0, dagtest.Set("t/k", `{"a":1}`))
	w.sync(0, 1)
	v2 := w.write(0, dagtest.Patch("t/k", `{"b":2}`))
	w.write(1, dagtest.Patch("t/k", `{"e":5}`)) // concurrent with v2, prev v1
	cut := map[cid.Cid]bool{v1.CID(): true, v2.CID(): true}
	w.sync(1, 0)
	d := distill(t, w.peers[0].s, cut, "t/k")
	if _, err := d.Get(v1.CID()); err != nil {
		t.Fatal(err)
	}
	got, err := crdt.Read(d, "t/k")
	if err != nil {
		t.Fatal(err)
	}
	if js(t, got.Value) != `{"a":1,"b":2,"e":5}` {
		t.Fatalf("late branch merged to %s", js(t, got.Value))
	}
	if _, err := crdt.Merge(d, "t/k", []cid.Cid{v1.CID()}); !errors.Is(err, dag.ErrDistilled) {
		t.Fatalf("reading a folded version: %v, want ErrDistilled", err)
	}
}
