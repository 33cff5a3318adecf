package korup2p

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p/caps"
	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/distinctions"
)

// OpKind is what one op of a Batch does.
type OpKind string

const (
	OpPut   OpKind = "put"   // set the value
	OpPatch OpKind = "patch" // apply an RFC 7386 merge patch
	OpDel   OpKind = "del"   // delete the key
)

// Op is one write of a Batch. Value is JSON text ([]byte or json.RawMessage) or any
// Go value encoding/json can marshal; it is ignored for OpDel.
type Op struct {
	Kind  OpKind
	Key   string
	Value any
}

// WriteResult is an acknowledged write: the node that holds it.
type WriteResult struct {
	Version cid.Cid       // the node's CID: the new version of every key it wrote
	Clock   dag.Timestamp // its hybrid logical clock
}

const (
	writeQueue   = 4096 // requests waiting for a space's writer
	maxGroupOps  = 1024 // ops the writer puts into one commit round
	maxGroupByte = 8 << 20
)

type writeReq struct {
	cap   cid.Cid // the capability the write uses (restricted spaces, unless the owner's)
	ops   []dag.Op
	trees []any // the parsed value of each op (nil for del), to materialise without decoding
	bytes int
	done  chan writeDone
}

type writeDone struct {
	res WriteResult
	err error
}

// Put sets key in space to value (JSON text as []byte/json.RawMessage, or a Go value
// that encoding/json marshals). It returns once the write is durable (per
// Options.Durability).
func (n *Node) Put(ctx context.Context, space, key string, value any) (WriteResult, error) {
	return n.write(ctx, "put", space, []Op{{Kind: OpPut, Key: key, Value: value}})
}

// Patch applies an RFC 7386 JSON merge patch to key's merged value.
func (n *Node) Patch(ctx context.Context, space, key string, patch any) (WriteResult, error) {
	return n.write(ctx, "patch", space, []Op{{Kind: OpPatch, Key: key, Value: patch}})
}

// Delete deletes key. Deleting an absent key still records a delete.
func (n *Node) Delete(ctx context.Context, space, key string) (WriteResult, error) {
	return n.write(ctx, "del", space, []Op{{Kind: OpDel, Key: key}})
}

// Batch applies ops as one atomic node: all or nothing, one fsync. A key may appear
// once per batch.
func (n *Node) Batch(ctx context.Context, space string, ops []Op) (WriteResult, error) {
	if len(ops) == 0 {
		return WriteResult{}, fmt.Errorf("batch %s: no ops", space)
	}
	return n.write(ctx, "batch", space, ops)
}

func (n *Node) write(ctx context.Context, verb, spaceName string, ops []Op) (WriteResult, error) {
	sp, err := n.space(spaceName)
	if err != nil {
		return WriteResult{}, fmt.Errorf("%s: %w", verb, err)
	}
	if len(ops) > distinctions.DefaultLimits.MaxItems {
		return WriteResult{}, fmt.Errorf("%s %s: %w: %d ops in one write; a node holds at most %d",
			verb, spaceName, ErrValueTooLarge, len(ops), distinctions.DefaultLimits.MaxItems)
	}
	req := &writeReq{ops: make([]dag.Op, len(ops)), trees: make([]any, len(ops)), done: make(chan writeDone, 1)}
	seen := make(map[string]bool, len(ops))
	for i, op := range ops {
		d, tree, err := n.prepare(op)
		if err != nil {
			return WriteResult{}, keyErr(verb, spaceName, op.Key, err)
		}
		if seen[op.Key] {
			return WriteResult{}, keyErr(verb, spaceName, op.Key, fmt.Errorf("%w: the key appears twice in one batch", ErrInvalidKey))
		}
		seen[op.Key] = true
		req.ops[i], req.trees[i] = d, tree
		req.bytes += len(d.Value) + len(d.Key)
	}
	if sp.acc != nil {
		keys := make([]string, len(ops))
		for i, op := range ops {
			keys[i] = op.Key
		}
		if req.cap, err = sp.acc.leafFor(n.id, caps.Write, keys, nil, n.opts.Now()); err != nil {
			if len(ops) == 1 {
				return WriteResult{}, keyErr(verb, spaceName, ops[0].Key, err)
			}
			return WriteResult{}, fmt.Errorf("%s %s: %w", verb, spaceName, err)
		}
	}
	return sp.submit(ctx, req, verb, spaceName, ops)
}

