package httpapi_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/cmd/korup2p/internal/httpapi"
)

// BenchmarkPutParallel16: 16 clients, each with its own connection pool, PUT
// distinct keys over loopback HTTP at once; ops/s is the aggregate throughput.
// The default durability fsyncs every group commit; "interval" fsyncs every 10ms.
func BenchmarkPutParallel16(b *testing.B) {
	for _, d := range []korup2p.Durability{korup2p.DurabilityAlways, korup2p.DurabilityInterval} {
		b.Run("durability="+string(d), func(b *testing.B) {
			f := newFixture(b, fixtureOpts{node: &korup2p.Options{Durability: d}})
			const clients = 16
			cs := make([]*httpapi.Client, clients)
			for i := range cs {
				cs[i] = httpapi.NewClient(f.addr, testToken)
				defer cs[i].Close()
			}
			value := json.RawMessage(`{"name":"Ada Lovelace","born":1815,"tags":["math","engines"],"note":"a value of about a hundred bytes"}`)
			var next atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, clients)
			b.ResetTimer()
			start := time.Now()
			for g := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) {
							return
						}
						if _, err := cs[g].Put(ctx, "default", fmt.Sprintf("bench/%d-%d", g, i), value); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
		})
	}
}

// BenchmarkGetRoundTrip: one client reads one key over loopback HTTP; p50/p99 are
// the round trip's percentiles in microseconds.
func BenchmarkGetRoundTrip(b *testing.B) {
	f := newFixture(b, fixtureOpts{})
	mustPut(b, f.c, "default", "bench/get", `{"name":"Ada Lovelace","born":1815,"tags":["math","engines"]}`)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if _, err := f.c.Get(ctx, "default", "bench/get", time.Time{}, nil); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}
