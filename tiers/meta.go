package tiers

import (
	"errors"
	"fmt"

	ds "github.com/ipfs/go-datastore"
)

// The metadata lives in its own go-datastore (dir/meta), keyed by "/" and the hex
// of the metadata key, apart from the index: Repair, or an index lost or rebuilt at
// Open, never touches it.

func metaKey(key string) string { return "/" + hexs([]byte(key)) }

// Meta returns the metadata value under key, or nil if there is none.
func (db *DB) Meta(key string) ([]byte, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return nil, ErrClosed
	}
	v, err := db.meta.Get(db.ctx, dsKey(metaKey(key)))
	switch {
	case errors.Is(err, ds.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("meta %q: %w", key, err)
	}
	return v, nil
}

// SetMeta stores a metadata value durably: it is fsynced when SetMeta returns.
func (db *DB) SetMeta(key string, value []byte) error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return ErrClosed
	}
	if err := db.meta.Put(db.ctx, dsKey(metaKey(key)), value); err != nil {
		return fmt.Errorf("set meta %q: %w", key, err)
	}
	return nil
}

// MetaKeys returns the metadata keys with the prefix, sorted.
func (db *DB) MetaKeys(prefix string) ([]string, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return nil, ErrClosed
	}
	lower := metaKey(prefix)
	var out []string
	err := scan(db.meta.DB, lower, successor(lower), func(key []byte) error {
		k, err := hexString(key, "/")
		out = append(out, k)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("meta keys %q: %w", prefix, err)
	}
	return out, nil
}
