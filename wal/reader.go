package wal

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// damage says where and why a segment cannot be trusted. It matches ErrCorrupt.
// Usually it ends the segment's records: the reader stops there. If skipped is set,
// it is one record the reader stepped over instead (see segmentReader).
type damage struct {
	off     int64  // offset of the first byte not trusted: the damaged record's
	n       int64  // the block length of a skipped record
	torn    bool   // maybe cut short by an interrupted write, not only a failed check
	skipped bool   // one record stepped over; the records after it are read
	reason  string // for humans
}

func (d *damage) Error() string {
	return fmt.Sprintf("%s at offset %d", d.reason, d.off)
}

func (d *damage) Is(target error) bool { return target == ErrCorrupt }

// skipped returns the record that err reports as skipped by segmentReader.Next, or nil
// if err reports no skipped record.
func skipped(err error) *damage {
	if d, ok := err.(*damage); ok && d.skipped {
		return d
	}
	return nil
}

// segmentReader reads one segment's records in order from an io.ReaderAt holding size
// bytes. It returns a record if its length is plausible and its block matches its
// checksum. The first torn or corrupt record ends the segment, and every later call to Next returns
// the same *damage — with one exception: a record whose frame is intact but whose
// checksum fails is skipped on its own. Its frame is intact if its length is plausible
// (not zero, at most maxBlock, within the segment) and either it ends exactly at the
// end of the segment, or the record right after it checks. That check is what tells a
// damaged block or checksum (skip it) from a damaged length (every later offset is
// wrong: stop): a wrong length lands the next record in the middle of data, which
// fails it. Two bad records in a row end the segment at the first. The package doc's
// Recovery section states the rule for users.
type segmentReader struct {
	r        io.ReaderAt
	size     int64
	maxBlock int
	bufSize  int

	off     int64 // offset of the next record to read from br
	br      *bufio.Reader
	buf     []byte // the last block, reused
	held    []byte // a record read and checked after a skipped one, in buf, not yet returned
	heldOff int64  // its offset
	err     error  // sticky
}

func newSegmentReader(r io.ReaderAt, size int64, maxBlock, bufSize int) *segmentReader {
	return &segmentReader{r: r, size: size, maxBlock: maxBlock, bufSize: bufSize}
}

// header checks the segment header and positions the reader at the first record. It
// returns a *damage for a short or foreign header, and an error matching ErrVersion
// for a header of another format version.
func (s *segmentReader) header() error {
	var h [headerSize]byte
	n := min(s.size, headerSize)
	if err := readFullAt(s.r, h[:n], 0); err != nil {
		return s.stop(s.readFailure(0, err))
	}
	if n < headerSize {
		want := segmentHeader()[:n]
		torn := bytes.Equal(h[:n], want) || allZero(h[:n])
		return s.stop(&damage{off: 0, torn: torn, reason: "short segment header"})
	}
	if !bytes.Equal(h[:4], magic[:]) {
		return s.stop(&damage{off: 0, reason: "not a wal segment (bad magic)"})
	}
	if v := binary.BigEndian.Uint32(h[4:]); v != formatVersion {
		return s.stop(fmt.Errorf("%w %d", ErrVersion, v))
	}
	s.seek(headerSize)
	return nil
}

// seek positions the reader at off, which must be the offset of a record.
func (s *segmentReader) seek(off int64) {
	s.off, s.err, s.held = off, nil, nil
	sr := io.NewSectionReader(s.r, off, max(s.size-off, 0))
	if s.br == nil {
		s.br = bufio.NewReaderSize(sr, s.bufSize)
	} else {
		s.br.Reset(sr)
	}
}

