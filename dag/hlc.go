package dag

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"time"
)

// Timestamp is a hybrid logical clock value: wall-clock nanoseconds since the Unix
// epoch plus a logical counter that orders events within one wall-clock reading.
// The zero Timestamp is before every other.
type Timestamp struct {
	Wall    int64
	Logical uint32
}

// Compare returns -1, 0 or +1 as t is before, equal to or after u.
func (t Timestamp) Compare(u Timestamp) int {
	if c := cmp.Compare(t.Wall, u.Wall); c != 0 {
		return c
	}
	return cmp.Compare(t.Logical, u.Logical)
}

// IsZero reports whether t is the zero Timestamp.
func (t Timestamp) IsZero() bool { return t == Timestamp{} }

// Time returns the wall-clock part as a time.Time in UTC.
func (t Timestamp) Time() time.Time { return time.Unix(0, t.Wall).UTC() }

// String formats t as RFC 3339 with nanoseconds, plus "+N" when the logical counter is set.
func (t Timestamp) String() string {
	s := t.Time().Format(time.RFC3339Nano)
	if t.Logical != 0 {
		s += fmt.Sprintf("+%d", t.Logical)
	}
	return s
}

// MaxWall is the latest wall time a timestamp may carry: 2200-01-01T00:00:00Z in
// Unix nanoseconds. Decode refuses a node whose clock is after it, so that no node
// can push the clocks of the nodes written after it to the end of int64, where
// they could not grow (a clock must pass its parents'). A Clock never goes past it.
const MaxWall = 7_258_118_400_000_000_000

// ErrClockExhausted means a Clock cannot return a timestamp after the last one: it
// reached MaxWall with its logical counter full.
var ErrClockExhausted = errors.New("hybrid logical clock exhausted: its wall time reached 2200-01-01 and its counter is full")

// next returns the smallest timestamp after t, or false if there is none within
// MaxWall.
func (t Timestamp) next() (Timestamp, bool) {
	if t.Logical < math.MaxUint32 {
		return Timestamp{Wall: t.Wall, Logical: t.Logical + 1}, true
	}
	if t.Wall >= MaxWall {
		return t, false
	}
	return Timestamp{Wall: t.Wall + 1}, true
}

// Clock is a hybrid logical clock. It is pure: callers pass the wall time in.
// Its zero value is ready to use. It is not safe for concurrent use.
type Clock struct {
	last Timestamp
}

// Now returns a timestamp for a local event at wall time wall (Unix nanoseconds,
// taken as MaxWall if later): greater than every timestamp this clock returned or
// observed before. Its error is ErrClockExhausted when no such timestamp is left,
// which takes 2^32 events after a timestamp at MaxWall.
func (c *Clock) Now(wall int64) (Timestamp, error) {
	wall = min(wall, MaxWall)
	if wall > c.last.Wall {
		c.last = Timestamp{Wall: wall}
		return c.last, nil
	}
	t, ok := c.last.next()
	if !ok {
		return Timestamp{}, ErrClockExhausted
	}
	c.last = t
	return t, nil
}

// Observe records a timestamp seen from elsewhere (a parent node, a peer), so that
// every later Now is greater than it.
func (c *Clock) Observe(t Timestamp) {
	if t.Compare(c.last) > 0 {
		c.last = t
	}
}

// Last returns the greatest timestamp returned or observed so far.
func (c *Clock) Last() Timestamp { return c.last }
