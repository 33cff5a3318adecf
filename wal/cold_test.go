package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// coldOpts are small segments cut into small chunks, so that a test has many of both.
func coldOpts(w *warnings) *Options {
	return &Options{SegmentSize: 4 << 10, ColdChunk: minColdChunk, Warn: w.warn}
}

// coldBlockN is the n-th block of the cold tests: compressible, of varied lengths, and
// every 40th longer than a chunk, so that records span chunks.
func coldBlockN(n int) string {
	pad := strings.Repeat("ab", n%97)
	if n%40 == 7 {
		pad = strings.Repeat("0123456789", 60)
	}
	return fmt.Sprintf(`{"key":"users/%05d","kind":"set","value":{"name":"user %d","pad":"%s"}}`, n, n, pad)
}

// coldLog is a log of several segments of coldBlockN blocks, some appended together.
type coldLog struct {
	pos    []Pos
	blocks []string
}

func fillCold(t testing.TB, l *Log, n int) *coldLog {
	t.Helper()
	c := &coldLog{}
	for i := 0; i < n; {
		k := 1 + i%3
		var bs []string
		for j := range k {
			bs = append(bs, coldBlockN(i+j))
		}
		c.pos = append(c.pos, mustAppend(t, l, bs...)...)
		c.blocks = append(c.blocks, bs...)
		i += k
	}
	return c
}

// check reads every block back with ReadAt, in a scattered order, and with Replay,
// from the start and from a position in every segment.
func (c *coldLog) check(t *testing.T, l *Log) {
	t.Helper()
	order := rand.New(rand.NewPCG(1, 2)).Perm(len(c.pos))
	for _, i := range order {
		b, err := l.ReadAt(c.pos[i])
		if err != nil || string(b) != c.blocks[i] {
			t.Fatalf("ReadAt(%v) = %.40q, %v; want %.40q", c.pos[i], b, err, c.blocks[i])
		}
	}
	pos, blocks := replayAll(t, l)
	if !slices.Equal(pos, c.pos) || !slices.Equal(blocks, c.blocks) {
		t.Fatalf("Replay returned %d records, want %d, or not the same", len(pos), len(c.pos))
	}
	for i := 5; i < len(c.pos); i += len(c.pos) / 7 {
		var got []string
		err := l.Replay(c.pos[i], func(_ Pos, b []byte) error { got = append(got, string(b)); return nil })
		if err != nil || !slices.Equal(got, c.blocks[i:]) {
			t.Fatalf("Replay from %v: %d records, %v; want %d", c.pos[i], len(got), err, len(c.blocks)-i)
		}
	}
}

