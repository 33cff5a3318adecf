// Package lru is korup2p's hot tier: a cache bounded by the bytes its entries say they
// cost, safe for concurrent use. It evicts by CLOCK (second chance), an approximation
// of least-recently-used in which a hit only sets a reference bit under a read lock,
// so concurrent hits do not serialise on a list as a strict LRU's do.
package lru
