package wal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAppendReadReplay(t *testing.T) {
	checkGoroutines(t)
	dir := t.TempDir()
	l := openLog(t, dir, nil)
	if got := l.LastPos(); !got.IsZero() {
		t.Fatalf("LastPos of a new log = %v, want zero", got)
	}
	pos := mustAppend(t, l, "one", "two")
	pos = append(pos, mustAppend(t, l, "three")...)
	want := []Pos{{1, 8}, {1, 8 + 8 + 3}, {1, 8 + 2*8 + 3 + 3}}
	if !slices.Equal(pos, want) {
		t.Fatalf("positions = %v, want %v", pos, want)
	}
	if got := l.LastPos(); got != want[2] {
		t.Fatalf("LastPos = %v, want %v", got, want[2])
	}
	for i, b := range []string{"one", "two", "three"} {
		got, err := l.ReadAt(pos[i])
		if err != nil || string(got) != b {
			t.Fatalf("ReadAt(%v) = %q, %v; want %q", pos[i], got, err, b)
		}
	}
	gotPos, gotBlocks := replayAll(t, l)
	if !slices.Equal(gotPos, pos) || !slices.Equal(gotBlocks, []string{"one", "two", "three"}) {
		t.Fatalf("Replay = %v %q", gotPos, gotBlocks)
	}
	var from []string
	if err := l.Replay(pos[1], func(_ Pos, b []byte) error { from = append(from, string(b)); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(from, []string{"two", "three"}) {
		t.Fatalf("Replay from %v = %q", pos[1], from)
	}
	stop := errors.New("stop")
	if err := l.Replay(Pos{}, func(Pos, []byte) error { return stop }); err != stop {
		t.Fatalf("Replay returned %v, want fn's error unwrapped", err)
	}
	for _, p := range []Pos{{1, 0}, {1, 9}, {1, 1 << 20}, {2, 8}, {0, 8}} {
		if _, err := l.ReadAt(p); !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrCorrupt) {
			t.Errorf("ReadAt(%v) = %v, want ErrNotFound or ErrCorrupt", p, err)
		}
	}
	if _, err := l.ReadAt(Pos{2, 8}); !errors.Is(err, ErrNotFound) {
		t.Errorf("ReadAt in a missing segment = %v, want ErrNotFound", err)
	}
}

func TestPos(t *testing.T) {
	a, b, c := Pos{1, 100}, Pos{1, 200}, Pos{2, 8}
	if a.Compare(b) != -1 || b.Compare(c) != -1 || c.Compare(a) != 1 || a.Compare(a) != 0 {
		t.Fatal("Compare is not the log order")
	}
	if a.String() != "1:100" {
		t.Fatalf("String = %q", a.String())
	}
}

func TestAppendRejects(t *testing.T) {
	l := openLog(t, t.TempDir(), &Options{MaxBlock: 10})
	if _, err := l.Append([]byte("ok"), nil); !errors.Is(err, ErrEmptyBlock) {
		t.Errorf("empty block: %v", err)
	}
	if _, err := l.Append(make([]byte, 11)); !errors.Is(err, ErrBlockTooLarge) {
		t.Errorf("large block: %v", err)
	}
	if pos, err := l.Append(); pos != nil || err != nil {
		t.Errorf("Append() = %v, %v", pos, err)
	}
	if _, blocks := replayAll(t, l); len(blocks) != 0 {
		t.Errorf("rejected calls wrote %q", blocks)
	}
}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, &Options{SegmentSize: 100})
	var all []string
	for i := range 5 {
		b := blockN(i) // 31 bytes, a 39-byte record: two per segment
		all = append(all, b)
		mustAppend(t, l, b)
	}
	big := strings.Repeat("B", 150)
	bigPos := mustAppend(t, l, big)
	group := mustAppend(t, l, "g1", "g2", "g3", strings.Repeat("g", 90))
	all = append(all, big, "g1", "g2", "g3", strings.Repeat("g", 90))

	segs := l.Segments()
	wantSeqs := []uint64{1, 2, 3, 4, 5}
	if got := seqsOf(segs); !slices.Equal(got, wantSeqs) {
		t.Fatalf("segments %v, want %v", got, wantSeqs)
	}
	if bigPos[0] != (Pos{4, 8}) {
		t.Errorf("oversized block at %v, want alone at 4:8", bigPos[0])
	}
	for _, p := range group {
		if p.Segment != 5 {
			t.Errorf("one call's blocks split across segments: %v", group)
		}
	}
	for _, s := range segs {
		fi, err := os.Stat(filepath.Join(dir, segmentName(s.Seq)))
		if err != nil || fi.Size() != s.Size {
			t.Errorf("segment %d: info size %d, file %v %v", s.Seq, s.Size, fi.Size(), err)
		}
		if s.Sealed != (s.Seq < 5) {
			t.Errorf("segment %d sealed = %v", s.Seq, s.Sealed)
		}
	}
	if _, blocks := replayAll(t, l); !slices.Equal(blocks, all) {
		t.Fatalf("Replay = %q, want %q", blocks, all)
	}
}

func seqsOf(segs []SegmentInfo) []uint64 {
	var seqs []uint64
	for _, s := range segs {
		seqs = append(seqs, s.Seq)
	}
	return seqs
}

