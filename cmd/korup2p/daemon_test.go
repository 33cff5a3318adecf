package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startDaemon starts korup2p daemon on c's data directory, on loopback only and
// without mDNS, and waits for DATA/api. It returns the process and the API address.
func startDaemon(t *testing.T, c *cliRunner) (*proc, string) {
	t.Helper()
	d := start(t, c.env, "daemon", "--data", c.data, "--api-listen", "127.0.0.1:0",
		"--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns")
	addr := strings.TrimSpace(waitFile(t, filepath.Join(c.data, "api"), 30*time.Second, d))
	return d, addr
}

// stopDaemon sends SIGTERM and checks a clean exit within a few seconds, with
// DATA/api removed.
func stopDaemon(t *testing.T, c *cliRunner, d *proc) {
	t.Helper()
	began := time.Now()
	if code := d.stop(syscall.SIGTERM, 8*time.Second); code != 0 {
		t.Fatalf("daemon after SIGTERM: exit %d; stderr:\n%s", code, d.errBuf)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("daemon took %s to shut down", took)
	}
	if _, err := os.Stat(filepath.Join(c.data, "api")); !os.IsNotExist(err) {
		t.Fatalf("DATA/api after a clean exit: %v", err)
	}
}

func TestDaemon(t *testing.T) {
	c := newCLI(t)
	d, addr := startDaemon(t, c)

	// The start line: peer ID, listen addresses, API address.
	line := d.waitLine(d.stdout, "korup2p daemon: peer ", 10*time.Second)
	if !strings.Contains(line, "/ip4/127.0.0.1/tcp/") || !strings.Contains(line, "/p2p/12D3KooW") ||
		!strings.Contains(line, "http://"+addr) {
		t.Fatalf("start line %q", line)
	}
	tok, err := os.ReadFile(filepath.Join(c.data, "api.token"))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := hex.DecodeString(strings.TrimSpace(string(tok))); err != nil || len(b) != 32 {
		t.Fatalf("api.token %q: want 32 bytes in hex", tok)
	}
	if fi, _ := os.Stat(filepath.Join(c.data, "api.token")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("api.token mode %v, want 0600", fi.Mode().Perm())
	}

	// The data commands go through the daemon.
	var st statusJSON
	c.okJSON(&st, "status")
	if st.Mode != "daemon" || len(st.Addrs) == 0 || len(st.Spaces) != 1 {
		t.Fatalf("status --json through the daemon = %+v", st)
	}
	var id struct {
		PeerID string `json:"peer_id"`
		Addrs  []string
	}
	c.okJSON(&id, "id")
	if id.PeerID != st.PeerID || len(id.Addrs) == 0 || !strings.HasSuffix(id.Addrs[0], "/p2p/"+id.PeerID) {
		t.Fatalf("id --json = %+v", id)
	}

	var w struct{ Key, Version, Clock string }
	c.okJSON(&w, "put", "users/ada", `{"name":"Ada"}`)
	checkCID(t, "put version", w.Version)
	if got := c.ok("get", "users/ada"); got != `{"name":"Ada"}`+"\n" {
		t.Fatalf("get through the daemon = %q", got)
	}
	if r := c.runIn(`{"city":"London"}`, "put", "users/ada", "--patch"); r.code != 0 {
		t.Fatalf("put --patch from stdin: %+v", r)
	}
	var e struct {
		Value     json.RawMessage
		Version   string
		Conflicts []json.RawMessage
	}
	c.okJSON(&e, "get", "users/ada")
	if string(e.Value) != `{"city":"London","name":"Ada"}` || e.Conflicts == nil {
		t.Fatalf("get --json = %+v", e)
	}
	var hist []struct{ Version, Time, Kind string }
	c.okJSON(&hist, "history", "users/ada")
	if len(hist) != 2 || hist[0].Version != w.Version || hist[1].Kind != "patch" {
		t.Fatalf("history --json = %+v", hist)
	}
	if got := c.ok("get", "users/ada", "--at", hist[0].Time); got != `{"name":"Ada"}`+"\n" {
		t.Fatalf("get --at through the daemon = %q", got)
	}
	if got := c.ok("diff", "users/ada"); got != `+ city: "London"`+"\n" {
		t.Fatalf("diff through the daemon = %q", got)
	}
	c.runIn(`{"op":"put","key":"users/grace","value":{"age":85}}`+"\n"+`{"op":"put","key":"users/alan","value":{"age":41}}`, "batch", "-")
	if got := c.ok("query", "users", "--where", "age > 50"); !strings.HasPrefix(got, "users/grace ") {
		t.Fatalf("query through the daemon = %q", got)
	}
	var listed []struct{ Key string }
	c.okJSON(&listed, "ls", "users/")
	if len(listed) != 3 {
		t.Fatalf("ls through the daemon = %+v", listed)
	}
	if graph := c.ok("dag", "log", "--graph"); strings.Count("\n"+graph, "\n* ") != 4 { // genesis, put, patch, batch
		t.Fatalf("dag log --graph through the daemon =\n%s", graph)
	}
	var node struct{ CID string }
	c.okJSON(&node, "dag", "show", w.Version)
	if node.CID != w.Version {
		t.Fatalf("dag show through the daemon = %+v", node)
	}
	c.ok("space", "create", "sensors", "--open")

	// Errors keep their exit codes through the API.
	c.fails(1, "not found", "get", "users/nobody")
	c.fails(2, "invalid key", "put", "nokey", "1")
	c.fails(2, "invalid JSON", "put", "users/x", "{")
	c.fails(1, "unknown space", "--space", "nope", "get", "users/ada")
	c.fails(1, "a daemon is running", "repair")
	bad := &cliRunner{t: t, data: c.data, env: append(slices.Clone(c.env), "KORUP2P_API_TOKEN=wrong")}
	bad.fails(1, "token", "get", "users/ada")
	// --api reaches the same daemon.
	if got := (&cliRunner{t: t, data: c.data, env: append(slices.Clone(c.env), "KORUP2P_API="+addr)}).ok("get", "users/ada"); got == "" {
		t.Fatal("get with KORUP2P_API printed nothing")
	}
	// A second daemon on the same directory fails, naming the first.
	c.fails(1, "in use by pid "+strconv.Itoa(d.cmd.Process.Pid), "daemon", "--api-listen", "127.0.0.1:0",
		"--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns")

	// watch sees the writes of other commands.
	wa := start(t, c.env, "--data", c.data, "watch", "users/", "--json")
	wa.waitLine(wa.stderr, "watching default/users/* (daemon)", 10*time.Second)
	var pw struct{ Version string }
	c.okJSON(&pw, "put", "users/watched", `{"n":1}`)
	c.ok("put", "users/watched", `{"n":2}`)
	c.ok("del", "users/watched")
	for _, want := range []struct{ typ, value string }{{"insert", `{"n":1}`}, {"update", `{"n":2}`}, {"delete", ""}} {
		var ev struct {
			Type, Key, Version string
			Value              json.RawMessage
		}
		line := wa.waitLine(wa.stdout, `"users/watched"`, 10*time.Second)
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("watch --json line %q: %v", line, err)
		}
		if ev.Type != want.typ || ev.Key != "users/watched" || string(ev.Value) != want.value && want.value != "" {
			t.Fatalf("watch --json = %q, want type %s value %s", line, want.typ, want.value)
		}
		if want.typ == "insert" && ev.Version != pw.Version {
			t.Fatalf("watch insert version %s, want %s", ev.Version, pw.Version)
		}
	}
	if code := wa.stop(syscall.SIGTERM, 5*time.Second); code != 0 {
		t.Fatalf("watch after SIGTERM: exit %d", code)
	}

	// A watch still attached does not hold the daemon up; it ends, exit 1.
	wb := start(t, c.env, "--data", c.data, "watch")
	wb.waitLine(wb.stderr, "watching default/* (daemon)", 10*time.Second)
	stopDaemon(t, c, d)
	wb.waitLine(wb.stderr, "korup2p: watch ended: the daemon stopped", 5*time.Second)
	if code := wb.wait(5 * time.Second); code != 1 {
		t.Fatalf("watch of a daemon that stopped: exit %d, want 1", code)
	}

	// The store opens directly again, with everything written through the daemon.
	if got := c.ok("--space", "sensors", "ls"); got != "" {
		t.Fatalf("ls in sensors = %q", got)
	}
	if got := c.ok("get", "users/alan"); got != `{"age":41}`+"\n" {
		t.Fatalf("get after the daemon stopped = %q", got)
	}
}