func TestColdRoundTrip(t *testing.T) {
	checkGoroutines(t)
	dir := t.TempDir()
	var w warnings
	l := openLog(t, dir, coldOpts(&w))
	c := fillCold(t, l, 300)
	warm := l.Segments()
	if len(warm) < 5 {
		t.Fatalf("only %d segments", len(warm))
	}
	n, err := l.CompressSealed()
	if err != nil || n != len(warm)-1 {
		t.Fatalf("CompressSealed = %d, %v; want %d", n, err, len(warm)-1)
	}
	segs := l.Segments()
	var size, disk int64
	for i, s := range segs {
		cold := i < len(segs)-1
		if s.Seq != warm[i].Seq || s.Size != warm[i].Size || s.Sealed != cold || s.Cold != cold {
			t.Fatalf("segment %d after CompressSealed: %+v, before %+v", i, s, warm[i])
		}
		_, werr := os.Stat(filepath.Join(dir, segmentName(s.Seq)))
		fi, cerr := os.Stat(filepath.Join(dir, segmentName(s.Seq)+coldExt))
		switch {
		case cold && (!errors.Is(werr, os.ErrNotExist) || cerr != nil || fi.Size() != s.DiskSize):
			t.Fatalf("cold segment %d: .wal %v, .wal.zst %v (%d bytes, DiskSize %d)", s.Seq, werr, cerr, fi.Size(), s.DiskSize)
		case !cold && (werr != nil || cerr == nil || s.DiskSize != s.Size):
			t.Fatalf("active segment %d: .wal %v, .wal.zst %v, %+v", s.Seq, werr, cerr, s)
		}
		if cold {
			size, disk = size+s.Size, disk+s.DiskSize
		}
	}
	t.Logf("%d segments, %d bytes compressed to %d (%.1fx)", len(segs)-1, size, disk, float64(size)/float64(disk))
	if disk*10 > size*7 { // tiny chunks compress less than the default's
		t.Errorf("compressible segments of %d bytes take %d compressed", size, disk)
	}
	c.check(t, l)
	if n, err := l.CompressSealed(); n != 0 || err != nil {
		t.Fatalf("second CompressSealed = %d, %v", n, err)
	}

	// Appends go on; the next rotation seals one more segment to compress.
	more := fillCold(t, l, 60)
	c.pos, c.blocks = append(c.pos, more.pos...), append(c.blocks, more.blocks...)
	if n, err := l.CompressSealed(); n < 1 || err != nil {
		t.Fatalf("CompressSealed after appends = %d, %v", n, err)
	}
	c.check(t, l)
	segs = l.Segments()
	last := l.LastPos()
	mustClose(t, l)

	l = openLog(t, dir, coldOpts(&w))
	if got := l.Segments(); !slices.Equal(got, segs) {
		t.Fatalf("Segments after reopen:\n%v\nwant\n%v", got, segs)
	}
	if l.LastPos() != last {
		t.Fatalf("LastPos after reopen = %v, want %v", l.LastPos(), last)
	}
	c.check(t, l)
	if got := w.take(); len(got) != 0 {
		t.Fatalf("warnings: %v", got)
	}

	// Remove deletes cold segments like warm ones.
	upTo := segs[3].Seq
	if err := l.Remove(upTo); err != nil {
		t.Fatal(err)
	}
	for _, s := range segs[:3] {
		if _, err := os.Stat(filepath.Join(dir, segmentName(s.Seq)+coldExt)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("segment %d after Remove: %v", s.Seq, err)
		}
	}
	i := slices.IndexFunc(c.pos, func(p Pos) bool { return p.Segment >= upTo })
	if _, err := l.ReadAt(c.pos[0]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ReadAt of a removed cold record: %v", err)
	}
	c.pos, c.blocks = c.pos[i:], c.blocks[i:]
	c.check(t, l)
}

func TestCompressErrors(t *testing.T) {
	checkGoroutines(t)
	dir := t.TempDir()
	var w warnings
	l := openLog(t, dir, coldOpts(&w))
	fillCold(t, l, 60)
	segs := l.Segments()
	last := segs[len(segs)-1].Seq
	if err := l.Compress(last); !errors.Is(err, ErrActive) {
		t.Errorf("Compress of the active segment: %v, want ErrActive", err)
	}
	if err := l.Compress(last + 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("Compress of a missing segment: %v, want ErrNotFound", err)
	}
	if err := l.Compress(1); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, segmentName(1)+coldExt)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Compress(1); err != nil {
		t.Fatalf("second Compress: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("second Compress rewrote the segment")
	}
	mustClose(t, l)
	if err := l.Compress(2); !errors.Is(err, ErrClosed) {
		t.Errorf("Compress after Close: %v", err)
	}
	if _, err := l.CompressSealed(); !errors.Is(err, ErrClosed) {
		t.Errorf("CompressSealed after Close: %v", err)
	}
	for _, chunk := range []int{-1, 1, minColdChunk - 1, MaxColdChunk + 1} {
		if _, err := Open(t.TempDir(), &Options{ColdChunk: chunk}); err == nil {
			t.Errorf("Open accepted ColdChunk %d", chunk)
		}
	}
	if o, _ := (*Options)(nil).withDefaults(); o.ColdChunk != DefaultColdChunk {
		t.Errorf("default ColdChunk %d", o.ColdChunk)
	}
}

