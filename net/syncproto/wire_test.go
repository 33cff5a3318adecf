package syncproto

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-varint"

	"github.com/korup2p/korup2p/distinctions"
)

type cidT = cid.Cid

func sampleMessages() []struct {
	t msgType
	v any
} {
	snap := linkOf(testCID(9))
	return []struct {
		t msgType
		v any
	}{
		{msgHello, &helloMsg{V: 1, Space: linkOf(testCID(1)), Heads: toLinks([]cidT{testCID(2), testCID(3)}), Count: 42, Snap: &snap, Cut: toLinks([]cidT{testCID(4)}), NeedSnap: true}},
		{msgHello, &helloMsg{V: 1, Space: linkOf(testCID(1))}},
		{msgRecon, &reconMsg{Ranges: rangesToWire(NewSet(testItems(100, 3)).Initial(DefaultParams)), Want: toLinks([]cidT{testCID(5)}), More: true}},
		{msgRecon, &reconMsg{Ranges: rangesToWire([]Range{{Upper: Bound{Height: 3, Prefix: "\x01q"}, Mode: ModeSkip}, {Upper: InfBound, Mode: ModeIDList, IDs: []cidT{testCID(6)}}})}},
		{msgRecon, &reconMsg{}},
		{msgBlocks, &blocksMsg{Blocks: [][]byte{{1, 2, 3}, {4}}, Left: 7}},
		{msgDone, &headsMsg{Heads: toLinks([]cidT{testCID(2)})}},
		{msgBye, &headsMsg{}},
		{msgRefuse, &refuseMsg{Code: RefuseBusy, Reason: "later"}},
		{msgSnapGet, &snapGetMsg{Root: snap}},
		{msgSnapBlocks, &snapBlocksMsg{Blocks: [][]byte{{9}}, End: true}},
	}
}

func frame(t testing.TB, typ msgType, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	c := newConn(&buf)
	if err := c.send(typ, v); err != nil {
		t.Fatal(err)
	}
	if err := c.flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestMessagesRoundTrip(t *testing.T) {
	var stream bytes.Buffer
	msgs := sampleMessages()
	for _, m := range msgs {
		stream.Write(frame(t, m.t, m.v))
	}
	total := int64(stream.Len())
	c := newConn(&stream)
	for i, m := range msgs {
		in := c.read()
		if in.err != nil || in.t != m.t {
			t.Fatalf("message %d: %v, %s; want %s", i, in.err, in.t, m.t)
		}
		want := m.v
		if rm, ok := m.v.(*reconMsg); ok {
			rs, err := rangesFromWire(rm.Ranges)
			if err != nil {
				t.Fatal(err)
			}
			want = &reconIn{Ranges: rs, Want: fromLinks(rm.Want), Offer: fromLinks(rm.Offer), More: rm.More}
		}
		if !reflect.DeepEqual(normalize(in.v), normalize(want)) {
			t.Errorf("message %d: got %+v, want %+v", i, in.v, want)
		}
	}
	if in := c.read(); !errors.Is(in.err, io.EOF) {
		t.Errorf("after the last message: %v, want EOF", in.err)
	}
	if c.recv != total {
		t.Errorf("counted %d bytes received, want %d", c.recv, total)
	}
}

// normalize re-encodes a message so that nil and empty slices compare equal.
func normalize(v any) any {
	if r, ok := v.(*reconIn); ok {
		for i := range r.Ranges {
			if len(r.Ranges[i].IDs) == 0 {
				r.Ranges[i].IDs = nil
			}
		}
		return r
	}
	b, err := distinctions.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestReadRejects(t *testing.T) {
	hello := frame(t, msgHello, &helloMsg{V: 1, Space: linkOf(testCID(1))})
	body := hello[1+2:] // after a 1-byte length, the array head and the type
	withType := func(typ byte, body []byte) []byte {
		b := append(varint.ToUvarint(uint64(len(body)+2)), 0x82, typ)
		return append(b, body...)
	}
	notCanonical := []byte{0xa2, 0x61, 'v', 0x01, 0x65, 's', 'p', 'a', 'c', 'e', 0x40} // keys unsorted and bad link
	for name, data := range map[string][]byte{
		"too large":          varint.ToUvarint(MaxMessageSize + 1),
		"too short":          {0x01, 0x82},
		"not an array":       {0x03, 0xa1, 0x01, 0x02},
		"unknown type":       withType(99, body),
		"type zero":          withType(0, body),
		"wrong body":         withType(byte(msgSnapGet), body),
		"not canonical":      withType(byte(msgHello), notCanonical),
		"trailing bytes":     withType(byte(msgHello), append(bytes.Clone(body), 0x00)),
		"non-minimal varint": {0x83, 0x00},
		"empty blocks":       frame(t, msgBlocks, &blocksMsg{}),
		"too many blocks":    frame(t, msgBlocks, &blocksMsg{Blocks: make([][]byte, MaxBlocks+1)}),
		"bad ranges":         frame(t, msgRecon, &reconMsg{Ranges: []wireRange{{Mode: 1, Height: 3}, {Mode: 1, Height: 2}}}),
		"bad fingerprint":    frame(t, msgRecon, &reconMsg{Ranges: []wireRange{{Mode: 1, Height: 3, FP: []byte{1}}}}),
		"cut without snap":   frame(t, msgHello, &helloMsg{V: 1, Space: linkOf(testCID(1)), Cut: toLinks([]cidT{testCID(2)})}),
	} {
		in := newConn(bytes.NewBuffer(data)).read()
		if !errors.Is(in.err, ErrProtocol) {
			t.Errorf("%s: read = %v, want ErrProtocol", name, in.err)
		}
	}
	// A stream that ends mid-message is an IO error, not a violation.
	in := newConn(bytes.NewBuffer(hello[:len(hello)-1])).read()
	if !errors.Is(in.err, io.ErrUnexpectedEOF) || errors.Is(in.err, ErrProtocol) {
		t.Errorf("truncated: %v, want ErrUnexpectedEOF", in.err)
	}
}

func TestSnapshotLinks(t *testing.T) {
	prev := linkOf(testCID(7))
	d, err := distinctions.Encode(fakeSnapRoot{V: 1, Prev: &prev, Chunks: toLinks([]cidT{testCID(1), testCID(2)}), Cut: []fakeHead{{C: linkOf(testCID(3)), Author: []byte("x")}}})
	if err != nil {
		t.Fatal(err)
	}
	chunks, p, err := snapshotLinks(d.Bytes)
	if err != nil || len(chunks) != 2 || !chunks[1].Equals(testCID(2)) || !p.Equals(testCID(7)) {
		t.Fatalf("snapshotLinks = %v, %v, %v", chunks, p, err)
	}
	if _, _, err := snapshotLinks([]byte{0xa1, 0x61, 'x'}); err == nil {
		t.Error("snapshotLinks accepted a malformed root")
	}
}

func FuzzReadMessage(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(frame(f, m.t, m.v))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := newConn(bytes.NewBuffer(data))
		for range 4 {
			in := c.read()
			if in.err != nil {
				return
			}
			if in.v == nil {
				t.Fatalf("%s message decoded to nil", in.t)
			}
			if r, ok := in.v.(*reconIn); ok {
				if err := CheckRanges(r.Ranges); err != nil {
					t.Fatalf("accepted ranges that fail CheckRanges: %v", err)
				}
				_, _ = NewSet(testItems(100, 3)).Reconcile(r.Ranges, DefaultParams)
			}
		}
	})
}
