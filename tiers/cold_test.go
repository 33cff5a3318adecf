package tiers_test

import (
	"testing"
	"time"

	"github.com/korup2p/korup2p/tiers"
)

// TestColdTier: sealed segments are compressed in the background and everything
// still reads the same, before and after a reopen.
func TestColdTier(t *testing.T) {
	dir := t.TempDir()
	opts := &tiers.Options{SegmentSize: 16 << 10}
	db := openDB(t, dir, opts)
	s := newSim(t, "cold", 1)
	st := space(t, db, s.g)
	s.populate(st, 400)
	deadline := time.Now().Add(20 * time.Second)
	for db.Stats().ColdSegments == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no segment compressed within 20 s: %+v", db.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	stats := db.Stats()
	if stats.WALSegments < 3 {
		t.Fatalf("only %d segments: the test did not seal enough", stats.WALSegments)
	}
	s.sameAsModel(t, st)
	mustCheck(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openDB(t, dir, opts)
	st = space(t, db, s.g)
	s.sameAsModel(t, st)
	mustCheck(t, db)
	for _, n := range s.nodes { // every node decodes from its (possibly cold) segment
		if got, err := st.Get(n.CID()); err != nil || !got.CID().Equals(n.CID()) {
			t.Fatalf("Get(%s) after reopen: %v", n.CID(), err)
		}
	}
	t.Logf("%d segments, %d cold, %d WAL bytes on disk", stats.WALSegments, stats.ColdSegments, stats.WALBytes)
}
