package httpapi_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/cmd/korup2p/internal/httpapi"
	"github.com/korup2p/korup2p/dag"
)

// TestPutGetPatchDelete: the write routes answer the Node's write results, and Get
// answers what the Node's Get does.
func TestPutGetPatchDelete(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	res := mustPut(t, f.c, "default", "users/ada", `{"name":"Ada","langs":["en"],"tag":"<b>&"}`)
	e, err := f.c.Get(ctx, "default", "users/ada", time.Time{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	local, err := f.n.Get(ctx, "default", "users/ada")
	if err != nil {
		t.Fatal(err)
	}
	if !e.Version.Equals(res.Version) || e.Clock != res.Clock || !e.Version.Equals(local.Version) || e.Author != f.n.ID() ||
		string(e.Value) != string(local.Value) || len(e.Heads) != 1 || !e.Heads[0].Equals(res.Version) || e.Conflicts != nil {
		t.Fatalf("client %+v\nlocal  %+v\nput %+v", e, local, res)
	}
	if !strings.Contains(string(e.Value), `"<b>&"`) {
		t.Fatalf("value %s: HTML-escaped", e.Value)
	}

	pres, err := f.c.Patch(ctx, "default", "users/ada", json.RawMessage(`{"langs":null,"born":1815}`))
	if err != nil {
		t.Fatal(err)
	}
	if pres.Clock.Compare(res.Clock) <= 0 {
		t.Fatalf("patch clock %v not after %v", pres.Clock, res.Clock)
	}
	e, err = f.c.Get(ctx, "default", "users/ada", time.Time{}, nil)
	if err != nil || !jsonEq(t, e.Value, `{"name":"Ada","born":1815,"tag":"<b>&"}`) || !e.Version.Equals(pres.Version) {
		t.Fatalf("after patch: %s %v", e.Value, err)
	}

	// The raw shape of a read.
	status, body := f.do(t, "GET", "/v1/spaces/default/keys/users/ada", "")
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); status != 200 || err != nil {
		t.Fatalf("%d %s %v", status, body, err)
	}
	for _, k := range []string{"key", "value", "version", "clock", "author", "heads", "conflicts"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("GET answer lacks %q: %s", k, body)
		}
	}

	dres, err := f.c.Delete(ctx, "default", "users/ada")
	if err != nil || !dres.Version.Defined() {
		t.Fatalf("delete: %+v %v", dres, err)
	}
	if _, err := f.c.Get(ctx, "default", "users/ada", time.Time{}, nil); !errors.Is(err, korup2p.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	status, body = f.do(t, "DELETE", "/v1/spaces/default/keys/users/ada", "")
	if status != 200 || !strings.Contains(string(body), `"key":"users/ada"`) {
		t.Fatalf("delete of an absent key: %d %s", status, body)
	}
}

// TestNullValue: JSON null is a value, distinct from a delete, through every read.
func TestNullValue(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	mustPut(t, f.c, "default", "n/1", `null`)
	e, err := f.c.Get(ctx, "default", "n/1", time.Time{}, nil)
	if err != nil || string(e.Value) != "null" {
		t.Fatalf("%q %v", e.Value, err)
	}
	if _, err := f.c.Delete(ctx, "default", "n/1"); err != nil {
		t.Fatal(err)
	}
	hist, err := f.c.History(ctx, "default", "n/1", 0)
	if err != nil || len(hist) != 2 || string(hist[0].Value) != "null" || hist[1].Value != nil || hist[1].Kind != dag.KindDel {
		t.Fatalf("%+v %v", hist, err)
	}
}

// TestKeysWithAwkwardCharacters: keys with slashes, empty and dot segments,
// spaces, '?', '#', '%' and non-ASCII travel intact in both directions.
func TestKeysWithAwkwardCharacters(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	keys := []string{"a/b", "a/b/c/d", "a//b", "a/./b", "a/../x", "a/b/", "a/sp ace?q=1#frag%41", "ns/ünï/日本", "a/%2F"}
	for i, k := range keys {
		mustPut(t, f.c, "default", k, strconv.Itoa(i))
	}
	for i, k := range keys {
		e, err := f.c.Get(ctx, "default", k, time.Time{}, nil)
		if err != nil || e.Key != k || string(e.Value) != strconv.Itoa(i) {
			t.Errorf("get %q: %+v %v", k, e, err)
		}
		if hist, err := f.c.History(ctx, "default", k, 0); err != nil || len(hist) != 1 {
			t.Errorf("history %q: %v %v", k, hist, err)
		}
	}
	got, err := f.c.List(ctx, "default", "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(keys)
	slices.Sort(want)
	var gotKeys []string
	for _, l := range got {
		gotKeys = append(gotKeys, l.Key)
	}
	if !slices.Equal(gotKeys, want) {
		t.Fatalf("list %q, want %q", gotKeys, want)
	}
	// Plain slashes work for curl users too.
	if status, body := f.do(t, "GET", "/v1/spaces/default/keys/a/b/c/d", ""); status != 200 {
		t.Fatalf("%d %s", status, body)
	}
}

// TestSpaceByID: {space} may be the space's ID.
func TestSpaceByID(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	spaces, err := f.c.Spaces(ctx)
	if err != nil || len(spaces) != 1 || spaces[0].Name != "default" || spaces[0].Open || spaces[0].Owner != f.n.ID() {
		t.Fatalf("%+v %v", spaces, err)
	}
	id := spaces[0].ID.String()
	mustPut(t, f.c, id, "docs/1", `1`)
	e, err := f.c.Get(ctx, "default", "docs/1", time.Time{}, nil)
	if err != nil || string(e.Value) != "1" {
		t.Fatalf("%+v %v", e, err)
	}
	heads, err := f.c.Heads(ctx, id)
	if err != nil || len(heads) != 1 || !heads[0].Equals(e.Version) {
		t.Fatalf("%v %v", heads, err)
	}
	// A CID that names no space held here.
	other, _ := cid.Decode("bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy")
	if _, err := f.c.Get(ctx, other.String(), "docs/1", time.Time{}, nil); !errors.Is(err, korup2p.ErrUnknownSpace) {
		t.Fatalf("unknown space ID: %v", err)
	}
}

// TestHistoryAndDiff: history oldest first, limit keeps the newest; diff between
// versions and from before the first.
func TestHistoryAndDiff(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	v1 := mustPut(t, f.c, "default", "doc/1", `{"a":1,"b":2}`)
	v2 := mustPut(t, f.c, "default", "doc/1", `{"a":1,"b":3,"c":true}`)
	v3, err := f.c.Patch(ctx, "default", "doc/1", json.RawMessage(`{"a":null}`))
	if err != nil {
		t.Fatal(err)
	}
	hist, err := f.c.History(ctx, "default", "doc/1", 0)
	if err != nil {
		t.Fatal(err)
	}
	local, err := f.n.History(ctx, "default", "doc/1")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 || !hist[0].Version.Equals(v1.Version) || !hist[2].Version.Equals(v3.Version) {
		t.Fatalf("%+v", hist)
	}
	for i := range hist {
		h, l := hist[i], local[i]
		if !h.Version.Equals(l.Version) || h.Clock != l.Clock || h.Author != l.Author || h.Kind != l.Kind ||
			string(h.Value) != string(l.Value) || h.Distilled != l.Distilled {
			t.Errorf("version %d: %+v, local %+v", i, h, l)
		}
	}
	if hist[2].Kind != dag.KindPatch {
		t.Errorf("kind %q", hist[2].Kind)
	}
	last, err := f.c.History(ctx, "default", "doc/1", 2)
	if err != nil || len(last) != 2 || !last[0].Version.Equals(v2.Version) {
		t.Fatalf("limit 2: %+v %v", last, err)
	}
	// The raw shape: time is the clock's wall time with nanoseconds.
	_, body := f.do(t, "GET", "/v1/spaces/default/history/doc/1?limit=1", "")
	var raw []map[string]any
	if err := json.Unmarshal(body, &raw); err != nil || len(raw) != 1 {
		t.Fatalf("%s %v", body, err)
	}
	if raw[0]["time"] != v3.Clock.Time().Format(time.RFC3339Nano) || raw[0]["kind"] != "patch" || raw[0]["distilled"] != false {
		t.Fatalf("%s", body)
	}

	changes, err := f.c.Diff(ctx, "default", "doc/1", v1.Version, v2.Version)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := f.n.Diff(ctx, "default", "doc/1", v1.Version, v2.Version)
	if fmt.Sprint(changes) != fmt.Sprint(want) || len(changes) != 2 {
		t.Fatalf("diff %+v, want %+v", changes, want)
	}
	all, err := f.c.Diff(ctx, "default", "doc/1", cid.Undef, v3.Version)
	if err != nil || len(all) != 1 || all[0].Kind != "added" || all[0].Path != nil || all[0].Old != nil {
		t.Fatalf("diff from the start: %+v %v", all, err)
	}
	if _, err := f.c.Diff(ctx, "default", "doc/1", v1.Version, f.mustHead(t)); err != nil {
		t.Fatalf("diff to the head: %v", err)
	}
	// A CID that is not a version of the key.
	other := mustPut(t, f.c, "default", "doc/2", `1`)
	if _, err := f.c.Diff(ctx, "default", "doc/1", v1.Version, other.Version); !errors.Is(err, korup2p.ErrInvalidVersion) {
		t.Fatalf("diff to another key's version: %v", err)
	}
	status, body := f.do(t, "GET", "/v1/spaces/default/diff/doc/1?from=nope", "")
	if e := wantError(t, status, body, 400, "invalid"); e.Reason != "version" {
		t.Fatalf("%+v", e)
	}
	if _, err := f.c.History(ctx, "default", "doc/never", 0); !errors.Is(err, korup2p.ErrNotFound) {
		t.Fatalf("history of a key never written: %v", err)
	}
}

func (f *fixture) mustHead(t testing.TB) cid.Cid {
	t.Helper()
	heads, err := f.n.Heads("default")
	if err != nil || len(heads) != 1 {
		t.Fatalf("%v %v", heads, err)
	}
	return heads[0]
}

// TestGetAtAndHeads: `at` as RFC 3339 or Unix milliseconds reads the past;
// `heads` reads as of space heads; a time before the first version is
// ErrNoValueAtTime, and giving both is a 400.
func TestGetAtAndHeads(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	f := newFixture(t, fixtureOpts{node: &korup2p.Options{Now: clock.Now}})
	t0 := clock.Now()
	mustPut(t, f.c, "default", "doc/1", `"one"`)
	heads1 := []cid.Cid{f.mustHead(t)}
	clock.Set(t0.Add(time.Hour))
	mustPut(t, f.c, "default", "doc/1", `"two"`)
	clock.Set(t0.Add(2 * time.Hour))
	if _, err := f.c.Delete(ctx, "default", "doc/1"); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		at   time.Time
		want string
		err  error
	}{
		{t0.Add(-time.Minute), "", korup2p.ErrNoValueAtTime},
		{t0, `"one"`, nil},
		{t0.Add(30 * time.Minute), `"one"`, nil},
		{t0.Add(time.Hour + time.Nanosecond), `"two"`, nil},
		{t0.Add(3 * time.Hour), "", korup2p.ErrNotFound},
	} {
		e, err := f.c.Get(ctx, "default", "doc/1", tc.at, nil)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("at %v: %v, want %v", tc.at, err, tc.err)
			}
			continue
		}
		if err != nil || string(e.Value) != tc.want {
			t.Errorf("at %v: %s %v, want %s", tc.at, e.Value, err, tc.want)
		}
	}
	// Unix milliseconds, and RFC 3339 in another zone, on the raw API.
	ms := strconv.FormatInt(t0.Add(90*time.Minute).UnixMilli(), 10)
	if status, body := f.do(t, "GET", "/v1/spaces/default/keys/doc/1?at="+ms, ""); status != 200 || !strings.Contains(string(body), `"value":"two"`) {
		t.Fatalf("at ms: %d %s", status, body)
	}
	at := url.QueryEscape(t0.Add(10 * time.Minute).In(time.FixedZone("X", 3600)).Format(time.RFC3339))
	if status, body := f.do(t, "GET", "/v1/spaces/default/keys/doc/1?at="+at, ""); status != 200 || !strings.Contains(string(body), `"value":"one"`) {
		t.Fatalf("at RFC 3339: %d %s", status, body)
	}
	status, body := f.do(t, "GET", "/v1/spaces/default/keys/doc/1?at=yesterday", "")
	wantError(t, status, body, 400, "invalid")
	status, body = f.do(t, "GET", "/v1/spaces/default/keys/doc/1?at="+ms+"&heads="+heads1[0].String(), "")
	wantError(t, status, body, 400, "invalid")
	status, body = f.do(t, "GET", "/v1/spaces/default/keys/doc/1", "")
	wantError(t, status, body, 404, "not_found")
	status, body = f.do(t, "GET", "/v1/spaces/default/keys/doc/1?at="+strconv.FormatInt(t0.Add(-time.Hour).UnixMilli(), 10), "")
	wantError(t, status, body, 404, "no_value_at_time")

	e, err := f.c.Get(ctx, "default", "doc/1", time.Time{}, heads1)
	if err != nil || string(e.Value) != `"one"` {
		t.Fatalf("as of %v: %s %v", heads1, e.Value, err)
	}
	status, body = f.do(t, "GET", "/v1/spaces/default/keys/doc/1?heads=notacid", "")
	wantError(t, status, body, 400, "invalid")
}