func TestReopenContinues(t *testing.T) {
	checkGoroutines(t)
	dir := t.TempDir()
	var w warnings
	opts := &Options{SegmentSize: 100, Warn: w.warn}
	l := openLog(t, dir, opts)
	for i := range 5 {
		mustAppend(t, l, blockN(i))
	}
	last := l.LastPos()
	segs := l.Segments()
	mustClose(t, l)

	// Damage the first segment: Open must not notice, because it does not read it.
	flipByte(t, filepath.Join(dir, segmentName(1)), headerSize+recordHeaderSize+2)

	l = openLog(t, dir, opts)
	if got := w.take(); len(got) != 0 {
		t.Fatalf("Open read an older segment: warnings %v", got)
	}
	if l.LastPos() != last {
		t.Fatalf("LastPos after reopen = %v, want %v", l.LastPos(), last)
	}
	if got := l.Segments(); !slices.Equal(got, segs) {
		t.Fatalf("Segments after reopen = %v, want %v", got, segs)
	}
	p := mustAppend(t, l, "after")
	if p[0].Segment != last.Segment || p[0].Compare(last) <= 0 {
		t.Fatalf("append after reopen at %v, want after %v in the same segment", p[0], last)
	}
}

func TestRemove(t *testing.T) {
	l := openLog(t, t.TempDir(), &Options{SegmentSize: 100})
	var pos []Pos
	for i := range 7 {
		pos = append(pos, mustAppend(t, l, blockN(i))...)
	}
	if err := l.Remove(3); err != nil {
		t.Fatal(err)
	}
	if got := seqsOf(l.Segments()); !slices.Equal(got, []uint64{3, 4}) {
		t.Fatalf("segments after Remove(3) = %v", got)
	}
	if _, err := l.ReadAt(pos[0]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ReadAt of a removed record = %v, want ErrNotFound", err)
	}
	if err := l.Remove(100); err != nil {
		t.Fatal(err)
	}
	if got := seqsOf(l.Segments()); !slices.Equal(got, []uint64{4}) {
		t.Fatalf("Remove removed the active segment: %v", got)
	}
	if _, blocks := replayAll(t, l); !slices.Equal(blocks, []string{blockN(6)}) {
		t.Fatalf("Replay after Remove = %q", blocks)
	}
	mustAppend(t, l, "still appending")
}

func TestClose(t *testing.T) {
	for _, mode := range []SyncMode{SyncAlways, SyncInterval, SyncNone} {
		t.Run(mode.String(), func(t *testing.T) {
			checkGoroutines(t)
			dir := t.TempDir()
			l, err := Open(dir, &Options{Sync: mode})
			if err != nil {
				t.Fatal(err)
			}
			mustAppend(t, l, "a", "b")
			mustClose(t, l)
			if _, err := l.Append([]byte("c")); !errors.Is(err, ErrClosed) {
				t.Errorf("Append after Close: %v", err)
			}
			if _, err := l.ReadAt(Pos{1, 8}); !errors.Is(err, ErrClosed) {
				t.Errorf("ReadAt after Close: %v", err)
			}
			if err := l.Replay(Pos{}, func(Pos, []byte) error { return nil }); !errors.Is(err, ErrClosed) {
				t.Errorf("Replay after Close: %v", err)
			}
			if err := l.Remove(1); !errors.Is(err, ErrClosed) {
				t.Errorf("Remove after Close: %v", err)
			}
			if err := l.Close(); !errors.Is(err, ErrClosed) {
				t.Errorf("second Close: %v", err)
			}
			l = openLog(t, dir, &Options{Sync: mode})
			if _, blocks := replayAll(t, l); !slices.Equal(blocks, []string{"a", "b"}) {
				t.Errorf("after reopen: %q", blocks)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	bad := []Options{
		{Sync: SyncAlways, Interval: time.Second},
		{Sync: SyncNone, Interval: time.Second},
		{Sync: SyncInterval, Interval: -1},
		{Sync: 7},
		{SegmentSize: -1},
		{MaxBlock: -1},
		{MaxBlock: 1 << 31},
	}
	for _, o := range bad {
		if _, err := Open(t.TempDir(), &o); err == nil {
			t.Errorf("Open accepted %+v", o)
		}
	}
	o, err := (*Options)(nil).withDefaults()
	if err != nil || o.Sync != SyncAlways || o.SegmentSize != DefaultSegmentSize || o.MaxBlock != DefaultMaxBlock || o.Warn == nil {
		t.Errorf("defaults = %+v, %v", o, err)
	}
	o, _ = (&Options{Sync: SyncInterval}).withDefaults()
	if o.Interval != DefaultInterval {
		t.Errorf("default interval = %v", o.Interval)
	}
	for _, m := range []SyncMode{SyncAlways, SyncInterval, SyncNone} {
		text, err := m.MarshalText()
		var back SyncMode
		if err != nil || back.UnmarshalText(text) != nil || back != m {
			t.Errorf("%v does not round-trip as text: %q %v", m, text, err)
		}
	}
	var m SyncMode
	if m.UnmarshalText([]byte("sometimes")) == nil {
		t.Error("UnmarshalText accepted an unknown mode")
	}
}

func TestForeignVersion(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, nil)
	mustAppend(t, l, "x")
	mustClose(t, l)
	path := filepath.Join(dir, segmentName(1))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[7] = 2
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, nil); !errors.Is(err, ErrVersion) {
		t.Fatalf("Open of a version-2 segment: %v, want ErrVersion", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(after, b) {
		t.Fatal("Open changed a segment it cannot read")
	}
}
