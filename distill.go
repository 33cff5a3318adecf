package korup2p

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p/crdt"
	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/distinctions"
	"github.com/korup2p/korup2p/tiers"
)

// Retention selects the history that distillation folds (Options.Retention): the
// WAL segments all of whose writes are older than Age, or that leave at least the
// newest Keep writes whole; with both set, only what both allow. The zero
// Retention keeps all history.
type Retention = tiers.Retention

// DefaultDistillEvery is how often a Node with a Retention looks for history to fold.
const DefaultDistillEvery = time.Minute

// ErrDistilled is matched by time-travel reads before a space's distillation cut:
// that history was folded into a snapshot and is gone. The current state is not
// affected.
var ErrDistilled = dag.ErrDistilled

// DistillResult says what one distillation folded.
type DistillResult struct {
	Nodes   int                  // writes folded, all spaces
	Through uint64               // the last WAL segment folded and deleted
	Spaces  map[string]*SpaceCut // the new cut of each space folded, by name
}

// SpaceCut is a space's distillation cut.
type SpaceCut struct {
	Snapshot cid.Cid       // the snapshot node: the state at the cut
	Heads    []cid.Cid     // the cut's heads
	Clock    dag.Timestamp // history at or before it is folded
}

// Distill folds the history Options.Retention lets go, now (a Node with a
// Retention also does it every Options.DistillEvery): the oldest WAL segments whose
// writes are all past the retention become a snapshot per space, and the segments
// are deleted. Current values, List and Query read the same afterwards; GetAt and
// GetAsOf before the cut fail with ErrDistilled, and History starts at the cut.
// It returns a zero DistillResult when there is nothing to fold. It works at the
// disk budget, and frees space there.
func (n *Node) Distill(ctx context.Context) (DistillResult, error) {
	if n.opts.Retention.IsZero() {
		return DistillResult{}, nil
	}
	n.distillMu.Lock()
	defer n.distillMu.Unlock()
	p, err := n.store.PlanDistill(n.opts.Retention, n.opts.Now())
	if err != nil || p == nil {
		return DistillResult{}, wrapDistill(err)
	}
	folds := map[cid.Cid][]tiers.Fold{}
	names := map[cid.Cid]*space{}
	res := DistillResult{Through: p.Through, Spaces: map[string]*SpaceCut{}}
	for _, spp := range p.Spaces {
		sp, err := n.spaceByID(spp.Space)
		if err != nil {
			return DistillResult{}, wrapDistill(err)
		}
		names[spp.Space] = sp
		if folds[spp.Space], err = sp.fold(ctx, spp); err != nil {
			return DistillResult{}, wrapDistill(fmt.Errorf("space %s: %w", sp.name, err))
		}
		res.Nodes += spp.Len()
	}
	snaps, err := n.store.Distill(p, folds)
	if err != nil {
		return DistillResult{}, wrapDistill(err)
	}
	for _, spp := range p.Spaces {
		sp := names[spp.Space]
		cut := &SpaceCut{Snapshot: snaps[spp.Space], Heads: spp.Heads, Clock: spp.Clock}
		sp.cut.Store(cut)
		res.Spaces[sp.name] = cut
	}
	n.log.Info("distilled history", "writes", res.Nodes, "through_segment", p.Through, "spaces", len(p.Spaces))
	return res, nil
}

func wrapDistill(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("distill: %w", err)
}

// fold computes the state at the cut of every key the plan's writes touch.
func (sp *space) fold(ctx context.Context, spp *tiers.SpacePlan) ([]tiers.Fold, error) {
	keep := func(nd *dag.Node) (bool, error) { return spp.Contains(nd), nil }
	out := make([]tiers.Fold, 0, len(spp.Keys))
	for _, k := range spp.Keys {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sp.mu.RLock()
		st, err := crdt.ReadWhere(sp.view(), k, keep)
		sp.mu.RUnlock()
		if err != nil {
			return nil, fmt.Errorf("fold %q: %w", k, err)
		}
		f := tiers.Fold{Key: k, Heads: st.Heads}
		if st.Exists() {
			d, err := distinctions.EncodeValue(st.Value, distinctions.Limits{MaxBytes: maxBlock})
			if err != nil {
				return nil, fmt.Errorf("fold %q: %w", k, err)
			}
			f.Value = d.Bytes
		}
		out = append(out, f)
	}
	return out, nil
}

// maxBlock bounds a folded value: the largest node a WAL record holds.
const maxBlock = 64 << 20

// spaceByID returns the attached space with genesis id.
func (n *Node) spaceByID(id cid.Cid) (*space, error) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.closed {
		return nil, ErrClosed
	}
	for _, sp := range n.spaces {
		if sp.id().Equals(id) {
			return sp, nil
		}
	}
	return nil, fmt.Errorf("%w: no space has ID %s", ErrUnknownSpace, id)
}

// distiller folds history every Options.DistillEvery until the Node closes.
func (n *Node) distiller() {
	defer n.wg.Done()
	t := time.NewTicker(n.opts.DistillEvery)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
		if _, err := n.Distill(n.ctx); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, ErrClosed) &&
			!errors.Is(err, tiers.ErrClosed) {
			n.log.Error("distillation failed; history is kept and it will be tried again", "err", err)
		}
	}
}

// loadCut reads the space's last distillation cut from storage.
func (sp *space) loadCut() error {
	info, err := sp.n.store.LastSnapshot(sp.id())
	if err != nil || info == nil {
		return err
	}
	sp.cut.Store(&SpaceCut{Snapshot: info.CID, Heads: info.Heads, Clock: info.Clock})
	return nil
}

// beforeCut returns an ErrDistilled error if ts is before the space's cut.
func (sp *space) beforeCut(ts dag.Timestamp) error {
	cut := sp.cut.Load()
	if cut == nil || ts.Compare(cut.Clock) >= 0 {
		return nil
	}
	return fmt.Errorf("%w: history before %s was distilled (snapshot %s)", ErrDistilled,
		cut.Clock.Time().Format(time.RFC3339Nano), cut.Snapshot)
}