// TestListCursors: limit and next page a listing; the Client follows cursors past
// the server's page size.
func TestListCursors(t *testing.T) {
	f := newFixture(t, fixtureOpts{node: &korup2p.Options{Durability: korup2p.DurabilityNone}})
	const total = httpapi.MaxListLimit + 50
	for b := 0; b < total; b += 1000 {
		var ops []korup2p.Op
		for i := b; i < min(b+1000, total); i++ {
			ops = append(ops, korup2p.Op{Kind: korup2p.OpPut, Key: fmt.Sprintf("k/%05d", i), Value: i})
		}
		if _, err := f.c.Batch(ctx, "default", ops); err != nil {
			t.Fatal(err)
		}
	}
	mustPut(t, f.c, "default", "other/1", `1`)

	type page struct {
		Keys []struct{ Key, Version string }
		Next string
	}
	get := func(q string) page {
		t.Helper()
		status, body := f.do(t, "GET", "/v1/spaces/default/keys?"+q, "")
		var p page
		if err := json.Unmarshal(body, &p); status != 200 || err != nil {
			t.Fatalf("%s: %d %s %v", q, status, body, err)
		}
		return p
	}
	p := get("prefix=k/&limit=10")
	if len(p.Keys) != 10 || p.Keys[0].Key != "k/00000" || p.Next != "k/00009" || p.Keys[0].Version == "" {
		t.Fatalf("first page: %+v", p)
	}
	p = get("prefix=k/&limit=10&after=" + p.Next)
	if len(p.Keys) != 10 || p.Keys[0].Key != "k/00010" || p.Next != "k/00019" {
		t.Fatalf("second page: %+v", p)
	}
	p = get("prefix=k/&after=k/10040&limit=10") // exactly the last ten: no more follow
	if len(p.Keys) != 9 || p.Next != "" {
		t.Fatalf("last page: %d keys, next %q", len(p.Keys), p.Next)
	}
	if p = get("prefix=k/"); len(p.Keys) != httpapi.DefaultListLimit || p.Next == "" {
		t.Fatalf("default limit: %d keys, next %q", len(p.Keys), p.Next)
	}
	if p = get("limit=100000"); len(p.Keys) != httpapi.MaxListLimit {
		t.Fatalf("limit over the maximum: %d keys", len(p.Keys))
	}
	status, body := f.do(t, "GET", "/v1/spaces/default/keys?limit=-1", "")
	wantError(t, status, body, 400, "invalid")

	all, err := f.c.List(ctx, "default", "k/", "", 0)
	if err != nil || len(all) != total || all[total-1].Key != fmt.Sprintf("k/%05d", total-1) {
		t.Fatalf("client list: %d keys, %v", len(all), err)
	}
	some, err := f.c.List(ctx, "default", "k/", "k/00100", 25)
	if err != nil || len(some) != 25 || some[0].Key != "k/00101" {
		t.Fatalf("client list after, limit: %d %v", len(some), err)
	}
	local, _ := f.n.List(ctx, "default", "k/", "k/00100", 25)
	for i := range some {
		if some[i].Key != local[i].Key || !some[i].Version.Equals(local[i].Version) {
			t.Fatalf("%d: %+v, local %+v", i, some[i], local[i])
		}
	}
	if _, err := f.c.List(ctx, "nope", "", "", 0); !errors.Is(err, korup2p.ErrUnknownSpace) {
		t.Fatalf("unknown space: %v", err)
	}
}

