package korup2p_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/tiers"
)

// TestDistill: with a retention, old history folds into a snapshot and its WAL
// segments go; every current value, List and Query read the same, before and after
// a reopen and a Repair; time travel before the cut says the history was distilled;
// writes on distilled keys build on the folded state.
func TestDistill(t *testing.T) {
	dir := t.TempDir()
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	opts := func() *korup2p.Options {
		return &korup2p.Options{SegmentSize: 16 << 10, Now: clock.Now, Durability: korup2p.DurabilityNone,
			Retention: korup2p.Retention{Age: 24 * time.Hour}, DistillEvery: time.Hour}
	}
	n := openDisk(t, dir, opts())
	for round := range 10 {
		for i := range 20 {
			key := fmt.Sprintf("doc/%02d", i)
			switch {
			case round == 0 || i%5 == 0 && round%3 == 0:
				mustPut(t, n, "default", key, map[string]any{"round": round, "i": i, "pad": strings.Repeat("p", 200)})
			case i%7 == 0 && round == 5:
				if _, err := n.Delete(ctx, "default", key); err != nil {
					t.Fatal(err)
				}
			default:
				if _, err := n.Patch(ctx, "default", key, map[string]any{fmt.Sprintf("r%d", round): round}); err != nil {
					t.Fatal(err)
				}
			}
		}
		clock.Set(clock.Now().Add(time.Hour))
	}
	cutTime := clock.Now()
	clock.Set(cutTime.Add(48 * time.Hour)) // everything written so far is two days old
	for i := range 5 {
		mustPut(t, n, "default", fmt.Sprintf("new/%d", i), i)
	}
	want := readAll(t, n)
	before, err := n.Stats()
	if err != nil {
		t.Fatal(err)
	}
	res, err := n.Distill(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cut := res.Spaces["default"]
	if res.Nodes < 100 || cut == nil || !cut.Snapshot.Defined() {
		t.Fatalf("distilled %+v", res)
	}
	after, err := n.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if after.Storage.WALSegments >= before.Storage.WALSegments || after.Storage.WALBytes >= before.Storage.WALBytes {
		t.Fatalf("segments %d → %d, bytes %d → %d", before.Storage.WALSegments, after.Storage.WALSegments,
			before.Storage.WALBytes, after.Storage.WALBytes)
	}
	if after.Spaces[0].Distilled == nil || !after.Spaces[0].Distilled.Snapshot.Equals(cut.Snapshot) {
		t.Fatalf("stats: %+v", after.Spaces[0])
	}
	sameAll(t, "after distilling", n, want)
	if again, err := n.Distill(ctx); err != nil || again.Nodes != 0 {
		t.Fatalf("a second distillation with nothing old: %+v, %v", again, err)
	}

	// Time travel before the cut is refused, clearly; at and after it, it works.
	_, err = n.GetAt(ctx, "default", "doc/01", cutTime.Add(-5*time.Hour))
	if !errors.Is(err, korup2p.ErrDistilled) || !strings.Contains(err.Error(), "distilled") {
		t.Fatalf("GetAt before the cut: %v, want ErrDistilled", err)
	}
	if e, err := n.GetAt(ctx, "default", "doc/01", cutTime.Add(time.Hour)); err != nil ||
		!strings.HasSuffix(want["doc/01"], " "+string(e.Value)) {
		t.Fatalf("GetAt after the cut: %s, %v", e.Value, err)
	}
	hist, err := n.History(ctx, "default", "doc/01")
	if err != nil || len(hist) == 0 || len(hist) >= 10 || !hist[0].Distilled {
		t.Fatalf("history after distilling: %d versions, %v", len(hist), err)
	}
	for _, v := range hist[1:] {
		if v.Distilled || v.Clock.Compare(cut.Clock) <= 0 {
			t.Fatalf("a version at %s after the distilled one, cut at %s", v.Clock, cut.Clock)
		}
	}

	// Writes on distilled keys build on the folded state.
	if _, err := n.Patch(ctx, "default", "doc/01", map[string]any{"after": true}); err != nil {
		t.Fatal(err)
	}
	e := mustGet(t, n, "default", "doc/01")
	if !strings.Contains(string(e.Value), `"after":true`) || !strings.Contains(string(e.Value), `"r9":9`) {
		t.Fatalf("patch over the fold: %s", e.Value)
	}
	want = readAll(t, n)
	if err := n.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
	n = openDisk(t, dir, opts())
	sameAll(t, "reopened", n, want)
	if _, err := n.GetAt(ctx, "default", "doc/01", cutTime.Add(-5*time.Hour)); !errors.Is(err, korup2p.ErrDistilled) {
		t.Fatalf("GetAt before the cut after reopening: %v", err)
	}
	if err := n.Repair(ctx, nil); err != nil {
		t.Fatal(err)
	}
	sameAll(t, "repaired", n, want)
	if err := n.Check(ctx); err != nil {
		t.Fatal(err)
	}

	// Exported, a distilled space carries its snapshot: another node starts from it.
	var car bytes.Buffer
	if err := n.Export(ctx, "default", &car, nil); err != nil {
		t.Fatal(err)
	}
	other := openDisk(t, t.TempDir(), nil)
	if _, err := other.Import(ctx, &car, "copy", nil); err != nil {
		t.Fatal(err)
	}
	d1, _ := n.StateDigest(ctx, "default")
	d2, err := other.StateDigest(ctx, "copy")
	if err != nil || d1 != d2 {
		t.Fatalf("imported distilled space differs: %v", err)
	}
}

// TestDistillInBackground: a Node with a retention folds history on its own.
func TestDistillInBackground(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	n := openDisk(t, t.TempDir(), &korup2p.Options{SegmentSize: 8 << 10, Now: clock.Now,
		Durability: korup2p.DurabilityNone, Retention: korup2p.Retention{Keep: 10}, DistillEvery: 10 * time.Millisecond})
	for i := range 200 {
		mustPut(t, n, "default", fmt.Sprintf("k/%d", i%20), strings.Repeat("v", 100)+fmt.Sprint(i))
	}
	want := readAll(t, n)
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := n.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if st.Spaces[0].Distilled != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no distillation within 10s: %+v", st.Storage)
		}
		time.Sleep(10 * time.Millisecond)
	}
	sameAll(t, "after background distillation", n, want)
}

