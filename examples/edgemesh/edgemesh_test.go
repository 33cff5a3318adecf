package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
)

// TestRun runs a line of four nodes and checks that they converge, that the
// gateway's aggregate covers every reading, and that its subscription saw every
// reading of the far end, three hops away.
func TestRun(t *testing.T) {
	defer checkGoroutines(t, goroutines())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := config{Nodes: 4, Readings: 15, Interval: 5 * time.Millisecond}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // to see that run removes what it made
	var out bytes.Buffer
	rep, err := run(ctx, &out, cfg)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	text := out.String()
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("run left %v in TMPDIR", left)
	}

	if len(rep.Heads) != cfg.Nodes {
		t.Fatalf("heads of %d nodes, want %d", len(rep.Heads), cfg.Nodes)
	}
	for i, h := range rep.Heads {
		if len(h) == 0 || !slices.EqualFunc(h, rep.Heads[0], cid.Cid.Equals) {
			t.Errorf("node%d heads %v, node0 %v", i, h, rep.Heads[0])
		}
	}
	// A line: the ends have one neighbour, the others two; node0 never reached the
	// far end directly.
	if want := []int{1, 2, 2, 1}; !slices.Equal(rep.Neighbors, want) {
		t.Errorf("peers per node %v, want %v (a line)", rep.Neighbors, want)
	}

	want := cfg.Nodes * cfg.Readings
	if rep.Published != want || rep.Count != want {
		t.Errorf("published %d, aggregate covered %d, want %d", rep.Published, rep.Count, want)
	}
	if math.Abs(rep.Avg-rep.WantAvg) > 1e-9 || rep.Max != rep.WantMax {
		t.Errorf("avg %g max %g, want avg %g max %g", rep.Avg, rep.Max, rep.WantAvg, rep.WantMax)
	}

	if rep.FarSeen != cfg.Readings {
		t.Errorf("subscription saw %d of node3's readings, want %d", rep.FarSeen, cfg.Readings)
	}
	for seq := range cfg.Readings {
		if line := fmt.Sprintf("node0 <- sensors/node3/%04d", seq); !strings.Contains(text, line) {
			t.Errorf("no %q in the output", line)
		}
	}
	if strings.Contains(text, "sensors/node1/") || strings.Contains(text, "missed") {
		t.Errorf("the subscription printed more than node3's readings:\n%s", text)
	}
	if !slices.ContainsFunc(strings.Split(text, "\n"), func(l string) bool {
		f := strings.Fields(l)
		return len(f) == 4 && f[0] == "all" && f[1] == fmt.Sprint(want)
	}) {
		t.Errorf("no aggregate row over all %d readings:\n%s", want, text)
	}
}

// TestRunRejectsBadConfig: the sizes are bounded before anything starts.
func TestRunRejectsBadConfig(t *testing.T) {
	for _, cfg := range []config{{Nodes: 1, Readings: 1}, {Nodes: maxNodes + 1, Readings: 1}, {Nodes: 2, Readings: 0}} {
		if _, err := run(context.Background(), &bytes.Buffer{}, cfg); err == nil {
			t.Errorf("run(%+v) succeeded", cfg)
		}
	}
}

// checkGoroutines fails the test unless the goroutines run started are gone
// within 5 s: the nodes were closed and stopped everything they ran. libp2p's
// bandwidth sweeper, one per process and started on first use, is not counted.
func checkGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for goroutines() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // polling a condition, with the deadline above
	}
	if n := goroutines(); n > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines outlived run (%d before):\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

// goroutines counts the running goroutines but libp2p's process-wide ones.
func goroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if !strings.Contains(g, "go-flow-metrics.(*sweeper)") {
			count++
		}
	}
	return count
}
