package dag_test

import (
	"bytes"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/node/basicnode"
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
	t1 := c.Now(100)
	t2 := c.Now(100) // same wall reading: logical counter breaks the tie
	t3 := c.Now(50)  // the wall clock went back: still after
	if !(t1.Compare(t2) < 0 && t2.Compare(t3) < 0) || t1 != (dag.Timestamp{Wall: 100}) || t3 != (dag.Timestamp{Wall: 100, Logical: 2}) {
		t.Fatalf("clock not monotonic: %v %v %v", t1, t2, t3)
	}
	c.Observe(dag.Timestamp{Wall: 1000, Logical: 7}) // a peer ahead of us
	if t4 := c.Now(200); t4 != (dag.Timestamp{Wall: 1000, Logical: 8}) {
		t.Errorf("after observing a later clock, Now = %v", t4)
	}
	if t5 := c.Now(2000); t5 != (dag.Timestamp{Wall: 2000}) {
		t.Errorf("wall clock caught up, Now = %v", t5)
	}
	c.Observe(dag.Timestamp{Wall: 3000, Logical: 1<<32 - 1})
	if t6 := c.Now(0); t6 != (dag.Timestamp{Wall: 3001}) {
		t.Errorf("logical overflow: Now = %v", t6)
	}
	if s := (dag.Timestamp{Wall: 1_500_000_000_123_456_789, Logical: 2}).String(); s != "2017-07-14T02:40:00.123456789Z+2" {
		t.Errorf("String = %s", s)
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
