package tiers

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/dag/dagtest"
)

// chain opens a DB in dir and writes a genesis and n nodes into one space.
func chain(t *testing.T, dir string, n int) (*DB, dag.Store, *dag.Node) {
	t.Helper()
	db, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := dag.NewOpenGenesis("internal")
	if err != nil {
		t.Fatal(err)
	}
	st, _ := db.Space(g)
	if err := st.PutVerified(g); err != nil {
		t.Fatal(err)
	}
	a := dagtest.NewAuthor(1)
	for i := range n {
		if _, err := a.Write(st, g.CID(), dagtest.Set(fmt.Sprintf("k/%d", i%3), fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	return db, st, g
}

// TestCheckpointBehindIndex: a crash may leave the checkpoint behind entries that
// reached the index (they share batches, but test the worst case): Open re-indexes
// the tail idempotently.
func TestCheckpointBehindIndex(t *testing.T) {
	dir := t.TempDir()
	db, st, _ := chain(t, dir, 10)
	early, err := db.index.Get(db.ctx, dsKey(keyCkpt))
	if err != nil {
		t.Fatal(err)
	}
	a := dagtest.NewAuthor(2)
	for i := range 7 {
		if _, err := a.Write(st, st.(*store).k.id, dagtest.Set("k/x", fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.index.Put(db.ctx, dsKey(keyCkpt), early); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.Stats().Replayed; got != 7 {
		t.Errorf("replayed %d records, want 7", got)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	if n := db.Stats().Nodes; n != 18 {
		t.Errorf("Nodes = %d, want 18", n)
	}
}

func TestCheckFindsDamage(t *testing.T) {
	db, st, g := chain(t, t.TempDir(), 12)
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	k := st.(*store).k
	heads, _ := st.Heads()
	hist, _ := st.KeyHistory("k/0")
	ctx := db.ctx
	for _, err := range []error{
		db.index.Delete(ctx, dsKey(k.head(heads[0]))),
		db.index.Put(ctx, dsKey(k.khead("k/1", g.CID())), nil),
		db.index.Put(ctx, dsKey(k.count()), encodeCount(99)),
		db.index.Delete(ctx, dsKey(k.key("k/2"))),
		db.index.Put(ctx, dsKey(k.node(hist[0])), encodeEntry(entryOf(t, st, hist[1]))),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	err := db.Check()
	if !errors.Is(err, ErrCorruptIndex) {
		t.Fatalf("Check of a damaged index: %v", err)
	}
	for _, want := range []string{"heads: missing", "key-heads: unexpected", "count is 99", "keys: missing", "record at"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Check did not report %q:\n%v", want, err)
		}
	}
	db.resetCache()
	if _, err := st.Get(hist[0]); !errors.Is(err, ErrCorruptIndex) {
		t.Errorf("Get through a wrong position: %v, want ErrCorruptIndex", err)
	}
	if err := db.Repair(nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(); err != nil {
		t.Fatalf("Check after Repair: %v", err)
	}
}

// entryOf returns the index entry of c in st's space.
func entryOf(t *testing.T, st dag.Store, c cid.Cid) entry {
	t.Helper()
	s := st.(*store)
	b, err := s.db.index.Get(s.db.ctx, dsKey(s.k.node(c)))
	if err != nil {
		t.Fatal(err)
	}
	e, err := decodeEntry(b)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// FuzzKeyEncoding checks what Keys and the histories rely on: the encoding of user
// keys keeps their order and their prefixes, decodes back, and never lets one key's
// lists run into another's.
func FuzzKeyEncoding(f *testing.F) {
	for _, k := range []string{"a/../b", "a//b", "a/b", "ns/ü", "ns/x y", "", "\xff", "a/\x00"} {
		f.Add(k, "a/b")
	}
	g, err := dag.NewOpenGenesis("fuzz")
	if err != nil {
		f.Fatal(err)
	}
	k := newSpaceKeys(g.CID())
	f.Fuzz(func(t *testing.T, a, b string) {
		ka, kb := k.key(a), k.key(b)
		if cmp.Compare(a, b) != cmp.Compare(ka, kb) {
			t.Errorf("order of %q, %q not kept: %q, %q", a, b, ka, kb)
		}
		if strings.HasPrefix(b, a) != strings.HasPrefix(kb, k.keyPrefix()+hexs([]byte(a))) {
			t.Errorf("prefix relation of %q, %q not kept", a, b)
		}
		if got, err := hexString([]byte(ka), k.keyPrefix()); got != a || err != nil {
			t.Errorf("decoded %q as %q, %v", a, got, err)
		}
		for _, p := range []func(string) string{k.histPrefix, k.kheadPrefix} {
			if a != b && strings.HasPrefix(p(b), p(a)) {
				t.Errorf("the list of %q holds that of %q: %q", a, b, p(b))
			}
		}
	})
}

// TestIndexOfAnotherVersion: an index written in another format (version 1 named
// spaces by their whole ID) is rebuilt from the WAL on Open.
func TestIndexOfAnotherVersion(t *testing.T) {
	dir := t.TempDir()
	db, _, g := chain(t, dir, 10)
	if err := db.index.Put(db.ctx, dsKey(keyVersion), []byte("1")); err != nil {
		t.Fatal(err)
	}
	db.Close()

	var warned []string
	db, err := Open(dir, &Options{Warn: func(msg string, _ ...any) { warned = append(warned, msg) }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if !slices.ContainsFunc(warned, func(m string) bool { return strings.Contains(m, "index of another version") }) {
		t.Errorf("no warning of a rebuild: %q", warned)
	}
	if got := db.Stats().Replayed; got != 11 {
		t.Errorf("replayed %d records, want 11", got)
	}
	if v, err := db.index.Get(db.ctx, dsKey(keyVersion)); err != nil || string(v) != indexVersion {
		t.Errorf("version after the rebuild %q, %v", v, err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	st, err := db.Space(g)
	if err != nil {
		t.Fatal(err)
	}
	if heads, err := st.Heads(); err != nil || len(heads) != 1 {
		t.Errorf("heads after the rebuild %v, %v", heads, err)
	}
}

// TestSpacePrefixTaken: a space whose index prefix another space of the index has
// is refused, not mixed into that space's keys.
func TestSpacePrefixTaken(t *testing.T) {
	db, _, g := chain(t, t.TempDir(), 1)
	defer db.Close()
	k := newSpaceKeys(g.CID())
	if len(k.base) != len(keySpace)+2*spacePrefixBytes {
		t.Fatalf("space keys under %q: want a %d-byte prefix", k.base, spacePrefixBytes)
	}
	// The same digest under another codec: another space ID, the same prefix.
	twin := cid.NewCidV1(cid.Raw, g.CID().Hash())
	if newSpaceKeys(twin).base != k.base {
		t.Fatal("the twin has another prefix")
	}
	if err := db.index.Put(db.ctx, dsKey(keySpaces+hexs(twin.Bytes())), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Space(g); err == nil || !strings.Contains(err.Error(), "is taken by space "+twin.String()) {
		t.Fatalf("Space of a taken prefix: %v", err)
	}
	other, err := dag.NewOpenGenesis("another")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Space(other); err != nil {
		t.Fatalf("Space of another prefix: %v", err)
	}
}
