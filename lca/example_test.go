package lca_test

import (
	"fmt"

	"github.com/korup2p/korup2p/internal/dagshape"
	"github.com/korup2p/korup2p/lca"
)

func ExampleMergeBases() {
	// Two devices merged each other's first edits (A and B) in both
	// orders: a criss-cross, with two equally good bases.
	g := dagshape.MustParse("G -> A; G -> B; A,B -> X; A,B -> Y; X -> X2")

	bases, err := lca.MergeBases(g, g.CID("X2"), g.CID("Y"))
	if err != nil {
		panic(err)
	}
	fmt.Println(g.Names(bases))

	bases, _ = lca.MergeBases(g, g.CID("X2"), g.CID("A"))
	fmt.Println(g.Names(bases))
	// Output:
	// [A B]
	// [A]
}

func ExampleIsAncestor() {
	g := dagshape.MustParse("G -> A -> B; G -> C")
	for _, pair := range [][2]string{{"G", "B"}, {"B", "B"}, {"C", "B"}} {
		ok, err := lca.IsAncestor(g, g.CID(pair[0]), g.CID(pair[1]))
		if err != nil {
			panic(err)
		}
		fmt.Println(pair[0], "in", pair[1], ok)
	}
	// Output:
	// G in B true
	// B in B true
	// C in B false
}

func ExampleIndependent() {
	g := dagshape.MustParse("G -> A -> B; G -> C")
	heads, err := lca.Independent(g, g.CIDs("A", "B", "C", "G", "B"))
	if err != nil {
		panic(err)
	}
	fmt.Println(g.Names(heads))
	// Output: [B C]
}
