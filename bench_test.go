package korup2p_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/korup2p/korup2p"
)

// Issue 3's targets, on the 2-core machine. Big setups (1,000,000 keys; 100,000 keys
// of 1 KiB) run only with KORUP2P_BENCH_BIG=1.

func openBench(b *testing.B, d korup2p.Durability) (*korup2p.Node, string) {
	b.Helper()
	dir := b.TempDir()
	// KORUP2P_BENCH_MEM=1 measures the root package alone, over the in-memory store.
	inMem := os.Getenv("KORUP2P_BENCH_MEM") != ""
	n, err := korup2p.Open(dir, &korup2p.Options{Durability: d, InMemory: inMem, Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Close(context.Background()) })
	return n, dir
}

// fill writes keys users/0..count-1 with values of size bytes, 1,000 per batch.
func fill(b *testing.B, n *korup2p.Node, count, size int) {
	b.Helper()
	pad := strings.Repeat("x", max(size-40, 1))
	for i := 0; i < count; {
		var ops []korup2p.Op
		for ; i < count && len(ops) < 1000; i++ {
			ops = append(ops, korup2p.Op{Kind: korup2p.OpPut, Key: "users/" + strconv.Itoa(i), Value: map[string]any{"i": i, "pad": pad}})
		}
		if _, err := n.Batch(context.Background(), "default", ops); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetHot: Get of keys whose state is in the hot tier, among 100,000 keys:
// one key over and over (in CPU cache), and keys at random across all 100,000 (each
// Get a handful of cache misses). Target: ≤ 300 ns median.
func BenchmarkGetHot(b *testing.B) {
	n, _ := openBench(b, korup2p.DurabilityNone)
	fill(b, n, 100_000, 100)
	keys := make([]string, 100_000)
	for i := range keys {
		keys[i] = "users/" + strconv.Itoa(i)
		if _, err := n.Get(context.Background(), "default", keys[i]); err != nil { // warm the hot tier
			b.Fatal(err)
		}
	}
	runtime.GC()
	b.Run("same-key", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := n.Get(context.Background(), "default", keys[42]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("random-key", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := n.Get(context.Background(), "default", keys[i%len(keys)]); err != nil {
				b.Fatal(err)
			}
			i += 7919 // a prime stride: no two neighbours in a row
		}
	})
}

// BenchmarkPutDurable: one goroutine, Durability always: each Put is signed and fsynced.
// Compare with the fsync + sign floor (BenchmarkAppend in wal, BenchmarkNewNode in dag).
func BenchmarkPutDurable(b *testing.B) {
	n, _ := openBench(b, korup2p.DurabilityAlways)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := n.Put(context.Background(), "default", "k/"+strconv.Itoa(i), map[string]int{"i": i}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkPutParallel16: 16 goroutines, Durability always, group commit.
// Target: ≥ 50,000 puts/s.
func BenchmarkPutParallel16(b *testing.B) {
	n, _ := openBench(b, korup2p.DurabilityAlways)
	b.SetParallelism(16 / runtime.GOMAXPROCS(0))
	var id atomic.Int64
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		g := id.Add(1)
		i := 0
		for pb.Next() {
			if _, err := n.Put(context.Background(), "default", fmt.Sprintf("k/%d-%d", g, i), map[string]int{"i": i}); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "puts/s")
}

// BenchmarkBatch1000: a Batch of 1,000 ops, durable. Target: ≥ 200,000 ops/s.
func BenchmarkBatch1000(b *testing.B) {
	n, _ := openBench(b, korup2p.DurabilityAlways)
	ops := make([]korup2p.Op, 1000)
	start, round := time.Now(), 0
	for b.Loop() {
		for i := range ops {
			ops[i] = korup2p.Op{Kind: korup2p.OpPut, Key: fmt.Sprintf("b/%d-%d", round, i), Value: map[string]int{"i": i}}
		}
		if _, err := n.Batch(context.Background(), "default", ops); err != nil {
			b.Fatal(err)
		}
		round++
	}
	b.ReportMetric(float64(b.N*len(ops))/time.Since(start).Seconds(), "ops/s")
}

func bigBench(b *testing.B) {
	if os.Getenv("KORUP2P_BENCH_BIG") == "" {
		b.Skip("set KORUP2P_BENCH_BIG=1 for the large setups")
	}
}

// BenchmarkOpen1M: Open (and Close) of a store holding 1,000,000 keys. Target: ≤ 1 s.
func BenchmarkOpen1M(b *testing.B) {
	bigBench(b)
	n, dir := openBench(b, korup2p.DurabilityNone)
	fill(b, n, 1_000_000, 60)
	if err := n.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		n, err := korup2p.Open(dir, &korup2p.Options{Logger: quietLogger()})
		if err != nil {
			b.Fatal(err)
		}
		if err := n.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResident100k: resident memory after writing and reading 100,000 keys of
// 1 KiB with the default memory budget. Target: ≤ 200 MiB.
func BenchmarkResident100k(b *testing.B) {
	bigBench(b)
	for b.Loop() {
		n, _ := openBench(b, korup2p.DurabilityNone)
		fill(b, n, 100_000, 1024)
		for i := range 100_000 {
			if _, err := n.Get(context.Background(), "default", "users/"+strconv.Itoa(i)); err != nil {
				b.Fatal(err)
			}
		}
		debug.FreeOSMemory() // a GC, and freed pages back to the OS: what stays resident
		b.ReportMetric(float64(rssBytes())/(1<<20), "RSS-MiB")
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
	}
}

// rssBytes reads VmRSS from /proc/self/status (0 where there is none).
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
