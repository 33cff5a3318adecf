package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var cidRE = regexp.MustCompile(`^bafyrei[a-z2-7]+$`)

func checkCID(t *testing.T, what, s string) {
	t.Helper()
	if !cidRE.MatchString(s) {
		t.Fatalf("%s = %q, want a CID", what, s)
	}
}

func checkClock(t *testing.T, what, s string) time.Time {
	t.Helper()
	wall, _, _ := strings.Cut(s, "+")
	tm, err := time.Parse(time.RFC3339Nano, wall)
	if err != nil {
		t.Fatalf("%s = %q: %v", what, s, err)
	}
	return tm
}

func TestPutGet(t *testing.T) {
	c := newCLI(t)
	v := strings.TrimSpace(c.ok("put", "users/ada", `{"name":"Ada","langs":["en"]}`))
	checkCID(t, "put's output", v)
	if got := c.ok("get", "users/ada"); got != `{"langs":["en"],"name":"Ada"}`+"\n" {
		t.Fatalf("get = %q", got)
	}

	// The value from stdin: absent, or "-".
	if r := c.runIn(`{"name":"Grace"}`+"\n", "put", "users/grace"); r.code != 0 {
		t.Fatalf("put from stdin: %+v", r)
	}
	if r := c.runIn(`[1, 2.5, null]`, "set", "users/list", "-"); r.code != 0 {
		t.Fatalf("set KEY - from stdin: %+v", r)
	}
	if got := c.ok("get", "users/grace"); got != `{"name":"Grace"}`+"\n" {
		t.Fatalf("get = %q", got)
	}
	if got := c.ok("get", "users/list"); got != "[1,2.5,null]\n" {
		t.Fatalf("get = %q", got)
	}

	// --string stores text as a JSON string; from stdin without its newline.
	c.ok("put", "notes/a", "--string", `buy "milk"`)
	if got := c.ok("get", "notes/a"); got != `"buy \"milk\""`+"\n" {
		t.Fatalf("get = %q", got)
	}
	if r := c.runIn("line one\nline two\n", "put", "notes/b", "--string"); r.code != 0 {
		t.Fatalf("put --string from stdin: %+v", r)
	}
	if got := c.ok("get", "notes/b"); got != `"line one\nline two"`+"\n" {
		t.Fatalf("get = %q", got)
	}

	// --patch merges.
	c.ok("put", "users/ada", "--patch", `{"city":"London","langs":null}`)
	if got := c.ok("get", "users/ada"); got != `{"city":"London","name":"Ada"}`+"\n" {
		t.Fatalf("get after --patch = %q", got)
	}

	// --json shapes.
	var w struct{ Key, Version, Clock string }
	c.okJSON(&w, "put", "users/bob", `{"age":40}`)
	if w.Key != "users/bob" {
		t.Fatalf("put --json key = %q", w.Key)
	}
	checkCID(t, "put --json version", w.Version)
	checkClock(t, "put --json clock", w.Clock)

	var e struct {
		Key       string
		Value     json.RawMessage
		Version   string
		Clock     string
		Time      string
		Author    string
		Conflicts []json.RawMessage
	}
	c.okJSON(&e, "get", "users/bob")
	if e.Key != "users/bob" || string(e.Value) != `{"age":40}` || e.Version != w.Version || e.Clock != w.Clock ||
		!strings.HasPrefix(e.Author, "12D3KooW") || e.Conflicts == nil || len(e.Conflicts) != 0 {
		t.Fatalf("get --json = %+v", e)
	}
	var raw map[string]json.RawMessage
	c.okJSON(&raw, "get", "users/bob")
	for _, f := range []string{"key", "value", "version", "clock", "author", "conflicts"} {
		if _, ok := raw[f]; !ok {
			t.Errorf("get --json has no %q: %v", f, raw)
		}
	}

	// del, then the key is gone (exit 1) but its history stays.
	var d struct{ Key, Version string }
	c.okJSON(&d, "del", "users/bob")
	checkCID(t, "del --json version", d.Version)
	c.fails(1, "not found", "get", "users/bob")
	var hist []struct{ Kind string }
	c.okJSON(&hist, "history", "users/bob")
	if len(hist) != 2 || hist[0].Kind != "set" || hist[1].Kind != "del" {
		t.Fatalf("history after del = %+v", hist)
	}
}

