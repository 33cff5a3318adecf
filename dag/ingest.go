package dag

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p/distinctions"
)

// ErrTooManyPending is returned (wrapped) by Ingester.Add when holding the node
// would exceed IngestOptions.MaxPending. The node is dropped; fetch it again later.
var ErrTooManyPending = errors.New("too many nodes waiting for their dependencies")

// IngestOptions configure an Ingester. The zero value means the defaults.
type IngestOptions struct {
	// Limits bound the decoding of op values (see distinctions.Limits).
	Limits distinctions.Limits
	// MaxPending bounds the nodes held while their dependencies are missing.
	// Default 100,000.
	MaxPending int
	// Authorize, if set, decides whether n's author may write what n writes, given the
	// store holding n's causal past. A non-nil error rejects n with RuleAccess.
	Authorize func(s Store, n *Node) error
}

// DefaultMaxPending is the default IngestOptions.MaxPending.
const DefaultMaxPending = 100_000

// Ingester adds nodes to a Store in causal order. A node whose parents or prevs are
// missing is held as pending and its missing dependencies are reported — that is not
// an error. When they arrive, the pending nodes that were waiting are checked and
// stored, parents before children.
//
// An Ingester is not safe for concurrent use: callers serialise Add.
type Ingester struct {
	store   Store
	space   cid.Cid
	opts    IngestOptions
	pending map[cid.Cid]*waiter   // held nodes → what they wait for
	waiting map[cid.Cid][]cid.Cid // missing dependency → held nodes waiting for it
	staged  *overlay              // during AddBatch: the nodes applied so far
}

type waiter struct {
	n       *Node
	missing int
}

// Result is the outcome of one Add.
type Result struct {
	// Applied are the nodes now stored, n and any pending nodes it released,
	// in causal order (parents before children).
	Applied []*Node
	// Missing are the dependencies of n that are neither stored nor pending: the
	// CIDs to fetch. Sorted.
	Missing []cid.Cid
	// Rejected are n and pending nodes that depended on a rejected node.
	Rejected []*ValidationError
}

// Err returns the first rejection, or nil.
func (r Result) Err() error {
	if len(r.Rejected) == 0 {
		return nil
	}
	return r.Rejected[0]
}

// NewIngester returns an Ingester for the space whose ID (genesis CID) is space.
// opts may be nil.
func NewIngester(s Store, space cid.Cid, opts *IngestOptions) *Ingester {
	in := &Ingester{store: s, space: space, pending: map[cid.Cid]*waiter{}, waiting: map[cid.Cid][]cid.Cid{}}
	if opts != nil {
		in.opts = *opts
	}
	if in.opts.MaxPending <= 0 {
		in.opts.MaxPending = DefaultMaxPending
	}
	return in
}

// Pending returns the number of nodes held for missing dependencies.
func (in *Ingester) Pending() int { return len(in.pending) }

// Missing returns every dependency that pending nodes wait for and that is neither
// stored nor itself pending: what to fetch. Sorted.
func (in *Ingester) Missing() []cid.Cid {
	var out []cid.Cid
	for c := range in.waiting {
		if _, ok := in.pending[c]; !ok {
			out = append(out, c)
		}
	}
	return SortCIDs(out)
}

// Add offers n, which came from Decode or NewNode (so it passed the checks that need
// no other node). The error is for store failures and ErrTooManyPending only; a node
// that breaks a rule is reported in Result.Rejected.
func (in *Ingester) Add(n *Node) (Result, error) {
	var res Result
	c := n.CID()
	if _, ok := in.pending[c]; ok {
		return res, nil
	}
	if ok, err := in.view().Has(c); err != nil || ok {
		return res, err
	}
	if n.IsGenesis() {
		if !c.Equals(in.space) {
			res.Rejected = append(res.Rejected, invalid(RuleSpace, c, "genesis of another space (this is %s)", in.space))
			return res, nil
		}
		return res, in.apply(n, &res)
	}
	if !n.Space.Equals(in.space) {
		res.Rejected = append(res.Rejected, invalid(RuleSpace, c, "node of space %s offered to space %s", n.Space, in.space))
		return res, nil
	}
	w := &waiter{n: n}
	for _, d := range Deps(n) {
		ok, err := in.view().Has(d)
		if err != nil {
			return res, err
		}
		if ok {
			continue
		}
		w.missing++
		if _, held := in.pending[d]; !held {
			res.Missing = append(res.Missing, d)
		}
	}
	if w.missing == 0 {
		return res, in.apply(n, &res)
	}
	if len(in.pending) >= in.opts.MaxPending {
		return Result{}, fmt.Errorf("hold %s: %w (%d)", c, ErrTooManyPending, in.opts.MaxPending)
	}
	in.pending[c] = w
	for _, d := range Deps(n) {
		if ok, _ := in.view().Has(d); !ok {
			in.waiting[d] = append(in.waiting[d], c)
		}
	}
	return res, nil
}

// apply checks n against its stored dependencies, stores it, and then releases the
// pending nodes that waited only for it, lowest height first.
func (in *Ingester) apply(n *Node, res *Result) error {
	ready := []*Node{n}
	for len(ready) > 0 {
		n := ready[0]
		ready = ready[1:]
		c := n.CID()
		if verr, err := in.check(n); err != nil {
			return err
		} else if verr != nil {
			res.Rejected = append(res.Rejected, verr)
			in.rejectDependents(c, res)
			continue
		}
		if in.staged != nil {
			in.staged.put(n) // stored with the whole batch
		} else if err := in.store.PutVerified(n); err != nil {
			return err
		}
		res.Applied = append(res.Applied, n)
		for _, d := range in.waiting[c] {
			w := in.pending[d]
			if w == nil {
				continue
			}
			if w.missing--; w.missing == 0 {
				delete(in.pending, d)
				i, _ := slices.BinarySearchFunc(ready, w.n, byHeight)
				ready = slices.Insert(ready, i, w.n)
			}
		}
		delete(in.waiting, c)
	}
	return nil
}

