package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/cmd/korup2p/internal/httpapi"
)

// remoteBackend is a running daemon, through its HTTP API. The Client returns the
// root package's types, and errors that wrap its sentinels.
type remoteBackend struct {
	c *httpapi.Client
}

var _ backend = (*remoteBackend)(nil)

func newRemoteBackend(addr, token string) *remoteBackend {
	return &remoteBackend{c: httpapi.NewClient(addr, token)}
}

// pingAPI checks that a daemon's API answers at addr.
func pingAPI(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c := httpapi.NewClient(addr, "")
	defer c.Close()
	return c.Ping(ctx)
}

func (r *remoteBackend) Mode() string { return "daemon" }

func (r *remoteBackend) Close(ctx context.Context) error {
	r.c.Close()
	return nil
}

func (r *remoteBackend) Put(ctx context.Context, space, key string, value json.RawMessage) (korup2p.WriteResult, error) {
	return r.c.Put(ctx, space, key, value)
}

func (r *remoteBackend) Patch(ctx context.Context, space, key string, patch json.RawMessage) (korup2p.WriteResult, error) {
	return r.c.Patch(ctx, space, key, patch)
}

func (r *remoteBackend) Delete(ctx context.Context, space, key string) (korup2p.WriteResult, error) {
	return r.c.Delete(ctx, space, key)
}

func (r *remoteBackend) Batch(ctx context.Context, space string, ops []korup2p.Op) (korup2p.WriteResult, error) {
	return r.c.Batch(ctx, space, ops)
}

func (r *remoteBackend) Get(ctx context.Context, space, key string, at time.Time, heads []cid.Cid) (korup2p.Entry, error) {
	return r.c.Get(ctx, space, key, at, heads)
}

func (r *remoteBackend) History(ctx context.Context, space, key string, limit int) ([]korup2p.Version, error) {
	return r.c.History(ctx, space, key, limit)
}

func (r *remoteBackend) Diff(ctx context.Context, space, key string, from, to cid.Cid) ([]korup2p.Change, error) {
	return r.c.Diff(ctx, space, key, from, to)
}

func (r *remoteBackend) List(ctx context.Context, space, prefix, after string, limit int) ([]korup2p.Listed, error) {
	return r.c.List(ctx, space, prefix, after, limit)
}

func (r *remoteBackend) Query(ctx context.Context, space, namespace string, q korup2p.Query) (korup2p.QueryResult, error) {
	return r.c.Query(ctx, space, namespace, q)
}

func (r *remoteBackend) Watch(ctx context.Context, space, prefix string) (<-chan korup2p.Event, error) {
	return r.c.Watch(ctx, space, prefix)
}

func (r *remoteBackend) Spaces(ctx context.Context) ([]korup2p.SpaceInfo, error) {
	return r.c.Spaces(ctx)
}

func (r *remoteBackend) CreateSpace(ctx context.Context, name string, open bool) (korup2p.SpaceInfo, error) {
	return r.c.CreateSpace(ctx, name, open)
}

func (r *remoteBackend) Heads(ctx context.Context, space string) ([]cid.Cid, error) {
	return r.c.Heads(ctx, space)
}

func (r *remoteBackend) DAGLog(ctx context.Context, space string, limit int) ([]korup2p.DAGEntry, error) {
	return r.c.DAGLog(ctx, space, limit)
}

func (r *remoteBackend) DAGNode(ctx context.Context, space string, c cid.Cid) (json.RawMessage, error) {
	return r.c.DAGNode(ctx, space, c)
}

func (r *remoteBackend) Invite(ctx context.Context, space string, o korup2p.InviteOptions) (string, error) {
	return r.c.Invite(ctx, space, o)
}

// Grant, Revoke and Capabilities return the daemon's refusals as errors that
// match korup2p.ErrDenied and wrap a *caps.Denied with the reason, as a local
// Node's do.
func (r *remoteBackend) Grant(ctx context.Context, space string, g korup2p.Grant) (korup2p.Capability, error) {
	return r.c.Grant(ctx, space, g)
}

func (r *remoteBackend) Revoke(ctx context.Context, space string, id cid.Cid) (korup2p.RevocationInfo, error) {
	return r.c.Revoke(ctx, space, id)
}

func (r *remoteBackend) Capabilities(ctx context.Context, space string) ([]korup2p.Capability, error) {
	return r.c.Capabilities(ctx, space)
}

func (r *remoteBackend) Join(ctx context.Context, ticketOrName, as string) (korup2p.SpaceInfo, error) {
	return r.c.Join(ctx, ticketOrName, as)
}

// Export streams the file from the daemon; it counts no nodes, so progress is
// never called.
func (r *remoteBackend) Export(ctx context.Context, space string, w io.Writer, progress func(done, total int)) error {
	return r.c.Export(ctx, space, w)
}

func (r *remoteBackend) Import(ctx context.Context, rd io.Reader, as string) (korup2p.SpaceInfo, error) {
	return r.c.Import(ctx, rd, as)
}

func (r *remoteBackend) ID(ctx context.Context) (string, []string, error) { return r.c.ID(ctx) }

