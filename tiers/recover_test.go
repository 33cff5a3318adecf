package tiers_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/tiers"
	"github.com/korup2p/korup2p/wal"
)

// appendToWAL writes blocks straight into the WAL of the closed DB in dir, as a
// crash after the WAL append and before the index write leaves them.
func appendToWAL(t *testing.T, dir string, blocks ...[]byte) {
	t.Helper()
	l, err := wal.Open(filepath.Join(dir, "wal"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(blocks...); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenReplaysOnlyTheTail(t *testing.T) {
	dir, w := t.TempDir(), &warnings{}
	s := newSim(t, "tail", 7)
	db := openDB(t, dir, &tiers.Options{Warn: w.warn})
	s.populate(space(t, db, s.g), 50)
	db.Close()

	var tail [][]byte
	for range 10 {
		tail = append(tail, s.next().Bytes())
	}
	orphans := newSim(t, "orphans", 8) // a node whose dependencies the WAL lacks
	orphans.next()
	tail = append(tail, []byte("not a node"), orphans.next().Bytes())
	appendToWAL(t, dir, tail...)

	db = openDB(t, dir, &tiers.Options{Warn: w.warn})
	if got := db.Stats().Replayed; got != int64(len(tail)) {
		t.Errorf("Open replayed %d records, want the tail's %d", got, len(tail))
	}
	for _, want := range []string{"not a node", "dependency was lost"} {
		if !w.has(want) {
			t.Errorf("no warning about %q in %q", want, w.msgs)
		}
	}
	// The orphan is indexed without its dependency, and Check reports the hole.
	if err := db.Check(); err == nil || !strings.Contains(err.Error(), "was lost") {
		t.Errorf("Check with a lost dependency: %v", err)
	}
	if ok, err := space(t, db, orphans.g).Has(orphans.nodes[len(orphans.nodes)-1].CID()); !ok || err != nil {
		t.Errorf("orphan indexed: %v, %v", ok, err)
	}
	s.sameAsModel(t, space(t, db, s.g))
	db.Close()

	for i := range 3 { // and an Open that replays nothing keeps the checkpoint
		db = openDB(t, dir, nil)
		if got := db.Stats().Replayed; got != 0 {
			t.Errorf("Open %d after the tail replayed %d records, want 0", i+2, got)
		}
		db.Close()
	}
}

func TestIndexAheadOfWAL(t *testing.T) {
	dir, w := t.TempDir(), &warnings{}
	opts := &tiers.Options{Durability: tiers.DurabilityNone, Warn: w.warn}
	s := newSim(t, "ahead", 9)
	db := openDB(t, dir, opts)
	s.populate(space(t, db, s.g), 30)
	db.Close()
	kept := slices.Clone(s.nodes)
	want := takeSnapshot(t, s.model, kept)
	seg := filepath.Join(dir, "wal", "00000000000000000001.wal")
	fi, err := os.Stat(seg)
	if err != nil {
		t.Fatal(err)
	}

	db = openDB(t, dir, opts)
	s.populate(space(t, db, s.g), 10)
	db.Close()
	// A machine crash loses the WAL's unsynced tail while the index kept its
	// entries for it.
	if err := os.Truncate(seg, fi.Size()); err != nil {
		t.Fatal(err)
	}

	db = openDB(t, dir, opts)
	if !w.has("index is ahead of the wal") {
		t.Errorf("no warning about the index ahead of the wal: %q", w.msgs)
	}
	mustCheck(t, db)
	if err := takeSnapshot(t, space(t, db, s.g), kept).equal(want); err != nil {
		t.Fatal(err)
	}
}

func TestIndexLost(t *testing.T) {
	for _, damage := range []struct {
		name, warning string
		do            func(index string) error
	}{
		{"deleted", "index missing", os.RemoveAll},
		{"garbage", "index unreadable", func(index string) error {
			return filepath.WalkDir(index, func(path string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				return os.WriteFile(path, []byte("garbage"), 0o600)
			})
		}},
	} {
		t.Run(damage.name, func(t *testing.T) {
			dir, w := t.TempDir(), &warnings{}
			one, two := newSim(t, "one", 10), newSim(t, "two", 11)
			db := openDB(t, dir, &tiers.Options{Warn: w.warn})
			one.populate(space(t, db, one.g), 40)
			two.populate(space(t, db, two.g), 20)
			if err := db.SetMeta("space/one", []byte("genesis")); err != nil {
				t.Fatal(err)
			}
			want := takeSnapshot(t, space(t, db, one.g), one.nodes)
			db.Close()
			if err := damage.do(filepath.Join(dir, "index")); err != nil {
				t.Fatal(err)
			}

			db = openDB(t, dir, &tiers.Options{Warn: w.warn})
			if !w.has(damage.warning) {
				t.Errorf("no warning %q: %q", damage.warning, w.msgs)
			}
			if got := db.Stats().Replayed; got != 62 {
				t.Errorf("rebuild replayed %d records, want 62", got)
			}
			if err := takeSnapshot(t, space(t, db, one.g), one.nodes).equal(want); err != nil {
				t.Fatal(err)
			}
			two.sameAsModel(t, space(t, db, two.g))
			if v, err := db.Meta("space/one"); string(v) != "genesis" || err != nil {
				t.Errorf("Meta after rebuild = %q, %v", v, err)
			}
			mustCheck(t, db)
		})
	}
}

func TestRepair(t *testing.T) {
	db := openDB(t, t.TempDir(), nil)
	one, two := newSim(t, "one", 12), newSim(t, "two", 13)
	st1, st2 := space(t, db, one.g), space(t, db, two.g)
	one.populate(st1, 60)
	two.populate(st2, 30)
	if err := db.SetMeta("space/one", []byte("genesis")); err != nil {
		t.Fatal(err)
	}
	want := takeSnapshot(t, st1, one.nodes)
	var calls [][2]int64
	if err := db.Repair(func(done, total int64) { calls = append(calls, [2]int64{done, total}) }); err != nil {
		t.Fatal(err)
	}
	if len(calls) == 0 || calls[len(calls)-1][0] != calls[len(calls)-1][1] || calls[0][1] <= 0 {
		t.Errorf("progress calls %v: want a last one with done == total > 0", calls)
	}
	if !slices.IsSortedFunc(calls, func(a, b [2]int64) int { return int(a[0] - b[0]) }) {
		t.Errorf("progress went backwards: %v", calls)
	}
	if err := takeSnapshot(t, st1, one.nodes).equal(want); err != nil {
		t.Fatal(err)
	}
	two.sameAsModel(t, st2)
	if v, err := db.Meta("space/one"); string(v) != "genesis" || err != nil {
		t.Errorf("Meta after Repair = %q, %v", v, err)
	}
	mustCheck(t, db)
	one.populate(st1, 5) // writes go on
	one.sameAsModel(t, st1)
	if got := db.Stats().Nodes; got != 66+31 {
		t.Errorf("Stats().Nodes = %d, want %d", got, 66+31)
	}
}

// TestLostRecordRefilled: a node whose WAL record is lost leaves a hole that
// recovery indexes around (its dependents stay) and Check reports; storing the node
// again, as a peer's copy would be, fills it: Check passes and every answer is the
// model's.
func TestLostRecordRefilled(t *testing.T) {
	for seed := range int64(10) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { testLostRecordRefilled(t, seed) })
	}
}

func testLostRecordRefilled(t *testing.T, seed int64) {
	dir, w := t.TempDir(), &warnings{}
	s := newSim(t, "hole", seed)
	db := openDB(t, dir, &tiers.Options{Warn: w.warn})
	s.populate(space(t, db, s.g), 20)
	db.Close()
	var tail []*dag.Node
	for range 8 {
		tail = append(tail, s.next())
	}
	var lost *dag.Node
	var kept [][]byte
	for i, n := range tail {
		isDep := slices.ContainsFunc(tail[i+1:], func(m *dag.Node) bool { return slices.ContainsFunc(dag.Deps(m), n.CID().Equals) })
		if lost == nil && isDep {
			lost = n
			continue
		}
		kept = append(kept, n.Bytes())
	}
	if lost == nil {
		t.Fatal("no node of the tail is a dependency of a later one")
	}
	appendToWAL(t, dir, kept...)

	db = openDB(t, dir, &tiers.Options{Warn: w.warn})
	st := space(t, db, s.g)
	if !w.has("dependency was lost") {
		t.Fatalf("no warning about the hole: %q", w.msgs)
	}
	if err := db.Check(); err == nil || !strings.Contains(err.Error(), lost.CID().String()+" was lost") {
		t.Fatalf("Check with a hole: %v", err)
	}
	for _, n := range tail {
		if ok, err := st.Has(n.CID()); err != nil || ok == (n == lost) {
			t.Fatalf("Has(%s) = %v, %v (lost: %v)", n.CID(), ok, err, n == lost)
		}
	}
	s.mustPut(st, lost)
	mustCheck(t, db)
	s.sameAsModel(t, st)
	db.Close()
	db = openDB(t, dir, nil)
	mustCheck(t, db)
	s.sameAsModel(t, space(t, db, s.g))
}
