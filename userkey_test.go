package korup2p_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/caps"
)

// TestUserKeyDevices: one user, two devices. The user key is exported from the
// first device's data directory and imported into the second's; a restricted space
// the first creates is owned by the user, and the second, once it holds the space,
// writes to it with no grant from the first — each device writing as itself — and
// the first accepts the write on ingest. A third peer without the key may not write.
func TestUserKeyDevices(t *testing.T) {
	dirA, dirB, dirC := t.TempDir(), t.TempDir(), t.TempDir()
	text, user, created, err := korup2p.ExportUserKey(dirA)
	if err != nil || !created || user == "" {
		t.Fatalf("export: %q %s %v %v", text, user, created, err)
	}
	if again, _, created, err := korup2p.ExportUserKey(dirA); err != nil || created || again != text {
		t.Fatalf("export again: created %v, same %v, %v", created, again == text, err)
	}
	if fi, err := os.Stat(filepath.Join(dirA, "user.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("user.key: %v %v", fi, err)
	}
	if got, err := korup2p.ImportUserKey(dirB, text+"\n"); err != nil || got != user {
		t.Fatalf("import: %s, %v", got, err)
	}
	if _, err := korup2p.ImportUserKey(dirB, text); err != nil {
		t.Fatalf("importing the same key again: %v", err)
	}
	other, _, _, _ := korup2p.ExportUserKey(t.TempDir())
	if _, err := korup2p.ImportUserKey(dirB, other); !errors.Is(err, korup2p.ErrUserKeyExists) {
		t.Fatalf("importing another user's key over it: %v", err)
	}
	for _, bad := range []string{"", "korup2pkey1", "korup2pkey1zzzz", text[:len(text)/2], "hello"} {
		if _, err := korup2p.ImportUserKey(t.TempDir(), bad); !errors.Is(err, korup2p.ErrInvalidUserKey) {
			t.Errorf("import %q: %v, want ErrInvalidUserKey", bad, err)
		}
	}

	a := openAt(t, dirA)
	b := openAt(t, dirB)
	c := openAt(t, dirC)
	if a.UserID() != user || b.UserID() != user || c.UserID() != "" || a.ID() == b.ID() {
		t.Fatalf("IDs: a %s/%s, b %s/%s, c %q", a.ID(), a.UserID(), b.ID(), b.UserID(), c.UserID())
	}
	info, err := a.CreateSpace("journal", false)
	if err != nil || info.Owner != user {
		t.Fatalf("create: %+v, %v (want the user as owner)", info, err)
	}
	mustPut(t, a, "journal", "notes/a", "from A")

	car := exportCAR(t, a, "journal")
	for _, n := range []*korup2p.Node{b, c} {
		if _, err := n.Import(ctx, bytes.NewReader(car), "", nil); err != nil {
			t.Fatalf("import into %s: %v", n.ID(), err)
		}
	}
	res := mustPut(t, b, "journal", "notes/b", "from B")
	if _, err := c.Put(ctx, "journal", "notes/c", "from C"); !errors.Is(err, korup2p.ErrDenied) {
		t.Fatalf("a peer without the user key writes: %v", err)
	}
	if _, err := a.Import(ctx, bytes.NewReader(exportCAR(t, b, "journal")), "", nil); err != nil {
		t.Fatalf("the first device ingests the second's write: %v", err)
	}
	e := mustGet(t, a, "journal", "notes/b")
	if string(e.Value) != `"from B"` || e.Author != b.ID() || !e.Version.Equals(res.Version) {
		t.Fatalf("notes/b on A: %s by %s", e.Value, e.Author)
	}
	list, err := a.Capabilities("journal")
	if err != nil {
		t.Fatal(err)
	}
	devices := map[string]bool{}
	for _, cp := range list {
		if cp.Issuer == user && cp.Ability == caps.Admin && cp.Status == korup2p.StatusValid {
			devices[cp.Audience.String()] = true
		}
	}
	if !devices[a.ID().String()] || !devices[b.ID().String()] || len(devices) != 2 {
		t.Fatalf("device tokens: %v", list)
	}
}

func openAt(t *testing.T, dir string) *korup2p.Node {
	t.Helper()
	n, err := korup2p.Open(dir, &korup2p.Options{Logger: quietLogger(), Durability: korup2p.DurabilityNone})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(ctx) })
	return n
}

func exportCAR(t *testing.T, n *korup2p.Node, space string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := n.Export(ctx, space, &buf, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCapabilitiesSurviveDistillation: tokens folded into a snapshot still
// authorise after a restart: the device keeps the token it had (no new one is
// needed) and writes on.
func TestCapabilitiesSurviveDistillation(t *testing.T) {
	dir := t.TempDir()
	if _, _, _, err := korup2p.ExportUserKey(dir); err != nil {
		t.Fatal(err)
	}
	opts := func() *korup2p.Options {
		return &korup2p.Options{Logger: quietLogger(), Durability: korup2p.DurabilityNone, SegmentSize: 16 << 10,
			Retention: korup2p.Retention{Keep: 10}, DistillEvery: time.Hour}
	}
	n, err := korup2p.Open(dir, opts())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.CreateSpace("journal", false); err != nil {
		t.Fatal(err)
	}
	before, err := n.Capabilities("journal")
	if err != nil || len(before) != 1 {
		t.Fatalf("capabilities: %v, %v", before, err)
	}
	for i := range 400 {
		mustPut(t, n, "journal", fmt.Sprintf("notes/%d", i%20), map[string]any{"i": i, "pad": strings.Repeat("x", 100)})
	}
	if res, err := n.Distill(ctx); err != nil || res.Nodes == 0 {
		t.Fatalf("distill: %+v, %v", res, err)
	}
	heads, err := n.Heads("journal")
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
	n = openAt(t, dir)
	if again, err := n.Heads("journal"); err != nil || len(again) != 1 || !again[0].Equals(heads[0]) {
		t.Fatalf("heads after a restart: %v, %v; want %v (no new device token needed)", again, err, heads)
	}
	after, err := n.Capabilities("journal")
	if err != nil || len(after) != 1 || !after[0].ID.Equals(before[0].ID) || after[0].Status != korup2p.StatusValid {
		t.Fatalf("after distillation and a restart: %+v, %v (before %+v)", after, err, before)
	}
	mustPut(t, n, "journal", "notes/after", "still writes")
}