// TestBatch: a batch is one node; a bad op refuses the whole batch.
func TestBatch(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	mustPut(t, f.c, "default", "b/old", `{"x":1}`)
	res, err := f.c.Batch(ctx, "default", []korup2p.Op{
		{Kind: korup2p.OpPut, Key: "b/1", Value: json.RawMessage(`{"n":1}`)},
		{Kind: korup2p.OpPut, Key: "b/2", Value: map[string]any{"n": 2}},
		{Kind: korup2p.OpPatch, Key: "b/old", Value: []byte(`{"y":2}`)},
		{Kind: korup2p.OpDel, Key: "b/none"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"b/1": `{"n":1}`, "b/2": `{"n":2}`, "b/old": `{"x":1,"y":2}`} {
		e, err := f.c.Get(ctx, "default", key, time.Time{}, nil)
		if err != nil || !jsonEq(t, e.Value, want) || !e.Version.Equals(res.Version) {
			t.Errorf("%s: %s %v (version %v, batch %v)", key, e.Value, err, e.Version, res.Version)
		}
	}
	heads := f.mustHead(t)
	for name, tc := range map[string]struct {
		body   string
		reason string
	}{
		"no ops":        {`{"ops":[]}`, "request"},
		"unknown op":    {`{"ops":[{"op":"put","key":"b/3","value":1},{"op":"zap","key":"b/4"}]}`, "request"},
		"bad key":       {`{"ops":[{"op":"put","key":"b/3","value":1},{"op":"put","key":"nokey","value":1}]}`, "key"},
		"reserved key":  {`{"ops":[{"op":"put","key":"_korup2p/x","value":1}]}`, "key"},
		"duplicate key": {`{"ops":[{"op":"put","key":"b/3","value":1},{"op":"del","key":"b/3"}]}`, "key"},
		"no value":      {`{"ops":[{"op":"put","key":"b/3"}]}`, "value"},
		"unknown field": {`{"ops":[],"atomic":true}`, "request"},
		"not JSON":      {`{"ops":[`, "request"},
		"big integer":   {`{"ops":[{"op":"put","key":"b/3","value":123456789012345678901234567890}]}`, "value"},
	} {
		status, body := f.do(t, "POST", "/v1/spaces/default/batch", tc.body)
		if e := wantError(t, status, body, 400, "invalid"); e.Reason != tc.reason {
			t.Errorf("%s: reason %q (%s), want %q", name, e.Reason, e.Error, tc.reason)
		}
	}
	if h := f.mustHead(t); !h.Equals(heads) {
		t.Fatalf("a refused batch wrote: heads %v → %v", heads, h)
	}
	if _, err := f.c.Get(ctx, "default", "b/3", time.Time{}, nil); !errors.Is(err, korup2p.ErrNotFound) {
		t.Fatalf("b/3: %v", err)
	}
	_, err = f.c.Batch(ctx, "default", []korup2p.Op{{Kind: korup2p.OpPut, Key: "b/1", Value: 1}, {Kind: korup2p.OpPut, Key: "b/1", Value: 2}})
	if !errors.Is(err, korup2p.ErrInvalidKey) {
		t.Fatalf("duplicate key through the client: %v", err)
	}
	_, err = f.c.Batch(ctx, "default", []korup2p.Op{{Kind: korup2p.OpPut, Key: "b/1", Value: json.RawMessage(`{`)}})
	if !errors.Is(err, korup2p.ErrInvalidValue) {
		t.Fatalf("invalid JSON through the client: %v", err)
	}
}

// TestQuery: filters (words and symbols), sort, limit and every aggregate answer
// what the Node's Query does.
func TestQuery(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	people := map[string]string{
		"p/ada":   `{"name":"Ada","age":36,"city":"London","tags":["math","go"]}`,
		"p/alan":  `{"name":"Alan","age":41,"city":"Wilmslow","tags":["crypto"]}`,
		"p/grace": `{"name":"Grace","age":85,"city":"Arlington","tags":["cobol","go"]}`,
		"p/linus": `{"name":"Linus","age":28.5,"city":"Portland"}`,
		"q/other": `{"age":1000}`,
	}
	for k, v := range people {
		mustPut(t, f.c, "default", k, v)
	}
	queries := []korup2p.Query{
		{},
		{Filters: []korup2p.Filter{{Field: "age", Op: korup2p.FilterGte, Value: int64(36)}}, Sort: "age", Desc: true},
		{Filters: []korup2p.Filter{{Field: "tags", Op: korup2p.FilterContains, Value: "go"}}, Sort: "name"},
		{Filters: []korup2p.Filter{{Field: "tags", Op: korup2p.FilterExists}}, Limit: 2, Sort: "age"},
		{Filters: []korup2p.Filter{{Field: "city", Op: korup2p.FilterNe, Value: "London"}, {Field: "age", Op: korup2p.FilterLt, Value: 50.0}}},
		{Aggregate: &korup2p.Aggregate{Kind: korup2p.AggCount}},
		{Aggregate: &korup2p.Aggregate{Kind: korup2p.AggSum, Field: "age"}},
		{Aggregate: &korup2p.Aggregate{Kind: korup2p.AggAvg, Field: "age"}},
		{Aggregate: &korup2p.Aggregate{Kind: korup2p.AggMin, Field: "name"}},
		{Filters: []korup2p.Filter{{Field: "age", Op: korup2p.FilterGt, Value: int64(1000)}}, Aggregate: &korup2p.Aggregate{Kind: korup2p.AggMax, Field: "age"}},
	}
	for i, q := range queries {
		got, err := f.c.Query(ctx, "default", "p", q)
		if err != nil {
			t.Fatalf("query %d: %v", i, err)
		}
		want, err := f.n.Query(ctx, "default", "p", q)
		if err != nil {
			t.Fatalf("query %d locally: %v", i, err)
		}
		if fmt.Sprintf("%v %d %s", got.Rows, got.Count, got.Aggregate) != fmt.Sprintf("%v %d %s", want.Rows, want.Count, want.Aggregate) {
			t.Errorf("query %d: %+v\nwant %+v", i, got, want)
		}
	}
	// Symbols in the raw API, and the answer's shape.
	status, body := f.do(t, "POST", "/v1/spaces/default/query",
		`{"namespace":"p","where":[{"field":"age","op":">=","value":41}],"sort":"age","limit":1}`)
	if status != 200 || !jsonEq(t, body, `{"rows":[{"key":"p/alan","value":{"name":"Alan","age":41,"city":"Wilmslow","tags":["crypto"]}}],"count":1}`) {
		t.Fatalf("%d %s", status, body)
	}
	status, body = f.do(t, "POST", "/v1/spaces/default/query", `{"namespace":"p","aggregate":{"sum":"age"}}`)
	if status != 200 || !jsonEq(t, body, `{"rows":[],"count":4,"aggregate":190.5}`) {
		t.Fatalf("%d %s", status, body)
	}
	for _, bad := range []string{
		`{"namespace":""}`,
		`{"namespace":"p/x"}`,
		`{"namespace":"p","where":[{"field":"age","op":"~","value":1}]}`,
		`{"namespace":"p","where":[{"field":"age","op":"eq","value":01}]}`,
		`{"namespace":"p","aggregate":{"count":true,"sum":"age"}}`,
		`{"namespace":"p","aggregate":{}}`,
		`{"namespace":"p","limit":-1}`,
		`{"namespace":"p","where":[{"field":"a..b","op":"eq","value":1}]}`,
		`{"namespace":"p","sorting":"age"}`,
	} {
		status, body := f.do(t, "POST", "/v1/spaces/default/query", bad)
		wantError(t, status, body, 400, "invalid")
	}
	if _, err := f.c.Query(ctx, "default", "p", korup2p.Query{Limit: -1}); !errors.Is(err, korup2p.ErrInvalidQuery) {
		t.Fatalf("invalid query through the client: %v", err)
	}
}

// TestSpaces: list and create spaces; a taken name is a 409, a bad one a 400.
func TestSpaces(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	open, err := f.c.CreateSpace(ctx, "lan-notes", true)
	if err != nil || open.Name != "lan-notes" || !open.Open || open.Owner != "" || !open.ID.Defined() {
		t.Fatalf("%+v %v", open, err)
	}
	restricted, err := f.c.CreateSpace(ctx, "mine", false)
	if err != nil || restricted.Open || restricted.Owner != f.n.ID() {
		t.Fatalf("%+v %v", restricted, err)
	}
	spaces, err := f.c.Spaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(spaces) != fmt.Sprint(f.n.Spaces()) || len(spaces) != 3 {
		t.Fatalf("%+v, want %+v", spaces, f.n.Spaces())
	}
	if _, err := f.c.CreateSpace(ctx, "mine", true); !errors.Is(err, korup2p.ErrSpaceExists) {
		t.Fatalf("taken name: %v", err)
	}
	status, body := f.do(t, "POST", "/v1/spaces", `{"name":"mine"}`)
	wantError(t, status, body, 409, "conflict")
	for _, bad := range []string{`{"name":""}`, `{"name":"a b"}`, `{"name":"a/b"}`, `{"name":"x","public":true}`, `[]`} {
		status, body := f.do(t, "POST", "/v1/spaces", bad)
		wantError(t, status, body, 400, "invalid")
	}
	if _, err := f.c.CreateSpace(ctx, strings.Repeat("x", 65), true); !errors.Is(err, httpapi.ErrInvalidRequest) {
		t.Fatalf("long name: %v", err)
	}
	mustPut(t, f.c, "lan-notes", "n/1", `1`)
	if _, err := f.c.Get(ctx, "mine", "n/1", time.Time{}, nil); !errors.Is(err, korup2p.ErrNotFound) {
		t.Fatalf("spaces are apart: %v", err)
	}
	if len(f.n.Spaces()) != 3 {
		t.Fatalf("refused creations created: %+v", f.n.Spaces())
	}
}

// TestDAG: heads, the log, and one node rendered with its ops' values as JSON.
func TestDAG(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	first := mustPut(t, f.c, "default", "d/1", `{"v":1}`)
	res, err := f.c.Batch(ctx, "default", []korup2p.Op{
		{Kind: korup2p.OpPatch, Key: "d/1", Value: json.RawMessage(`{"w":2}`)},
		{Kind: korup2p.OpDel, Key: "d/2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	heads, err := f.c.Heads(ctx, "default")
	if err != nil || len(heads) != 1 || !heads[0].Equals(res.Version) {
		t.Fatalf("%v %v", heads, err)
	}
	raw, err := f.c.DAGNode(ctx, "default", res.Version)
	if err != nil {
		t.Fatal(err)
	}
	var nd struct {
		CID, Space, Clock, Author string
		Parents                   []string
		Height                    uint64
		Distilled                 bool
		Ops                       []struct {
			Key, Kind string
			Prev      []string
			Value     json.RawMessage
		}
	}
	if err := json.Unmarshal(raw, &nd); err != nil {
		t.Fatal(err)
	}
	spaces := f.n.Spaces()
	if nd.CID != res.Version.String() || nd.Space != spaces[0].ID.String() || nd.Clock != res.Clock.String() ||
		nd.Author != f.n.ID().String() || len(nd.Parents) != 1 || nd.Parents[0] != first.Version.String() || nd.Height != 2 ||
		nd.Distilled || len(nd.Ops) != 2 {
		t.Fatalf("%s", raw)
	}
	if o := nd.Ops[0]; o.Key != "d/1" || o.Kind != "patch" || len(o.Prev) != 1 || o.Prev[0] != first.Version.String() || string(o.Value) != `{"w":2}` {
		t.Fatalf("op 0: %+v", o)
	}
	if o := nd.Ops[1]; o.Key != "d/2" || o.Kind != "del" || o.Value != nil || o.Prev == nil {
		t.Fatalf("op 1: %+v", o)
	}
	log, err := f.c.DAGLog(ctx, "default", 0)
	if err != nil || len(log) != 3 || !log[0].CID.Equals(res.Version) || !slices.Equal(log[0].Keys, []string{"d/1", "d/2"}) || log[0].Clock != res.Clock {
		t.Fatalf("log: %+v %v", log, err)
	}
	if log, err := f.c.DAGLog(ctx, "default", 1); err != nil || len(log) != 1 {
		t.Fatalf("log limit 1: %+v %v", log, err)
	}
	genesis := log[2]
	if _, err := f.c.DAGNode(ctx, "default", genesis.CID); err != nil {
		t.Fatalf("genesis: %v", err)
	}
	other, _ := cid.Decode("bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy")
	if _, err := f.c.DAGNode(ctx, "default", other); !errors.Is(err, korup2p.ErrNotFound) {
		t.Fatalf("unknown node: %v", err)
	}
	status, body := f.do(t, "GET", "/v1/spaces/default/dag/nodes/xyz", "")
	wantError(t, status, body, 400, "invalid")
}

// TestIDPeersStatus: without a network the daemon still reports its identity,
// no peers and its storage; Connect says networking is off.
func TestIDPeersStatus(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	mustPut(t, f.c, "default", "s/1", `1`)
	id, addrs, err := f.c.ID(ctx)
	if err != nil || id != f.n.ID().String() || addrs == nil || len(addrs) != 0 {
		t.Fatalf("%q %q %v", id, addrs, err)
	}
	peers, err := f.c.Peers(ctx)
	if err != nil || string(peers) != "[]" {
		t.Fatalf("%s %v", peers, err)
	}
	raw, err := f.c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		PeerID string `json:"peer_id"`
		Spaces []struct {
			Name, ID  string
			Nodes     int
			Heads     []string
			Distilled *struct{}
		}
		Storage map[string]int64
		Hot     map[string]int64
		Peers   int
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	if st.PeerID != id || len(st.Spaces) != 1 || st.Spaces[0].Name != "default" || st.Spaces[0].Nodes != 2 ||
		len(st.Spaces[0].Heads) != 1 || st.Spaces[0].Distilled != nil || st.Storage["wal_bytes"] == 0 ||
		st.Hot["budget"] == 0 || st.Peers != 0 {
		t.Fatalf("%s", raw)
	}
	if _, ok := st.Storage["index_bytes"]; !ok {
		t.Fatalf("%s", raw)
	}
	if _, err := f.c.Connect(ctx, "/ip4/127.0.0.1/tcp/4001/p2p/"+id); !errors.Is(err, korup2p.ErrNoNetwork) {
		t.Fatalf("connect without a network: %v", err)
	}
	status, body := f.do(t, "POST", "/v1/peers", `{"addr":""}`)
	wantError(t, status, body, 400, "invalid")
}

// TestAuth: every route but /healthz wants the token; the comparison does not
// depend on its case-insensitive scheme; a server with no token refuses all.
func TestAuth(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	for _, path := range []string{"/v1/spaces", "/v1/spaces/default/keys/a/b", "/v1/status", "/metrics", "/v1/nothing"} {
		status, body := f.do(t, "GET", path, "", "Authorization", "")
		wantError(t, status, body, 401, "unauthorized")
		for _, h := range []string{"Bearer wrong", "Bearer " + testToken + "x", "Basic " + testToken, testToken, "Bearer"} {
			status, body := f.do(t, "GET", path, "", "Authorization", h)
			wantError(t, status, body, 401, "unauthorized")
		}
	}
	if status, _ := f.do(t, "GET", "/v1/spaces", "", "Authorization", "bearer "+testToken); status != 200 {
		t.Fatalf("lower-case scheme: %d", status)
	}
	status, body := f.do(t, "GET", "/healthz", "", "Authorization", "")
	if status != 200 || strings.TrimSpace(string(body)) != "ok" {
		t.Fatalf("healthz: %d %q", status, body)
	}
	status, body = f.do(t, "PUT", "/v1/spaces/default/keys/a/b", `1`, "Authorization", "Bearer nope")
	wantError(t, status, body, 401, "unauthorized")
	if _, err := f.n.Get(ctx, "default", "a/b"); !errors.Is(err, korup2p.ErrNotFound) {
		t.Fatalf("an unauthorized put wrote: %v", err)
	}

	wrong := httpapi.NewClient(f.addr, "nope")
	defer wrong.Close()
	if _, err := wrong.Put(ctx, "default", "a/b", json.RawMessage(`1`)); !errors.Is(err, httpapi.ErrUnauthorized) {
		t.Fatalf("client with a wrong token: %v", err)
	}
	if err := wrong.Ping(ctx); err != nil {
		t.Fatalf("ping needs no token: %v", err)
	}

	empty := ""
	g := newFixture(t, fixtureOpts{token: &empty})
	status, body = g.do(t, "GET", "/v1/spaces", "", "Authorization", "Bearer ")
	wantError(t, status, body, 401, "unauthorized")
}

// TestInvalidInput: malformed bodies, keys and parameters are 400s with the
// reason, and nothing is written.
func TestInvalidInput(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	mustPut(t, f.c, "default", "ok/1", `1`)
	heads := f.mustHead(t)
	for _, tc := range []struct {
		method, path, body, reason string
	}{
		{"PUT", "/v1/spaces/default/keys/ok/2", `{"a":`, "value"},
		{"PUT", "/v1/spaces/default/keys/ok/2", `{"a":1,"a":2}`, "value"},
		{"PUT", "/v1/spaces/default/keys/ok/2", `NaN`, "value"},
		{"PUT", "/v1/spaces/default/keys/ok/2", "\"\xff\"", "value"},
		{"PUT", "/v1/spaces/default/keys/ok/2", `1 2`, "value"},
		{"PUT", "/v1/spaces/default/keys/ok/2", ``, "value"},
		{"PATCH", "/v1/spaces/default/keys/ok/1", `{`, "value"},
		{"PUT", "/v1/spaces/default/keys/nonamespace", `1`, "key"},
		{"PUT", "/v1/spaces/default/keys/ns/", `1`, "key"},
		{"PUT", "/v1/spaces/default/keys/_korup2p/space", `1`, "key"},
		{"PUT", "/v1/spaces/default/keys/ns/a%00b", `1`, "key"},
		{"PUT", "/v1/spaces/default/keys/" + strings.Repeat("k", 1100) + "/x", `1`, "key"},
		{"DELETE", "/v1/spaces/default/keys/nonamespace", ``, "key"},
		{"GET", "/v1/spaces/default/history/ok/1?limit=x", ``, "request"},
	} {
		status, body := f.do(t, tc.method, tc.path, tc.body)
		e := wantError(t, status, body, 400, "invalid")
		if e.Reason != tc.reason {
			t.Errorf("%s %.60s %q: reason %q (%s), want %q", tc.method, tc.path, tc.body, e.Reason, e.Error, tc.reason)
		}
	}
	if h := f.mustHead(t); !h.Equals(heads) {
		t.Fatalf("refused writes wrote: heads %v → %v", heads, h)
	}
	if _, err := f.c.Put(ctx, "default", "nonamespace", json.RawMessage(`1`)); !errors.Is(err, korup2p.ErrInvalidKey) {
		t.Fatalf("client, bad key: %v", err)
	}
	if _, err := f.c.Put(ctx, "default", "ok/3", json.RawMessage(`{`)); !errors.Is(err, korup2p.ErrInvalidValue) {
		t.Fatalf("client, bad value: %v", err)
	}
	if _, err := f.c.Put(ctx, "default", "ok/3", nil); !errors.Is(err, korup2p.ErrInvalidValue) {
		t.Fatalf("client, no value: %v", err)
	}
}

// TestTooLarge: a body over MaxBody and a value over the Node's MaxValueSize are
// 413s, and nothing is written.
func TestTooLarge(t *testing.T) {
	f := newFixture(t, fixtureOpts{maxBody: 4096, node: &korup2p.Options{MaxValueSize: 1024}})
	heads := f.mustHead(t)
	huge := `"` + strings.Repeat("x", 5000) + `"`
	status, body := f.do(t, "PUT", "/v1/spaces/default/keys/big/1", huge)
	if e := wantError(t, status, body, 413, "too_large"); e.Reason != "body" {
		t.Fatalf("%+v", e)
	}
	status, body = f.do(t, "POST", "/v1/spaces/default/batch", `{"ops":[{"op":"put","key":"big/1","value":`+huge+`}]}`)
	wantError(t, status, body, 413, "too_large")
	big := `"` + strings.Repeat("x", 2000) + `"` // under MaxBody, over MaxValueSize
	status, body = f.do(t, "PUT", "/v1/spaces/default/keys/big/1", big)
	if e := wantError(t, status, body, 413, "too_large"); e.Reason != "" {
		t.Fatalf("%+v", e)
	}
	if _, err := f.c.Put(ctx, "default", "big/1", json.RawMessage(huge)); !errors.Is(err, korup2p.ErrValueTooLarge) {
		t.Fatalf("client: %v", err)
	}
	if _, err := f.c.Put(ctx, "default", "big/1", json.RawMessage(big)); !errors.Is(err, korup2p.ErrValueTooLarge) {
		t.Fatalf("client: %v", err)
	}
	if h := f.mustHead(t); !h.Equals(heads) {
		t.Fatalf("refused writes wrote: heads %v → %v", heads, h)
	}
	// The connection survives for the next request.
	mustPut(t, f.c, "default", "small/1", `1`)
}

// TestNotFound: 404s for absent keys, unknown spaces and routes, each with its code.
func TestNotFound(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	for _, tc := range []struct{ method, path, code string }{
		{"GET", "/v1/spaces/default/keys/no/such", "not_found"},
		{"GET", "/v1/spaces/default/history/no/such", "not_found"},
		{"GET", "/v1/spaces/nope/keys/a/b", "unknown_space"},
		{"PUT", "/v1/spaces/nope/keys/a/b", "unknown_space"},
		{"GET", "/v1/spaces/nope/keys", "unknown_space"},
		{"GET", "/v1/spaces/nope/watch", "unknown_space"},
		{"GET", "/v1/spaces/nope/dag/heads", "unknown_space"},
		{"POST", "/v1/spaces/nope/query", "unknown_space"},
		{"GET", "/v2/spaces", "not_found"},
	} {
		body := map[string]string{"PUT": "1", "POST": `{"namespace":"a"}`}[tc.method]
		status, b := f.do(t, tc.method, tc.path, body)
		wantError(t, status, b, 404, tc.code)
	}
	if _, err := f.c.Get(ctx, "default", "no/such", time.Time{}, nil); !errors.Is(err, korup2p.ErrNotFound) {
		t.Fatal(err)
	}
	if _, err := f.c.Heads(ctx, "nope"); !errors.Is(err, korup2p.ErrUnknownSpace) {
		t.Fatal(err)
	}
	if _, err := f.c.Watch(ctx, "nope", ""); !errors.Is(err, korup2p.ErrUnknownSpace) {
		t.Fatal(err)
	}
	var apiErr *httpapi.APIError
	_, err := f.c.Get(ctx, "nope", "a/b", time.Time{}, nil)
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound || apiErr.Code != httpapi.CodeUnknownSpace || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("%#v", err)
	}
}

// TestDistilled: time travel before a space's distillation cut is a 410.
func TestDistilled(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	f := newFixture(t, fixtureOpts{node: &korup2p.Options{SegmentSize: 16 << 10, Now: clock.Now, Durability: korup2p.DurabilityNone,
		Retention: korup2p.Retention{Age: 24 * time.Hour}, DistillEvery: time.Hour}})
	start := clock.Now()
	for round := range 10 {
		for i := range 20 {
			mustPut(t, f.c, "default", fmt.Sprintf("doc/%02d", i), fmt.Sprintf(`{"round":%d,"pad":%q}`, round, strings.Repeat("p", 200)))
		}
		clock.Set(clock.Now().Add(time.Hour))
	}
	clock.Set(clock.Now().Add(48 * time.Hour))
	mustPut(t, f.c, "default", "doc/new", `1`)
	if res, err := f.n.Distill(ctx); err != nil || res.Nodes == 0 {
		t.Fatalf("distill: %+v %v", res, err)
	}
	_, err := f.c.Get(ctx, "default", "doc/00", start.Add(30*time.Minute), nil)
	if !errors.Is(err, korup2p.ErrDistilled) {
		t.Fatalf("before the cut: %v", err)
	}
	status, body := f.do(t, "GET", "/v1/spaces/default/keys/doc/00?at="+strconv.FormatInt(start.UnixMilli(), 10), "")
	wantError(t, status, body, 410, "distilled")
	hist, err := f.c.History(ctx, "default", "doc/00", 0)
	if err != nil || len(hist) == 0 || !hist[0].Distilled {
		t.Fatalf("history: %+v %v", hist, err)
	}
	raw, err := f.c.Status(ctx)
	if err != nil || !strings.Contains(string(raw), `"snapshot"`) {
		t.Fatalf("status: %s %v", raw, err)
	}
}
