package host

import (
	"sync"
	"time"
)

// backoff is the keeper's redial delay for one peer: exponential from min to max,
// with jitter. It is a value with no clock; the caller decides when to reset it.
type backoff struct {
	min, max time.Duration
	cur      time.Duration // the next delay's ceiling; 0 means min
}

// next returns the delay before the next attempt and doubles the ceiling, up to max.
// r is uniform in [0, 1): the delay is uniform in [ceiling/2, ceiling), so that peers
// that lost each other at the same moment do not redial in lockstep.
func (b *backoff) next(r float64) time.Duration {
	if b.cur < b.min {
		b.cur = b.min
	}
	ceil := b.cur
	b.cur = min(b.cur*2, b.max)
	return ceil/2 + time.Duration(r*float64(ceil/2))
}

// atMax reports whether the ceiling has reached max.
func (b *backoff) atMax() bool { return b.cur >= b.max }

// reset starts the delays again from min.
func (b *backoff) reset() { b.cur = 0 }

// queue is an unbounded FIFO with a wake-up channel, for callbacks that must never
// block (libp2p notifiees, Gater.Unblock) to hand work to a goroutine.
type queue[T any] struct {
	mu    sync.Mutex
	items []T
	ready chan struct{} // has a value when items may be non-empty
}

func newQueue[T any]() *queue[T] { return &queue[T]{ready: make(chan struct{}, 1)} }

func (q *queue[T]) push(v T) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// drain takes every queued item, in order.
func (q *queue[T]) drain() []T {
	q.mu.Lock()
	items := q.items
	q.items = nil
	q.mu.Unlock()
	return items
}
