package httpapi

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/caps"
	"github.com/korup2p/korup2p/dag"
)

// The wire types: the JSON bodies of the API. The server converts root values to
// them and the client converts them back; CIDs, peer IDs and clocks travel as
// strings. A json.RawMessage field with omitempty is left out when the root value
// is nil (absent: a delete) and is `null` when the value is JSON null.

type errorWire struct {
	Error  string `json:"error"`
	Code   string `json:"code"`
	Reason string `json:"reason,omitempty"`
	Token  string `json:"token,omitempty"` // denied: the capability token at fault, if any
}

type writeWire struct {
	Key     string `json:"key,omitempty"` // absent for a batch
	Version string `json:"version"`
	Clock   string `json:"clock"`
}

type entryWire struct {
	Key       string          `json:"key"`
	Value     json.RawMessage `json:"value"`
	Version   string          `json:"version"`
	Clock     string          `json:"clock"`
	Author    string          `json:"author"`
	Heads     []string        `json:"heads"`
	Conflicts []conflictWire  `json:"conflicts"`
}

type conflictWire struct {
	Path   []string        `json:"path"`
	Winner string          `json:"winner"`
	Value  json.RawMessage `json:"value,omitempty"` // absent if a delete won
	Losers []loserWire     `json:"losers"`
}

type loserWire struct {
	Version string          `json:"version"`
	Value   json.RawMessage `json:"value,omitempty"` // absent if the loser was a delete
}

type listedWire struct {
	Key     string `json:"key"`
	Version string `json:"version"`
}

type listWire struct {
	Keys []listedWire `json:"keys"`
	Next string       `json:"next"` // the last key when more may follow, else ""
}

type versionWire struct {
	Version   string          `json:"version"`
	Clock     string          `json:"clock"`
	Time      string          `json:"time"` // the clock's wall time, RFC 3339 with nanoseconds
	Author    string          `json:"author"`
	Kind      string          `json:"kind"`
	Value     json.RawMessage `json:"value,omitempty"` // absent after a delete
	Distilled bool            `json:"distilled"`
}

type changeWire struct {
	Path []string        `json:"path"`
	Kind string          `json:"kind"`
	Old  json.RawMessage `json:"old,omitempty"`
	New  json.RawMessage `json:"new,omitempty"`
}

type batchWire struct {
	Ops []opWire `json:"ops"`
}

type opWire struct {
	Op    string          `json:"op"` // put, patch or del
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value,omitempty"`
}

type queryWire struct {
	Namespace string         `json:"namespace"`
	Where     []filterWire   `json:"where,omitempty"`
	Sort      string         `json:"sort,omitempty"`
	Desc      bool           `json:"desc,omitempty"`
	Limit     int            `json:"limit,omitempty"`
	Aggregate *aggregateWire `json:"aggregate,omitempty"`
}

type filterWire struct {
	Field string          `json:"field"`
	Op    string          `json:"op"` // eq, ne, gt, gte, lt, lte, contains, exists, or = == != > >= < <=
	Value json.RawMessage `json:"value,omitempty"`
}

// aggregateWire sets exactly one aggregate; a field of "" or "." is the whole value.
type aggregateWire struct {
	Count bool    `json:"count,omitempty"`
	Sum   *string `json:"sum,omitempty"`
	Avg   *string `json:"avg,omitempty"`
	Min   *string `json:"min,omitempty"`
	Max   *string `json:"max,omitempty"`
}

type queryResultWire struct {
	Rows      []rowWire       `json:"rows"`
	Count     int             `json:"count"`
	Aggregate json.RawMessage `json:"aggregate,omitempty"`
}

type rowWire struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

type eventWire struct {
	Type    string          `json:"type"`
	Key     string          `json:"key,omitempty"`
	Version string          `json:"version,omitempty"`
	Value   json.RawMessage `json:"value,omitempty"` // absent for delete and overflow
	Missed  int             `json:"missed,omitempty"`
}

