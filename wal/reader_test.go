package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the segment fixtures in testdata/ and the fuzz seeds")

// fixtureMaxBlock is the MaxBlock the fixtures are read with.
const fixtureMaxBlock = 1 << 10

// segmentFixtures are small segment files as crashes and bad disks leave them, with
// what a reader must make of them. They live in testdata/segments/; -update rewrites
// them (and the FuzzReadSegment seeds) from build.
var segmentFixtures = []struct {
	name    string
	build   func() []byte
	records []string // the records read
	skips   []int64  // the offsets of the records skipped
	end     string   // "eof", "torn", "corrupt" or "version"
}{
	{"valid", func() []byte { return segment("alpha", "beta", "gamma") }, []string{"alpha", "beta", "gamma"}, nil, "eof"},
	{"empty", func() []byte { return segment() }, nil, nil, "eof"},
	{"torn-header", func() []byte { return segmentHeader()[:5] }, nil, nil, "torn"},
	{"zero-header", func() []byte { return make([]byte, 6) }, nil, nil, "torn"},
	{"bad-magic", func() []byte { return append([]byte("NOPE\x00\x00\x00\x01"), segment("alpha")[8:]...) }, nil, nil, "corrupt"},
	{"future-version", func() []byte { return append([]byte("KWAL\x00\x00\x00\x02"), segment("alpha")[8:]...) }, nil, nil, "version"},
	{"torn-record-header", func() []byte { return append(segment("alpha", "beta"), 0, 0, 0, 5, 1) }, []string{"alpha", "beta"}, nil, "torn"},
	{"torn-body", func() []byte { b := segment("alpha", "beta"); return b[:len(b)-2] }, []string{"alpha"}, nil, "torn"},
	{"zeroed-tail", func() []byte { return append(segment("alpha", "beta"), make([]byte, 40)...) }, []string{"alpha", "beta"}, nil, "torn"},
	{"zero-length-then-data", func() []byte { return append(segment("alpha"), append(make([]byte, 8), segment("beta")[8:]...)...) }, []string{"alpha"}, nil, "corrupt"},
	{"huge-length", func() []byte {
		b := binary.BigEndian.AppendUint32(segment("alpha"), 0xfffffff0)
		return append(b, make([]byte, 20)...)
	}, []string{"alpha"}, nil, "corrupt"},

	// A record whose checksum alone fails is skipped; damage to a length, or two bad
	// records in a row, ends the segment.
	{"flipped-block-byte", func() []byte { return damaged(fourBlocks, flip(1, recordHeaderSize+2)) },
		[]string{"alpha", "gamma", "delta"}, []int64{recordOff(fourBlocks, 1)}, "eof"},
	{"flipped-checksum-byte", func() []byte { return damaged(fourBlocks, flip(1, 5)) },
		[]string{"alpha", "gamma", "delta"}, []int64{recordOff(fourBlocks, 1)}, "eof"},
	{"flipped-blocks-apart", func() []byte { return damaged(fourBlocks, flip(1, recordHeaderSize), flip(3, recordHeaderSize+4)) },
		[]string{"alpha", "gamma"}, []int64{recordOff(fourBlocks, 1), recordOff(fourBlocks, 3)}, "eof"},
	{"flipped-first-block", func() []byte { return damaged(fourBlocks, flip(0, recordHeaderSize)) },
		[]string{"beta", "gamma", "delta"}, []int64{recordOff(fourBlocks, 0)}, "eof"},
	{"flipped-last-block", func() []byte { return damaged(fourBlocks, flip(3, recordHeaderSize)) },
		[]string{"alpha", "beta", "gamma"}, []int64{recordOff(fourBlocks, 3)}, "eof"},
	{"two-bad-records", func() []byte { return damaged(fourBlocks, flip(1, recordHeaderSize), flip(2, recordHeaderSize)) },
		[]string{"alpha"}, nil, "corrupt"},
	{"bad-record-then-torn", func() []byte { b := damaged(fourBlocks, flip(2, recordHeaderSize)); return b[:len(b)-3] },
		[]string{"alpha", "beta"}, nil, "corrupt"},
	{"bad-record-then-zeroed-tail", func() []byte {
		return append(damaged(fourBlocks[:3], flip(2, recordHeaderSize)), make([]byte, 30)...)
	}, []string{"alpha", "beta"}, nil, "corrupt"},
	// beta's length 4 becomes 12: its "next record" starts inside gamma's block.
	{"flipped-length-low-byte", func() []byte { return damaged(fourBlocks, flipBits(1, 3, 0x08)) },
		[]string{"alpha"}, nil, "corrupt"},
	{"flipped-length-high-byte", func() []byte { return damaged(fourBlocks, flip(1, 0)) },
		[]string{"alpha"}, nil, "corrupt"},
}

