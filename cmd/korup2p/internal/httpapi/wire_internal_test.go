package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/caps"
	"github.com/korup2p/korup2p/dag"
	nethost "github.com/korup2p/korup2p/net/host"
)

// TestParseClock: parseClock inverts dag.Timestamp.String.
func TestParseClock(t *testing.T) {
	for _, ts := range []dag.Timestamp{
		{}, {Wall: 1}, {Wall: 1_700_000_000_123_456_789}, {Wall: 1_700_000_000_000_000_000, Logical: 7},
		{Wall: 1_700_000_000_100_000_000, Logical: math.MaxUint32}, {Wall: -1_000_000_001},
	} {
		got, err := parseClock(ts.String())
		if err != nil || got != ts {
			t.Errorf("%v (%q): %v %v", ts, ts.String(), got, err)
		}
	}
	for _, bad := range []string{"", "now", "2026-01-01T00:00:00Z+", "2026-01-01T00:00:00Z-1", "2026-01-01T00:00:00Z+x",
		"2026-01-01T00:00:00+01:00", "2026-01-01T00:00:00Z+99999999999"} {
		if _, err := parseClock(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestErrorMapping: each root error becomes a status and code, and the client
// turns the code back into the same sentinel.
func TestErrorMapping(t *testing.T) {
	key := func(err error) error { return &korup2p.KeyError{Op: "put", Space: "default", Key: "a/b", Err: err} }
	for _, tc := range []struct {
		err    error
		status int
		code   string
		back   error
	}{
		{key(korup2p.ErrNotFound), 404, CodeNotFound, korup2p.ErrNotFound},
		{fmt.Errorf("dag show: get: %w", dag.ErrNotFound), 404, CodeNotFound, korup2p.ErrNotFound},
		{key(korup2p.ErrNoValueAtTime), 404, CodeNoValueAtTime, korup2p.ErrNoValueAtTime},
		{key(fmt.Errorf("%w: before the cut", korup2p.ErrDistilled)), 410, CodeDistilled, korup2p.ErrDistilled},
		{fmt.Errorf("list x: %w \"x\"", korup2p.ErrUnknownSpace), 404, CodeUnknownSpace, korup2p.ErrUnknownSpace},
		{key(fmt.Errorf("%w: bad", korup2p.ErrInvalidKey)), 400, CodeInvalid, korup2p.ErrInvalidKey},
		{key(fmt.Errorf("%w: bad", korup2p.ErrInvalidValue)), 400, CodeInvalid, korup2p.ErrInvalidValue},
		{key(fmt.Errorf("%w: bad", korup2p.ErrInvalidVersion)), 400, CodeInvalid, korup2p.ErrInvalidVersion},
		{fmt.Errorf("query: %w", korup2p.ErrInvalidQuery), 400, CodeInvalid, korup2p.ErrInvalidQuery},
		{badRequest(ReasonRequest, "at: bad"), 400, CodeInvalid, ErrInvalidRequest},
		{&nethost.AddrError{Addr: "x", Err: nethost.ErrNoPeerID}, 400, CodeInvalid, ErrInvalidRequest},
		{key(fmt.Errorf("%w: 2 MB", korup2p.ErrValueTooLarge)), 413, CodeTooLarge, korup2p.ErrValueTooLarge},
		{fmt.Errorf("join: %w: bad base32", korup2p.ErrInvalidTicket), 400, CodeInvalid, korup2p.ErrInvalidTicket},
		{fmt.Errorf("create: %w", korup2p.ErrSpaceExists), 409, CodeConflict, korup2p.ErrSpaceExists},
		{korup2p.ErrClosed, 503, CodeClosed, korup2p.ErrClosed},
		{korup2p.ErrNoNetwork, 503, CodeNoNetwork, korup2p.ErrNoNetwork},
		{fmt.Errorf("grant: %w", korup2p.ErrOpenSpace), 409, CodeOpenSpace, korup2p.ErrOpenSpace},
		{fmt.Errorf("revoke: %w", korup2p.ErrUnknownCapability), 404, CodeUnknownCap, korup2p.ErrUnknownCapability},
		{forbidden(ReasonWrongSpace, "no"), 403, CodeForbidden, ErrForbidden},
		{errors.New("disk on fire"), 500, CodeInternal, nil},
	} {
		status, code, reason := classify(tc.err)
		if status != tc.status || code != tc.code {
			t.Errorf("%v: %d %s, want %d %s", tc.err, status, code, tc.status, tc.code)
		}
		back := sentinel(status, code, reason, tc.err.Error())
		if back != tc.back {
			t.Errorf("%v: back to %v, want %v", tc.err, back, tc.back)
		}
	}
	// A server that sends no reason: the message decides.
	if got := sentinel(400, CodeInvalid, "", "put x: invalid key: no namespace"); got != korup2p.ErrInvalidKey {
		t.Errorf("%v", got)
	}
}

// TestDeniedRoundTrip: a *caps.Denied becomes 403 denied with its reason and
// token, and the client's error matches korup2p.ErrDenied and carries both.
func TestDeniedRoundTrip(t *testing.T) {
	tok, err := cid.Decode("bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*caps.Denied{
		{Reason: caps.ReasonInsufficientAbility, Token: tok, Detail: "write needed, read held"},
		{Reason: caps.ReasonBrokenChain, Detail: "no token"},
	} {
		err := fmt.Errorf("grant: %w", d)
		status, code, reason := classify(err)
		if status != 403 || code != CodeDenied || reason != string(d.Reason) {
			t.Fatalf("%v: %d %s %s", err, status, code, reason)
		}
		ew := errorWire{Error: err.Error(), Code: code, Reason: reason}
		if d.Token.Defined() {
			ew.Token = d.Token.String()
		}
		body, _ := json.Marshal(ew)
		back := readAPIError(&http.Response{StatusCode: status, Body: io.NopCloser(bytes.NewReader(body))})
		var got *caps.Denied
		if !errors.Is(back, korup2p.ErrDenied) || !errors.As(back, &got) {
			t.Fatalf("%v: client error %#v is not a denial", err, back)
		}
		if got.Reason != d.Reason || !got.Token.Equals(d.Token) || got.Detail != d.Detail || back.Error() != err.Error() {
			t.Errorf("back: %+v (%q), want %+v (%q)", got, back, d, err)
		}
	}
	if _, code, _ := classify(fmt.Errorf("x: %w", korup2p.ErrDenied)); code != CodeDenied {
		t.Errorf("a bare ErrDenied: %s", code)
	}
}

// TestEscapeKey: an escaped key unescapes to itself, and has no segment the router
// would clean.
func TestEscapeKey(t *testing.T) {
	for k, want := range map[string]string{
		"a/b":    "a/b",
		"a/b c":  "a/b%20c",
		"a//b":   "a%2F%2Fb",
		"a/./b":  "a%2F.%2Fb",
		"a/../b": "a%2F..%2Fb",
		"a/b/":   "a%2Fb%2F",
		"a/?#%":  "a/%3F%23%25",
		"ns/日本":  "ns/%E6%97%A5%E6%9C%AC",
	} {
		got := escapeKey(k)
		if got != want {
			t.Errorf("%q: %q, want %q", k, got, want)
		}
		if back, err := url.PathUnescape(got); err != nil || back != k {
			t.Errorf("%q: unescapes to %q %v", k, back, err)
		}
	}
}

func TestOneLine(t *testing.T) {
	if got := oneLine("a\nb\r\n c \n"); got != "a; b; c" {
		t.Errorf("%q", got)
	}
}