// TestColdCrash puts the files of a Compress that a crash interrupted back in place and
// checks what Open keeps.
func TestColdCrash(t *testing.T) {
	tests := []struct {
		name     string
		damage   func(t *testing.T, dir string, warm, cold []byte)
		cold     bool     // segment 1 is cold after Open
		gone     string   // the file Open removes
		openWarn []string // files named by Open's warnings
	}{{
		name: "partial cold segment beside the warm one",
		damage: func(t *testing.T, dir string, warm, cold []byte) {
			writeFile(t, dir, segmentName(1), warm)
			writeFile(t, dir, segmentName(1)+coldExt, cold[:len(cold)/2])
		},
		gone:     segmentName(1) + coldExt,
		openWarn: []string{segmentName(1) + coldExt},
	}, {
		name: "complete cold segment beside a stale warm one",
		damage: func(t *testing.T, dir string, warm, cold []byte) {
			writeFile(t, dir, segmentName(1), warm)
		},
		cold:     true,
		gone:     segmentName(1),
		openWarn: []string{segmentName(1)},
	}, {
		name: "cold segment with a bad chunk beside the warm one",
		damage: func(t *testing.T, dir string, warm, cold []byte) {
			writeFile(t, dir, segmentName(1), warm)
			cold = slices.Clone(cold)
			cold[coldHeaderSize+20] ^= 0x40
			writeFile(t, dir, segmentName(1)+coldExt, cold)
		},
		gone:     segmentName(1) + coldExt,
		openWarn: []string{segmentName(1) + coldExt},
	}, {
		name: "cold segment of other bytes beside the warm one",
		damage: func(t *testing.T, dir string, warm, cold []byte) {
			writeFile(t, dir, segmentName(1), warm)
			other := slices.Clone(warm)
			other[len(other)-3] ^= 1
			writeFile(t, dir, segmentName(1)+coldExt, compressBytes(t, other))
		},
		gone:     segmentName(1) + coldExt,
		openWarn: []string{segmentName(1) + coldExt},
	}, {
		name: "temporary file left by Compress",
		damage: func(t *testing.T, dir string, warm, cold []byte) {
			writeFile(t, dir, segmentName(1), warm)
			os.Remove(filepath.Join(dir, segmentName(1)+coldExt))
			writeFile(t, dir, segmentName(1)+coldExt+coldTmpExt, cold[:100])
		},
		gone:     segmentName(1) + coldExt + coldTmpExt,
		openWarn: []string{segmentName(1) + coldExt + coldTmpExt},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			dir := t.TempDir()
			var w warnings
			l := openLog(t, dir, coldOpts(&w))
			c := fillCold(t, l, 60)
			warm, err := os.ReadFile(filepath.Join(dir, segmentName(1)))
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Compress(1); err != nil {
				t.Fatal(err)
			}
			mustClose(t, l)
			cold, err := os.ReadFile(filepath.Join(dir, segmentName(1)+coldExt))
			if err != nil {
				t.Fatal(err)
			}
			tt.damage(t, dir, warm, cold)

			l = openLog(t, dir, coldOpts(&w))
			got := w.take()
			var files []string
			for _, g := range got {
				files = append(files, filepath.Base(fmt.Sprint(g.kv["file"])))
			}
			if !slices.Equal(files, tt.openWarn) {
				t.Errorf("Open warned about %q, want %q: %v", files, tt.openWarn, got)
			}
			if _, err := os.Stat(filepath.Join(dir, tt.gone)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s not removed: %v", tt.gone, err)
			}
			if s := l.Segments()[0]; s.Cold != tt.cold || s.Size != int64(len(warm)) {
				t.Errorf("segment 1 after Open: %+v, want cold %v", s, tt.cold)
			}
			c.check(t, l)
			if got := w.take(); len(got) != 0 {
				t.Errorf("warnings after Open: %v", got)
			}
			mustClose(t, l)
			l = openLog(t, dir, coldOpts(&w))
			if got := w.take(); len(got) != 0 {
				t.Errorf("second Open warned: %v", got)
			}
			c.check(t, l)
		})
	}
}

// TestColdLastSegment: when a crash leaves no warm segment after the cold ones, Open
// starts a new one after them and finds the last record in the cold ones.
func TestColdLastSegment(t *testing.T) {
	checkGoroutines(t)
	dir := t.TempDir()
	var w warnings
	l := openLog(t, dir, coldOpts(&w))
	c := fillCold(t, l, 100)
	if _, err := l.CompressSealed(); err != nil {
		t.Fatal(err)
	}
	segs := l.Segments()
	active := segs[len(segs)-1].Seq
	mustClose(t, l)
	// Tear the active segment's header, as if the crash came right after it was
	// created; its records are lost with it (in a real crash it holds none).
	truncate(t, dir, active, 3)
	for len(c.pos) > 0 && c.pos[len(c.pos)-1].Segment == active {
		c.pos, c.blocks = c.pos[:len(c.pos)-1], c.blocks[:len(c.blocks)-1]
	}

	l = openLog(t, dir, coldOpts(&w))
	checkWarnings(t, "Open", dir, w.take(), []where{{active, 0, false}})
	if got := l.LastPos(); got != c.pos[len(c.pos)-1] {
		t.Fatalf("LastPos = %v, want %v", got, c.pos[len(c.pos)-1])
	}
	segs = l.Segments()
	if s := segs[len(segs)-1]; s.Cold || s.Sealed || s.Seq != active {
		t.Fatalf("new active segment %+v, want warm segment %d", s, active)
	}
	c.check(t, l)
	p := mustAppend(t, l, "after")
	if p[0].Segment != active {
		t.Fatalf("append at %v", p[0])
	}
	if got := w.take(); len(got) != 0 {
		t.Errorf("warnings: %v", got)
	}
}