func TestExitCodes(t *testing.T) {
	c := newCLI(t)
	c.ok("put", "users/ada", `{"age":36}`)
	for _, tc := range []struct {
		code int
		want string
		args []string
	}{
		{1, "not found", []string{"get", "users/nobody"}},
		{1, "not found", []string{"history", "users/nobody"}},
		{1, "unknown space", []string{"--space", "nope", "get", "users/ada"}},
		{1, "needs a running daemon", []string{"connect", "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWAme7y8AphBTyGGgPYnWMo8zGRx1Tasw1bVVUbpXDwaig"}},
		{2, "invalid JSON", []string{"put", "users/x", `{"a":`}},
		{2, "invalid JSON", []string{"put", "users/x", `{"a":1} {"b":2}`}},
		{2, "--string", []string{"put", "users/x", "hello"}},
		{2, "invalid key", []string{"put", "nokey", "1"}},
		{2, "invalid key", []string{"get", "nokey"}},
		{2, "reserved", []string{"put", "_korup2p/x", "1"}},
		{2, "unknown flag", []string{"get", "users/ada", "--bogus"}},
		{2, "unknown flag", []string{"--bogus"}},
		{2, "accepts 1 arg", []string{"get"}},
		{2, "accepts between 1 and 2 arg", []string{"put", "a/b", "1", "2"}},
		{2, "unknown command", []string{"frobnicate"}},
		{2, "unknown command", []string{"dag", "frobnicate"}},
		{2, "invalid time", []string{"get", "users/ada", "--at", "yesterday"}},
		{2, "invalid CID", []string{"get", "users/ada", "--heads", "nope"}},
		{2, "invalid CID", []string{"diff", "users/ada", "nope"}},
		{2, "do not go together", []string{"get", "users/ada", "--at", "1", "--heads", "bafyreiew2vnk4dlgvomojzxo2m4nboewn4bhyzaknzj7hbi6mn2ezrhinq"}},
		{2, "unknown operator", []string{"query", "users", "--where", "age >>> 3"}},
		{2, "choose one of", []string{"query", "users", "--count", "--sum", "age"}},
		{2, "invalid space name", []string{"space", "create", "no good"}},
		{2, "invalid argument", []string{"completion", "powershell"}},
		{2, "invalid multiaddr", []string{"connect", "not-an-addr"}},
		{2, "want HOST:PORT", []string{"daemon", "--api-listen", "nowhere"}},
		{2, "--listen", []string{"daemon", "--listen", "tcp:4001"}},
		{2, "no /p2p/", []string{"daemon", "--bootstrap", "/ip4/127.0.0.1/tcp/4001"}},
	} {
		c.fails(tc.code, tc.want, tc.args...)
	}
}

