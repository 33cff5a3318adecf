package httpapi_test

import (
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/korup2p/korup2p/caps"
	"github.com/korup2p/korup2p/cmd/korup2p/internal/httpapi"
)

// TestMintVerify: a minted token verifies with its master token and says what
// it was minted with; with another master, or altered, it is ErrBadToken.
func TestMintVerify(t *testing.T) {
	iat := time.Unix(1_780_000_000, 0)
	for _, o := range []httpapi.TokenOptions{
		{Ability: caps.Read, IssuedAt: iat},
		{Ability: caps.Write, Spaces: []string{"notes", "todo"}, IssuedAt: iat},
		{Ability: caps.Admin, Expiry: iat.Add(time.Hour + 500*time.Millisecond), IssuedAt: iat},
	} {
		tok, err := httpapi.MintToken(testToken, o)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tok, httpapi.TokenPrefix) || strings.Count(tok, ".") != 2 {
			t.Fatalf("token %q: want k2a1.PAYLOAD.MAC", tok)
		}
		c, err := httpapi.VerifyToken(testToken, tok)
		if err != nil {
			t.Fatal(err)
		}
		want := o.Expiry.Truncate(time.Second)
		if c.Ability != o.Ability || !slices.Equal(c.Spaces, o.Spaces) || !c.IssuedAt.Equal(iat) || !c.Expiry.Equal(want) {
			t.Fatalf("claims %+v, minted with %+v", c, o)
		}
		if u, err := httpapi.UnverifiedTokenClaims(tok); err != nil || u.Ability != c.Ability {
			t.Fatalf("unverified: %+v %v", u, err)
		}
		if _, err := httpapi.VerifyToken(testToken+"x", tok); !errors.Is(err, httpapi.ErrBadToken) {
			t.Fatalf("with another master: %v", err)
		}
		if _, err := httpapi.VerifyToken("", tok); !errors.Is(err, httpapi.ErrBadToken) {
			t.Fatalf("with no master: %v", err)
		}
		// Flip each character of the payload and the MAC in turn.
		for i := len(httpapi.TokenPrefix); i < len(tok); i++ {
			if tok[i] == '.' {
				continue
			}
			b := []byte(tok)
			b[i] ^= 1
			if _, err := httpapi.VerifyToken(testToken, string(b)); !errors.Is(err, httpapi.ErrBadToken) {
				t.Fatalf("%q altered at %d verifies: %v", b, i, err)
			}
		}
	}
	if c, _ := httpapi.VerifyToken(testToken, mustMint(t, httpapi.TokenOptions{Ability: caps.Read, Expiry: iat.Add(time.Minute),
		IssuedAt: iat})); !c.Expired(iat.Add(time.Minute)) || c.Expired(iat.Add(59*time.Second)) {
		t.Fatalf("expiry is exclusive: %+v", c)
	}
}

func mustMint(t testing.TB, o httpapi.TokenOptions) string {
	t.Helper()
	tok, err := httpapi.MintToken(testToken, o)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestMintRefuses: a token that could not mean anything is not minted.
func TestMintRefuses(t *testing.T) {
	now := time.Now()
	for _, o := range []httpapi.TokenOptions{
		{},
		{Ability: 9},
		{Ability: caps.Read, Spaces: []string{}},
		{Ability: caps.Read, Spaces: []string{""}},
		{Ability: caps.Read, IssuedAt: now, Expiry: now.Add(-time.Hour)},
	} {
		if tok, err := httpapi.MintToken(testToken, o); err == nil {
			t.Errorf("%+v: minted %q", o, tok)
		}
	}
	if tok, err := httpapi.MintToken("", httpapi.TokenOptions{Ability: caps.Read}); err == nil {
		t.Errorf("minted %q without a master token", tok)
	}
}

// TestVerifyStrict: payloads the mint never writes are refused even when their
// MAC is right (a leaked key aside, this is what a future format must not
// break silently).
func TestVerifyStrict(t *testing.T) {
	for _, payload := range []string{
		`{"can":"read","iat":1}x`,
		`{"can":"root","iat":1}`,
		`{"can":"read","iat":1,"extra":true}`,
		`{"can":"read","spaces":[],"iat":1}`,
		`{"can":"read","spaces":[""],"iat":1}`,
		`[]`,
		``,
	} {
		tok := signRaw(payload)
		if c, err := httpapi.VerifyToken(testToken, tok); !errors.Is(err, httpapi.ErrBadToken) {
			t.Errorf("%s: %+v %v", payload, c, err)
		}
	}
	for _, bad := range []string{"", "k2a1.", "k2a1.e30", "k2a1.e30.", "k2a2.e30.AAAA", "Bearer k2a1.e30.AAAA",
		"k2a1.e30." + strings.Repeat("A", 43), "k2a1." + strings.Repeat("A", 5000) + ".AAAA"} {
		if _, err := httpapi.VerifyToken(testToken, bad); !errors.Is(err, httpapi.ErrBadToken) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// signRaw makes a token of any payload, signed as MintToken signs.
func signRaw(payload string) string {
	return httpapi.TokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." +
		base64.RawURLEncoding.EncodeToString(httpapi.TokenMACForTest(testToken, []byte(payload)))
}

// FuzzVerifyToken: no input panics, and whatever verifies re-mints to a token
// that verifies to the same claims.
func FuzzVerifyToken(f *testing.F) {
	f.Add(mustMintF(f, httpapi.TokenOptions{Ability: caps.Read, IssuedAt: time.Unix(1, 0)}))
	f.Add(mustMintF(f, httpapi.TokenOptions{Ability: caps.Admin, Spaces: []string{"a"}, Expiry: time.Unix(99, 0), IssuedAt: time.Unix(1, 0)}))
	f.Add("k2a1.e30.AAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := httpapi.VerifyToken(testToken, tok)
		if err != nil {
			if !errors.Is(err, httpapi.ErrBadToken) {
				t.Fatalf("%q: %v, not ErrBadToken", tok, err)
			}
			return
		}
		if id, err := httpapi.TokenID(tok); err != nil || id != c.ID {
			t.Fatalf("%q: TokenID %q %v, want the claims' %q", tok, id, err, c.ID)
		}
		again, err := httpapi.MintToken(testToken, httpapi.TokenOptions{Ability: c.Ability, Spaces: c.Spaces, Expiry: c.Expiry, IssuedAt: c.IssuedAt})
		if err != nil {
			return // a verified token the mint would refuse: an expiry not after its issue
		}
		c2, err := httpapi.VerifyToken(testToken, again)
		if err != nil || c2.Ability != c.Ability || !slices.Equal(c2.Spaces, c.Spaces) || !c2.Expiry.Equal(c.Expiry) {
			t.Fatalf("%q: re-minted %+v %v, want %+v", tok, c2, err, c)
		}
	})
}

func mustMintF(f *testing.F, o httpapi.TokenOptions) string {
	tok, err := httpapi.MintToken(testToken, o)
	if err != nil {
		f.Fatal(err)
	}
	return tok
}
