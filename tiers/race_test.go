package tiers_test

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/dag/dagtest"
	"github.com/korup2p/korup2p/tiers"
)

// TestConcurrentReadersWhileWriting writes two spaces at once, syncing now and
// then, while readers check that what they see is consistent: every head is
// readable, its history holds it, and Len never goes back.
func TestConcurrentReadersWhileWriting(t *testing.T) {
	db := openDB(t, t.TempDir(), &tiers.Options{CacheBytes: 32 << 10}) // reads miss the cache too
	var stores []dag.Store
	var writers, readers sync.WaitGroup
	errs := make(chan error, 64)
	done := make(chan struct{})
	for i := range 2 {
		g, err := dag.NewOpenGenesis(fmt.Sprintf("space-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		st := space(t, db, g)
		if err := st.PutVerified(g); err != nil {
			t.Fatal(err)
		}
		stores = append(stores, st)
		a := dagtest.NewAuthor(int64(20 + i))
		writers.Go(func() {
			for j := range 150 {
				if _, err := a.Write(st, g.CID(), dagtest.Set(fmt.Sprintf("k/%d", j%7), fmt.Sprint(j))); err != nil {
					errs <- err
					return
				}
				if j%10 == 0 {
					if err := db.Sync(); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	for r := range 4 {
		st := stores[r%2]
		readers.Go(func() {
			last := 0
			for {
				select {
				case <-done:
					return
				default:
				}
				if err := readOnce(st, &last); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	writers.Wait()
	close(done)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	mustCheck(t, db)
}

func readOnce(st dag.Store, last *int) error {
	n, err := st.Len()
	if err != nil {
		return err
	}
	if n < *last {
		return fmt.Errorf("Len went from %d to %d", *last, n)
	}
	*last = n
	heads, err := st.Heads()
	if err != nil {
		return err
	}
	for _, h := range heads {
		node, err := st.Get(h)
		if err != nil {
			return fmt.Errorf("head %s: %w", h, err)
		}
		if _, err := st.Children(h); err != nil {
			return err
		}
		for _, op := range node.Ops {
			hist, err := st.KeyHistory(op.Key)
			if err != nil {
				return err
			}
			if !slices.ContainsFunc(hist, h.Equals) {
				return fmt.Errorf("history of %q lacks head %s", op.Key, h)
			}
		}
	}
	_, err = st.Keys("k/", "k/2", 3)
	return err
}

func TestCloseStopsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	db, err := tiers.Open(t.TempDir(), &tiers.Options{Durability: tiers.DurabilityInterval})
	if err != nil {
		t.Fatal(err)
	}
	s := newSim(t, "goroutines", 15)
	s.populate(space(t, db, s.g), 5)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); !errors.Is(err, tiers.ErrClosed) {
		t.Errorf("second Close: %v, want ErrClosed", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines before Open, %d after Close:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
