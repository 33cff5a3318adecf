package korup2p

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/muesli/termenv"
	"golang.org/x/term"

	"github.com/charmbracelet/log"
)

// Durability says when a write is acknowledged.
type Durability string

const (
	// DurabilityAlways acknowledges a write once it is fsynced; concurrent writes
	// share fsyncs (group commit). The default.
	DurabilityAlways Durability = "always"
	// DurabilityInterval acknowledges a write once it is written to the OS, and fsyncs
	// at most every Options.SyncInterval: a crash can lose that interval.
	DurabilityInterval Durability = "interval"
	// DurabilityNone never fsyncs but on Close: a crash can lose any acknowledged write.
	DurabilityNone Durability = "none"
)

// Defaults for Options.
const (
	DefaultMaxValueSize = 1 << 20   // 1 MiB
	DefaultMemoryBudget = 512 << 20 // 512 MiB
	DefaultDiskBudget   = 10 << 30  // 10 GiB
	DefaultSyncInterval = 10 * time.Millisecond
	DefaultSpace        = "default"
)

// Options configure a Node. A nil *Options means every default; a zero field means
// its default.
type Options struct {
	// Durability of writes; default DurabilityAlways.
	Durability Durability
	// SyncInterval for DurabilityInterval; default 10ms.
	SyncInterval time.Duration
	// MaxValueSize bounds one value's canonical encoding; default 1 MiB.
	MaxValueSize int
	// MemoryBudget bounds the in-memory caches (hot tier), in bytes; default 512 MiB.
	MemoryBudget int64
	// DiskBudget bounds the data directory, in bytes; default 10 GiB. At the budget,
	// writes fail with an error naming it; nothing acknowledged is lost.
	DiskBudget int64
	// SegmentSize is the size at which the write-ahead log starts a new segment
	// (default 64 MiB).
	SegmentSize int64
	// Retention selects the history that distillation folds into snapshots (the
	// deep tier); the zero value, the default, keeps all history. See Node.Distill.
	Retention Retention
	// DistillEvery is how often a Node with a Retention looks for history to fold;
	// default DefaultDistillEvery.
	DistillEvery time.Duration
	// Network turns on the peer-to-peer layer (see NetworkOptions); nil, the
	// default for an embedded Node, keeps it a local replica. The daemon sets it.
	Network *NetworkOptions
	// InMemory keeps everything in memory: nothing is written to dir, which may be "".
	InMemory bool
	// Logger receives the node's logs; default a charmbracelet logger on stderr at
	// the level in KORUP2P_LOG (debug, info, warn, error; default info).
	Logger *log.Logger
	// Now is the wall clock; default time.Now. Tests set it.
	Now func() time.Time
}

// hotBudget is the part of the memory budget the hot tier of materialised values
// gets: all of it in memory, three quarters with the disk tiers.
func (o Options) hotBudget() int64 {
	if o.InMemory {
		return o.MemoryBudget
	}
	return o.MemoryBudget / 4 * 3
}

func (o *Options) withDefaults() (Options, error) {
	var opts Options
	if o != nil {
		opts = *o
	}
	switch opts.Durability {
	case "":
		opts.Durability = DurabilityAlways
	case DurabilityAlways, DurabilityInterval, DurabilityNone:
	default:
		return opts, fmt.Errorf("options: durability %q: want always, interval or none", opts.Durability)
	}
	if opts.SyncInterval <= 0 {
		opts.SyncInterval = DefaultSyncInterval
	}
	if opts.MaxValueSize <= 0 {
		opts.MaxValueSize = DefaultMaxValueSize
	}
	if opts.MemoryBudget <= 0 {
		opts.MemoryBudget = DefaultMemoryBudget
	}
	if opts.DiskBudget <= 0 {
		opts.DiskBudget = DefaultDiskBudget
	}
	if opts.Retention.Age < 0 || opts.Retention.Keep < 0 {
		return opts, fmt.Errorf("options: retention %+v: negative", opts.Retention)
	}
	if opts.DistillEvery <= 0 {
		opts.DistillEvery = DefaultDistillEvery
	}
	if opts.Logger == nil {
		opts.Logger = NewLogger(os.Stderr, log.InfoLevel)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return opts, nil
}

// NewLogger returns the logger a Node uses when Options.Logger is nil: a
// charmbracelet logger on w, prefixed "korup2p", with timestamps, at the level in
// KORUP2P_LOG (debug, info, warn, error) or else def. On a terminal it is coloured
// from the environment (TERM, COLORTERM) without querying the terminal: the
// logger's default renderer asks the terminal for its colours at start and waits
// up to seconds for one that never answers.
func NewLogger(w io.Writer, def log.Level) *log.Logger {
	out := w
	var profile termenv.Profile = -1
	if f, ok := w.(*os.File); ok {
		out = plainWriter{w} // not an *os.File: the renderer sends no queries
		if term.IsTerminal(int(f.Fd())) {
			profile = termenv.NewOutput(f).EnvColorProfile()
		}
	}
	l := log.NewWithOptions(out, log.Options{ReportTimestamp: true, Prefix: "korup2p"})
	if profile >= 0 {
		l.SetColorProfile(profile)
	}
	l.SetLevel(def)
	if s := os.Getenv("KORUP2P_LOG"); s != "" {
		if lvl, err := log.ParseLevel(s); err == nil {
			l.SetLevel(lvl)
		}
	}
	return l
}

// plainWriter hides the file behind a writer from the logger's renderer.
type plainWriter struct{ io.Writer }
