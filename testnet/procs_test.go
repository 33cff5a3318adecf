package testnet_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/korup2p/korup2p/testnet"
)

// shared creates the open space "shared" on every daemon.
func shared(t *testing.T, ps *testnet.Procs) {
	t.Helper()
	for _, p := range ps.Procs {
		if _, err := p.CLI("space", "create", "shared", "--open"); err != nil {
			t.Fatal(err)
		}
	}
}

// httpPut writes key through daemon p's HTTP API, with the address and token its
// data directory holds.
func httpPut(t *testing.T, p *testnet.Proc, space, key, value string) {
	t.Helper()
	addr, err := os.ReadFile(filepath.Join(p.Dir, "api"))
	if err != nil {
		t.Fatal(err)
	}
	token, err := os.ReadFile(filepath.Join(p.Dir, "api.token"))
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + strings.TrimSpace(string(addr)) + "/v1/spaces/" + space + "/keys/" + key
	req, err := http.NewRequest(http.MethodPut, url, strings.NewReader(value))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT %s: %s %s", url, resp.Status, body)
	}
}

// waitValue waits until daemon p reads key in "shared" as want.
func waitValue(t *testing.T, p *testnet.Proc, key, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := p.CLI("--space", "shared", "get", key)
		if err == nil && strings.TrimSpace(string(out)) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("proc %d: %s = %q, %v; want %s", p.Index, key, out, err, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestProcs: three korup2p daemon processes on loopback, driven by the CLI: a write
// on one is read on the others; a daemon killed with SIGKILL and restarted on its
// data directory catches up with what was written meanwhile; SIGTERM stops them
// cleanly.
func TestProcs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs daemon processes")
	}
	ps := testnet.StartProcs(t, 3, nil)
	shared(t, ps)
	// A write through one daemon's HTTP API is read through the CLI on the others.
	httpPut(t, ps.Procs[0], "shared", "notes/1", `{"text":"hello"}`)
	for _, p := range ps.Procs[1:] {
		waitValue(t, p, "notes/1", `{"text":"hello"}`)
	}
	ps.Kill(2)
	for i := range 20 {
		if _, err := ps.Procs[0].CLI("--space", "shared", "put", fmt.Sprintf("notes/k%d", i), fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	ps.Start(2)
	if _, err := ps.Procs[2].CLI("connect", ps.Procs[0].Addrs[0]); err != nil {
		t.Fatal(err)
	}
	t.Logf("the restarted daemon caught up in %s", ps.WaitSame("shared", 30*time.Second))
	waitValue(t, ps.Procs[2], "notes/k19", "19")
	for i := range ps.Procs {
		ps.Stop(i)
	}
}

// TestProcsNamespaces: three daemons, each in a network namespace of its own; one
// is cut off the bridge, both sides write, the link comes back, and all converge.
func TestProcsNamespaces(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs daemon processes")
	}
	ps := testnet.StartProcs(t, 3, &testnet.ProcOptions{Namespaces: true})
	shared(t, ps)
	ps.WaitSame("shared", 30*time.Second)
	ps.Cut(2)
	if _, err := ps.Procs[0].CLI("--space", "shared", "put", "side/a", `"written on 0"`); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.Procs[2].CLI("--space", "shared", "put", "side/b", `"written on 2, cut off"`); err != nil {
		t.Fatal(err)
	}
	waitValue(t, ps.Procs[1], "side/a", `"written on 0"`)
	if out, err := ps.Procs[1].CLI("--space", "shared", "get", "side/b"); err == nil {
		t.Fatalf("a write crossed a cut link: %s", out)
	}
	ps.Restore(2)
	t.Logf("converged %s after the link came back", ps.WaitSame("shared", 60*time.Second))
	for _, p := range ps.Procs {
		waitValue(t, p, "side/a", `"written on 0"`)
		waitValue(t, p, "side/b", `"written on 2, cut off"`)
	}
}

// TestProcsMDNS: two daemons in two network namespaces joined by a bridge find each
// other by mDNS, with no address given, and sync an open space.
func TestProcsMDNS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs daemon processes")
	}
	ps := testnet.StartProcs(t, 2, &testnet.ProcOptions{Namespaces: true, MDNS: true})
	shared(t, ps)
	if _, err := ps.Procs[0].CLI("--space", "shared", "put", "found/1", `"by mdns"`); err != nil {
		t.Fatal(err)
	}
	waitValue(t, ps.Procs[1], "found/1", `"by mdns"`)
	out, err := ps.Procs[1].CLI("peers")
	if err != nil || !strings.Contains(string(out), ps.Procs[0].ID) {
		t.Fatalf("peers on proc 1: %s %v", out, err)
	}
}
