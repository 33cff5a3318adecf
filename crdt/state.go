package crdt

import (
	"errors"
	"fmt"
	"slices"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/distinctions"
	"github.com/korup2p/korup2p/lca"
)

// ErrNotVersion is returned (wrapped) when a CID given as a version of a key is not a
// node that writes that key.
var ErrNotVersion = errors.New("not a version of the key")

// Reader is what reading state needs of a store; every dag.Store is one.
type Reader interface {
	Get(c cid.Cid) (*dag.Node, error)
	KeyHeads(key string) ([]cid.Cid, error)
	KeyHistory(key string) ([]cid.Cid, error)
}

// State is a key's state: its merged value and where it came from.
type State struct {
	Key string
	// Value is the merged value, or Absent when the key was never written or its
	// merged state is deleted.
	Value any
	// Version is the key-head of greatest rank (clock, author, CID): the version that
	// wins conflicts. cid.Undef when the key was never written.
	Version cid.Cid
	Clock   dag.Timestamp // Version's clock
	Author  peer.ID       // Version's author
	// Heads are the key-heads the value merges, sorted by CID; one when there is no
	// concurrency.
	Heads []cid.Cid
	// Conflicts are the fields that several heads changed to different values; the
	// losing values stay here until a write on top of these heads supersedes them.
	Conflicts []VersionConflict
}

// Exists reports whether the key has a value (written and not deleted).
func (s State) Exists() bool { return !IsAbsent(s.Value) }

// VersionConflict is a Conflict with its heads named by version.
type VersionConflict struct {
	Path   []string // object field path; empty for the whole value
	Winner cid.Cid
	Value  any // the winning value, or Absent
	Losers []LosingVersion
}

// LosingVersion is a value that lost a conflict, and the version that wrote it.
type LosingVersion struct {
	Version cid.Cid
	Value   any // may be Absent (a delete lost)
}

// Read returns the current state of key.
func Read(r Reader, key string) (State, error) {
	heads, err := r.KeyHeads(key)
	if err != nil {
		return State{}, err
	}
	e := newEval(r, key, nil)
	if heads, err = e.visible(heads); err != nil {
		return State{}, err
	}
	return e.state(heads)
}

// Merge returns the state of key merging exactly the given versions of it, in any
// order: what Read returns when they are the key-heads. A void version among them
// (see [Voider]) is replaced by its prevs, transparently.
func Merge(r Reader, key string, versions []cid.Cid) (State, error) {
	e := newEval(r, key, nil)
	versions, err := e.visible(versions)
	if err != nil {
		return State{}, err
	}
	return e.state(versions)
}

// ReadAt returns the state of key as of clock t: the state of the nodes whose clock is
// at most t. Parents' clocks are below their children's, so that set is causally closed.
func ReadAt(r Reader, key string, t dag.Timestamp) (State, error) {
	return ReadWhere(r, key, func(n *dag.Node) (bool, error) { return n.Clock.Compare(t) <= 0, nil })
}

// ReadWhere returns the state of key over the versions keep accepts, which must be
// causally closed (a kept version's prevs are kept): the state at a cut of the DAG.
// A void version (see [Voider]) counts as if keep rejected it, transparently.
func ReadWhere(r Reader, key string, keep func(*dag.Node) (bool, error)) (State, error) {
	e := newEval(r, key, keep)
	heads, err := e.filteredHeads()
	if err != nil {
		return State{}, err
	}
	return e.state(heads)
}

