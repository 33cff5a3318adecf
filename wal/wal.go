package wal

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
)

// ErrClosed is returned by Append, ReadAt, Replay and Remove after Close, and by a
// second Close.
var ErrClosed = errors.New("wal is closed")

// ErrCorrupt is matched by ReadAt of a record that is torn or fails its checks (bad
// checksum, impossible length). Replay does not return it: it reports the damage
// through Options.Warn and goes on, with the next record if it could skip the damaged
// one alone, else with the next segment.
var ErrCorrupt = errors.New("corrupt wal record")

// ErrNotFound is matched by ReadAt for a position that holds no record: a segment
// that does not exist (never written, or removed) or an offset outside it.
var ErrNotFound = errors.New("no wal record at position")

// ErrBlockTooLarge is matched by Append for a block longer than Options.MaxBlock.
var ErrBlockTooLarge = errors.New("block too large")

// ErrEmptyBlock is matched by Append for an empty block: a record of length zero is
// what an unwritten, zero-filled tail looks like, so it is never written.
var ErrEmptyBlock = errors.New("empty block")

// ErrVersion is matched by Open and Replay for a segment written in another format
// version, which this code cannot read.
var ErrVersion = errors.New("unsupported wal segment version")

// Pos is the position of a record: the sequence number of its segment and the byte
// offset of the record in the segment file. The zero Pos is before every record.
type Pos struct {
	Segment uint64
	Offset  int64
}

// String returns "segment:offset".
func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Segment, p.Offset) }

// Compare returns -1, 0 or +1 as p is before, at or after q in the log.
func (p Pos) Compare(q Pos) int {
	if c := cmp.Compare(p.Segment, q.Segment); c != 0 {
		return c
	}
	return cmp.Compare(p.Offset, q.Offset)
}

// IsZero reports whether p is the zero Pos.
func (p Pos) IsZero() bool { return p == Pos{} }

// SegmentInfo describes one segment file.
type SegmentInfo struct {
	Seq      uint64 // sequence number, from 1; the file is named by it, zero-padded
	Size     int64  // bytes in the segment, header included; uncompressed if Cold
	Sealed   bool   // no more appends go to it; only sealed segments can be removed
	Cold     bool   // compressed by Compress (a .wal.zst file); read like the others
	DiskSize int64  // bytes of its file: Size, or what a cold segment takes compressed
}

// Log is a segmented write-ahead log of opaque blocks. Its methods are safe for
// concurrent use. Only one Log may have a directory open at a time; the caller
// ensures it (see internal/dirlock).
type Log struct {
	dir   string
	opts  Options
	hooks hooks
	syncs atomic.Uint64 // fsyncs issued, for tests and benchmarks

	// The write side, under mu: see commit.go.
	mu       sync.Mutex
	closed   bool
	w        active
	writes   uint64         // number of the last write
	buf      []byte         // encoding buffer
	inflight sync.WaitGroup // SyncAlways Appends waiting for their fsync
	quit     chan struct{}  // stops the flusher
	wg       sync.WaitGroup // the flusher

	// Durability, under syncMu.
	syncMu   sync.Mutex
	syncCond *sync.Cond // on syncMu: synced, syncing or syncErr changed
	syncing  bool       // a leader is fsyncing
	synced   uint64     // writes up to this number are durable
	syncErr  error      // sticky: a failed fsync or an unrecoverable write

	// Published for readers; writes and rotations update it.
	state sync.Mutex
	segs  []SegmentInfo       // ascending; the last one takes the appends
	files map[uint64]*os.File // open handles by sequence number; nil once closed
	last  Pos                 // position of the last record

	cold coldTier // compressed segments: see cold.go
}

// active is the segment being appended to.
type active struct {
	seq    uint64
	f      *os.File
	size   int64
	sealed bool // damaged at Open: the next append starts a new segment
}

// Open opens the log in dir, creating the directory and a first segment if needed,
// and, for SyncInterval, starts the flusher. It scans only the last segment: a record
// there whose checksum alone fails is skipped, a torn tail (a bad last record
// included) is truncated, other damage seals the segment as it is, and all are
// reported through opts.Warn (see the package doc's Recovery). Call Close to stop it.
func Open(dir string, opts *Options) (*Log, error) {
	return open(dir, opts, hooks{})
}

func open(dir string, opts *Options, h hooks) (*Log, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	h.fill()
	l := &Log{dir: dir, opts: o, hooks: h, quit: make(chan struct{}), files: make(map[uint64]*os.File)}
	l.syncCond = sync.NewCond(&l.syncMu)
	if err := l.initCold(); err != nil {
		return nil, err
	}
	if err := l.recover(); err != nil {
		l.closeFiles()
		return nil, fmt.Errorf("open wal %s: %w", dir, err)
	}
	if o.Sync == SyncInterval {
		l.wg.Add(1)
		go l.flusher()
	}
	return l, nil
}

