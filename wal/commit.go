package wal

import (
	"fmt"
	"time"
)

// maxKeptBuf bounds the encoding buffer kept between writes.
const maxKeptBuf = 1 << 20

// Writes and fsyncs. Appends write under mu, each with one write at the end of the
// active segment, and number their writes. Durability is tracked by that number:
// synced is the last write known to be on disk. With SyncAlways an Append then waits
// in waitDurable, where one waiter at a time — the leader — fsyncs everything written
// so far, outside mu, while later Appends go on writing; when it is done the next
// leader's fsync covers all of those at once (group commit). Rotation fsyncs under
// mu. Lock order: mu, then state or syncMu; the leader holds neither while it
// takes mu.

// write appends one call's records to the active segment, after starting a new
// segment if they would overflow a non-empty one, and returns their positions and the
// write's number. A failed write is truncated away, so a live Log never keeps part of
// a call. l.mu is held.
func (l *Log) write(blocks [][]byte, size int64) ([]Pos, uint64, error) {
	if err := l.stickyErr(); err != nil {
		return nil, 0, err
	}
	if l.w.sealed || (l.w.size > headerSize && l.w.size+size > l.opts.SegmentSize) {
		if err := l.rotate(); err != nil {
			return nil, 0, err
		}
	}
	off := l.w.size
	buf := l.buf[:0]
	pos := make([]Pos, len(blocks))
	for i, b := range blocks {
		pos[i] = Pos{Segment: l.w.seq, Offset: off + int64(len(buf))}
		buf = appendRecord(buf, b)
	}
	if cap(buf) <= maxKeptBuf {
		l.buf = buf
	}
	if _, err := l.hooks.writeAt(l.w.f, buf, off); err != nil {
		if terr := l.w.f.Truncate(off); terr != nil {
			l.fail(fmt.Errorf("segment %d: truncate after failed write: %w", l.w.seq, terr))
		}
		return nil, 0, fmt.Errorf("write segment %d: %w", l.w.seq, err)
	}
	l.w.size += size
	l.writes++
	l.state.Lock()
	l.segs[len(l.segs)-1].Size = l.w.size
	l.last = pos[len(pos)-1]
	l.state.Unlock()
	return pos, l.writes, nil
}

// rotate seals the active segment, durably, and starts the next one. l.mu is held.
func (l *Log) rotate() error {
	if err := l.syncLocked(); err != nil {
		return err
	}
	seq := l.w.seq + 1
	f, err := l.createSegment(seq)
	if err != nil {
		return fmt.Errorf("create segment %d: %w", seq, err)
	}
	l.state.Lock()
	l.segs[len(l.segs)-1].Sealed = true
	l.segs = append(l.segs, SegmentInfo{Seq: seq, Size: headerSize})
	l.files[seq] = f
	l.state.Unlock()
	l.w = active{seq: seq, f: f, size: headerSize}
	return nil
}

// syncLocked fsyncs the active segment if it holds writes not known to be durable.
// l.mu is held.
func (l *Log) syncLocked() error {
	upTo := l.writes
	l.syncMu.Lock()
	done, err := l.synced >= upTo, l.syncErr
	l.syncMu.Unlock()
	if done || err != nil {
		return err
	}
	err = l.fsync(l.w.f)
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.noteSync(upTo, l.w.seq, err)
	return l.syncErr
}

// waitDurable returns once write n is durable, fsyncing as the leader if no one else
// is; or the error that stopped the Log.
func (l *Log) waitDurable(n uint64) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	for l.synced < n && l.syncErr == nil {
		if l.syncing {
			l.syncCond.Wait()
			continue
		}
		l.syncing = true
		l.syncMu.Unlock()
		l.mu.Lock()
		upTo, seq, f := l.writes, l.w.seq, l.w.f
		l.mu.Unlock()
		err := l.fsync(f)
		l.syncMu.Lock()
		l.syncing = false
		l.noteSync(upTo, seq, err)
	}
	if l.synced >= n {
		return nil
	}
	return l.syncErr
}

// noteSync records the outcome of an fsync meant to make writes up to upTo durable
// and wakes the waiters. A failure is sticky: the kernel may have dropped the pages it
// could not write, so nothing more is acknowledged. A failure is moot if a rotation
// already made upTo durable (the segment may even have been removed since). l.syncMu
// is held.
func (l *Log) noteSync(upTo, seq uint64, err error) {
	switch {
	case err == nil:
		l.synced = max(l.synced, upTo)
	case l.synced < upTo && l.syncErr == nil:
		l.syncErr = fmt.Errorf("sync segment %d: %w", seq, err)
	}
	l.syncCond.Broadcast()
}

// fail stops the Log: every later Append returns err.
func (l *Log) fail(err error) {
	l.syncMu.Lock()
	if l.syncErr == nil {
		l.syncErr = err
	}
	l.syncCond.Broadcast()
	l.syncMu.Unlock()
}

func (l *Log) stickyErr() error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	return l.syncErr
}

// syncAll makes every write so far durable.
func (l *Log) syncAll() error {
	l.mu.Lock()
	n := l.writes
	l.mu.Unlock()
	return l.waitDurable(n)
}

// flusher fsyncs at most every Options.Interval, for SyncInterval, until quit closes.
func (l *Log) flusher() {
	defer l.wg.Done()
	t := time.NewTicker(l.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.syncAll() // a failure is sticky: the next Append reports it
		case <-l.quit:
			return
		}
	}
}
