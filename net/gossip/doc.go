// Package gossip spreads a space's new nodes and its peers' heads over
// go-libp2p-pubsub (gossipsub): one topic per space, "/korup2p/space/<space ID>".
//
// A message is canonical DAG-CBOR with a type field "t":
//
//	{"t": "n", "node": <bytes>}    a new node, whole (a local write, published once)
//	{"t": "c", "cids": [<link>]}   new nodes too large for a message, by CID
//	{"t": "h", "heads": [<link>]}  the publisher's heads (periodic, and on new peers)
//
// Message IDs are the SHA-256 of the message bytes, so the same node published by
// two peers, or the same heads announced twice, is delivered once. Every message
// passes the topic validator before it is delivered or forwarded: malformed
// messages are rejected (pubsub penalises the forwarder), nodes go to the
// Handler's ValidateNode, which rejects invalid ones (ValidationReject) and ignores
// ones already held (ValidationIgnore) — without stalling the topic, since pubsub
// runs validators concurrently with a bounded queue and drops what overflows it.
// Messages this peer publishes are accepted as they are.
//
// What to do with a message — ingest a node, fetch what a heads announcement or a
// CID names — is the Handler's business; this package only moves bytes.
package gossip