// fourBlocks are the blocks of the fixtures with damaged records.
var fourBlocks = []string{"alpha", "beta", "gamma", "delta"}

// recordOff returns the offset of the i-th record of a segment of blocks.
func recordOff(blocks []string, i int) int64 { return int64(len(segment(blocks[:i]...))) }

// bitFlip flips bits of the byte at offset off of record i.
type bitFlip struct {
	record int
	off    int64
	bits   byte
}

func flip(record int, off int64) bitFlip             { return flipBits(record, off, 0x40) }
func flipBits(record int, off int64, b byte) bitFlip { return bitFlip{record, off, b} }

// damaged encodes a segment of blocks and flips bits in it.
func damaged(blocks []string, flips ...bitFlip) []byte {
	b := segment(blocks...)
	for _, f := range flips {
		b[recordOff(blocks, f.record)+f.off] ^= f.bits
	}
	return b
}

// segment encodes a segment holding blocks.
func segment(blocks ...string) []byte {
	b := segmentHeader()
	for _, s := range blocks {
		b = appendRecord(b, []byte(s))
	}
	return b
}

// readEvent is a record a segment reader returned, or one it skipped.
type readEvent struct {
	off   int64
	block []byte  // nil if skipped
	skip  *damage // the skipped record
}

// scanned is what a segment reader made of a segment: its records and the records it
// skipped, in order, and how the segment ended.
type scanned struct {
	events []readEvent
	end    error
}

func (s scanned) records() (records []string, skips []int64) {
	for _, e := range s.events {
		if e.skip != nil {
			skips = append(skips, e.off)
		} else {
			records = append(records, string(e.block))
		}
	}
	return records, skips
}

// scanSegment reads sr's segment like Replay does, stepping over skipped records.
func scanSegment(sr *segmentReader) scanned {
	var s scanned
	err := sr.header()
	for err == nil {
		var off int64
		var b []byte
		off, b, err = sr.Next()
		if err == nil {
			s.events = append(s.events, readEvent{off: off, block: bytes.Clone(b)})
		} else if d := skipped(err); d != nil {
			s.events = append(s.events, readEvent{off: off, skip: d})
			err = nil
		}
	}
	s.end = err
	return s
}

// readAll reads a segment like Replay does.
func readAll(data []byte, maxBlock int) scanned {
	return scanSegment(newSegmentReader(bytes.NewReader(data), int64(len(data)), maxBlock, 16))
}

func endKind(err error) string {
	var d *damage
	switch {
	case err == io.EOF:
		return "eof"
	case errors.Is(err, ErrVersion):
		return "version"
	case errors.As(err, &d) && d.torn:
		return "torn"
	case errors.As(err, &d):
		return "corrupt"
	}
	return fmt.Sprintf("error %v", err)
}

func TestSegmentFixtures(t *testing.T) {
	dir := filepath.Join("testdata", "segments")
	if *update {
		writeFixtures(t, dir)
	}
	for _, fx := range segmentFixtures {
		t.Run(fx.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, fx.name+segmentExt))
			if err != nil {
				t.Fatalf("%v (run go test -run TestSegmentFixtures -update)", err)
			}
			s := readAll(data, fixtureMaxBlock)
			got, skips := s.records()
			if !slices.Equal(got, fx.records) || !slices.Equal(skips, fx.skips) || endKind(s.end) != fx.end {
				t.Fatalf("read %q skipping %v ending %s (%v), want %q skipping %v ending %s",
					got, skips, endKind(s.end), s.end, fx.records, fx.skips, fx.end)
			}
			checkScan(t, data, fixtureMaxBlock, s)
		})
	}
}

