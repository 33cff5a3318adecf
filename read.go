package korup2p

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/crdt"
	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/distinctions"
)

// Entry is a key's state as read.
type Entry struct {
	Key       string
	Value     json.RawMessage // the merged value as JSON; yours to modify
	Version   cid.Cid         // the winning key-head: the version that wrote Value
	Clock     dag.Timestamp   // Version's clock
	Author    peer.ID         // Version's author
	Heads     []cid.Cid       // the key-heads merged; more than one after concurrent writes
	Conflicts []Conflict      // fields several heads changed differently (see Get)
}

// Conflict is a field that concurrent writes changed to different values.
type Conflict struct {
	Path   []string        // object field path; empty for the whole value
	Winner cid.Cid         // the version whose value won
	Value  json.RawMessage // the winning value; nil if a delete won
	Losers []LosingValue
}

// LosingValue is a value that lost a conflict and stays readable until a later
// write supersedes the heads.
type LosingValue struct {
	Version cid.Cid
	Value   json.RawMessage // nil if the loser was a delete
}

// cacheKey names a key of a space in the hot tier: spaces by their ordinal, which is
// cheaper to hash than a CID.
type cacheKey struct {
	space uint32
	key   string
}

// entryState is a key's materialised state, shared read-only by the cache. It keeps
// the value as canonical JSON text only — about its encoded size, where a Go value
// tree costs 4–5 times that — and parses it when a patch or a query needs the tree.
type entryState struct {
	entry Entry // entry.Value is the value as JSON; nil when absent. Do not modify.
}

func (e *entryState) exists() bool { return e.entry.Value != nil }

func (e *entryState) cost() int64 {
	return int64(192 + len(e.entry.Key) + len(e.entry.Value) + 48*len(e.entry.Heads))
}

// value parses the value into a tree (crdt.Absent when absent).
func (e *entryState) value() (any, error) {
	if !e.exists() {
		return crdt.Absent, nil
	}
	return distinctions.ParseJSON(e.entry.Value, distinctions.Limits{MaxBytes: len(e.entry.Value)})
}

// get returns the Entry with its own copy of the JSON value.
func (e *entryState) get() Entry {
	out := e.entry
	out.Value = slices.Clone(out.Value)
	return out
}

// materialise turns a crdt.State into an entryState.
func materialise(st crdt.State) (*entryState, error) {
	e := &entryState{entry: Entry{Key: st.Key, Version: st.Version, Clock: st.Clock, Author: st.Author, Heads: st.Heads}}
	var err error
	if e.entry.Value, err = jsonOf(st.Value); err != nil {
		return nil, err
	}
	for _, c := range st.Conflicts {
		cf := Conflict{Path: c.Path, Winner: c.Winner}
		if cf.Value, err = jsonOf(c.Value); err != nil {
			return nil, err
		}
		for _, l := range c.Losers {
			lv := LosingValue{Version: l.Version}
			if lv.Value, err = jsonOf(l.Value); err != nil {
				return nil, err
			}
			cf.Losers = append(cf.Losers, lv)
		}
		e.entry.Conflicts = append(e.entry.Conflicts, cf)
	}
	return e, nil
}

func jsonOf(v any) (json.RawMessage, error) {
	if crdt.IsAbsent(v) {
		return nil, nil
	}
	return distinctions.FormatJSON(v)
}

// stateLocked is state under the space's read lock, for a reader that holds no lock.
func (sp *space) stateLocked(key string) (*entryState, error) {
	if err := dag.ValidateKey(key); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	sp.mu.RLock()
	defer sp.mu.RUnlock()
	return sp.state(key)
}

// state returns key's current materialised state from the hot cache, computing it on
// a miss. Callers hold sp.mu (read or write).
func (sp *space) state(key string) (*entryState, error) {
	ck := cacheKey{sp.ord, key}
	if e, ok := sp.n.hot.Get(ck); ok {
		return e, nil
	}
	st, err := crdt.Read(sp.view(), key)
	if err != nil {
		return nil, err
	}
	e, err := materialise(st)
	if err != nil {
		return nil, err
	}
	sp.n.hot.Put(ck, e, e.cost())
	return e, nil
}

