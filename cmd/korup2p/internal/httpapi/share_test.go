package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/cmd/korup2p/internal/httpapi"
)

// TestInviteJoin: POST .../invite answers a ticket and POST /v1/spaces/join adds
// the space it names (here without a network: nothing to connect to), under the
// ticket's name or as; a bad ticket is 400 invalid/ticket, a taken name 409.
func TestInviteJoin(t *testing.T) {
	a, b := newFixture(t, fixtureOpts{}), newFixture(t, fixtureOpts{})
	status, body := a.do(t, "POST", "/v1/spaces/default/invite", "")
	var inv struct {
		Ticket string `json:"ticket"`
	}
	if err := json.Unmarshal(body, &inv); status != 200 || err != nil || !strings.HasPrefix(inv.Ticket, "korup2p1") {
		t.Fatalf("invite: %d %s %v", status, body, err)
	}
	ticket, err := a.c.Invite(ctx, "default", korup2p.InviteOptions{})
	if err != nil || !strings.HasPrefix(ticket, "korup2p1") {
		t.Fatalf("Client.Invite: %q %v", ticket, err)
	}
	var aDefault korup2p.SpaceInfo
	for _, s := range a.n.Spaces() {
		if s.Name == "default" {
			aDefault = s
		}
	}
	if byID, err := a.c.Invite(ctx, aDefault.ID.String(), korup2p.InviteOptions{}); err != nil || !strings.HasPrefix(byID, "korup2p1") {
		t.Fatalf("invite by space ID: %q %v", byID, err)
	}
	status, body = a.do(t, "POST", "/v1/spaces/nope/invite", "")
	wantError(t, status, body, 404, "unknown_space")

	// b holds a "default" of its own: the ticket's name is taken.
	if _, err := b.c.Join(ctx, ticket, ""); !errors.Is(err, korup2p.ErrSpaceExists) {
		t.Fatalf("join under a taken name: %v, want ErrSpaceExists", err)
	}
	status, body = b.do(t, "POST", "/v1/spaces/join", `{"ticket":"`+ticket+`"}`)
	wantError(t, status, body, 409, "conflict")

	info, err := b.c.Join(ctx, ticket, "shared")
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "shared" || !info.ID.Equals(aDefault.ID) || info.Open || info.Owner != a.n.ID() {
		t.Fatalf("join = %+v, want a's default (%s) as shared", info, aDefault.ID)
	}
	if again, err := b.c.Join(ctx, ticket, ""); err != nil || again != info {
		t.Fatalf("join of a space held: %+v %v, want %+v", again, err, info)
	}
	// The space, not its data (no network): the ticket's capability is all it holds.
	if keys, err := b.n.List(ctx, "shared", "", "", 0); err != nil || len(keys) != 0 {
		t.Fatalf("keys of the joined space: %v %v, want none", keys, err)
	}

	// An open space by name: the same ID as the inviter's.
	open, err := a.n.CreateSpace("sensors", true)
	if err != nil {
		t.Fatal(err)
	}
	status, body = b.do(t, "POST", "/v1/spaces/join", `{"ticket":"sensors"}`)
	var sw struct{ Name, ID, Owner string }
	if err := json.Unmarshal(body, &sw); status != 200 || err != nil || sw.Name != "sensors" || sw.ID != open.ID.String() || sw.Owner != "" {
		t.Fatalf("join by name: %d %s %v", status, body, err)
	}

	for _, tc := range []struct {
		body, reason string
		is           error
	}{
		{`{"ticket":"korup2p1zzzz"}`, "ticket", korup2p.ErrInvalidTicket},
		{`{"ticket":"korup2p1aaaa"}`, "ticket", korup2p.ErrInvalidTicket},
		{`{"ticket":"no good"}`, "request", httpapi.ErrInvalidRequest},
		{`{"ticket":""}`, "request", httpapi.ErrInvalidRequest},
		{`{"ticket":"sensors","as":"a/b"}`, "request", httpapi.ErrInvalidRequest},
		{`{"ticket":"sensors","bogus":1}`, "request", httpapi.ErrInvalidRequest},
		{`not json`, "request", httpapi.ErrInvalidRequest},
	} {
		status, body := b.do(t, "POST", "/v1/spaces/join", tc.body)
		if e := wantError(t, status, body, 400, "invalid"); e.Reason != tc.reason {
			t.Errorf("join %s: reason %q, want %q", tc.body, e.Reason, tc.reason)
		}
		var req struct{ Ticket, As string }
		if json.Unmarshal([]byte(tc.body), &req) == nil && !strings.Contains(tc.body, "bogus") {
			if _, err := b.c.Join(ctx, req.Ticket, req.As); !errors.Is(err, tc.is) {
				t.Errorf("Client.Join %s: %v, want %v", tc.body, err, tc.is)
			}
		}
	}
}

