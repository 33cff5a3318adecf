package wal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// readBufSize is the first read of ReadAt: enough for a typical record in one read.
const readBufSize = 4 << 10

// ReadAt returns the block of the record at pos, a position Append or Replay returned,
// after checking its checksum. It fails with ErrNotFound if pos is outside the log,
// ErrCorrupt if the record there is torn or damaged (a record Replay skips included),
// and ErrClosed after Close.
func (l *Log) ReadAt(pos Pos) ([]byte, error) {
	f, size, err := l.handle(pos.Segment, false)
	if err != nil {
		return nil, fmt.Errorf("read %v: %w", pos, err)
	}
	defer l.unpin(pos.Segment)
	if pos.Offset < headerSize || pos.Offset >= size {
		return nil, fmt.Errorf("read %v: %w", pos, ErrNotFound)
	}
	sr := newSegmentReader(f, size, l.opts.MaxBlock, readBufSize)
	sr.seek(pos.Offset)
	_, b, err := sr.Next()
	if err != nil {
		return nil, fmt.Errorf("read %v: %w", pos, l.readErr(err))
	}
	return b, nil // sr is dropped, so b is the caller's
}

// Replay calls fn for every record from position from onwards (the zero Pos for all),
// in log order, with a block fn may keep. from must be the zero Pos, a position Append
// or Replay returned, or Pos{Segment: n} for the start of segment n. Replay reads each
// segment as the package doc's Recovery section says. A record whose checksum fails
// but whose frame is intact (its length is plausible, and the record after it checks
// or it is the segment's last) is skipped alone: Replay reports it through
// Options.Warn with the segment's file, the record's offset and length and the reason
// "checksum mismatch; record skipped", and goes on with the next record of the same
// segment. Any other torn or corrupt record ends its segment, with a warning naming
// the file, the offset and the reason, and Replay goes on with the next segment. It
// sees every record appended before it was called and not removed; records appended
// meanwhile may or may not be seen, and a segment that Remove deletes meanwhile ends
// where it is. It stops at the first error fn returns and returns it unwrapped.
func (l *Log) Replay(from Pos, fn func(Pos, []byte) error) error {
	l.state.Lock()
	if l.files == nil {
		l.state.Unlock()
		return ErrClosed
	}
	segs := slices.Clone(l.segs)
	l.state.Unlock()
	for _, s := range segs {
		if s.Seq < from.Segment {
			continue
		}
		f, size, err := l.handle(s.Seq, true)
		if errors.Is(err, ErrNotFound) {
			continue // removed meanwhile
		}
		var d *damage
		if errors.As(err, &d) {
			l.warnDamage(s.Seq, d) // a cold segment with a damaged trailer
			continue
		}
		if err != nil {
			return err
		}
		start := int64(headerSize)
		if s.Seq == from.Segment {
			start = max(start, from.Offset)
		}
		err = l.replaySegment(s.Seq, f, size, start, fn)
		l.unpin(s.Seq)
		if err != nil {
			return err
		}
	}
	return nil
}

func (l *Log) replaySegment(seq uint64, f io.ReaderAt, size, start int64, fn func(Pos, []byte) error) error {
	sr := newSegmentReader(f, size, l.opts.MaxBlock, scanBufSize)
	err := sr.header()
	if err == nil && start > headerSize {
		sr.seek(start)
	}
	for err == nil {
		var off int64
		var b []byte
		off, b, err = sr.Next()
		switch d := skipped(err); {
		case err == nil:
			if ferr := fn(Pos{Segment: seq, Offset: off}, bytes.Clone(b)); ferr != nil {
				return ferr
			}
		case d != nil:
			l.warnDamage(seq, d)
			err = nil
		}
	}
	var d *damage
	switch {
	case err == io.EOF:
		return nil
	case errors.As(err, &d):
		l.warnDamage(seq, d)
		return nil
	default:
		if err = l.readErr(err); errors.Is(err, ErrNotFound) {
			return nil // removed meanwhile
		}
		return fmt.Errorf("replay segment %d: %w", seq, err)
	}
}

// handle returns a reader of segment seq — its open file, or for a cold segment a
// reader decompressing it, which keeps its chunks out of the shared cache if scan —
// and the size readers may read. It pins the segment: call unpin(seq) when done.
func (l *Log) handle(seq uint64, scan bool) (io.ReaderAt, int64, error) {
	l.state.Lock()
	defer l.state.Unlock()
	if l.files == nil {
		return nil, 0, ErrClosed
	}
	i, ok := l.segIndex(seq)
	if !ok {
		return nil, 0, fmt.Errorf("segment %d: %w", seq, ErrNotFound)
	}
	f := l.files[seq]
	if f == nil {
		var err error
		if f, err = os.Open(l.segmentPath(l.segs[i])); err != nil {
			return nil, 0, err
		}
		l.files[seq] = f
	}
	return l.pin(l.segs[i], f, scan)
}

// readErr turns a read from a handle that Remove or Close closed meanwhile into
// ErrNotFound or ErrClosed.
func (l *Log) readErr(err error) error {
	if !errors.Is(err, os.ErrClosed) {
		return err
	}
	l.state.Lock()
	defer l.state.Unlock()
	if l.files == nil {
		return ErrClosed
	}
	return ErrNotFound
}
