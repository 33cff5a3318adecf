// Command bench measures a korup2p network on loopback: peers write concurrently,
// one node per write, and it reports how long they take to converge after the last
// write, how fast a fresh peer catches up, what one reconciliation costs in round
// trips and bytes, the bytes on the wire per write, and memory.
//
//	go run ./testnet/cmd/bench -peers 3 -writes 1000 -catchup 10000
//
// Every peer is a real korup2p Node with its own data directory (a temporary one)
// and a libp2p host on 127.0.0.1, all in this process; memory figures are the
// process's, divided by the number of peers.
package main