// TestDistillAtDiskBudget: at the disk budget, distillation still runs and frees
// the space that writes need.
func TestDistillAtDiskBudget(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	n := openDisk(t, t.TempDir(), &korup2p.Options{SegmentSize: 256 << 10, Now: clock.Now, DiskBudget: 16 << 20,
		Durability: korup2p.DurabilityNone, Retention: korup2p.Retention{Keep: 20}, DistillEvery: time.Hour})
	rng := rand.New(rand.NewPCG(1, 2))
	var full error
	for i := range 10000 { // incompressible values: the cold tier cannot shrink them
		v := make([]byte, 2000)
		for j := range v {
			v[j] = byte(rng.Uint32())
		}
		if _, err := n.Put(ctx, "default", fmt.Sprintf("k/%d", i%50), hex.EncodeToString(v)); err != nil {
			full = err
			break
		}
	}
	if !errors.Is(full, tiers.ErrDiskBudget) {
		t.Fatalf("filling the budget: %v", full)
	}
	want := readAll(t, n)
	if res, err := n.Distill(ctx); err != nil || res.Nodes == 0 {
		t.Fatalf("distill at the budget: %+v, %v", res, err)
	}
	sameAll(t, "after distilling at the budget", n, want)
	deadline := time.Now().Add(5 * time.Second) // the index's size is measured once a second
	for {
		_, err := n.Put(ctx, "default", "k/after", "fits again")
		if err == nil {
			break
		}
		if !errors.Is(err, tiers.ErrDiskBudget) || time.Now().After(deadline) {
			t.Fatalf("a write after distilling: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readAll returns every key's current version and value in the default space, by
// List and Get.
func readAll(t *testing.T, n *korup2p.Node) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := n.List(ctx, "default", "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		out[e.Key] = e.Version.String() + " " + string(mustGet(t, n, "default", e.Key).Value)
	}
	if len(out) == 0 {
		t.Fatal("nothing listed")
	}
	return out
}

// sameAll checks the keys, versions and values readAll returns against want.
func sameAll(t *testing.T, what string, n *korup2p.Node, want map[string]string) {
	t.Helper()
	got := readAll(t, n)
	if len(got) != len(want) {
		t.Fatalf("%s: %d keys listed, want %d", what, len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s: %s = %s, want %s", what, k, got[k], v)
		}
	}
}
