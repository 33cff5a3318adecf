// Package testnet runs networks of korup2p peers in one process, each a real Node
// with its own data directory and a real libp2p host on 127.0.0.1, to prove that
// they converge under faults and to measure them. A Net can partition any set of
// peers and heal, kill a peer and restart it on its data directory, add a fresh
// peer, and check convergence: identical heads and identical state digests on
// every running peer, and every acknowledged write visible on each.
//
// mDNS stays off: peers are connected explicitly, on loopback only.
package testnet
