// Package lru is korup2p's hot tier: a least-recently-used cache bounded by the bytes
// its entries say they cost, safe for concurrent use.
package lru

import (
	"container/list"
	"sync"
)

// Cache maps K to V, evicting the least recently used entries once the total cost
// exceeds the budget. The zero value is not usable; call New.
type Cache[K comparable, V any] struct {
	mu      sync.Mutex
	budget  int64
	cost    int64
	order   *list.List // front = most recent
	entries map[K]*list.Element
	evicted uint64
}

type entry[K comparable, V any] struct {
	key  K
	val  V
	cost int64
}

// New returns a cache holding at most budget bytes.
func New[K comparable, V any](budget int64) *Cache[K, V] {
	return &Cache[K, V]{budget: budget, order: list.New(), entries: map[K]*list.Element{}}
}

// Get returns the value under k and marks it recently used.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*entry[K, V]).val, true
}

// Put stores v under k with the given cost, replacing any value there, and evicts
// least recently used entries until the cache is within budget. An entry costing more
// than the whole budget is not stored.
func (c *Cache[K, V]) Put(k K, v V, cost int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[k]; ok {
		c.remove(e)
	}
	if cost > c.budget {
		return
	}
	c.entries[k] = c.order.PushFront(&entry[K, V]{key: k, val: v, cost: cost})
	c.cost += cost
	for c.cost > c.budget {
		c.remove(c.order.Back())
		c.evicted++
	}
}

// Delete removes k.
func (c *Cache[K, V]) Delete(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[k]; ok {
		c.remove(e)
	}
}

func (c *Cache[K, V]) remove(e *list.Element) {
	en := c.order.Remove(e).(*entry[K, V])
	delete(c.entries, en.key)
	c.cost -= en.cost
}

// Stats returns the number of entries, their total cost, and the evictions so far.
func (c *Cache[K, V]) Stats() (entries int, cost int64, evicted uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), c.cost, c.evicted
}
