package discovery

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/net/host"
)

// childEnv marks a test binary re-executed inside a network namespace.
const childEnv = "KORUP2P_MDNS_CHILD"

// childLimit bounds a child's run; the parent's wait is shorter.
const childLimit = 40 * time.Second

func TestStartMDNSArgs(t *testing.T) {
	if _, err := StartMDNS(nil, "", func(peer.AddrInfo) {}, nil); err == nil {
		t.Error("StartMDNS without a host succeeded")
	}
}

// TestMDNS runs a host with mDNS in each of two network namespaces joined by a veth
// pair, and checks that each discovers the other and can connect to what it
// announced. mDNS multicasts on every interface, so it runs nowhere else.
func TestMDNS(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("in a child")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip to create network namespaces")
	}
	exe, err := os.Executable() // not /proc/self/exe: under ip netns exec, that is ip
	if err != nil {
		t.Skipf("cannot find the test binary: %v", err)
	}
	ip := func(args ...string) error {
		out, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
		return nil
	}

	// Names short enough for interface names (15 bytes), unique to this process.
	tag := fmt.Sprintf("k2p%d", os.Getpid()%1_000_000)
	ns := [2]string{tag + "a", tag + "b"}
	veth := [2]string{tag + "va", tag + "vb"}
	addr := [2]string{"10.213.77.1/24", "10.213.77.2/24"}
	for _, n := range ns {
		if err := ip("netns", "add", n); err != nil {
			t.Skipf("cannot create a network namespace: %v", err)
		}
		t.Cleanup(func() {
			if err := ip("netns", "del", n); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		})
	}
	if err := ip("link", "add", veth[0], "netns", ns[0], "type", "veth", "peer", "name", veth[1], "netns", ns[1]); err != nil {
		t.Skipf("cannot create a veth pair: %v", err)
	}
	for i, n := range ns {
		for _, args := range [][]string{
			{"-n", n, "link", "set", "lo", "up"},
			{"-n", n, "addr", "add", addr[i], "dev", veth[i]},
			{"-n", n, "link", "set", veth[i], "up", "multicast", "on"},
			{"-n", n, "route", "add", "224.0.0.0/4", "dev", veth[i]},
		} {
			if err := ip(args...); err != nil {
				t.Fatal(err)
			}
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), childLimit)
	defer cancel()
	type line struct {
		child int
		text  string
	}
	lines := make(chan line, 256)
	var stdins [2]io.WriteCloser
	var stderrs [2]bytes.Buffer
	var cmds [2]*exec.Cmd
	var readers sync.WaitGroup
	for i, n := range ns {
		cmd := exec.CommandContext(ctx, "ip", "netns", "exec", n, exe, "-test.run=^TestMDNSChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"=1")
		cmd.Stderr = &stderrs[i]
		if stdins[i], err = cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
		readers.Go(func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- line{i, sc.Text()}
			}
		})
	}
	// Children run until their stdin closes (or childLimit).
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		for i := range cmds {
			stdins[i].Close()
		}
		// The pipes close when the children exit; keep reading until then.
		readersDone := make(chan struct{})
		go func() {
			readers.Wait()
			close(readersDone)
		}()
		for draining := true; draining; {
			select {
			case <-lines:
			case <-readersDone:
				draining = false
			}
		}
		for i, cmd := range cmds {
			if err := cmd.Wait(); err != nil {
				t.Errorf("child %d: %v\n%s", i, err, stderrs[i].String())
			}
		}
	}
	defer stop()

	var self [2]peer.ID
	var found, connected [2]map[peer.ID]bool
	for i := range found {
		found[i], connected[i] = make(map[peer.ID]bool), make(map[peer.ID]bool)
	}
	var transcript []string
	done := func() bool {
		return self[0] != "" && self[1] != "" &&
			found[0][self[1]] && found[1][self[0]] && connected[0][self[1]] && connected[1][self[0]]
	}
	deadline := time.NewTimer(childLimit - 10*time.Second)
	defer deadline.Stop()
	for !done() {
		select {
		case l := <-lines:
			transcript = append(transcript, fmt.Sprintf("child %d: %s", l.child, l.text))
			f := strings.Fields(l.text)
			if len(f) < 3 || f[0] != "MDNS" {
				continue
			}
			id, err := peer.Decode(f[2])
			if err != nil {
				continue
			}
			switch f[1] {
			case "SELF":
				self[l.child] = id
			case "FOUND":
				found[l.child][id] = true
			case "CONNECTED":
				connected[l.child][id] = true
			}
		case <-deadline.C:
			cancel()
			t.Fatalf("the two hosts did not discover and connect to each other in time:\n%s\nstderr 0:\n%s\nstderr 1:\n%s",
				strings.Join(transcript, "\n"), stderrs[0].String(), stderrs[1].String())
		}
	}
	stop()
	t.Logf("discovered each other:\n%s", strings.Join(transcript, "\n"))
}

// TestMDNSChild is one side of TestMDNS, run inside a network namespace: it prints
// its peer ID, every peer mDNS finds and every one it connects to, until its stdin
// closes.
func TestMDNSChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("run by TestMDNS inside a network namespace")
	}
	var outMu sync.Mutex
	say := func(format string, args ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(os.Stdout, format+"\n", args...)
	}
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h, err := host.New(host.Config{Key: key, Listen: []string{"/ip4/0.0.0.0/tcp/0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	say("MDNS SELF %s", h.ID())

	ctx, cancel := context.WithTimeout(context.Background(), childLimit)
	defer cancel()
	var dials sync.WaitGroup
	closer, err := StartMDNS(h.Host, "", func(info peer.AddrInfo) {
		say("MDNS FOUND %s %v", info.ID, info.Addrs)
		dials.Go(func() {
			if err := h.Host.Connect(ctx, info); err != nil {
				say("MDNS CONNECTERR %s %v", info.ID, err)
				return
			}
			say("MDNS CONNECTED %s", info.ID)
		})
	}, func(msg string, kv ...any) { say("MDNS DEBUG %s %v", msg, kv) })
	if err != nil {
		t.Fatal(err)
	}

	stdinClosed := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(stdinClosed)
	}()
	select {
	case <-stdinClosed:
	case <-ctx.Done():
		t.Error("not stopped by the parent in time")
	}
	if err := closer.Close(); err != nil {
		t.Error(err)
	}
	cancel()
	dials.Wait()
}
