package tiers_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/dag/dagtest"
	"github.com/korup2p/korup2p/tiers"
)

// benchKeys is how many keys the benchmark chain cycles through: node i sets key
// k/(i mod benchKeys), its prev the node benchKeys before it.
const benchKeys = 1000

var bench struct {
	sync.Mutex
	g     *dag.Node
	a     *dagtest.Author
	nodes []*dag.Node // genesis first, then a chain: each node's parent is the one before
}

// benchChain returns a genesis and n nodes after it, each with one set op of a
// 100-byte value. Signing dominates, so the chain is built once and grown on demand.
func benchChain(b *testing.B, n int) []*dag.Node {
	b.Helper()
	bench.Lock()
	defer bench.Unlock()
	if bench.g == nil {
		g, err := dag.NewOpenGenesis("bench")
		if err != nil {
			b.Fatal(err)
		}
		bench.g, bench.a, bench.nodes = g, dagtest.NewAuthor(1), []*dag.Node{g}
	}
	value := `"` + strings.Repeat("v", 96) + `"` // 100 bytes of canonical CBOR
	for i := len(bench.nodes) - 1; i < n; i++ {
		op := dagtest.Set(fmt.Sprintf("k/%d", i%benchKeys), value)
		if i >= benchKeys {
			op.Prev = []cid.Cid{bench.nodes[i+1-benchKeys].CID()}
		}
		nd, err := bench.a.Node(bench.g.CID(), []*dag.Node{bench.nodes[i]}, op)
		if err != nil {
			b.Fatal(err)
		}
		bench.nodes = append(bench.nodes, nd)
	}
	return bench.nodes[:n+1]
}

// fill stores nodes in a new DB in dir, with WAL segments of the given size (0 for
// the default), and closes it.
func fill(b *testing.B, dir string, nodes []*dag.Node, segment int64) {
	b.Helper()
	db, err := tiers.Open(dir, &tiers.Options{Durability: tiers.DurabilityNone, SegmentSize: segment})
	if err != nil {
		b.Fatal(err)
	}
	st, err := db.Space(nodes[0])
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range nodes {
		if err := st.PutVerified(n); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkPutVerified(b *testing.B) {
	for _, c := range []struct {
		name       string
		durability string
		syncEvery  int
	}{
		{"durability=none", tiers.DurabilityNone, 0},
		{"durability=always/sync-every-100", tiers.DurabilityAlways, 100},
	} {
		b.Run(c.name, func(b *testing.B) {
			nodes := benchChain(b, b.N)
			db := openDB(b, b.TempDir(), &tiers.Options{Durability: c.durability})
			st, err := db.Space(nodes[0])
			if err != nil {
				b.Fatal(err)
			}
			if err := st.PutVerified(nodes[0]); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i, n := range nodes[1:] {
				if err := st.PutVerified(n); err != nil {
					b.Fatal(err)
				}
				if c.syncEvery > 0 && (i+1)%c.syncEvery == 0 {
					if err := db.Sync(); err != nil {
						b.Fatal(err)
					}
				}
			}
			if err := db.Sync(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

func BenchmarkGet(b *testing.B) {
	const stored = 10_000
	nodes := benchChain(b, stored)
	for _, c := range []struct {
		name  string
		cache int64
	}{{"cache=hit", 0}, {"cache=miss", -1}} {
		b.Run(c.name, func(b *testing.B) {
			dir := b.TempDir()
			fill(b, dir, nodes, 0)
			db := openDB(b, dir, &tiers.Options{CacheBytes: c.cache})
			st, err := db.Space(nodes[0])
			if err != nil {
				b.Fatal(err)
			}
			for _, n := range nodes { // warm the cache (a no-op without one)
				if _, err := st.Get(n.CID()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := st.Get(nodes[i%len(nodes)].CID()); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkOpen measures Open+Close of a DB whose index is current. The index
// costs the same whatever the number of nodes: only the WAL after the checkpoint is
// re-indexed (here, one record is read). What grows is the WAL's own Open, which
// scans its last segment — at most Options.SegmentSize bytes, whatever the history:
// compare nodes=100000 in one 27 MB segment with 1 MiB segments.
func BenchmarkOpen(b *testing.B) {
	for _, c := range []struct {
		nodes   int
		segment int64
	}{{1_000, 0}, {100_000, 0}, {100_000, 1 << 20}} {
		name := fmt.Sprintf("nodes=%d", c.nodes)
		if c.segment > 0 {
			name += fmt.Sprintf("/segment=%dMiB", c.segment>>20)
		}
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			fill(b, dir, benchChain(b, c.nodes), c.segment)
			// The first Open after a bulk load waits for Pebble to compact it (a few
			// hundred ms for 100,000 nodes, once); measure the steady state.
			if db, err := tiers.Open(dir, &tiers.Options{SegmentSize: c.segment, Warn: func(m string, kv ...any) { b.Log(m, kv) }}); err != nil {
				b.Fatal(err)
			} else if err := db.Close(); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				db, err := tiers.Open(dir, &tiers.Options{SegmentSize: c.segment, Warn: func(m string, kv ...any) { b.Log(m, kv) }})
				if err != nil {
					b.Fatal(err)
				}
				if got := db.Stats().Replayed; got != 0 {
					b.Fatalf("Open replayed %d records", got)
				}
				if err := db.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRebuild measures Open of a DB whose index is gone: it re-indexes every
// record, as it re-indexes a WAL tail after a crash. ns/record is the cost of each
// record of a tail (Repair costs the same).
func BenchmarkRebuild(b *testing.B) {
	const records = 10_000
	dir := b.TempDir()
	fill(b, dir, benchChain(b, records-1), 0)
	for b.Loop() {
		b.StopTimer()
		if err := os.RemoveAll(filepath.Join(dir, "index")); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		db, err := tiers.Open(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		if got := db.Stats().Replayed; got != records {
			b.Fatalf("Open replayed %d records, want %d", got, records)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*records), "ns/record")
}
