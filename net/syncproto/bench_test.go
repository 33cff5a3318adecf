package syncproto

import (
	"context"
	"testing"
)

// BenchmarkCatchUp10k: a fresh replica fetches 10,000 nodes from a peer over
// loopback TCP (the fake replica verifies every signature, in parallel).
func BenchmarkCatchUp10k(b *testing.B) {
	h := chainOf(b, 10_000, 3, nil)
	na, nb := pair(b, h.replica(b), nil, nil, nil)
	var res Result
	for b.Loop() {
		b.StopTimer()
		fresh := h.fresh(b)
		nb.svc.Register(fresh)
		b.StartTimer()
		var err error
		if res, err = nb.svc.Sync(context.Background(), na.h.ID(), h.g.CID()); err != nil {
			b.Fatal(err)
		}
		if res.NodesReceived != 10_000 {
			b.Fatalf("received %d nodes", res.NodesReceived)
		}
	}
	report(b, res)
}

// BenchmarkReconcileDisjoint1k: two replicas of 1,000 nodes each, written apart on
// one genesis, reconcile into the union over loopback TCP.
func BenchmarkReconcileDisjoint1k(b *testing.B) {
	ha, hb := chainOf(b, 1000, 1, nil), chainOf(b, 1000, 2, nil)
	na, nb := pair(b, nil, nil, nil, nil)
	var res Result
	for b.Loop() {
		b.StopTimer()
		na.svc.Register(ha.replica(b))
		nb.svc.Register(hb.replica(b))
		b.StartTimer()
		var err error
		if res, err = na.svc.Sync(context.Background(), nb.h.ID(), ha.g.CID()); err != nil {
			b.Fatal(err)
		}
		if res.NodesReceived != 1000 || res.NodesSent != 1000 {
			b.Fatalf("result %+v", res)
		}
	}
	report(b, res)
}

func report(b *testing.B, res Result) {
	b.ReportMetric(float64(res.RoundTrips), "roundtrips/op")
	b.ReportMetric(float64(res.BytesSent+res.BytesReceived), "wirebytes/op")
	b.ReportMetric(float64(res.NodesSent+res.NodesReceived), "nodes/op")
}

// BenchmarkIngest10kLocal is the floor under BenchmarkCatchUp10k: the fake replica
// ingesting the same 10,000 nodes in batches of 512, with no network and no protocol.
func BenchmarkIngest10kLocal(b *testing.B) {
	h := chainOf(b, 10_000, 3, nil)
	blocks := make([][]byte, len(h.nodes))
	for i, n := range h.nodes {
		blocks[i] = n.Bytes()
	}
	for b.Loop() {
		b.StopTimer()
		r := h.fresh(b)
		b.StartTimer()
		for i := 0; i < len(blocks); i += DefaultBatchNodes {
			if _, err := r.Ingest("", blocks[i:min(i+DefaultBatchNodes, len(blocks))]); err != nil {
				b.Fatal(err)
			}
		}
	}
}
