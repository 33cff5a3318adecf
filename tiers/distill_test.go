package tiers_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p/crdt"
	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/distinctions"
	"github.com/korup2p/korup2p/tiers"
)

// fold computes what Distill needs, as the root package does: each key's state over
// the versions in the cut.
func fold(t testing.TB, db *tiers.DB, g *dag.Node, p *tiers.Plan) map[cid.Cid][]tiers.Fold {
	t.Helper()
	st := space(t, db, g)
	out := map[cid.Cid][]tiers.Fold{}
	for _, sp := range p.Spaces {
		if !sp.Space.Equals(g.CID()) {
			t.Fatalf("plan names space %s", sp.Space)
		}
		for _, k := range sp.Keys {
			s, err := crdt.ReadWhere(st, k, func(n *dag.Node) (bool, error) { return sp.Contains(n), nil })
			if err != nil {
				t.Fatal(err)
			}
			f := tiers.Fold{Key: k, Heads: s.Heads}
			if s.Exists() {
				d, err := distinctions.EncodeValue(s.Value, distinctions.DefaultLimits)
				if err != nil {
					t.Fatal(err)
				}
				f.Value = d.Bytes
			}
			out[sp.Space] = append(out[sp.Space], f)
		}
	}
	return out
}

// states reads every key of the sim through crdt.
func states(t testing.TB, st crdt.Reader) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, k := range trickyKeys {
		s, err := crdt.Read(st, k)
		if err != nil {
			t.Fatalf("read %q: %v", k, err)
		}
		v := "<absent>"
		if s.Exists() {
			b, err := distinctions.FormatJSON(s.Value)
			if err != nil {
				t.Fatal(err)
			}
			v = string(b)
		}
		out[k] = v
	}
	return out
}

func sameStates(t testing.TB, what string, got, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if got[k] != w {
			t.Fatalf("%s: %q = %s, want %s", what, k, got[k], w)
		}
	}
}

// syncAll gives both replicas every node, so that later writes descend from all.
func (s *sim) syncAll() {
	for _, r := range s.replicas {
		for _, n := range s.nodes {
			s.mustPut(r, n)
		}
	}
}

// TestDistill folds the oldest segments of a forking history, twice, and checks
// that the current state reads the same as the model's (through the distillation,
// after reopening and after Repair), that the folded nodes are stand-ins, that the
// segments are gone and that the index checks out.
func TestDistill(t *testing.T) {
	dir := t.TempDir()
	opts := &tiers.Options{SegmentSize: 8 << 10}
	db := openDB(t, dir, opts)
	s := newSim(t, "distill", 1)
	st := space(t, db, s.g)
	s.populate(st, 300)
	s.syncAll()
	if p, err := db.PlanDistill(tiers.Retention{}, time.Now()); p != nil || err != nil {
		t.Fatalf("zero retention planned %v, %v", p, err)
	}
	before := db.Stats()
	p, err := db.PlanDistill(tiers.Retention{Keep: 100}, time.Now())
	if err != nil || p == nil {
		t.Fatalf("plan: %v, %v", p, err)
	}
	cut := map[cid.Cid]bool{}
	for _, n := range s.nodes {
		if p.Spaces[0].Contains(n) {
			cut[n.CID()] = true
		}
	}
	if len(cut) < 50 || len(cut) > 200 {
		t.Fatalf("cut of %d nodes of %d, keeping 100", len(cut), len(s.nodes))
	}
	snaps, err := db.Distill(p, fold(t, db, s.g, p))
	if err != nil {
		t.Fatal(err)
	}
	if !snaps[s.g.CID()].Defined() {
		t.Fatalf("no snapshot: %v", snaps)
	}
	after := db.Stats()
	if after.WALSegments >= before.WALSegments || after.Nodes != before.Nodes-int64(len(cut)) {
		t.Fatalf("before %+v, after %+v, cut %d", before, after, len(cut))
	}
	sameStates(t, "after distilling", states(t, st), states(t, s.model))
	mustCheck(t, db)
	for c := range cut {
		n, err := st.Get(c)
		if err != nil {
			t.Fatal(err)
		}
		if !n.IsDistilled() && !n.IsGenesis() {
			t.Fatalf("%s is whole after distilling", c)
		}
		if ok, err := st.Has(c); !ok || err != nil {
			t.Fatalf("Has(%s) = %v, %v", c, ok, err)
		}
	}
	if last, err := db.LastSnapshot(s.g.CID()); err != nil || !last.CID.Equals(snaps[s.g.CID()]) {
		t.Fatalf("LastSnapshot: %v, %v", last, err)
	}
	checkSnapshot(t, db, snaps[s.g.CID()], p.Spaces[0])

	// Writes go on over the cut; a second distillation folds more.
	s.populate(st, 150)
	s.syncAll()
	p, err = db.PlanDistill(tiers.Retention{Keep: 60}, time.Now())
	if err != nil || p == nil {
		t.Fatalf("second plan: %v, %v", p, err)
	}
	if _, err := db.Distill(p, fold(t, db, s.g, p)); err != nil {
		t.Fatal(err)
	}
	s.populate(st, 20)
	want := states(t, s.model)
	sameStates(t, "after distilling twice", states(t, st), want)
	mustCheck(t, db)

	// A fresh store starts from the snapshot chain and takes the whole nodes after it.
	root, blocks, err := db.SnapshotBlocks(s.g.CID())
	if err != nil || len(blocks) < 4 {
		t.Fatalf("snapshot blocks: %d, %v", len(blocks), err)
	}
	fresh := openDB(t, t.TempDir(), nil)
	fst := space(t, fresh, s.g)
	s.mustPut(fst, s.g)
	if err := fresh.InstallSnapshot(s.g.CID(), root, blocks); err != nil {
		t.Fatal(err)
	}
	for _, n := range s.nodes {
		if got, err := st.Get(n.CID()); err != nil {
			t.Fatal(err)
		} else if !got.IsDistilled() {
			s.mustPut(fst, n)
		}
	}
	sameStates(t, "installed from the snapshot", states(t, fst), want)
	mustCheck(t, fresh)
	if a, b := mustHeads(t, fst), mustHeads(t, st); !slices.EqualFunc(a, b, cid.Cid.Equals) {
		t.Fatalf("heads from the snapshot %v, original %v", a, b)
	}

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDB(t, dir, opts)
	st = space(t, db, s.g)
	sameStates(t, "reopened", states(t, st), want)
	mustCheck(t, db)
	if err := db.Repair(nil); err != nil {
		t.Fatal(err)
	}
	sameStates(t, "repaired", states(t, st), want)
	mustCheck(t, db)
	if heads, err := st.Heads(); err != nil || len(heads) == 0 {
		t.Fatalf("heads after repair: %v, %v", heads, err)
	}
}

