package main

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p"
)

// localBackend is the store opened directly by this process (no daemon running). It
// has no network: id shows no addresses, peers none, and connect fails.
type localBackend struct {
	n *korup2p.Node
}

var _ backend = (*localBackend)(nil)

func (l *localBackend) Mode() string { return "local" }

func (l *localBackend) Close(ctx context.Context) error { return l.n.Close(ctx) }

func (l *localBackend) Put(ctx context.Context, space, key string, value json.RawMessage) (korup2p.WriteResult, error) {
	return l.n.Put(ctx, space, key, value)
}

func (l *localBackend) Patch(ctx context.Context, space, key string, patch json.RawMessage) (korup2p.WriteResult, error) {
	return l.n.Patch(ctx, space, key, patch)
}

func (l *localBackend) Delete(ctx context.Context, space, key string) (korup2p.WriteResult, error) {
	return l.n.Delete(ctx, space, key)
}

func (l *localBackend) Batch(ctx context.Context, space string, ops []korup2p.Op) (korup2p.WriteResult, error) {
	return l.n.Batch(ctx, space, ops)
}

func (l *localBackend) Get(ctx context.Context, space, key string, at time.Time, heads []cid.Cid) (korup2p.Entry, error) {
	switch {
	case !at.IsZero():
		return l.n.GetAt(ctx, space, key, at)
	case len(heads) > 0:
		return l.n.GetAsOf(ctx, space, key, heads)
	}
	return l.n.Get(ctx, space, key)
}

func (l *localBackend) History(ctx context.Context, space, key string, limit int) ([]korup2p.Version, error) {
	h, err := l.n.History(ctx, space, key)
	if err != nil {
		return nil, err
	}
	if limit > 0 && len(h) > limit {
		h = h[len(h)-limit:]
	}
	return h, nil
}

func (l *localBackend) Diff(ctx context.Context, space, key string, from, to cid.Cid) ([]korup2p.Change, error) {
	return l.n.Diff(ctx, space, key, from, to)
}

func (l *localBackend) List(ctx context.Context, space, prefix, after string, limit int) ([]korup2p.Listed, error) {
	return l.n.List(ctx, space, prefix, after, limit)
}

func (l *localBackend) Query(ctx context.Context, space, namespace string, q korup2p.Query) (korup2p.QueryResult, error) {
	return l.n.Query(ctx, space, namespace, q)
}

// Watch subscribes on the Node itself; the subscription ends with ctx.
func (l *localBackend) Watch(ctx context.Context, space, prefix string) (<-chan korup2p.Event, error) {
	sub, err := l.n.Subscribe(space, prefix, 0)
	if err != nil {
		return nil, err
	}
	context.AfterFunc(ctx, sub.Cancel)
	return sub.C, nil
}

func (l *localBackend) Spaces(ctx context.Context) ([]korup2p.SpaceInfo, error) {
	return l.n.Spaces(), nil
}

func (l *localBackend) CreateSpace(ctx context.Context, name string, open bool) (korup2p.SpaceInfo, error) {
	return l.n.CreateSpace(name, open)
}

func (l *localBackend) Heads(ctx context.Context, space string) ([]cid.Cid, error) {
	return l.n.Heads(space)
}

func (l *localBackend) DAGLog(ctx context.Context, space string, limit int) ([]korup2p.DAGEntry, error) {
	return l.n.DAGLog(ctx, space, limit)
}

func (l *localBackend) DAGNode(ctx context.Context, space string, c cid.Cid) (json.RawMessage, error) {
	nd, err := l.n.DAGNode(ctx, space, c)
	if err != nil {
		return nil, err
	}
	return json.Marshal(nodeOf(nd))
}

// Invite makes a ticket without addresses: with the store opened directly, this
// process is no peer to reach.
func (l *localBackend) Invite(ctx context.Context, space string, o korup2p.InviteOptions) (string, error) {
	return l.n.Invite(ctx, space, o)
}

func (l *localBackend) Grant(ctx context.Context, space string, g korup2p.Grant) (korup2p.Capability, error) {
	return l.n.Grant(ctx, space, g)
}

func (l *localBackend) Revoke(ctx context.Context, space string, id cid.Cid) (korup2p.RevocationInfo, error) {
	return l.n.Revoke(ctx, space, id)
}

func (l *localBackend) Capabilities(ctx context.Context, space string) ([]korup2p.Capability, error) {
	return l.n.Capabilities(space)
}

// Join adds the space without connecting to anyone: it syncs once a daemon runs
// and reaches a peer holding it.
func (l *localBackend) Join(ctx context.Context, ticketOrName, as string) (korup2p.SpaceInfo, error) {
	return l.n.Join(ctx, ticketOrName, as)
}

func (l *localBackend) Export(ctx context.Context, space string, w io.Writer, progress func(done, total int)) error {
	return l.n.Export(ctx, space, w, progress)
}

func (l *localBackend) Import(ctx context.Context, r io.Reader, as string) (korup2p.SpaceInfo, error) {
	return l.n.Import(ctx, r, as, nil)
}

func (l *localBackend) ID(ctx context.Context) (string, []string, error) {
	return l.n.ID().String(), l.n.Addrs(), nil
}

func (l *localBackend) Peers(ctx context.Context) ([]peerJSON, error) {
	return peersOf(l.n.NetworkStats(), l.n.Spaces()), nil
}

func (l *localBackend) Connect(ctx context.Context, addr string) (string, error) {
	p, err := l.n.Connect(ctx, addr)
	if err != nil {
		return "", err
	}
	return p.String(), nil
}

func (l *localBackend) Status(ctx context.Context) (statusJSON, error) {
	return statusOf(ctx, l.n, "local")
}
