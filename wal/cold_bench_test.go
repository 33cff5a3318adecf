package wal

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// nodeBlocks returns n node-like blocks: canonical CBOR maps with the fields and shape
// of korup2p's delta nodes — repeated field names, a few spaces and authors, random
// CIDs and signatures, small JSON-like values.
func nodeBlocks(n int, seed uint64) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	random := func(k int) []byte {
		b := make([]byte, k)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	cid := func() []byte { return append([]byte{0x00, 0x01, 0x71, 0x12, 0x20}, random(32)...) }
	space := cid()
	authors := [][]byte{random(38), random(38), random(38)}
	names := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"}
	em, err := cbor.EncOptions{Sort: cbor.SortCanonical, ShortestFloat: cbor.ShortestFloatNone}.EncMode()
	if err != nil {
		panic(err)
	}
	blocks := make([][]byte, n)
	for i := range blocks {
		name := names[rng.IntN(len(names))]
		node := map[string]any{
			"v":       1,
			"space":   space,
			"parents": [][]byte{cid()},
			"ops": []any{map[string]any{
				"key":  fmt.Sprintf("users/%s-%d", name, rng.IntN(500)),
				"prev": [][]byte{cid()},
				"kind": "set",
				"value": map[string]any{
					"name":   name,
					"email":  fmt.Sprintf("%s%d@example.com", name, rng.IntN(100)),
					"age":    18 + rng.IntN(60),
					"score":  rng.Float64() * 100,
					"active": rng.IntN(2) == 0,
					"tags":   []string{"team-" + names[rng.IntN(len(names))], "region-eu"},
				},
			}},
			"clock":  map[string]any{"wall": 1_700_000_000_000_000_000 + int64(i)*1_000_000, "logical": rng.IntN(3)},
			"height": i + 1,
			"author": authors[rng.IntN(len(authors))],
			"sig":    random(64),
		}
		if blocks[i], err = em.Marshal(node); err != nil {
			panic(err)
		}
	}
	return blocks
}

// benchColdLog appends node-like blocks until the log has segments full segments of
// segSize bytes, and returns the positions.
func benchColdLog(b *testing.B, segments int, segSize int64, chunk int) (*Log, []Pos) {
	l := openLog(b, b.TempDir(), &Options{Sync: SyncNone, SegmentSize: segSize, ColdChunk: chunk})
	var pos []Pos
	for seed := uint64(0); len(l.Segments()) <= segments; seed++ {
		p, err := l.Append(nodeBlocks(1000, seed)...)
		if err != nil {
			b.Fatal(err)
		}
		pos = append(pos, p...)
	}
	return l, pos
}

// BenchmarkColdReadAt reads single records of a 4 MiB segment: at random from it warm;
// then cold, with chunks of 16 and 64 KiB: at random (8 chunks cached of 64 or 256),
// from a chunk in the cache, and from chunks never in it (one record per chunk,
// cycling through more chunks than the cache holds).
func BenchmarkColdReadAt(b *testing.B) {
	for _, chunk := range []int{0, 16 << 10, DefaultColdChunk} {
		l, pos := benchColdLog(b, 1, 4<<20, chunk)
		var sealed []Pos // in segment 1
		for _, p := range pos {
			if p.Segment == 1 {
				sealed = append(sealed, p)
			}
		}
		read := func(b *testing.B, p Pos) {
			if _, err := l.ReadAt(p); err != nil {
				b.Fatal(err)
			}
		}
		run := func(name string, f func(b *testing.B)) {
			b.Run(name, func(b *testing.B) {
				before := l.cold.decodes.Load()
				f(b)
				b.ReportMetric(float64(l.cold.decodes.Load()-before)/float64(b.N), "chunks/op")
			})
		}
		if chunk == 0 {
			b.Run("warm", func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 1))
				for b.Loop() {
					read(b, sealed[rng.IntN(len(sealed))])
				}
			})
			mustClose(b, l)
			continue
		}
		if err := l.Compress(1); err != nil {
			b.Fatal(err)
		}
		name := fmt.Sprintf("cold-chunk=%dKiB", chunk>>10)
		run(name+"/random", func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			for b.Loop() {
				read(b, sealed[rng.IntN(len(sealed))])
			}
		})
		run(name+"/cached", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				read(b, sealed[i%16])
			}
		})
		run(name+"/uncached", func(b *testing.B) {
			var firsts []Pos
			last := int64(-1)
			for _, p := range sealed {
				if c := p.Offset / int64(chunk); c > last+1 {
					last = c
					firsts = append(firsts, p)
				}
			}
			for i := 0; b.Loop(); i++ {
				read(b, firsts[i%len(firsts)])
			}
		})
		mustClose(b, l)
	}
}

