package main

import (
	"bytes"
	"context"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRun runs the example and checks its last act: both devices print the same
// notes, and the note edited offline on both holds both edits.
func TestRun(t *testing.T) {
	defer checkGoroutines(t, goroutines())
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // to see that run removes what it made
	var out bytes.Buffer
	if err := run(ctx, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	text := out.String()
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("run left %v in TMPDIR", left)
	}
	_, final, ok := strings.Cut(text, "== 3. back online")
	if !ok {
		t.Fatalf("no final act in the output:\n%s", text)
	}
	byDevice := map[string][]string{}
	for _, line := range strings.Split(final, "\n") {
		name, rest, _ := strings.Cut(line, " ")
		if name == "laptop" || name == "phone" {
			byDevice[name] = append(byDevice[name], strings.TrimSpace(rest))
		}
	}
	laptop, phone := byDevice["laptop"], byDevice["phone"]
	if len(laptop) != 4 || !slices.Equal(laptop, phone) {
		t.Fatalf("final notes differ or are not 4:\nlaptop %q\nphone  %q\n%s", laptop, phone, text)
	}
	var groceries string
	for _, l := range laptop {
		if strings.HasPrefix(l, "notes/groceries ") {
			groceries = l
		}
	}
	for _, want := range []string{
		`"title":"Groceries for Saturday"`,   // the laptop's offline edit
		`"body":"milk, eggs, bread, coffee"`, // the phone's offline edit
		"merged from 2 concurrent versions",
	} {
		if !strings.Contains(groceries, want) {
			t.Errorf("notes/groceries = %q, want %s", groceries, want)
		}
	}
	if strings.Contains(final, "conflict") {
		t.Errorf("edits of different fields conflicted:\n%s", final)
	}
	for _, key := range []string{"notes/books ", "notes/todo ", "notes/ideas "} {
		if !slices.ContainsFunc(phone, func(l string) bool { return strings.HasPrefix(l, key) }) {
			t.Errorf("no %s on the phone", key)
		}
	}
	if !strings.Contains(text, "converged: both devices hold the same 4 notes") {
		t.Errorf("no convergence line:\n%s", text)
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