func writeFixtures(t *testing.T, dir string) {
	seeds := filepath.Join("testdata", "fuzz", "FuzzReadSegment")
	for _, d := range []string{dir, seeds} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, fx := range segmentFixtures {
		data := fx.build()
		seed := fmt.Sprintf("go test fuzz v1\n[]byte(%+q)\n", data)
		if err := os.WriteFile(filepath.Join(dir, fx.name+segmentExt), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(seeds, fx.name), []byte(seed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzReadSegment checks the segment reader on any bytes: it never panics nor reads a
// record past the data (checkScan says what else).
func FuzzReadSegment(f *testing.F) {
	f.Add(segment("alpha", "beta"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkScan(t, data, 64, readAll(data, 64))
	})
}

// checkScan checks what a segment reader made of data with maxBlock: the records it
// read and skipped tile the data from the header on, each read record byte for byte;
// it skipped only records whose checksum fails but whose frame is intact (a plausible
// length, and the record after it read, or the end of the data right after it); it
// ended cleanly only at the end of the data, and a damaged end is where it stopped.
// Each record and skipped record reads the same alone.
func checkScan(t *testing.T, data []byte, maxBlock int, s scanned) {
	t.Helper()
	var d *damage
	switch {
	case s.end == io.EOF, errors.As(s.end, &d):
	case errors.Is(s.end, ErrVersion):
		if len(s.events) > 0 {
			t.Fatal("records read from a segment of another version")
		}
		return
	default:
		t.Fatalf("unexpected error %v", s.end)
	}
	if (len(s.events) > 0 || s.end == io.EOF) && !bytes.HasPrefix(data, segmentHeader()) {
		t.Fatal("records read after a bad header")
	}
	at := int64(headerSize)
	for i, e := range s.events {
		if e.off != at {
			t.Fatalf("event %d at offset %d, want %d", i, e.off, at)
		}
		if e.skip == nil {
			rec := appendRecord(nil, e.block)
			if !bytes.HasPrefix(data[at:], rec) {
				t.Fatalf("record %d at %d does not re-encode to the data", i, at)
			}
			at += int64(len(rec))
			continue
		}
		if e.skip.off != at || at+recordHeaderSize > int64(len(data)) {
			t.Fatalf("skipped record %d at %d reported at %d", i, at, e.skip.off)
		}
		n := int64(binary.BigEndian.Uint32(data[at:]))
		end := at + recordHeaderSize + n
		if e.skip.n != n || n == 0 || n > int64(maxBlock) || end > int64(len(data)) {
			t.Fatalf("skipped record %d at %d of length %d (reported %d): not a plausible frame", i, at, n, e.skip.n)
		}
		if crc32.Checksum(data[at+recordHeaderSize:end], castagnoli) == binary.BigEndian.Uint32(data[at+4:]) {
			t.Fatalf("skipped record %d at %d is valid", i, at)
		}
		last := end == int64(len(data))
		if e.skip.torn != last {
			t.Fatalf("skipped record %d at %d: torn %v, ends the data %v", i, at, e.skip.torn, last)
		}
		if !last && (i+1 == len(s.events) || s.events[i+1].skip != nil) {
			t.Fatalf("skipped record %d at %d is not followed by a valid record", i, at)
		}
		at = end
	}
	if s.end == io.EOF && at != int64(len(data)) {
		t.Fatalf("clean end at %d of %d bytes", at, len(data))
	}
	if d != nil && d.off > 0 && d.off != at {
		t.Fatalf("damage at %d, the records end at %d", d.off, at)
	}
	for i, e := range s.events { // random access agrees with the scan
		sr := newSegmentReader(bytes.NewReader(data), int64(len(data)), maxBlock, 16)
		sr.seek(e.off)
		_, b, err := sr.Next()
		if e.skip == nil && (err != nil || !bytes.Equal(b, e.block)) {
			t.Fatalf("reading record %d at %d alone: %q, %v", i, e.off, b, err)
		}
		if e.skip != nil && (!errors.Is(err, ErrCorrupt) || skipped(err) == nil || *skipped(err) != *e.skip) {
			t.Fatalf("reading skipped record %d at %d alone: %v", i, e.off, err)
		}
	}
}

// TestReaderAllocs: reading valid records allocates nothing once the block buffer has
// grown, so that a scan costs no garbage per record.
func TestReaderAllocs(t *testing.T) {
	var blocks []string
	for i := range 2000 {
		blocks = append(blocks, blockN(i))
	}
	data := segment(blocks...)
	sr := newSegmentReader(bytes.NewReader(data), int64(len(data)), fixtureMaxBlock, 256)
	if err := sr.header(); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if _, _, err := sr.Next(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Next allocated %v times per record", allocs)
	}
}
