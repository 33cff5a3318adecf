package lca

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/ipfs/go-cid"
)

// Graph is what merge-base search needs of a DAG.
//
// Height must be strictly greater than every parent's height (a generation
// number; it need not be exactly 1 + the greatest parent height). Both
// methods return an error matching [ErrNotFound] for a CID the graph does not
// hold. This package neither modifies nor keeps the slice Parents returns,
// so an implementation may hand out its own storage.
type Graph interface {
	Parents(c cid.Cid) ([]cid.Cid, error)
	Height(c cid.Cid) (uint64, error)
}

// ErrNotFound reports a CID the graph does not hold. [Graph]
// implementations return it, or an error wrapping it, for such a CID; this
// package passes it on inside a [*NodeError] naming the CID.
var ErrNotFound = errors.New("node not found")

// ErrBadHeight reports a graph that breaks the height rule of [Graph]: a
// parent whose height is not below its child's. The search cannot give a
// correct answer over such a graph, so it stops with this error.
var ErrBadHeight = errors.New("height not below child's")

// NodeError records an error about one node and the operation that met it.
// Every error this package returns is a *NodeError.
type NodeError struct {
	Op  string  // "height" or "parents"
	CID cid.Cid // the node concerned
	Err error   // from the Graph, or wrapping ErrBadHeight
}

func (e *NodeError) Error() string {
	return "lca: " + e.Op + " " + e.CID.String() + ": " + e.Err.Error()
}

func (e *NodeError) Unwrap() error { return e.Err }

// MergeBases returns the best common ancestors of all the given versions:
// the maximal elements of the set of nodes that are ancestors of, or equal
// to, every version. If one version is an ancestor of all the others, it is
// the only base; a criss-cross history gives every candidate. Versions with
// no common history give an empty result, as does an empty list of versions.
// Duplicate versions are allowed. The result is sorted by CID bytes.
//
// The search paints down from the versions in decreasing height and stops as
// soon as every node still queued lies below a base already found, so it
// visits the nodes between the versions and their bases, not the whole DAG.
func MergeBases(g Graph, versions ...cid.Cid) ([]cid.Cid, error) {
	vs := distinct(versions)
	if len(vs) == 0 {
		return nil, nil
	}
	s := newSearch(g)
	defer s.release()
	s.paintStart(len(vs))
	for i, v := range vs {
		h, err := height(g, v)
		if err != nil {
			return nil, err
		}
		id := s.add(v, h)
		s.bits[id*s.words+i/64] |= 1 << (i % 64)
		s.live++
	}
	if len(vs) == 1 {
		return vs, nil
	}
	return s.paint()
}

// IsAncestor reports whether a is b or an ancestor of b. It searches the
// ancestors of b but never those at or below a's height, where a cannot be.
func IsAncestor(g Graph, a, b cid.Cid) (bool, error) {
	ha, err := height(g, a)
	if err != nil {
		return false, err
	}
	hb, err := height(g, b)
	if err != nil {
		return false, err
	}
	if a == b {
		return true, nil
	}
	if hb <= ha {
		return false, nil
	}
	s := newSearch(g)
	defer s.release()
	s.seen[b] = 0
	s.stack = append(s.stack, visit{b, hb})
	for len(s.stack) > 0 {
		n := s.stack[len(s.stack)-1]
		s.stack = s.stack[:len(s.stack)-1]
		ps, err := parents(g, n.c)
		if err != nil {
			return false, err
		}
		for _, pc := range ps {
			if pc == a {
				return true, nil
			}
			if _, ok := s.seen[pc]; ok {
				continue
			}
			s.seen[pc] = 0
			hp, err := parentHeight(g, n, pc)
			if err != nil {
				return false, err
			}
			if hp > ha {
				s.stack = append(s.stack, visit{pc, hp})
			}
		}
	}
	return false, nil
}

