package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/spf13/cobra"

	"github.com/korup2p/korup2p"
)

// peerJSON is one element of peers --json (and of status --json's peers).
type peerJSON struct {
	PeerID      string         `json:"peer_id"`
	Addrs       []string       `json:"addrs"`
	Connected   bool           `json:"connected"`
	LatencyMS   *float64       `json:"latency_ms"` // null when not measured
	Spaces      []string       `json:"spaces"`     // the spaces synced with it, by name
	Sync        []peerSyncJSON `json:"sync"`
	Score       float64        `json:"score,omitempty"`        // misbehaviour score
	BannedUntil string         `json:"banned_until,omitempty"` // refused until then
}

// peerSyncJSON is the sync state of one space with one peer.
type peerSyncJSON struct {
	Space         string `json:"space"` // the local name ("" if the space is not held here)
	SpaceID       string `json:"space_id"`
	InSync        bool   `json:"in_sync"` // heads were equal at the end of the last session
	Behind        int    `json:"behind"`  // nodes it had that we lacked, at the last reconciliation
	Ahead         int    `json:"ahead"`   // nodes we had that it lacked
	LastSync      string `json:"last_sync,omitempty"`
	LastError     string `json:"last_error,omitempty"`
	Sessions      int    `json:"sessions"`
	BytesSent     int64  `json:"bytes_sent"`
	BytesReceived int64  `json:"bytes_received"`
	NodesSent     int64  `json:"nodes_sent"`
	NodesReceived int64  `json:"nodes_received"`
}

// peersOf lists the connected peers and the peers synced with, from a Node's
// network stats.
func peersOf(ns korup2p.NetworkStats, spaces []korup2p.SpaceInfo) []peerJSON {
	names := map[string]string{}
	for _, s := range spaces {
		names[s.ID.String()] = s.Name
	}
	byID := map[peer.ID]*peerJSON{}
	get := func(p peer.ID) *peerJSON {
		if pj, ok := byID[p]; ok {
			return pj
		}
		pj := &peerJSON{PeerID: p.String(), Addrs: []string{}, Spaces: []string{}, Sync: []peerSyncJSON{}}
		byID[p] = pj
		return pj
	}
	for _, p := range ns.Connected {
		pj := get(p)
		pj.Connected = true
		if addrs := ns.PeerAddrs[p]; len(addrs) > 0 {
			pj.Addrs = slices.Clone(addrs)
		}
		if d := ns.Latency[p]; d > 0 {
			ms := float64(d) / float64(time.Millisecond)
			pj.LatencyMS = &ms
		}
	}
	for _, ps := range ns.Peers {
		pj := get(ps.Peer)
		pj.Score = ps.Score
		if !ps.BannedUntil.IsZero() {
			pj.BannedUntil = ps.BannedUntil.UTC().Format(time.RFC3339Nano)
		}
		for _, s := range ps.Spaces {
			sj := peerSyncJSON{Space: names[s.Space.String()], SpaceID: s.Space.String(), InSync: s.InSync, Behind: s.Behind,
				Ahead: s.Ahead, LastError: s.LastError, Sessions: s.Sessions, BytesSent: s.BytesSent,
				BytesReceived: s.BytesReceived, NodesSent: s.NodesSent, NodesReceived: s.NodesReceived}
			if !s.LastSync.IsZero() {
				sj.LastSync = s.LastSync.UTC().Format(time.RFC3339Nano)
			}
			pj.Sync = append(pj.Sync, sj)
			if sj.Space != "" {
				pj.Spaces = append(pj.Spaces, sj.Space)
			}
		}
	}
	out := make([]peerJSON, 0, len(byID))
	for _, pj := range byID {
		slices.Sort(pj.Spaces)
		out = append(out, *pj)
	}
	slices.SortFunc(out, func(a, b peerJSON) int { return strings.Compare(a.PeerID, b.PeerID) })
	return out
}

func (c *cli) peersCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "peers",
		Short: "List connected peers and the sync state of each space with them",
		Example: `  korup2p peers
  korup2p peers --json | jq '.[] | select(.connected) | .peer_id'`,
		Args: noArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withBackend(func(ctx context.Context, b backend) error {
				peers, err := b.Peers(ctx)
				if err != nil {
					return err
				}
				if c.json {
					if peers == nil {
						peers = []peerJSON{}
					}
					return printJSON(c.stdout, peers)
				}
				if len(peers) == 0 {
					if b.Mode() == "local" {
						fmt.Fprintln(c.stderr, "no daemon running: no peers (start one with 'korup2p daemon')")
					} else {
						fmt.Fprintln(c.stderr, "no peers")
					}
					return nil
				}
				rows := [][]string{{"PEER", "STATE", "LATENCY", "SYNC", "ADDRS"}}
				for _, p := range peers {
					state := "seen"
					if p.Connected {
						state = "connected"
					}
					if p.BannedUntil != "" {
						state = "banned"
					}
					lat := "-"
					if p.LatencyMS != nil {
						lat = fmt.Sprintf("%.1fms", *p.LatencyMS)
					}
					var sync []string
					for _, s := range p.Sync {
						name := s.Space
						if name == "" {
							name = s.SpaceID
						}
						switch {
						case s.LastError != "":
							sync = append(sync, name+": error")
						case s.InSync:
							sync = append(sync, name+": in sync")
						default:
							sync = append(sync, fmt.Sprintf("%s: behind %d, ahead %d", name, s.Behind, s.Ahead))
						}
					}
					if len(sync) == 0 {
						sync = []string{"-"}
					}
					addrs := strings.Join(p.Addrs, " ")
					if addrs == "" {
						addrs = "-"
					}
					rows = append(rows, []string{p.PeerID, state, lat, strings.Join(sync, "; "), addrs})
				}
				table(c.stdout, rows)
				return nil
			})
		},
	}
}
