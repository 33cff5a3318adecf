package crdt_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"
	"pgregory.net/rapid"

	"github.com/korup2p/korup2p/crdt"
	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/dag/dagtest"
	"github.com/korup2p/korup2p/internal/proptest"
)

// TestMain runs every property test with 1,000 cases unless -rapid.checks says otherwise.
func TestMain(m *testing.M) { proptest.Main(m) }

var propKeys = []string{"k/a", "k/b", "k/c"}

func genValue(t *rapid.T, label string) string {
	if rapid.IntRange(0, 5).Draw(t, label+"-scalar") == 0 {
		return rapid.SampledFrom([]string{`1`, `"s"`, `null`, `[1,2]`, `2.5`}).Draw(t, label+"-v")
	}
	return genObject(t, label, []string{`0`, `1`, `2`, `{"x":1}`, `{"x":2,"y":1}`, `"t"`})
}

func genPatch(t *rapid.T, label string) string {
	return genObject(t, label, []string{`null`, `3`, `{"x":3}`, `{"y":null}`})
}

// genObject returns a JSON object with a random subset of the fields a..d, each
// holding one of values.
func genObject(t *rapid.T, label string, values []string) string {
	var b bytes.Buffer
	b.WriteByte('{')
	for _, f := range []string{"a", "b", "c", "d"} {
		if !rapid.Bool().Draw(t, label+"-has-"+f) {
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%s", f, rapid.SampledFrom(values).Draw(t, label+"-"+f))
	}
	b.WriteByte('}')
	return b.String()
}

// TestReplicasConverge: random multi-writer histories with partial syncs, delivered to
// fresh replicas in random orders with duplicates, give identical state for every key
// on every replica; merging is independent of head order; a write supersedes exactly
// the heads it was written on.
func TestReplicasConverge(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := newWorld(t, rapid.IntRange(2, 4).Draw(t, "peers"))
		var all []*dag.Node
		steps := rapid.IntRange(1, 30).Draw(t, "steps")
		for s := range steps {
			i := rapid.IntRange(0, len(w.peers)-1).Draw(t, "peer")
			if rapid.IntRange(0, 2).Draw(t, "action") > 0 {
				key := rapid.SampledFrom(propKeys).Draw(t, "key")
				var op dag.Op
				switch rapid.IntRange(0, 3).Draw(t, "kind") {
				case 0:
					op = dagtest.Del(key)
				case 1:
					op = dagtest.Patch(key, genPatch(t, fmt.Sprint("patch", s)))
				default:
					op = dagtest.Set(key, genValue(t, fmt.Sprint("value", s)))
				}
				before, _ := w.peers[i].s.KeyHeads(key)
				n := w.write(i, op)
				all = append(all, n)
				after, _ := w.peers[i].s.KeyHeads(key)
				if got, _ := n.Op(key); !slices.EqualFunc(got.Prev, before, cid.Cid.Equals) || len(after) != 1 || !after[0].Equals(n.CID()) {
					t.Fatalf("write on %v: prev %v, heads after %v", before, got.Prev, after)
				}
				continue
			}
			// A partial sync: a random subset of peer j's nodes, in random order.
			j := rapid.IntRange(0, len(w.peers)-1).Draw(t, "from")
			src := allNodes(t, w.peers[j].s)
			pick := rapid.Permutation(src).Draw(t, "order")
			pick = pick[:rapid.IntRange(0, len(pick)).Draw(t, "count")]
			in := dag.NewIngester(w.peers[i].s, w.g.CID(), nil)
			for _, n := range pick {
				if res, err := in.Add(n); err != nil || res.Err() != nil {
					t.Fatal(err, res.Err())
				}
			}
		}
		all = append(all, w.g)
		var want [][]byte
		for r := range 3 {
			s := dag.NewMemStore()
			in := dag.NewIngester(s, w.g.CID(), nil)
			deliver := rapid.Permutation(append(all, all[:rapid.IntRange(0, len(all)).Draw(t, "dups")]...)).Draw(t, "delivery")
			for _, n := range deliver {
				if res, err := in.Add(n); err != nil || res.Err() != nil {
					t.Fatal(err, res.Err())
				}
			}
			if in.Pending() != 0 {
				t.Fatalf("replica %d: %d nodes still pending", r, in.Pending())
			}
			for k, key := range propKeys {
				st, err := crdt.Read(s, key)
				if err != nil {
					t.Fatal(err)
				}
				checkRanks(t, s, st)
				b := stateBytes(t, st)
				if r == 0 {
					want = append(want, b)
				} else if !bytes.Equal(b, want[k]) {
					t.Fatalf("replica %d reads %s as\n%s\nreplica 0 as\n%s", r, key, b, want[k])
				}
				if len(st.Heads) > 1 {
					perm := rapid.Permutation(st.Heads).Draw(t, "heads")
					m, err := crdt.Merge(s, key, perm)
					if err != nil {
						t.Fatal(err)
					}
					if b2 := stateBytes(t, m); !bytes.Equal(b2, b) {
						t.Fatalf("merging %s's heads in order %v gives\n%s\nnot\n%s", key, perm, b2, b)
					}
				}
			}
		}
	})
}

// checkRanks is the model of the conflict rule: the version of a state is its head of
// greatest (clock, author, CID), and every conflict is won by the greatest of the
// versions that took part in it.
func checkRanks(t *rapid.T, s dag.Store, st crdt.State) {
	get := func(c cid.Cid) *dag.Node {
		n, err := s.Get(c)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, h := range st.Heads {
		if dag.HistoryOrder(get(h), get(st.Version)) > 0 {
			t.Fatalf("%s: head %s outranks the version %s", st.Key, h, st.Version)
		}
	}
	for _, c := range st.Conflicts {
		for _, l := range c.Losers {
			if dag.HistoryOrder(get(l.Version), get(c.Winner)) > 0 {
				t.Fatalf("%s: conflict at %q won by %s over %s, which ranks higher", st.Key, c.Path, c.Winner, l.Version)
			}
		}
	}
}
