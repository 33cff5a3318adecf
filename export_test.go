package korup2p_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	carv2 "github.com/ipld/go-car/v2"

	"github.com/korup2p/korup2p"
)

// TestExportImport: a space exported as CAR and imported into another node reads
// the same (state digest and heads); the file is a CAR v1 any IPLD tool reads;
// importing again adds nothing; a name taken by another space needs --as.
func TestExportImport(t *testing.T) {
	a := openDisk(t, t.TempDir(), nil)
	if _, err := a.CreateSpace("notes", true); err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		mustPut(t, a, "notes", fmt.Sprintf("n/%03d", i%50), map[string]any{"i": i})
	}
	var buf bytes.Buffer
	var last int
	if err := a.Export(ctx, "notes", &buf, func(done, total int) { last = total }); err != nil {
		t.Fatal(err)
	}
	if last != 301 {
		t.Fatalf("progress total %d, want 301 nodes", last)
	}
	br, err := carv2.NewBlockReader(bytes.NewReader(buf.Bytes()))
	if err != nil || br.Version != 1 || len(br.Roots) != 2 {
		t.Fatalf("CAR: version %d roots %d, %v", br.Version, len(br.Roots), err)
	}

	b := openDisk(t, t.TempDir(), nil)
	info, err := b.Import(ctx, bytes.NewReader(buf.Bytes()), "", nil)
	if err != nil || info.Name != "notes" {
		t.Fatalf("import: %+v, %v", info, err)
	}
	same := func() {
		t.Helper()
		da, _ := a.StateDigest(ctx, "notes")
		db, err := b.StateDigest(ctx, "notes")
		ha, _ := a.Heads("notes")
		hb, _ := b.Heads("notes")
		if err != nil || da != db || fmt.Sprint(ha) != fmt.Sprint(hb) {
			t.Fatalf("imported state differs: %v", err)
		}
	}
	same()
	if _, err := b.Import(ctx, bytes.NewReader(buf.Bytes()), "", nil); err != nil {
		t.Fatalf("importing again: %v", err)
	}
	same()
	c := openDisk(t, t.TempDir(), nil)
	if _, err := c.CreateSpace("notes", false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Import(ctx, bytes.NewReader(buf.Bytes()), "", nil); !errors.Is(err, korup2p.ErrSpaceExists) {
		t.Fatalf("import over another space: %v", err)
	}
	if info, err := c.Import(ctx, bytes.NewReader(buf.Bytes()), "notes2", nil); err != nil || info.Name != "notes2" {
		t.Fatalf("import --as: %+v, %v", info, err)
	}
	if _, err := b.Import(ctx, bytes.NewReader([]byte("not a car")), "", nil); !errors.Is(err, korup2p.ErrInvalidCAR) {
		t.Fatalf("importing garbage: %v", err)
	}
}