// BenchmarkColdReplay replays a 4 MiB segment, warm and cold.
func BenchmarkColdReplay(b *testing.B) {
	l, _ := benchColdLog(b, 1, 4<<20, 0)
	size := l.Segments()[0].Size
	replay := func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			err := l.Replay(Pos{Segment: 1}, func(p Pos, _ []byte) error {
				if p.Segment > 1 {
					return errStop
				}
				return nil
			})
			if err != errStop {
				b.Fatal(err)
			}
		}
	}
	b.Run("warm", replay)
	if err := l.Compress(1); err != nil {
		b.Fatal(err)
	}
	b.Run("cold", replay)
}

var errStop = fmt.Errorf("stop")

// BenchmarkColdCompress compresses a sealed 4 MiB segment of node-like blocks, with
// its fsyncs, and reports the compression ratio.
func BenchmarkColdCompress(b *testing.B) {
	for _, chunk := range []int{16 << 10, DefaultColdChunk, 256 << 10} {
		b.Run(fmt.Sprintf("chunk=%dKiB", chunk>>10), func(b *testing.B) {
			var size, disk int64
			for range b.N {
				b.StopTimer()
				l := openLog(b, b.TempDir(), &Options{Sync: SyncNone, SegmentSize: 4 << 20, ColdChunk: chunk})
				for seed := uint64(0); len(l.Segments()) < 2; seed++ {
					if _, err := l.Append(nodeBlocks(1000, seed)...); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				if err := l.Compress(1); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				s := l.Segments()[0]
				size, disk = size+s.Size, disk+s.DiskSize
				mustClose(b, l)
				b.StartTimer()
			}
			b.SetBytes(size / int64(b.N))
			b.ReportMetric(float64(size)/float64(disk), "ratio")
		})
	}
}

// BenchmarkColdEncode is Compress's CPU work alone — cutting, compressing, checking
// each chunk by decompressing it — on a 4 MiB segment of node-like blocks, in memory.
func BenchmarkColdEncode(b *testing.B) {
	seg := segmentHeader()
	for seed := uint64(0); len(seg) < 4<<20; seed++ {
		for _, block := range nodeBlocks(1000, seed) {
			seg = appendRecord(seg, block)
		}
	}
	for _, chunk := range []int{16 << 10, DefaultColdChunk, 256 << 10} {
		b.Run(fmt.Sprintf("chunk=%dKiB", chunk>>10), func(b *testing.B) {
			l := &Log{opts: Options{ColdChunk: chunk, MaxBlock: DefaultMaxBlock}}
			if err := l.initCold(); err != nil {
				b.Fatal(err)
			}
			defer l.closeCold()
			var w countingWriter
			b.SetBytes(int64(len(seg)))
			for b.Loop() {
				w = 0
				if _, _, err := l.writeCold(&w, bytes.NewReader(seg), int64(len(seg))); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(seg))/float64(w), "ratio")
		})
	}
}

type countingWriter int64

func (w *countingWriter) Write(p []byte) (int, error) {
	*w += countingWriter(len(p))
	return len(p), nil
}
