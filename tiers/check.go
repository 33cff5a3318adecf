package tiers

import (
	"errors"
	"fmt"
	"slices"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p/dag"
)

// maxProblems bounds the problems Check reports.
const maxProblems = 20

// Check verifies that the index agrees with the WAL and with itself, for crash
// tests and `korup2p check`: every indexed node is readable from the WAL, is the
// node its CID names, belongs to its space and has its dependencies indexed; the
// children, heads, key-heads, histories and keys are exactly what the indexed nodes
// imply; the counts match; the checkpoint is within the WAL. Writes wait while it
// runs. The error wraps ErrCorruptIndex and lists up to 20 problems; Repair fixes
// them.
func (db *DB) Check() error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return ErrClosed
	}
	db.wmu.Lock()
	defer db.wmu.Unlock()
	c := &checker{db: db}
	spaces, err := c.spaces()
	if err != nil {
		return err
	}
	var total int64
	for _, sp := range spaces {
		n, err := c.space(sp)
		if err != nil {
			return err
		}
		total += n
	}
	if stored, err := db.count(keyCount); err != nil {
		return err
	} else if stored != total || db.nodes.Load() != total {
		c.problem("node count is %d (in memory %d), but %d nodes are indexed", stored, db.nodes.Load(), total)
	}
	if b, err := db.index.Get(db.ctx, dsKey(keyCkpt)); err == nil {
		if p, err := decodePos(b); err != nil {
			c.problem("checkpoint: %v", err)
		} else if last := db.log.LastPos(); p.Compare(last) > 0 {
			c.problem("checkpoint %v is after the end of the wal %v", p, last)
		}
	}
	if len(c.problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrCorruptIndex, errors.Join(c.problems...))
}

type checker struct {
	db       *DB
	problems []error
}

func (c *checker) problem(format string, args ...any) {
	if len(c.problems) < maxProblems {
		c.problems = append(c.problems, fmt.Errorf(format, args...))
	}
}

func (c *checker) spaces() ([]cid.Cid, error) {
	var out []cid.Cid
	err := scan(c.db.index.DB, keySpaces, successor(keySpaces), func(key []byte) error {
		sp, err := lastCID(key)
		out = append(out, sp)
		return err
	})
	return out, err
}

