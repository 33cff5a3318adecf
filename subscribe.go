package korup2p

import (
	"encoding/json"
	"strings"
	"sync"

	"github.com/ipfs/go-cid"
)

// EventType says what happened to a key.
type EventType string

const (
	EventInsert EventType = "insert" // the key got a value it did not have
	EventUpdate EventType = "update" // the key's value changed
	EventDelete EventType = "delete" // the key lost its value
	// EventOverflow says Missed events were dropped because the subscriber's buffer
	// was full; it comes before the next event delivered. Re-read what matters.
	EventOverflow EventType = "overflow"
)

// Event is one change seen by a subscription, local or (with peers) remote.
type Event struct {
	Type    EventType
	Space   string
	Key     string
	Version cid.Cid
	Value   json.RawMessage // the new value; nil for delete
	Missed  int             // for EventOverflow: how many events were dropped
}

// DefaultSubscriptionBuffer is the number of events a subscription holds.
const DefaultSubscriptionBuffer = 1024

// Subscription delivers the events of one space under one key prefix, in the order
// they were committed.
type Subscription struct {
	C <-chan Event // closed by Cancel or when the Node closes

	h      *hub
	c      chan Event
	space  string
	prefix string
	mu     sync.Mutex
	missed int
	closed bool
}

// Subscribe returns a subscription to the changes of keys with prefix in space. Its
// buffer holds buffer events (DefaultSubscriptionBuffer if <= 0); when it is full, later
// events are counted, not queued, and an EventOverflow with the count precedes the
// next event delivered.
func (n *Node) Subscribe(space, prefix string, buffer int) (*Subscription, error) {
	if _, err := n.space(space); err != nil {
		return nil, err
	}
	if buffer <= 0 {
		buffer = DefaultSubscriptionBuffer
	}
	s := &Subscription{h: n.subs, space: space, prefix: prefix, c: make(chan Event, buffer+1)}
	s.C = s.c
	n.subs.add(s)
	return s, nil
}

// Cancel ends the subscription and closes C.
func (s *Subscription) Cancel() {
	s.h.remove(s)
	s.close()
}

// Missed returns how many events were dropped and not yet reported by an EventOverflow.
func (s *Subscription) Missed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.missed
}

func (s *Subscription) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.c)
	}
}

func (s *Subscription) deliver(ev Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	// One slot beyond the buffer is kept for the overflow notice.
	if len(s.c) >= cap(s.c)-1 {
		s.missed++
		return
	}
	if s.missed > 0 {
		s.c <- Event{Type: EventOverflow, Space: s.space, Missed: s.missed}
		s.missed = 0
		if len(s.c) >= cap(s.c)-1 {
			s.missed++
			return
		}
	}
	s.c <- ev
}

// hub fans events out to subscriptions.
type hub struct {
	mu   sync.RWMutex
	subs map[*Subscription]struct{}
}

func newHub() *hub { return &hub{subs: map[*Subscription]struct{}{}} }

func (h *hub) add(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.subs[s] = struct{}{}
}

func (h *hub) remove(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
}

// watching reports whether any subscription wants key of space.
func (h *hub) watching(space, key string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.subs {
		if s.space == space && strings.HasPrefix(key, s.prefix) {
			return true
		}
	}
	return false
}

func (h *hub) publish(events []Event) {
	if len(events) == 0 {
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, ev := range events {
		for s := range h.subs {
			if s.space == ev.Space && strings.HasPrefix(ev.Key, s.prefix) {
				s.deliver(ev)
			}
		}
	}
}

func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.close()
		delete(h.subs, s)
	}
}
