package korup2p

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/charmbracelet/log"

	"pgregory.net/rapid"

	"github.com/korup2p/korup2p/crdt"
	"github.com/korup2p/korup2p/internal/proptest"
)

func TestMain(m *testing.M) { proptest.Main(m) }

// TestWriteMaterialisesLikeRead: the state a local write caches without decoding is
// exactly what crdt.Read computes from the store.
func TestWriteMaterialisesLikeRead(t *testing.T) {
	ctx := context.Background()
	n, err := Open("", &Options{InMemory: true, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(ctx)
	sp, _ := n.space(DefaultSpace)
	keys := []string{"m/a", "m/b", "m/c"}
	values := []string{`{"x":1,"y":{"z":2}}`, `{"y":{"w":3}}`, `[1,2]`, `"s"`, `1.5`, `null`, `{}`}
	patches := []string{`{"x":null}`, `{"y":{"z":null,"v":1}}`, `{"q":[1]}`, `"whole"`, `{}`}
	written := map[string]bool{} // the node outlives each rapid case
	rapid.Check(t, func(t *rapid.T) {
		for range rapid.IntRange(1, 8).Draw(t, "writes") {
			var ops []Op
			for _, k := range rapid.Permutation(keys).Draw(t, "keys")[:rapid.IntRange(1, 3).Draw(t, "n")] {
				written[k] = true
				switch rapid.IntRange(0, 2).Draw(t, "kind") {
				case 0:
					ops = append(ops, Op{Kind: OpPut, Key: k, Value: []byte(rapid.SampledFrom(values).Draw(t, "v"))})
				case 1:
					ops = append(ops, Op{Kind: OpPatch, Key: k, Value: []byte(rapid.SampledFrom(patches).Draw(t, "p"))})
				default:
					ops = append(ops, Op{Kind: OpDel, Key: k})
				}
			}
			if _, err := n.Batch(ctx, DefaultSpace, ops); err != nil {
				t.Fatal(err)
			}
		}
		for _, k := range keys {
			if !written[k] {
				continue // never written: nothing to cache
			}
			cached, ok := n.hot.Get(cacheKey{sp.ord, k})
			if !ok {
				t.Fatalf("%s not cached after a write", k)
			}
			st, err := crdt.Read(sp.store, k)
			if err != nil {
				t.Fatal(err)
			}
			fresh, err := materialise(st)
			if err != nil {
				t.Fatal(err)
			}
			ce, fe := cached.get(), fresh.get()
			if a, b := fmt.Sprintf("%+v", ce), fmt.Sprintf("%+v", fe); a != b || !bytes.Equal(ce.Value, fe.Value) {
				t.Fatalf("%s: cached %s, read %s", k, a, b)
			}
		}
	})
}

func discardLogger() *log.Logger { return log.New(io.Discard) }