// TestColdCorruption damages cold segments: a bad chunk ends its segment, a bad
// trailer makes the whole segment unreadable; the other segments still load.
func TestColdCorruption(t *testing.T) {
	setup := func(t *testing.T) (string, *warnings, *coldLog, []SegmentInfo) {
		dir := t.TempDir()
		w := &warnings{}
		l := openLog(t, dir, coldOpts(w))
		c := fillCold(t, l, 200)
		if _, err := l.CompressSealed(); err != nil {
			t.Fatal(err)
		}
		segs := l.Segments()
		mustClose(t, l)
		return dir, w, c, segs
	}
	coldIx := func(t *testing.T, path string) *coldIndex {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		ix, err := readColdIndex(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		return ix
	}

	t.Run("bad chunk", func(t *testing.T) {
		checkGoroutines(t)
		dir, w, c, segs := setup(t)
		seq := segs[1].Seq
		path := filepath.Join(dir, segmentName(seq)+coldExt)
		ix := coldIx(t, path)
		const bad = 3
		if ix.chunks() <= bad+1 {
			t.Fatalf("segment %d has %d chunks", seq, ix.chunks())
		}
		flipByte(t, path, (ix.coff[bad]+ix.coff[bad+1])/2)

		l := openLog(t, dir, coldOpts(w))
		if got := w.take(); len(got) != 0 {
			t.Fatalf("Open warned: %v", got)
		}
		var want []string
		for i, p := range c.pos {
			in := p.Segment == seq && p.Offset >= ix.uoff[bad] && p.Offset < ix.uoff[bad+1]
			b, err := l.ReadAt(p)
			switch {
			case in && !errors.Is(err, ErrCorrupt):
				t.Errorf("ReadAt(%v) in the bad chunk = %v, want ErrCorrupt", p, err)
			case !in && (err != nil || string(b) != c.blocks[i]):
				// Point reads of the other chunks, before and after, still work.
				t.Errorf("ReadAt(%v) outside the bad chunk = %.20q, %v", p, b, err)
			}
			if p.Segment != seq || p.Offset < ix.uoff[bad] {
				want = append(want, c.blocks[i])
			}
		}
		_, got := replayAll(t, l)
		if !slices.Equal(got, want) {
			t.Errorf("Replay returned %d blocks, want %d", len(got), len(want))
		}
		ws := w.take()
		if len(ws) != 1 || ws[0].kv["file"] != path || ws[0].kv["offset"] != ix.uoff[bad] {
			t.Fatalf("Replay warned %v, want one warning for %s at offset %d", ws, path, ix.uoff[bad])
		}
	})

	for _, damage := range []struct {
		name string
		do   func(t *testing.T, path string)
	}{
		{"bad trailer", func(t *testing.T, path string) {
			fi, _ := os.Stat(path)
			flipByte(t, path, fi.Size()-coldFooterSize-5)
		}},
		{"truncated", func(t *testing.T, path string) {
			fi, _ := os.Stat(path)
			if err := os.Truncate(path, fi.Size()/2); err != nil {
				t.Fatal(err)
			}
		}},
		{"empty file", func(t *testing.T, path string) {
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(damage.name, func(t *testing.T) {
			checkGoroutines(t)
			dir, w, c, segs := setup(t)
			seq := segs[1].Seq
			path := filepath.Join(dir, segmentName(seq)+coldExt)
			damage.do(t, path)

			l := openLog(t, dir, coldOpts(w))
			ws := w.take()
			if len(ws) != 1 || ws[0].kv["file"] != path || ws[0].kv["offset"] != int64(0) {
				t.Fatalf("Open warned %v, want one warning for %s", ws, path)
			}
			if s := l.Segments()[1]; !s.Cold || s.Size != 0 || s.Seq != seq {
				t.Errorf("damaged segment listed as %+v", s)
			}
			var want []string
			for i, p := range c.pos {
				b, err := l.ReadAt(p)
				switch {
				case p.Segment == seq && !errors.Is(err, ErrCorrupt):
					t.Fatalf("ReadAt(%v) in the damaged segment = %v, want ErrCorrupt", p, err)
				case p.Segment != seq && (err != nil || string(b) != c.blocks[i]):
					t.Fatalf("ReadAt(%v) = %.20q, %v", p, b, err)
				case p.Segment != seq:
					want = append(want, c.blocks[i])
				}
			}
			if _, got := replayAll(t, l); !slices.Equal(got, want) {
				t.Errorf("Replay returned %d blocks, want %d", len(got), len(want))
			}
			ws = w.take()
			if len(ws) != 1 || ws[0].kv["file"] != path || ws[0].kv["offset"] != int64(0) {
				t.Fatalf("Replay warned %v, want one warning for %s", ws, path)
			}
			if err := l.Compress(seq); err != nil {
				t.Errorf("Compress of a damaged cold segment: %v", err)
			}
			if err := l.Remove(seq + 1); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("Remove left the damaged segment: %v", err)
			}
		})
	}

	t.Run("damaged warm segment", func(t *testing.T) {
		// A segment damaged before Compress keeps its damage, at the same offset: a
		// record whose checksum fails is skipped alone, warm and then cold.
		checkGoroutines(t)
		dir := t.TempDir()
		var w warnings
		l := openLog(t, dir, coldOpts(&w))
		c := fillCold(t, l, 100)
		mustClose(t, l)
		bad := slices.IndexFunc(c.pos, func(p Pos) bool { return p.Segment == 2 }) + 4
		if c.pos[bad+1].Segment != 2 {
			t.Fatalf("record %v is the last of its segment", c.pos[bad])
		}
		flipByte(t, filepath.Join(dir, segmentName(2)), c.pos[bad].Offset+recordHeaderSize+1)
		want := slices.Delete(slices.Clone(c.blocks), bad, bad+1)
		l = openLog(t, dir, coldOpts(&w))
		check := func(file string) {
			t.Helper()
			_, got := replayAll(t, l)
			if !slices.Equal(got, want) {
				t.Errorf("Replay of %s returned %d blocks, want all %d but the damaged one", file, len(got), len(want))
			}
			ws := w.take()
			if len(ws) != 1 || ws[0].kv["file"] != file || ws[0].kv["offset"] != c.pos[bad].Offset ||
				ws[0].kv["length"] != int64(len(c.blocks[bad])) || ws[0].kv["reason"] != "checksum mismatch; record skipped" {
				t.Errorf("Replay of %s warned %v, want the record at %v skipped", file, ws, c.pos[bad])
			}
			for i, p := range c.pos {
				b, err := l.ReadAt(p)
				switch {
				case i == bad && !errors.Is(err, ErrCorrupt):
					t.Errorf("ReadAt(%v) of the damaged record = %.20q, %v; want ErrCorrupt", p, b, err)
				case i != bad && (err != nil || string(b) != c.blocks[i]):
					t.Errorf("ReadAt(%v) = %.20q, %v", p, b, err)
				}
			}
		}
		check(filepath.Join(dir, segmentName(2)))
		if _, err := l.CompressSealed(); err != nil {
			t.Fatal(err)
		}
		if s := l.Segments()[1]; s.Seq != 2 || !s.Cold {
			t.Fatalf("segment 2 not compressed: %+v", s)
		}
		check(filepath.Join(dir, segmentName(2)+coldExt))
	})
}

// TestColdConcurrent compresses, reads, replays and removes while appending, for the
// race detector: a read never fails for a record that was not removed, even when
// Compress replaces its file meanwhile.
func TestColdConcurrent(t *testing.T) {
	checkGoroutines(t)
	l := openLog(t, t.TempDir(), &Options{SegmentSize: 2 << 10, ColdChunk: minColdChunk, Sync: SyncNone})
	var mu sync.Mutex
	written := make(map[Pos]string)
	var positions []Pos
	stop := make(chan struct{})
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	oldest := func() uint64 { return l.Segments()[0].Seq }
	var bg sync.WaitGroup
	compressed := 0
	bg.Go(func() { // compresses
		for !stopped() {
			n, err := l.CompressSealed()
			if err != nil {
				t.Errorf("CompressSealed: %v", err)
				return
			}
			compressed += n
		}
	})
	bg.Go(func() { // keeps the 6 newest segments
		for !stopped() {
			if segs := l.Segments(); len(segs) > 6 {
				if err := l.Remove(segs[len(segs)-6].Seq); err != nil {
					t.Errorf("Remove: %v", err)
				}
			}
		}
	})
	for r := range 2 {
		bg.Go(func() { // reads records at random
			rng := rand.New(rand.NewPCG(uint64(r), 0))
			for !stopped() {
				mu.Lock()
				if len(positions) == 0 {
					mu.Unlock()
					continue
				}
				p := positions[rng.IntN(len(positions))]
				want := written[p]
				mu.Unlock()
				b, err := l.ReadAt(p)
				switch {
				case errors.Is(err, ErrNotFound) && p.Segment < oldest():
				case err != nil || string(b) != want:
					t.Errorf("ReadAt(%v) = %.20q, %v; want %.20q", p, b, err, want)
					return
				}
			}
		})
	}
	bg.Go(func() { // replays
		for !stopped() {
			var last Pos
			err := l.Replay(Pos{}, func(p Pos, b []byte) error {
				if p.Compare(last) <= 0 || !strings.HasPrefix(string(b), `{"key"`) {
					return fmt.Errorf("replayed %v after %v: %.20q", p, last, b)
				}
				last = p
				return nil
			})
			if err != nil {
				t.Errorf("Replay: %v", err)
				return
			}
		}
	})
	var writers sync.WaitGroup
	for wr := range 4 {
		writers.Go(func() {
			for i := range 300 {
				b := coldBlockN(wr*1000 + i)
				pos, err := l.Append([]byte(b))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				written[pos[0]] = b
				positions = append(positions, pos[0])
				mu.Unlock()
			}
		})
	}
	writers.Wait()
	close(stop)
	bg.Wait()
	if compressed < 10 {
		t.Errorf("%d segments compressed", compressed)
	}
}

// Fixtures: cold segment files as Compress writes them and as damage leaves them, in
// testdata/cold/; -update rewrites them and the FuzzReadCold seeds.

// fixtureChunk is the ColdChunk the fixtures are written with.
const fixtureChunk = minColdChunk

var coldFixtures = []struct {
	name    string
	build   func(t testing.TB) []byte
	records []string
	skips   []int64 // offsets of the records skipped
	end     string  // "eof", "corrupt", "version" or "trailer" (unreadable)
}{
	{"valid", func(t testing.TB) []byte { return coldFile(t, fixtureBlocks()...) }, fixtureBlocks(), nil, "eof"},
	{"empty", func(t testing.TB) []byte { return coldFile(t) }, nil, nil, "eof"},
	{"no-bytes", func(t testing.TB) []byte { return compressBytes(t, nil) }, nil, nil, "torn"},
	{"damaged-segment", func(t testing.TB) []byte {
		// The second block, which spans chunks, is damaged: it alone is skipped.
		b := segment(fixtureBlocks()...)
		b[headerSize+recordHeaderSize+len(fixtureBlocks()[0])+recordHeaderSize] ^= 1
		return compressBytes(t, b)
	}, slices.Delete(fixtureBlocks(), 1, 2), []int64{recordOff(fixtureBlocks(), 1)}, "eof"},
	{"damaged-segment-length", func(t testing.TB) []byte {
		// The second record's length is damaged: the segment ends there.
		b := segment(fixtureBlocks()...)
		b[recordOff(fixtureBlocks(), 1)+3] ^= 0x10
		return compressBytes(t, b)
	}, fixtureBlocks()[:1], nil, "corrupt"},
	{"bad-chunk", func(t testing.TB) []byte {
		// Damage the chunk where the third record starts.
		b := coldFile(t, fixtureBlocks()...)
		ix, _ := readColdIndex(bytes.NewReader(b), int64(len(b)))
		i := ix.chunkAt(int64(len(segment(fixtureBlocks()[:2]...))))
		b[(ix.coff[i]+ix.coff[i+1])/2] ^= 0x10
		return b
	}, fixtureBlocks()[:2], nil, "corrupt"},
	{"truncated", func(t testing.TB) []byte { b := coldFile(t, fixtureBlocks()...); return b[:len(b)-7] }, nil, nil, "trailer"},
	{"bad-trailer-checksum", func(t testing.TB) []byte {
		b := coldFile(t, fixtureBlocks()...)
		b[len(b)-coldFooterSize-3] ^= 1
		return b
	}, nil, nil, "trailer"},
	{"bad-magic", func(t testing.TB) []byte {
		b := coldFile(t, fixtureBlocks()...)
		b[len(b)-1] = 'X'
		return b
	}, nil, nil, "trailer"},
	{"future-version", func(t testing.TB) []byte {
		b := coldFile(t, fixtureBlocks()...)
		b[len(b)-coldFooterSize+15] = 2
		return b
	}, nil, nil, "version"},
	{"huge-claims", func(t testing.TB) []byte {
		// A footer that claims 2^32-1 chunks of a segment of 2^64-1 bytes.
		b := binary.BigEndian.AppendUint32(coldMagic[:], coldVersion)
		foot := binary.BigEndian.AppendUint64(nil, ^uint64(0))
		foot = binary.BigEndian.AppendUint32(foot, ^uint32(0))
		foot = binary.BigEndian.AppendUint32(foot, coldVersion)
		foot = binary.BigEndian.AppendUint32(foot, 0)
		return append(append(b, foot...), coldEndMagic[:]...)
	}, nil, nil, "trailer"},
}

// fixtureBlocks fill a few chunks of fixtureChunk bytes; the second is longer than a
// chunk.
func fixtureBlocks() []string {
	return []string{
		strings.Repeat("alpha ", 30),
		strings.Repeat("beta ", 120),
		strings.Repeat("gamma ", 30),
		strings.Repeat("delta ", 30),
	}
}

// testCodec returns a Log that only compresses and decompresses, with chunks of
// fixtureChunk bytes.
var testCodec = sync.OnceValue(func() *Log {
	l := &Log{opts: Options{ColdChunk: fixtureChunk, MaxBlock: fixtureMaxBlock}}
	if err := l.initCold(); err != nil {
		panic(err)
	}
	return l
})

// compressBytes returns the cold form of segment bytes b.
func compressBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	l := testCodec()
	l.cold.compressMu.Lock()
	defer l.cold.compressMu.Unlock()
	var buf bytes.Buffer
	if _, _, err := l.writeCold(&buf, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// coldFile returns the cold form of a segment of blocks.
func coldFile(t testing.TB, blocks ...string) []byte {
	return compressBytes(t, segment(blocks...))
}

// readCold reads a cold segment file like Replay does.
func readCold(data []byte, maxBlock int) scanned {
	ix, err := readColdIndex(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return scanned{end: err}
	}
	r := &coldReader{l: testCodec(), f: bytes.NewReader(data), ix: ix, scan: true, cur: -1}
	return scanSegment(newSegmentReader(r, ix.size(), maxBlock, 64))
}

func TestColdFixtures(t *testing.T) {
	dir := filepath.Join("testdata", "cold")
	if *update {
		writeColdFixtures(t, dir)
	}
	for _, fx := range coldFixtures {
		t.Run(fx.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, fx.name+segmentExt+coldExt))
			if err != nil {
				t.Fatalf("%v (run go test -run TestColdFixtures -update)", err)
			}
			if fresh := fx.build(t); !bytes.Equal(data, fresh) {
				t.Logf("the fixture differs from what this code writes (another zstd version?)")
			}
			s := readCold(data, fixtureMaxBlock)
			got, skips := s.records()
			kind := endKind(s.end)
			if _, err := readColdIndex(bytes.NewReader(data), int64(len(data))); errors.As(err, new(*damage)) {
				kind = "trailer"
			}
			if !slices.Equal(got, fx.records) || !slices.Equal(skips, fx.skips) || kind != fx.end {
				t.Fatalf("read %d records skipping %v ending %s (%v), want %d skipping %v ending %s",
					len(got), skips, kind, s.end, len(fx.records), fx.skips, fx.end)
			}
		})
	}
}

