package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/korup2p/korup2p"
)

// next receives one event, or fails after a deadline.
func next(t *testing.T, ch <-chan korup2p.Event) korup2p.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("the watch channel closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	panic("unreachable")
}

// closed waits for ch to close, draining it.
func closed(t *testing.T, ch <-chan korup2p.Event) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("the watch channel is still open after 5s")
		}
	}
}

// TestWatch: a watch sees insert, update and delete of the keys under its prefix,
// in commit order, with versions and values; it ends when its context does.
func TestWatch(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := f.c.Watch(wctx, "default", "w/")
	if err != nil {
		t.Fatal(err)
	}
	// No wait: the subscription is in place once Watch returns.
	v1 := mustPut(t, f.c, "default", "w/1", `{"n":1}`)
	mustPut(t, f.c, "default", "other/1", `1`)
	v2, err := f.c.Patch(ctx, "default", "w/1", json.RawMessage(`{"m":2}`))
	if err != nil {
		t.Fatal(err)
	}
	v3, err := f.c.Delete(ctx, "default", "w/1")
	if err != nil {
		t.Fatal(err)
	}
	v4, err := f.c.Batch(ctx, "default", []korup2p.Op{
		{Kind: korup2p.OpPut, Key: "w/2", Value: "two"},
		{Kind: korup2p.OpPut, Key: "w/3", Value: "<three>"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		typ   korup2p.EventType
		key   string
		res   korup2p.WriteResult
		value string
	}{
		{korup2p.EventInsert, "w/1", v1, `{"n":1}`},
		{korup2p.EventUpdate, "w/1", v2, `{"m":2,"n":1}`},
		{korup2p.EventDelete, "w/1", v3, ""},
		{korup2p.EventInsert, "w/2", v4, `"two"`},
		{korup2p.EventInsert, "w/3", v4, `"<three>"`},
	} {
		ev := next(t, ch)
		if ev.Type != want.typ || ev.Key != want.key || !ev.Version.Equals(want.res.Version) || string(ev.Value) != want.value ||
			ev.Space != "default" || ev.Missed != 0 {
			t.Fatalf("event %d: %+v, want %+v", i, ev, want)
		}
	}
	cancel()
	closed(t, ch)
	waitMetric(t, f, "korup2p_api_watchers 0")
}

// TestWatchRawSSE: the stream is text/event-stream, starts with a comment once
// subscribed, and carries one data line of JSON per event.
func TestWatchRawSSE(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(wctx, "GET", f.ts.URL+"/v1/spaces/default/watch?prefix=s/", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	rd := bufio.NewReader(resp.Body)
	line := func() string {
		t.Helper()
		s, err := rd.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSuffix(s, "\n")
	}
	if l := line(); l != ": subscribed" {
		t.Fatalf("first line %q", l)
	}
	line()
	res := mustPut(t, f.c, "default", "s/1", `[1,"x"]`)
	l := line()
	data, ok := strings.CutPrefix(l, "data: ")
	if !ok || !jsonEq(t, []byte(data), `{"type":"insert","key":"s/1","version":"`+res.Version.String()+`","value":[1,"x"]}`) {
		t.Fatalf("%q", l)
	}
	if l := line(); l != "" {
		t.Fatalf("no blank line after the event: %q", l)
	}
	if _, err := f.c.Delete(ctx, "default", "s/1"); err != nil {
		t.Fatal(err)
	}
	if l := line(); !jsonEq(t, []byte(strings.TrimPrefix(l, "data: ")), `{"type":"delete","key":"s/1","version":"`+f.mustHead(t).String()+`"}`) {
		t.Fatalf("%q", l)
	}
}

// TestWatchEndsOnShutdown: canceling the server's base context (a daemon shutting
// down) ends the streams, and so does closing the Node.
func TestWatchEndsOnShutdown(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	ch, err := f.c.Watch(ctx, "default", "")
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, f.c, "default", "a/1", `1`)
	next(t, ch)
	f.stop()
	closed(t, ch)

	g := newFixture(t, fixtureOpts{})
	ch, err = g.c.Watch(ctx, "default", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.n.Close(ctx); err != nil {
		t.Fatal(err)
	}
	closed(t, ch)
}

// waitMetric waits until /metrics has a line.
func waitMetric(t *testing.T, f *fixture, line string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, body := f.do(t, "GET", "/metrics", "")
		if strings.Contains("\n"+string(body), "\n"+line+"\n") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in /metrics:\n%s", line, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