// Next returns the offset and block of the next record. The block is only valid until
// the next call. At the end of the segment it returns io.EOF; at damage that ends the
// segment a *damage; on a read failure that error. At a record it skips it returns the
// record's offset and a *damage with skipped set (see skipped), and the next call
// goes on with the record after it.
func (s *segmentReader) Next() (int64, []byte, error) {
	if b := s.held; b != nil {
		s.held = nil
		return s.heldOff, b, nil
	}
	if s.err != nil {
		return s.off, nil, s.err
	}
	off := s.off
	b, ok, err := s.record()
	switch {
	case err != nil:
		return off, nil, s.stop(err)
	case ok:
		return off, b, nil
	}
	// A checksum mismatch: skip the record if its frame is intact.
	bad := &damage{off: off, n: int64(len(b)), reason: "checksum mismatch"}
	if s.off == s.size {
		// The last record. A write cut short can leave its length written but not all
		// of its block: a recovery treats it as torn.
		bad.skipped, bad.torn = true, true
		return off, nil, bad
	}
	next := s.off
	b, ok, err = s.record()
	var d *damage
	switch {
	case err == nil && ok:
		s.held, s.heldOff = b, next
		bad.skipped = true
		return off, nil, bad
	case err != nil && !errors.As(err, &d):
		return off, nil, s.stop(err) // a read failure, not a verdict on the record
	}
	s.off = off
	return off, nil, s.stop(bad)
}

// record reads the record at s.off and returns its block, in s.buf, and whether the
// block matches its checksum; it then advances s.off past the record. It returns
// io.EOF at the end of the segment, a *damage for a torn record or an impossible
// length, or the read error, and then leaves s.off as it is.
func (s *segmentReader) record() ([]byte, bool, error) {
	off, rest := s.off, s.size-s.off
	if rest <= 0 {
		return nil, false, io.EOF
	}
	if rest < recordHeaderSize {
		return nil, false, &damage{off: off, torn: true, reason: "short record header"}
	}
	// Peeked rather than read into an array, which would escape to the heap.
	h, err := s.br.Peek(recordHeaderSize)
	if err != nil {
		return nil, false, s.readFailure(off, err)
	}
	n, sum := int64(binary.BigEndian.Uint32(h[:4])), binary.BigEndian.Uint32(h[4:])
	s.br.Discard(recordHeaderSize)
	switch {
	case n == 0 && sum == 0:
		// Appends never write an empty block: a zero length is space the file system
		// allocated but the crash left unwritten, if all that follows is zero too.
		zero, err := s.restIsZero()
		if err != nil {
			return nil, false, s.readFailure(off, err)
		}
		if zero {
			return nil, false, &damage{off: off, torn: true, reason: "zeroed tail"}
		}
		return nil, false, &damage{off: off, reason: "zero record length"}
	case n == 0:
		return nil, false, &damage{off: off, reason: "zero record length"}
	case n > int64(s.maxBlock):
		return nil, false, &damage{off: off, reason: fmt.Sprintf("record length %d exceeds MaxBlock", n)}
	case n > rest-recordHeaderSize:
		return nil, false, &damage{off: off, torn: true, reason: fmt.Sprintf("record of %d bytes cut short", n)}
	}
	if int64(cap(s.buf)) < n {
		s.buf = make([]byte, n)
	}
	b := s.buf[:n]
	if _, err := io.ReadFull(s.br, b); err != nil {
		return nil, false, s.readFailure(off, err)
	}
	s.off += recordHeaderSize + n
	return b, crc32.Checksum(b, castagnoli) == sum, nil
}

// restIsZero reports whether every byte left in the segment is zero.
func (s *segmentReader) restIsZero() (bool, error) {
	for {
		b, err := s.br.Peek(s.bufSize)
		if !allZero(b) {
			return false, nil
		}
		if errors.Is(err, io.EOF) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		s.br.Discard(len(b))
	}
}

func (s *segmentReader) stop(err error) error {
	s.err = err
	return err
}

// readFailure returns the damage at off that a read error means: the reader holding
// fewer bytes than size is a torn segment; any other error is a read failure to pass
// on.
func (s *segmentReader) readFailure(off int64, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &damage{off: off, torn: true, reason: "unexpected end of file"}
	}
	return err
}

// readFullAt reads exactly len(p) bytes at off.
func readFullAt(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
