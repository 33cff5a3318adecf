package korup2p_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/charmbracelet/log"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/distinctions"
	"github.com/korup2p/korup2p/tiers"
)

func openDisk(t *testing.T, dir string, opts *korup2p.Options) *korup2p.Node {
	t.Helper()
	if opts == nil {
		opts = &korup2p.Options{}
	}
	opts.Logger = quietLogger()
	n, err := korup2p.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(context.Background()) })
	return n
}

// TestDiskBudget: at the budget, writes fail naming it, deletes still go in, and
// everything acknowledged stays readable — also after a reopen.
func TestDiskBudget(t *testing.T) {
	dir := t.TempDir()
	n := openDisk(t, dir, &korup2p.Options{DiskBudget: 64 << 10, Durability: korup2p.DurabilityNone})
	var acked []string
	var full error
	for i := range 2000 {
		key := fmt.Sprintf("fill/%d", i)
		if _, err := n.Put(ctx, "default", key, strings.Repeat("x", 500)); err != nil {
			full = err
			break
		}
		acked = append(acked, key)
	}
	if full == nil {
		t.Fatal("2,000 writes of 500 bytes fit a 64 KiB budget")
	}
	var be *tiers.BudgetError
	if !errors.As(full, &be) || !strings.Contains(full.Error(), "disk budget of 64.0 KiB") {
		t.Fatalf("write at the budget: %v, want an error naming the budget", full)
	}
	if _, err := n.Delete(ctx, "default", acked[0]); err != nil {
		t.Fatalf("a delete at the budget: %v", err)
	}
	check := func(n *korup2p.Node) {
		for _, k := range acked[1:] {
			if _, err := n.Get(ctx, "default", k); err != nil {
				t.Fatalf("acknowledged %s: %v", k, err)
			}
		}
		if _, err := n.Get(ctx, "default", acked[0]); !errors.Is(err, korup2p.ErrNotFound) {
			t.Fatalf("deleted %s: %v", acked[0], err)
		}
	}
	check(n)
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
	check(openDisk(t, dir, nil))
}

// TestRepairWhileReading: Repair rebuilds the index from the WAL while readers keep
// reading; afterwards every value and history is the same and Check passes.
func TestRepairWhileReading(t *testing.T) {
	n := openDisk(t, t.TempDir(), &korup2p.Options{Durability: korup2p.DurabilityNone})
	for i := range 50 {
		mustPut(t, n, "default", fmt.Sprintf("r/%d", i%10), map[string]int{"i": i})
	}
	before := mustGet(t, n, "default", "r/3")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := n.Get(context.Background(), "default", "r/3"); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var progressed bool
	err := n.Repair(ctx, func(done, total int64) { progressed = progressed || done > 0 })
	close(stop)
	wg.Wait()
	if err != nil || !progressed {
		t.Fatalf("Repair: %v (progress reported: %v)", err, progressed)
	}
	if err := n.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := n.Stats(); err != nil || st.Storage.Nodes != 51 || st.Storage.WALBytes == 0 || st.Storage.IndexBytes == 0 {
		t.Errorf("Stats().Storage = %+v, %v; want 51 nodes (genesis + 50 writes) and sizes", st.Storage, err)
	}
	after := mustGet(t, n, "default", "r/3")
	if string(after.Value) != string(before.Value) || !after.Version.Equals(before.Version) {
		t.Errorf("after Repair: %s@%s, before %s@%s", after.Value, after.Version, before.Value, before.Version)
	}
	if hist, err := n.History(ctx, "default", "r/3"); err != nil || len(hist) != 5 {
		t.Errorf("history after Repair: %d versions, %v", len(hist), err)
	}
}

// TestTornLastRecord: the last WAL record cut short (a torn write) costs exactly that
// write: reopening reports it, rebuilds the index that was ahead of the log, and keeps
// every other write; the store then takes writes again.
func TestTornLastRecord(t *testing.T) {
	dir := t.TempDir()
	n := openDisk(t, dir, nil)
	for i := range 20 {
		mustPut(t, n, "default", fmt.Sprintf("t/%d", i), i)
	}
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "wal", "*.wal"))
	if len(segs) == 0 {
		t.Fatal("no WAL segment")
	}
	last := segs[len(segs)-1]
	fi, err := os.Stat(last)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(last, fi.Size()-10); err != nil {
		t.Fatal(err)
	}

	var logs strings.Builder
	n2, err := korup2p.Open(dir, &korup2p.Options{Logger: log.New(&logs)})
	if err != nil {
		t.Fatalf("reopen after a torn record: %v", err)
	}
	defer n2.Close(ctx)
	if !strings.Contains(logs.String(), filepath.Base(last)) {
		t.Errorf("the torn record was not reported with its file; logs:\n%s", logs.String())
	}
	for i := range 19 {
		if e, err := n2.Get(ctx, "default", fmt.Sprintf("t/%d", i)); err != nil || string(e.Value) != fmt.Sprint(i) {
			t.Errorf("t/%d: %s, %v", i, e.Value, err)
		}
	}
	if _, err := n2.Get(ctx, "default", "t/19"); !errors.Is(err, korup2p.ErrNotFound) {
		t.Errorf("the torn write t/19: %v, want ErrNotFound", err)
	}
	if err := n2.Check(ctx); err != nil {
		t.Fatal(err)
	}
	mustPut(t, n2, "default", "t/19", 19)
	if e := mustGet(t, n2, "default", "t/19"); string(e.Value) != "19" {
		t.Errorf("rewrite after recovery: %s", e.Value)
	}
}

// TestWritesFitInNodes: what the writer packs into one node always decodes again.
// Values as deep as a node allows are stored and read back after a reopen; and
// concurrent writes whose values together exceed a node's size limit are all
// acknowledged (the writer splits them across nodes) and all survive a reopen.
func TestWritesFitInNodes(t *testing.T) {
	dir := t.TempDir()
	n := openDisk(t, dir, &korup2p.Options{Durability: korup2p.DurabilityAlways})
	depth := dag.ValueLimits(distinctions.DefaultLimits).MaxDepth
	deep := strings.Repeat("[", depth) + strings.Repeat("]", depth)
	if _, err := n.Put(ctx, "default", "deep/max", []byte(deep)); err != nil {
		t.Fatalf("a value %d deep: %v", depth, err)
	}

	// 12 writers × 700 KB: a commit round takes up to 8 MiB of requests, a node at
	// most 4 MiB (4 × MaxValueSize).
	const writers = 12
	big := strings.Repeat("x", 700<<10)
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			_, errs[i] = n.Put(ctx, "default", fmt.Sprintf("big/%02d", i), big)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}

	n = openDisk(t, dir, nil)
	if e, err := n.Get(ctx, "default", "deep/max"); err != nil || string(e.Value) != deep {
		t.Errorf("deep value after reopen: %.20s…, %v", e.Value, err)
	}
	for i := range writers {
		if e, err := n.Get(ctx, "default", fmt.Sprintf("big/%02d", i)); err != nil || len(e.Value) != len(big)+2 {
			t.Errorf("big/%02d after reopen: %d bytes, %v", i, len(e.Value), err)
		}
	}
}