func TestHistoryAndTimeTravel(t *testing.T) {
	c := newCLI(t)
	v1 := strings.TrimSpace(c.ok("put", "users/ada", `{"name":"Ada","city":"Paris"}`))
	v2 := strings.TrimSpace(c.ok("put", "users/ada", `{"name":"Ada","city":"London"}`))
	v3 := strings.TrimSpace(c.ok("put", "users/ada", "--patch", `{"age":36}`))

	var hist []struct {
		Version, Clock, Time, Author, Kind string
		Value                              json.RawMessage
	}
	c.okJSON(&hist, "history", "users/ada")
	if len(hist) != 3 || hist[0].Version != v1 || hist[1].Version != v2 || hist[2].Version != v3 {
		t.Fatalf("history --json = %+v, want %s %s %s oldest first", hist, v1, v2, v3)
	}
	if hist[0].Kind != "set" || hist[2].Kind != "patch" || string(hist[0].Value) != `{"city":"Paris","name":"Ada"}` {
		t.Fatalf("history --json = %+v", hist)
	}
	for i, h := range hist {
		if tm := checkClock(t, "time", h.Time); tm.Location() != time.UTC || !strings.Contains(h.Time, ".") {
			t.Fatalf("history[%d].time = %q: want RFC 3339 UTC with nanoseconds", i, h.Time)
		}
		checkClock(t, "clock", h.Clock)
		if !strings.HasPrefix(h.Author, "12D3KooW") {
			t.Fatalf("history[%d].author = %q", i, h.Author)
		}
	}
	var last []struct{ Version string }
	c.okJSON(&last, "log", "users/ada", "--limit", "2")
	if len(last) != 2 || last[0].Version != v2 || last[1].Version != v3 {
		t.Fatalf("log --limit 2 = %+v, want the newest two, oldest first", last)
	}
	if text := c.ok("history", "users/ada"); strings.Count(text, "\n") != 3 || !strings.Contains(text, v1) {
		t.Fatalf("history = %q", text)
	}

	// get --at takes the time history prints, and Unix milliseconds.
	if got := c.ok("get", "users/ada", "--at", hist[0].Time); got != `{"city":"Paris","name":"Ada"}`+"\n" {
		t.Fatalf("get --at %s = %q", hist[0].Time, got)
	}
	if got := c.ok("get", "users/ada", "--at", hist[1].Time); got != `{"city":"London","name":"Ada"}`+"\n" {
		t.Fatalf("get --at %s = %q", hist[1].Time, got)
	}
	t2 := checkClock(t, "time", hist[2].Time)
	if got := c.ok("get", "users/ada", "--at", strconv.FormatInt(t2.UnixMilli()+1, 10)); got != `{"age":36,"city":"London","name":"Ada"}`+"\n" {
		t.Fatalf("get --at ms = %q", got)
	}
	c.fails(1, "no value at that time", "get", "users/ada", "--at", "2000-01-01T00:00:00Z")

	// get --heads: the space heads after the second write.
	var heads []string
	c.okJSON(&heads, "dag", "heads")
	if len(heads) != 1 || heads[0] != v3 {
		t.Fatalf("dag heads = %v, want [%s]", heads, v3)
	}
	if got := c.ok("get", "users/ada", "--heads", v2); got != `{"city":"London","name":"Ada"}`+"\n" {
		t.Fatalf("get --heads = %q", got)
	}
}

func TestDiff(t *testing.T) {
	c := newCLI(t)
	v1 := strings.TrimSpace(c.ok("put", "users/ada", `{"name":"Ada","city":"Paris","age":36}`))
	v2 := strings.TrimSpace(c.ok("put", "users/ada", `{"name":"Ada","city":"London","langs":["en"]}`))

	type change struct {
		Path     []string
		Kind     string
		Old, New json.RawMessage
	}
	var changes []change
	c.okJSON(&changes, "diff", "users/ada") // the last write
	want := map[string]string{"age": "removed", "city": "changed", "langs": "added"}
	if len(changes) != 3 {
		t.Fatalf("diff --json = %+v", changes)
	}
	for _, ch := range changes {
		if len(ch.Path) != 1 || want[ch.Path[0]] != ch.Kind {
			t.Fatalf("diff --json = %+v", changes)
		}
		if ch.Path[0] == "city" && (string(ch.Old) != `"Paris"` || string(ch.New) != `"London"`) {
			t.Fatalf("diff city = %+v", ch)
		}
	}
	text := c.ok("diff", "users/ada", v1, v2)
	for _, line := range []string{`~ city: "Paris" -> "London"`, `- age: 36`, `+ langs: ["en"]`} {
		if !strings.Contains(text, line+"\n") {
			t.Fatalf("diff = %q, want a line %q", text, line)
		}
	}
	if got := c.ok("diff", "users/ada", v1); got != text {
		t.Fatalf("diff KEY FROM = %q, want %q (TO is the current version)", got, text)
	}
	c.okJSON(&changes, "diff", "users/ada", v2, v1)
	if len(changes) != 3 {
		t.Fatalf("diff backwards = %+v", changes)
	}

	// One version: everything is added.
	c.ok("put", "users/new", `{"a":1}`)
	c.okJSON(&changes, "diff", "users/new")
	if len(changes) != 1 || changes[0].Kind != "added" || len(changes[0].Path) != 0 {
		t.Fatalf("diff of a first version = %+v", changes)
	}
	// A version of another key is invalid input.
	c.fails(2, "invalid version", "diff", "users/new", v1)
}