func writeColdFixtures(t *testing.T, dir string) {
	seeds := filepath.Join("testdata", "fuzz", "FuzzReadCold")
	for _, d := range []string{dir, seeds} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, fx := range coldFixtures {
		data := fx.build(t)
		seed := fmt.Sprintf("go test fuzz v1\n[]byte(%+q)\n", data)
		if err := os.WriteFile(filepath.Join(dir, fx.name+segmentExt+coldExt), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(seeds, fx.name), []byte(seed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzReadCold reads any bytes as a cold segment file: no panic, no allocation
// beyond a bound, the records read by a scan are those read one by one, and a clean
// end is the end of the segment. It also compresses the bytes as a segment and checks
// that they read back exactly.
func FuzzReadCold(f *testing.F) {
	f.Add(coldFile(f, "alpha", "beta"))
	l := testCodec()
	f.Fuzz(func(t *testing.T, data []byte) {
		l.cold.cache.drop(0, true)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s := readCold(data, 64)
		runtime.ReadMemStats(&after)
		// The trailer, the index, the reader's buffers and two chunks at most.
		if n := after.TotalAlloc - before.TotalAlloc; n > uint64(4*len(data))+4*MaxColdChunk {
			t.Fatalf("reading %d bytes allocated %d", len(data), n)
		}
		var d *damage
		switch {
		case s.end == io.EOF, errors.As(s.end, &d), errors.Is(s.end, ErrVersion):
		default:
			t.Fatalf("unexpected error %v", s.end)
		}
		if len(s.events) > 0 {
			ix, _ := readColdIndex(bytes.NewReader(data), int64(len(data)))
			last := s.events[len(s.events)-1]
			n := int64(len(last.block))
			if last.skip != nil {
				n = last.skip.n
			}
			if s.end == io.EOF && last.off+recordHeaderSize+n != ix.size() {
				t.Fatal("clean end before the end of the segment")
			}
			for i, e := range s.events {
				r := &coldReader{l: l, f: bytes.NewReader(data), ix: ix, cur: -1}
				sr := newSegmentReader(r, ix.size(), 64, 16)
				sr.seek(e.off)
				_, b, err := sr.Next()
				if e.skip == nil && (err != nil || !bytes.Equal(b, e.block)) {
					t.Fatalf("reading record %d at %d alone: %q, %v", i, e.off, b, err)
				}
				if e.skip != nil && skipped(err) == nil {
					t.Fatalf("reading skipped record %d at %d alone: %v", i, e.off, err)
				}
			}
		}

		cold := compressBytes(t, data)
		ix, err := readColdIndex(bytes.NewReader(cold), int64(len(cold)))
		if err != nil {
			t.Fatalf("reading what Compress wrote: %v", err)
		}
		back := make([]byte, ix.size())
		r := &coldReader{l: l, seq: 1, f: bytes.NewReader(cold), ix: ix, scan: true, cur: -1}
		if n, err := r.ReadAt(back, 0); n != len(data) || (err != nil && err != io.EOF) || !bytes.Equal(back, data) {
			t.Fatalf("round trip of %d bytes: %d, %v", len(data), n, err)
		}
		for i := range ix.chunks() {
			if ix.uoff[i+1]-ix.uoff[i] > fixtureChunk {
				t.Fatalf("chunk %d of %d bytes", i, ix.uoff[i+1]-ix.uoff[i])
			}
		}
	})
}

func writeFile(t *testing.T, dir, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestColdForeignVersion: a cold segment of another format version stops Open, which
// changes nothing, as a warm one does.
func TestColdForeignVersion(t *testing.T) {
	dir := t.TempDir()
	var w warnings
	l := openLog(t, dir, coldOpts(&w))
	fillCold(t, l, 60)
	if err := l.Compress(1); err != nil {
		t.Fatal(err)
	}
	mustClose(t, l)
	path := filepath.Join(dir, segmentName(1)+coldExt)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-coldFooterSize+15] = 2
	writeFile(t, dir, filepath.Base(path), b)
	if _, err := Open(dir, coldOpts(&w)); !errors.Is(err, ErrVersion) {
		t.Fatalf("Open with a version-2 cold segment: %v, want ErrVersion", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, b) {
		t.Fatal("Open changed a segment it cannot read")
	}
}
