package lca_test

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/korup2p/korup2p/lca"
)

// benchGraph is a compact DAG for benchmarks of up to millions of nodes.
// Node i's CID is a CIDv1 dag-cbor sha2-256 whose (synthetic) digest ends
// with i, so finding a node needs no map.
type benchGraph struct {
	cids    []cid.Cid
	heights []uint32
	start   []int32   // node i's parents are parents[start[i]:start[i+1]]
	parents []cid.Cid // one backing array, handed out without copying
}

func newBenchGraph(n int) *benchGraph {
	return &benchGraph{
		cids:    make([]cid.Cid, 0, n),
		heights: make([]uint32, 0, n),
		start:   append(make([]int32, 0, n+1), 0),
		parents: make([]cid.Cid, 0, n+n/8),
	}
}

// add adds a node with the given parents and returns its number.
func (g *benchGraph) add(parents ...int) int {
	i := len(g.cids)
	digest := make([]byte, 32)
	binary.BigEndian.PutUint64(digest[24:], uint64(i))
	mh, err := multihash.Encode(digest, multihash.SHA2_256)
	if err != nil {
		panic(err)
	}
	var h uint32
	for _, p := range parents {
		g.parents = append(g.parents, g.cids[p])
		h = max(h, g.heights[p]+1)
	}
	g.cids = append(g.cids, cid.NewCidV1(cid.DagCBOR, mh))
	g.heights = append(g.heights, h)
	g.start = append(g.start, int32(len(g.parents)))
	return i
}

func (g *benchGraph) node(c cid.Cid) (int, error) {
	k := c.KeyString()
	if len(k) != 36 {
		return 0, lca.ErrNotFound
	}
	var i uint64
	for _, b := range []byte(k[28:]) {
		i = i<<8 | uint64(b)
	}
	if i >= uint64(len(g.cids)) || g.cids[i] != c {
		return 0, lca.ErrNotFound
	}
	return int(i), nil
}

func (g *benchGraph) Parents(c cid.Cid) ([]cid.Cid, error) {
	i, err := g.node(c)
	if err != nil {
		return nil, err
	}
	return g.parents[g.start[i]:g.start[i+1]:g.start[i+1]], nil
}

func (g *benchGraph) Height(c cid.Cid) (uint64, error) {
	i, err := g.node(c)
	if err != nil {
		return 0, err
	}
	return uint64(g.heights[i]), nil
}

// grow adds n nodes above tip, as two writers would: runs of 4 nodes one
// after the other, then a fork into lanes of 2 and 3 nodes, then a merge.
// It returns the new tip.
func (g *benchGraph) grow(tip, n int) int {
	for n > 0 {
		if n < 10 {
			tip = g.add(tip)
			n--
			continue
		}
		for range 4 {
			tip = g.add(tip)
		}
		a := g.add(g.add(tip))
		b := g.add(g.add(g.add(tip)))
		tip = g.add(a, b)
		n -= 10
	}
	return tip
}

// history is a DAG whose two heads x and y diverged from base 1,000 nodes
// ago; first is the first node on y's side.
type history struct {
	g          *benchGraph
	base, x, y cid.Cid
	first      cid.Cid
	size       int
}

const branch = 1000

var histories = map[int]*history{}

// benchHistory returns a history of size nodes, built once per size.
func benchHistory(size int) *history {
	if h, ok := histories[size]; ok {
		return h
	}
	g := newBenchGraph(size)
	base := g.grow(g.add(), size-1-2*branch)
	x := g.grow(base, branch)
	first := g.add(base)
	y := g.grow(first, branch-1)
	h := &history{g: g, base: g.cids[base], x: g.cids[x], y: g.cids[y], first: g.cids[first],
		size: len(g.cids)}
	histories[size] = h
	return h
}

var benchSizes = []int{10_000, 1_000_000}

func BenchmarkMergeBase(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("nodes=%d", size), func(b *testing.B) {
			h := benchHistory(size)
			if h.size != size {
				b.Fatalf("history has %d nodes, want %d", h.size, size)
			}
			bases, err := lca.MergeBases(h.g, h.x, h.y)
			if err != nil || len(bases) != 1 || bases[0] != h.base {
				b.Fatalf("MergeBases = %v, %v; want [%s]", bases, err, h.base)
			}
			for b.Loop() {
				if _, err := lca.MergeBases(h.g, h.x, h.y); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkIsAncestor(b *testing.B) {
	for _, size := range benchSizes {
		h := benchHistory(size)
		for _, tt := range []struct {
			name string
			a    cid.Cid
			want bool
		}{
			{"base", h.base, true},         // walks x's branch down to the base
			{"other side", h.first, false}, // walks x's branch down to the fork
		} {
			b.Run(fmt.Sprintf("nodes=%d/%s", size, tt.name), func(b *testing.B) {
				if ok, err := lca.IsAncestor(h.g, tt.a, h.x); err != nil || ok != tt.want {
					b.Fatalf("IsAncestor = %v, %v; want %v", ok, err, tt.want)
				}
				for b.Loop() {
					if _, err := lca.IsAncestor(h.g, tt.a, h.x); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
