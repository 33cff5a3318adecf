package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/log"

	"github.com/korup2p/korup2p/caps"
	"github.com/korup2p/korup2p/cmd/korup2p/internal/httpapi"
)

// TestTokenID: a token's ID is the hex of the first 8 bytes of its MAC, the
// same in its claims; tokens of the same claims issued at another second have
// another; a malformed token has none.
func TestTokenID(t *testing.T) {
	iat := time.Unix(1_780_000_000, 0)
	tok := mustMint(t, httpapi.TokenOptions{Ability: caps.Read, IssuedAt: iat})
	id, err := httpapi.TokenID(tok)
	if err != nil {
		t.Fatal(err)
	}
	_, mac64, _ := strings.Cut(strings.TrimPrefix(tok, httpapi.TokenPrefix), ".")
	mac, err := base64.RawURLEncoding.DecodeString(mac64)
	if err != nil {
		t.Fatal(err)
	}
	if want := hex.EncodeToString(mac[:8]); id != want || len(id) != 16 {
		t.Fatalf("TokenID = %q, want %q", id, want)
	}
	if c, err := httpapi.VerifyToken(testToken, tok); err != nil || c.ID != id {
		t.Fatalf("verified claims' ID %q %v, want %q", c.ID, err, id)
	}
	if c, err := httpapi.UnverifiedTokenClaims(tok); err != nil || c.ID != id {
		t.Fatalf("unverified claims' ID %q %v, want %q", c.ID, err, id)
	}
	other := mustMint(t, httpapi.TokenOptions{Ability: caps.Read, IssuedAt: iat.Add(time.Second)})
	if oid, _ := httpapi.TokenID(other); oid == id || len(oid) != 16 {
		t.Fatalf("another iat, ID %q (first %q)", oid, id)
	}
	for _, bad := range []string{"", "k2a1.", "k2a1.e30", "k2a1.e30.AAAA", testToken, strings.Repeat("a", 64)} {
		if id, err := httpapi.TokenID(bad); !errors.Is(err, httpapi.ErrBadToken) {
			t.Errorf("TokenID(%q) = %q, %v; want ErrBadToken", bad, id, err)
		}
	}

	if got, err := httpapi.ParseTokenID("0123456789ABCDEF"); err != nil || got != "0123456789abcdef" {
		t.Fatalf("ParseTokenID of upper case = %q %v", got, err)
	}
	for _, bad := range []string{"", "0123456789abcde", "0123456789abcdef0", "0123456789abcdeg", " 0123456789abcdef",
		tok, strings.Repeat("x", 10_000)} {
		_, err := httpapi.ParseTokenID(bad)
		if !errors.Is(err, httpapi.ErrBadTokenID) || len(err.Error()) > 120 {
			t.Errorf("ParseTokenID(%.20q…): %v; want a short ErrBadTokenID", bad, err)
		}
	}
}

// TestRevokedToken: a revoked token is 403 forbidden/revoked, like an expired
// one, while a token of the same claims issued a second later still works, and
// so does the master token; revoking again is no error; an ID in any case names
// the same token.
func TestRevokedToken(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	iat := time.Now().Add(-time.Minute)
	a := mustMint(t, httpapi.TokenOptions{Ability: caps.Admin, IssuedAt: iat})
	b := mustMint(t, httpapi.TokenOptions{Ability: caps.Admin, IssuedAt: iat.Add(time.Second)})
	ida, _ := httpapi.TokenID(a)
	idb, _ := httpapi.TokenID(b)
	for _, tok := range []string{a, b} {
		if status, body := f.as(t, tok, "GET", "/v1/spaces", ""); status != 200 {
			t.Fatalf("before revocation: %d %s", status, body)
		}
	}

	already, err := f.c.RevokeToken(ctx, ida)
	if err != nil || already {
		t.Fatalf("RevokeToken = %v, %v", already, err)
	}
	status, body := f.as(t, a, "GET", "/v1/spaces", "")
	wantForbidden(t, status, body, httpapi.ReasonRevoked)
	if !strings.Contains(string(body), ida) {
		t.Fatalf("the refusal does not name the ID %s: %s", ida, body)
	}
	if status, body := f.as(t, b, "GET", "/v1/spaces", ""); status != 200 {
		t.Fatalf("a token of the same claims, issued a second later: %d %s", status, body)
	}
	if status, body := f.do(t, "GET", "/v1/spaces", ""); status != 200 {
		t.Fatalf("the master token: %d %s", status, body)
	}
	ac := httpapi.NewClient(f.addr, a)
	defer ac.Close()
	_, err = ac.Spaces(ctx)
	var ae *httpapi.APIError
	if !errors.Is(err, httpapi.ErrForbidden) || !errors.As(err, &ae) || ae.Reason != httpapi.ReasonRevoked {
		t.Fatalf("the Client's error for a revoked token: %v", err)
	}
	// A revoked admin token revokes nothing: it is refused first.
	status, body = f.as(t, a, "DELETE", "/v1/tokens/"+idb, "")
	wantForbidden(t, status, body, httpapi.ReasonRevoked)

	if already, err := f.c.RevokeToken(ctx, ida); err != nil || !already {
		t.Fatalf("revoking again = %v, %v; want already revoked", already, err)
	}
	status, body = f.do(t, "DELETE", "/v1/tokens/"+strings.ToUpper(idb), "")
	if status != 200 || !jsonEq(t, body, fmt.Sprintf(`{"id":%q,"already_revoked":false}`, idb)) {
		t.Fatalf("DELETE in upper case: %d %s", status, body)
	}
	status, body = f.as(t, b, "GET", "/v1/spaces", "")
	wantForbidden(t, status, body, httpapi.ReasonRevoked)
}