// TestExportImport: GET .../export streams a CAR file that POST
// /v1/spaces/import adds to another Node; the values read back the same there.
func TestExportImport(t *testing.T) {
	a, b := newFixture(t, fixtureOpts{}), newFixture(t, fixtureOpts{})
	want := map[string]string{"users/ada": `{"name":"Ada"}`, "users/grace": `{"name":"Grace"}`, "notes/x": `[1,2]`}
	for k, v := range want {
		mustPut(t, a.c, "default", k, v)
	}
	mustPut(t, a.c, "default", "users/ada", `{"name":"Ada","city":"London"}`)
	want["users/ada"] = `{"name":"Ada","city":"London"}`

	resp, err := a.ts.Client().Do(mustRequest(t, "GET", a.ts.URL+"/v1/spaces/default/export", nil))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != httpapi.CARContentType || len(raw) == 0 {
		t.Fatalf("export: %d %q %d bytes %v", resp.StatusCode, resp.Header.Get("Content-Type"), len(raw), err)
	}
	var car bytes.Buffer
	if err := a.c.Export(ctx, "default", &car); err != nil {
		t.Fatal(err)
	}
	if car.Len() == 0 {
		t.Fatal("Client.Export wrote nothing")
	}
	if err := a.c.Export(ctx, "nope", io.Discard); !errors.Is(err, korup2p.ErrUnknownSpace) {
		t.Fatalf("export of an unknown space: %v", err)
	}
	status, body := a.do(t, "GET", "/v1/spaces/nope/export", "")
	wantError(t, status, body, 404, "unknown_space")

	// b's own "default" takes the name.
	if _, err := b.c.Import(ctx, bytes.NewReader(car.Bytes()), ""); !errors.Is(err, korup2p.ErrSpaceExists) {
		t.Fatalf("import under a taken name: %v, want ErrSpaceExists", err)
	}
	status, body = b.do(t, "POST", "/v1/spaces/import", car.String())
	wantError(t, status, body, 409, "conflict")

	info, err := b.c.Import(ctx, bytes.NewReader(car.Bytes()), "copy")
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "copy" || info.Owner != a.n.ID() || info.Open {
		t.Fatalf("import = %+v", info)
	}
	for k, v := range want {
		e, err := b.c.Get(ctx, "copy", k, time.Time{}, nil)
		if err != nil || !jsonEq(t, e.Value, v) || e.Author != a.n.ID() {
			t.Fatalf("get %s after import: %s %v, want %s", k, e.Value, err, v)
		}
	}
	// Again, from the raw body of the route: nothing new, the same space.
	status, body = b.do(t, "POST", "/v1/spaces/import?as=copy", string(raw))
	var sw struct{ Name, ID string }
	if err := json.Unmarshal(body, &sw); status != 200 || err != nil || sw.Name != "copy" || sw.ID != info.ID.String() {
		t.Fatalf("import again: %d %s %v", status, body, err)
	}

	status, body = b.do(t, "POST", "/v1/spaces/import?as=no+good", car.String())
	wantError(t, status, body, 400, "invalid")
	before := len(b.n.Spaces())
	if _, err := b.c.Import(ctx, strings.NewReader("not a CAR file"), "junk"); err == nil {
		t.Fatal("import of junk: no error")
	}
	if n := len(b.n.Spaces()); n != before {
		t.Fatalf("import of junk added a space: %d spaces, want %d", n, before)
	}

	// A file over MaxImport: 413 too_large, reason body.
	small := newFixture(t, fixtureOpts{maxImport: int64(car.Len() / 2), maxBody: 1 << 20})
	status, body = small.do(t, "POST", "/v1/spaces/import?as=copy", car.String())
	if e := wantError(t, status, body, 413, "too_large"); e.Reason != "body" {
		t.Fatalf("reason %q, want body", e.Reason)
	}
	// MaxBody does not bound an import.
	tiny := newFixture(t, fixtureOpts{maxBody: 16})
	if _, err := tiny.c.Import(ctx, bytes.NewReader(car.Bytes()), "copy"); err != nil {
		t.Fatalf("import over MaxBody, under MaxImport: %v", err)
	}
}

