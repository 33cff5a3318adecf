package wal

import (
	"fmt"
	"math"
	"time"
)

// SyncMode says when a Log makes appended blocks durable with fsync. Its text form
// (MarshalText, UnmarshalText) is "always", "interval" or "none".
type SyncMode int

const (
	// SyncAlways makes Append return only once its blocks are on stable storage.
	// Concurrent Appends share one fsync (group commit). It is the zero value and the
	// default.
	SyncAlways SyncMode = iota
	// SyncInterval makes Append return once its blocks are written to the operating
	// system; a background flusher fsyncs at most every Options.Interval. A process
	// crash loses nothing, a machine crash at most the last interval's blocks.
	SyncInterval
	// SyncNone never fsyncs except when a segment is sealed and on Close: the
	// operating system decides when blocks reach the disk.
	SyncNone
)

var syncModeNames = [...]string{SyncAlways: "always", SyncInterval: "interval", SyncNone: "none"}

func (m SyncMode) String() string {
	if m >= 0 && int(m) < len(syncModeNames) {
		return syncModeNames[m]
	}
	return fmt.Sprintf("SyncMode(%d)", int(m))
}

// MarshalText returns "always", "interval" or "none".
func (m SyncMode) MarshalText() ([]byte, error) {
	if m < 0 || int(m) >= len(syncModeNames) {
		return nil, fmt.Errorf("unknown sync mode %d", int(m))
	}
	return []byte(m.String()), nil
}

// UnmarshalText accepts "always", "interval" or "none".
func (m *SyncMode) UnmarshalText(text []byte) error {
	for i, name := range syncModeNames {
		if string(text) == name {
			*m = SyncMode(i)
			return nil
		}
	}
	return fmt.Errorf("unknown sync mode %q (want always, interval or none)", text)
}

// Defaults for the zero fields of Options.
const (
	DefaultSegmentSize = 64 << 20
	DefaultMaxBlock    = 16 << 20
	DefaultInterval    = 10 * time.Millisecond
)

// Options configure a Log. A nil *Options means every default; a zero field takes its
// default. Open validates them and fails on a nonsensical combination rather than
// guessing.
type Options struct {
	// Sync is the durability mode; the zero value is SyncAlways.
	Sync SyncMode

	// Interval is how often SyncInterval fsyncs (default DefaultInterval). Setting it
	// with another mode is an error, so a mode is never picked by accident.
	Interval time.Duration

	// SegmentSize is the size past which a segment is sealed and the next one started
	// (default DefaultSegmentSize). One call's blocks always share a segment, so a call
	// larger than SegmentSize gets a segment of its own.
	SegmentSize int64

	// MaxBlock is the largest block Append accepts and the largest length a reader
	// believes (default DefaultMaxBlock, at most math.MaxInt32); a record claiming more
	// is corrupt. Never lower it below a block already in the log.
	MaxBlock int

	// ColdChunk is the most uncompressed bytes Compress puts in one chunk, the unit a
	// read of a cold segment decompresses (default DefaultColdChunk, in [256,
	// MaxColdChunk]). Smaller chunks make reads cheaper and compression weaker.
	// Changing it affects only segments compressed afterwards.
	ColdChunk int

	// Warn receives warnings about damaged segments (a torn tail truncated, a record
	// skipped for a bad checksum, a segment ended by damage, a missing segment).
	// keyvals alternate keys and values — "file", the segment's path, "offset", the
	// byte offset, for a skipped record "length", its block length, and "reason" — as
	// charmbracelet/log and log/slog take them. It may be called from several
	// goroutines at once. The default discards them.
	Warn func(msg string, keyvals ...any)
}

func (o *Options) withDefaults() (Options, error) {
	var v Options
	if o != nil {
		v = *o
	}
	switch v.Sync {
	case SyncAlways, SyncNone:
		if v.Interval != 0 {
			return v, fmt.Errorf("wal options: Interval is set but Sync is %v, not interval", v.Sync)
		}
	case SyncInterval:
		if v.Interval < 0 {
			return v, fmt.Errorf("wal options: negative Interval %v", v.Interval)
		}
		if v.Interval == 0 {
			v.Interval = DefaultInterval
		}
	default:
		return v, fmt.Errorf("wal options: unknown sync mode %d", int(v.Sync))
	}
	switch {
	case v.SegmentSize < 0:
		return v, fmt.Errorf("wal options: negative SegmentSize %d", v.SegmentSize)
	case v.SegmentSize == 0:
		v.SegmentSize = DefaultSegmentSize
	}
	switch {
	case v.MaxBlock < 0 || v.MaxBlock > math.MaxInt32:
		return v, fmt.Errorf("wal options: MaxBlock %d out of range [0, %d]", v.MaxBlock, math.MaxInt32)
	case v.MaxBlock == 0:
		v.MaxBlock = DefaultMaxBlock
	}
	if err := v.coldDefaults(); err != nil {
		return v, err
	}
	if v.Warn == nil {
		v.Warn = func(string, ...any) {}
	}
	return v, nil
}