// TestDistillAge folds only segments whose nodes are all older than the age.
func TestDistillAge(t *testing.T) {
	db := openDB(t, t.TempDir(), &tiers.Options{SegmentSize: 8 << 10})
	s := newSim(t, "age", 2)
	st := space(t, db, s.g)
	s.populate(st, 100)
	// The sim's authors write at fixed clocks near the epoch: an hour ago is after
	// all of them, and a retention of a century is before all of them.
	if p, err := db.PlanDistill(tiers.Retention{Age: 100 * 365 * 24 * time.Hour}, time.Now()); p != nil || err != nil {
		t.Fatalf("nothing is a century old, planned %v, %v", p, err)
	}
	p, err := db.PlanDistill(tiers.Retention{Age: time.Hour}, time.Now())
	if err != nil || p == nil {
		t.Fatalf("plan: %v, %v", p, err)
	}
	segs := db.Stats().WALSegments
	if p.Through != uint64(segs-1) {
		t.Fatalf("age plan through segment %d of %d: all sealed ones are old", p.Through, segs)
	}
	if _, err := db.Distill(p, fold(t, db, s.g, p)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Distill(p, fold(t, db, s.g, p)); err == nil {
		t.Fatal("a plan distilled twice")
	}
	if db.Stats().WALSegments != 1 {
		t.Fatalf("%d segments left", db.Stats().WALSegments)
	}
	sameStates(t, "after age distillation", states(t, st), states(t, s.model))
	mustCheck(t, db)
	var stand *dag.Node
	for _, n := range s.nodes {
		if got, err := st.Get(n.CID()); err == nil && got.IsDistilled() {
			stand = got
			break
		} else if err != nil && !errors.Is(err, dag.ErrNotFound) {
			t.Fatal(err)
		}
	}
	if stand == nil || stand.Bytes() != nil {
		t.Fatalf("no stand-in: %v", stand)
	}
}

// checkSnapshot decodes the snapshot c and its chunks and checks them against the
// plan: its space, heads and clock, and one entry per key, sorted.
func checkSnapshot(t *testing.T, db *tiers.DB, c cid.Cid, sp *tiers.SpacePlan) {
	t.Helper()
	b, err := db.SnapshotBlock(c)
	if err != nil {
		t.Fatal(err)
	}
	if got := distinctions.Sum(b); !got.Equals(c) {
		t.Fatalf("snapshot block hashes to %s, not %s", got, c)
	}
	var snap tiers.Snapshot
	if err := distinctions.Decode(b, &snap, distinctions.Limits{}); err != nil {
		t.Fatal(err)
	}
	if !snap.Space.Cid.Equals(sp.Space) || len(snap.Heads) != len(sp.Heads) ||
		snap.Clock != [2]int64{sp.Clock.Wall, int64(sp.Clock.Logical)} {
		t.Fatalf("snapshot %+v, plan heads %v clock %v", snap, sp.Heads, sp.Clock)
	}
	for i, h := range snap.Heads {
		if !h.C.Cid.Equals(sp.Heads[i]) || h.Height == 0 && !h.C.Cid.Equals(sp.Space) {
			t.Fatalf("snapshot head %d: %+v, want %s", i, h, sp.Heads[i])
		}
	}
	var keys []string
	for _, l := range snap.Chunks {
		b, err := db.SnapshotBlock(l.Cid)
		if err != nil {
			t.Fatal(err)
		}
		var chunk tiers.SnapshotChunk
		if err := distinctions.Decode(b, &chunk, distinctions.Limits{}); err != nil {
			t.Fatal(err)
		}
		for _, e := range chunk.Entries {
			keys = append(keys, e.Key)
			if len(e.Heads) == 0 {
				t.Fatalf("entry %q without heads", e.Key)
			}
		}
	}
	if !slices.Equal(keys, sp.Keys) {
		t.Fatalf("snapshot keys %q, plan keys %q", keys, sp.Keys)
	}
}

func mustHeads(t *testing.T, st dag.Store) []cid.Cid {
	t.Helper()
	h, err := st.Heads()
	if err != nil {
		t.Fatal(err)
	}
	return h
}
