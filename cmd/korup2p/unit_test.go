package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/caps"
	"github.com/korup2p/korup2p/cmd/korup2p/internal/httpapi"
)

// TestEveryCommandHasAnExample walks the command tree.
func TestEveryCommandHasAnExample(t *testing.T) {
	c := &cli{ctx: context.Background(), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	var walk func(cmd *cobra.Command)
	seen := 0
	walk = func(cmd *cobra.Command) {
		seen++
		if strings.TrimSpace(cmd.Example) == "" {
			t.Errorf("%q has no Example", cmd.CommandPath())
		}
		if cmd.Short == "" {
			t.Errorf("%q has no Short", cmd.CommandPath())
		}
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(c.rootCmd())
	if seen < 25 {
		t.Fatalf("walked %d commands; the tree is smaller than expected", seen)
	}
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("boom"), 1},
		{&korup2p.KeyError{Op: "get", Space: "default", Key: "a/b", Err: korup2p.ErrNotFound}, 1},
		{fmt.Errorf("x: %w", korup2p.ErrUnknownSpace), 1},
		{fmt.Errorf("x: %w", korup2p.ErrSpaceExists), 1},
		{&korup2p.KeyError{Op: "put", Err: korup2p.ErrInvalidKey}, 2},
		{&korup2p.KeyError{Op: "put", Err: korup2p.ErrInvalidValue}, 2},
		{&korup2p.KeyError{Op: "put", Err: korup2p.ErrValueTooLarge}, 2},
		{fmt.Errorf("q: %w", korup2p.ErrInvalidQuery), 2},
		{fmt.Errorf("d: %w", korup2p.ErrInvalidVersion), 2},
		{&httpapi.APIError{Status: 400, Err: httpapi.ErrInvalidRequest}, 2},
		{&httpapi.APIError{Status: 404, Err: korup2p.ErrNotFound}, 1},
		{&httpapi.APIError{Status: 401, Err: httpapi.ErrUnauthorized}, 1},
		{usagef("bad"), 2},
		{&httpapi.APIError{Status: 403, Code: httpapi.CodeForbidden, Err: httpapi.ErrForbidden}, 1},
		{&httpapi.APIError{Status: 403, Code: httpapi.CodeDenied, Err: &caps.Denied{Reason: caps.ReasonRevoked}}, 1},
		{fmt.Errorf("grant: %w", korup2p.ErrOpenSpace), 1},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// TestErrorText: a capability refusal names its rule even when its message
// does not.
func TestErrorText(t *testing.T) {
	d := &caps.Denied{Reason: caps.ReasonWrongAudience, Detail: "for another peer"}
	if got := errorText(fmt.Errorf("put: %w", d)); got != "put: "+d.Error() {
		t.Errorf("%q", got)
	}
	wrapped := &httpapi.APIError{Status: 403, Message: "refused", Err: d}
	if got := errorText(wrapped); got != "refused (capability denied: wrong-audience)" {
		t.Errorf("%q", got)
	}
	if got := capsError("caps grant", "notes", fmt.Errorf("grant: %w", d)).Error(); got !=
		"caps grant: capability denied (wrong-audience): for another peer" {
		t.Errorf("%q", got)
	}
}

func TestParseJSONValue(t *testing.T) {
	for _, ok := range []string{`1`, ` {"a":[1,2]} `, `"s"`, `null`, "[]\n", `1e400`} {
		if _, err := parseJSONValue([]byte(ok)); err != nil {
			t.Errorf("parseJSONValue(%q): %v", ok, err)
		}
	}
	for in, want := range map[string]string{
		``:          "no value",
		"  \n":      "no value",
		`{"a":`:     "unexpected end",
		`{"a" 1}`:   "at byte 6",
		`1 2`:       "more than one value",
		`hello`:     "--string",
		`[1,]`:      "invalid JSON",
		`{"a":1}}`:  "more than one value",
		`"unclosed`: "unexpected end",
	} {
		_, err := parseJSONValue([]byte(in))
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), want) {
			t.Errorf("parseJSONValue(%q) = %v, want an input error with %q", in, err, want)
		}
	}
}

func TestParseTime(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2026-01-02T15:04:05Z":           time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC),
		"2026-01-02T15:04:05.123456789Z": time.Date(2026, 1, 2, 15, 4, 5, 123456789, time.UTC),
		"2026-01-02T16:04:05+01:00":      time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC),
		"1767366245000":                  time.UnixMilli(1767366245000),
	} {
		got, err := parseTime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "2026-01-02", "12.5"} {
		if _, err := parseTime(bad); err == nil || exitCode(err) != 2 {
			t.Errorf("parseTime(%q) = %v, want a usage error", bad, err)
		}
	}
}

func TestReadBatch(t *testing.T) {
	ops, err := readBatch(strings.NewReader(`{"op":"put","key":"a/b","value":{"x":1}}` + "\n\n" +
		`  {"op":"patch","key":"a/c","value":null}  ` + "\n" + `{"op":"delete","key":"a/d"}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 3 || ops[0].Kind != korup2p.OpPut || ops[1].Kind != korup2p.OpPatch || ops[2].Kind != korup2p.OpDel ||
		ops[2].Value != nil || fmt.Sprint(ops[1].Value) != "[110 117 108 108]" {
		t.Fatalf("readBatch = %+v", ops)
	}
}

func TestTable(t *testing.T) {
	var b bytes.Buffer
	table(&b, [][]string{{"NAME", "KIND", "X"}, {"default", "restricted", "1"}, {"é", "open", ""}})
	want := "NAME     KIND        X\ndefault  restricted  1\né        open\n"
	if b.String() != want {
		t.Fatalf("table =\n%q, want\n%q", b.String(), want)
	}
}
