package caps_test

import (
	"bytes"
	"testing"

	"github.com/korup2p/korup2p/caps"
	"github.com/korup2p/korup2p/distinctions"
)

// FuzzDecodeToken: no input panics Decode, and every token it accepts has a valid
// signature (Check verifies it again) and re-encodes to exactly its input.
// Seeds live in testdata/fuzz/FuzzDecodeToken.
func FuzzDecodeToken(f *testing.F) {
	for _, tok := range build(f, baseSpecs()) {
		f.Add(tok.Bytes())
	}
	r, err := caps.IssueRevocation(owner.key, caps.Revocation{Space: space, Token: space2})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(r.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := caps.Decode(data, distinctions.Limits{MaxBytes: 1 << 16})
		if err != nil {
			return
		}
		if !bytes.Equal(tok.Bytes(), data) || !tok.CID().Equals(distinctions.Sum(data)) {
			t.Fatalf("accepted token %x does not re-encode to itself", data)
		}
		// A decoded token is a valid one-token chain iff its own rules hold.
		in := caps.CheckInput{Space: tok.Space, Owner: tok.Issuer, Actor: tok.Audience, Need: caps.Read,
			Now: max(tok.NotBefore, 1), Chain: []*caps.Token{tok}}
		if tok.Audience == tok.Issuer || !tok.IsRoot() || !tok.ValidAt(in.Now) {
			return
		}
		if err := caps.Check(in); err != nil {
			t.Fatalf("decoded root token denied: %v", err)
		}
	})
}
