package korup2p

import (
	"errors"
	"fmt"
)

// ErrNotFound means the key has no value: never written, or deleted.
var ErrNotFound = errors.New("not found")

// ErrNoValueAtTime means a time-travel read asked for a moment before the key's
// first version: distinct from ErrNotFound, which means it was deleted by then.
var ErrNoValueAtTime = errors.New("no value at that time")

// ErrUnknownSpace means no space of that name is known to this node.
var ErrUnknownSpace = errors.New("unknown space")

// ErrSpaceExists means CreateSpace was given a name already taken.
var ErrSpaceExists = errors.New("space already exists")

// ErrInvalidKey means a key is malformed (see dag.ValidateKey) or reserved.
var ErrInvalidKey = errors.New("invalid key")

// ErrInvalidValue means a value is not JSON, or not JSON that korup2p can store
// without loss (an integer beyond 64 bits, NaN, ...).
var ErrInvalidValue = errors.New("invalid value")

// ErrValueTooLarge means a value's encoding exceeds Options.MaxValueSize, or that
// one write does not fit in one node: a batch of more ops than a node holds
// (131,072), or of more bytes than a node's limit (4 × MaxValueSize, at least 4 MiB).
var ErrValueTooLarge = errors.New("value too large")

// ErrInvalidVersion means a CID given as a version is not a version of the key.
var ErrInvalidVersion = errors.New("invalid version")

// ErrClosed means the Node was closed.
var ErrClosed = errors.New("node closed")

// KeyError is the error of an operation on one key: which operation, space and key,
// and why. It wraps one of the sentinels above (or a storage error).
type KeyError struct {
	Op    string // "put", "get", "history", ...
	Space string
	Key   string
	Err   error
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("%s %s/%s: %v", e.Op, e.Space, e.Key, e.Err)
}

func (e *KeyError) Unwrap() error { return e.Err }

func keyErr(op, space, key string, err error) error {
	return &KeyError{Op: op, Space: space, Key: key, Err: err}
}
