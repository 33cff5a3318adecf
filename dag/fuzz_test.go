package dag_test

import (
	"bytes"
	"testing"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/dag/dagtest"
	"github.com/korup2p/korup2p/distinctions"
)

// FuzzDecodeNode: no input panics Decode, and every node it accepts has a valid
// signature and re-encodes to exactly its input. Seeds live in testdata/fuzz/FuzzDecodeNode.
func FuzzDecodeNode(f *testing.F) {
	s, g := dagtest.NewSpace("fuzz")
	a := dagtest.NewAuthor(1)
	f.Add(g.Bytes())
	for _, ops := range [][]dag.Op{
		{dagtest.Set("a/1", `{"x":[1,2.5,null]}`)},
		{dagtest.Patch("a/1", `{"x":null}`), dagtest.Del("b/2")},
	} {
		n, err := a.Write(s, g.CID(), ops...)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(n.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := dag.Decode(data, distinctions.Limits{MaxBytes: 1 << 16})
		if err != nil {
			return
		}
		if !bytes.Equal(n.Bytes(), data) || !n.CID().Equals(distinctions.Sum(data)) {
			t.Fatalf("accepted node %x does not re-encode to itself", data)
		}
	})
}
