package dag_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/node/basicnode"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/multiformats/go-multihash"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/dag/dagtest"
	"github.com/korup2p/korup2p/distinctions"
)

func TestNodeRoundTrip(t *testing.T) {
	s, g := dagtest.NewSpace("s")
	a := dagtest.NewAuthor(1)
	must := dagtest.Must(t)
	must(a.Write(s, g.CID(), dagtest.Set("notes/1", `{"title":"hi","n":1.5}`)))
	n := must(a.Write(s, g.CID(), dagtest.Patch("notes/1", `{"n":null}`), dagtest.Del("notes/2"), dagtest.Set("notes/3", `[1,"x"]`)))
	d, err := dag.Decode(n.Bytes(), distinctions.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if !d.CID().Equals(n.CID()) || d.Height != 2 || d.Clock != n.Clock || d.Author != a.ID || len(d.Ops) != 3 {
		t.Fatalf("decoded %+v", d)
	}
	if op, ok := d.Op("notes/1"); !ok || op.Kind != dag.KindPatch || len(op.Prev) != 1 {
		t.Errorf("Op(notes/1) = %+v, %v", op, ok)
	}
	if _, ok := d.Op("notes/9"); ok {
		t.Error("Op(notes/9) found")
	}
	// Any IPLD tool reads a node: go-ipld-prime re-encodes it byte for byte.
	for _, n := range []*dag.Node{g, n} {
		nb := basicnode.Prototype.Any.NewBuilder()
		if err := dagcbor.Decode(nb, bytes.NewReader(n.Bytes())); err != nil {
			t.Fatalf("go-ipld-prime cannot decode node: %v", err)
		}
		var out bytes.Buffer
		if err := dagcbor.Encode(nb.Build(), &out); err != nil {
			t.Fatal(err)
		}
		c, _ := cid.Prefix{Version: 1, Codec: cid.DagCBOR, MhType: multihash.SHA2_256, MhLength: -1}.Sum(out.Bytes())
		if !bytes.Equal(out.Bytes(), n.Bytes()) || !c.Equals(n.CID()) {
			t.Errorf("go-ipld-prime re-encodes node %s differently (CID %s)", n.CID(), c)
		}
	}
}

func TestClock(t *testing.T) {
	var c dag.Clock
	now := func(wall int64) dag.Timestamp {
		t.Helper()
		ts, err := c.Now(wall)
		if err != nil {
			t.Fatalf("Now(%d): %v", wall, err)
		}
		return ts
	}
	t1 := now(100)
	t2 := now(100) // same wall reading: logical counter breaks the tie
	t3 := now(50)  // the wall clock went back: still after
	if !(t1.Compare(t2) < 0 && t2.Compare(t3) < 0) || t1 != (dag.Timestamp{Wall: 100}) || t3 != (dag.Timestamp{Wall: 100, Logical: 2}) {
		t.Fatalf("clock not monotonic: %v %v %v", t1, t2, t3)
	}
	c.Observe(dag.Timestamp{Wall: 1000, Logical: 7}) // a peer ahead of us
	if t4 := now(200); t4 != (dag.Timestamp{Wall: 1000, Logical: 8}) {
		t.Errorf("after observing a later clock, Now = %v", t4)
	}
	if t5 := now(2000); t5 != (dag.Timestamp{Wall: 2000}) {
		t.Errorf("wall clock caught up, Now = %v", t5)
	}
	c.Observe(dag.Timestamp{Wall: 3000, Logical: 1<<32 - 1})
	if t6 := now(0); t6 != (dag.Timestamp{Wall: 3001}) {
		t.Errorf("logical overflow: Now = %v", t6)
	}
	// The end: a wall reading past MaxWall counts as MaxWall, and once the counter
	// is full there, Now fails instead of wrapping around to the past.
	if t7 := now(dag.MaxWall + 5); t7 != (dag.Timestamp{Wall: dag.MaxWall}) {
		t.Errorf("wall past MaxWall: Now = %v", t7)
	}
	c.Observe(dag.Timestamp{Wall: dag.MaxWall, Logical: 1<<32 - 2})
	if t8 := now(0); t8 != (dag.Timestamp{Wall: dag.MaxWall, Logical: 1<<32 - 1}) {
		t.Errorf("last timestamp: Now = %v", t8)
	}
	for _, wall := range []int64{0, dag.MaxWall, math.MaxInt64} {
		if ts, err := c.Now(wall); !errors.Is(err, dag.ErrClockExhausted) {
			t.Errorf("Now(%d) at the end = %v, %v; want ErrClockExhausted", wall, ts, err)
		}
	}
	if got := c.Last(); got != (dag.Timestamp{Wall: dag.MaxWall, Logical: 1<<32 - 1}) {
		t.Errorf("an exhausted Now moved the clock to %v", got)
	}
	if s := (dag.Timestamp{Wall: 1_500_000_000_123_456_789, Logical: 2}).String(); s != "2017-07-14T02:40:00.123456789Z+2" {
		t.Errorf("String = %s", s)
	}
}

// nested returns the encoding of levels nested arrays.
func nested(t *testing.T, levels int) []byte {
	t.Helper()
	var v any = []any{}
	for range levels - 1 {
		v = []any{v}
	}
	d, err := distinctions.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return d.Bytes
}

// TestNewNodeDecodes: NewNode makes only nodes that Decode takes back, under the same
// limits — never a node stored locally that no peer, and no restart, can read.
func TestNewNodeDecodes(t *testing.T) {
	_, g := dagtest.NewSpace("s")
	a := dagtest.NewAuthor(1)
	l := distinctions.DefaultLimits
	write := func(ops ...dag.Op) (*dag.Node, error) {
		return dag.NewNode(dag.Draft{Space: g.CID(), Parents: []*dag.Node{g}, Ops: ops}, &a.Clock, dagtest.Epoch, a.Key, l)
	}

	// A value as deep as ValueLimits allows fits; one level more does not.
	deepest := dag.ValueLimits(l).MaxDepth
	if deepest != l.MaxDepth-dag.OpValueDepth {
		t.Fatalf("ValueLimits depth %d, want %d", deepest, l.MaxDepth-dag.OpValueDepth)
	}
	n, err := write(dag.Op{Key: "k/deep", Kind: dag.KindSet, Value: nested(t, deepest)})
	if err != nil {
		t.Fatalf("a value %d deep: %v", deepest, err)
	}
	if _, err := dag.Decode(n.Bytes(), l); err != nil {
		t.Fatalf("NewNode made a node Decode refuses: %v", err)
	}
	for _, levels := range []int{deepest + 1, l.MaxDepth} {
		if _, err := write(dag.Op{Key: "k/deep", Kind: dag.KindSet, Value: nested(t, levels)}); !errors.Is(err, distinctions.ErrTooLarge) {
			t.Errorf("a value %d deep in a node: %v, want ErrTooLarge", levels, err)
		}
	}

	// More ops than an array may hold.
	ops := make([]dag.Op, l.MaxItems+1)
	for i := range ops {
		ops[i] = dag.Op{Key: fmt.Sprintf("k/%07d", i), Kind: dag.KindDel}
	}
	if _, err := write(ops...); !errors.Is(err, distinctions.ErrTooLarge) {
		t.Errorf("%d ops in a node: %v, want ErrTooLarge", len(ops), err)
	}
	if n, err := write(ops[:l.MaxItems]...); err != nil {
		t.Errorf("%d ops in a node: %v", l.MaxItems, err)
	} else if _, err := dag.Decode(n.Bytes(), l); err != nil {
		t.Errorf("NewNode made a node of %d ops that Decode refuses: %v", l.MaxItems, err)
	}

	// Only Ed25519 keys sign: Decode refuses any other author.
	secp, _, err := crypto.GenerateSecp256k1Key(rand.New(rand.NewSource(1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dag.NewNode(dag.Draft{Space: g.CID(), Parents: []*dag.Node{g}, Ops: []dag.Op{dagtest.Del("k/x")}},
		&a.Clock, dagtest.Epoch, secp, l); err == nil || !strings.Contains(err.Error(), "Ed25519") {
		t.Errorf("NewNode with a secp256k1 key: %v", err)
	}

	// A clock after MaxWall does not decode: no node pushes its successors' clocks
	// to the end of int64.
	var late dag.Clock
	late.Observe(dag.Timestamp{Wall: dag.MaxWall, Logical: 1<<32 - 2})
	n, err = dag.NewNode(dag.Draft{Space: g.CID(), Parents: []*dag.Node{g}, Ops: []dag.Op{dagtest.Del("k/x")}}, &late, 0, a.Key, l)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dag.Decode(n.Bytes(), l); err != nil {
		t.Errorf("a node at MaxWall: %v", err)
	}
	if _, err := dag.NewNode(dag.Draft{Space: g.CID(), Parents: []*dag.Node{n}, Ops: []dag.Op{dagtest.Del("k/x")}}, &late, 0, a.Key, l); !errors.Is(err, dag.ErrClockExhausted) {
		t.Errorf("a node after the last timestamp: %v, want ErrClockExhausted", err)
	}
}

func TestValidateKey(t *testing.T) {
	for k, ok := range map[string]bool{
		"users/ada": true, "a/b/c": true, "日本/語": true, "a/ b": true,
		"": false, "nouser": false, "/x": false, "x/": false, "a/\x00": false, "a/\n": false,
		"a/" + string(make([]byte, 1023)): false, "a/\xff": false,
	} {
		if err := dag.ValidateKey(k); (err == nil) != ok {
			t.Errorf("ValidateKey(%q) = %v, want ok=%v", k, err, ok)
		}
	}
	long := "a/" + string(bytes.Repeat([]byte("x"), dag.MaxKeyLen-2))
	if err := dag.ValidateKey(long); err != nil {
		t.Errorf("1024-byte key: %v", err)
	}
	if err := dag.ValidateKey(long + "x"); err == nil {
		t.Error("1025-byte key accepted")
	}
}