type spaceWire struct {
	Name  string `json:"name"`
	ID    string `json:"id"`
	Open  bool   `json:"open"`
	Owner string `json:"owner"` // "" for an open space
}

type createSpaceWire struct {
	Name string `json:"name"`
	Open bool   `json:"open"`
}

type inviteWire struct {
	Ticket string `json:"ticket"`
}

// inviteRequestWire is the optional body of POST .../invite; absent or {} is a
// read capability for anyone holding the ticket, over every key, forever.
type inviteRequestWire struct {
	Can     string   `json:"can,omitempty"`     // read (default), write or admin
	For     string   `json:"for,omitempty"`     // a peer ID; "" anyone holding the ticket
	Keys    []string `json:"keys,omitempty"`    // key patterns; default ["*"]
	Expires string   `json:"expires,omitempty"` // RFC 3339; "" never
}

// capWire is a capability token held in a space (korup2p.Capability).
type capWire struct {
	ID        string   `json:"id"`
	Issuer    string   `json:"issuer"`
	Audience  string   `json:"audience"`
	Can       string   `json:"can"` // read, write or admin
	Keys      []string `json:"keys"`
	NotBefore string   `json:"not_before,omitempty"` // RFC 3339; absent: since always
	Expires   string   `json:"expires,omitempty"`    // RFC 3339; absent: never
	Proof     string   `json:"proof,omitempty"`      // the parent token; absent for a root token
	Status    string   `json:"status"`               // "valid", or a caps reason (expired, revoked, ...)
	RevokedBy []string `json:"revoked_by"`
}

// grantWire is the body of POST .../caps (korup2p.Grant).
type grantWire struct {
	To        string   `json:"to"`
	Can       string   `json:"can"`
	Keys      []string `json:"keys,omitempty"`
	NotBefore string   `json:"not_before,omitempty"`
	Expires   string   `json:"expires,omitempty"`
}

// revocationWire answers DELETE .../caps/{cid} (korup2p.RevocationInfo).
type revocationWire struct {
	ID     string `json:"id"`
	Token  string `json:"token"`
	Issuer string `json:"issuer"`
}

// tokenRequestWire is the body of POST /v1/tokens.
type tokenRequestWire struct {
	Can     string   `json:"can"`
	Spaces  []string `json:"spaces,omitempty"`  // absent: the caller's spaces (every one for the master token)
	Expires string   `json:"expires,omitempty"` // RFC 3339; absent: the caller's expiry (never for the master token)
}

// tokenWire answers POST /v1/tokens.
type tokenWire struct {
	Token   string   `json:"token"`
	Can     string   `json:"can"`
	Spaces  []string `json:"spaces,omitempty"`  // absent: every space
	Expires string   `json:"expires,omitempty"` // absent: never
}

// tokenRevokedWire answers DELETE /v1/tokens/{id}.
type tokenRevokedWire struct {
	ID      string `json:"id"`              // the token ID, in canonical form
	Already bool   `json:"already_revoked"` // it was revoked before
}

type joinWire struct {
	Ticket string `json:"ticket"`       // an invite ticket, or an open space's name
	As     string `json:"as,omitempty"` // the local name; default the ticket's
}

type dagNodeWire struct {
	CID       string      `json:"cid"`
	Space     string      `json:"space"` // "" for a genesis node
	Parents   []string    `json:"parents"`
	Height    uint64      `json:"height"`
	Clock     string      `json:"clock"`
	Author    string      `json:"author"`
	Ops       []dagOpWire `json:"ops"`
	Distilled bool        `json:"distilled"`
}

type dagEntryWire struct {
	CID       string   `json:"cid"`
	Parents   []string `json:"parents"`
	Height    uint64   `json:"height"`
	Clock     string   `json:"clock"`
	Author    string   `json:"author"`
	Keys      []string `json:"keys"`
	Distilled bool     `json:"distilled"`
}

