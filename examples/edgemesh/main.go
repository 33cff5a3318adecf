package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/log"
	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p"
)

// space is the open space of the mesh.
const space = "edgemesh"

// Limits and deadlines.
const (
	maxNodes     = 32
	maxReadings  = 10000
	runTimeout   = 2 * time.Minute
	waitTimeout  = 60 * time.Second
	closeTimeout = 10 * time.Second
	pollEvery    = 50 * time.Millisecond
)

// config is what the flags set.
type config struct {
	Nodes    int           // nodes in the line, at least 2
	Readings int           // readings each node publishes
	Interval time.Duration // between two readings of one node
}

// report is what a run found, for the test.
type report struct {
	Heads     [][]cid.Cid // each node's heads at the end
	Neighbors []int       // how many peers each node is connected to
	Published int         // readings written, all nodes
	Count     int         // readings the gateway's aggregate covered
	Avg, Max  float64     // the gateway's aggregates of temp
	WantAvg   float64     // the same, computed from what was published
	WantMax   float64
	FarSeen   int // distinct far-end readings the gateway's subscription saw
}

func main() {
	var cfg config
	flag.IntVar(&cfg.Nodes, "nodes", 4, fmt.Sprintf("nodes in the line (2..%d)", maxNodes))
	flag.IntVar(&cfg.Readings, "readings", 20, fmt.Sprintf("readings each node publishes (1..%d)", maxReadings))
	flag.DurationVar(&cfg.Interval, "interval", 20*time.Millisecond, "time between two readings of one node")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	if _, err := run(ctx, os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "edgemesh:", err)
		os.Exit(1)
	}
}

// reading is one sensor reading, the value of sensors/<node>/<seq>.
type reading struct {
	Node string  `json:"node"`
	Seq  int     `json:"seq"`
	Temp float64 `json:"temp"`
}

// temp is node i's seq-th temperature: quarters of a degree, exact in binary, so
// that the expected average is computed exactly as the query computes it.
func temp(i, seq int) float64 { return 18 + float64(i) + float64((seq*7+i*3)%16)/4 }

func nodeName(i int) string { return fmt.Sprintf("node%d", i) }