// Independent returns the elements of cs that are not ancestors of another
// element, without duplicates, sorted by CID bytes: the heads of cs. It
// searches only the ancestors of cs above the lowest element's height.
func Independent(g Graph, cs []cid.Cid) ([]cid.Cid, error) {
	vs := distinct(cs)
	s := newSearch(g)
	defer s.release()
	// One search from all the elements at once: each node is expanded once,
	// and an element met through an edge is below another element.
	const (
		other = iota
		element
		belowElement
	)
	var low uint64
	for i, v := range vs {
		h, err := height(g, v)
		if err != nil {
			return nil, err
		}
		if i == 0 || h < low {
			low = h
		}
		s.seen[v] = element
		s.stack = append(s.stack, visit{v, h})
	}
	if len(vs) <= 1 {
		return vs, nil
	}
	for len(s.stack) > 0 {
		n := s.stack[len(s.stack)-1]
		s.stack = s.stack[:len(s.stack)-1]
		if n.h <= low {
			continue // its parents are below every element
		}
		ps, err := parents(g, n.c)
		if err != nil {
			return nil, err
		}
		for _, pc := range ps {
			if mark, ok := s.seen[pc]; ok {
				if mark == element {
					s.seen[pc] = belowElement
				}
				continue
			}
			s.seen[pc] = other
			hp, err := parentHeight(g, n, pc)
			if err != nil {
				return nil, err
			}
			s.stack = append(s.stack, visit{pc, hp})
		}
	}
	out := vs[:0]
	for _, v := range vs {
		if s.seen[v] == element {
			out = append(out, v)
		}
	}
	return out, nil
}

// visit is a node met by a search, with its height.
type visit struct {
	c cid.Cid
	h uint64
}

// search is the memory of one search. Growing the map of nodes met is most
// of the cost of a search, so searches reuse it through a pool.
//
// MergeBases uses the paint fields. Each node met gets an index into nodes,
// and a bitset in bits recording which versions reach it. Nodes are popped
// in decreasing height. Heights fall strictly along every edge, so when a
// node is popped all its descendants that the search can reach have been
// popped already: its bitset and stale mark are final, and each node is
// queued and expanded exactly once.
type search struct {
	g     Graph
	seen  map[cid.Cid]int // for MergeBases, the index of the node in nodes
	stack []visit

	words int      // bitset words per node
	full  []uint64 // the bitset of a node every version reaches
	nodes []pnode
	bits  []uint64 // node i's bitset is bits[i*words : (i+1)*words]
	queue []int    // max-heap of node indices by height
	live  int      // queued nodes that are not stale
}

type pnode struct {
	visit
	// stale marks a node below a base already found: neither it nor any
	// of its ancestors can be a best common ancestor.
	stale bool
}

var searches = sync.Pool{New: func() any { return &search{seen: make(map[cid.Cid]int)} }}

// maxPooled is the number of nodes met above which a search's memory is left
// to the garbage collector rather than pooled, so that clearing it does not
// slow down the many small searches.
const maxPooled = 1 << 13

func newSearch(g Graph) *search {
	s := searches.Get().(*search)
	s.g = g
	return s
}

func (s *search) release() {
	if len(s.seen) > maxPooled {
		return
	}
	clear(s.seen)
	clear(s.nodes) // drop the CIDs
	*s = search{seen: s.seen, stack: s.stack[:0], full: s.full[:0],
		nodes: s.nodes[:0], bits: s.bits[:0], queue: s.queue[:0]}
	searches.Put(s)
}

// paintStart prepares bitsets for n versions.
func (s *search) paintStart(n int) {
	s.words = (n + 63) / 64
	for range s.words {
		s.full = append(s.full, ^uint64(0))
	}
	if r := n % 64; r != 0 {
		s.full[s.words-1] = 1<<r - 1
	}
}

// add records a node not yet met and queues it.
func (s *search) add(c cid.Cid, h uint64) int {
	id := len(s.nodes)
	s.seen[c] = id
	s.nodes = append(s.nodes, pnode{visit: visit{c, h}})
	s.bits = append(s.bits, make([]uint64, s.words)...)
	s.push(id)
	return id
}

