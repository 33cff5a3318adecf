package wal

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

// warning is one call of Options.Warn.
type warning struct {
	msg string
	kv  map[string]any
}

// warnings collects Options.Warn calls.
type warnings struct {
	mu   sync.Mutex
	list []warning
}

func (w *warnings) warn(msg string, keyvals ...any) {
	kv := make(map[string]any)
	for i := 0; i+1 < len(keyvals); i += 2 {
		kv[fmt.Sprint(keyvals[i])] = keyvals[i+1]
	}
	w.mu.Lock()
	w.list = append(w.list, warning{msg, kv})
	w.mu.Unlock()
}

func (w *warnings) take() []warning {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.list
	w.list = nil
	return l
}

// checkGoroutines fails the test if it ends with more goroutines than it started with.
// Call it before anything the test starts, so that its cleanup runs last.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("goroutines: %d before, %d after Close\n%s",
					before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// openLog opens a Log that the test closes at its end if it did not.
func openLog(t testing.TB, dir string, opts *Options) *Log {
	t.Helper()
	return openHooked(t, dir, opts, hooks{})
}

func openHooked(t testing.TB, dir string, opts *Options, h hooks) *Log {
	t.Helper()
	l, err := open(dir, opts, h)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return l
}

func mustAppend(t testing.TB, l *Log, blocks ...string) []Pos {
	t.Helper()
	bs := make([][]byte, len(blocks))
	for i, b := range blocks {
		bs[i] = []byte(b)
	}
	pos, err := l.Append(bs...)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return pos
}

func mustClose(t testing.TB, l *Log) {
	t.Helper()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// replayAll replays the whole log and returns the positions and blocks.
func replayAll(t testing.TB, l *Log) ([]Pos, []string) {
	t.Helper()
	var pos []Pos
	var blocks []string
	err := l.Replay(Pos{}, func(p Pos, b []byte) error {
		pos = append(pos, p)
		blocks = append(blocks, string(b))
		return nil
	})
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	return pos, blocks
}

// blockN is the n-th test block: distinct, and long enough to fill small segments.
func blockN(n int) string { return fmt.Sprintf("block-%04d-%s", n, "xxxxxxxxxxxxxxxxxxxx") }
