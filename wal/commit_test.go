package wal

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestGroupCommit runs 16 appenders of 3-block calls: every call's blocks must come
// back contiguous and in order, and SyncAlways must need far fewer fsyncs than calls.
func TestGroupCommit(t *testing.T) {
	checkGoroutines(t)
	const writers, calls = 16, 100
	l := openLog(t, t.TempDir(), &Options{SegmentSize: 64 << 10})
	before := l.syncs.Load()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for c := range calls {
				b := func(i int) []byte { return fmt.Appendf(nil, "w%02d-c%03d-b%d", w, c, i) }
				pos, err := l.Append(b(0), b(1), b(2))
				if err != nil {
					t.Error(err)
					return
				}
				if got, err := l.ReadAt(pos[2]); err != nil || string(got) != string(b(2)) {
					t.Errorf("ReadAt(%v) = %q, %v", pos[2], got, err)
				}
			}
		})
	}
	wg.Wait()
	syncs := l.syncs.Load() - before
	t.Logf("%d appends, %d fsyncs", writers*calls, syncs)
	if syncs > writers*calls/2 {
		t.Errorf("%d fsyncs for %d concurrent appends: no group commit", syncs, writers*calls)
	}

	_, blocks := replayAll(t, l)
	if len(blocks) != writers*calls*3 {
		t.Fatalf("replayed %d blocks, want %d", len(blocks), writers*calls*3)
	}
	next := make([]int, writers) // next call expected from each writer
	for i := 0; i < len(blocks); i += 3 {
		var w, c int
		if _, err := fmt.Sscanf(blocks[i], "w%02d-c%03d-b0", &w, &c); err != nil {
			t.Fatalf("block %d = %q, not the first of a call", i, blocks[i])
		}
		want := []string{blocks[i], fmt.Sprintf("w%02d-c%03d-b1", w, c), fmt.Sprintf("w%02d-c%03d-b2", w, c)}
		if !slices.Equal(blocks[i:i+3], want) || c != next[w] {
			t.Fatalf("blocks %d..%d = %q, want call %d of writer %d", i, i+2, blocks[i:i+3], next[w], w)
		}
		next[w]++
	}
}

func TestSyncModes(t *testing.T) {
	t.Run("interval", func(t *testing.T) {
		checkGoroutines(t)
		l := openLog(t, t.TempDir(), &Options{Sync: SyncInterval, Interval: time.Millisecond})
		before := l.syncs.Load()
		for i := range 10 {
			mustAppend(t, l, blockN(i))
		}
		waitFor(t, "the flusher to fsync", func() bool {
			l.mu.Lock()
			written := l.writes
			l.mu.Unlock()
			l.syncMu.Lock()
			defer l.syncMu.Unlock()
			return l.synced == written
		})
		if l.syncs.Load() == before {
			t.Fatal("no fsync")
		}
		n := l.syncs.Load()
		time.Sleep(20 * time.Millisecond) // idle: nothing to sync
		if l.syncs.Load() != n {
			t.Errorf("flusher fsynced %d times with nothing written", l.syncs.Load()-n)
		}
	})
	t.Run("none", func(t *testing.T) {
		checkGoroutines(t)
		l := openLog(t, t.TempDir(), &Options{Sync: SyncNone})
		before := l.syncs.Load()
		for i := range 100 {
			mustAppend(t, l, blockN(i))
		}
		if n := l.syncs.Load() - before; n != 0 {
			t.Errorf("SyncNone fsynced %d times", n)
		}
		mustClose(t, l)
		if n := l.syncs.Load() - before; n != 1 {
			t.Errorf("Close fsynced %d times, want 1", n)
		}
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestSyncFailureIsSticky(t *testing.T) {
	checkGoroutines(t)
	var fail atomic.Bool
	eio := errors.New("injected EIO")
	l, err := open(t.TempDir(), nil, hooks{sync: func(f *os.File) error {
		if fail.Load() {
			return eio
		}
		return f.Sync()
	}})
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, "durable")
	fail.Store(true)
	if _, err := l.Append([]byte("lost")); !errors.Is(err, eio) {
		t.Fatalf("Append with a failing fsync: %v", err)
	}
	fail.Store(false)
	if _, err := l.Append([]byte("after")); !errors.Is(err, eio) {
		t.Fatalf("Append after a failed fsync: %v, want the fsync error again", err)
	}
	if err := l.Close(); !errors.Is(err, eio) {
		t.Fatalf("Close after a failed fsync: %v", err)
	}
}

// TestWriteFailure is a full disk: the failed call leaves nothing behind, earlier
// records stay, and appends work again once there is room.
func TestWriteFailure(t *testing.T) {
	checkGoroutines(t)
	dir := t.TempDir()
	var full atomic.Bool
	var w warnings
	l := openHooked(t, dir, &Options{Warn: w.warn}, hooks{writeAt: func(f *os.File, b []byte, off int64) (int, error) {
		if full.Load() {
			n, _ := f.WriteAt(b[:len(b)/2], off)
			return n, syscall.ENOSPC
		}
		return f.WriteAt(b, off)
	}})
	mustAppend(t, l, "one", "two")
	size := l.Segments()[0].Size
	full.Store(true)
	if _, err := l.Append([]byte("three"), []byte("four")); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Append on a full disk: %v", err)
	}
	if fi, err := os.Stat(l.path(1)); err != nil || fi.Size() != size || l.Segments()[0].Size != size {
		t.Fatalf("failed write left the segment at %d bytes, want %d", fi.Size(), size)
	}
	full.Store(false)
	mustAppend(t, l, "five")
	mustClose(t, l)
	l = openLog(t, dir, &Options{Warn: w.warn})
	if _, got := replayAll(t, l); !slices.Equal(got, []string{"one", "two", "five"}) {
		t.Fatalf("Replay = %q", got)
	}
	if got := w.take(); len(got) != 0 {
		t.Fatalf("warnings after a failed write: %v", got)
	}
}

// TestConcurrentUse appends, reads, replays and removes segments all at once, for the
// race detector: readers see only whole records, or ErrNotFound for removed ones.
func TestConcurrentUse(t *testing.T) {
	checkGoroutines(t)
	l := openLog(t, t.TempDir(), &Options{SegmentSize: 1 << 10})
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() { // reads the last record and replays the log
		for {
			select {
			case <-stop:
				return
			default:
			}
			if p := l.LastPos(); !p.IsZero() {
				if _, err := l.ReadAt(p); err != nil && !errors.Is(err, ErrNotFound) {
					t.Errorf("ReadAt(%v): %v", p, err)
				}
			}
			err := l.Replay(Pos{}, func(_ Pos, b []byte) error {
				if len(b) == 0 || b[0] != 'w' {
					return fmt.Errorf("replayed %q", b)
				}
				return nil
			})
			if err != nil {
				t.Errorf("Replay: %v", err)
			}
		}
	})
	readers.Go(func() { // keeps the two newest segments
		for {
			select {
			case <-stop:
				return
			default:
			}
			if segs := l.Segments(); len(segs) > 2 {
				if err := l.Remove(segs[len(segs)-2].Seq); err != nil {
					t.Errorf("Remove: %v", err)
				}
			}
		}
	})
	var writers sync.WaitGroup
	for w := range 8 {
		writers.Go(func() {
			for c := range 200 {
				if _, err := l.Append(fmt.Appendf(nil, "w%d-%d", w, c)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	writers.Wait()
	close(stop)
	readers.Wait()
}
