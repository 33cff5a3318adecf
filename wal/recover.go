package wal

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// scanBufSize is the read-ahead of sequential segment scans.
const scanBufSize = 256 << 10

// recover finds the segments in l.dir and readies the last one for appends. Older
// segments are only listed and measured, not read.
func (l *Log) recover() error {
	if err := l.makeDir(); err != nil {
		return err
	}
	seqs, err := l.listAll() // warm and cold, after settling an interrupted Compress
	if err != nil {
		return err
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			l.opts.Warn("wal segments missing", "after", l.path(seqs[i-1]), "before", l.path(seqs[i]))
		}
	}
	for len(seqs) > 0 && !l.isCold(seqs[len(seqs)-1]) {
		kept, err := l.recoverLast(seqs[len(seqs)-1], len(seqs) > 1)
		if err != nil {
			return err
		}
		if kept {
			break
		}
		seqs = seqs[:len(seqs)-1]
	}
	if len(seqs) == 0 || l.isCold(seqs[len(seqs)-1]) {
		seq := uint64(1)
		if len(seqs) > 0 {
			seq = seqs[len(seqs)-1] + 1 // the last one is cold: appends go after it
		}
		f, err := l.createSegment(seq)
		if err != nil {
			return fmt.Errorf("create segment %d: %w", seq, err)
		}
		l.files[seq] = f
		l.w = active{seq: seq, f: f, size: headerSize}
		seqs = append(seqs, seq)
	}
	for _, seq := range seqs[:len(seqs)-1] {
		if s, ok := l.coldInfo(seq); ok {
			l.segs = append(l.segs, s)
			continue
		}
		fi, err := os.Stat(l.path(seq))
		if err != nil {
			return err
		}
		l.segs = append(l.segs, SegmentInfo{Seq: seq, Size: fi.Size(), Sealed: true})
	}
	l.segs = append(l.segs, SegmentInfo{Seq: l.w.seq, Size: l.w.size, Sealed: l.w.sealed})
	if l.last.IsZero() && len(seqs) > 1 {
		return l.findLast(seqs[:len(seqs)-1])
	}
	return nil
}

// makeDir creates l.dir if needed, durably.
func (l *Log) makeDir() error {
	_, err := os.Stat(l.dir)
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return err
	}
	parent, err := os.Open(filepath.Dir(l.dir))
	if err != nil {
		return err
	}
	defer parent.Close()
	return l.fsync(parent)
}

// recoverLast opens segment seq, the last one, as the active segment: it reads its
// records, as Replay would, to find where appends continue and its last record. A
// record skipped for its checksum alone (see segmentReader) is reported and stepped
// over, and the segment stays appendable after the valid records that follow it. A
// torn header or tail is cut off, and so is a last record whose checksum fails: a
// write cut short can leave a record's length written but not all of its block, and
// nothing after it vouches for it. If that leaves no record and an earlier segment
// exists, the file is removed and recoverLast reports it was not kept. Other damage
// (a corrupt record that cannot be skipped, a foreign header) seals the segment as it
// is, for the next append to start a new one.
func (l *Log) recoverLast(seq uint64, hasPrev bool) (kept bool, err error) {
	path := l.path(seq)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false, err
	}
	defer func() {
		if kept {
			l.files[seq] = f
		} else {
			f.Close()
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	l.w = active{seq: seq, f: f, size: fi.Size()}
	sr := newSegmentReader(f, fi.Size(), l.opts.MaxBlock, scanBufSize)
	var last Pos
	err = sr.header()
	for err == nil {
		var off int64
		off, _, err = sr.Next()
		switch d := skipped(err); {
		case err == nil:
			last = Pos{Segment: seq, Offset: off}
		case d != nil && !d.torn: // d.torn: the last record, cut off below
			l.warnDamage(seq, d)
			err = nil
		}
	}
	var d *damage
	switch {
	case err == io.EOF:
	case errors.As(err, &d) && !d.torn:
		l.opts.Warn("wal segment corrupt; sealing it as it is, later records in it are skipped",
			"file", path, "offset", d.off, "reason", d.reason)
		l.w.sealed = true
	case errors.As(err, &d):
		reason := d.reason
		if d.skipped {
			reason += " in the last record"
		}
		l.opts.Warn("wal segment has a torn tail; truncating it", "file", path, "offset", d.off, "reason", reason)
		l.w.size = max(d.off, headerSize)
		if hasPrev && d.off <= headerSize {
			break // removed below
		}
		if d.off < headerSize {
			err = l.initSegment(f)
		} else if err = f.Truncate(d.off); err == nil {
			err = l.fsync(f)
		}
		if err != nil {
			return false, fmt.Errorf("repair segment %d: %w", seq, err)
		}
	default:
		return false, fmt.Errorf("segment %d: %w", seq, err)
	}
	if hasPrev && !l.w.sealed && l.w.size == headerSize {
		// A segment created just before a crash: drop it, so the last segment is
		// never empty while an earlier one exists.
		if err := os.Remove(path); err != nil {
			return false, err
		}
		return false, l.syncDir()
	}
	l.last = last
	return true, nil
}

// findLast sets l.last from the newest of seqs holding a valid record. Open needs it
// only when the last segment is damaged with no valid record.
func (l *Log) findLast(seqs []uint64) error {
	for i := len(seqs) - 1; i >= 0 && l.last.IsZero(); i-- {
		if l.isCold(seqs[i]) {
			if err := l.findLastCold(seqs[i]); err != nil {
				return err
			}
			continue
		}
		f, err := os.Open(l.path(seqs[i]))
		if err != nil {
			return err
		}
		fi, err := f.Stat()
		if err == nil {
			err = l.findLastIn(seqs[i], f, fi.Size())
		}
		f.Close()
		if err != nil {
			return fmt.Errorf("segment %d: %w", seqs[i], err)
		}
	}
	return nil
}

// findLastIn sets l.last to the last valid record of segment seq, held in r[0:size),
// if it has one. Damage is not reported: Replay does that.
func (l *Log) findLastIn(seq uint64, r io.ReaderAt, size int64) error {
	sr := newSegmentReader(r, size, l.opts.MaxBlock, scanBufSize)
	err := sr.header()
	for err == nil || skipped(err) != nil {
		var off int64
		if off, _, err = sr.Next(); err == nil {
			l.last = Pos{Segment: seq, Offset: off}
		}
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, ErrCorrupt) {
		return err
	}
	return nil
}
