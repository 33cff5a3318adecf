package lru

import (
	"sync"
	"sync/atomic"
)

// Cache maps K to V within a cost budget. The zero value is not usable; call New.
type Cache[K comparable, V any] struct {
	mu      sync.RWMutex
	budget  int64
	cost    int64
	items   map[K]*item[K, V]
	ring    []*item[K, V] // the clock: every item once, in no particular order
	hand    int
	evicted uint64
}

type item[K comparable, V any] struct {
	key  K
	val  V
	cost int64
	slot int         // index in ring
	ref  atomic.Bool // used since the hand last passed
}

// New returns a cache holding at most budget bytes.
func New[K comparable, V any](budget int64) *Cache[K, V] {
	return &Cache[K, V]{budget: budget, items: map[K]*item[K, V]{}}
}

// Get returns the value under k and marks it used.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.RLock()
	it, ok := c.items[k]
	c.mu.RUnlock()
	if !ok {
		var zero V
		return zero, false
	}
	if !it.ref.Load() { // write the shared bit only when it changes
		it.ref.Store(true)
	}
	return it.val, true
}

// Put stores v under k with the given cost, replacing any value there, and evicts
// entries the clock hand finds unused until the cache is within budget. An entry
// costing more than the whole budget is not stored.
func (c *Cache[K, V]) Put(k K, v V, cost int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if it, ok := c.items[k]; ok {
		c.remove(it)
	}
	if cost > c.budget {
		return
	}
	it := &item[K, V]{key: k, val: v, cost: cost, slot: len(c.ring)}
	c.items[k] = it
	c.ring = append(c.ring, it)
	c.cost += cost
	for c.cost > c.budget {
		if c.hand >= len(c.ring) {
			c.hand = 0
		}
		victim := c.ring[c.hand]
		if victim != it && victim.ref.Swap(false) {
			c.hand++
			continue
		}
		if victim == it && len(c.ring) > 1 { // never evict what was just put
			c.hand++
			continue
		}
		c.remove(victim)
		c.evicted++
	}
}

// Delete removes k.
func (c *Cache[K, V]) Delete(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if it, ok := c.items[k]; ok {
		c.remove(it)
	}
}

// remove takes it out of the map and the ring (moving the ring's last item into its
// slot). c.mu is held.
func (c *Cache[K, V]) remove(it *item[K, V]) {
	delete(c.items, it.key)
	last := c.ring[len(c.ring)-1]
	c.ring[it.slot] = last
	last.slot = it.slot
	c.ring[len(c.ring)-1] = nil
	c.ring = c.ring[:len(c.ring)-1]
	c.cost -= it.cost
}

// Clear removes every entry.
func (c *Cache[K, V]) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.items)
	clear(c.ring)
	c.ring, c.hand, c.cost = c.ring[:0], 0, 0
}

// Stats returns the number of entries, their total cost, and the evictions so far.
func (c *Cache[K, V]) Stats() (entries int, cost int64, evicted uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.items), c.cost, c.evicted
}
