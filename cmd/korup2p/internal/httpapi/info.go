package httpapi

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/distinctions"
)

func (s *server) handleHeads(w http.ResponseWriter, r *http.Request) {
	space, err := s.space(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	heads, err := s.n.Heads(space)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.m.read("heads")
	s.writeJSON(w, http.StatusOK, cidStrings(heads))
}

func (s *server) handleDAGLog(w http.ResponseWriter, r *http.Request) {
	space, err := s.space(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	limit, err := intParam(r, "limit", 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	log, err := s.n.DAGLog(r.Context(), space, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]dagEntryWire, len(log))
	for i, e := range log {
		out[i] = dagEntryWire{CID: e.CID.String(), Parents: cidStrings(e.Parents), Height: e.Height, Clock: e.Clock.String(),
			Author: peerString(e.Author), Keys: nonNil(e.Keys), Distilled: e.Distilled}
	}
	s.m.read("dag_log")
	s.writeJSON(w, http.StatusOK, out)
}

func (s *server) handleDAGNode(w http.ResponseWriter, r *http.Request) {
	space, err := s.space(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := cid.Decode(r.PathValue("cid"))
	if err != nil {
		s.fail(w, r, badRequest(ReasonRequest, "node %q: not a CID: %v", r.PathValue("cid"), err))
		return
	}
	nd, err := s.n.DAGNode(r.Context(), space, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := toDAGNode(nd)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.m.read("dag_node")
	s.writeJSON(w, http.StatusOK, out)
}

func toDAGNode(nd *dag.Node) (dagNodeWire, error) {
	out := dagNodeWire{CID: nd.CID().String(), Space: cidString(nd.Space), Parents: cidStrings(nd.Parents), Height: nd.Height,
		Clock: nd.Clock.String(), Author: peerString(nd.Author), Ops: make([]dagOpWire, len(nd.Ops)), Distilled: nd.IsDistilled()}
	for i, op := range nd.Ops {
		ow := dagOpWire{Key: op.Key, Kind: string(op.Kind), Prev: cidStrings(op.Prev)}
		if op.Value != nil {
			v, err := distinctions.DecodeValue(op.Value, distinctions.Limits{MaxBytes: max(len(op.Value), distinctions.DefaultLimits.MaxBytes)})
			if err == nil {
				ow.Value, err = distinctions.FormatJSON(v)
			}
			if err != nil {
				return dagNodeWire{}, fmt.Errorf("node %s: op %s: %w", nd.CID(), op.Key, err)
			}
		}
		out.Ops[i] = ow
	}
	return out, nil
}

func (s *server) handleID(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, http.StatusOK, idWire{PeerID: s.n.ID().String(), Addrs: nonNil(s.n.Addrs())})
}

func (s *server) handleConnect(w http.ResponseWriter, r *http.Request) {
	var req connectWire
	if err := s.decodeBody(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if strings.TrimSpace(req.Addr) == "" {
		s.fail(w, r, badRequest(ReasonPeerAddress, "connect: no addr (want /ip4/…/tcp/…/p2p/<peer ID>)"))
		return
	}
	p, err := s.n.Connect(r.Context(), req.Addr)
	if err != nil {
		status, _, _ := classify(err)
		if status == http.StatusInternalServerError { // a dial that failed
			err = &requestError{status: http.StatusBadGateway, code: CodeUnreachable, msg: err.Error()}
		}
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, idWire{PeerID: p.String()})
}

// spaceNames maps space IDs to the local names of the spaces held.
func (s *server) spaceNames() map[string]string {
	out := map[string]string{}
	for _, sp := range s.n.Spaces() {
		out[sp.ID.KeyString()] = sp.Name
	}
	return out
}

func (s *server) handlePeers(w http.ResponseWriter, r *http.Request) {
	ns := s.n.NetworkStats()
	names := s.spaceNames()
	who := principalOf(r)
	connected := map[peer.ID]bool{}
	for _, p := range ns.Connected {
		connected[p] = true
	}
	out := []peerWire{}
	seen := map[peer.ID]bool{}
	for _, p := range ns.Peers {
		seen[p.Peer] = true
		pw := peerWire{PeerID: p.Peer.String(), Addrs: nonNil(ns.PeerAddrs[p.Peer]), LatencyMS: latencyMS(ns.Latency[p.Peer]),
			Connected: connected[p.Peer], Score: p.Score, Spaces: make([]peerSpaceWire, 0, len(p.Spaces))}
		if !p.BannedUntil.IsZero() {
			pw.BannedUntil = p.BannedUntil.UTC().Format(time.RFC3339)
		}
		for _, ss := range p.Spaces {
			name, ok := names[ss.Space.KeyString()]
			if !ok {
				name = ss.Space.String()
			}
			if !who.AllowsSpace(name, ss.Space.String()) {
				continue
			}
			sw := peerSpaceWire{Space: name, SpaceID: ss.Space.String(), InSync: ss.InSync, Behind: ss.Behind, Ahead: ss.Ahead,
				LastError: ss.LastError, Sessions: ss.Sessions, BytesSent: ss.BytesSent, BytesReceived: ss.BytesReceived,
				NodesSent: ss.NodesSent, NodesReceived: ss.NodesReceived}
			if !ss.LastSync.IsZero() {
				sw.LastSync = ss.LastSync.UTC().Format(time.RFC3339Nano)
			}
			pw.Spaces = append(pw.Spaces, sw)
		}
		out = append(out, pw)
	}
	for _, p := range ns.Connected { // connected, not synced yet
		if !seen[p] {
			out = append(out, peerWire{PeerID: p.String(), Addrs: nonNil(ns.PeerAddrs[p]), LatencyMS: latencyMS(ns.Latency[p]),
				Connected: true, Spaces: []peerSpaceWire{}})
		}
	}
	slices.SortFunc(out, func(a, b peerWire) int { return strings.Compare(a.PeerID, b.PeerID) })
	s.writeJSON(w, http.StatusOK, out)
}

// latencyMS is a round trip in milliseconds; 0 when not measured.
func latencyMS(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}

func (s *server) handleStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.n.Stats()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ns := s.n.NetworkStats()
	who := principalOf(r)
	out := statusWire{PeerID: st.PeerID, Addrs: nonNil(s.n.Addrs()), Spaces: make([]spaceStatusWire, 0, len(st.Spaces)),
		Peers: len(ns.Connected), BytesOut: ns.BytesOut, BytesIn: ns.BytesIn,
		Hot: hotWire{Entries: st.Hot.Entries, Bytes: st.Hot.Bytes, Budget: st.Hot.Budget, Evictions: st.Hot.Evictions},
		Storage: storageWire{WALBytes: st.Storage.WALBytes, WALSegments: st.Storage.WALSegments, ColdSegments: st.Storage.ColdSegments,
			IndexBytes: st.Storage.IndexBytes, Nodes: st.Storage.Nodes, CacheEntries: st.Storage.CacheEntries,
			CacheBytes: st.Storage.CacheBytes, Replayed: st.Storage.Replayed}}
	for _, sp := range st.Spaces {
		if !who.AllowsSpace(sp.Name, sp.ID.String()) {
			continue // a token limited to other spaces
		}
		ss := spaceStatusWire{Name: sp.Name, ID: sp.ID.String(), Open: sp.Open, Owner: peerString(sp.Owner), Nodes: sp.Nodes,
			Heads: cidStrings(sp.Heads)}
		if cut := sp.Distilled; cut != nil {
			ss.Distilled = &cutWire{Snapshot: cut.Snapshot.String(), Heads: cidStrings(cut.Heads), Clock: cut.Clock.String()}
		}
		out.Spaces = append(out.Spaces, ss)
	}
	s.writeJSON(w, http.StatusOK, out)
}
