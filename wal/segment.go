package wal

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Segment format: a header, then records back to back.
//
//	header  magic "KWAL" | version uint32 BE
//	record  length uint32 BE | crc32c(block) uint32 BE | block
const (
	headerSize       = 8
	recordHeaderSize = 8
	formatVersion    = 1
	segmentExt       = ".wal"
)

var (
	magic      = [4]byte{'K', 'W', 'A', 'L'}
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

// segmentHeader returns the header every segment of this format starts with.
func segmentHeader() []byte {
	return binary.BigEndian.AppendUint32(magic[:], formatVersion)
}

// appendRecord appends the record holding block to buf.
func appendRecord(buf, block []byte) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(block)))
	buf = binary.BigEndian.AppendUint32(buf, crc32.Checksum(block, castagnoli))
	return append(buf, block...)
}

// segmentName is the file name of segment seq: 20 zero-padded digits, so that names
// sort like numbers.
func segmentName(seq uint64) string {
	return fmt.Sprintf("%020d%s", seq, segmentExt)
}

func parseSegmentName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segmentExt)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	return seq, err == nil && seq > 0
}

// listSegments returns the sequence numbers of the segment files in dir, ascending.
// Other files are ignored.
func listSegments(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var seqs []uint64
	for _, e := range entries {
		if seq, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	return seqs, nil
}

func (l *Log) path(seq uint64) string {
	return filepath.Join(l.dir, segmentName(seq))
}

// fsync syncs f through the test hook and counts it.
func (l *Log) fsync(f *os.File) error {
	l.syncs.Add(1)
	return l.hooks.sync(f)
}

// syncDir makes the directory's entries (created or removed segments) durable.
func (l *Log) syncDir() error {
	d, err := os.Open(l.dir)
	if err != nil {
		return err
	}
	err = l.fsync(d)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// createSegment creates segment seq with its header, durably: the file and the
// directory entry are fsynced before it is used.
func (l *Log) createSegment(seq uint64) (*os.File, error) {
	f, err := os.OpenFile(l.path(seq), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if err := l.initSegment(f); err != nil {
		f.Close()
		os.Remove(l.path(seq))
		return nil, err
	}
	if err := l.syncDir(); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// initSegment writes a fresh header over f, dropping anything else, and syncs it.
func (l *Log) initSegment(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := l.hooks.writeAt(f, segmentHeader(), 0); err != nil {
		return err
	}
	return l.fsync(f)
}

// hooks replace file operations in tests, to inject faults.
type hooks struct {
	sync    func(*os.File) error
	writeAt func(f *os.File, b []byte, off int64) (int, error)
}

func (h *hooks) fill() {
	if h.sync == nil {
		h.sync = (*os.File).Sync
	}
	if h.writeAt == nil {
		h.writeAt = (*os.File).WriteAt
	}
}
