package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
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
	records []string // the valid prefix
	end     string   // "eof", "torn", "corrupt" or "version"
}{
	{"valid", func() []byte { return segment("alpha", "beta", "gamma") }, []string{"alpha", "beta", "gamma"}, "eof"},
	{"empty", func() []byte { return segment() }, nil, "eof"},
	{"torn-header", func() []byte { return segmentHeader()[:5] }, nil, "torn"},
	{"zero-header", func() []byte { return make([]byte, 6) }, nil, "torn"},
	{"bad-magic", func() []byte { return append([]byte("NOPE\x00\x00\x00\x01"), segment("alpha")[8:]...) }, nil, "corrupt"},
	{"future-version", func() []byte { return append([]byte("KWAL\x00\x00\x00\x02"), segment("alpha")[8:]...) }, nil, "version"},
	{"torn-record-header", func() []byte { return append(segment("alpha", "beta"), 0, 0, 0, 5, 1) }, []string{"alpha", "beta"}, "torn"},
	{"torn-body", func() []byte { b := segment("alpha", "beta"); return b[:len(b)-2] }, []string{"alpha"}, "torn"},
	{"bad-checksum", func() []byte { b := segment("alpha", "beta", "gamma"); b[8+8+5+8] ^= 1; return b }, []string{"alpha"}, "corrupt"},
	{"zeroed-tail", func() []byte { return append(segment("alpha", "beta"), make([]byte, 40)...) }, []string{"alpha", "beta"}, "torn"},
	{"zero-length-then-data", func() []byte { return append(segment("alpha"), append(make([]byte, 8), segment("beta")[8:]...)...) }, []string{"alpha"}, "corrupt"},
	{"huge-length", func() []byte {
		b := binary.BigEndian.AppendUint32(segment("alpha"), 0xfffffff0)
		return append(b, make([]byte, 20)...)
	}, []string{"alpha"}, "corrupt"},
}

// segment encodes a segment holding blocks.
func segment(blocks ...string) []byte {
	b := segmentHeader()
	for _, s := range blocks {
		b = appendRecord(b, []byte(s))
	}
	return b
}

// readAll reads a segment like Replay does: the valid prefix and how it ended.
func readAll(data []byte, maxBlock int) (records [][]byte, offs []int64, end error) {
	sr := newSegmentReader(bytes.NewReader(data), int64(len(data)), maxBlock, 16)
	err := sr.header()
	for err == nil {
		var off int64
		var b []byte
		if off, b, err = sr.Next(); err == nil {
			records, offs = append(records, bytes.Clone(b)), append(offs, off)
		}
	}
	return records, offs, err
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
			records, _, end := readAll(data, fixtureMaxBlock)
			var got []string
			for _, r := range records {
				got = append(got, string(r))
			}
			if !slices.Equal(got, fx.records) || endKind(end) != fx.end {
				t.Fatalf("read %q ending %s (%v), want %q ending %s", got, endKind(end), end, fx.records, fx.end)
			}
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
// record past the data; what it accepts is exactly the data's prefix, byte for byte;
// it ends cleanly only at the end of the data; and a damaged end is where it stopped.
func FuzzReadSegment(f *testing.F) {
	f.Add(segment("alpha", "beta"))
	f.Fuzz(func(t *testing.T, data []byte) {
		records, offs, end := readAll(data, 64)
		var d *damage
		switch {
		case end == io.EOF, errors.As(end, &d):
		case errors.Is(end, ErrVersion):
			if len(records) > 0 {
				t.Fatal("records read from a segment of another version")
			}
			return
		default:
			t.Fatalf("unexpected error %v", end)
		}
		prefix := segmentHeader()
		for i, r := range records {
			if offs[i] != int64(len(prefix)) {
				t.Fatalf("record %d at offset %d, want %d", i, offs[i], len(prefix))
			}
			prefix = appendRecord(prefix, r)
		}
		if len(records) > 0 || end == io.EOF || d.off > 0 {
			if !bytes.HasPrefix(data, prefix) {
				t.Fatal("valid prefix does not re-encode to the data")
			}
		}
		if end == io.EOF && len(prefix) != len(data) {
			t.Fatalf("clean end at %d of %d bytes", len(prefix), len(data))
		}
		if d != nil && d.off > 0 && d.off != int64(len(prefix)) {
			t.Fatalf("damage at %d, valid prefix ends at %d", d.off, len(prefix))
		}
		for i, off := range offs { // random access agrees with the scan
			sr := newSegmentReader(bytes.NewReader(data), int64(len(data)), 64, 16)
			sr.seek(off)
			if _, b, err := sr.Next(); err != nil || !bytes.Equal(b, records[i]) {
				t.Fatalf("reading record %d at %d alone: %q, %v", i, off, b, err)
			}
		}
	})
}