// TestJoinConnects: through networked Nodes on loopback (no mDNS), joining by
// ticket connects to the inviter and syncs; /v1/peers then shows its addresses
// and a latency field.
func TestJoinConnects(t *testing.T) {
	netOpts := func() *korup2p.Options {
		return &korup2p.Options{Network: &korup2p.NetworkOptions{Listen: []string{"/ip4/127.0.0.1/tcp/0"}, NoMDNS: true}}
	}
	a, b := newFixture(t, fixtureOpts{node: netOpts()}), newFixture(t, fixtureOpts{node: netOpts()})
	before := mustPut(t, a.c, "default", "doc/before", `"written before the join"`)
	ticket, err := a.c.Invite(ctx, "default", korup2p.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.c.Join(ctx, ticket, "shared"); err != nil {
		t.Fatal(err)
	}
	after := mustPut(t, a.c, "default", "doc/after", `"written after the join"`)

	deadline := time.Now().Add(20 * time.Second)
	for _, w := range []struct {
		key string
		res korup2p.WriteResult
	}{{"doc/before", before}, {"doc/after", after}} {
		for {
			e, err := b.c.Get(ctx, "shared", w.key, time.Time{}, nil)
			if err == nil && e.Version.Equals(w.res.Version) {
				break
			}
			if err != nil && !errors.Is(err, korup2p.ErrNotFound) || time.Now().After(deadline) {
				t.Fatalf("%s did not reach the joiner: %v", w.key, err)
			}
			time.Sleep(20 * time.Millisecond) // polling a condition, with the deadline above
		}
	}

	var peers []struct {
		PeerID    string   `json:"peer_id"`
		Addrs     []string `json:"addrs"`
		LatencyMS *float64 `json:"latency_ms"`
		Connected bool     `json:"connected"`
	}
	raw, err := b.c.Peers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &peers); err != nil {
		t.Fatal(err)
	}
	if len(peers) != 1 || peers[0].PeerID != a.n.ID().String() || !peers[0].Connected || peers[0].LatencyMS == nil ||
		*peers[0].LatencyMS < 0 || len(peers[0].Addrs) == 0 {
		t.Fatalf("peers = %s", raw)
	}
	for _, addr := range peers[0].Addrs {
		if !strings.HasPrefix(addr, "/ip4/127.0.0.1/") || !strings.HasSuffix(addr, "/p2p/"+a.n.ID().String()) {
			t.Fatalf("peer address %q: want a loopback multiaddr ending in /p2p/%s", addr, a.n.ID())
		}
	}
	// The joiner synced: /metrics counts the sessions' nodes ingested and round trips.
	if status, body := b.do(t, "GET", "/metrics", ""); status != http.StatusOK ||
		!strings.Contains(string(body), "korup2p_sync_nodes_ingested_total{") ||
		!strings.Contains(string(body), "korup2p_sync_round_trips_total{") {
		t.Fatalf("metrics after a sync: %d\n%s", status, body)
	}
}

func mustRequest(t testing.TB, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	return req
}
