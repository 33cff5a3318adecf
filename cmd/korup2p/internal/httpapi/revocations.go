package httpapi

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/charmbracelet/log"

	"github.com/korup2p/korup2p/internal/atomicfile"
)

// Revocations is the list of revoked minted API tokens, by TokenID, that a
// server consults on every request made with a minted token and adds to on
// DELETE /v1/tokens/{id}. Implementations are safe for concurrent use.
type Revocations interface {
	// Revoked reports whether the token of ID id is revoked.
	Revoked(id string) bool
	// Revoke adds id to the list; already reports that it was there. An id that
	// is not a token ID is an error wrapping ErrBadTokenID; on any error the list
	// is unchanged.
	Revoke(id string) (already bool, err error)
}

// MemRevocations is a Revocations in memory: it lasts as long as the value. The
// zero value is an empty list. A server given no Revocations uses one.
type MemRevocations struct {
	mu  sync.Mutex
	ids map[string]bool
}

// Revoked reports whether id is in the list.
func (m *MemRevocations) Revoked(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ids[id]
}

// Revoke adds id to the list.
func (m *MemRevocations) Revoke(id string) (already bool, err error) {
	if id, err = ParseTokenID(id); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ids == nil {
		m.ids = make(map[string]bool)
	}
	already, m.ids[id] = m.ids[id], true
	return already, nil
}

// revocationFileHeader starts a revocation list that Revoke creates.
const revocationFileHeader = "# Revoked korup2p API tokens, by ID (korup2p caps token --revoke): one a line.\n" +
	"# Delete a line to accept its token again.\n"

// ParseRevocationList reads the text of a revocation list: one token ID a line
// (16 hex digits, either case; surrounding spaces ignored), blank lines and
// lines starting with '#' skipped. It returns the IDs of the good lines, in
// order and in canonical form, and an error naming the line for each bad one;
// bad lines do not stop the reading.
func ParseRevocationList(text []byte) (ids []string, bad []error) {
	for i, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		id, err := ParseTokenID(line)
		if err != nil {
			bad = append(bad, fmt.Errorf("line %d: %w", i+1, err))
			continue
		}
		ids = append(ids, id)
	}
	return ids, bad
}

// RevocationFile is a daemon's Revocations: a text file (DATA/api.revoked) in
// the form ParseRevocationList reads. Revoked stats the file and reads it again
// when it is another file, or its modification time or size changed, so an edit
// by hand — or by 'korup2p caps token --revoke' with no daemon running — counts
// from the next request; deleting a line accepts its token again. A bad line is
// logged as a warning and skipped. A file that cannot be read keeps the list
// read before, and the error is logged (once until it changes); a missing file
// is an empty list.
//
// Revoke appends a line to the file as it is on disk, keeping its other lines,
// and writes it whole through internal/atomicfile (mode 0600); two processes
// revoking at the same instant may lose one of the lines.
type RevocationFile struct {
	path string
	log  *log.Logger

	mu     sync.Mutex
	ids    map[string]bool
	seen   fs.FileInfo // the file as last read; nil: missing, or to read again
	loaded bool        // ids holds what the file held at seen
	failed string      // the last read error logged
}

// NewRevocationFile returns the revocation list in the file at path, which it
// reads on first use; logger (default log.Default()) receives the warnings.
func NewRevocationFile(path string, logger *log.Logger) *RevocationFile {
	if logger == nil {
		logger = log.Default()
	}
	return &RevocationFile{path: path, log: logger}
}

// Path is the file's path.
func (f *RevocationFile) Path() string { return f.path }

// Load reads the file if it changed since it was last read and returns how many
// IDs the list holds. An error means it could not be read: the list read
// before, if any, is kept.
func (f *RevocationFile) Load() (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	err := f.loadLocked()
	return len(f.ids), err
}

// Revoked reports whether id is in the file, reading it again first if it
// changed.
func (f *RevocationFile) Revoked(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.loadLocked(); err != nil {
		if msg := err.Error(); msg != f.failed {
			f.failed = msg
			f.log.Error("API token revocation list: keeping the list read before", "err", err)
		}
	} else {
		f.failed = ""
	}
	return f.ids[id]
}

// Revoke adds id to the file.
func (f *RevocationFile) Revoke(id string) (already bool, err error) {
	if id, err = ParseTokenID(id); err != nil {
		return false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	text, err := os.ReadFile(f.path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("revoke API token %s: %w", id, err)
	}
	ids, _ := ParseRevocationList(text)
	if already = slices.Contains(ids, id); !already {
		switch {
		case len(strings.TrimSpace(string(text))) == 0:
			text = []byte(revocationFileHeader)
		case text[len(text)-1] != '\n':
			text = append(text, '\n')
		}
		text = append(text, id+"\n"...)
		if err := atomicfile.Write(f.path, text, 0o600); err != nil {
			return false, fmt.Errorf("revoke API token %s: write %s: %w", id, f.path, err)
		}
	}
	// Revoked from now on, even if the next read fails; that read is the next
	// Revoked's, which sees the file as written.
	if f.ids == nil {
		f.ids = make(map[string]bool)
	}
	f.ids[id] = true
	f.seen, f.loaded = nil, false
	return already, nil
}

// loadLocked reads the file again if it is not the one read last.
func (f *RevocationFile) loadLocked() error {
	fi, err := os.Stat(f.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f.ids, f.seen, f.loaded = nil, nil, true
		return nil
	case err != nil:
		return fmt.Errorf("API token revocation list: %w", err)
	case f.loaded && f.seen != nil && sameVersion(f.seen, fi):
		return nil
	}
	// Read after the stat: what is read is at least as new as fi, so a change
	// made meanwhile is read now or at the next stat, never missed.
	text, err := os.ReadFile(f.path)
	if err != nil {
		return fmt.Errorf("API token revocation list: %w", err)
	}
	ids, bad := ParseRevocationList(text)
	for _, e := range bad {
		f.log.Warn("API token revocation list: ignoring a line that is not a token ID", "path", f.path, "err", e)
	}
	f.ids = make(map[string]bool, len(ids))
	for _, id := range ids {
		f.ids[id] = true
	}
	f.seen, f.loaded = fi, true
	return nil
}

// sameVersion reports whether a and b are the same file with the same
// modification time and size: an atomic rewrite is another file.
func sameVersion(a, b fs.FileInfo) bool {
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}
