package syncproto

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by Sync after Close.
var ErrClosed = errors.New("sync service closed")

// ErrUnknownSpace is returned by Sync for a space that is not registered.
var ErrUnknownSpace = errors.New("space not registered for sync")

// ErrBanned is returned (wrapped) by Sync for a peer in its cooling-off period after
// misbehaving, and ends a session whose peer crosses the threshold.
var ErrBanned = errors.New("peer refused for misbehaviour")

// ErrTooManyRounds ends a session that reached Options.MaxRounds round trips.
var ErrTooManyRounds = errors.New("sync session exceeded its round trips")

// ErrRefused is matched (errors.Is) by every *RefusedError.
var ErrRefused = errors.New("sync refused by peer")

// RefusedError is returned by Sync when the peer refused the session.
type RefusedError struct {
	Code   string // one of the Refuse* codes (or a newer peer's own)
	Reason string
}

func (e *RefusedError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("sync refused by peer: %s", e.Code)
	}
	return fmt.Sprintf("sync refused by peer: %s: %s", e.Code, e.Reason)
}

func (e *RefusedError) Is(target error) bool { return target == ErrRefused }
