package korup2p_test

import (
	"fmt"
	"testing"
)

// TestDAGLog: newest first, each node before its parents, with its keys; limit
// cuts it; DAGNode returns each node.
func TestDAGLog(t *testing.T) {
	n := openMem(t, nil)
	var want []string
	for i := range 5 {
		want = append([]string{mustPut(t, n, "default", fmt.Sprintf("d/%d", i), i).Version.String()}, want...)
	}
	log, err := n.DAGLog(ctx, "default", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 6 { // five writes and the genesis
		t.Fatalf("%d entries", len(log))
	}
	for i, w := range want {
		if log[i].CID.String() != w || len(log[i].Parents) != 1 || !log[i].Parents[0].Equals(log[i+1].CID) {
			t.Fatalf("entry %d: %+v, want %s over entry %d", i, log[i], w, i+1)
		}
		if len(log[i].Keys) != 1 || log[i].Keys[0] != fmt.Sprintf("d/%d", 4-i) {
			t.Fatalf("entry %d keys %v", i, log[i].Keys)
		}
		nd, err := n.DAGNode(ctx, "default", log[i].CID)
		if err != nil || !nd.CID().Equals(log[i].CID) {
			t.Fatalf("DAGNode(%s): %v", log[i].CID, err)
		}
	}
	if last := log[5]; last.Height != 0 || len(last.Parents) != 0 {
		t.Fatalf("the genesis: %+v", last)
	}
	if short, err := n.DAGLog(ctx, "default", 2); err != nil || len(short) != 2 {
		t.Fatalf("limit 2: %d, %v", len(short), err)
	}
}