func TestListAndQuery(t *testing.T) {
	c := newCLI(t)
	people := map[string]string{
		"users/ada":   `{"name":"Ada","age":36,"city":"London","tags":["math","go"]}`,
		"users/alan":  `{"name":"Alan","age":41,"city":"Manchester"}`,
		"users/grace": `{"name":"Grace","age":85,"city":"New York","tags":["cobol"]}`,
		"users/linus": `{"name":"Linus","age":28,"city":"Portland","tags":["c","go"]}`,
		"posts/1":     `{"title":"hello"}`,
	}
	for k, v := range people {
		c.ok("put", k, v)
	}
	var listed []struct{ Key, Version string }
	c.okJSON(&listed, "ls", "users/")
	var keys []string
	for _, l := range listed {
		checkCID(t, "ls version", l.Version)
		keys = append(keys, l.Key)
	}
	if !slices.Equal(keys, []string{"users/ada", "users/alan", "users/grace", "users/linus"}) {
		t.Fatalf("ls users/ = %v", keys)
	}
	c.okJSON(&listed, "ls", "--limit", "2", "--after", "posts/1")
	if len(listed) != 2 || listed[0].Key != "users/ada" || listed[1].Key != "users/alan" {
		t.Fatalf("ls --limit 2 --after posts/1 = %+v", listed)
	}
	if text := c.ok("ls"); strings.Count(text, "\n") != 5 || !strings.HasPrefix(text, "posts/1 ") {
		t.Fatalf("ls = %q", text)
	}

	var rows []struct {
		Key   string
		Value json.RawMessage
	}
	c.okJSON(&rows, "query", "users", "--where", "age >= 30", "--where", "tags contains go")
	if len(rows) != 1 || rows[0].Key != "users/ada" {
		t.Fatalf("query = %+v", rows)
	}
	c.okJSON(&rows, "query", "users/", "--where", "city = New York")
	if len(rows) != 1 || rows[0].Key != "users/grace" {
		t.Fatalf("query city = New York: %+v", rows)
	}
	c.okJSON(&rows, "query", "users", "--sort", "age", "--desc", "--limit", "2")
	if len(rows) != 2 || rows[0].Key != "users/grace" || rows[1].Key != "users/alan" {
		t.Fatalf("query --sort age --desc --limit 2 = %+v", rows)
	}
	if got := c.ok("query", "users", "--where", "tags exists", "--count"); got != "3\n" {
		t.Fatalf("query --count = %q", got)
	}
	var agg struct {
		Aggregate, Field string
		Value            json.RawMessage
		Count            int
	}
	c.okJSON(&agg, "query", "users", "--sum", "age")
	if agg.Aggregate != "sum" || agg.Field != "age" || string(agg.Value) != "190" || agg.Count != 4 {
		t.Fatalf("query --sum age = %+v", agg)
	}
	c.okJSON(&agg, "query", "users", "--avg", "age", "--where", "age < 40")
	if avg, err := strconv.ParseFloat(string(agg.Value), 64); err != nil || avg != 32 || agg.Count != 2 {
		t.Fatalf("query --avg age = %+v", agg)
	}
	if text := c.ok("query", "users", "--where", "name = Linus"); text != `users/linus  {"age":28,"city":"Portland","name":"Linus","tags":["c","go"]}`+"\n" {
		t.Fatalf("query text = %q", text)
	}
}

