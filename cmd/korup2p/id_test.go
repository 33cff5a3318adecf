package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIDUserKey: one user on two devices. id export creates the user key on the
// first (printed, or written 0600 with --out), id import takes it on the second
// (from a file or stdin), id shows it on both, and a space the second creates is
// owned by the user; bad input is refused with exit 2.
func TestIDUserKey(t *testing.T) {
	a, b := newCLI(t), newCLI(t)
	var exp struct {
		UserID  string `json:"user_id"`
		Created bool   `json:"created"`
		Key     string `json:"key"`
	}
	a.okJSON(&exp, "id", "export")
	if exp.UserID == "" || !exp.Created || !strings.HasPrefix(exp.Key, "korup2pkey1") {
		t.Fatalf("id export --json = %+v", exp)
	}
	file := filepath.Join(t.TempDir(), "user.key")
	if out := a.ok("id", "export", "--out", file); !strings.Contains(out, exp.UserID) {
		t.Fatalf("id export --out: %q", out)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the exported file: %v %v", fi, err)
	}
	if out := b.ok("id", "import", file); !strings.Contains(out, exp.UserID) {
		t.Fatalf("id import FILE: %q", out)
	}
	if r := b.runIn(exp.Key+"\n", "id", "import", "-"); r.code != 0 {
		t.Fatalf("id import - (the same key again): %+v", r)
	}
	for _, c := range []*cliRunner{a, b} {
		var id struct {
			PeerID string `json:"peer_id"`
			UserID string `json:"user_id"`
		}
		c.okJSON(&id, "id")
		if id.UserID != exp.UserID || id.PeerID == exp.UserID {
			t.Fatalf("id --json = %+v, want user %s", id, exp.UserID)
		}
	}
	var sp struct {
		Owner string `json:"owner"`
	}
	b.okJSON(&sp, "space", "create", "journal")
	if sp.Owner != exp.UserID {
		t.Fatalf("space create on the second device: owner %s, want the user %s", sp.Owner, exp.UserID)
	}
	b.ok("--space", "journal", "put", "notes/1", `"from the second device"`)

	other := newCLI(t)
	other.fails(2, "invalid user key", "id", "import", "/dev/null")
	var oexp struct{ Key string }
	other.okJSON(&oexp, "id", "export")
	r := b.runIn(oexp.Key, "id", "import", "-")
	if r.code != 1 || !strings.Contains(r.stderr, "a different user key") {
		t.Fatalf("importing another user's key over one: %+v", r)
	}
}
