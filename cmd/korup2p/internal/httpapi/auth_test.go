package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/caps"
	"github.com/korup2p/korup2p/cmd/korup2p/internal/httpapi"
)

// as sends a raw request with token instead of the master token.
func (f *fixture) as(t testing.TB, token, method, path, body string) (int, []byte) {
	t.Helper()
	return f.do(t, method, path, body, "Authorization", "Bearer "+token)
}

// wantForbidden checks a 403 forbidden answer with reason.
func wantForbidden(t testing.TB, status int, body []byte, reason string) {
	t.Helper()
	if e := wantError(t, status, body, 403, httpapi.CodeForbidden); e.Reason != reason || !strings.Contains(e.Error, reason) {
		t.Fatalf("403 %+v, want reason %s named in the message", e, reason)
	}
}

// TestAPITokenAbilities: a read token reads and is refused writes; a write token
// writes and is refused administration; an admin token does both; the master
// token does everything.
func TestAPITokenAbilities(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	mustPut(t, f.c, "default", "a/b", `1`)
	read := mustMint(t, httpapi.TokenOptions{Ability: caps.Read})
	write := mustMint(t, httpapi.TokenOptions{Ability: caps.Write})
	admin := mustMint(t, httpapi.TokenOptions{Ability: caps.Admin})

	reads := []struct{ method, path, body string }{
		{"GET", "/v1/spaces/default/keys/a/b", ""},
		{"GET", "/v1/spaces/default/keys", ""},
		{"GET", "/v1/spaces/default/history/a/b", ""},
		{"GET", "/v1/spaces/default/diff/a/b", ""},
		{"POST", "/v1/spaces/default/query", `{"namespace":"a"}`},
		{"GET", "/v1/spaces/default/dag/heads", ""},
		{"GET", "/v1/spaces/default/dag/log", ""},
		{"GET", "/v1/spaces/default/export", ""},
		{"GET", "/v1/spaces", ""},
		{"GET", "/v1/peers", ""},
		{"GET", "/v1/id", ""},
		{"GET", "/v1/status", ""},
		{"GET", "/metrics", ""},
	}
	for _, tok := range []string{read, write, admin, testToken} {
		for _, rq := range reads {
			if status, body := f.as(t, tok, rq.method, rq.path, rq.body); status != 200 {
				t.Fatalf("%s %s with a %s token: %d %s", rq.method, rq.path, tokenName(tok), status, body)
			}
		}
	}

	writes := []struct{ method, path, body string }{
		{"PUT", "/v1/spaces/default/keys/w/1", `1`},
		{"PATCH", "/v1/spaces/default/keys/w/1", `{"x":1}`},
		{"DELETE", "/v1/spaces/default/keys/w/1", ""},
		{"POST", "/v1/spaces/default/batch", `{"ops":[{"op":"put","key":"w/2","value":2}]}`},
	}
	for _, rq := range writes {
		status, body := f.as(t, read, rq.method, rq.path, rq.body)
		wantForbidden(t, status, body, httpapi.ReasonInsufficientAbility)
	}
	if _, err := f.n.Get(ctx, "default", "w/1"); !errors.Is(err, korup2p.ErrNotFound) {
		t.Fatalf("a refused write wrote: %v", err)
	}
	for _, tok := range []string{write, admin, testToken} {
		for _, rq := range writes {
			if status, body := f.as(t, tok, rq.method, rq.path, rq.body); status != 200 {
				t.Fatalf("%s %s with a %s token: %d %s", rq.method, rq.path, tokenName(tok), status, body)
			}
		}
	}

	admins := []struct{ method, path, body string }{
		{"POST", "/v1/spaces", `{"name":"made-by-%s"}`},
		{"POST", "/v1/spaces/default/invite", ""},
		{"POST", "/v1/spaces/default/caps", `{"to":"12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA","can":"read"}`},
		{"DELETE", "/v1/spaces/default/caps/bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy", ""},
		{"POST", "/v1/peers", `{"addr":"/ip4/127.0.0.1/tcp/1/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"}`},
		{"POST", "/v1/spaces/join", `{"ticket":"sensors"}`},
		{"POST", "/v1/tokens", `{"can":"read"}`},
	}
	for _, tok := range []string{read, write} {
		for _, rq := range admins {
			status, body := f.as(t, tok, rq.method, rq.path, strings.ReplaceAll(rq.body, "%s", tokenName(tok)))
			wantForbidden(t, status, body, httpapi.ReasonInsufficientAbility)
		}
	}
	if len(f.n.Spaces()) != 1 {
		t.Fatalf("a refused create made a space: %v", f.n.Spaces())
	}
	// Admin and master pass the token check: what the Node then answers is its own.
	for _, tok := range []string{admin, testToken} {
		for _, rq := range admins {
			status, body := f.as(t, tok, rq.method, rq.path, strings.ReplaceAll(rq.body, "%s", tokenName(tok)))
			var e struct{ Code string }
			json.Unmarshal(body, &e)
			if status == 401 || e.Code == httpapi.CodeForbidden {
				t.Fatalf("%s %s with a %s token: %d %s", rq.method, rq.path, tokenName(tok), status, body)
			}
		}
	}
	// The Client's error for a refusal.
	rc := httpapi.NewClient(f.addr, read)
	defer rc.Close()
	_, err := rc.Put(ctx, "default", "w/3", json.RawMessage(`3`))
	var ae *httpapi.APIError
	if !errors.Is(err, httpapi.ErrForbidden) || !errors.As(err, &ae) || ae.Reason != httpapi.ReasonInsufficientAbility {
		t.Fatalf("client put with a read token: %v", err)
	}
	if errors.Is(err, korup2p.ErrDenied) {
		t.Fatalf("an API token's refusal is not a capability denial: %v", err)
	}
}