type dagOpWire struct {
	Key   string          `json:"key"`
	Kind  string          `json:"kind"`
	Prev  []string        `json:"prev"`
	Value json.RawMessage `json:"value,omitempty"` // absent for del
}

type peerWire struct {
	PeerID      string          `json:"peer_id"`
	Addrs       []string        `json:"addrs"`
	LatencyMS   float64         `json:"latency_ms"` // the measured round trip; 0: not measured
	Connected   bool            `json:"connected"`
	Score       float64         `json:"score"`                  // misbehaviour score now
	BannedUntil string          `json:"banned_until,omitempty"` // RFC 3339, while refused
	Spaces      []peerSpaceWire `json:"spaces"`
}

type peerSpaceWire struct {
	Space         string `json:"space"` // the space's local name; its ID if not held here
	SpaceID       string `json:"space_id"`
	InSync        bool   `json:"in_sync"`
	Behind        int    `json:"behind"`
	Ahead         int    `json:"ahead"`
	LastSync      string `json:"last_sync"` // RFC 3339; "" if never
	LastError     string `json:"last_error,omitempty"`
	Sessions      int    `json:"sessions"`
	BytesSent     int64  `json:"bytes_sent"`
	BytesReceived int64  `json:"bytes_received"`
	NodesSent     int64  `json:"nodes_sent"`
	NodesReceived int64  `json:"nodes_received"`
}

type connectWire struct {
	Addr string `json:"addr"`
}

type idWire struct {
	PeerID string   `json:"peer_id"`
	Addrs  []string `json:"addrs"`
}

type statusWire struct {
	PeerID   string            `json:"peer_id"`
	Addrs    []string          `json:"addrs"`
	Spaces   []spaceStatusWire `json:"spaces"`
	Storage  storageWire       `json:"storage"`
	Hot      hotWire           `json:"hot"`
	Peers    int               `json:"peers"` // connected now
	BytesOut int64             `json:"bytes_out"`
	BytesIn  int64             `json:"bytes_in"`
}

// spaceStatusWire has no key count: the root offers none that is cheap.
type spaceStatusWire struct {
	Name      string   `json:"name"`
	ID        string   `json:"id"`
	Open      bool     `json:"open"`
	Owner     string   `json:"owner"`
	Nodes     int      `json:"nodes"`
	Heads     []string `json:"heads"`
	Distilled *cutWire `json:"distilled"` // null while the space keeps all its history
}

type cutWire struct {
	Snapshot string   `json:"snapshot"`
	Heads    []string `json:"heads"`
	Clock    string   `json:"clock"`
}

type storageWire struct {
	WALBytes     int64 `json:"wal_bytes"`
	WALSegments  int   `json:"wal_segments"`
	ColdSegments int   `json:"cold_segments"`
	IndexBytes   int64 `json:"index_bytes"`
	Nodes        int64 `json:"nodes"`
	CacheEntries int   `json:"cache_entries"`
	CacheBytes   int64 `json:"cache_bytes"`
	Replayed     int64 `json:"replayed"`
}

type hotWire struct {
	Entries   int    `json:"entries"`
	Bytes     int64  `json:"bytes"`
	Budget    int64  `json:"budget"`
	Evictions uint64 `json:"evictions"`
}

// --- root → wire ---

func cidStrings(cs []cid.Cid) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.String()
	}
	return out
}

// cidString is c's string, "" for cid.Undef (whose String is "b").
func cidString(c cid.Cid) string {
	if !c.Defined() {
		return ""
	}
	return c.String()
}

