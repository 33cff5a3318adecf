package korup2p_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/log"
	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/distinctions"
)

var ctx = context.Background()

// fakeClock is a settable wall clock for Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func quietLogger() *log.Logger { return log.New(&strings.Builder{}) }

func openMem(t *testing.T, opts *korup2p.Options) *korup2p.Node {
	t.Helper()
	if opts == nil {
		opts = &korup2p.Options{}
	}
	opts.InMemory = true
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	n, err := korup2p.Open("", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(ctx) })
	return n
}

func mustGet(t *testing.T, n *korup2p.Node, space, key string) korup2p.Entry {
	t.Helper()
	e, err := n.Get(ctx, space, key)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	return e
}

func mustPut(t *testing.T, n *korup2p.Node, space, key string, v any) korup2p.WriteResult {
	t.Helper()
	r, err := n.Put(ctx, space, key, v)
	if err != nil {
		t.Fatalf("Put(%s): %v", key, err)
	}
	return r
}

func TestPutGetPatchDelete(t *testing.T) {
	n := openMem(t, nil)
	r := mustPut(t, n, "default", "users/ada", json.RawMessage(`{"name":"Ada","langs":["en"],"age":36,"score":1.0}`))
	e := mustGet(t, n, "default", "users/ada")
	if string(e.Value) != `{"age":36,"langs":["en"],"name":"Ada","score":1.0}` || !e.Version.Equals(r.Version) || e.Author != n.ID() || e.Clock != r.Clock {
		t.Fatalf("Get = %s %+v", e.Value, e)
	}
	if _, err := n.Patch(ctx, "default", "users/ada", map[string]any{"age": 37, "langs": nil}); err != nil {
		t.Fatal(err)
	}
	if e := mustGet(t, n, "default", "users/ada"); string(e.Value) != `{"age":37,"name":"Ada","score":1.0}` {
		t.Errorf("after patch: %s", e.Value)
	}
	// A Go value is marshalled with encoding/json.
	mustPut(t, n, "default", "users/bob", struct {
		Name string `json:"name"`
	}{"Bob"})
	if e := mustGet(t, n, "default", "users/bob"); string(e.Value) != `{"name":"Bob"}` {
		t.Errorf("struct value: %s", e.Value)
	}
	if _, err := n.Delete(ctx, "default", "users/ada"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Get(ctx, "default", "users/ada"); !errors.Is(err, korup2p.ErrNotFound) {
		t.Errorf("Get after delete: %v, want ErrNotFound", err)
	}
	var ke *korup2p.KeyError
	if _, err := n.Get(ctx, "default", "users/zed"); !errors.As(err, &ke) || ke.Key != "users/zed" || ke.Op != "get" {
		t.Errorf("Get of a missing key: %v, want a KeyError", err)
	}
	hist, err := n.History(ctx, "default", "users/ada")
	if err != nil || len(hist) != 3 || hist[0].Kind != dag.KindSet || hist[1].Kind != dag.KindPatch || hist[2].Kind != dag.KindDel || hist[2].Value != nil {
		t.Errorf("History = %+v, %v", hist, err)
	}
	changes, err := n.Diff(ctx, "default", "users/ada", hist[0].Version, hist[1].Version)
	if err != nil || len(changes) != 2 || changes[0].Kind != "changed" || string(changes[0].New) != "37" || changes[1].Kind != "removed" {
		t.Errorf("Diff = %+v, %v", changes, err)
	}
}

func TestBadInputWritesNothing(t *testing.T) {
	n := openMem(t, &korup2p.Options{MaxValueSize: 100})
	before, _ := n.Heads("default")
	for _, tc := range []struct {
		name string
		do   func() error
		want error
	}{
		{"key without namespace", func() error { _, err := n.Put(ctx, "default", "nokey", 1); return err }, korup2p.ErrInvalidKey},
		{"empty key", func() error { _, err := n.Put(ctx, "default", "", 1); return err }, korup2p.ErrInvalidKey},
		{"reserved key", func() error { _, err := n.Put(ctx, "default", dag.SysNamespace+"/x", 1); return err }, korup2p.ErrInvalidKey},
		{"invalid JSON", func() error { _, err := n.Put(ctx, "default", "a/b", []byte(`{"a":`)); return err }, korup2p.ErrInvalidValue},
		{"duplicate JSON key", func() error { _, err := n.Put(ctx, "default", "a/b", []byte(`{"a":1,"a":2}`)); return err }, korup2p.ErrInvalidValue},
		{"huge integer", func() error {
			_, err := n.Put(ctx, "default", "a/b", []byte(`123456789012345678901234567890`))
			return err
		}, korup2p.ErrInvalidValue},
		{"unmarshallable", func() error { _, err := n.Put(ctx, "default", "a/b", make(chan int)); return err }, korup2p.ErrInvalidValue},
		{"value too large", func() error { _, err := n.Put(ctx, "default", "a/b", strings.Repeat("x", 200)); return err }, korup2p.ErrValueTooLarge},
		{"unknown space", func() error { _, err := n.Put(ctx, "nope", "a/b", 1); return err }, korup2p.ErrUnknownSpace},
		{"batch with one bad op", func() error {
			_, err := n.Batch(ctx, "default", []korup2p.Op{{Kind: korup2p.OpPut, Key: "a/ok", Value: 1}, {Kind: korup2p.OpPut, Key: "bad", Value: 2}})
			return err
		}, korup2p.ErrInvalidKey},
		{"value nested too deep for a node", func() error {
			depth := dag.ValueLimits(distinctions.DefaultLimits).MaxDepth + 1
			_, err := n.Put(ctx, "default", "a/b", []byte(strings.Repeat("[", depth)+strings.Repeat("]", depth)))
			return err
		}, korup2p.ErrInvalidValue},
		{"batch of more ops than a node holds", func() error {
			ops := make([]korup2p.Op, distinctions.DefaultLimits.MaxItems+1)
			for i := range ops {
				ops[i] = korup2p.Op{Kind: korup2p.OpDel, Key: fmt.Sprintf("a/%d", i)}
			}
			_, err := n.Batch(ctx, "default", ops)
			return err
		}, korup2p.ErrValueTooLarge},
		{"batch repeating a key", func() error {
			_, err := n.Batch(ctx, "default", []korup2p.Op{{Kind: korup2p.OpPut, Key: "a/ok", Value: 1}, {Kind: korup2p.OpDel, Key: "a/ok"}})
			return err
		}, korup2p.ErrInvalidKey},
	} {
		if err := tc.do(); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	after, _ := n.Heads("default")
	if len(after) != 1 || !after[0].Equals(before[0]) {
		t.Errorf("bad input changed the heads: %v → %v", before, after)
	}
	if l, _ := n.List(ctx, "default", "", "", 0); len(l) != 0 {
		t.Errorf("bad input wrote keys: %v", l)
	}
}

func TestBatchIsOneNode(t *testing.T) {
	n := openMem(t, nil)
	r, err := n.Batch(ctx, "default", []korup2p.Op{
		{Kind: korup2p.OpPut, Key: "cart/1", Value: map[string]int{"qty": 1}},
		{Kind: korup2p.OpPut, Key: "cart/2", Value: map[string]int{"qty": 2}},
		{Kind: korup2p.OpDel, Key: "cart/3"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"cart/1", "cart/2"} {
		if e := mustGet(t, n, "default", k); !e.Version.Equals(r.Version) {
			t.Errorf("%s version %s, want the batch's %s", k, e.Version, r.Version)
		}
	}
	if heads, _ := n.Heads("default"); len(heads) != 1 || !heads[0].Equals(r.Version) {
		t.Errorf("heads %v", heads)
	}
}

func TestConcurrentWritersLoseNothing(t *testing.T) {
	n := openMem(t, nil)
	const writers = 50
	var wg sync.WaitGroup
	versions := make([]cid.Cid, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := n.Put(ctx, "default", "counter/x", map[string]int{"writer": i})
			if err != nil {
				t.Error(err)
				return
			}
			versions[i] = r.Version
		}()
	}
	wg.Wait()
	hist, err := n.History(ctx, "default", "counter/x")
	if err != nil || len(hist) != writers {
		t.Fatalf("History has %d versions (%v), want %d", len(hist), err, writers)
	}
	seen := map[cid.Cid]bool{}
	for _, h := range hist {
		seen[h.Version] = true
	}
	for i, v := range versions {
		if !seen[v] {
			t.Errorf("writer %d's acknowledged version %s is not in the history", i, v)
		}
	}
	if e := mustGet(t, n, "default", "counter/x"); len(e.Heads) != 1 {
		t.Errorf("local writes left %d heads", len(e.Heads))
	}
}

func TestTimeTravel(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)}
	n := openMem(t, &korup2p.Options{Now: clock.Now})
	t1 := clock.Now()
	mustPut(t, n, "default", "doc/1", "v1")
	clock.Set(t1.Add(time.Minute))
	mustPut(t, n, "default", "doc/1", "v2")
	clock.Set(t1.Add(2 * time.Minute))
	r3 := mustPut(t, n, "default", "doc/1", "v3")
	clock.Set(t1.Add(3 * time.Minute))
	if _, err := n.Delete(ctx, "default", "doc/1"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at   time.Time
		want string
		err  error
	}{
		{t1.Add(-time.Second), "", korup2p.ErrNoValueAtTime},
		{t1, `"v1"`, nil},
		{t1.Add(30 * time.Second), `"v1"`, nil},
		{t1.Add(time.Minute), `"v2"`, nil},
		{t1.Add(150 * time.Second), `"v3"`, nil},
		{t1.Add(time.Hour), "", korup2p.ErrNotFound},
	} {
		e, err := n.GetAt(ctx, "default", "doc/1", tc.at)
		if !errors.Is(err, tc.err) || (tc.err == nil && string(e.Value) != tc.want) {
			t.Errorf("GetAt(%s) = %s, %v; want %s, %v", tc.at.Format(time.TimeOnly), e.Value, err, tc.want, tc.err)
		}
	}
	heads := []cid.Cid{r3.Version}
	if e, err := n.GetAsOf(ctx, "default", "doc/1", heads); err != nil || string(e.Value) != `"v3"` {
		t.Errorf("GetAsOf(v3) = %s, %v", e.Value, err)
	}
}

func TestListSkipsDeleted(t *testing.T) {
	n := openMem(t, nil)
	for i := range 600 { // more than one page of keys
		mustPut(t, n, "default", fmt.Sprintf("item/%04d", i), i)
	}
	mustPut(t, n, "default", "other/x", 1)
	for i := 0; i < 600; i += 2 {
		if _, err := n.Delete(ctx, "default", fmt.Sprintf("item/%04d", i)); err != nil {
			t.Fatal(err)
		}
	}
	all, err := n.List(ctx, "default", "item/", "", 0)
	if err != nil || len(all) != 300 || all[0].Key != "item/0001" || all[299].Key != "item/0599" {
		t.Fatalf("List = %d keys (%v), first %v", len(all), err, all[:1])
	}
	page, _ := n.List(ctx, "default", "item/", "item/0100", 3)
	if len(page) != 3 || page[0].Key != "item/0101" || page[2].Key != "item/0105" {
		t.Errorf("List after item/0100 limit 3 = %v", page)
	}
	if everything, _ := n.List(ctx, "default", "", "", 0); len(everything) != 301 {
		t.Errorf("List of everything has %d keys, want 301 (no reserved keys)", len(everything))
	}
}

func TestSubscribe(t *testing.T) {
	n := openMem(t, nil)
	sub, err := n.Subscribe("default", "users/", 0)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, n, "default", "users/ada", 1)
	mustPut(t, n, "default", "posts/1", 1) // not under the prefix
	mustPut(t, n, "default", "users/ada", 2)
	if _, err := n.Delete(ctx, "default", "users/ada"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Delete(ctx, "default", "users/nobody"); err != nil { // changes nothing visible
		t.Fatal(err)
	}
	mustPut(t, n, "default", "users/bob", 3)
	want := []string{"insert users/ada 1", "update users/ada 2", "delete users/ada ", "insert users/bob 3"}
	for i, w := range want {
		select {
		case ev := <-sub.C:
			if got := fmt.Sprintf("%s %s %s", ev.Type, ev.Key, ev.Value); got != w {
				t.Errorf("event %d = %q, want %q", i, got, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("event %d (%s) never came", i, w)
		}
	}
	sub.Cancel()
	if _, ok := <-sub.C; ok {
		t.Error("C still open after Cancel")
	}
}

func TestSubscribeOverflowIsReported(t *testing.T) {
	n := openMem(t, nil)
	sub, err := n.Subscribe("default", "", 4)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		mustPut(t, n, "default", fmt.Sprintf("k/%d", i), i)
	}
	if sub.Missed() != 6 {
		t.Fatalf("Missed = %d, want 6", sub.Missed())
	}
	for i := range 4 {
		if ev := <-sub.C; ev.Type != korup2p.EventInsert || ev.Key != fmt.Sprintf("k/%d", i) {
			t.Fatalf("event %d = %+v", i, ev)
		}
	}
	mustPut(t, n, "default", "k/10", 10)
	if ev := <-sub.C; ev.Type != korup2p.EventOverflow || ev.Missed != 6 {
		t.Fatalf("after draining: %+v, want an overflow of 6", ev)
	}
	if ev := <-sub.C; ev.Key != "k/10" {
		t.Fatalf("after the overflow notice: %+v", ev)
	}
}

func TestSpaces(t *testing.T) {
	n := openMem(t, nil)
	sp := n.Spaces()
	if len(sp) != 1 || sp[0].Name != "default" || sp[0].Open || sp[0].Owner != n.ID() {
		t.Fatalf("Spaces = %+v, want the restricted default space owned by this peer", sp)
	}
	info, err := n.CreateSpace("sensors", true)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := dag.NewOpenGenesis("sensors")
	if !info.ID.Equals(g.CID()) || !info.Open {
		t.Errorf("open space ID %s, want %s (derived from the name)", info.ID, g.CID())
	}
	if _, err := n.CreateSpace("sensors", false); !errors.Is(err, korup2p.ErrSpaceExists) {
		t.Errorf("duplicate space: %v", err)
	}
	for _, bad := range []string{"", "a/b", "has space", strings.Repeat("x", 65)} {
		if _, err := n.CreateSpace(bad, true); err == nil {
			t.Errorf("CreateSpace(%q) accepted", bad)
		}
	}
	mustPut(t, n, "sensors", "temp/1", 21.5)
	if _, err := n.Get(ctx, "default", "temp/1"); !errors.Is(err, korup2p.ErrNotFound) {
		t.Errorf("a key of one space is visible in another: %v", err)
	}
}

func TestCloseStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	n, err := korup2p.Open("", &korup2p.Options{InMemory: true, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	n.CreateSpace("x", true)
	sub, _ := n.Subscribe("x", "", 0)
	mustPut(t, n, "x", "a/b", 1)
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Put(ctx, "x", "a/b", 2); !errors.Is(err, korup2p.ErrClosed) {
		t.Errorf("Put after Close: %v", err)
	}
	for range sub.C { // closed by Close
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Errorf("%d goroutines after Close, %d before", g, before)
	}
}
