package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// spaceOut is the --json of space join and import.
type spaceOut struct {
	Name  string `json:"name"`
	ID    string `json:"id"`
	Open  bool   `json:"open"`
	Owner string `json:"owner"`
}

// spaceID returns the ID of the space name in c's space list.
func spaceID(t *testing.T, c *cliRunner, name string) string {
	t.Helper()
	var spaces []spaceOut
	c.okJSON(&spaces, "space", "list")
	for _, s := range spaces {
		if s.Name == name {
			return s.ID
		}
	}
	t.Fatalf("no space %q in %+v", name, spaces)
	return ""
}

// peerID returns c's peer ID.
func peerID(t *testing.T, c *cliRunner) string {
	t.Helper()
	var id struct {
		PeerID string `json:"peer_id"`
	}
	c.okJSON(&id, "id")
	return id.PeerID
}

// TestSpaceInviteJoin: invite prints a ticket; join in a second data directory,
// without a daemon, adds the space (not its data: there is no network).
func TestSpaceInviteJoin(t *testing.T) {
	a, b := newCLI(t), newCLI(t)
	a.ok("put", "users/ada", `{"name":"Ada"}`)
	var inv struct{ Ticket, Space string }
	a.okJSON(&inv, "space", "invite")
	if !strings.HasPrefix(inv.Ticket, "korup2p1") || inv.Space != "default" {
		t.Fatalf("space invite --json = %+v", inv)
	}
	r := a.run("space", "invite")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "korup2p1") || strings.Count(r.stdout, "\n") != 1 ||
		!strings.Contains(r.stderr, "no daemon running") {
		t.Fatalf("space invite: %+v", r)
	}

	// Without --for the ticket is a secret, and says so; with it, not.
	if !strings.Contains(r.stderr, "anyone holding this ticket can join default with read on *: keep it secret") {
		t.Fatalf("space invite: stderr %q", r.stderr)
	}
	bID := peerID(t, b)
	r = a.run("space", "invite", "--write", "--for", bID, "--expires", "7d", "--keys", "notes/*")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "korup2p1") || strings.Contains(r.stderr, "secret") ||
		strings.Contains(r.stderr, "not enforced") {
		t.Fatalf("space invite with capability flags: %+v", r)
	}
	var capInv struct {
		Ticket, Space, Can, For, Expires string
		Keys                             []string
	}
	a.okJSON(&capInv, "space", "invite", "--admin", "--for", bID, "--expires", "24h")
	if capInv.Can != "admin" || capInv.For != bID || capInv.Keys != nil || capInv.Expires == "" {
		t.Fatalf("space invite --admin --json = %+v", capInv)
	}
	if r := a.run("space", "invite", "--help"); !strings.Contains(r.stdout, "Treat such a ticket as a secret") {
		t.Fatalf("space invite --help: %q", r.stdout)
	}
	a.fails(2, "do not go together", "space", "invite", "--write", "--admin")
	a.fails(2, "not a peer ID", "space", "invite", "--for", "nobody")
	a.fails(2, "invalid --expires", "space", "invite", "--expires", "soon")
	a.fails(2, "--keys", "space", "invite", "--keys", "")
	a.fails(1, "unknown space", "--space", "nope", "space", "invite")

	// b has a "default" of its own: the ticket's name is taken.
	b.fails(1, "--as", "space", "join", inv.Ticket)
	var sp spaceOut
	b.okJSON(&sp, "space", "join", inv.Ticket, "--as", "shared")
	aID := peerID(t, a)
	if sp.Name != "shared" || sp.ID != spaceID(t, a, "default") || sp.Open || sp.Owner != aID {
		t.Fatalf("space join --json = %+v", sp)
	}
	if got := b.ok("--space", "shared", "ls"); got != "" { // the space, not its data
		t.Fatalf("ls of a space joined offline = %q", got)
	}
	b.fails(1, "not found", "--space", "shared", "get", "users/ada")
	r = b.run("space", "join", inv.Ticket, "--as", "shared") // held already: printed again
	if r.code != 0 || r.stdout != "joined restricted space shared ("+sp.ID+")\n" || !strings.Contains(r.stderr, "no daemon running") {
		t.Fatalf("space join of a space held: %+v", r)
	}

	// An open space joins by name alone.
	a.ok("space", "create", "sensors", "--open")
	var open spaceOut
	b.okJSON(&open, "space", "join", "sensors")
	if open.Name != "sensors" || !open.Open || open.ID != spaceID(t, a, "sensors") {
		t.Fatalf("space join NAME --json = %+v", open)
	}

	b.fails(2, "invalid invite ticket", "space", "join", "korup2p1zzzz")
	b.fails(2, "invalid invite ticket", "space", "join", inv.Ticket[:len(inv.Ticket)/2])
	b.fails(2, "neither an invite ticket", "space", "join", "no good")
	b.fails(2, "--as", "space", "join", "sensors", "--as", "a/b")
	b.fails(2, "accepts 1 arg", "space", "join")
}