func byHeight(a, b *Node) int {
	if c := cmp.Compare(a.Height, b.Height); c != 0 {
		return c
	}
	return cmpCID(a.CID(), b.CID())
}

func (in *Ingester) rejectDependents(c cid.Cid, res *Result) {
	stack := []cid.Cid{c}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, d := range in.waiting[c] {
			if _, ok := in.pending[d]; !ok {
				continue
			}
			delete(in.pending, d)
			res.Rejected = append(res.Rejected, invalid(RuleDepends, d, "depends on rejected node %s", c))
			stack = append(stack, d)
		}
		delete(in.waiting, c)
	}
}

// check verifies n against its stored parents and prevs. It returns a rule violation
// as its first result and a store failure as its second.
func (in *Ingester) check(n *Node) (*ValidationError, error) {
	c := n.CID()
	if n.IsGenesis() {
		return nil, nil
	}
	var height uint64
	var clock Timestamp
	for _, p := range n.Parents {
		pn, err := in.view().Get(p)
		if err != nil {
			return nil, err
		}
		if !pn.SpaceID().Equals(in.space) {
			return invalid(RuleParents, c, "parent %s is in another space", p), nil
		}
		height = max(height, pn.Height+1)
		if pn.Clock.Compare(clock) > 0 {
			clock = pn.Clock
		}
	}
	if n.Height != height {
		return invalid(RuleHeight, c, "height %d, want 1 + max(parent heights) = %d", n.Height, height), nil
	}
	if n.Clock.Compare(clock) <= 0 {
		return invalid(RuleClock, c, "clock %s is not after its parents' %s", n.Clock, clock), nil
	}
	for _, op := range n.Ops {
		for _, p := range op.Prev {
			pn, err := in.view().Get(p)
			if err != nil {
				return nil, err
			}
			// A distilled prev keeps ops only for the keys it was a key-head of at
			// the cut: whether it wrote another one cannot be checked any more.
			if _, ok := pn.Op(op.Key); !ok && !pn.IsDistilled() {
				return invalid(RulePrev, c, "prev %s of %q does not write that key", p, op.Key), nil
			}
			if pn.Height >= n.Height || pn.Clock.Compare(n.Clock) >= 0 {
				return invalid(RulePrev, c, "prev %s of %q is not older than the node", p, op.Key), nil
			}
		}
	}
	if in.opts.Authorize != nil {
		if err := in.opts.Authorize(in.view(), n); err != nil {
			v := invalid(RuleAccess, c, "%v", err)
			v.Err = err
			return v, nil
		}
	}
	return nil, nil
}

// BatchStore is a Store that can store many verified nodes at once, dependencies
// first in the slice, more cheaply than one PutVerified each (one log append, one
// index write). Nodes already held are skipped; if it fails, it may have stored a
// prefix of the nodes.
type BatchStore interface {
	Store
	PutVerifiedBatch(nodes []*Node) error
}

// AddBatch offers several nodes, in any order, as Add would one by one, but stores
// the ones it applies together (with PutVerifiedBatch when the store has it): the
// checks of a node see the nodes applied before it in the batch. The Result merges
// the per-node results; Missing is what the batch still lacks. On a store failure
// nothing of the batch is reported applied, and the nodes it held back stay held.
func (in *Ingester) AddBatch(nodes []*Node) (Result, error) {
	in.staged = &overlay{Store: in.store, nodes: map[cid.Cid]*Node{}}
	defer func() { in.staged = nil }()
	var res Result
	missing := map[cid.Cid]bool{}
	for _, n := range nodes {
		r, err := in.Add(n)
		if err != nil && !errors.Is(err, ErrTooManyPending) {
			return Result{}, err
		}
		res.Applied = append(res.Applied, r.Applied...)
		res.Rejected = append(res.Rejected, r.Rejected...)
		for _, c := range r.Missing {
			missing[c] = true
		}
	}
	if len(in.staged.list) > 0 {
		var err error
		if bs, ok := in.store.(BatchStore); ok {
			err = bs.PutVerifiedBatch(in.staged.list)
		} else {
			for _, n := range in.staged.list {
				if err = in.store.PutVerified(n); err != nil {
					break
				}
			}
		}
		if err != nil {
			return Result{}, err
		}
	}
	for c := range missing {
		if _, ok := in.pending[c]; !ok && !in.staged.held(c) {
			res.Missing = append(res.Missing, c)
		}
	}
	SortCIDs(res.Missing)
	return res, nil
}

// view is what checks read: the store, with the nodes a batch applied so far.
func (in *Ingester) view() Store {
	if in.staged != nil {
		return in.staged
	}
	return in.store
}

// overlay is a Store with the nodes of a batch in progress on top.
type overlay struct {
	Store
	nodes map[cid.Cid]*Node
	list  []*Node
}

func (o *overlay) put(n *Node) {
	o.nodes[n.CID()] = n
	o.list = append(o.list, n)
}

func (o *overlay) held(c cid.Cid) bool {
	_, ok := o.nodes[c]
	return ok
}

func (o *overlay) Get(c cid.Cid) (*Node, error) {
	if n, ok := o.nodes[c]; ok {
		return n, nil
	}
	return o.Store.Get(c)
}

func (o *overlay) Has(c cid.Cid) (bool, error) {
	if o.held(c) {
		return true, nil
	}
	return o.Store.Has(c)
}
