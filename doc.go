// Package korup2p is a peer-to-peer sync store: a versioned key-value store in which
// every write becomes a signed, content-addressed delta node in a causal DAG, and
// every replica holding the same nodes computes the same state. This package is the
// embeddable API: a Node is one replica.
//
// # Model
//
// A Node holds spaces. A space is one replicated key space (one DAG): "default" is
// created on first start, restricted and owned by this peer; an open space's ID is
// derived from its name, so peers that open the same name meet. Keys are
// "namespace/rest"; values are JSON (at most Options.MaxValueSize encoded). The
// namespace "_korup2p" is reserved.
//
// A write (Put, Patch, Delete, Batch) is one node: its CID is the new version of every
// key it wrote. Concurrent writes of one key — from other peers — are merged three-way
// against their lowest common ancestor; Get reports the fields that conflicted, and
// the losing values, until a write supersedes them. History, Diff, GetAt (a wall-clock
// time), GetAtClock and GetAsOf (space heads) read the past.
//
// # Durability and ordering
//
// Each space has one writer goroutine. It takes every write queued, packs requests
// whose keys do not overlap into one node (a request that repeats a key starts the
// next node, on top of the first), stores them, makes them durable with one sync
// (Options.Durability), and only then publishes their events and acknowledges them:
// when a write returns, its events are already in the subscribers' buffers.
// Readers may see a write a moment before it is acknowledged; a crash in that moment
// can lose it, but never an acknowledged one.
//
// Subscribe delivers insert/update/delete events in commit order. A subscriber that
// falls behind its buffer is told how many events it missed (EventOverflow), never
// silently dropped.
//
// # Distillation
//
// With Options.Retention set, history older than the retention is folded: every
// Options.DistillEvery (or on Distill) the oldest log segments whose writes the
// retention lets go become, per space, a content-addressed snapshot (the state at
// the cut and its heads), and the segments are deleted. Get, List and Query read
// the same afterwards, writes build on the folded state, and peers' later nodes are
// accepted as before. History starts with the folded version (Version.Distilled);
// GetAt before the cut fails with ErrDistilled. Concurrent edits whose common
// ancestor was folded merge against the state at the cut. The zero Retention, the
// default, keeps everything.
//
// # Network
//
// With Options.Network set, a Node is a peer: one libp2p host, gossip of every
// local write (published after it is acknowledged) and of heads, the sync protocol
// and mDNS (see NetworkOptions, Connect, Invite, Join, NetworkStats). An embedded
// Node without it is a local replica: DESIGN.md gives every daemon a host, and the
// daemon (cmd/korup2p) turns it on; a library user opts in, so that embedding
// korup2p never opens sockets or multicasts by surprise. Nodes from peers are
// stored as they arrive but not fsynced on their own: nothing was acknowledged for
// them, the next local write's sync covers them, and a crash before it loses only
// what the next sync fetches again.
//
// # Access
//
// An open space is readable and writable by anyone who reaches a peer holding it. A
// restricted space is owned by its creator (named in its genesis); anyone else needs
// a capability token (package caps) delegated from the owner: Grant issues one,
// Revoke withdraws one and everything delegated from it, Capabilities lists them,
// and Invite puts one in a ticket that Join redeems. Tokens and revocations are
// nodes of the space (keys _korup2p/caps/<CID> and _korup2p/revocations/<CID>), so
// they sync like data, and every peer decides from the nodes it holds, the same way:
//
//   - Writes. A node from a peer (sync, gossip or Import) is stored only if its
//     author is the owner or names (Node.Cap) a chain that gives it Write on every
//     key it writes, valid at the node's own clock; tokens must be held in the space
//     or carried by the node. A node that only publishes tokens or revocations needs
//     Read. Refusals name a caps.Reason, are logged, counted (AccessStats) and
//     score the sending peer down (by sync or by gossip); gossip does not forward
//     them. A peer whose score reaches the ban threshold is cut off until the ban
//     ends (10 minutes): its connections close and new ones are refused, so
//     neither its sync sessions nor its gossip reach this peer. Local writes are
//     checked the same way before they are made (ErrDenied).
//   - Revocation. A revocation counts if its issuer issued the token, owns the
//     space, or holds Admin over the token's keys; revocations are judged in causal
//     order, so one by an admin already revoked does not count. A write whose chain a
//     counted revocation withdraws is refused when the revocation is in its causal
//     past. When the two are concurrent, the write is stored but void: it writes
//     nothing, on every peer, whichever arrived first (crdt.Voider). Rejecting it
//     instead would split the DAG between peers that had accepted it (and built
//     on it) before the revocation reached them and peers that had not.
//   - Reads. The sync protocol serves a restricted space, and pubsub's peer filter
//     admits to its gossip mesh, only peers that may read it: the owner and holders
//     of a valid Read (or higher) token, held in the space or presented in the
//     capability exchange (/korup2p/caps/1.0.0) that peers run when they connect and
//     when one joins a space. Key patterns limit writes, not reads: nodes are the
//     unit of replication and one may carry any keys. A peer that loses its last
//     read capability is dropped from the mesh. A restricted space takes a
//     snapshot (see Distillation) only from its owner or an admin over all of it,
//     since folded state cannot be checked against capabilities.
//   - One user, several devices. A user key (ExportUserKey, ImportUserKey; the CLI's
//     id export and id import) kept in the data directory makes the restricted
//     spaces a device creates owned by the user; every device holding the key
//     grants itself Admin over the user's spaces it holds, signed by the user key,
//     and writes as itself. Revoking a device's token cuts that device off.
//
// Time in a capability check is the writing node's clock, so every peer judges a
// write alike whenever it arrives; a writer can date a node no earlier than its
// parents, so an expired writer can only add writes concurrent with its past ones.
//
// # Errors
//
// Bad input is rejected before anything is written, with a *KeyError wrapping
// ErrInvalidKey, ErrInvalidValue, ErrValueTooLarge or ErrUnknownSpace. Reads return
// ErrNotFound for a deleted or never-written key, ErrNoValueAtTime for a time before
// its first version and ErrDistilled for a time before the distillation cut.
//
// Usage:
//
//	n, err := korup2p.Open(dir, nil)
//	if err != nil { … }
//	defer n.Close(context.Background())
//	_, err = n.Put(ctx, "default", "users/ada", map[string]any{"name": "Ada"})
//	e, err := n.Get(ctx, "default", "users/ada") // e.Value is JSON: {"name":"Ada"}
//	sub, err := n.Subscribe("default", "users/", 0)
//	for ev := range sub.C { … }
package korup2p
