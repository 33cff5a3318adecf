package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/spf13/cobra"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/dag"
)

// The --json shapes. They are the CLI's contract with scripts: fields are only ever
// added. CIDs and peer IDs are strings; times are RFC 3339 with nanoseconds (UTC);
// values are the JSON stored. They agree with the daemon's HTTP API
// (internal/httpapi) where both have a field.

// clockJSON is a hybrid logical clock as the HTTP API writes it too
// (dag.Timestamp.String): RFC 3339 with nanoseconds, plus "+N" when the logical
// counter is set. The "time" fields beside it hold the wall-clock part alone, which
// get --at accepts.
type clockJSON = string

func clockOf(t dag.Timestamp) clockJSON {
	if t.IsZero() {
		return ""
	}
	return t.String()
}

// writeJSON is put --json, del --json and batch --json.
type writeJSON struct {
	Key     string    `json:"key,omitempty"`
	Version string    `json:"version"`
	Clock   clockJSON `json:"clock"`
	Ops     int       `json:"ops,omitempty"` // batch only
}

// entryJSON is get --json.
type entryJSON struct {
	Key       string          `json:"key"`
	Value     json.RawMessage `json:"value"`
	Version   string          `json:"version"`
	Clock     clockJSON       `json:"clock"`
	Time      string          `json:"time"`
	Author    string          `json:"author"`
	Heads     []string        `json:"heads"`
	Conflicts []conflictJSON  `json:"conflicts"`
}

type conflictJSON struct {
	Path   []string        `json:"path"`
	Winner string          `json:"winner"`
	Value  json.RawMessage `json:"value"` // null if a delete won
	Losers []loserJSON     `json:"losers"`
}

type loserJSON struct {
	Version string          `json:"version"`
	Value   json.RawMessage `json:"value"` // null if the loser was a delete
}

func entryOf(e korup2p.Entry) entryJSON {
	out := entryJSON{Key: e.Key, Value: e.Value, Version: cidString(e.Version), Clock: clockOf(e.Clock),
		Time: timeString(e.Clock), Author: peerString(e.Author), Heads: cidStrings(e.Heads), Conflicts: []conflictJSON{}}
	for _, cf := range e.Conflicts {
		cj := conflictJSON{Path: cf.Path, Winner: cidString(cf.Winner), Value: cf.Value, Losers: []loserJSON{}}
		if cj.Path == nil {
			cj.Path = []string{}
		}
		for _, l := range cf.Losers {
			cj.Losers = append(cj.Losers, loserJSON{Version: cidString(l.Version), Value: l.Value})
		}
		out.Conflicts = append(out.Conflicts, cj)
	}
	return out
}

// versionJSON is one element of history --json.
type versionJSON struct {
	Version   string          `json:"version"`
	Clock     clockJSON       `json:"clock"`
	Time      string          `json:"time"` // accepted by get --at
	Author    string          `json:"author"`
	Kind      string          `json:"kind"` // set, patch or del
	Value     json.RawMessage `json:"value"`
	Distilled bool            `json:"distilled,omitempty"`
}

// listedJSON is one element of ls --json.
type listedJSON struct {
	Key     string `json:"key"`
	Version string `json:"version"`
}

// changeJSON is one element of diff --json.
type changeJSON struct {
	Path []string        `json:"path"`
	Kind string          `json:"kind"` // added, removed or changed
	Old  json.RawMessage `json:"old"`
	New  json.RawMessage `json:"new"`
}

// eventJSON is one line of watch --json.
type eventJSON struct {
	Type    string          `json:"type"` // insert, update, delete, or overflow
	Key     string          `json:"key,omitempty"`
	Version string          `json:"version,omitempty"`
	Value   json.RawMessage `json:"value"`
	Missed  int             `json:"missed,omitempty"` // overflow: events dropped
}

// spaceJSON is space create --json and one element of space list --json.
type spaceJSON struct {
	Name  string `json:"name"`
	ID    string `json:"id"`
	Open  bool   `json:"open"`
	Owner string `json:"owner,omitempty"`
}

func spaceOf(s korup2p.SpaceInfo) spaceJSON {
	return spaceJSON{Name: s.Name, ID: cidString(s.ID), Open: s.Open, Owner: peerString(s.Owner)}
}

// idJSON is id --json.
type idJSON struct {
	PeerID string   `json:"peer_id"`
	Addrs  []string `json:"addrs"`
	UserID string   `json:"user_id,omitempty"` // the user key's ID, if the data directory holds one
}

func cidString(c cid.Cid) string {
	if !c.Defined() {
		return ""
	}
	return c.String()
}

func cidStrings(cs []cid.Cid) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.String())
	}
	return out
}

func peerString(p peer.ID) string {
	if p == "" {
		return ""
	}
	return p.String()
}

// timeString is a clock's wall time, RFC 3339 with nanoseconds: what get --at reads.
func timeString(t dag.Timestamp) string {
	if t.IsZero() {
		return ""
	}
	return t.Time().Format(time.RFC3339Nano)
}

// printJSON writes v as one line of JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// printIndented writes v as indented JSON.
func printIndented(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// valueText is a JSON value for a line of text output; "(deleted)" for none.
func valueText(v json.RawMessage) string {
	if v == nil {
		return "(deleted)"
	}
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return string(v)
	}
	return b.String()
}

// pathText is a field path for text output: a.b.c, or (value) for the whole value.
func pathText(p []string) string {
	if len(p) == 0 {
		return "(value)"
	}
	return strings.Join(p, ".")
}

// shortPeer abbreviates a peer ID for tables: its last 8 characters.
func shortPeer(p string) string {
	if len(p) <= 12 {
		return p
	}
	return "…" + p[len(p)-8:]
}

// table writes rows of cells aligned in columns, two spaces apart; the last column is
// not padded.
func table(w io.Writer, rows [][]string) {
	var widths []int
	for _, r := range rows {
		for i, cell := range r {
			if i == len(r)-1 {
				continue
			}
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len([]rune(cell)))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, cell := range r {
			b.WriteString(cell)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-len([]rune(cell))+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// groupRunE is the RunE of a command that only groups subcommands: help without
// arguments, a usage error for an unknown subcommand.
func groupRunE(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		names := []string{}
		for _, sub := range cmd.Commands() {
			if sub.IsAvailableCommand() {
				names = append(names, sub.Name())
			}
		}
		slices.Sort(names)
		return &usageError{err: fmt.Errorf("unknown command %q for %q (want one of: %s)", args[0], cmd.CommandPath(),
			strings.Join(names, ", ")), hint: cmd.CommandPath()}
	}
	return cmd.Help()
}
