package tiers_test

import (
	"fmt"
	"log"
	"os"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/dag/dagtest"
	"github.com/korup2p/korup2p/tiers"
)

func Example() {
	dir, err := os.MkdirTemp("", "tiers-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	db, err := tiers.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	g, err := dag.NewOpenGenesis("notes")
	if err != nil {
		log.Fatal(err)
	}
	st, err := db.Space(g)
	if err != nil {
		log.Fatal(err)
	}
	if err := st.PutVerified(g); err != nil {
		log.Fatal(err)
	}
	// Author.Write verifies the node and PutVerifies it; a root would do the same
	// through its Ingester.
	if _, err := dagtest.NewAuthor(1).Write(st, g.CID(), dagtest.Set("notes/1", `"hello"`)); err != nil {
		log.Fatal(err)
	}
	if err := db.Sync(); err != nil { // durable: now acknowledge
		log.Fatal(err)
	}
	if err := db.Close(); err != nil {
		log.Fatal(err)
	}

	db, err = tiers.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	st, _ = db.Space(g)
	keys, _ := st.Keys("notes/", "", 0)
	n, _ := st.Len()
	fmt.Println(keys, n, db.Stats().Replayed)
	// Output: [notes/1] 2 0
}