// space checks one space and returns how many nodes it indexes.
func (c *checker) space(sp cid.Cid) (int64, error) {
	db, k := c.db, newSpaceKeys(sp)
	nodes := map[cid.Cid]*dag.Node{}
	var wantChildren, wantHeads, wantKHeads, wantHist, wantKeys []string
	named := map[cid.Cid]bool{}    // parents of some node
	prevNamed := map[string]bool{} // khead keys of versions named in a prev
	err := scan(db.index.DB, k.base+"/node/", successor(k.base+"/node/"), func(key []byte) error {
		id, err := lastCID(key)
		if err != nil {
			return err
		}
		v, err := db.index.Get(db.ctx, dsKey(string(key)))
		if err != nil {
			return err
		}
		e, err := decodeEntry(v)
		if err != nil {
			c.problem("%s: %v", id, err)
			return nil
		}
		n, err := db.readNode(e.pos, id)
		switch {
		case err != nil:
			c.problem("%s: %v", id, err)
			return nil
		case !n.SpaceID().Equals(sp):
			c.problem("%s: indexed in space %s but belongs to %s", id, sp, n.SpaceID())
		case n.Height != e.height:
			c.problem("%s: indexed height %d, node says %d", id, e.height, n.Height)
		}
		nodes[id] = n
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("check space %s: %w", sp, err)
	}
	standIns, err := c.standIns(k)
	if err != nil {
		return 0, fmt.Errorf("check space %s: %w", sp, err)
	}
	for id, n := range nodes {
		for _, d := range dag.Deps(n) {
			if nodes[d] != nil {
				continue
			}
			if ok, err := db.hasDistilledNode(k, d); err != nil {
				return 0, err
			} else if ok {
				continue
			}
			if lost, err := hasKey(db.index.DB, k.lost(d)); err != nil {
				return 0, err
			} else if lost {
				c.problem("%s: dependency %s was lost with a damaged wal record; a peer that holds it can restore it", id, d)
			} else {
				c.problem("%s: dependency %s is not indexed", id, d)
			}
		}
		for _, p := range n.Parents {
			named[p] = true
			wantChildren = append(wantChildren, k.child(p, id))
		}
		for _, op := range n.Ops {
			for _, p := range op.Prev {
				prevNamed[k.khead(op.Key, p)] = true
			}
			wantHist = append(wantHist, k.hist(op.Key, n))
			wantKeys = append(wantKeys, k.key(op.Key))
		}
	}
	for id, n := range nodes {
		if !named[id] {
			wantHeads = append(wantHeads, k.head(id))
		}
		for _, op := range n.Ops {
			if kh := k.khead(op.Key, id); !prevNamed[kh] {
				wantKHeads = append(wantKHeads, kh)
			}
		}
	}
	// What distillation keeps: the heads of the last cut that no whole node names,
	// and for each stand-in op its key-head (unless superseded), history and key.
	last, err := db.lastSnapshot(sp)
	if err != nil {
		return 0, err
	}
	if last != nil {
		for _, h := range last.Heads {
			if !named[h] {
				wantHeads = append(wantHeads, k.head(h))
			}
		}
	}
	for _, n := range standIns {
		for _, op := range n.Ops {
			if kh := k.khead(op.Key, n.CID()); !prevNamed[kh] {
				wantKHeads = append(wantKHeads, kh)
			}
			wantHist = append(wantHist, k.hist(op.Key, n))
			wantKeys = append(wantKeys, k.key(op.Key))
		}
	}
	for _, x := range []struct {
		what, prefix string
		want         []string
	}{
		{"children", k.base + "/child/", wantChildren},
		{"heads", k.headPrefix(), wantHeads},
		{"key-heads", k.base + "/khead/", wantKHeads},
		{"history", k.base + "/hist/", wantHist},
		{"keys", k.keyPrefix(), wantKeys},
	} {
		if err := c.same(x.what, x.prefix, x.want); err != nil {
			return 0, fmt.Errorf("check space %s: %w", sp, err)
		}
	}
	if stored, err := db.count(k.count()); err != nil {
		return 0, err
	} else if stored != int64(len(nodes)) {
		c.problem("space %s: count is %d, but %d nodes are indexed", sp, stored, len(nodes))
	}
	return int64(len(nodes)), nil
}

// same compares the index keys under prefix with want.
func (c *checker) same(what, prefix string, want []string) error {
	slices.Sort(want)
	want = slices.Compact(want)
	var got []string
	err := scan(c.db.index.DB, prefix, successor(prefix), func(key []byte) error {
		got = append(got, string(key))
		return nil
	})
	if err != nil {
		return err
	}
	for _, extra := range diff(got, want) {
		c.problem("%s: unexpected entry %s", what, extra)
	}
	for _, missing := range diff(want, got) {
		c.problem("%s: missing entry %s", what, missing)
	}
	return nil
}

// diff returns the elements of the sorted a that are not in the sorted b.
func diff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if _, ok := slices.BinarySearch(b, x); !ok {
			out = append(out, x)
		}
	}
	return out
}

// standIns returns the stand-ins of the space's distilled nodes that keep ops.
func (c *checker) standIns(k spaceKeys) ([]*dag.Node, error) {
	var out []*dag.Node
	if !c.db.hasDistilled.Load() {
		return nil, nil
	}
	err := c.db.scanMeta(metaKey(metaDist+string(k.id.Bytes())+"/"), func(key, value []byte) error {
		n, err := decodeDistEntry(k, key, value)
		if err != nil {
			c.problem("%v", err)
			return nil
		}
		if len(n.Ops) > 0 {
			out = append(out, n)
		}
		return nil
	})
	return out, err
}