// TestDaemonsReplicate: two daemons on loopback, connected with the connect
// command, replicate an open space; peers shows each to the other.
func TestDaemonsReplicate(t *testing.T) {
	a, b := newCLI(t), newCLI(t)
	for i, c := range []*cliRunner{a, b} { // before the network: open spaces meet by name
		c.ok("space", "create", "mesh", "--open")
		// Concurrent writes of one key, from no common version: a conflict.
		c.ok("--space", "mesh", "put", "doc/1", fmt.Sprintf(`{"by":%d}`, i))
	}
	da, _ := startDaemon(t, a)
	db, _ := startDaemon(t, b)

	var ida struct {
		PeerID string `json:"peer_id"`
		Addrs  []string
	}
	a.okJSON(&ida, "id")
	var conn struct {
		PeerID string `json:"peer_id"`
	}
	b.okJSON(&conn, "connect", ida.Addrs[0])
	if conn.PeerID != ida.PeerID {
		t.Fatalf("connect --json = %+v, want %s", conn, ida.PeerID)
	}

	want := strings.TrimSpace(a.ok("--space", "mesh", "put", "temp/kitchen", "21.5"))
	deadline := time.Now().Add(30 * time.Second)
	for {
		var e struct {
			Value   json.RawMessage
			Version string
		}
		r := b.run("--space", "mesh", "get", "temp/kitchen", "--json")
		if r.code == 0 {
			if err := json.Unmarshal([]byte(r.stdout), &e); err != nil {
				t.Fatal(err)
			}
			if string(e.Value) != "21.5" || e.Version != want {
				t.Fatalf("replicated get = %+v, want 21.5 at %s", e, want)
			}
			break
		}
		if r.code != 1 || time.Now().After(deadline) {
			t.Fatalf("the write did not replicate: exit %d, %s", r.code, r.stderr)
		}
		time.Sleep(50 * time.Millisecond) // polling a condition, with the deadline above
	}

	// The concurrent writes met: two key-heads, one value won, the other is kept.
	var e struct {
		Value     json.RawMessage
		Version   string
		Heads     []string
		Conflicts []struct {
			Path   []string
			Winner string
			Value  json.RawMessage
			Losers []struct {
				Version string
				Value   json.RawMessage
			}
		}
	}
	b.okJSON(&e, "--space", "mesh", "get", "doc/1")
	if len(e.Heads) != 2 || len(e.Conflicts) != 1 || e.Conflicts[0].Winner != e.Version ||
		!slices.Equal(e.Conflicts[0].Path, []string{"by"}) || len(e.Conflicts[0].Losers) != 1 ||
		`{"by":`+string(e.Conflicts[0].Value)+`}` != string(e.Value) {
		t.Fatalf("get --json of a conflicted key = %+v", e)
	}
	text := b.ok("--space", "mesh", "get", "doc/1", "--conflicts")
	if !strings.Contains(text, "conflict by: won by "+e.Version) || !strings.Contains(text, e.Conflicts[0].Losers[0].Version) {
		t.Fatalf("get --conflicts = %q", text)
	}
	if r := b.run("--space", "mesh", "get", "doc/1"); !strings.Contains(r.stderr, "see --conflicts") {
		t.Fatalf("get of a conflicted key: stderr %q, want a note", r.stderr)
	}

	var peers []struct {
		PeerID    string          `json:"peer_id"`
		Addrs     []string        `json:"addrs"`
		Connected bool            `json:"connected"`
		LatencyMS json.RawMessage `json:"latency_ms"`
		Spaces    []string        `json:"spaces"`
		Sync      []struct {
			Space  string `json:"space"`
			InSync bool   `json:"in_sync"`
		} `json:"sync"`
	}
	b.okJSON(&peers, "peers")
	if len(peers) != 1 || peers[0].PeerID != ida.PeerID || !peers[0].Connected || peers[0].Addrs == nil ||
		peers[0].LatencyMS == nil || peers[0].Spaces == nil || peers[0].Sync == nil {
		t.Fatalf("peers --json = %+v", peers)
	}
	if text := b.ok("peers"); !strings.Contains(text, ida.PeerID) || !strings.Contains(text, "connected") {
		t.Fatalf("peers = %q", text)
	}
	var st statusJSON
	b.okJSON(&st, "status")
	if len(st.Peers) != 1 || len(st.Spaces) != 2 {
		t.Fatalf("status --json = %+v", st)
	}

	stopDaemon(t, b, db)
	stopDaemon(t, a, da)
}