// ReadAsOf returns the state of key as of the space heads given: the state of their
// ancestors (themselves included). An unknown head is an error, and a distilled
// one an error matching dag.ErrDistilled; distilled versions count as ancestors
// of every head.
func ReadAsOf(r Reader, key string, heads []cid.Cid) (State, error) {
	e := newEval(r, key, nil)
	g := SpaceGraph(r)
	hist, err := r.KeyHistory(key)
	if err != nil {
		return State{}, err
	}
	for _, h := range heads {
		if n, err := r.Get(h); err != nil {
			return State{}, err
		} else if n.IsDistilled() {
			return State{}, fmt.Errorf("as of %s: %w", h, dag.ErrDistilled)
		}
	}
	in := map[cid.Cid]bool{}
	for _, v := range hist {
		if n, _, err := e.version(v); err != nil {
			return State{}, err
		} else if n.IsDistilled() {
			in[v] = true // the folded past, before every whole node
			continue
		}
		for _, h := range heads {
			ok, err := lca.IsAncestor(g, v, h)
			if err != nil {
				return State{}, err
			}
			if ok {
				in[v] = true
				break
			}
		}
	}
	e.filter = func(n *dag.Node) (bool, error) { return in[n.CID()], nil }
	kh, err := e.filteredHeads()
	if err != nil {
		return State{}, err
	}
	return e.state(kh)
}

// SpaceGraph returns the space DAG of r (a node's parents, its height) for package lca.
func SpaceGraph(r Reader) lca.Graph { return spaceGraph{r} }

type spaceGraph struct{ r Reader }

func (g spaceGraph) Parents(c cid.Cid) ([]cid.Cid, error) {
	n, err := g.r.Get(c)
	if err != nil {
		return nil, err
	}
	return n.Parents, nil
}

func (g spaceGraph) Height(c cid.Cid) (uint64, error) {
	n, err := g.r.Get(c)
	if err != nil {
		return 0, err
	}
	return n.Height, nil
}

// Version is one entry of a key's history.
type Version struct {
	CID    cid.Cid
	Clock  dag.Timestamp
	Author peer.ID
	Kind   dag.Kind
	Prev   []cid.Cid
	Value  any // the key's value as of this version alone (a patch applied); Absent after a delete
	// Distilled marks the stand-in of a version folded into a snapshot: its Value is
	// the key's state at the cut, and the versions before it are gone.
	Distilled bool
}

// History returns every version of key, oldest first (a topological order). Void
// versions (see [Voider]) are left out; a Prev is the op's own, so it may name one.
func History(r Reader, key string) ([]Version, error) {
	hist, err := r.KeyHistory(key)
	if err != nil {
		return nil, err
	}
	e := newEval(r, key, nil)
	out := make([]Version, 0, len(hist))
	for _, c := range hist {
		n, op, err := e.version(c)
		if err != nil {
			return nil, err
		}
		if void, err := e.isVoid(c); err != nil {
			return nil, err
		} else if void {
			continue
		}
		v, err := e.value(c)
		if err != nil {
			return nil, err
		}
		out = append(out, Version{CID: c, Clock: n.Clock, Author: n.Author, Kind: op.Kind, Prev: op.Prev, Value: v,
			Distilled: n.IsDistilled()})
	}
	return out, nil
}