// TestExportImport: export from one data directory, import into another (the
// name taken, then --as), the values read there; - for stdout and stdin.
func TestExportImport(t *testing.T) {
	a, b := newCLI(t), newCLI(t)
	a.ok("put", "users/ada", `{"name":"Ada"}`)
	a.ok("put", "users/grace", `{"name":"Grace"}`)
	a.ok("put", "users/ada", "--patch", `{"city":"London"}`)
	a.ok("space", "create", "notes", "--open")
	a.ok("--space", "notes", "put", "n/1", `"one"`)
	dir := t.TempDir()
	file := filepath.Join(dir, "a.car")

	var ex struct {
		Space, File string
		Bytes       int64
	}
	a.okJSON(&ex, "export", file)
	fi, err := os.Stat(file)
	if err != nil || ex.Space != "default" || ex.File != file || ex.Bytes != fi.Size() || ex.Bytes == 0 {
		t.Fatalf("export --json = %+v; file: %v %v", ex, fi, err)
	}
	if got := a.ok("export", file); !strings.HasPrefix(got, "exported default to "+file+" (") {
		t.Fatalf("export = %q", got)
	}
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Fatalf("export left %v, want a.car alone", left)
	}

	b.fails(1, "--as", "import", file) // b's own "default" takes the name
	var sp spaceOut
	b.okJSON(&sp, "import", file, "--as", "from-a")
	if sp.Name != "from-a" || sp.ID != spaceID(t, a, "default") || sp.Owner != peerID(t, a) {
		t.Fatalf("import --json = %+v", sp)
	}
	if got := b.ok("--space", "from-a", "get", "users/ada"); got != `{"city":"London","name":"Ada"}`+"\n" {
		t.Fatalf("get after import = %q", got)
	}
	if got := b.ok("--space", "from-a", "get", "users/grace"); got != `{"name":"Grace"}`+"\n" {
		t.Fatalf("get after import = %q", got)
	}
	var hist []struct{ Kind string }
	b.okJSON(&hist, "--space", "from-a", "history", "users/ada")
	if len(hist) != 2 || hist[1].Kind != "patch" {
		t.Fatalf("history after import = %+v", hist)
	}
	// Again: nothing new, the same space.
	if got := b.ok("import", file, "--as", "from-a"); got != "imported restricted space from-a ("+sp.ID+")\n" {
		t.Fatalf("import again = %q", got)
	}

	// - is stdout for export, stdin for import.
	car := a.ok("--space", "notes", "export", "-")
	if len(car) == 0 || strings.Contains(car, "exported") {
		t.Fatalf("export - wrote %d bytes: %.40q", len(car), car)
	}
	if r := b.runIn(car, "import", "-"); r.code != 0 || !strings.HasPrefix(r.stdout, "imported open space notes (") {
		t.Fatalf("import -: %+v", r)
	}
	if got := b.ok("--space", "notes", "get", "n/1"); got != `"one"`+"\n" {
		t.Fatalf("get after import - = %q", got)
	}

	b.fails(2, "--as", "import", file, "--as", "no good")
	b.fails(1, "no such file", "import", filepath.Join(dir, "missing.car"))
	if r := b.runIn("not a CAR file", "import", "-", "--as", "junk"); r.code != 2 || !strings.Contains(r.stderr, "invalid CAR file") {
		t.Fatalf("import of junk: %+v", r)
	}
	a.fails(1, "unknown space", "--space", "nope", "export", filepath.Join(dir, "nope.car"))
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Fatalf("a failed export left %v", left)
	}
}

