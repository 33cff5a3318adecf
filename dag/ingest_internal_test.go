package dag

import (
	"errors"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p/distinctions"
)

func TestIngestRules(t *testing.T) {
	key := testKey(t, 1)
	g, _ := NewOpenGenesis("s")
	var clock Clock
	mk := func(parents []*Node, ops ...Op) *Node {
		n, err := NewNode(Draft{Space: g.CID(), Parents: parents, Ops: ops}, &clock, 1e18, key, distinctions.DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// forge re-signs n after edit and decodes it: a node that passes Decode but breaks a rule
	// that needs its parents.
	forge := func(n *Node, edit func(*Node)) *Node {
		c := *n
		edit(&c)
		out, err := Decode(reencode(t, &c, key), distinctions.DefaultLimits)
		if err != nil {
			t.Fatalf("forged node does not decode: %v", err)
		}
		return out
	}
	set := func(k, v string, prev ...cid.Cid) Op { return Op{Key: k, Kind: KindSet, Value: val(t, v), Prev: prev} }
	n1 := mk([]*Node{g}, set("a/1", `1`), set("b/1", `1`))
	n2 := mk([]*Node{n1}, set("a/1", `2`, n1.CID()))

	errNo := errors.New("no access for you")
	for _, tc := range []struct {
		name string
		n    *Node
		rule Rule
		auth func(Store, *Node) error
	}{
		{"wrong height", forge(n2, func(n *Node) { n.Height = 5 }), RuleHeight, nil},
		{"clock not after parent", forge(n2, func(n *Node) { n.Clock = n1.Clock }), RuleClock, nil},
		{"prev of another key", forge(n2, func(n *Node) { n.Ops = []Op{set("c/1", `1`, n1.CID())} }), RulePrev, nil},
		{"prev not a version", forge(n2, func(n *Node) { n.Ops = []Op{set("a/1", `1`, g.CID())} }), RulePrev, nil},
		{"access hook", n2, RuleAccess, func(_ Store, n *Node) error {
			if n.Height == 2 {
				return errNo
			}
			return nil
		}},
	} {
		s := NewMemStore()
		in := NewIngester(s, g.CID(), &IngestOptions{Authorize: tc.auth})
		for _, n := range []*Node{g, n1} {
			if res, err := in.Add(n); err != nil || res.Err() != nil {
				t.Fatal(err, res.Err())
			}
		}
		res, err := in.Add(tc.n)
		var ve *ValidationError
		if err != nil || !errors.As(res.Err(), &ve) || ve.Rule != tc.rule {
			t.Errorf("%s: Add = %+v, %v; want rule %s", tc.name, res, err, tc.rule)
		}
		if ok, _ := s.Has(tc.n.CID()); ok {
			t.Errorf("%s: rejected node was stored", tc.name)
		}
		if tc.auth != nil && !errors.Is(res.Err(), errNo) {
			t.Errorf("%s: the hook's error is not wrapped: %v", tc.name, res.Err())
		}
	}

	// A rejected node takes the pending nodes that depend on it down with it.
	s := NewMemStore()
	in := NewIngester(s, g.CID(), nil)
	bad := forge(n2, func(n *Node) { n.Height = 9 })
	child := mk([]*Node{bad}, set("b/1", `2`, n1.CID()))
	for _, n := range []*Node{g, child} {
		if _, err := in.Add(n); err != nil {
			t.Fatal(err)
		}
	}
	in.Add(n1)
	res, _ := in.Add(bad)
	if len(res.Rejected) != 2 || res.Rejected[1].Rule != RuleDepends || !res.Rejected[1].CID.Equals(child.CID()) || in.Pending() != 0 {
		t.Errorf("cascade: rejected %v, pending %d", res.Rejected, in.Pending())
	}
}
