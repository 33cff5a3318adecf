package testnet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Multi-process mode: real `korup2p daemon` processes, each with its own data
// directory, driven through the `korup2p` CLI the way a user drives them. On
// loopback by default; with Namespaces (root only), each daemon runs in a network
// namespace of its own, joined to the others through a bridge, so that links can
// be cut and restored.

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// Binary builds ./cmd/korup2p once per test binary and returns its path. It skips
// the test if the go tool is not available.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goTool); err != nil {
			buildErr = fmt.Errorf("no go tool at %s", goTool)
			return
		}
		dir, err := os.MkdirTemp("", "korup2p-testnet-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "korup2p")
		out, err := exec.Command(goTool, "build", "-o", builtBin, moduleRoot()+"/cmd/korup2p").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Skipf("cannot build the korup2p binary: %v", buildErr)
	}
	return builtBin
}

// moduleRoot is the repository root: this file's directory's parent.
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// Proc is one daemon process.
type Proc struct {
	Index int
	Dir   string
	NS    string // its network namespace; "" on loopback
	IP    string // its address in the namespace
	ID    string // peer ID
	Addrs []string

	bin    string
	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan struct{} // closed when the process has exited
	err    error         // its exit status, once exited
}

// syncBuffer is a bytes.Buffer safe for the process's writes and the test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Procs is a set of daemon processes.
type Procs struct {
	t     testing.TB
	bin   string
	dir   string
	ns    *namespaces
	mdns  bool
	Procs []*Proc
}

// ProcOptions configure StartProcs.
type ProcOptions struct {
	// Namespaces runs each daemon in a network namespace the test creates (it
	// skips the test unless it runs as root with iproute2).
	Namespaces bool
	// MDNS leaves the daemons' mDNS discovery on and does not connect them:
	// they must find each other. Only with Namespaces (mDNS multicasts on every
	// interface it sees).
	MDNS bool
}

// StartProcs starts n daemons and connects each to every other.
func StartProcs(t testing.TB, n int, opts *ProcOptions) *Procs {
	t.Helper()
	ps := &Procs{t: t, bin: Binary(t), dir: t.TempDir()}
	if opts != nil && opts.MDNS && !opts.Namespaces {
		t.Fatal("testnet: mDNS only inside network namespaces")
	}
	if opts != nil && opts.Namespaces {
		ps.ns = newNamespaces(t, n)
		ps.mdns = opts.MDNS
	}
	t.Cleanup(ps.stopAll)
	for i := range n {
		p := &Proc{Index: i, Dir: filepath.Join(ps.dir, fmt.Sprintf("proc%d", i)), bin: ps.bin}
		if ps.ns != nil {
			p.NS, p.IP = ps.ns.name(i), ps.ns.ip(i)
		}
		ps.Procs = append(ps.Procs, p)
		ps.Start(i)
	}
	for i, a := range ps.Procs {
		for _, b := range ps.Procs[i+1:] {
			if ps.mdns {
				break
			}
			if _, err := a.CLI("connect", b.Addrs[0]); err != nil {
				t.Fatalf("connect proc %d to %d: %v", a.Index, b.Index, err)
			}
		}
	}
	return ps
}