// writeSys writes reserved ops (tokens, revocations) of a restricted space: any
// member may publish them; whether they count is decided by what they say.
func (sp *space) writeSys(ctx context.Context, ops []dag.Op) (WriteResult, error) {
	leaf, err := sp.acc.leafFor(sp.n.id, caps.Read, nil, nil, sp.n.opts.Now())
	if err != nil {
		return WriteResult{}, err
	}
	return sp.writeSysWith(ctx, ops, leaf)
}

// writeSysWith writes reserved ops under the capability leaf (cid.Undef: none, as
// the owner), which ops may carry themselves.
func (sp *space) writeSysWith(ctx context.Context, ops []dag.Op, leaf cid.Cid) (WriteResult, error) {
	var err error
	req := &writeReq{cap: leaf, ops: ops, trees: make([]any, len(ops)), done: make(chan writeDone, 1)}
	for i, op := range ops {
		if req.trees[i], err = distinctions.DecodeValue(op.Value, distinctions.DefaultLimits); err != nil {
			return WriteResult{}, err
		}
		req.bytes += len(op.Value) + len(op.Key)
	}
	return sp.submit(ctx, req, "write", sp.name, nil)
}

// submit queues req for the space's writer and waits for its outcome.
func (sp *space) submit(ctx context.Context, req *writeReq, verb, spaceName string, ops []Op) (WriteResult, error) {
	n := sp.n
	select {
	case sp.queue <- req:
	case <-ctx.Done():
		return WriteResult{}, ctx.Err()
	case <-n.ctx.Done():
		return WriteResult{}, ErrClosed
	}
	// Once queued, the write happens even if ctx ends: report its outcome.
	d := <-req.done
	if d.err != nil && len(ops) == 1 {
		return d.res, keyErr(verb, spaceName, ops[0].Key, d.err)
	}
	return d.res, d.err
}

// prepare checks one op and encodes its value canonically; it also returns the
// parsed value.
func (n *Node) prepare(op Op) (dag.Op, any, error) {
	if err := dag.ValidateKey(op.Key); err != nil {
		return dag.Op{}, nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	if dag.IsSysKey(op.Key) {
		return dag.Op{}, nil, fmt.Errorf("%w: the namespace %s is reserved", ErrInvalidKey, dag.SysNamespace)
	}
	switch op.Kind {
	case OpDel:
		return dag.Op{Key: op.Key, Kind: dag.KindDel}, nil, nil
	case OpPut, OpPatch:
	default:
		return dag.Op{}, nil, fmt.Errorf("unknown op kind %q (want put, patch or del)", op.Kind)
	}
	v, tree, err := n.encodeValue(op.Value)
	if err != nil {
		return dag.Op{}, nil, err
	}
	kind := dag.KindSet
	if op.Kind == OpPatch {
		kind = dag.KindPatch
	}
	return dag.Op{Key: op.Key, Kind: kind, Value: v}, tree, nil
}

// encodeValue turns what a caller passed into a canonical value encoding and the
// value tree.
func (n *Node) encodeValue(v any) ([]byte, any, error) {
	var text []byte
	switch x := v.(type) {
	case json.RawMessage:
		text = x
	case []byte:
		text = x
	default:
		var err error
		if text, err = json.Marshal(v); err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrInvalidValue, err)
		}
	}
	// The nesting a node allows around a value (dag.ValueLimits): a value deeper
	// than that would make a node no peer could decode.
	lim := dag.ValueLimits(distinctions.Limits{MaxBytes: 4*n.opts.MaxValueSize + 1024})
	if len(text) > lim.MaxBytes {
		return nil, nil, fmt.Errorf("%w: %d bytes of JSON; the limit is %d bytes encoded", ErrValueTooLarge, len(text), n.opts.MaxValueSize)
	}
	tree, err := distinctions.ParseJSON(text, lim)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidValue, err)
	}
	d, err := distinctions.EncodeValue(tree, lim)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidValue, err)
	}
	if len(d.Bytes) > n.opts.MaxValueSize {
		return nil, nil, fmt.Errorf("%w: %d bytes encoded; the limit is %d", ErrValueTooLarge, len(d.Bytes), n.opts.MaxValueSize)
	}
	return d.Bytes, tree, nil
}

// run is the space's writer: it takes every queued request, commits them in as few
// nodes as their keys allow, makes them durable with one sync, then acknowledges.
func (sp *space) run(ctx context.Context) {
	defer sp.n.wg.Done()
	for {
		select {
		case <-ctx.Done():
			sp.drain()
			return
		case r := <-sp.queue:
			batch, ops, size := []*writeReq{r}, len(r.ops), r.bytes
		more:
			for ops < maxGroupOps && size < maxGroupByte {
				select {
				case r := <-sp.queue:
					batch = append(batch, r)
					ops, size = ops+len(r.ops), size+r.bytes
				default:
					break more
				}
			}
			sp.commit(batch)
		}
	}
}

