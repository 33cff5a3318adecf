package dirlock

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// FileName is the name of the lock file in a locked directory.
const FileName = "LOCK"

// errLocked is returned by flock when another open file holds the lock.
var errLocked = errors.New("locked")

// InUseError is returned by Acquire for a directory another process (or another
// Acquire in this one) holds.
type InUseError struct {
	Dir string
	PID int // the holder's process ID; 0 if unknown
}

func (e *InUseError) Error() string {
	if e.PID <= 0 {
		return fmt.Sprintf("data directory %s is in use by another process", e.Dir)
	}
	return fmt.Sprintf("data directory %s is in use by pid %d", e.Dir, e.PID)
}

// Lock is a held directory lock. Its methods are not safe for concurrent use.
type Lock struct {
	dir     string
	f       *os.File
	unclean bool
}

// Acquire creates dir if needed (mode 0700) and locks it, without waiting: if it is
// locked already, Acquire fails with an *InUseError.
func Acquire(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, FileName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := flock(f); err != nil {
		prev, _ := readAll(f)
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, &InUseError{Dir: dir, PID: parsePID(prev)}
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	prev, err := readAll(f)
	if err == nil {
		err = writePID(f)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return &Lock{dir: dir, f: f, unclean: len(bytes.TrimSpace(prev)) > 0}, nil
}

// Unclean reports whether the previous holder of the directory exited without
// Unlock.
func (l *Lock) Unclean() bool { return l.unclean }

// Unlock marks the shutdown clean and releases the lock. A second Unlock fails.
func (l *Lock) Unlock() error {
	if l.f == nil {
		return fmt.Errorf("unlock %s: %w", l.dir, os.ErrClosed)
	}
	f := l.f
	l.f = nil
	err := f.Truncate(0)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil { // closing the file releases the lock
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("unlock %s: %w", l.dir, err)
	}
	return nil
}

func readAll(f *os.File) ([]byte, error) {
	return io.ReadAll(io.NewSectionReader(f, 0, 1<<10))
}

// writePID replaces the file's contents with this process's ID, durably, so that a
// crash of the machine is noticed too.
func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		return err
	}
	return f.Sync()
}

func parsePID(b []byte) int {
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