func peerString(p peer.ID) string {
	if p == "" {
		return ""
	}
	return p.String()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func toWrite(key string, r korup2p.WriteResult) writeWire {
	return writeWire{Key: key, Version: r.Version.String(), Clock: r.Clock.String()}
}

func toEntry(e korup2p.Entry) entryWire {
	w := entryWire{Key: e.Key, Value: e.Value, Version: e.Version.String(), Clock: e.Clock.String(),
		Author: peerString(e.Author), Heads: cidStrings(e.Heads), Conflicts: make([]conflictWire, len(e.Conflicts))}
	for i, c := range e.Conflicts {
		cw := conflictWire{Path: nonNil(c.Path), Winner: cidString(c.Winner), Value: c.Value, Losers: make([]loserWire, len(c.Losers))}
		for j, l := range c.Losers {
			cw.Losers[j] = loserWire{Version: cidString(l.Version), Value: l.Value}
		}
		w.Conflicts[i] = cw
	}
	return w
}

func toVersion(v korup2p.Version) versionWire {
	return versionWire{Version: v.Version.String(), Clock: v.Clock.String(), Time: v.Clock.Time().Format(time.RFC3339Nano),
		Author: peerString(v.Author), Kind: string(v.Kind), Value: v.Value, Distilled: v.Distilled}
}

func toChange(c korup2p.Change) changeWire {
	return changeWire{Path: nonNil(c.Path), Kind: c.Kind, Old: c.Old, New: c.New}
}

func toSpace(s korup2p.SpaceInfo) spaceWire {
	return spaceWire{Name: s.Name, ID: s.ID.String(), Open: s.Open, Owner: peerString(s.Owner)}
}

func toEvent(ev korup2p.Event) eventWire {
	w := eventWire{Type: string(ev.Type), Key: ev.Key, Value: ev.Value, Missed: ev.Missed}
	if ev.Version.Defined() {
		w.Version = ev.Version.String()
	}
	return w
}

// wireTime is t in RFC 3339 with nanoseconds (UTC), "" for the zero time.
func wireTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func toCap(c korup2p.Capability) capWire {
	w := capWire{ID: cidString(c.ID), Issuer: peerString(c.Issuer), Audience: peerString(c.Audience), Keys: nonNil(c.Keys),
		NotBefore: wireTime(c.NotBefore), Expires: wireTime(c.Expiry), Proof: cidString(c.Proof), Status: string(c.Status),
		RevokedBy: cidStrings(c.RevokedBy)}
	if c.Ability.Valid() {
		w.Can = c.Ability.String()
	}
	return w
}

func toRevocation(r korup2p.RevocationInfo) revocationWire {
	return revocationWire{ID: cidString(r.ID), Token: cidString(r.Token), Issuer: peerString(r.Issuer)}
}

// --- wire → root ---

// parseWireTime parses an RFC 3339 time of a request body; "" is the zero time.
func parseWireTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, badRequest(ReasonRequest, "%s %q: want RFC 3339 (2006-01-02T15:04:05Z)", field, s)
	}
	return t, nil
}

// parseClock parses dag.Timestamp.String: RFC 3339 in UTC with nanoseconds, then
// "+N" when the logical counter is set.
func parseClock(s string) (dag.Timestamp, error) {
	z := strings.LastIndexByte(s, 'Z')
	if z < 0 {
		return dag.Timestamp{}, fmt.Errorf("clock %q: not RFC 3339 in UTC", s)
	}
	t, err := time.Parse(time.RFC3339Nano, s[:z+1])
	if err != nil {
		return dag.Timestamp{}, fmt.Errorf("clock %q: %v", s, err)
	}
	ts := dag.Timestamp{Wall: t.UnixNano()}
	if rest := s[z+1:]; rest != "" {
		l, err := strconv.ParseUint(strings.TrimPrefix(rest, "+"), 10, 32)
		if err != nil || rest[0] != '+' {
			return dag.Timestamp{}, fmt.Errorf("clock %q: bad logical counter", s)
		}
		ts.Logical = uint32(l)
	}
	return ts, nil
}

// decoder collects the first error of a run of conversions.
type decoder struct{ err error }

func (d *decoder) cid(s string) cid.Cid {
	if s == "" || d.err != nil {
		return cid.Undef
	}
	c, err := cid.Decode(s)
	if err != nil {
		d.err = fmt.Errorf("bad CID %q in the daemon's answer: %v", s, err)
	}
	return c
}