// TestDaemonExportImport: export and import through two daemons.
func TestDaemonExportImport(t *testing.T) {
	a, b := newCLI(t), newCLI(t)
	da, _ := startDaemon(t, a)
	db, _ := startDaemon(t, b)
	a.ok("put", "users/ada", `{"name":"Ada"}`)
	a.ok("put", "users/grace", `{"name":"Grace"}`)
	file := filepath.Join(t.TempDir(), "a.car")

	var ex struct {
		Space string
		Bytes int64
	}
	a.okJSON(&ex, "export", file)
	if fi, err := os.Stat(file); err != nil || ex.Bytes != fi.Size() || ex.Bytes == 0 {
		t.Fatalf("export --json through the daemon = %+v; %v", ex, err)
	}
	car := a.ok("export", "-")
	if len(car) == 0 {
		t.Fatal("export - through the daemon wrote nothing")
	}
	a.fails(1, "unknown space", "--space", "nope", "export", file+".2")

	b.fails(1, "--as", "import", file)
	var sp spaceOut
	b.okJSON(&sp, "import", file, "--as", "from-a")
	if sp.Name != "from-a" || sp.ID != spaceID(t, a, "default") {
		t.Fatalf("import --json through the daemon = %+v", sp)
	}
	if got := b.ok("--space", "from-a", "get", "users/grace"); got != `{"name":"Grace"}`+"\n" {
		t.Fatalf("get after import through the daemon = %q", got)
	}
	if r := b.runIn(car, "import", "-", "--as", "from-a"); r.code != 0 || !strings.HasPrefix(r.stdout, "imported restricted space from-a") {
		t.Fatalf("import - through the daemon: %+v", r)
	}
	b.fails(2, "--as", "import", file, "--as", "no good")

	stopDaemon(t, b, db)
	stopDaemon(t, a, da)
	// What the daemon imported is in the store.
	if got := b.ok("--space", "from-a", "get", "users/ada"); got != `{"name":"Ada"}`+"\n" {
		t.Fatalf("get after the daemon stopped = %q", got)
	}
}

// TestDaemonInviteJoin: two daemons on loopback; joining by ticket connects the
// joiner to the inviter, and the space syncs: a value written on the inviter is
// readable on the joiner within a deadline, and the joiner, invited --write,
// writes a value the inviter reads.
func TestDaemonInviteJoin(t *testing.T) {
	a, b := newCLI(t), newCLI(t)
	da, _ := startDaemon(t, a)
	db, _ := startDaemon(t, b)
	before := strings.TrimSpace(a.ok("put", "doc/before", `"before the join"`))
	var inv struct{ Ticket, Space string }
	a.okJSON(&inv, "space", "invite", "--write")

	b.fails(2, "invalid invite ticket", "space", "join", "korup2p1zzzz")
	b.fails(1, "--as", "space", "join", inv.Ticket)
	var sp spaceOut
	b.okJSON(&sp, "space", "join", inv.Ticket, "--as", "shared")
	aID := peerID(t, a)
	if sp.Name != "shared" || sp.ID != spaceID(t, a, "default") || sp.Owner != aID {
		t.Fatalf("space join --json through the daemon = %+v", sp)
	}
	after := strings.TrimSpace(a.ok("put", "doc/after", `"after the join"`))

	deadline := time.Now().Add(30 * time.Second)
	for _, w := range []struct{ key, version string }{{"doc/before", before}, {"doc/after", after}} {
		for {
			r := b.run("--space", "shared", "get", w.key, "--json")
			var e struct{ Version string }
			if r.code == 0 {
				if err := json.Unmarshal([]byte(r.stdout), &e); err != nil {
					t.Fatal(err)
				}
				if e.Version == w.version {
					break
				}
			}
			if r.code > 1 || time.Now().After(deadline) {
				t.Fatalf("%s did not reach the joiner: exit %d, %s", w.key, r.code, r.stderr)
			}
			time.Sleep(50 * time.Millisecond) // polling a condition, with the deadline above
		}
	}

	fromB := strings.TrimSpace(b.ok("--space", "shared", "put", "doc/from-b", `"written by the joiner"`))
	for {
		r := a.run("get", "doc/from-b", "--json")
		var e struct{ Version string }
		if r.code == 0 && json.Unmarshal([]byte(r.stdout), &e) == nil && e.Version == fromB {
			break
		}
		if r.code > 1 || time.Now().After(deadline) {
			t.Fatalf("the joiner's write did not reach the inviter: exit %d, %s", r.code, r.stderr)
		}
		time.Sleep(50 * time.Millisecond) // polling a condition, with the deadline above
	}

	var peers []struct {
		PeerID    string          `json:"peer_id"`
		Addrs     []string        `json:"addrs"`
		Connected bool            `json:"connected"`
		LatencyMS json.RawMessage `json:"latency_ms"`
		Spaces    []string        `json:"spaces"`
	}
	b.okJSON(&peers, "peers")
	if len(peers) != 1 || peers[0].PeerID != aID || !peers[0].Connected || len(peers[0].Addrs) == 0 ||
		!strings.HasSuffix(peers[0].Addrs[0], "/p2p/"+aID) || !strings.HasPrefix(peers[0].Addrs[0], "/ip4/127.0.0.1/") ||
		peers[0].LatencyMS == nil {
		t.Fatalf("peers --json = %+v", peers)
	}
	if text := b.ok("peers"); !strings.Contains(text, "/ip4/127.0.0.1/") {
		t.Fatalf("peers = %q, want the inviter's address", text)
	}

	stopDaemon(t, b, db)
	stopDaemon(t, a, da)
}