// Diff compares the key's value at version from with its value at version to.
// Either may be cid.Undef, meaning absent (before the first version). The value at
// a void version (see [Voider]) is the merged value of its prevs, as if it were not
// there.
func Diff(r Reader, key string, from, to cid.Cid) ([]Change, error) {
	e := newEval(r, key, nil)
	var vals [2]any
	for i, c := range []cid.Cid{from, to} {
		vals[i] = Absent
		if !c.Defined() {
			continue
		}
		v, err := e.value(c)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	return DiffValues(vals[0], vals[1]), nil
}

// eval computes values of one key's versions, memoised for the duration of a read.
type eval struct {
	r      Reader
	key    string
	filter func(*dag.Node) (bool, error) // nil: every version counts
	nodes  map[cid.Cid]*dag.Node
	values map[cid.Cid]any

	// voider is r as a Voider, nil when r has no void nodes; void memoises its
	// answers and voidPrevs the transparent prevs of the void versions met.
	voider    Voider
	void      map[cid.Cid]bool
	voidPrevs map[cid.Cid][]cid.Cid
}

func newEval(r Reader, key string, filter func(*dag.Node) (bool, error)) *eval {
	e := &eval{r: r, key: key, filter: filter, nodes: map[cid.Cid]*dag.Node{}, values: map[cid.Cid]any{}}
	if v, ok := r.(Voider); ok {
		e.voider, e.void, e.voidPrevs = v, map[cid.Cid]bool{}, map[cid.Cid][]cid.Cid{}
	}
	return e
}

// version returns the node c and its op on the key.
func (e *eval) version(c cid.Cid) (*dag.Node, dag.Op, error) {
	n, ok := e.nodes[c]
	if !ok {
		var err error
		if n, err = e.r.Get(c); err != nil {
			return nil, dag.Op{}, err
		}
		e.nodes[c] = n
	}
	op, ok := n.Op(e.key)
	if !ok && n.IsDistilled() {
		return nil, dag.Op{}, fmt.Errorf("version %s of %q: %w", c, e.key, errFolded)
	}
	if !ok {
		return nil, dag.Op{}, fmt.Errorf("%w: %s does not write %q", ErrNotVersion, c, e.key)
	}
	return n, op, nil
}

// errFolded is a version that a store distilled without keeping an op for the key:
// it was no key-head at the cut, so the key's state there holds all it contributed.
var errFolded = fmt.Errorf("folded into a snapshot: %w", dag.ErrDistilled)

// prevs returns the prevs of op that the key's DAG still holds: a version folded
// into a snapshot without an op is left out — its successor at the cut, which does
// keep one, stands for it.
func (e *eval) prevs(op dag.Op) ([]cid.Cid, error) {
	out := make([]cid.Cid, 0, len(op.Prev))
	for _, p := range op.Prev {
		_, _, err := e.version(p)
		switch {
		case errors.Is(err, errFolded):
			continue
		case err != nil:
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Parents implements lca.Graph over the key's own DAG: a version's parents are its
// prevs that pass the filter, a void prev replaced by its own parents, recursively.
func (e *eval) Parents(c cid.Cid) ([]cid.Cid, error) {
	if ps, ok := e.voidPrevs[c]; ok {
		return ps, nil
	}
	_, op, err := e.version(c)
	if err != nil {
		return nil, err
	}
	prev, err := e.prevs(op)
	if err != nil || (e.filter == nil && e.voider == nil) {
		return prev, err
	}
	var out []cid.Cid
	expanded := false
	for _, p := range prev {
		if e.filter != nil {
			n, _, err := e.version(p)
			if err != nil {
				return nil, err
			}
			if ok, err := e.filter(n); err != nil {
				return nil, err
			} else if !ok {
				continue
			}
		}
		if void, err := e.isVoid(p); err != nil {
			return nil, err
		} else if !void {
			out = append(out, p)
			continue
		}
		pp, err := e.Parents(p)
		if err != nil {
			return nil, err
		}
		out, expanded = append(out, pp...), true
	}
	if expanded {
		out = dag.SortCIDs(out)
	}
	if e.void[c] {
		e.voidPrevs[c] = out
	}
	return out, nil
}

// Height implements lca.Graph: a node's height exceeds its prevs' heights.
func (e *eval) Height(c cid.Cid) (uint64, error) {
	n, _, err := e.version(c)
	if err != nil {
		return 0, err
	}
	return n.Height, nil
}

// filteredHeads returns the key-heads among the versions that pass the filter and
// are not void.
func (e *eval) filteredHeads() ([]cid.Cid, error) {
	hist, err := e.r.KeyHistory(e.key)
	if err != nil {
		return nil, err
	}
	var in []cid.Cid
	superseded := map[cid.Cid]bool{}
	for _, c := range hist {
		n, _, err := e.version(c)
		if err != nil {
			return nil, err
		}
		if ok, err := e.filter(n); err != nil {
			return nil, err
		} else if !ok {
			continue
		}
		if void, err := e.isVoid(c); err != nil {
			return nil, err
		} else if void {
			continue
		}
		in = append(in, c)
		prev, err := e.Parents(c)
		if err != nil {
			return nil, err
		}
		for _, p := range prev {
			superseded[p] = true
		}
	}
	return dag.SortCIDs(slices.DeleteFunc(in, func(c cid.Cid) bool { return superseded[c] })), nil
}

// value returns the key's value as of version c alone; for a void version, the
// merged value of its (transparent) prevs.
func (e *eval) value(c cid.Cid) (any, error) {
	if v, ok := e.values[c]; ok {
		return v, nil
	}
	_, op, err := e.version(c)
	if err != nil {
		return nil, err
	}
	if void, err := e.isVoid(c); err != nil {
		return nil, err
	} else if void {
		prev, err := e.Parents(c)
		if err != nil {
			return nil, err
		}
		v, _, _, err := e.merge(prev)
		if err != nil {
			return nil, err
		}
		e.values[c] = v
		return v, nil
	}
	var v any
	switch op.Kind {
	case dag.KindDel:
		v = Absent
	case dag.KindSet, dag.KindPatch:
		if v, err = distinctions.DecodeValue(op.Value, distinctions.DefaultLimits); err != nil {
			return nil, fmt.Errorf("version %s of %q: %w", c, e.key, err)
		}
		if op.Kind == dag.KindPatch {
			prev, err := e.Parents(c)
			if err != nil {
				return nil, err
			}
			target, _, _, err := e.merge(prev)
			if err != nil {
				return nil, err
			}
			v = ApplyMergePatch(target, v)
		}
	}
	e.values[c] = v
	return v, nil
}

// merge merges the values of heads three-way against their merge base (itself the
// merge of several candidate bases, recursively). It returns the merged value, its
// conflicts, and the heads in ascending rank order (the indices conflicts use).
func (e *eval) merge(heads []cid.Cid) (any, []Conflict, []*dag.Node, error) {
	ranked := make([]*dag.Node, len(heads))
	for i, h := range heads {
		n, _, err := e.version(h)
		if err != nil {
			return nil, nil, nil, err
		}
		ranked[i] = n
	}
	slices.SortFunc(ranked, dag.HistoryOrder)
	ranked = slices.CompactFunc(ranked, func(a, b *dag.Node) bool { return a.CID().Equals(b.CID()) })
	switch len(ranked) {
	case 0:
		return Absent, nil, nil, nil
	case 1:
		v, err := e.value(ranked[0].CID())
		return v, nil, ranked, err
	}
	bases, err := lca.MergeBases(e, heads...)
	if err != nil {
		return nil, nil, nil, err
	}
	base, _, _, err := e.merge(bases)
	if err != nil {
		return nil, nil, nil, err
	}
	values := make([]any, len(ranked))
	for i, n := range ranked {
		if values[i], err = e.value(n.CID()); err != nil {
			return nil, nil, nil, err
		}
	}
	merged, conflicts := MergeValues(base, values)
	return merged, conflicts, ranked, nil
}

// state merges heads into the key's State.
func (e *eval) state(heads []cid.Cid) (State, error) {
	st := State{Key: e.key, Value: Absent, Heads: dag.SortCIDs(slices.Clone(heads))}
	v, conflicts, ranked, err := e.merge(st.Heads)
	if err != nil {
		return State{}, err
	}
	st.Value = v
	if len(ranked) > 0 {
		top := ranked[len(ranked)-1]
		st.Version, st.Clock, st.Author = top.CID(), top.Clock, top.Author
	}
	for _, c := range conflicts {
		vc := VersionConflict{Path: c.Path, Winner: ranked[c.Winner].CID(), Value: c.Value}
		for _, l := range c.Losers {
			vc.Losers = append(vc.Losers, LosingVersion{Version: ranked[l.Head].CID(), Value: l.Value})
		}
		st.Conflicts = append(st.Conflicts, vc)
	}
	return st, nil
}