func TestBatch(t *testing.T) {
	c := newCLI(t)
	c.ok("put", "users/old", `1`)
	c.ok("put", "users/ada", `{"name":"Ada"}`)
	file := filepath.Join(t.TempDir(), "ops.jsonl")
	lines := `{"op":"put","key":"users/grace","value":{"name":"Grace"}}

{"op":"patch","key":"users/ada","value":{"city":"London"}}
{"op":"del","key":"users/old"}
`
	if err := os.WriteFile(file, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	var w struct {
		Version string
		Ops     int
	}
	c.okJSON(&w, "batch", file)
	if w.Ops != 3 {
		t.Fatalf("batch --json = %+v", w)
	}
	// One atomic write: one node, the version of every key it wrote.
	var listed []struct{ Key, Version string }
	c.okJSON(&listed, "ls")
	if len(listed) != 2 || listed[0].Key != "users/ada" || listed[0].Version != w.Version || listed[1].Version != w.Version {
		t.Fatalf("ls after batch = %+v, want users/ada and users/grace at %s", listed, w.Version)
	}
	if got := c.ok("get", "users/ada"); got != `{"city":"London","name":"Ada"}`+"\n" {
		t.Fatalf("get = %q", got)
	}
	c.fails(1, "not found", "get", "users/old")

	// From stdin.
	if r := c.runIn(`{"op":"put","key":"users/x","value":1}`+"\n"+`{"op":"set","key":"users/y","value":"two"}`, "batch", "-"); r.code != 0 {
		t.Fatalf("batch -: %+v", r)
	}
	if got := c.ok("get", "users/y"); got != `"two"`+"\n" {
		t.Fatalf("get = %q", got)
	}

	// Bad input writes nothing and exits 2, naming the line.
	before := c.ok("dag", "heads")
	for _, tc := range []struct{ input, want string }{
		{`{"op":"put","key":"users/z","value":1}` + "\n" + `{"op":"put","key":"users/w","value":`, "batch line 2"},
		{`{"op":"zap","key":"users/z"}`, `unknown op "zap"`},
		{`{"op":"put","key":"users/z"}`, `no "value"`},
		{`{"op":"put","key":"nokey","value":1}`, "invalid key"},
		{`{"op":"put","key":"users/z","value":1,"extra":2}`, "unknown field"},
		{"\n\n", "no ops"},
		{`{"op":"put","key":"users/z","value":1}` + "\n" + `{"op":"del","key":"users/z"}`, "appears twice"},
	} {
		r := c.runIn(tc.input, "batch", "-")
		c.checkFail(r, 2, tc.want, []string{"batch", "-", "<<<", tc.input})
	}
	if after := c.ok("dag", "heads"); after != before {
		t.Fatalf("a failed batch wrote: heads %q -> %q", before, after)
	}
	c.fails(1, "no such file", "batch", filepath.Join(t.TempDir(), "missing.jsonl"))
}

func TestSpaces(t *testing.T) {
	c := newCLI(t)
	var s struct {
		Name, ID, Owner string
		Open            bool
	}
	c.okJSON(&s, "space", "create", "sensors", "--open")
	if s.Name != "sensors" || !s.Open || s.Owner != "" {
		t.Fatalf("space create --json = %+v", s)
	}
	checkCID(t, "space id", s.ID)
	c.ok("space", "create", "notes")
	c.fails(1, "already exists", "space", "create", "notes")

	var list []struct {
		Name, ID, Owner string
		Open            bool
	}
	c.okJSON(&list, "space", "list")
	if len(list) != 3 || list[0].Name != "default" || list[0].Open || !strings.HasPrefix(list[0].Owner, "12D3KooW") ||
		list[1].Name != "notes" || list[2].Name != "sensors" || !list[2].Open {
		t.Fatalf("space list --json = %+v", list)
	}

	// --space and KORUP2P_SPACE choose the space.
	c.ok("--space", "sensors", "put", "temp/kitchen", "21.5")
	c.fails(1, "not found", "get", "temp/kitchen")
	if got := c.ok("--space", "sensors", "get", "temp/kitchen"); got != "21.5\n" {
		t.Fatalf("get --space sensors = %q", got)
	}
	withEnv := &cliRunner{t: t, data: c.data, env: append(slices.Clone(c.env), "KORUP2P_SPACE=sensors")}
	if got := withEnv.ok("get", "temp/kitchen"); got != "21.5\n" {
		t.Fatalf("get with KORUP2P_SPACE = %q", got)
	}
}

func TestDataDirFromEnv(t *testing.T) {
	c := newCLI(t)
	c.ok("put", "a/b", "1")
	ctxEnv := append(slices.Clone(c.env), "KORUP2P_DATA="+c.data)
	r := (&cliRunner{t: t, env: ctxEnv}).run("get", "a/b")
	if r.code != 0 || r.stdout != "1\n" {
		t.Fatalf("get with KORUP2P_DATA: %+v", r)
	}
	// Without either, the data directory is under XDG_DATA_HOME.
	xdg := t.TempDir()
	r = (&cliRunner{t: t, env: append(slices.Clone(c.env), "XDG_DATA_HOME="+xdg)}).run("put", "a/b", "2")
	if r.code != 0 {
		t.Fatalf("put with XDG_DATA_HOME: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(xdg, "korup2p", "identity.key")); err != nil {
		t.Fatalf("no store in $XDG_DATA_HOME/korup2p: %v", err)
	}
}

func TestDAGCommands(t *testing.T) {
	c := newCLI(t)
	v1 := strings.TrimSpace(c.ok("put", "users/ada", `{"n":1}`))
	v2 := strings.TrimSpace(c.runIn(`{"op":"put","key":"users/b","value":2}`+"\n"+`{"op":"put","key":"users/c","value":3}`, "batch", "-").stdout)

	var log []struct {
		CID     string
		Parents []string
		Height  uint64
		Clock   string
		Time    string
		Author  string
		Keys    []string
	}
	c.okJSON(&log, "dag", "log")
	if len(log) != 3 || log[0].CID != v2 || log[1].CID != v1 || log[0].Height != 2 || log[2].Height != 0 {
		t.Fatalf("dag log --json = %+v", log)
	}
	if !slices.Equal(log[0].Parents, []string{v1}) || !slices.Equal(log[0].Keys, []string{"users/b", "users/c"}) ||
		!slices.Equal(log[1].Parents, []string{log[2].CID}) || len(log[2].Parents) != 0 {
		t.Fatalf("dag log --json = %+v", log)
	}
	c.okJSON(&log, "dag", "log", "--limit", "1")
	if len(log) != 1 || log[0].CID != v2 {
		t.Fatalf("dag log --limit 1 = %+v", log)
	}
	graph := c.ok("dag", "log", "--graph")
	lines := strings.Split(strings.TrimSpace(graph), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "* "+v2) || !strings.HasPrefix(lines[1], "* "+v1) ||
		!strings.Contains(lines[2], "(genesis)") {
		t.Fatalf("dag log --graph =\n%s", graph)
	}

	var node struct {
		CID, Space, Clock, Author string
		Parents                   []string
		Height                    uint64
		Ops                       []struct {
			Key, Kind string
			Prev      []string
			Value     json.RawMessage
		}
	}
	c.okJSON(&node, "dag", "show", v2)
	if node.CID != v2 || node.Height != 2 || !slices.Equal(node.Parents, []string{v1}) || len(node.Ops) != 2 ||
		node.Ops[1].Key != "users/c" || node.Ops[1].Kind != "set" || string(node.Ops[1].Value) != "3" {
		t.Fatalf("dag show --json = %+v", node)
	}
	if text := c.ok("dag", "show", v2); !strings.Contains(text, "\n  \"cid\": \""+v2+"\"") {
		t.Fatalf("dag show = %q, want indented JSON", text)
	}
	c.fails(1, "not found", "dag", "show", "bafyreiew2vnk4dlgvomojzxo2m4nboewn4bhyzaknzj7hbi6mn2ezrhinq")

	dot := c.ok("dag", "dot")
	if !strings.HasPrefix(dot, `digraph "korup2p default" {`) || !strings.Contains(dot, `"`+v2+`" -> "`+v1+`";`) ||
		!strings.HasSuffix(dot, "}\n") {
		t.Fatalf("dag dot =\n%s", dot)
	}
}

func TestStatusIDPeersOffline(t *testing.T) {
	c := newCLI(t)
	c.ok("put", "users/a", "1")
	c.ok("put", "users/b", "2")
	c.ok("del", "users/b")
	var st statusJSON
	c.okJSON(&st, "status")
	if st.Mode != "local" || !strings.HasPrefix(st.PeerID, "12D3KooW") || len(st.Spaces) != 1 || st.Peers == nil {
		t.Fatalf("status --json = %+v", st)
	}
	sp := st.Spaces[0]
	if sp.Name != "default" || sp.Keys != 1 || sp.Nodes != 4 || len(sp.Heads) != 1 || st.Tiers.WALBytes == 0 || st.Tiers.Nodes != 4 {
		t.Fatalf("status --json spaces/tiers = %+v / %+v", sp, st.Tiers)
	}
	var raw map[string]json.RawMessage
	c.okJSON(&raw, "status")
	for _, f := range []string{"peer_id", "addrs", "spaces", "tiers", "peers"} {
		if _, ok := raw[f]; !ok {
			t.Errorf("status --json has no %q", f)
		}
	}
	if text := c.ok("status"); !strings.Contains(text, st.PeerID) || !strings.Contains(text, "default") {
		t.Fatalf("status = %q", text)
	}

	var id struct {
		PeerID string `json:"peer_id"`
		Addrs  []string
	}
	c.okJSON(&id, "id")
	if id.PeerID != st.PeerID || id.Addrs == nil || len(id.Addrs) != 0 {
		t.Fatalf("id --json = %+v", id)
	}
	if got := c.ok("peers", "--json"); got != "[]\n" {
		t.Fatalf("peers --json = %q", got)
	}
}

func TestRepairOffline(t *testing.T) {
	c := newCLI(t)
	for i := range 20 {
		c.ok("put", "k/"+strconv.Itoa(i), strconv.Itoa(i))
	}
	var r struct {
		Repaired bool
		Bytes    int64
	}
	c.okJSON(&r, "repair")
	if !r.Repaired || r.Bytes == 0 {
		t.Fatalf("repair --json = %+v", r)
	}
	if got := c.ok("get", "k/7"); got != "7\n" {
		t.Fatalf("get after repair = %q", got)
	}
	if text := c.ok("repair"); !strings.HasPrefix(text, "repaired ") {
		t.Fatalf("repair = %q", text)
	}
}

// TestWatchLocal: without a daemon, watch opens the store itself and holds it;
// another command says who holds it; an interrupt ends watch cleanly.
func TestWatchLocal(t *testing.T) {
	c := newCLI(t)
	c.ok("put", "users/a", "1")
	w := start(t, c.env, "--data", c.data, "watch", "users/", "--json")
	w.waitLine(w.stderr, "watching default/users/", 20*time.Second)
	r := c.run("put", "users/b", "2")
	c.checkFail(r, 1, "in use by pid "+strconv.Itoa(w.cmd.Process.Pid), []string{"put", "users/b", "2"})
	if code := w.stop(syscall.SIGINT, 10*time.Second); code != 0 {
		t.Fatalf("watch after SIGINT: exit %d", code)
	}
	c.ok("put", "users/b", "2") // released
}

// TestStaleAPIFile: DATA/api left by a killed daemon is ignored.
func TestStaleAPIFile(t *testing.T) {
	c := newCLI(t)
	c.ok("put", "users/a", "1")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	if err := os.WriteFile(filepath.Join(c.data, "api"), []byte(dead+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := c.ok("get", "users/a"); got != "1\n" {
		t.Fatalf("get with a stale DATA/api = %q", got)
	}
	// --api names a daemon that must answer.
	c.fails(1, "no daemon answers at "+dead, "--api", dead, "get", "users/a")
}

func TestCompletionAndHelp(t *testing.T) {
	c := newCLI(t)
	for _, sh := range []string{"bash", "zsh", "fish"} {
		if out := c.ok("completion", sh); !strings.Contains(out, "korup2p") {
			t.Fatalf("completion %s: %q", sh, out[:min(len(out), 200)])
		}
	}
	help := c.ok("--help")
	for _, want := range []string{"daemon", "put", "query", "dag", "Exit codes", "--data", "--json"} {
		if !strings.Contains(help, want) {
			t.Fatalf("--help lacks %q:\n%s", want, help)
		}
	}
	if out := c.ok("put", "--help"); !strings.Contains(out, "Examples:") || !strings.Contains(out, "--string") {
		t.Fatalf("put --help:\n%s", out)
	}
}