func (d *decoder) cids(ss []string) []cid.Cid {
	if ss == nil {
		return nil
	}
	out := make([]cid.Cid, len(ss))
	for i, s := range ss {
		out[i] = d.cid(s)
	}
	return out
}

func (d *decoder) peer(s string) peer.ID {
	if s == "" || d.err != nil {
		return ""
	}
	p, err := peer.Decode(s)
	if err != nil {
		d.err = fmt.Errorf("bad peer ID %q in the daemon's answer: %v", s, err)
	}
	return p
}

func (d *decoder) clock(s string) dag.Timestamp {
	if d.err != nil {
		return dag.Timestamp{}
	}
	ts, err := parseClock(s)
	if err != nil {
		d.err = fmt.Errorf("daemon's answer: %v", err)
	}
	return ts
}

func (d *decoder) write(w writeWire) korup2p.WriteResult {
	return korup2p.WriteResult{Version: d.cid(w.Version), Clock: d.clock(w.Clock)}
}

func (d *decoder) entry(w entryWire) korup2p.Entry {
	e := korup2p.Entry{Key: w.Key, Value: w.Value, Version: d.cid(w.Version), Clock: d.clock(w.Clock),
		Author: d.peer(w.Author), Heads: d.cids(w.Heads)}
	for _, cw := range w.Conflicts {
		c := korup2p.Conflict{Path: pathOf(cw.Path), Winner: d.cid(cw.Winner), Value: cw.Value}
		for _, l := range cw.Losers {
			c.Losers = append(c.Losers, korup2p.LosingValue{Version: d.cid(l.Version), Value: l.Value})
		}
		e.Conflicts = append(e.Conflicts, c)
	}
	return e
}

// pathOf is nil for the whole value, as the root package gives it.
func pathOf(p []string) []string {
	if len(p) == 0 {
		return nil
	}
	return p
}

func (d *decoder) version(w versionWire) korup2p.Version {
	return korup2p.Version{Version: d.cid(w.Version), Clock: d.clock(w.Clock), Author: d.peer(w.Author),
		Kind: dag.Kind(w.Kind), Value: w.Value, Distilled: w.Distilled}
}

func (d *decoder) space(w spaceWire) korup2p.SpaceInfo {
	return korup2p.SpaceInfo{Name: w.Name, ID: d.cid(w.ID), Open: w.Open, Owner: d.peer(w.Owner)}
}

func (d *decoder) time(s string) time.Time {
	if s == "" || d.err != nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d.err = fmt.Errorf("bad time %q in the daemon's answer: %v", s, err)
	}
	return t
}

func (d *decoder) ability(s string) caps.Ability {
	if d.err != nil {
		return 0
	}
	a, err := caps.ParseAbility(s)
	if err != nil {
		d.err = fmt.Errorf("daemon's answer: %v", err)
	}
	return a
}

func (d *decoder) capability(w capWire) korup2p.Capability {
	return korup2p.Capability{ID: d.cid(w.ID), Issuer: d.peer(w.Issuer), Audience: d.peer(w.Audience), Ability: d.ability(w.Can),
		Keys: w.Keys, NotBefore: d.time(w.NotBefore), Expiry: d.time(w.Expires), Proof: d.cid(w.Proof),
		Status: caps.Reason(w.Status), RevokedBy: d.cids(w.RevokedBy)}
}

func (d *decoder) revocation(w revocationWire) korup2p.RevocationInfo {
	return korup2p.RevocationInfo{ID: d.cid(w.ID), Token: d.cid(w.Token), Issuer: d.peer(w.Issuer)}
}

func (d *decoder) event(space string, w eventWire) korup2p.Event {
	return korup2p.Event{Type: korup2p.EventType(w.Type), Space: space, Key: w.Key, Version: d.cid(w.Version),
		Value: w.Value, Missed: w.Missed}
}
