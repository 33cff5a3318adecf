//go:build unix

package inspect_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWalkthrough runs walkthrough.sh and checks what it shows: both peer IDs in
// the peers tables, a status line, and the DAG graph.
func TestWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI and starts two daemons")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin")
	if _, err := os.Stat(filepath.Join(goBin, "go")); err != nil {
		t.Skipf("no go tool in %s", goBin)
	}

	// The deadline covers a cold build of the CLI; a warm run takes seconds.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, "walkthrough.sh")
	tmp := t.TempDir()
	cmd.Env = append(os.Environ(), "PATH="+goBin+string(os.PathListSeparator)+os.Getenv("PATH"), "TMPDIR="+tmp)
	// At the deadline the script gets SIGTERM, and its trap stops the daemons; if
	// it has not exited 15 s later, it is killed, and so is what is left of its
	// process group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 15 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	out := stdout.String()
	if err != nil {
		if cmd.Process != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // daemons left if the script was killed
		}
		t.Fatalf("walkthrough.sh: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}

	ids := regexp.MustCompile(`(?m)^peer [AB] (12D3KooW\w+)$`).FindAllStringSubmatch(out, -1)
	if len(ids) != 2 || ids[0][1] == ids[1][1] {
		t.Fatalf("want two peer IDs, got %q\n%s", ids, out)
	}
	a, b := ids[0][1], ids[1][1]
	for _, c := range []string{"connect", "peers", "status", "dag log --graph"} {
		if !regexp.MustCompile(`(?m)^\$ korup2p --data \S+ .*` + c).MatchString(out) {
			t.Errorf("the command %q is not echoed:\n%s", c, out)
		}
	}
	peersA := section(out, "$tmp/a peers")
	peersB := section(out, "$tmp/b peers")
	if !strings.Contains(peersA, b) || !strings.Contains(peersA, "connected") {
		t.Errorf("A's peers do not show B %s connected:\n%s", b, peersA)
	}
	if !strings.Contains(peersB, a) || !strings.Contains(peersB, "connected") {
		t.Errorf("B's peers do not show A %s connected:\n%s", a, peersB)
	}
	status := section(out, "$tmp/a status")
	for _, want := range []string{"peer    " + a, "mode    daemon", "peers   1 connected"} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q:\n%s", want, status)
		}
	}
	if !regexp.MustCompile(`(?m)^demo\s+open\s+2\s`).MatchString(status) {
		t.Errorf("status does not show the open space demo with 2 keys:\n%s", status)
	}
	graph := section(out, "dag log --graph")
	// Genesis, a write on each peer (two branches), and the write that merged them.
	if n := strings.Count("\n"+graph, "\n* ") + strings.Count(graph, "| * "); n != 4 || !strings.Contains(graph, "(genesis)") || !strings.Contains(graph, "|\\") {
		t.Errorf("graph with %d nodes, want 4 with a merge:\n%s", n, graph)
	}
	if !strings.Contains(out, "# done") {
		t.Errorf("the walkthrough did not finish:\n%s", out)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the walkthrough left %v in its TMPDIR", left)
	}
}

// section returns the output of the echoed command whose line ends with cmd: the
// lines up to the next command or comment of the script.
func section(out, cmd string) string {
	var lines []string
	in := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "$ korup2p "):
			in = strings.HasSuffix(line, cmd)
		case strings.HasPrefix(line, "# "):
			in = false
		case in:
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "\n")
}