// revokeAll says every ID is revoked and fails to revoke.
type revokeAll struct{}

func (revokeAll) Revoked(string) bool         { return true }
func (revokeAll) Revoke(string) (bool, error) { return false, errors.New("the list is read-only") }

// TestMasterTokenNotRevocable: with a list that revokes every ID, the master
// token still does everything, and a list that fails to write is a 500.
func TestMasterTokenNotRevocable(t *testing.T) {
	f := newFixture(t, fixtureOpts{revoked: revokeAll{}})
	if status, body := f.do(t, "GET", "/v1/spaces", ""); status != 200 {
		t.Fatalf("the master token: %d %s", status, body)
	}
	status, body := f.as(t, mustMint(t, httpapi.TokenOptions{Ability: caps.Admin}), "GET", "/v1/spaces", "")
	wantForbidden(t, status, body, httpapi.ReasonRevoked)
	status, body = f.do(t, "DELETE", "/v1/tokens/0123456789abcdef", "")
	wantError(t, status, body, 500, httpapi.CodeInternal)
}

// TestRevokeTokenRoute: DELETE /v1/tokens/{id} needs an admin token not limited
// to spaces, and refuses a malformed ID with 400 before touching the list.
func TestRevokeTokenRoute(t *testing.T) {
	list := &httpapi.MemRevocations{}
	f := newFixture(t, fixtureOpts{revoked: list})
	victim := mustMint(t, httpapi.TokenOptions{Ability: caps.Read, Spaces: []string{"default"}})
	id, _ := httpapi.TokenID(victim)
	path := "/v1/tokens/" + id

	for _, tok := range []string{mustMint(t, httpapi.TokenOptions{Ability: caps.Read}), mustMint(t, httpapi.TokenOptions{Ability: caps.Write})} {
		status, body := f.as(t, tok, "DELETE", path, "")
		wantForbidden(t, status, body, httpapi.ReasonInsufficientAbility)
	}
	limited := mustMint(t, httpapi.TokenOptions{Ability: caps.Admin, Spaces: []string{"default"}})
	status, body := f.as(t, limited, "DELETE", path, "")
	wantForbidden(t, status, body, httpapi.ReasonWrongSpace)
	for _, bad := range []string{"xyz", "0123456789abcde", "0123456789abcdef0", "0123456789abcdeg", victim} {
		status, body := f.do(t, "DELETE", "/v1/tokens/"+bad, "")
		if e := wantError(t, status, body, 400, httpapi.CodeInvalid); e.Reason != httpapi.ReasonRequest {
			t.Fatalf("DELETE /v1/tokens/%s: %+v", bad, e)
		}
	}
	if _, err := f.c.RevokeToken(ctx, "not an id"); !errors.Is(err, httpapi.ErrInvalidRequest) {
		t.Fatalf("the Client's error for a malformed ID: %v", err)
	}
	if list.Revoked(id) {
		t.Fatal("a refused request revoked the token")
	}
	if status, body := f.as(t, victim, "GET", "/v1/spaces/default/keys", ""); status != 200 {
		t.Fatalf("the victim before its revocation: %d %s", status, body)
	}

	admin := mustMint(t, httpapi.TokenOptions{Ability: caps.Admin, Expiry: time.Now().Add(time.Hour)})
	status, body = f.as(t, admin, "DELETE", path, "")
	if status != 200 || !jsonEq(t, body, fmt.Sprintf(`{"id":%q,"already_revoked":false}`, id)) {
		t.Fatalf("DELETE with an admin token: %d %s", status, body)
	}
	status, body = f.as(t, victim, "GET", "/v1/spaces/default/keys", "")
	wantForbidden(t, status, body, httpapi.ReasonRevoked)
}

