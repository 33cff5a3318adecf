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

// damage says where and why a segment's valid prefix ends. It matches ErrCorrupt.
type damage struct {
	off    int64  // offset of the first byte not trusted
	torn   bool   // cut short (an interrupted write), not a failed check
	reason string // for humans
}

func (d *damage) Error() string {
	return fmt.Sprintf("%s at offset %d", d.reason, d.off)
}

func (d *damage) Is(target error) bool { return target == ErrCorrupt }

// segmentReader reads one segment's records in order from an io.ReaderAt holding size
// bytes, as the segment's longest valid prefix: the first torn or corrupt record ends
// it, and every later call to Next returns the same *damage.
type segmentReader struct {
	r        io.ReaderAt
	size     int64
	maxBlock int
	bufSize  int

	off int64 // offset of the next record
	br  *bufio.Reader
	buf []byte // the last block, reused
	err error  // sticky
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
		return s.fail(0, err)
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
	s.off, s.err = off, nil
	sr := io.NewSectionReader(s.r, off, max(s.size-off, 0))
	if s.br == nil {
		s.br = bufio.NewReaderSize(sr, s.bufSize)
	} else {
		s.br.Reset(sr)
	}
}

// Next returns the offset and block of the next record. The block is only valid until
// the next call. At the end of the segment it returns io.EOF; at a torn or corrupt
// record a *damage; on a read failure that error.
func (s *segmentReader) Next() (int64, []byte, error) {
	if s.err != nil {
		return s.off, nil, s.err
	}
	off, rest := s.off, s.size-s.off
	if rest <= 0 {
		return off, nil, io.EOF
	}
	if rest < recordHeaderSize {
		return off, nil, s.stop(&damage{off: off, torn: true, reason: "short record header"})
	}
	var h [recordHeaderSize]byte
	if _, err := io.ReadFull(s.br, h[:]); err != nil {
		return off, nil, s.fail(off, err)
	}
	n, sum := int64(binary.BigEndian.Uint32(h[:4])), binary.BigEndian.Uint32(h[4:])
	switch {
	case n == 0 && allZero(h[4:]):
		// Appends never write an empty block: a zero length is space the file system
		// allocated but the crash left unwritten, if all that follows is zero too.
		zero, err := s.restIsZero()
		if err != nil {
			return off, nil, s.fail(off, err)
		}
		if zero {
			return off, nil, s.stop(&damage{off: off, torn: true, reason: "zeroed tail"})
		}
		return off, nil, s.stop(&damage{off: off, reason: "zero record length"})
	case n == 0:
		return off, nil, s.stop(&damage{off: off, reason: "zero record length"})
	case n > int64(s.maxBlock):
		return off, nil, s.stop(&damage{off: off, reason: fmt.Sprintf("record length %d exceeds MaxBlock", n)})
	case n > rest-recordHeaderSize:
		return off, nil, s.stop(&damage{off: off, torn: true, reason: fmt.Sprintf("record of %d bytes cut short", n)})
	}
	if int64(cap(s.buf)) < n {
		s.buf = make([]byte, n)
	}
	b := s.buf[:n]
	if _, err := io.ReadFull(s.br, b); err != nil {
		return off, nil, s.fail(off, err)
	}
	if crc32.Checksum(b, castagnoli) != sum {
		return off, nil, s.stop(&damage{off: off, reason: "checksum mismatch"})
	}
	s.off += recordHeaderSize + n
	return off, b, nil
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

// fail ends the segment at off after a read error: the reader holding fewer bytes
// than size is a torn segment, anything else a read failure to pass on.
func (s *segmentReader) fail(off int64, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return s.stop(&damage{off: off, torn: true, reason: "unexpected end of file"})
	}
	return s.stop(err)
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
