package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/korup2p/korup2p"
)

// statusJSON is status --json: this peer, its spaces, its storage tiers, its peers.
type statusJSON struct {
	PeerID   string            `json:"peer_id"`
	Mode     string            `json:"mode"` // "daemon", or "local" (the store opened directly)
	Addrs    []string          `json:"addrs"`
	Spaces   []spaceStatusJSON `json:"spaces"`
	Tiers    tiersJSON         `json:"tiers"`
	Peers    []peerJSON        `json:"peers"`
	BytesIn  int64             `json:"bytes_in"`  // received by the libp2p host since start
	BytesOut int64             `json:"bytes_out"` // sent
}

// spaceStatusJSON is one space in status --json.
type spaceStatusJSON struct {
	spaceJSON
	Heads     []string      `json:"heads"`
	Nodes     int           `json:"nodes"` // DAG nodes held, genesis included
	Keys      int           `json:"keys"`  // keys with a value
	Distilled *cutJSON      `json:"distilled,omitempty"`
	Sync      spaceSyncJSON `json:"sync"`
}

// spaceSyncJSON is a space's sync progress over the peers it was synced with.
type spaceSyncJSON struct {
	Peers  int `json:"peers"`   // peers synced with
	InSync int `json:"in_sync"` // of those, whose heads matched at the last session
	Behind int `json:"behind"`  // nodes peers had that we lacked, summed
	Ahead  int `json:"ahead"`   // nodes we had that peers lacked, summed
}

// cutJSON is a space's distillation cut.
type cutJSON struct {
	Snapshot string    `json:"snapshot"`
	Heads    []string  `json:"heads"`
	Clock    clockJSON `json:"clock"`
	Time     string    `json:"time"`
}

// tiersJSON are the storage tiers' sizes.
type tiersJSON struct {
	Hot          hotJSON `json:"hot"`
	WALBytes     int64   `json:"wal_bytes"`
	WALSegments  int     `json:"wal_segments"`
	ColdSegments int     `json:"cold_segments"` // compressed segments
	IndexBytes   int64   `json:"index_bytes"`
	Nodes        int64   `json:"nodes"` // nodes indexed, all spaces
}

type hotJSON struct {
	Entries   int    `json:"entries"`
	Bytes     int64  `json:"bytes"`
	Budget    int64  `json:"budget"`
	Evictions uint64 `json:"evictions"`
}

// statusOf builds status --json from a Node.
func statusOf(ctx context.Context, n *korup2p.Node, mode string) (statusJSON, error) {
	st, err := n.Stats()
	if err != nil {
		return statusJSON{}, err
	}
	ns := n.NetworkStats()
	infos := n.Spaces()
	out := statusJSON{PeerID: st.PeerID, Mode: mode, Addrs: n.Addrs(), Peers: peersOf(ns, infos),
		BytesIn: ns.BytesIn, BytesOut: ns.BytesOut, Spaces: []spaceStatusJSON{}}
	if out.Addrs == nil {
		out.Addrs = []string{}
	}
	out.Tiers = tiersJSON{
		Hot:      hotJSON{Entries: st.Hot.Entries, Bytes: st.Hot.Bytes, Budget: st.Hot.Budget, Evictions: st.Hot.Evictions},
		WALBytes: st.Storage.WALBytes, WALSegments: st.Storage.WALSegments, ColdSegments: st.Storage.ColdSegments,
		IndexBytes: st.Storage.IndexBytes, Nodes: st.Storage.Nodes,
	}
	for _, sp := range st.Spaces {
		keys, err := n.List(ctx, sp.Name, "", "", 0)
		if err != nil {
			return statusJSON{}, err
		}
		ss := spaceStatusJSON{spaceJSON: spaceOf(sp.SpaceInfo), Heads: cidStrings(sp.Heads), Nodes: sp.Nodes, Keys: len(keys)}
		if c := sp.Distilled; c != nil {
			ss.Distilled = &cutJSON{Snapshot: c.Snapshot.String(), Heads: cidStrings(c.Heads), Clock: clockOf(c.Clock), Time: timeString(c.Clock)}
		}
		ss.Sync = syncOf(ss.ID, out.Peers)
		out.Spaces = append(out.Spaces, ss)
	}
	return out, nil
}

