package korup2p_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p"
)

const crashDirEnv = "KORUP2P_CRASH_CHILD_DIR"

// TestCrashChild is the child of TestCrashRecovery: it writes as fast as it can from
// several goroutines and prints every acknowledged write, until it is killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("runs only as TestCrashRecovery's child")
	}
	round := os.Getenv("KORUP2P_CRASH_ROUND")
	n, err := korup2p.Open(dir, &korup2p.Options{Logger: quietLogger()})
	if err != nil {
		fmt.Printf("OPENFAIL %v\n", err)
		os.Exit(3)
	}
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	ack := func(key string, v cid.Cid) {
		mu.Lock()
		fmt.Fprintf(out, "ACK %s %s\n", key, v)
		out.Flush()
		mu.Unlock()
	}
	fmt.Fprintln(out, "READY")
	out.Flush()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				key := fmt.Sprintf("crash/r%s-g%d-%d", round, g, i)
				if r, err := n.Put(context.Background(), "default", key, map[string]any{"round": round, "i": i}); err == nil {
					ack(key, r.Version)
				}
				if r, err := n.Put(context.Background(), "default", "crash/shared", map[string]any{"g": g, "i": i}); err == nil {
					ack("crash/shared", r.Version)
				}
			}
		})
	}
	wg.Wait()
}

// TestCrashRecovery kills a writing child process with SIGKILL at random moments,
// several rounds, and checks after each that every acknowledged write is there with
// its full history and that the store is consistent.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	dir := t.TempDir()
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	t.Logf("seed %d", seed)
	acked := map[string]cid.Cid{} // key → last acknowledged version
	shared := map[cid.Cid]bool{}  // every acknowledged version of crash/shared
	for round := range 5 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, "KORUP2P_CRASH_ROUND="+strconv.Itoa(round))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		var kill <-chan time.Time // armed once the child is ready
		deadline := time.After(30 * time.Second)
		ready, killed := false, false
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break read
				}
				switch f := strings.Fields(l); {
				case len(f) == 1 && f[0] == "READY":
					ready = true
					kill = time.After(time.Duration(100+rng.Intn(400)) * time.Millisecond)
				case len(f) == 3 && f[0] == "ACK":
					c, err := cid.Decode(f[2])
					if err != nil {
						t.Fatalf("child printed %q", l)
					}
					acked[f[1]] = c
					if f[1] == "crash/shared" {
						shared[c] = true
					}
				case strings.HasPrefix(l, "OPENFAIL"):
					t.Fatalf("round %d: the child could not open the store: %s", round, l)
				}
			case <-kill:
				if !killed {
					cmd.Process.Signal(syscall.SIGKILL)
					killed = true
				}
			case <-deadline:
				cmd.Process.Kill()
				t.Fatalf("round %d: the child did not end", round)
			}
		}
		cmd.Wait()
		if !ready {
			t.Fatalf("round %d: the child never became ready", round)
		}

		n, err := korup2p.Open(dir, &korup2p.Options{Logger: quietLogger()})
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		if err := n.Check(context.Background()); err != nil {
			t.Errorf("round %d: consistency check: %v", round, err)
		}
		for key, v := range acked {
			if key == "crash/shared" {
				continue
			}
			e, err := n.Get(context.Background(), "default", key)
			if err != nil || !e.Version.Equals(v) {
				t.Errorf("round %d: acknowledged %s@%s: got %v, %v", round, key, v, e.Version, err)
			}
		}
		hist, err := n.History(context.Background(), "default", "crash/shared")
		if err != nil && len(shared) > 0 {
			t.Fatalf("round %d: history: %v", round, err)
		}
		have := map[cid.Cid]bool{}
		for _, h := range hist {
			have[h.Version] = true
		}
		for v := range shared {
			if !have[v] {
				t.Errorf("round %d: acknowledged version %s of crash/shared is not in its history", round, v)
			}
		}
		t.Logf("round %d: %d keys and %d shared versions acknowledged so far, all present", round, len(acked), len(shared))
		if err := n.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(acked) < 10 {
		t.Errorf("only %d writes acknowledged in 5 rounds: the test proved little", len(acked))
	}
}