// drain fails every queued request once the node is closing.
func (sp *space) drain() {
	for {
		select {
		case r := <-sp.queue:
			r.done <- writeDone{err: ErrClosed}
		default:
			return
		}
	}
}

// commit writes batch: requests whose keys do not overlap share a node; a request
// that touches a key already in the current node starts the next one, on top of it.
func (sp *space) commit(batch []*writeReq) {
	type group struct {
		reqs []*writeReq
		node *dag.Node
		err  error
	}
	var groups []*group
	keys := map[string]bool{}
	for _, r := range batch {
		overlap := len(groups) == 0 || !groups[len(groups)-1].reqs[0].cap.Equals(r.cap)
		for _, op := range r.ops {
			overlap = overlap || keys[op.Key]
		}
		if overlap {
			groups = append(groups, &group{})
			clear(keys)
		}
		g := groups[len(groups)-1]
		g.reqs = append(g.reqs, r)
		for _, op := range r.ops {
			keys[op.Key] = true
		}
	}

	var events []Event
	sp.mu.Lock()
	for i := 0; i < len(groups); i++ {
		g := groups[i]
		var ops []dag.Op
		var trees []any
		for _, r := range g.reqs {
			ops = append(ops, r.ops...)
			trees = append(trees, r.trees...)
		}
		g.node, g.err = sp.apply(ops, trees, g.reqs[0].cap, &events)
		if errors.Is(g.err, distinctions.ErrTooLarge) && len(g.reqs) > 1 {
			// Together the requests make a node beyond a node's limits (apply stored
			// nothing): each half goes in a node of its own, the second on the first.
			half := len(g.reqs) / 2
			groups = slices.Replace(groups, i, i+1, &group{reqs: g.reqs[:half]}, &group{reqs: g.reqs[half:]})
			i--
		}
	}
	sp.mu.Unlock()

	syncErr := sp.n.store.Sync()
	if syncErr == nil { // before the acks: once a write returns, its events are queued
		sp.n.subs.publish(events)
	}
	var written []*dag.Node
	for _, g := range groups {
		err := g.err
		if errors.Is(err, distinctions.ErrTooLarge) {
			err = fmt.Errorf("%w: the write does not fit in one node: %v", ErrValueTooLarge, err)
		}
		if err == nil && syncErr != nil {
			err = fmt.Errorf("sync: %w", syncErr)
		}
		var res WriteResult
		if err == nil {
			res = WriteResult{Version: g.node.CID(), Clock: g.node.Clock}
			written = append(written, g.node)
		}
		for _, r := range g.reqs {
			r.done <- writeDone{res: res, err: err}
		}
	}
	sp.n.net.publish(sp, written) // every write path replicates live
}

// apply builds, signs and stores one node of ops on the current heads, then caches
// the new state of every key it wrote. trees[i] is ops[i]'s parsed value. sp.mu is held.
func (sp *space) apply(ops []dag.Op, trees []any, capability cid.Cid, events *[]Event) (*dag.Node, error) {
	heads, err := sp.store.Heads()
	if err != nil {
		return nil, err
	}
	parents := make([]*dag.Node, len(heads))
	for i, h := range heads {
		if parents[i], err = sp.store.Get(h); err != nil {
			return nil, err
		}
	}
	olds := make([]*entryState, len(ops))
	for i := range ops {
		// The key's state, cached or read, names its key-heads: the new version's prev.
		if olds[i], err = sp.state(ops[i].Key); err != nil {
			return nil, err
		}
		ops[i].Prev = olds[i].entry.Heads
	}
	node, err := dag.NewNode(dag.Draft{Space: sp.id(), Parents: parents, Ops: ops, Cap: capability, ValuesCanonical: true}, &sp.clock,
		sp.n.opts.Now().UnixNano(), sp.n.key, distinctions.Limits{MaxBytes: sp.n.maxNodeBytes()})
	if err != nil {
		return nil, err
	}
	// Our own node, built on what the store holds: its parents and prevs are there and
	// NewNode set its height and clock from them, so the Ingester's checks would only
	// fetch them all again.
	if err := sp.store.PutVerified(node); err != nil {
		return nil, err
	}
	sp.addItem(node)
	if sp.acc != nil && sp.acc.note(node) {
		sp.n.hot.Clear() // what a revocation voids reads differently
		sp.n.net.revoked(sp)
	}
	for i, op := range ops {
		if err := sp.wrote(node, op, trees[i], olds[i], events); err != nil {
			return nil, err
		}
	}
	return node, nil
}