// Start (re)starts daemon i on its data directory and waits until its API answers.
func (ps *Procs) Start(i int) {
	ps.t.Helper()
	p := ps.Procs[i]
	listen := "/ip4/127.0.0.1/tcp/0"
	if p.IP != "" {
		listen = "/ip4/" + p.IP + "/tcp/4001"
	}
	args := []string{"daemon", "--data", p.Dir, "--api-listen", "127.0.0.1:0", "--listen", listen}
	if !ps.mdns {
		args = append(args, "--no-mdns")
	}
	p.cmd = p.command(args...)
	p.logs = &syncBuffer{}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	os.Remove(filepath.Join(p.Dir, "api"))
	if err := p.cmd.Start(); err != nil {
		ps.t.Fatalf("start proc %d: %v", i, err)
	}
	p.exited = make(chan struct{})
	go func(p *Proc, cmd *exec.Cmd, exited chan struct{}) {
		p.err = cmd.Wait()
		close(exited)
	}(p, p.cmd, p.exited)
	deadline := time.Now().Add(30 * time.Second)
	for {
		// Only once the daemon wrote DATA/api: a CLI run before would open the store
		// itself and hold the directory the daemon is starting on.
		_, err := os.Stat(filepath.Join(p.Dir, "api"))
		var out []byte
		if err == nil {
			out, err = p.CLI("--json", "id")
		}
		if err == nil {
			var id struct {
				PeerID string   `json:"peer_id"`
				Addrs  []string `json:"addrs"`
			}
			if err := json.Unmarshal(out, &id); err != nil {
				ps.t.Fatalf("proc %d: id: %v: %s", i, err, out)
			}
			p.ID, p.Addrs = id.PeerID, id.Addrs
			if len(p.Addrs) > 0 {
				return
			}
		}
		select {
		case <-p.exited:
			ps.t.Fatalf("proc %d exited: %v\n%s", i, p.err, p.logs)
		default:
		}
		if time.Now().After(deadline) {
			ps.t.Fatalf("proc %d not ready after 30 s\n%s", i, p.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill kills daemon i with SIGKILL, as a crash would.
func (ps *Procs) Kill(i int) {
	p := ps.Procs[i]
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Kill()
		<-p.exited
		p.cmd = nil
	}
}

// Stop stops daemon i with SIGTERM and fails the test unless it exits cleanly
// within 10 s.
func (ps *Procs) Stop(i int) {
	ps.t.Helper()
	p := ps.Procs[i]
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.err != nil {
			ps.t.Errorf("proc %d exited with %v\n%s", i, p.err, p.logs)
		}
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
		ps.t.Errorf("proc %d did not stop within 10 s", i)
	}
	p.cmd = nil
}

func (ps *Procs) stopAll() {
	for i := range ps.Procs {
		ps.Kill(i)
	}
}

// Cut cuts daemon i off the bridge (namespaces only); Restore reconnects it.
func (ps *Procs) Cut(i int) { ps.t.Helper(); ps.ns.link(ps.t, i, false) }

// Restore brings daemon i's link back.
func (ps *Procs) Restore(i int) { ps.t.Helper(); ps.ns.link(ps.t, i, true) }

// CLI runs `korup2p --data DIR args...` against daemon p (in its namespace) and
// returns its standard output; a non-zero exit is an error with its stderr.
func (p *Proc) CLI(args ...string) ([]byte, error) {
	cmd := p.command(append([]string{"--data", p.Dir}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return stdout.Bytes(), fmt.Errorf("korup2p %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return stdout.Bytes(), nil
	case <-ctx.Done():
		cmd.Process.Kill()
		return nil, fmt.Errorf("korup2p %s: timed out", strings.Join(args, " "))
	}
}

func (p *Proc) command(args ...string) *exec.Cmd {
	cmd := exec.Command(p.bin, args...)
	if p.NS != "" {
		cmd = exec.Command("ip", append([]string{"netns", "exec", p.NS, p.bin}, args...)...)
	}
	cmd.Env = append(os.Environ(), "KORUP2P_LOG=warn", "KORUP2P_DATA=", "KORUP2P_API=", "KORUP2P_SPACE=")
	return cmd
}

// Heads returns daemon p's heads of space, as CID strings.
func (p *Proc) Heads(space string) ([]string, error) {
	out, err := p.CLI("--space", space, "--json", "dag", "heads")
	if err != nil {
		return nil, err
	}
	var heads []string
	return heads, json.Unmarshal(out, &heads)
}

// WaitSame waits until every running daemon has the same heads of space.
func (ps *Procs) WaitSame(space string, timeout time.Duration) time.Duration {
	ps.t.Helper()
	start := time.Now()
	for {
		var first string
		same := true
		for _, p := range ps.Procs {
			if p.cmd == nil {
				continue
			}
			h, err := p.Heads(space)
			if err != nil {
				same = false
				break
			}
			if first == "" {
				first = strings.Join(h, ",")
			} else if strings.Join(h, ",") != first {
				same = false
				break
			}
		}
		if same {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			ps.t.Fatalf("daemons' heads still differ after %s", timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