// wrote caches the state of op's key after the local node that holds op, given the
// state before it, and records the event it causes. A local write names every
// key-head as its prev, so the node is now the key's only head: the new state is the
// set value, the patch applied to the old state, or absent — what crdt.Read would
// compute, without decoding. sp.mu is held for writing.
func (sp *space) wrote(node *dag.Node, op dag.Op, tree any, old *entryState, events *[]Event) error {
	var v any
	switch op.Kind {
	case dag.KindSet:
		v = tree
	case dag.KindPatch:
		base, err := old.value()
		if err != nil {
			return err
		}
		v = crdt.ApplyMergePatch(base, tree)
	case dag.KindDel:
		v = crdt.Absent
	}
	cur, err := materialise(crdt.State{Key: op.Key, Value: v, Version: node.CID(), Clock: node.Clock, Author: node.Author, Heads: []cid.Cid{node.CID()}})
	if err != nil {
		return err
	}
	sp.n.hot.Put(cacheKey{sp.ord, op.Key}, cur, cur.cost())
	ev := Event{Space: sp.name, Key: op.Key, Version: node.CID()}
	switch {
	case cur.exists() && old.exists():
		ev.Type = EventUpdate
	case cur.exists():
		ev.Type = EventInsert
	case old.exists():
		ev.Type = EventDelete
	default:
		return nil // a delete of an absent key changes nothing visible
	}
	if !dag.IsSysKey(op.Key) && sp.n.subs.watching(sp.name, op.Key) {
		ev.Value = cur.entry.Value
		*events = append(*events, ev)
	}
	return nil
}

func (n *Node) read(spaceName string) (*space, func(), error) {
	sp, err := n.space(spaceName)
	if err != nil {
		return nil, nil, err
	}
	sp.mu.RLock()
	return sp, sp.mu.RUnlock, nil
}

// Get returns key's current state. A key written concurrently on several peers has
// several Heads; its Value is their three-way merge, and fields they changed to
// different values are listed in Conflicts. ErrNotFound if it has no value.
func (n *Node) Get(ctx context.Context, space, key string) (Entry, error) {
	sp, err := n.space(space)
	if err != nil {
		return Entry{}, keyErr("get", space, key, err)
	}
	// A hit needs no lock: the writer replaces cached states under sp.mu, and a
	// reader sees the state before or after a write, never half of one.
	e, ok := n.hot.Get(cacheKey{sp.ord, key})
	if !ok {
		if e, err = sp.stateLocked(key); err != nil {
			return Entry{}, keyErr("get", space, key, err)
		}
	}
	if !e.exists() {
		return Entry{}, keyErr("get", space, key, ErrNotFound)
	}
	return e.get(), nil
}

// GetAt returns key's state as of the wall-clock time t: the state of every write
// whose clock is at or before t. ErrNoValueAtTime if the key had no version yet;
// ErrNotFound if it was deleted by then.
func (n *Node) GetAt(ctx context.Context, space, key string, t time.Time) (Entry, error) {
	return n.GetAtClock(ctx, space, key, dag.Timestamp{Wall: t.UnixNano(), Logical: math.MaxUint32})
}

// GetAtClock is GetAt for an exact hybrid logical clock value.
func (n *Node) GetAtClock(ctx context.Context, spaceName, key string, ts dag.Timestamp) (Entry, error) {
	return n.readPast("get", spaceName, key, func(sp *space) (crdt.State, error) {
		if err := sp.beforeCut(ts); err != nil {
			return crdt.State{}, err
		}
		return crdt.ReadAt(sp.view(), key, ts)
	})
}

// GetAsOf returns key's state as of the given space heads (see Heads): the state of
// their ancestors.
func (n *Node) GetAsOf(ctx context.Context, spaceName, key string, heads []cid.Cid) (Entry, error) {
	return n.readPast("get", spaceName, key, func(sp *space) (crdt.State, error) { return crdt.ReadAsOf(sp.view(), key, heads) })
}

func (n *Node) readPast(op, spaceName, key string, read func(*space) (crdt.State, error)) (Entry, error) {
	sp, unlock, err := n.read(spaceName)
	if err != nil {
		return Entry{}, keyErr(op, spaceName, key, err)
	}
	defer unlock()
	st, err := read(sp)
	if err != nil {
		return Entry{}, keyErr(op, spaceName, key, err)
	}
	if len(st.Heads) == 0 {
		return Entry{}, keyErr(op, spaceName, key, ErrNoValueAtTime)
	}
	if !st.Exists() {
		return Entry{}, keyErr(op, spaceName, key, ErrNotFound)
	}
	e, err := materialise(st)
	if err != nil {
		return Entry{}, keyErr(op, spaceName, key, err)
	}
	return e.get(), nil
}

