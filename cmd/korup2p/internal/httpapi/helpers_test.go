package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/log"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/cmd/korup2p/internal/httpapi"
)

const testToken = "s3cret-token"

var ctx = context.Background()

func quiet() *log.Logger { return log.New(io.Discard) }

// TestMain fails the run if goroutines outlive the tests: every server, stream,
// client and Node is closed by then.
func TestMain(m *testing.M) {
	before := goroutines()
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(5 * time.Second)
		for goroutines() > before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := goroutines(); n > before {
			buf := make([]byte, 1<<20)
			fmt.Fprintf(os.Stderr, "%d goroutines outlived the tests (%d before):\n%s\n", n, before, buf[:runtime.Stack(buf, true)])
			code = 1
		}
	}
	os.Exit(code)
}

// processWide are goroutines a library starts once per process and never stops,
// named by the function that starts them: they outlive every owner by design
// (what goleak's IgnoreAnyFunction is for).
var processWide = []string{
	"created by github.com/libp2p/go-flow-metrics.(*sweeper).start", // libp2p's bandwidth meters
	"created by os/signal.Notify",                                   // the fuzzing engine's (go test -fuzz)
}

// goroutines counts the running goroutines but the process-wide ones.
func goroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if !slices.ContainsFunc(processWide, func(f string) bool { return strings.Contains(g, f) }) {
			count++
		}
	}
	return count
}

// fixture is a Node on disk served over loopback HTTP, and a Client of it.
type fixture struct {
	n    *korup2p.Node
	ts   *httptest.Server
	c    *httpapi.Client
	addr string
	stop context.CancelFunc // cancels the server's base context, as a daemon's shutdown does
}

type fixtureOpts struct {
	node      *korup2p.Options // Logger is set to quiet
	maxBody   int64
	maxImport int64
	token     *string // nil: testToken
	now       func() time.Time
	revoked   httpapi.Revocations // nil: the server's default
}

func newFixture(t testing.TB, o fixtureOpts) *fixture {
	t.Helper()
	opts := korup2p.Options{}
	if o.node != nil {
		opts = *o.node
	}
	opts.Logger = quiet()
	n, err := korup2p.Open(t.TempDir(), &opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	token := testToken
	if o.token != nil {
		token = *o.token
	}
	// The daemon's shutdown: cancel the base context (ending watch streams), then
	// close the server.
	base, cancel := context.WithCancel(context.Background())
	ts := httptest.NewUnstartedServer(httpapi.NewServer(n, httpapi.ServerOptions{Token: token, Logger: quiet(),
		MaxBody: o.maxBody, MaxImport: o.maxImport, Now: o.now, Revocations: o.revoked}))
	ts.Config.BaseContext = func(net.Listener) context.Context { return base }
	ts.Start()
	t.Cleanup(func() { cancel(); ts.Close() })
	addr := strings.TrimPrefix(ts.URL, "http://")
	c := httpapi.NewClient(addr, testToken)
	t.Cleanup(c.Close)
	return &fixture{n: n, ts: ts, c: c, addr: addr, stop: cancel}
}

// do sends a raw request with the test token (unless hdr sets Authorization) and
// returns the status and body.
func (f *fixture) do(t testing.TB, method, path, body string, hdr ...string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// apiErr is an error body.
type apiErr struct {
	Error  string `json:"error"`
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

// wantError checks a raw answer is an error with status and code.
func wantError(t testing.TB, status int, body []byte, wantStatus int, wantCode string) apiErr {
	t.Helper()
	var e apiErr
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("status %d, body %q: not an error body: %v", status, body, err)
	}
	if status != wantStatus || e.Code != wantCode || e.Error == "" || strings.Contains(e.Error, "\n") {
		t.Fatalf("got %d %+v, want %d %s", status, e, wantStatus, wantCode)
	}
	return e
}

func mustPut(t testing.TB, c *httpapi.Client, space, key, value string) korup2p.WriteResult {
	t.Helper()
	res, err := c.Put(ctx, space, key, json.RawMessage(value))
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	return res
}

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

// jsonEq reports whether two JSON texts hold the same value.
func jsonEq(t testing.TB, got []byte, want string) bool {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("%q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatalf("%q: %v", want, err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
