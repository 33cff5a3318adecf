package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The crash tests write 8 blocks, two per segment (SegmentSize 100), damage the files
// as a crash or a bad disk would, and check what Open and Replay make of them.
const crashBlocks = 8

// where names the file and offset a warning must report, and whether it reports a
// skipped record (then with its length and reason) or where a segment ends.
type where struct {
	seq  uint64
	off  int64
	skip bool
}

func TestCrash(t *testing.T) {
	rec := int64(recordHeaderSize + len(blockN(0)))
	tests := []struct {
		name       string
		damage     func(t *testing.T, dir string, pos []Pos)
		openWarn   []where // warnings of Open
		replayWarn []where // warnings of every Replay after it
		want       []int   // blocks replayed
		damaged    []int   // blocks whose records ReadAt finds corrupt
		last       int     // block at LastPos
		next       Pos     // where the next append goes
	}{{
		name: "torn record at the end",
		damage: func(t *testing.T, dir string, pos []Pos) {
			truncate(t, dir, 4, pos[7].Offset+rec-5)
		},
		openWarn: []where{{4, 8 + rec, false}},
		want:     []int{0, 1, 2, 3, 4, 5, 6},
		last:     6,
		next:     Pos{4, 8 + rec},
	}, {
		name: "partial record written by hand",
		damage: func(t *testing.T, dir string, pos []Pos) {
			partial := binary.BigEndian.AppendUint32(nil, 100)
			partial = binary.BigEndian.AppendUint32(partial, 0xdeadbeef)
			appendFile(t, dir, 4, append(partial, "only ten b"...))
		},
		openWarn: []where{{4, 8 + 2*rec, false}},
		want:     []int{0, 1, 2, 3, 4, 5, 6, 7},
		last:     7,
		next:     Pos{4, 8 + 2*rec},
	}, {
		name: "zero-filled tail",
		damage: func(t *testing.T, dir string, pos []Pos) {
			appendFile(t, dir, 4, make([]byte, 5000))
		},
		openWarn: []where{{4, 8 + 2*rec, false}},
		want:     []int{0, 1, 2, 3, 4, 5, 6, 7},
		last:     7,
		next:     Pos{4, 8 + 2*rec},
	}, {
		name: "whole last record torn away, empty segment created",
		damage: func(t *testing.T, dir string, pos []Pos) {
			appendFile(t, dir, 5, []byte("KWA"))
		},
		openWarn: []where{{5, 0, false}},
		want:     []int{0, 1, 2, 3, 4, 5, 6, 7},
		last:     7,
		next:     Pos{4, 8 + 2*rec},
	}, {
		name: "foreign file as the last segment",
		damage: func(t *testing.T, dir string, pos []Pos) {
			appendFile(t, dir, 5, []byte("not a wal segment at all"))
		},
		openWarn:   []where{{5, 0, false}},
		replayWarn: []where{{5, 0, false}},
		want:       []int{0, 1, 2, 3, 4, 5, 6, 7},
		last:       7,
		next:       Pos{6, 8},
	}, {
		name: "torn record in an older segment",
		damage: func(t *testing.T, dir string, pos []Pos) {
			truncate(t, dir, 2, pos[3].Offset+10)
		},
		replayWarn: []where{{2, 8 + rec, false}},
		want:       []int{0, 1, 2, 4, 5, 6, 7},
		damaged:    []int{3},
		last:       7,
		next:       Pos{4, 8 + 2*rec},
	}, {
		name: "flipped byte in an older segment",
		damage: func(t *testing.T, dir string, pos []Pos) {
			flipByte(t, filepath.Join(dir, segmentName(2)), pos[2].Offset+recordHeaderSize+3)
		},
		replayWarn: []where{{2, 8, true}},
		want:       []int{0, 1, 3, 4, 5, 6, 7}, // only the damaged record is lost
		damaged:    []int{2},
		last:       7,
		next:       Pos{4, 8 + 2*rec},
	}, {
		name: "flipped checksum in an older segment",
		damage: func(t *testing.T, dir string, pos []Pos) {
			flipByte(t, filepath.Join(dir, segmentName(2)), pos[2].Offset+6)
		},
		replayWarn: []where{{2, 8, true}},
		want:       []int{0, 1, 3, 4, 5, 6, 7},
		damaged:    []int{2},
		last:       7,
		next:       Pos{4, 8 + 2*rec},
	}, {
		name: "flipped byte in the last record of an older segment",
		damage: func(t *testing.T, dir string, pos []Pos) {
			flipByte(t, filepath.Join(dir, segmentName(2)), pos[3].Offset+recordHeaderSize+3)
		},
		replayWarn: []where{{2, 8 + rec, true}},
		want:       []int{0, 1, 2, 4, 5, 6, 7},
		damaged:    []int{3},
		last:       7,
		next:       Pos{4, 8 + 2*rec},
	}, {
		name: "two adjacent corrupt records in an older segment",
		damage: func(t *testing.T, dir string, pos []Pos) {
			flipByte(t, filepath.Join(dir, segmentName(2)), pos[2].Offset+recordHeaderSize+3)
			flipByte(t, filepath.Join(dir, segmentName(2)), pos[3].Offset+recordHeaderSize+3)
		},
		replayWarn: []where{{2, 8, false}}, // the second cannot vouch for the first
		want:       []int{0, 1, 4, 5, 6, 7},
		damaged:    []int{2, 3},
		last:       7,
		next:       Pos{4, 8 + 2*rec},
	}, {
		name: "flipped length in an older segment",
		damage: func(t *testing.T, dir string, pos []Pos) {
			flipByte(t, filepath.Join(dir, segmentName(2)), pos[2].Offset+3) // 31 becomes 95
		},
		replayWarn: []where{{2, 8, false}},
		want:       []int{0, 1, 4, 5, 6, 7},
		damaged:    []int{2},
		last:       7,
		next:       Pos{4, 8 + 2*rec},
	}, {
		name: "foreign last segment after a skipped record",
		damage: func(t *testing.T, dir string, pos []Pos) {
			flipByte(t, filepath.Join(dir, segmentName(4)), pos[6].Offset+recordHeaderSize+3)
			appendFile(t, dir, 5, []byte("not a wal segment at all"))
		},
		openWarn:   []where{{5, 0, false}},
		replayWarn: []where{{4, 8, true}, {5, 0, false}},
		want:       []int{0, 1, 2, 3, 4, 5, 7},
		damaged:    []int{6},
		last:       7, // found past the skipped record
		next:       Pos{6, 8},
	}, {
		name: "foreign last segment after a damaged last record",
		damage: func(t *testing.T, dir string, pos []Pos) {
			flipByte(t, filepath.Join(dir, segmentName(4)), pos[7].Offset+recordHeaderSize+3)
			appendFile(t, dir, 5, []byte("not a wal segment at all"))
		},
		openWarn:   []where{{5, 0, false}},
		replayWarn: []where{{4, 8 + rec, true}, {5, 0, false}},
		want:       []int{0, 1, 2, 3, 4, 5, 6},
		damaged:    []int{7},
		last:       6,
		next:       Pos{6, 8},
	}, {
		name: "flipped byte in the last segment",
		damage: func(t *testing.T, dir string, pos []Pos) {
			flipByte(t, filepath.Join(dir, segmentName(4)), pos[6].Offset+recordHeaderSize+3)
		},
		openWarn:   []where{{4, 8, true}},
		replayWarn: []where{{4, 8, true}},
		want:       []int{0, 1, 2, 3, 4, 5, 7}, // the segment still takes appends
		damaged:    []int{6},
		last:       7,
		next:       Pos{4, 8 + 2*rec},
	}, {
		name: "flipped byte in the last record of the last segment",
		damage: func(t *testing.T, dir string, pos []Pos) {
			flipByte(t, filepath.Join(dir, segmentName(4)), pos[7].Offset+recordHeaderSize+3)
		},
		openWarn: []where{{4, 8 + rec, false}}, // cut off like a torn write
		want:     []int{0, 1, 2, 3, 4, 5, 6},
		last:     6,
		next:     Pos{4, 8 + rec},
	}, {
		name: "flipped length in the last segment",
		damage: func(t *testing.T, dir string, pos []Pos) {
			// 31 becomes 15: the record after it would start inside its block.
			b := readSegments(t, dir)[segmentName(4)]
			b[pos[6].Offset+3] ^= 0x10
			writeFile(t, dir, segmentName(4), b)
		},
		openWarn:   []where{{4, 8, false}}, // sealed as it is
		replayWarn: []where{{4, 8, false}},
		want:       []int{0, 1, 2, 3, 4, 5},
		damaged:    []int{6},
		last:       5,
		next:       Pos{5, 8},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			dir := t.TempDir()
			var w warnings
			opts := &Options{SegmentSize: 100, Warn: w.warn}
			l := openLog(t, dir, opts)
			var pos []Pos
			for i := range crashBlocks {
				pos = append(pos, mustAppend(t, l, blockN(i))...)
			}
			mustClose(t, l)
			tt.damage(t, dir, pos)
			damaged := readSegments(t, dir)

			l = openLog(t, dir, opts)
			checkWarnings(t, "Open", dir, w.take(), tt.openWarn)
			if got := l.LastPos(); got != pos[tt.last] {
				t.Errorf("LastPos = %v, want %v (block %d)", got, pos[tt.last], tt.last)
			}
			var want []string
			for _, i := range tt.want {
				want = append(want, blockN(i))
			}
			// ReadAt fails for a damaged record, and for one Open cut off; it reads an
			// intact one even where Replay stopped before it.
			sizes := make(map[uint64]int64)
			for _, s := range l.Segments() {
				sizes[s.Seq] = s.Size
			}
			for i, p := range pos {
				b, err := l.ReadAt(p)
				switch {
				case slices.Contains(tt.damaged, i):
					if !errors.Is(err, ErrCorrupt) {
						t.Errorf("ReadAt(%v) of a damaged record = %q, %v; want ErrCorrupt", p, b, err)
					}
				case p.Offset >= sizes[p.Segment]:
					if !errors.Is(err, ErrNotFound) {
						t.Errorf("ReadAt(%v) of a record cut off = %v, want ErrNotFound", p, err)
					}
				case err != nil || string(b) != blockN(i):
					t.Errorf("ReadAt(%v) = %q, %v; want block %d", p, b, err, i)
				}
			}
			w.take() // ReadAt does not warn
			_, got := replayAll(t, l)
			checkWarnings(t, "Replay", dir, w.take(), tt.replayWarn)
			if !slices.Equal(got, want) {
				t.Fatalf("Replay = %q\nwant %q", got, want)
			}
			if tt.openWarn == nil || tt.replayWarn != nil {
				// Only a torn tail is cut; other damage stays as it is, for repair tools.
				if !maps.EqualFunc(damaged, readSegments(t, dir), bytes.Equal) {
					t.Errorf("Open or Replay changed damaged segments")
				}
			}

			// Appends follow valid data, and a second Open finds nothing to repair.
			p := mustAppend(t, l, "new")
			if p[0] != tt.next {
				t.Errorf("new record at %v, want %v", p[0], tt.next)
			}
			mustClose(t, l)
			l = openLog(t, dir, opts)
			if tt.replayWarn == nil {
				checkWarnings(t, "second Open", dir, w.take(), nil)
			}
			w.take()
			if _, got := replayAll(t, l); !slices.Equal(got, append(want, "new")) {
				t.Fatalf("Replay after append = %q\nwant %q", got, append(want, "new"))
			}
			checkWarnings(t, "second Replay", dir, w.take(), tt.replayWarn)
		})
	}
}

