package crdt_test

import (
	"fmt"
	"testing"

	"github.com/korup2p/korup2p/crdt"
	"github.com/korup2p/korup2p/dag/dagtest"
)

// BenchmarkReadMerge reads a key with N concurrent heads: a 20-field record that N
// writers each changed in their own field and in one shared field (a conflict).
func BenchmarkReadMerge(b *testing.B) {
	for _, heads := range []int{1, 2, 8} {
		b.Run(fmt.Sprintf("heads=%d", heads), func(b *testing.B) {
			w := newWorld(b, heads)
			rec := `{`
			for f := range 20 {
				rec += fmt.Sprintf(`"f%02d":{"n":%d,"s":"some text"},`, f, f)
			}
			w.write(0, dagtest.Set("bench/rec", rec+`"shared":0}`))
			for i := 1; i < heads; i++ {
				w.sync(0, i)
			}
			for i := range heads {
				w.write(i, dagtest.Patch("bench/rec", fmt.Sprintf(`{"f%02d":{"n":-1},"shared":%d}`, i, i)))
			}
			for i := 1; i < heads; i++ {
				w.sync(i, 0)
			}
			s := w.peers[0].s
			if st, _ := crdt.Read(s, "bench/rec"); len(st.Heads) != heads {
				b.Fatalf("%d heads, want %d", len(st.Heads), heads)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := crdt.Read(s, "bench/rec"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
