package wal

import (
	"errors"
	"sync"
	"testing"
)

// TestSyncBarrier: with SyncNone, Append does not fsync; Sync does, once for everything
// appended before it, and concurrent Syncs share fsyncs.
func TestSyncBarrier(t *testing.T) {
	checkGoroutines(t)
	l := openLog(t, t.TempDir(), &Options{Sync: SyncNone})
	before := l.syncs.Load()
	for i := range 10 {
		mustAppend(t, l, blockN(i))
	}
	if n := l.syncs.Load() - before; n != 0 {
		t.Fatalf("SyncNone appends fsynced %d times", n)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if n := l.syncs.Load() - before; n != 1 {
		t.Fatalf("one Sync after 10 appends: %d fsyncs, want 1", n)
	}
	if err := l.Sync(); err != nil || l.syncs.Load()-before != 1 {
		t.Fatalf("a Sync with nothing new fsynced again (%v)", err)
	}

	const writers = 16
	before = l.syncs.Load()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range 50 {
				mustAppend(t, l, blockN(w*100+i))
				if err := l.Sync(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n := l.syncs.Load() - before; n > writers*50/2 {
		t.Errorf("%d fsyncs for %d concurrent Syncs: not shared", n, writers*50)
	}
	mustClose(t, l)
	if err := l.Sync(); !errors.Is(err, ErrClosed) {
		t.Errorf("Sync after Close: %v", err)
	}
}