func checkWarnings(t *testing.T, op, dir string, got []warning, want []where) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s warned %d times, want %d: %v", op, len(got), len(want), got)
		return
	}
	for i, w := range want {
		file := filepath.Join(dir, segmentName(w.seq))
		if got[i].kv["file"] != file || got[i].kv["offset"] != w.off {
			t.Errorf("%s warning %q %v, want file %s offset %d", op, got[i].msg, got[i].kv, file, w.off)
		}
		n, hasLen := got[i].kv["length"]
		switch {
		case w.skip && (n != int64(len(blockN(0))) || got[i].kv["reason"] != "checksum mismatch; record skipped"):
			t.Errorf("%s warning %q %v, want a skipped record of %d bytes", op, got[i].msg, got[i].kv, len(blockN(0)))
		case !w.skip && hasLen:
			t.Errorf("%s warning %q %v, want the end of a segment, not a skipped record", op, got[i].msg, got[i].kv)
		}
	}
}

func readSegments(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := make(map[string][]byte)
	seqs, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, seq := range seqs {
		b, err := os.ReadFile(filepath.Join(dir, segmentName(seq)))
		if err != nil {
			t.Fatal(err)
		}
		files[segmentName(seq)] = b
	}
	return files
}

func truncate(t *testing.T, dir string, seq uint64, size int64) {
	t.Helper()
	if err := os.Truncate(filepath.Join(dir, segmentName(seq)), size); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, dir string, seq uint64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, segmentName(seq)), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0x40
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
