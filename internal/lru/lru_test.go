package lru

import (
	"fmt"
	"sync"
	"testing"
)

func TestEvictsUnusedByCost(t *testing.T) {
	c := New[string, int](10)
	c.Put("a", 1, 4)
	c.Put("b", 2, 4)
	if _, ok := c.Get("a"); !ok { // a is now more recent than b
		t.Fatal("a missing")
	}
	c.Put("c", 3, 4) // 12 > 10: evict b, the entry not used since it was put
	if _, ok := c.Get("b"); ok {
		t.Error("b survived; it was the unused one")
	}
	for _, k := range []string{"a", "c"} {
		if _, ok := c.Get(k); !ok {
			t.Errorf("%s evicted", k)
		}
	}
	c.Put("a", 10, 2) // replace: cost 2+4
	if v, _ := c.Get("a"); v != 10 {
		t.Errorf("a = %d after replace", v)
	}
	if n, cost, ev := c.Stats(); n != 2 || cost != 6 || ev != 1 {
		t.Errorf("Stats = %d, %d, %d; want 2, 6, 1", n, cost, ev)
	}
	// Second chance: an entry used since the hand passed survives one sweep.
	c2 := New[int, int](3)
	for i := range 3 {
		c2.Put(i, i, 1)
	}
	c2.Get(0)
	c2.Put(3, 3, 1) // evicts 1 (0 was used; 1 was not)
	if _, ok := c2.Get(0); !ok {
		t.Error("a used entry was evicted before an unused one")
	}
	if _, ok := c2.Get(1); ok {
		t.Error("the unused entry survived")
	}
	c.Put("huge", 0, 11)
	if _, ok := c.Get("huge"); ok {
		t.Error("an entry over the whole budget was stored")
	}
	c3 := New[int, int](10)
	c3.Put(1, 1, 5)
	c3.Clear()
	if _, ok := c3.Get(1); ok {
		t.Error("Clear left an entry")
	}
	if n, cost, _ := c3.Stats(); n != 0 || cost != 0 {
		t.Errorf("after Clear: %d entries, cost %d", n, cost)
	}
	c3.Put(2, 2, 5)
	if v, ok := c3.Get(2); !ok || v != 2 {
		t.Error("the cache does not work after Clear")
	}
	c.Delete("a")
	if n, cost, _ := c.Stats(); n != 1 || cost != 4 {
		t.Errorf("after Delete: %d entries, cost %d", n, cost)
	}
}

func TestConcurrent(t *testing.T) {
	c := New[int, string](1000)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k := (g*7 + i) % 300
				c.Put(k, fmt.Sprint(k), 3)
				if v, ok := c.Get(k); ok && v != fmt.Sprint(k) {
					t.Errorf("key %d holds %q", k, v)
				}
			}
		}()
	}
	wg.Wait()
	if _, cost, _ := c.Stats(); cost > 1000 {
		t.Errorf("cost %d over budget", cost)
	}
}

func BenchmarkGetHit(b *testing.B) {
	c := New[string, []byte](1 << 30)
	keys := make([]string, 100_000)
	for i := range keys {
		keys[i] = fmt.Sprintf("users/%d", i)
		c.Put(keys[i], make([]byte, 64), 64)
	}
	i := 0
	for b.Loop() {
		if _, ok := c.Get(keys[i%len(keys)]); !ok {
			b.Fatal("miss")
		}
		i++
	}
}
