package wal

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

var benchSizes = []int{100, 1024}

// BenchmarkAppend is one appender with SyncAlways: each call waits for its own fsync,
// so it measures the disk's fsync floor.
func BenchmarkAppend(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) { benchAppend(b, SyncAlways, 1, size) })
	}
}

// BenchmarkAppendParallel16 is 16 appenders with SyncAlways sharing fsyncs.
func BenchmarkAppendParallel16(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) { benchAppend(b, SyncAlways, 16, size) })
	}
}

// BenchmarkAppendSyncNone is one appender that never waits for the disk.
func BenchmarkAppendSyncNone(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) { benchAppend(b, SyncNone, 1, size) })
	}
}

func sizeName(size int) string {
	if size%1024 == 0 {
		return fmt.Sprintf("%dKiB", size/1024)
	}
	return fmt.Sprintf("%dB", size)
}

// benchAppend runs b.N single-block Appends from the given number of goroutines on
// the real disk, and reports appends/s and fsyncs/append.
func benchAppend(b *testing.B, mode SyncMode, goroutines, size int) {
	l := openLog(b, b.TempDir(), &Options{Sync: mode})
	block := make([]byte, size)
	for i := range block {
		block[i] = byte(i)
	}
	b.SetBytes(int64(size))
	before := l.syncs.Load()
	var left atomic.Int64
	left.Store(int64(b.N))
	b.ResetTimer()
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				if _, err := l.Append(block); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	b.ReportMetric(float64(l.syncs.Load()-before)/float64(b.N), "fsyncs/append")
}