func (r *remoteBackend) Connect(ctx context.Context, addr string) (string, error) {
	return r.c.Connect(ctx, addr)
}

// apiPeer is one peer as GET /v1/peers answers it.
type apiPeer struct {
	PeerID      string         `json:"peer_id"`
	Addrs       []string       `json:"addrs"`
	LatencyMS   float64        `json:"latency_ms"` // 0: unknown
	Connected   bool           `json:"connected"`
	Score       float64        `json:"score"`
	BannedUntil string         `json:"banned_until"`
	Spaces      []peerSyncJSON `json:"spaces"` // the sync state per space
}

func (r *remoteBackend) Peers(ctx context.Context) ([]peerJSON, error) {
	raw, err := r.c.Peers(ctx)
	if err != nil {
		return nil, err
	}
	var ps []apiPeer
	if err := json.Unmarshal(raw, &ps); err != nil {
		return nil, fmt.Errorf("peers: the daemon's answer: %w", err)
	}
	out := make([]peerJSON, 0, len(ps))
	for _, p := range ps {
		pj := peerJSON{PeerID: p.PeerID, Addrs: p.Addrs, Connected: p.Connected, Score: p.Score, BannedUntil: p.BannedUntil,
			Spaces: []string{}, Sync: p.Spaces}
		if pj.Addrs == nil {
			pj.Addrs = []string{}
		}
		if pj.Sync == nil {
			pj.Sync = []peerSyncJSON{}
		}
		if p.LatencyMS > 0 {
			lat := p.LatencyMS
			pj.LatencyMS = &lat
		}
		for _, s := range p.Spaces {
			if s.Space != "" && s.Space != s.SpaceID {
				pj.Spaces = append(pj.Spaces, s.Space)
			}
		}
		out = append(out, pj)
	}
	return out, nil
}

// apiStatus is GET /v1/status.
type apiStatus struct {
	PeerID string   `json:"peer_id"`
	Addrs  []string `json:"addrs"`
	Spaces []struct {
		Name      string   `json:"name"`
		ID        string   `json:"id"`
		Open      bool     `json:"open"`
		Owner     string   `json:"owner"`
		Nodes     int      `json:"nodes"`
		Heads     []string `json:"heads"`
		Distilled *struct {
			Snapshot string   `json:"snapshot"`
			Heads    []string `json:"heads"`
			Clock    string   `json:"clock"`
		} `json:"distilled"`
	} `json:"spaces"`
	Storage struct {
		WALBytes     int64 `json:"wal_bytes"`
		WALSegments  int   `json:"wal_segments"`
		ColdSegments int   `json:"cold_segments"`
		IndexBytes   int64 `json:"index_bytes"`
		Nodes        int64 `json:"nodes"`
	} `json:"storage"`
	Hot      hotJSON `json:"hot"`
	BytesOut int64   `json:"bytes_out"`
	BytesIn  int64   `json:"bytes_in"`
}

// Status is the daemon's status, completed with its peers (for sync progress) and
// each space's key count (listed through the API), so that it has the shape of a
// local status.
func (r *remoteBackend) Status(ctx context.Context) (statusJSON, error) {
	raw, err := r.c.Status(ctx)
	if err != nil {
		return statusJSON{}, err
	}
	var st apiStatus
	if err := json.Unmarshal(raw, &st); err != nil {
		return statusJSON{}, fmt.Errorf("status: the daemon's answer: %w", err)
	}
	peers, err := r.Peers(ctx)
	if err != nil {
		return statusJSON{}, err
	}
	out := statusJSON{PeerID: st.PeerID, Mode: r.Mode(), Addrs: st.Addrs, Peers: peers, BytesIn: st.BytesIn, BytesOut: st.BytesOut,
		Spaces: []spaceStatusJSON{},
		Tiers: tiersJSON{Hot: st.Hot, WALBytes: st.Storage.WALBytes, WALSegments: st.Storage.WALSegments,
			ColdSegments: st.Storage.ColdSegments, IndexBytes: st.Storage.IndexBytes, Nodes: st.Storage.Nodes}}
	if out.Addrs == nil {
		out.Addrs = []string{}
	}
	for _, s := range st.Spaces {
		keys, err := r.c.List(ctx, s.Name, "", "", 0)
		if err != nil {
			return statusJSON{}, err
		}
		ss := spaceStatusJSON{spaceJSON: spaceJSON{Name: s.Name, ID: s.ID, Open: s.Open, Owner: s.Owner}, Heads: s.Heads,
			Nodes: s.Nodes, Keys: len(keys)}
		if ss.Heads == nil {
			ss.Heads = []string{}
		}
		if d := s.Distilled; d != nil {
			ss.Distilled = &cutJSON{Snapshot: d.Snapshot, Heads: d.Heads, Clock: d.Clock, Time: strings.SplitN(d.Clock, "+", 2)[0]}
		}
		ss.Sync = syncOf(ss.ID, peers)
		out.Spaces = append(out.Spaces, ss)
	}
	return out, nil
}
