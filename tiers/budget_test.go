package tiers_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/dag/dagtest"
	"github.com/korup2p/korup2p/tiers"
)

// writeNode builds a node of a on st's heads, each op's prev set to st's key-heads,
// and PutVerifies it.
func writeNode(t *testing.T, st dag.Store, a *dagtest.Author, space *dag.Node, ops ...dag.Op) (*dag.Node, error) {
	t.Helper()
	heads, err := st.Heads()
	if err != nil {
		t.Fatal(err)
	}
	parents := make([]*dag.Node, len(heads))
	for i, h := range heads {
		if parents[i], err = st.Get(h); err != nil {
			t.Fatal(err)
		}
	}
	for i := range ops {
		if ops[i].Prev, err = st.KeyHeads(ops[i].Key); err != nil {
			t.Fatal(err)
		}
	}
	n, err := a.Node(space.CID(), parents, ops...)
	if err != nil {
		t.Fatal(err)
	}
	return n, st.PutVerified(n)
}

func TestDiskBudget(t *testing.T) {
	dir := t.TempDir()
	s := newSim(t, "budget", 14)
	db := openDB(t, dir, nil)
	s.populate(space(t, db, s.g), 20)
	db.Close()
	db = openDB(t, dir, nil) // sizes as an Open measures them
	st := db.Stats()
	db.Close()

	budget := st.WALBytes + st.IndexBytes + 16<<10
	db = openDB(t, dir, &tiers.Options{DiskBudget: budget})
	sp := space(t, db, s.g)
	a := dagtest.NewAuthor(99)
	big := fmt.Sprintf("%q", strings.Repeat("x", 1000))
	acked := s.nodes
	var refused error
	for i := 0; i < 200 && refused == nil; i++ {
		n, err := writeNode(t, sp, a, s.g, dagtest.Set(fmt.Sprintf("big/%d", i), big))
		if err != nil {
			refused = err
			if ok, _ := sp.Has(n.CID()); ok {
				t.Error("a refused node was stored")
			}
			break
		}
		acked = append(acked, n)
	}
	var be *tiers.BudgetError
	if !errors.Is(refused, tiers.ErrDiskBudget) || !errors.As(refused, &be) || be.Budget != budget {
		t.Fatalf("writing past the budget: %v; want a *BudgetError for budget %d", refused, budget)
	}
	if !strings.Contains(refused.Error(), "disk budget of ") || be.Used < budget {
		t.Errorf("error %q (used %d) does not name the budget", refused, be.Used)
	}
	if len(acked) == len(s.nodes) {
		t.Errorf("the first write under the budget was refused: %v", refused)
	}
	t.Logf("%d nodes accepted before: %v", len(acked)-len(s.nodes), refused)

	if _, err := writeNode(t, sp, a, s.g, dagtest.Set("big/x", `1`), dagtest.Del("big/0")); !errors.Is(err, tiers.ErrDiskBudget) {
		t.Errorf("a node that sets and deletes: %v, want ErrDiskBudget", err)
	}
	n, err := writeNode(t, sp, a, s.g, dagtest.Del("big/0"), dagtest.Del("big/1"))
	if err != nil {
		t.Fatalf("a delete-only node at the budget: %v", err)
	}
	acked = append(acked, n)
	if err := db.Sync(); err != nil {
		t.Fatal(err)
	}
	for _, n := range acked {
		if _, err := sp.Get(n.CID()); err != nil {
			t.Fatalf("acknowledged node lost: %v", err)
		}
	}
	mustCheck(t, db)
	db.Close()

	db = openDB(t, dir, nil) // the default budget
	sp = space(t, db, s.g)
	for _, n := range acked {
		if _, err := sp.Get(n.CID()); err != nil {
			t.Fatalf("after reopening: %v", err)
		}
	}
	if _, err := writeNode(t, sp, a, s.g, dagtest.Set("big/y", `1`)); err != nil {
		t.Errorf("write under a larger budget: %v", err)
	}
}
