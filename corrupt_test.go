package korup2p_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/charmbracelet/log"
	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/distinctions"
	"github.com/korup2p/korup2p/wal"
)

// TestCorruptRecords: with the last WAL record torn and a byte flipped in the block
// of an earlier one, reopening skips exactly those two writes, reports both (with
// the segment and offset), and keeps every other write and its history; Check
// names the node the flipped record held, which a peer can restore; writes go on.
func TestCorruptRecords(t *testing.T) {
	dir := t.TempDir()
	n := openDisk(t, dir, nil)
	versions := map[cid.Cid]string{}
	const total = 40
	for i := range total {
		versions[mustPut(t, n, "default", fmt.Sprintf("c/%02d", i), i).Version] = fmt.Sprintf("c/%02d", i)
	}
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// Find the records of c/20 and of the last write.
	l, err := wal.Open(filepath.Join(dir, "wal"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var flipPos, lastPos wal.Pos
	var flipLen int
	err = l.Replay(wal.Pos{}, func(p wal.Pos, b []byte) error {
		nd, err := dag.DecodeTrusted(b, distinctions.DefaultLimits)
		if err != nil {
			return err
		}
		switch versions[nd.CID()] {
		case "c/20":
			flipPos, flipLen = p, len(b)
		case fmt.Sprintf("c/%02d", total-1):
			lastPos = p
		}
		return nil
	})
	if cerr := l.Close(); err == nil {
		err = cerr
	}
	if err != nil || flipLen == 0 || lastPos.IsZero() || flipPos.Segment != lastPos.Segment {
		t.Fatalf("records not found: %v %v %v", flipPos, lastPos, err)
	}
	seg, _ := filepath.Glob(filepath.Join(dir, "wal", fmt.Sprintf("*%d.wal", flipPos.Segment)))
	if len(seg) != 1 {
		t.Fatalf("segment %d: %v", flipPos.Segment, seg)
	}
	b, err := os.ReadFile(seg[0])
	if err != nil {
		t.Fatal(err)
	}
	b[flipPos.Offset+8+int64(flipLen)/2] ^= 0x40 // inside the block: the frame stays intact
	b = b[:lastPos.Offset+20]                    // the last record, cut short
	if err := os.WriteFile(seg[0], b, 0o600); err != nil {
		t.Fatal(err)
	}

	var logs strings.Builder
	n2, err := korup2p.Open(dir, &korup2p.Options{Logger: log.New(&logs)})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer n2.Close(ctx)
	for _, want := range []string{"checksum mismatch; record skipped", fmt.Sprint(flipPos.Offset), "torn", filepath.Base(seg[0])} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no %q in the logs:\n%s", want, logs.String())
		}
	}
	for i := range total {
		key := fmt.Sprintf("c/%02d", i)
		e, err := n2.Get(ctx, "default", key)
		switch {
		case i == 20 || i == total-1:
			if !errors.Is(err, korup2p.ErrNotFound) {
				t.Errorf("%s, whose record was damaged: %s, %v", key, e.Value, err)
			}
		case err != nil || string(e.Value) != fmt.Sprint(i):
			t.Errorf("%s: %s, %v", key, e.Value, err)
		default:
			if h, err := n2.History(ctx, "default", key); err != nil || len(h) != 1 {
				t.Errorf("history of %s: %d versions, %v", key, len(h), err)
			}
		}
	}
	err = n2.Check(ctx)
	if err == nil || !strings.Contains(err.Error(), "was lost") {
		t.Errorf("Check after losing a record: %v, want the lost node named", err)
	}
	mustPut(t, n2, "default", "c/20", "again")
	if e := mustGet(t, n2, "default", "c/20"); string(e.Value) != `"again"` {
		t.Errorf("rewrite after recovery: %s", e.Value)
	}
}
