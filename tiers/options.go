package tiers

import (
	"fmt"
	"time"

	"github.com/korup2p/korup2p/wal"
)

// Durability modes for Options.Durability: when a stored node is on stable storage.
const (
	// DurabilityAlways: Sync fsyncs the WAL, sharing one fsync among concurrent
	// callers (group commit). Stores never fsync on their own; the caller calls Sync
	// before acknowledging what it stored. The default.
	DurabilityAlways = "always"
	// DurabilityInterval: the WAL fsyncs in the background at most every
	// Options.SyncInterval, and Sync returns at once.
	DurabilityInterval = "interval"
	// DurabilityNone: the WAL fsyncs only when a segment is sealed and on Close, and
	// Sync returns at once.
	DurabilityNone = "none"
)

// Defaults for the zero fields of Options.
const (
	DefaultCacheBytes      = 64 << 20 // decoded-node cache
	DefaultIndexCacheBytes = 32 << 20 // Pebble's block cache for the index
	DefaultDiskBudget      = 10 << 30 // WAL plus index
	DefaultSyncInterval    = wal.DefaultInterval
)

// Options configure a DB. A nil *Options means every default; a zero field takes its
// default. Open validates them once.
type Options struct {
	// Durability is DurabilityAlways (the default), DurabilityInterval or
	// DurabilityNone.
	Durability string
	// SyncInterval is how often DurabilityInterval fsyncs (default
	// DefaultSyncInterval). Setting it with another mode is an error.
	SyncInterval time.Duration
	// CacheBytes bounds the cache of decoded nodes, in estimated bytes (default
	// DefaultCacheBytes; negative disables the cache).
	CacheBytes int64
	// IndexCacheBytes bounds Pebble's block cache for the index (default
	// DefaultIndexCacheBytes). Puts and cache misses read the index; a cache much
	// smaller than the index's working set makes them read the disk.
	IndexCacheBytes int64
	// DiskBudget bounds the bytes on disk of the WAL and the index (default
	// DefaultDiskBudget). At the budget, PutVerified fails with a *BudgetError for
	// every node but one that only deletes.
	DiskBudget int64
	// SegmentSize is the WAL's segment size (default wal.DefaultSegmentSize).
	SegmentSize int64
	// NoCold keeps sealed WAL segments uncompressed (the cold tier is on by default).
	NoCold bool
	// Warn receives warnings: damaged WAL records, blocks that are not nodes, an
	// index rebuilt. keyvals alternate keys and values, as charmbracelet/log and
	// log/slog take them. It may be called from several goroutines at once. The
	// default discards them.
	Warn func(msg string, keyvals ...any)
}

func (o *Options) withDefaults() (Options, error) {
	var v Options
	if o != nil {
		v = *o
	}
	switch v.Durability {
	case "":
		v.Durability = DurabilityAlways
	case DurabilityAlways, DurabilityInterval, DurabilityNone:
	default:
		return v, fmt.Errorf("tiers options: durability %q: want always, interval or none", v.Durability)
	}
	switch {
	case v.SyncInterval < 0:
		return v, fmt.Errorf("tiers options: negative SyncInterval %v", v.SyncInterval)
	case v.SyncInterval > 0 && v.Durability != DurabilityInterval:
		return v, fmt.Errorf("tiers options: SyncInterval is set but durability is %q, not interval", v.Durability)
	case v.SyncInterval == 0 && v.Durability == DurabilityInterval:
		v.SyncInterval = DefaultSyncInterval
	}
	switch {
	case v.CacheBytes == 0:
		v.CacheBytes = DefaultCacheBytes
	case v.CacheBytes < 0:
		v.CacheBytes = 0
	}
	switch {
	case v.IndexCacheBytes < 0:
		return v, fmt.Errorf("tiers options: negative IndexCacheBytes %d", v.IndexCacheBytes)
	case v.IndexCacheBytes == 0:
		v.IndexCacheBytes = DefaultIndexCacheBytes
	}
	switch {
	case v.DiskBudget < 0:
		return v, fmt.Errorf("tiers options: negative DiskBudget %d", v.DiskBudget)
	case v.DiskBudget == 0:
		v.DiskBudget = DefaultDiskBudget
	}
	if v.SegmentSize < 0 {
		return v, fmt.Errorf("tiers options: negative SegmentSize %d", v.SegmentSize)
	}
	if v.Warn == nil {
		v.Warn = func(string, ...any) {}
	}
	return v, nil
}

// walOptions maps the durability mode onto the WAL's: the WAL never fsyncs per
// Append; DurabilityAlways gets its fsync from DB.Sync.
func (o *Options) walOptions() *wal.Options {
	w := &wal.Options{Sync: wal.SyncNone, SegmentSize: o.SegmentSize, Warn: o.Warn}
	if o.Durability == DurabilityInterval {
		w.Sync, w.Interval = wal.SyncInterval, o.SyncInterval
	}
	return w
}
