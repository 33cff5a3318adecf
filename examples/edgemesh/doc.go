// Command edgemesh is an edge mesh of korup2p Nodes sharing sensor readings.
//
// It starts -nodes Nodes (default 4) on 127.0.0.1, without mDNS, in a line:
// each is connected to its neighbours only, so what the far end writes reaches
// node0 through every node in between. All of them join the open space
// "edgemesh" and publish -readings readings each under sensors/<node>/<seq>.
// node0, the gateway, subscribes to the far end's readings and prints each as it
// arrives; once every node holds the same heads, it runs aggregate queries (count,
// avg and max of temp), over the whole mesh and per node, and checks them against
// what was published.
//
// Run it with
//
//	go run ./examples/edgemesh [-nodes 4 -readings 20]
package main