// Append writes blocks to the log as consecutive records, no other call's between
// them and all in one segment, and returns their positions. With SyncAlways it
// returns once they are durable; otherwise once they are written. It fails with
// ErrEmptyBlock or ErrBlockTooLarge (writing nothing), with ErrClosed, with a write
// error (writing nothing, so a full disk loses nothing already appended), or with a
// failed fsync — after which every Append fails until the Log is reopened. A crash
// during Append may keep a prefix of its blocks.
func (l *Log) Append(blocks ...[]byte) ([]Pos, error) {
	var size int64
	for i, b := range blocks {
		switch {
		case len(b) == 0:
			return nil, fmt.Errorf("block %d: %w", i, ErrEmptyBlock)
		case len(b) > l.opts.MaxBlock:
			return nil, fmt.Errorf("block %d of %d bytes: %w (max %d)", i, len(b), ErrBlockTooLarge, l.opts.MaxBlock)
		}
		size += recordHeaderSize + int64(len(b))
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, ErrClosed
	}
	if len(blocks) == 0 {
		l.mu.Unlock()
		return nil, nil
	}
	pos, n, err := l.write(blocks, size)
	wait := err == nil && l.opts.Sync == SyncAlways
	if wait {
		l.inflight.Add(1)
		defer l.inflight.Done()
	}
	l.mu.Unlock()
	if wait {
		err = l.waitDurable(n)
	}
	if err != nil {
		return nil, err
	}
	return pos, nil
}

// Sync makes every record appended before the call durable. Concurrent Syncs and
// SyncAlways Appends share one fsync (group commit), so a caller that opened the Log
// with SyncNone can append a batch of blocks and pay for one fsync when it chooses.
// It fails with ErrClosed, or with the failed fsync that stopped the Log.
func (l *Log) Sync() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	n := l.writes
	l.inflight.Add(1)
	defer l.inflight.Done()
	l.mu.Unlock()
	return l.waitDurable(n)
}

// Close waits for the Appends in progress, fsyncs what was written, stops the flusher
// and closes the files. It returns the first error among the final fsync, an earlier
// failure that stopped appends, and closing files.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.closed = true
	l.mu.Unlock()
	l.inflight.Wait()
	close(l.quit)
	l.wg.Wait()
	err := l.syncAll()
	l.cold.compressMu.Lock() // waits for a Compress in progress
	defer l.cold.compressMu.Unlock()
	if cerr := l.closeFiles(); err == nil {
		err = cerr
	}
	return err
}

func (l *Log) closeFiles() error {
	l.state.Lock()
	defer l.state.Unlock()
	var errs []error
	for _, f := range l.files {
		errs = append(errs, f.Close())
	}
	errs = append(errs, l.closeCold())
	l.files = nil
	return errors.Join(errs...)
}

// Segments describes the segments, oldest first; the last one takes the appends
// unless it is sealed.
func (l *Log) Segments() []SegmentInfo {
	l.state.Lock()
	defer l.state.Unlock()
	segs := slices.Clone(l.segs)
	for i := range segs {
		if !segs[i].Cold {
			segs[i].DiskSize = segs[i].Size
		}
	}
	return segs
}

// LastPos returns the position of the last record in the log, or the zero Pos if it
// holds none.
func (l *Log) LastPos() Pos {
	l.state.Lock()
	defer l.state.Unlock()
	return l.last
}

// Remove deletes the sealed segments whose sequence number is below upTo, never the
// segment taking appends. Reads of their records then fail with ErrNotFound.
func (l *Log) Remove(upTo uint64) error {
	l.state.Lock()
	if l.files == nil {
		l.state.Unlock()
		return ErrClosed
	}
	n := 0
	for n < len(l.segs)-1 && l.segs[n].Seq < upTo && l.segs[n].Sealed {
		n++
	}
	var err error
	removed := 0
	for _, s := range l.segs[:n] {
		if f := l.files[s.Seq]; f != nil {
			f.Close()
			delete(l.files, s.Seq)
		}
		if err = os.Remove(l.segmentPath(s)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("remove segment %d: %w", s.Seq, err)
			break
		}
		err = nil
		l.forgetCold(s.Seq)
		removed++
	}
	l.segs = slices.Delete(l.segs, 0, removed)
	l.state.Unlock()
	if removed == 0 {
		return err
	}
	if serr := l.syncDir(); err == nil && serr != nil {
		err = fmt.Errorf("sync %s: %w", filepath.Base(l.dir), serr)
	}
	return err
}
