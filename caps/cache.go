package caps

import (
	"container/list"
	"sync"

	"github.com/ipfs/go-cid"
)

// DefaultCacheSize is the number of chains NewCache keeps when given size <= 0.
const DefaultCacheSize = 1024

// Cache remembers verified delegation chains by leaf CID, so that checking the same
// chain again skips resolving its tokens and verifying their signatures and links.
// A leaf's CID names its whole chain (each proof is a CID), so the cached verification
// holds for as long as the tokens exist.
//
// What depends on the question is still decided on every call: the space, owner,
// actor, time windows, keys, ability — and revocation: CheckInput.Revoked is asked
// for every token of the chain each time, so a revocation takes effect at once even
// for a cached chain. Only chains that verified are cached.
//
// A Cache holds at most its size chains, dropping the least recently used. It is safe
// for concurrent use; a nil *Cache caches nothing.
type Cache struct {
	mu    sync.Mutex
	size  int
	byCID map[cid.Cid]*list.Element // -> *entry
	lru   list.List                 // front = most recent
	stats CacheStats
}

// CacheStats counts a cache's lookups.
type CacheStats struct {
	Hits, Misses uint64
	Len          int
}

type entry struct {
	leaf  cid.Cid
	chain *chain
}

// NewCache returns a cache of at most size chains (DefaultCacheSize if size <= 0).
func NewCache(size int) *Cache {
	if size <= 0 {
		size = DefaultCacheSize
	}
	return &Cache{size: size, byCID: make(map[cid.Cid]*list.Element)}
}

// Check is [Check], verifying each chain once while it stays in the cache.
func (c *Cache) Check(in CheckInput) error {
	if err := validateInput(&in); err != nil {
		return err
	}
	if in.Actor == in.Owner {
		return nil
	}
	leaf, err := leafOf(&in)
	if err != nil {
		return err
	}
	ch := c.get(leaf)
	if ch == nil {
		tokens, err := collect(&in)
		if err != nil {
			return err
		}
		if ch, err = verify(tokens); err != nil {
			return err
		}
		c.put(leaf, ch)
	}
	return ch.decide(&in)
}

// Stats returns the cache's counters.
func (c *Cache) Stats() CacheStats {
	if c == nil {
		return CacheStats{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Len = c.lru.Len()
	return s
}

func (c *Cache) get(leaf cid.Cid) *chain {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byCID[leaf]
	if !ok {
		c.stats.Misses++
		return nil
	}
	c.stats.Hits++
	c.lru.MoveToFront(e)
	return e.Value.(*entry).chain
}

func (c *Cache) put(leaf cid.Cid, ch *chain) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byCID[leaf]; ok {
		c.lru.MoveToFront(e)
		return
	}
	c.byCID[leaf] = c.lru.PushFront(&entry{leaf: leaf, chain: ch})
	for c.lru.Len() > c.size {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.byCID, old.Value.(*entry).leaf)
	}
}
