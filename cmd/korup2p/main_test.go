package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bin is the korup2p binary TestMain builds: the tests run it as a user would.
var bin string

func TestMain(m *testing.M) {
	listOnly := false
	for _, a := range os.Args {
		listOnly = listOnly || strings.HasPrefix(a, "-test.list")
	}
	dir, err := os.MkdirTemp("", "korup2p-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "korup2p")
	if !listOnly {
		out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is the environment of every run: the test's, without KORUP2P_* variables
// (the tests pass --data), with a home of their own.
func env(t *testing.T, extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KORUP2P_") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "XDG_DATA_HOME=") {
			out = append(out, kv)
		}
	}
	return append(out, append([]string{"HOME=" + t.TempDir()}, extra...)...)
}

// result is what one run of the binary did.
type result struct {
	stdout, stderr string
	code           int
}

// cliRunner runs the binary on one data directory.
type cliRunner struct {
	t    *testing.T
	data string
	env  []string
}

func newCLI(t *testing.T) *cliRunner {
	return &cliRunner{t: t, data: filepath.Join(t.TempDir(), "data"), env: env(t)}
}

// runIn runs korup2p --data DATA args… (without --data if DATA is "") with stdin.
func (c *cliRunner) runIn(stdin string, args ...string) result {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if c.data != "" {
		args = append([]string{"--data", c.data}, args...)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = c.env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		c.t.Fatalf("korup2p %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		c.t.Fatalf("korup2p %s: timed out", strings.Join(args, " "))
	}
	return r
}

func (c *cliRunner) run(args ...string) result {
	c.t.Helper()
	return c.runIn("", args...)
}

// ok runs a command that must succeed and returns its stdout.
func (c *cliRunner) ok(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Fatalf("korup2p %s: exit %d, stderr: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// okJSON runs a command with --json that must succeed and decodes its output.
func (c *cliRunner) okJSON(v any, args ...string) {
	c.t.Helper()
	out := c.ok(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("korup2p %s --json: %v; output: %s", strings.Join(args, " "), err, out)
	}
}

// fails runs a command that must exit with code and write one line "korup2p: …"
// containing want to stderr.
func (c *cliRunner) fails(code int, want string, args ...string) result {
	c.t.Helper()
	r := c.run(args...)
	c.checkFail(r, code, want, args)
	return r
}

func (c *cliRunner) checkFail(r result, code int, want string, args []string) {
	c.t.Helper()
	if r.code != code {
		c.t.Fatalf("korup2p %s: exit %d, want %d; stdout %q stderr %q", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "korup2p: ") || !strings.Contains(last, want) {
		c.t.Fatalf("korup2p %s: stderr %q, want a line 'korup2p: …%s…'", strings.Join(args, " "), r.stderr, want)
	}
}

// proc is a long-running korup2p process (daemon, watch) with its output as lines.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout chan string
	stderr chan string
	errBuf *lockedBuffer
	exited chan struct{}
	err    error
}

// lockedBuffer keeps a process's stderr for failure messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) add(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.WriteString(s + "\n")
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// start starts korup2p args… in the background; the test kills it if it is still
// running at the end.
func start(t *testing.T, environ []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = environ
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, stdout: make(chan string, 1024), stderr: make(chan string, 1024),
		errBuf: &lockedBuffer{}, exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := func(r io.Reader, ch chan string, also *lockedBuffer, done chan struct{}) {
		defer close(done)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if also != nil {
				also.add(sc.Text())
			}
			select {
			case ch <- sc.Text():
			default: // nobody is reading: keep only what the buffer holds
			}
		}
	}
	outDone, errDone := make(chan struct{}), make(chan struct{})
	go lines(stdout, p.stdout, nil, outDone)
	go lines(stderr, p.stderr, p.errBuf, errDone)
	go func() {
		<-outDone
		<-errDone
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// waitLine waits for a line of ch containing want.
func (p *proc) waitLine(ch chan string, want string, timeout time.Duration) string {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case line := <-ch:
			if strings.Contains(line, want) {
				return line
			}
		case <-p.exited:
			// Every line it printed is in ch by now.
			for {
				select {
				case line := <-ch:
					if strings.Contains(line, want) {
						return line
					}
					continue
				default:
				}
				break
			}
			p.t.Fatalf("%s exited (%v) before printing %q; stderr:\n%s", p.cmd.Args, p.err, want, p.errBuf)
		case <-deadline:
			p.t.Fatalf("%s: no line with %q within %s; stderr:\n%s", p.cmd.Args, want, timeout, p.errBuf)
		}
	}
}

// stop sends sig and waits for the exit code, failing after timeout.
func (p *proc) stop(sig syscall.Signal, timeout time.Duration) int {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
	return p.wait(timeout)
}

// wait waits for the process to exit and returns its exit code, failing after
// timeout.
func (p *proc) wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		p.t.Fatalf("%s did not exit within %s; stderr:\n%s", p.cmd.Args, timeout, p.errBuf)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		p.t.Fatal(p.err)
	}
	return 0
}

// waitFile waits until path exists and returns its contents.
func waitFile(t *testing.T, path string, timeout time.Duration, p *proc) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within %s; stderr:\n%s", path, timeout, p.errBuf)
		}
		select {
		case <-tick.C:
		case <-p.exited:
			t.Fatalf("%s exited (%v) before writing %s; stderr:\n%s", p.cmd.Args, p.err, path, p.errBuf)
		}
	}
}