// TestParseRevocationList: comments, blank lines and spaces are skipped, IDs
// come out in lower case, and each bad line is an error naming its number that
// does not stop the rest.
func TestParseRevocationList(t *testing.T) {
	text := "# revoked API tokens\n" +
		"\n" +
		"0123456789abcdef\n" +
		"  FEDCBA9876543210  \r\n" +
		"not-an-id\n" +
		"   # 0000000000000000 is a comment\n" +
		"0123456789abcde\n" +
		"\t\n" +
		"1111111111111111"
	ids, bad := httpapi.ParseRevocationList([]byte(text))
	if want := []string{"0123456789abcdef", "fedcba9876543210", "1111111111111111"}; !slices.Equal(ids, want) {
		t.Fatalf("ids %q, want %q", ids, want)
	}
	if len(bad) != 2 || !strings.HasPrefix(bad[0].Error(), "line 5: ") || !strings.HasPrefix(bad[1].Error(), "line 7: ") {
		t.Fatalf("bad lines %v, want lines 5 and 7", bad)
	}
	for _, err := range bad {
		if !errors.Is(err, httpapi.ErrBadTokenID) {
			t.Fatalf("%v: not ErrBadTokenID", err)
		}
	}
	if ids, bad := httpapi.ParseRevocationList(nil); ids != nil || bad != nil {
		t.Fatalf("an empty list: %q %v", ids, bad)
	}
}

// FuzzParseRevocationList: no input panics; every ID is canonical, every error
// names a line.
func FuzzParseRevocationList(f *testing.F) {
	f.Add([]byte("# c\n\n0123456789abcdef\nFEDCBA9876543210\r\nbad\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		ids, bad := httpapi.ParseRevocationList(text)
		for _, id := range ids {
			if again, err := httpapi.ParseTokenID(id); err != nil || again != id {
				t.Fatalf("%q: not canonical: %q %v", id, again, err)
			}
		}
		for _, err := range bad {
			if !strings.HasPrefix(err.Error(), "line ") || !errors.Is(err, httpapi.ErrBadTokenID) {
				t.Fatalf("%v: names no line", err)
			}
		}
	})
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRevocationFile: Revoke writes the file (0600), keeping the lines already
// there; an edit by hand counts from the next Revoked, whether written in place
// or replaced by a file of the same size; a bad line is logged and skipped; a
// missing file is an empty list; one that cannot be read keeps the list read
// before and is logged once.
func TestRevocationFile(t *testing.T) {
	const id1, id2, id3, id4 = "1111111111111111", "2222222222222222", "3333333333333333", "4444444444444444"
	path := filepath.Join(t.TempDir(), "api.revoked")
	var logs bytes.Buffer // written by the calls of this goroutine alone
	f := httpapi.NewRevocationFile(path, log.New(&logs))
	if n, err := f.Load(); n != 0 || err != nil {
		t.Fatalf("Load of a missing file = %d, %v", n, err)
	}
	if f.Revoked(id1) {
		t.Fatal("revoked in a missing file")
	}

	if already, err := f.Revoke("1111111111111111"); err != nil || already {
		t.Fatalf("Revoke = %v, %v", already, err)
	}
	if !f.Revoked(id1) || f.Revoked(id2) {
		t.Fatal("after Revoke: the list is wrong")
	}
	text := readFile(t, path)
	if !strings.HasPrefix(text, "#") || strings.Count(text, id1+"\n") != 1 {
		t.Fatalf("the file after Revoke:\n%s", text)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the file's mode: %v %v", fi.Mode(), err)
	}
	if already, err := f.Revoke(id1); err != nil || !already {
		t.Fatalf("Revoke again = %v, %v", already, err)
	}
	if again := readFile(t, path); again != text {
		t.Fatalf("revoking again changed the file:\n%s", again)
	}
	if _, err := f.Revoke("not-an-id"); !errors.Is(err, httpapi.ErrBadTokenID) {
		t.Fatalf("Revoke of a malformed ID: %v", err)
	}

	// Edited in place: a comment, a bad line, another ID.
	if err := os.WriteFile(path, []byte("# mine\n"+id1+"\nbogus\n"+id2), 0o600); err != nil {
		t.Fatal(err)
	}
	if !f.Revoked(id2) || !f.Revoked(id1) {
		t.Fatal("an edit by hand did not count")
	}
	if l := logs.String(); !strings.Contains(l, "line 3") || !strings.Contains(l, "bogus") {
		t.Fatalf("the bad line was not logged: %q", l)
	}
	if _, err := f.Revoke(id3); err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, path), "# mine\n"+id1+"\nbogus\n"+id2+"\n"+id3+"\n"; got != want {
		t.Fatalf("Revoke after an edit wrote\n%q, want\n%q", got, want)
	}
	if !f.Revoked(id3) {
		t.Fatal("revoked ID not revoked")
	}

	// Replaced by a file of the same size: id1 accepted again.
	replace(t, path, strings.Replace(readFile(t, path), id1, id4, 1))
	if f.Revoked(id1) || !f.Revoked(id4) || !f.Revoked(id3) {
		t.Fatal("a replaced file of the same size did not count")
	}

	// Deleted: an empty list.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if f.Revoked(id4) {
		t.Fatal("revoked in a deleted file")
	}

	// Unreadable: the list read before stays, and the error is logged once.
	replace(t, path, id4+"\n")
	if !f.Revoked(id4) {
		t.Fatal("a new file did not count")
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if !f.Revoked(id4) || !f.Revoked(id4) {
		t.Fatal("an unreadable file dropped the list read before")
	}
	if n := strings.Count(logs.String(), "keeping the list read before"); n != 1 {
		t.Fatalf("the read error was logged %d times:\n%s", n, logs.String())
	}
	if _, err := f.Load(); err == nil {
		t.Fatal("Load of an unreadable file: no error")
	}
	if _, err := f.Revoke(id1); err == nil {
		t.Fatal("Revoke into an unreadable file: no error")
	}
}