// Version is one version of a key, as History lists it.
type Version struct {
	Version cid.Cid
	Clock   dag.Timestamp
	Author  peer.ID
	Kind    dag.Kind        // set, patch or del
	Value   json.RawMessage // the key's value as of this version alone; nil after a delete
	// Distilled marks a version that stands for the key's history before the
	// space's distillation cut: its Value is the key's state at the cut.
	Distilled bool
}

// History returns every version of key, oldest first (a topological order).
// ErrNotFound if the key was never written.
func (n *Node) History(ctx context.Context, space, key string) ([]Version, error) {
	sp, unlock, err := n.read(space)
	if err != nil {
		return nil, keyErr("history", space, key, err)
	}
	defer unlock()
	hist, err := crdt.History(sp.view(), key)
	if err != nil {
		return nil, keyErr("history", space, key, err)
	}
	if len(hist) == 0 {
		return nil, keyErr("history", space, key, ErrNotFound)
	}
	out := make([]Version, len(hist))
	for i, h := range hist {
		v, err := jsonOf(h.Value)
		if err != nil {
			return nil, keyErr("history", space, key, err)
		}
		out[i] = Version{Version: h.CID, Clock: h.Clock, Author: h.Author, Kind: h.Kind, Value: v, Distilled: h.Distilled}
	}
	return out, nil
}

// Change is one difference Diff found.
type Change struct {
	Path []string        // object field path; empty for the whole value
	Kind string          // "added", "removed" or "changed"
	Old  json.RawMessage // nil when added
	New  json.RawMessage // nil when removed
}

// Diff compares key's value at version from with its value at version to.
// cid.Undef stands for "before the first version".
func (n *Node) Diff(ctx context.Context, space, key string, from, to cid.Cid) ([]Change, error) {
	sp, unlock, err := n.read(space)
	if err != nil {
		return nil, keyErr("diff", space, key, err)
	}
	defer unlock()
	changes, err := crdt.Diff(sp.view(), key, from, to)
	if err != nil {
		return nil, keyErr("diff", space, key, fmt.Errorf("%w: %v", ErrInvalidVersion, err))
	}
	out := make([]Change, len(changes))
	for i, c := range changes {
		out[i] = Change{Path: c.Path, Kind: c.Kind.String()}
		if out[i].Old, err = jsonOf(c.Old); err == nil {
			out[i].New, err = jsonOf(c.New)
		}
		if err != nil {
			return nil, keyErr("diff", space, key, err)
		}
	}
	return out, nil
}

// Listed is one key that List returns.
type Listed struct {
	Key     string
	Version cid.Cid
}

// List returns, in key order, up to limit keys (all if limit <= 0) of space that
// start with prefix and sort after the key after. Deleted keys are never listed.
func (n *Node) List(ctx context.Context, space, prefix, after string, limit int) ([]Listed, error) {
	var out []Listed
	err := n.scan(ctx, space, prefix, after, func(key string, e *entryState) bool {
		out = append(out, Listed{Key: key, Version: e.entry.Version})
		return limit <= 0 || len(out) < limit
	})
	return out, err
}

// scan calls fn for each existing user key of space with prefix, after the key
// after, in key order, until fn returns false.
func (n *Node) scan(ctx context.Context, space, prefix, after string, fn func(string, *entryState) bool) error {
	sp, unlock, err := n.read(space)
	if err != nil {
		return fmt.Errorf("list %s: %w", space, err)
	}
	defer unlock()
	const page = 256
	for {
		keys, err := sp.store.Keys(prefix, after, page)
		if err != nil {
			return fmt.Errorf("list %s: %w", space, err)
		}
		for _, k := range keys {
			if err := ctx.Err(); err != nil {
				return err
			}
			if dag.IsSysKey(k) {
				continue
			}
			e, err := sp.state(k)
			if err != nil {
				return fmt.Errorf("list %s: %s: %w", space, k, err)
			}
			if e.exists() && !fn(k, e) {
				return nil
			}
		}
		if len(keys) < page {
			return nil
		}
		after = keys[len(keys)-1]
	}
}
