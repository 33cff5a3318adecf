//go:build unix

package dirlock

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// holdEnv makes the test binary a helper process that locks the directory it names
// and holds it until killed.
const holdEnv = "DIRLOCK_TEST_HOLD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(holdEnv); dir != "" {
		if _, err := Acquire(dir); err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		fmt.Println("LOCKED")
		io.Copy(io.Discard, os.Stdin) // hold until killed, or until the parent goes away
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestAcquire(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "dir")
	lk, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("directory created as %v, %v; want 0700", fi.Mode(), err)
	}
	if lk.Unclean() {
		t.Error("a new directory is unclean")
	}
	if got := readLock(t, dir); got != strconv.Itoa(os.Getpid())+"\n" {
		t.Errorf("LOCK holds %q, want our pid", got)
	}

	// flock locks belong to open files: a second Acquire in this process conflicts.
	_, err = Acquire(dir)
	var inUse *InUseError
	if !errors.As(err, &inUse) || inUse.PID != os.Getpid() || inUse.Dir != dir {
		t.Fatalf("second Acquire: %v, want *InUseError with our pid", err)
	}
	if want := fmt.Sprintf("data directory %s is in use by pid %d", dir, os.Getpid()); err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if _, err := Acquire(dir); !errors.As(err, &inUse) {
		t.Fatalf("the failed Acquire released the lock: %v", err) // as fcntl locks would
	}

	if err := lk.Unlock(); err != nil {
		t.Fatal(err)
	}
	if got := readLock(t, dir); got != "" {
		t.Errorf("LOCK after Unlock holds %q", got)
	}
	if err := lk.Unlock(); err == nil {
		t.Error("second Unlock succeeded")
	}
	lk, err = Acquire(dir)
	if err != nil || lk.Unclean() {
		t.Fatalf("Acquire after a clean Unlock: %v, unclean %v", err, lk != nil && lk.Unclean())
	}
	lk.Unlock()
}

// TestUnclean drops a lock without Unlock, as a crash does.
func TestUnclean(t *testing.T) {
	dir := t.TempDir()
	lk, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	lk.f.Close()
	lk, err = Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Unlock()
	if !lk.Unclean() {
		t.Error("Acquire after a lock was dropped without Unlock: not unclean")
	}
}

func TestInUseErrorUnknownPID(t *testing.T) {
	for _, pid := range []string{"", "garbage", "-3"} {
		e := &InUseError{Dir: "/d", PID: parsePID([]byte(pid))}
		if got := e.Error(); got != "data directory /d is in use by another process" {
			t.Errorf("pid %q: %q", pid, got)
		}
	}
}

// TestKilledHolder locks the directory in a child process and kills it with SIGKILL:
// the kernel releases the lock, and the next Acquire reports an unclean shutdown.
func TestKilledHolder(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), holdEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	defer func() {
		if !waited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		s.Scan()
		line <- s.Text()
	}()
	select {
	case got := <-line:
		if got != "LOCKED" {
			t.Fatalf("helper said %q", got)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("helper did not lock in 30s")
	}

	_, err = Acquire(dir)
	var inUse *InUseError
	if !errors.As(err, &inUse) || inUse.PID != cmd.Process.Pid {
		t.Fatalf("Acquire while the helper holds the lock: %v, want pid %d", err, cmd.Process.Pid)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no chance to unlock
		t.Fatal(err)
	}
	waited = true
	if err := cmd.Wait(); err == nil {
		t.Fatal("helper exited cleanly; want killed")
	}

	lk, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after the holder was killed: %v", err)
	}
	defer lk.Unlock()
	if !lk.Unclean() {
		t.Error("the killed holder's shutdown was not reported unclean")
	}
}

func readLock(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