func tokenName(tok string) string {
	if tok == testToken {
		return "master"
	}
	c, err := httpapi.UnverifiedTokenClaims(tok)
	if err != nil {
		return "bad"
	}
	return c.Ability.String()
}

// TestAPITokenSpaces: a token limited to spaces reaches those alone, by name or
// ID; lists show only them; routes over every space refuse it.
func TestAPITokenSpaces(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	notes, err := f.n.CreateSpace("notes", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.n.CreateSpace("secret", true); err != nil {
		t.Fatal(err)
	}
	mustPut(t, f.c, "secret", "s/1", `"hidden"`)
	tok := mustMint(t, httpapi.TokenOptions{Ability: caps.Admin, Spaces: []string{"notes"}})
	c := httpapi.NewClient(f.addr, tok)
	defer c.Close()

	mustPut(t, c, "notes", "n/1", `1`)
	mustPut(t, c, notes.ID.String(), "n/2", `2`) // by ID
	for _, sp := range []string{"secret", "default", "nope"} {
		status, body := f.as(t, tok, "GET", "/v1/spaces/"+sp+"/keys/s/1", "")
		wantForbidden(t, status, body, httpapi.ReasonWrongSpace)
		status, body = f.as(t, tok, "PUT", "/v1/spaces/"+sp+"/keys/s/1", `"overwritten"`)
		wantForbidden(t, status, body, httpapi.ReasonWrongSpace)
	}
	var secretID string
	for _, s := range f.n.Spaces() {
		if s.Name == "secret" {
			secretID = s.ID.String()
		}
	}
	status, body := f.as(t, tok, "GET", "/v1/spaces/"+secretID+"/keys/s/1", "")
	wantForbidden(t, status, body, httpapi.ReasonWrongSpace)

	spaces, err := c.Spaces(ctx)
	if err != nil || len(spaces) != 1 || spaces[0].Name != "notes" {
		t.Fatalf("spaces with a token limited to notes: %+v %v", spaces, err)
	}
	status, body = f.as(t, tok, "GET", "/v1/status", "")
	if status != 200 || strings.Contains(string(body), "secret") || !strings.Contains(string(body), `"notes"`) {
		t.Fatalf("status with a token limited to notes: %d %s", status, body)
	}
	for _, rq := range []struct{ method, path, body string }{
		{"GET", "/metrics", ""},
		{"POST", "/v1/spaces/join", `{"ticket":"sensors"}`},
		{"POST", "/v1/spaces/import", "x"},
		{"POST", "/v1/spaces", `{"name":"other"}`},
	} {
		status, body := f.as(t, tok, rq.method, rq.path, rq.body)
		wantForbidden(t, status, body, httpapi.ReasonWrongSpace)
	}
	// Creating one of its own spaces is allowed.
	lim := mustMint(t, httpapi.TokenOptions{Ability: caps.Admin, Spaces: []string{"later"}})
	if status, body := f.as(t, lim, "POST", "/v1/spaces", `{"name":"later","open":true}`); status != 201 {
		t.Fatalf("create a space the token names: %d %s", status, body)
	}
	if e, err := f.n.Get(ctx, "secret", "s/1"); err != nil || string(e.Value) != `"hidden"` {
		t.Fatalf("secret/s/1 = %s %v", e.Value, err)
	}
}

// TestAPITokenRefused: an expired token is 403 expired; a malformed, altered or
// foreign one is 401 like a wrong master token; /healthz needs none; a server
// without a master token takes no minted token either.
func TestAPITokenRefused(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	f := newFixture(t, fixtureOpts{})
	now := time.Now()
	expired := mustMint(t, httpapi.TokenOptions{Ability: caps.Admin, IssuedAt: now.Add(-2 * time.Hour), Expiry: now.Add(-time.Hour)})
	status, body := f.as(t, expired, "GET", "/v1/spaces", "")
	wantForbidden(t, status, body, httpapi.ReasonExpired)

	good := mustMint(t, httpapi.TokenOptions{Ability: caps.Admin})
	foreign, err := httpapi.MintToken("another-master", httpapi.TokenOptions{Ability: caps.Admin})
	if err != nil {
		t.Fatal(err)
	}
	payload, mac, _ := strings.Cut(strings.TrimPrefix(good, httpapi.TokenPrefix), ".")
	for _, bad := range []string{
		foreign,
		good[:len(good)-2] + flip(good[len(good)-2:]),
		httpapi.TokenPrefix + payload + "." + mac[:len(mac)-4],
		httpapi.TokenPrefix + payload,
		"k2a1.." + mac,
		good + "x",
	} {
		status, body := f.as(t, bad, "GET", "/v1/spaces/default/keys", "")
		wantError(t, status, body, 401, httpapi.CodeUnauthorized)
	}
	if status, _ := f.as(t, expired, "GET", "/healthz", ""); status != 200 {
		t.Fatalf("healthz with an expired token: %d", status)
	}

	empty := ""
	g := newFixture(t, fixtureOpts{token: &empty})
	status, body = g.as(t, emptyKeyToken(), "GET", "/v1/spaces", "")
	wantError(t, status, body, 401, httpapi.CodeUnauthorized)
	// The server's clock judges expiry.
	h := newFixture(t, fixtureOpts{now: clock.Now})
	soon := mustMint(t, httpapi.TokenOptions{Ability: caps.Read, IssuedAt: now, Expiry: now.Add(time.Hour)})
	if status, body := h.as(t, soon, "GET", "/v1/spaces", ""); status != 200 {
		t.Fatalf("before expiry: %d %s", status, body)
	}
	clock.Set(now.Add(time.Hour))
	status, body = h.as(t, soon, "GET", "/v1/spaces", "")
	wantForbidden(t, status, body, httpapi.ReasonExpired)
}

func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

// emptyKeyToken is a token MAC'd with the key of an empty master token, as an
// attacker would try against a server that has none (MintToken refuses to).
func emptyKeyToken() string {
	payload := `{"can":"admin","iat":1}`
	return httpapi.TokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." +
		base64.RawURLEncoding.EncodeToString(httpapi.TokenMACForTest("", []byte(payload)))
}

// TestMintTokenRoute: POST /v1/tokens mints with the master token anything, and
// with a minted admin token never wider than itself.
func TestMintTokenRoute(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	if _, err := f.n.CreateSpace("notes", true); err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	tok, err := f.c.MintToken(ctx, httpapi.TokenOptions{Ability: caps.Write, Spaces: []string{"notes"}, Expiry: exp})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := httpapi.VerifyToken(testToken, tok)
	if err != nil || cl.Ability != caps.Write || !slices.Equal(cl.Spaces, []string{"notes"}) || !cl.Expiry.Equal(exp) {
		t.Fatalf("minted %+v %v", cl, err)
	}

	// A limited admin token mints narrower ones, by default as narrow as itself.
	limited := mustMint(t, httpapi.TokenOptions{Ability: caps.Admin, Spaces: []string{"notes"}, Expiry: exp})
	lc := httpapi.NewClient(f.addr, limited)
	defer lc.Close()
	tok, err = lc.MintToken(ctx, httpapi.TokenOptions{Ability: caps.Read})
	if err != nil {
		t.Fatal(err)
	}
	if cl, _ = httpapi.VerifyToken(testToken, tok); !slices.Equal(cl.Spaces, []string{"notes"}) || !cl.Expiry.Equal(exp) {
		t.Fatalf("a token minted by a limited one: %+v", cl)
	}
	tok, err = lc.MintToken(ctx, httpapi.TokenOptions{Ability: caps.Read, Expiry: exp.Add(24 * time.Hour)})
	if cl, _ = httpapi.VerifyToken(testToken, tok); err != nil || !cl.Expiry.Equal(exp) {
		t.Fatalf("a later expiry is cut to the minter's: %+v %v", cl, err)
	}
	var ae *httpapi.APIError
	if _, err := lc.MintToken(ctx, httpapi.TokenOptions{Ability: caps.Read, Spaces: []string{"default"}}); !errors.As(err, &ae) ||
		ae.Status != 403 || ae.Reason != httpapi.ReasonWrongSpace {
		t.Fatalf("a limited token minting for another space: %v", err)
	}
	for _, body := range []string{`{"can":"root"}`, `{}`, `{"can":"read","spaces":[]}`, `{"can":"read","expires":"tomorrow"}`,
		`{"can":"read","expires":"2001-01-01T00:00:00Z"}`, `{"can":"read","bogus":1}`} {
		status, b := f.do(t, "POST", "/v1/tokens", body)
		wantError(t, status, b, 400, httpapi.CodeInvalid)
	}
	status, b := f.do(t, "POST", "/v1/tokens", `{"can":"admin"}`)
	var w struct {
		Token, Can, Expires string
		Spaces              []string
	}
	if err := json.Unmarshal(b, &w); status != 201 || err != nil || w.Can != "admin" || w.Spaces != nil || w.Expires != "" {
		t.Fatalf("%d %s", status, b)
	}
}
