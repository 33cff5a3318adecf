// Package dag owns korup2p's delta nodes and the causal DAG they form: the node
// format, signing and verification, the hybrid logical clock, the Store interface with
// its in-memory implementation, and ingest in causal order.
//
// # Node format
//
// A node is canonical DAG-CBOR (see package distinctions) addressed by its CIDv1:
//
//	v        format version (1)
//	space    space ID: the CID of the space's genesis node (absent in a genesis)
//	parents  [CID] the space heads the author had, sorted (absent in a genesis)
//	ops      [{key, prev: [CID], kind: "set"|"patch"|"del", value}], sorted by key,
//	         one op per key; prev = the key-heads the author had for that key
//	clock    [wall nanoseconds, logical]: a hybrid logical clock value
//	height   1 + max(parent heights); 0 for a genesis
//	author   the peer ID (Ed25519) of the writer
//	cap      CID of the capability that authorises the write (absent in open spaces)
//	sig      Ed25519 signature over the node encoded without sig
//
// Empty lists and absent optional fields are omitted, so every node has exactly one
// encoding. A genesis node writes one op, the space description at [SpaceKey]
// ({name, open, owner}); an open space's genesis has no author, clock or signature, so
// its ID depends on the name alone.
//
// # Checks
//
// [Decode] checks everything a node says about itself: strict canonical decoding,
// sorted and unique lists, valid keys, op kinds and values, and the signature.
// [Ingester] checks the rest against the stored dependencies — same space, height =
// 1 + max(parent heights), clock after every parent's, every prev a strictly older
// version of the same key — and an optional Authorize hook (capabilities). A
// violation is a *ValidationError naming the [Rule].
//
// A prev is checked to be an older version of its key, not to be in the node's causal
// past: that would cost a walk as long as the key's idle period on every ingest. An
// honest author's prevs always are in its causal past; a forged one changes nothing
// but that key's own DAG, and the state is still a pure function of the node set.
//
// # Ordering rule
//
// Dependencies first: a Store receives a node only after its parents and prevs
// (Store.PutVerified). Ingester enforces it, holding early nodes as pending and
// reporting the CIDs they miss, which the network layer then fetches. A missing
// dependency is never an error, with one bound: beyond IngestOptions.MaxPending
// nodes held (default 100,000), Add refuses to hold more (ErrTooManyPending), so
// that a peer cannot fill memory with nodes whose parents never come.
//
// # Limits and clocks
//
// NewNode makes only nodes that Decode takes back under the same limits: it checks
// the whole encoding (size, nesting, elements of each array and map), not only
// each value, and fails with an error wrapping distinctions.ErrTooLarge. A node
// nests its op values OpValueDepth levels deep, so a value must fit ValueLimits(l).
// Only Ed25519 keys sign. A node's clock may not be after MaxWall (2200-01-01), so
// that no node can push its successors' clocks to the end of int64; a Clock that
// reaches MaxWall with a full counter returns ErrClockExhausted.
//
// The package is pure (layer 0): no files, sockets, goroutines or wall clock; callers
// pass the wall time to [Clock] and [NewNode].
//
// Usage:
//
//	g, _ := dag.NewOpenGenesis("notes")
//	s := dag.NewMemStore()
//	in := dag.NewIngester(s, g.CID(), nil)
//	in.Add(g)
//	var clock dag.Clock
//	n, _ := dag.NewNode(dag.Draft{Space: g.CID(), Parents: []*dag.Node{g},
//		Ops: []dag.Op{{Key: "notes/1", Kind: dag.KindSet, Value: v.Bytes}}},
//		&clock, time.Now().UnixNano(), key, distinctions.DefaultLimits)
//	res, err := in.Add(n) // res.Applied, res.Missing, res.Rejected
package dag