// paint pops nodes until every queued node is stale. A node that every
// version reaches and that is not stale is a best common ancestor: were it
// below another common ancestor, the stale mark spread from that one would
// have reached it first. So the candidates need no further reduction.
func (s *search) paint() ([]cid.Cid, error) {
	var bases []cid.Cid
	for s.live > 0 {
		id := s.pop()
		n := s.nodes[id]
		if !n.stale {
			s.live--
			if slices.Equal(s.bitset(id), s.full) {
				bases = append(bases, n.c)
				n.stale = true
				s.nodes[id].stale = true
			}
		}
		ps, err := parents(s.g, n.c)
		if err != nil {
			return nil, err
		}
		for _, pc := range ps {
			pid, ok := s.seen[pc]
			wasLive := ok && !s.nodes[pid].stale
			if !ok {
				hp, err := parentHeight(s.g, n.visit, pc)
				if err != nil {
					return nil, err
				}
				pid = s.add(pc, hp)
			} else if s.nodes[pid].h >= n.h {
				return nil, badHeight(n.visit, s.nodes[pid].visit)
			}
			pb, nb := s.bitset(pid), s.bitset(id)
			for i := range pb {
				pb[i] |= nb[i]
			}
			if n.stale {
				s.nodes[pid].stale = true
			}
			if isLive := !s.nodes[pid].stale; isLive != wasLive {
				if isLive {
					s.live++
				} else {
					s.live--
				}
			}
		}
	}
	sortCIDs(bases)
	return bases, nil
}

func (s *search) bitset(id int) []uint64 {
	return s.bits[id*s.words : (id+1)*s.words]
}

func (s *search) higher(i, j int) bool {
	return s.nodes[s.queue[i]].h > s.nodes[s.queue[j]].h
}

func (s *search) push(id int) {
	s.queue = append(s.queue, id)
	for i := len(s.queue) - 1; i > 0; {
		up := (i - 1) / 2
		if !s.higher(i, up) {
			break
		}
		s.queue[i], s.queue[up] = s.queue[up], s.queue[i]
		i = up
	}
}

func (s *search) pop() int {
	q := s.queue
	top, last := q[0], len(q)-1
	q[0] = q[last]
	s.queue = q[:last]
	for i := 0; ; {
		c := 2*i + 1
		if c >= last {
			break
		}
		if c+1 < last && s.higher(c+1, c) {
			c++
		}
		if !s.higher(c, i) {
			break
		}
		q[i], q[c] = q[c], q[i]
		i = c
	}
	return top
}

func height(g Graph, c cid.Cid) (uint64, error) {
	h, err := g.Height(c)
	if err != nil {
		return 0, &NodeError{Op: "height", CID: c, Err: err}
	}
	return h, nil
}

func parents(g Graph, c cid.Cid) ([]cid.Cid, error) {
	ps, err := g.Parents(c)
	if err != nil {
		return nil, &NodeError{Op: "parents", CID: c, Err: err}
	}
	return ps, nil
}

// parentHeight returns the height of pc, a parent of child, checking that it
// is below the child's.
func parentHeight(g Graph, child visit, pc cid.Cid) (uint64, error) {
	h, err := height(g, pc)
	if err != nil {
		return 0, err
	}
	if h >= child.h {
		return 0, badHeight(child, visit{pc, h})
	}
	return h, nil
}

func badHeight(child, parent visit) error {
	return &NodeError{Op: "height", CID: parent.c, Err: fmt.Errorf(
		"%w: %d, child %s has %d", ErrBadHeight, parent.h, child.c, child.h)}
}

// distinct returns the CIDs of cs without duplicates, sorted by bytes, in a
// new slice.
func distinct(cs []cid.Cid) []cid.Cid {
	out := slices.Clone(cs)
	sortCIDs(out)
	return slices.Compact(out)
}

func sortCIDs(cs []cid.Cid) {
	slices.SortFunc(cs, func(a, b cid.Cid) int {
		return strings.Compare(a.KeyString(), b.KeyString())
	})
}
