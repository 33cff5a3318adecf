package wal_test

import (
	"fmt"
	"log"
	"os"

	"github.com/korup2p/korup2p/wal"
)

func Example() {
	dir, err := os.MkdirTemp("", "wal-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	l, err := wal.Open(dir, nil) // SyncAlways: Append returns once durable
	if err != nil {
		log.Fatal(err)
	}
	pos, err := l.Append([]byte("first"), []byte("second"))
	if err != nil {
		log.Fatal(err)
	}
	b, err := l.ReadAt(pos[1])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pos, string(b))
	if err := l.Close(); err != nil {
		log.Fatal(err)
	}

	// After a restart, replay what the index has not seen yet.
	l, err = wal.Open(dir, &wal.Options{Warn: func(msg string, kv ...any) { log.Println(msg, kv) }})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	err = l.Replay(pos[1], func(p wal.Pos, block []byte) error {
		fmt.Println("replayed", p, string(block))
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// [1:8 1:21] second
	// replayed 1:21 second
}