// syncOf sums the sync state of the space with ID spaceID over peers.
func syncOf(spaceID string, peers []peerJSON) spaceSyncJSON {
	var out spaceSyncJSON
	for _, p := range peers {
		for _, s := range p.Sync {
			if s.SpaceID == spaceID {
				out.Peers++
				if s.InSync {
					out.InSync++
				}
				out.Behind += s.Behind
				out.Ahead += s.Ahead
			}
		}
	}
	return out
}

func (c *cli) statusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show this peer, its spaces, storage and sync progress",
		Long: `Show this peer's ID and addresses, each space (heads, nodes, keys, sync progress
with peers), the storage tiers and the peers. Counting keys reads every key.`,
		Example: `  korup2p status
  korup2p status --json | jq '.spaces[] | {name, keys}'`,
		Args: noArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withBackend(func(ctx context.Context, b backend) error {
				st, err := b.Status(ctx)
				if err != nil {
					return err
				}
				if c.json {
					return printJSON(c.stdout, st)
				}
				printStatus(c.stdout, st)
				return nil
			})
		},
	}
}

func printStatus(w io.Writer, st statusJSON) {
	fmt.Fprintf(w, "peer    %s\n", st.PeerID)
	if st.Mode == "local" {
		fmt.Fprintln(w, "mode    local (no daemon running: the store was opened directly, without the network)")
	} else {
		fmt.Fprintf(w, "mode    %s\n", st.Mode)
	}
	for i, a := range st.Addrs {
		label := "addrs  "
		if i > 0 {
			label = "       "
		}
		fmt.Fprintf(w, "%s %s\n", label, a)
	}
	fmt.Fprintln(w)
	rows := [][]string{{"SPACE", "KIND", "KEYS", "NODES", "HEADS", "SYNC"}}
	for _, s := range st.Spaces {
		kind := "restricted"
		if s.Open {
			kind = "open"
		}
		sync := "-"
		if s.Sync.Peers > 0 {
			sync = fmt.Sprintf("%d/%d peers in sync", s.Sync.InSync, s.Sync.Peers)
			if s.Sync.Behind > 0 {
				sync += fmt.Sprintf(", %d nodes behind", s.Sync.Behind)
			}
		}
		rows = append(rows, []string{s.Name, kind, fmt.Sprint(s.Keys), fmt.Sprint(s.Nodes), fmt.Sprint(len(s.Heads)), sync})
	}
	table(w, rows)
	fmt.Fprintln(w)
	t := st.Tiers
	fmt.Fprintf(w, "hot     %d values, %s of %s, %d evicted\n", t.Hot.Entries, bytesText(t.Hot.Bytes), bytesText(t.Hot.Budget), t.Hot.Evictions)
	fmt.Fprintf(w, "wal     %s in %d segments (%d cold)\n", bytesText(t.WALBytes), t.WALSegments, t.ColdSegments)
	fmt.Fprintf(w, "index   %s, %d nodes\n", bytesText(t.IndexBytes), t.Nodes)
	if len(st.Peers) > 0 {
		var connected []string
		for _, p := range st.Peers {
			if p.Connected {
				connected = append(connected, shortPeer(p.PeerID))
			}
		}
		fmt.Fprintf(w, "peers   %d connected %s; %s in, %s out\n", len(connected), strings.Join(connected, " "),
			bytesText(st.BytesIn), bytesText(st.BytesOut))
	} else if st.Mode != "local" {
		fmt.Fprintln(w, "peers   none")
	}
}

// bytesText formats a byte count: 512 B, 1.5 KiB, 3.2 MiB, ...
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