// replace writes text to a new file and renames it over path, as an editor or
// atomicfile does.
func replace(t *testing.T, path, text string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestRevocationFileConcurrent: revocations and checks at once (run with
// -race) lose no ID, in memory or in the file.
func TestRevocationFileConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.revoked")
	f := httpapi.NewRevocationFile(path, quiet())
	const n = 16
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%016x", i+1)
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := f.Revoke(id); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			for range 20 {
				f.Revoked(id)
			}
		}()
	}
	wg.Wait()
	got, bad := httpapi.ParseRevocationList([]byte(readFile(t, path)))
	slices.Sort(got)
	if !slices.Equal(got, ids) || bad != nil {
		t.Fatalf("the file holds %q (bad %v), want %q", got, bad, ids)
	}
	for _, id := range ids {
		if !f.Revoked(id) {
			t.Fatalf("%s not revoked", id)
		}
	}
}

// TestRevocationFileServer: a server over a RevocationFile refuses a token from
// the request after its ID is written into the file by hand, writes the file on
// DELETE /v1/tokens/{id}, and accepts the token again once the file is gone.
func TestRevocationFileServer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.revoked")
	f := newFixture(t, fixtureOpts{revoked: httpapi.NewRevocationFile(path, quiet())})
	a := mustMint(t, httpapi.TokenOptions{Ability: caps.Read, Spaces: []string{"default"}})
	b := mustMint(t, httpapi.TokenOptions{Ability: caps.Write})
	ida, _ := httpapi.TokenID(a)
	idb, _ := httpapi.TokenID(b)
	if status, body := f.as(t, a, "GET", "/v1/spaces", ""); status != 200 {
		t.Fatalf("before: %d %s", status, body)
	}
	if err := os.WriteFile(path, []byte("# by hand\n"+ida+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	status, body := f.as(t, a, "GET", "/v1/spaces", "")
	wantForbidden(t, status, body, httpapi.ReasonRevoked)

	if _, err := f.c.RevokeToken(ctx, idb); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "# by hand\n"+ida+"\n"+idb+"\n" {
		t.Fatalf("the file after DELETE: %q", got)
	}
	status, body = f.as(t, b, "GET", "/v1/spaces", "")
	wantForbidden(t, status, body, httpapi.ReasonRevoked)

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{a, b} {
		if status, body := f.as(t, tok, "GET", "/v1/spaces", ""); status != 200 {
			t.Fatalf("after the file is gone: %d %s", status, body)
		}
	}
}
