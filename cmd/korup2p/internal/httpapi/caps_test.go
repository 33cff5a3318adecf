package httpapi_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/caps"
	"github.com/korup2p/korup2p/cmd/korup2p/internal/httpapi"
)

// TestCapsRoutes: grant, list and revoke round-trip through the API as through
// the Node; bad bodies are 400, an unknown ID 404, an open space 409.
func TestCapsRoutes(t *testing.T) {
	a, b := newFixture(t, fixtureOpts{}), newFixture(t, fixtureOpts{})
	bID := b.n.ID()
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	status, body := a.do(t, "POST", "/v1/spaces/default/caps",
		`{"to":"`+bID.String()+`","can":"write","keys":["notes/*"],"expires":"`+exp.UTC().Format(time.RFC3339)+`"}`)
	var w struct {
		ID, Issuer, Audience, Can, Expires, Status, Proof string
		Keys                                              []string
		RevokedBy                                         []string `json:"revoked_by"`
	}
	if status != 201 || jsonInto(t, body, &w) != nil || w.Audience != bID.String() || w.Issuer != a.n.ID().String() ||
		w.Can != "write" || !slices.Equal(w.Keys, []string{"notes/*"}) || w.Status != string(korup2p.StatusValid) || w.Proof != "" {
		t.Fatalf("grant: %d %s", status, body)
	}
	if got, err := time.Parse(time.RFC3339, w.Expires); err != nil || !got.Equal(exp) {
		t.Fatalf("grant: expires %q, want %s", w.Expires, exp)
	}

	cp, err := a.c.Grant(ctx, "default", korup2p.Grant{To: bID, Ability: caps.Read})
	if err != nil {
		t.Fatal(err)
	}
	if !cp.ID.Defined() || cp.Audience != bID || cp.Issuer != a.n.ID() || cp.Ability != caps.Read || cp.Status != korup2p.StatusValid {
		t.Fatalf("Client.Grant = %+v", cp)
	}
	list, err := a.c.Capabilities(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	local, err := a.n.Capabilities("default")
	if err != nil || len(list) != len(local) || len(list) < 2 {
		t.Fatalf("Client.Capabilities = %+v, Node's = %+v %v", list, local, err)
	}
	for i := range list {
		if !list[i].ID.Equals(local[i].ID) || list[i].Ability != local[i].Ability || list[i].Status != local[i].Status ||
			!list[i].Expiry.Equal(local[i].Expiry) || !slices.Equal(list[i].Keys, local[i].Keys) {
			t.Errorf("capability %d: client %+v, node %+v", i, list[i], local[i])
		}
	}

	rev, err := a.c.Revoke(ctx, "default", cp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !rev.ID.Defined() || !rev.Token.Equals(cp.ID) || rev.Issuer != a.n.ID() {
		t.Fatalf("Client.Revoke = %+v", rev)
	}
	list, err = a.c.Capabilities(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(list, func(c korup2p.Capability) bool { return c.ID.Equals(cp.ID) })
	if i < 0 || list[i].Status != caps.ReasonRevoked || !slices.ContainsFunc(list[i].RevokedBy, rev.ID.Equals) {
		t.Fatalf("after revoke: %+v", list)
	}

	unknown, _ := cid.Decode("bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy")
	if _, err := a.c.Revoke(ctx, "default", unknown); !errors.Is(err, korup2p.ErrUnknownCapability) {
		t.Fatalf("revoke an unknown ID: %v", err)
	}
	status, body = a.do(t, "DELETE", "/v1/spaces/default/caps/"+unknown.String(), "")
	wantError(t, status, body, 404, httpapi.CodeUnknownCap)
	status, body = a.do(t, "DELETE", "/v1/spaces/default/caps/not-a-cid", "")
	wantError(t, status, body, 400, httpapi.CodeInvalid)
	status, body = a.do(t, "GET", "/v1/spaces/nope/caps", "")
	wantError(t, status, body, 404, httpapi.CodeUnknownSpace)

	to := `"to":"` + bID.String() + `"`
	for _, bad := range []string{`{}`, `{"can":"read"}`, `{"to":"nobody","can":"read"}`, `{` + to + `}`, `{` + to + `,"can":"root"}`,
		`{` + to + `,"can":"read","keys":[""]}`, `{` + to + `,"can":"read","keys":["a*"]}`, `{` + to + `,"can":"read","expires":"soon"}`,
		`{` + to + `,"can":"read","expires":"2001-01-01T00:00:00Z"}`, `{` + to + `,"can":"read","bogus":1}`,
		`{` + to + `,"can":"read","not_before":"2030-01-02T00:00:00Z","expires":"2030-01-01T00:00:00Z"}`} {
		status, body := a.do(t, "POST", "/v1/spaces/default/caps", bad)
		wantError(t, status, body, 400, httpapi.CodeInvalid)
	}

	// An open space has no capabilities.
	if _, err := a.n.CreateSpace("sensors", true); err != nil {
		t.Fatal(err)
	}
	if _, err := a.c.Capabilities(ctx, "sensors"); !errors.Is(err, korup2p.ErrOpenSpace) {
		t.Fatalf("caps of an open space: %v", err)
	}
	if _, err := a.c.Grant(ctx, "sensors", korup2p.Grant{To: bID, Ability: caps.Read}); !errors.Is(err, korup2p.ErrOpenSpace) {
		t.Fatalf("grant in an open space: %v", err)
	}
	status, body = a.do(t, "GET", "/v1/spaces/sensors/caps", "")
	wantError(t, status, body, 409, httpapi.CodeOpenSpace)
	status, body = a.do(t, "POST", "/v1/spaces/sensors/invite", `{"can":"write"}`)
	wantError(t, status, body, 409, httpapi.CodeOpenSpace)
	if _, err := a.c.Invite(ctx, "sensors", korup2p.InviteOptions{}); err != nil {
		t.Fatalf("a plain invite to an open space: %v", err)
	}
}

// TestCapsDenied: a peer that holds read may not grant write: 403 denied with the
// caps reason, which the Client's error carries as a *caps.Denied.
func TestCapsDenied(t *testing.T) {
	a, b, c := newFixture(t, fixtureOpts{}), newFixture(t, fixtureOpts{}), newFixture(t, fixtureOpts{})
	ticket, err := a.c.Invite(ctx, "default", korup2p.InviteOptions{For: b.n.ID()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.c.Join(ctx, ticket, "shared"); err != nil {
		t.Fatal(err)
	}
	_, err = b.c.Grant(ctx, "shared", korup2p.Grant{To: c.n.ID(), Ability: caps.Write})
	var d *caps.Denied
	if !errors.Is(err, korup2p.ErrDenied) || !errors.As(err, &d) || d.Reason == "" || !strings.Contains(err.Error(), string(d.Reason)) {
		t.Fatalf("grant of write by a reader: %v", err)
	}
	var ae *httpapi.APIError
	if !errors.As(err, &ae) || ae.Status != 403 || ae.Code != httpapi.CodeDenied || ae.Reason != string(d.Reason) {
		t.Fatalf("grant of write by a reader: %#v", ae)
	}
	t.Logf("refused: %v", err)
}

// TestInviteOptions: POST .../invite takes an optional body that becomes
// InviteOptions; a bad one is 400 and makes no ticket.
func TestInviteOptions(t *testing.T) {
	a, b := newFixture(t, fixtureOpts{}), newFixture(t, fixtureOpts{})
	exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, body := range []string{"", " \n", `{}`, `{"can":"write","for":"` + b.n.ID().String() + `","keys":["notes/*"],"expires":"` + exp + `"}`,
		`{"can":"admin"}`} {
		status, resp := a.do(t, "POST", "/v1/spaces/default/invite", body)
		if status != 200 || !strings.Contains(string(resp), `"ticket":"korup2p1`) {
			t.Fatalf("invite %q: %d %s", body, status, resp)
		}
	}
	ticket, err := a.c.Invite(ctx, "default", korup2p.InviteOptions{Ability: caps.Write, For: b.n.ID(), Keys: []string{"notes/*"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.c.Join(ctx, ticket, "shared"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.c.Put(ctx, "shared", "notes/1", []byte(`"from b"`)); err != nil {
		t.Fatalf("b writes with the ticket's write capability: %v", err)
	}
	for _, bad := range []string{`{"can":"root"}`, `{"for":"nobody"}`, `{"keys":[""]}`, `{"expires":"soon"}`,
		`{"expires":"2001-01-01T00:00:00Z"}`, `{"bogus":1}`, `not json`} {
		status, body := a.do(t, "POST", "/v1/spaces/default/invite", bad)
		wantError(t, status, body, 400, httpapi.CodeInvalid)
	}
}

// jsonInto decodes body into v, failing the test on bad JSON.
func jsonInto(t testing.TB, body []byte, v any) error {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return nil
}