// run builds the mesh in a temporary directory, publishes, waits for the far
// end's readings at node0 and for every node to converge, queries, and removes
// everything it made. It fails if the mesh does not converge or the aggregates
// are not what was published.
func run(ctx context.Context, w io.Writer, cfg config) (rep report, err error) {
	if cfg.Nodes < 2 || cfg.Nodes > maxNodes {
		return rep, fmt.Errorf("-nodes %d: want 2..%d", cfg.Nodes, maxNodes)
	}
	if cfg.Readings < 1 || cfg.Readings > maxReadings {
		return rep, fmt.Errorf("-readings %d: want 1..%d", cfg.Readings, maxReadings)
	}
	out := &lockedWriter{w: w} // the subscriber prints too
	dir, err := os.MkdirTemp("", "korup2p-edgemesh-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(dir)

	nodes := make([]*korup2p.Node, cfg.Nodes)
	defer func() {
		for i, n := range nodes {
			if n != nil {
				err = errors.Join(err, closeNode(nodeName(i), n))
			}
		}
	}()
	for i := range nodes {
		if nodes[i], err = openNode(ctx, nodeName(i), filepath.Join(dir, nodeName(i))); err != nil {
			return rep, err
		}
	}

	// The line: node i+1 dials node i.
	for i := 1; i < len(nodes); i++ {
		cctx, cancel := context.WithTimeout(ctx, waitTimeout)
		_, err := nodes[i].Connect(cctx, nodes[i-1].Addrs()[0])
		cancel()
		if err != nil {
			return rep, fmt.Errorf("connect %s to %s: %w", nodeName(i), nodeName(i-1), err)
		}
	}
	names := make([]string, len(nodes))
	for i := range nodes {
		names[i] = nodeName(i)
	}
	far := len(nodes) - 1
	fmt.Fprintf(out, "mesh: %s (%d nodes on 127.0.0.1, each connected to its neighbours only)\n",
		strings.Join(names, " — "), len(nodes))

	// The gateway watches the far end.
	sub, err := nodes[0].Subscribe(space, "sensors/"+nodeName(far)+"/", 2*cfg.Readings+16)
	if err != nil {
		return rep, err
	}
	seenAll, farSeen := make(chan struct{}), make(chan int, 1)
	go func() { farSeen <- watch(out, sub, far, cfg.Readings, seenAll) }()
	stopWatch := sync.OnceValue(func() int { sub.Cancel(); return <-farSeen })
	defer stopWatch()

	// Every node publishes its readings, all at once.
	fmt.Fprintf(out, "publishing %d readings on each node, every %s; %s prints %s's as they arrive:\n",
		cfg.Readings, cfg.Interval, nodeName(0), nodeName(far))
	if err := publish(ctx, nodes, cfg); err != nil {
		return rep, err
	}
	rep.Published = len(nodes) * cfg.Readings
	select {
	case <-seenAll:
	case <-ctx.Done():
		return rep, fmt.Errorf("waiting for %s's readings at %s: %w", nodeName(far), nodeName(0), ctx.Err())
	case <-time.After(waitTimeout):
		return rep, fmt.Errorf("%s's readings did not all reach %s within %s", nodeName(far), nodeName(0), waitTimeout)
	}
	rep.FarSeen = stopWatch()
	took, err := waitConverged(ctx, nodes)
	if err != nil {
		return rep, err
	}
	fmt.Fprintf(out, "\nconverged: every node holds the same %d readings, at the same heads (waited %s)\n",
		rep.Published, took.Round(time.Millisecond))
	for i, n := range nodes {
		heads, err := n.Heads(space)
		if err != nil {
			return rep, err
		}
		rep.Heads = append(rep.Heads, heads)
		rep.Neighbors = append(rep.Neighbors, len(n.NetworkStats().Connected))
		fmt.Fprintf(out, "  %-6s %d peers  heads %s\n", nodeName(i), rep.Neighbors[i], short(heads))
	}

	// The gateway's aggregates, over the mesh and per node.
	var sum float64
	for i := range nodes {
		for seq := range cfg.Readings {
			t := temp(i, seq)
			sum += t
			rep.WantMax = max(rep.WantMax, t)
		}
	}
	rep.WantAvg = sum / float64(rep.Published)
	fmt.Fprintf(out, "\n%s queries sensors/:\n", nodeName(0))
	fmt.Fprintf(out, "  %-6s %8s %8s %8s\n", "NODE", "COUNT", "AVG", "MAX")
	for i := range nodes {
		where := []korup2p.Filter{{Field: "node", Op: korup2p.FilterEq, Value: nodeName(i)}}
		n, avg, mx, err := aggregates(ctx, nodes[0], where)
		if err != nil {
			return rep, err
		}
		fmt.Fprintf(out, "  %-6s %8d %8.2f %8.2f\n", nodeName(i), n, avg, mx)
	}
	if rep.Count, rep.Avg, rep.Max, err = aggregates(ctx, nodes[0], nil); err != nil {
		return rep, err
	}
	fmt.Fprintf(out, "  %-6s %8d %8.2f %8.2f\n", "all", rep.Count, rep.Avg, rep.Max)
	if rep.Count != rep.Published || math.Abs(rep.Avg-rep.WantAvg) > 1e-9 || rep.Max != rep.WantMax {
		return rep, fmt.Errorf("aggregate over %d readings: avg %g max %g; published %d, avg %g max %g",
			rep.Count, rep.Avg, rep.Max, rep.Published, rep.WantAvg, rep.WantMax)
	}
	fmt.Fprintf(out, "\nthe aggregate covers all %d readings; %s saw all %d of %s's readings by subscription\n",
		rep.Count, nodeName(0), rep.FarSeen, nodeName(far))
	return rep, nil
}

// openNode opens a Node in dir, networked on loopback only, and joins the space.
// Readings may be lost in the last 10 ms before a crash (DurabilityInterval).
func openNode(ctx context.Context, name, dir string) (*korup2p.Node, error) {
	n, err := korup2p.Open(dir, &korup2p.Options{
		Durability: korup2p.DurabilityInterval,
		Logger:     log.NewWithOptions(os.Stderr, log.Options{Prefix: name, Level: log.ErrorLevel}),
		Network: &korup2p.NetworkOptions{
			Listen:        []string{"/ip4/127.0.0.1/tcp/0"},
			NoMDNS:        true,
			HeadsInterval: 250 * time.Millisecond,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if _, err := n.Join(ctx, space, ""); err != nil {
		return nil, errors.Join(fmt.Errorf("%s: %w", name, err), closeNode(name, n))
	}
	if len(n.Addrs()) == 0 {
		return nil, errors.Join(fmt.Errorf("%s: no listen address", name), closeNode(name, n))
	}
	return n, nil
}

func closeNode(name string, n *korup2p.Node) error {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		return fmt.Errorf("close %s: %w", name, err)
	}
	return nil
}

// publish writes every node's readings, one goroutine per node, and waits for
// them all.
func publish(ctx context.Context, nodes []*korup2p.Node, cfg config) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := range cfg.Readings {
				if seq > 0 && cfg.Interval > 0 {
					select {
					case <-ctx.Done():
						errs[i] = ctx.Err()
						return
					case <-time.After(cfg.Interval):
					}
				}
				key := fmt.Sprintf("sensors/%s/%04d", nodeName(i), seq)
				if _, err := n.Put(ctx, space, key, reading{Node: nodeName(i), Seq: seq, Temp: temp(i, seq)}); err != nil {
					errs[i] = fmt.Errorf("%s: %w", nodeName(i), err)
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// watch prints each far-end reading the subscription delivers and closes seenAll
// once want distinct readings arrived. It returns how many it saw, when the
// subscription ends.
func watch(out io.Writer, sub *korup2p.Subscription, far, want int, seenAll chan<- struct{}) int {
	seen := map[string]bool{}
	for ev := range sub.C {
		if ev.Type == korup2p.EventOverflow {
			fmt.Fprintf(out, "  %s missed %d events\n", nodeName(0), ev.Missed)
			continue
		}
		if ev.Type == korup2p.EventDelete || seen[ev.Key] {
			continue
		}
		var r reading
		if err := json.Unmarshal(ev.Value, &r); err != nil {
			fmt.Fprintf(out, "  %s <- %s: bad reading %s\n", nodeName(0), ev.Key, ev.Value)
			continue
		}
		seen[ev.Key] = true
		fmt.Fprintf(out, "  %s <- %s  temp %5.2f  (%d hops)\n", nodeName(0), ev.Key, r.Temp, far)
		if len(seen) == want {
			close(seenAll)
		}
	}
	return len(seen)
}

// waitConverged waits until every node holds the same heads and state, and
// returns how long that took.
func waitConverged(ctx context.Context, nodes []*korup2p.Node) (time.Duration, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		same, err := converged(ctx, nodes)
		if err != nil {
			return 0, err
		}
		if same {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("waiting for the mesh to converge: %w", ctx.Err())
		case <-t.C:
		}
	}
}

func converged(ctx context.Context, nodes []*korup2p.Node) (bool, error) {
	var first []cid.Cid
	var firstDigest string
	for i, n := range nodes {
		heads, err := n.Heads(space)
		if err != nil {
			return false, err
		}
		digest, err := n.StateDigest(ctx, space)
		if err != nil {
			return false, err
		}
		if i == 0 {
			first, firstDigest = heads, digest
		} else if !slices.EqualFunc(heads, first, cid.Cid.Equals) || digest != firstDigest {
			return false, nil
		}
	}
	return true, nil
}

// aggregates runs count, avg and max of temp over the readings matching where.
func aggregates(ctx context.Context, n *korup2p.Node, where []korup2p.Filter) (count int, avg, mx float64, err error) {
	for _, a := range []struct {
		kind korup2p.AggKind
		into *float64
	}{{korup2p.AggAvg, &avg}, {korup2p.AggMax, &mx}} {
		res, err := n.Query(ctx, space, "sensors", korup2p.Query{Filters: where,
			Aggregate: &korup2p.Aggregate{Kind: a.kind, Field: "temp"}})
		if err != nil {
			return 0, 0, 0, err
		}
		if res.Aggregate == nil {
			return 0, 0, 0, fmt.Errorf("query %s of temp: no value", a.kind)
		}
		if err := json.Unmarshal(res.Aggregate, a.into); err != nil {
			return 0, 0, 0, fmt.Errorf("query %s of temp: %w", a.kind, err)
		}
		count = res.Count
	}
	return count, avg, mx, nil
}

// short abbreviates heads for printing.
func short(heads []cid.Cid) string {
	s := make([]string, len(heads))
	for i, h := range heads {
		c := h.String()
		s[i] = "…" + c[len(c)-8:]
	}
	return strings.Join(s, " ")
}

// lockedWriter serializes the writes of several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
