package testnet

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// namespaces are network namespaces for daemons: one per daemon, each with a veth
// pair whose other end sits on a bridge in a namespace of its own, so that a
// daemon's link can be cut (its bridge port set down) and restored. Addresses are
// 10.77.X.(i+1)/24, private and only inside these namespaces.
type namespaces struct {
	prefix string
	subnet int
	n      int
}

// newNamespaces creates them, or skips the test where it cannot.
func newNamespaces(t testing.TB, n int) *namespaces {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("network namespaces need iproute2 (ip)")
	}
	ns := &namespaces{prefix: fmt.Sprintf("k2p%d", os.Getpid()%100000), subnet: 1 + os.Getpid()%250, n: n}
	t.Cleanup(ns.remove)
	br := ns.bridge()
	steps := [][]string{
		{"netns", "add", br},
		{"-n", br, "link", "add", "br0", "type", "bridge"},
		{"-n", br, "link", "set", "br0", "up"},
	}
	for i := range n {
		steps = append(steps,
			[]string{"netns", "add", ns.name(i)},
			[]string{"-n", ns.name(i), "link", "set", "lo", "up"},
			[]string{"link", "add", ns.port(i), "netns", br, "type", "veth", "peer", "name", "eth0", "netns", ns.name(i)},
			[]string{"-n", br, "link", "set", ns.port(i), "master", "br0"},
			[]string{"-n", br, "link", "set", ns.port(i), "up"},
			[]string{"-n", ns.name(i), "addr", "add", ns.ip(i) + "/24", "dev", "eth0"},
			[]string{"-n", ns.name(i), "link", "set", "eth0", "up"},
		)
	}
	for _, s := range steps {
		if out, err := exec.Command("ip", s...).CombinedOutput(); err != nil {
			t.Skipf("cannot set up network namespaces (ip %s: %v: %s)", strings.Join(s, " "), err, out)
		}
	}
	return ns
}

func (ns *namespaces) bridge() string    { return ns.prefix + "br" }
func (ns *namespaces) name(i int) string { return fmt.Sprintf("%sn%d", ns.prefix, i) }
func (ns *namespaces) port(i int) string { return fmt.Sprintf("%sp%d", ns.prefix, i) }
func (ns *namespaces) ip(i int) string   { return fmt.Sprintf("10.77.%d.%d", ns.subnet, i+1) }

// link sets daemon i's bridge port up or down.
func (ns *namespaces) link(t testing.TB, i int, up bool) {
	t.Helper()
	if ns == nil {
		t.Fatal("links can be cut only between namespaces (ProcOptions.Namespaces)")
	}
	state := "down"
	if up {
		state = "up"
	}
	if out, err := exec.Command("ip", "-n", ns.bridge(), "link", "set", ns.port(i), state).CombinedOutput(); err != nil {
		t.Fatalf("set link %d %s: %v: %s", i, state, err, out)
	}
}

func (ns *namespaces) remove() {
	for i := range ns.n {
		exec.Command("ip", "netns", "del", ns.name(i)).Run()
	}
	exec.Command("ip", "netns", "del", ns.bridge()).Run()
}
