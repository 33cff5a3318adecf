package httpapi

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/korup2p/korup2p"
)

// metrics are the server's Prometheus metrics, in a registry of its own: the API's
// counters, counted by the handlers, and the Node's gauges, read on each scrape.
type metrics struct {
	reg      *prometheus.Registry
	writes   map[string]prometheus.Counter // by op: put, patch, del, batch
	reads    map[string]prometheus.Counter // by op: get, list, history, diff, query
	errs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
	watchers prometheus.Gauge
	events   prometheus.Counter
}

func newMetrics(n *korup2p.Node) *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), writes: map[string]prometheus.Counter{}, reads: map[string]prometheus.Counter{}}
	writes := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "korup2p_api_writes_total",
		Help: "Writes acknowledged through the HTTP API, by op (a batch counts once)."}, []string{"op"})
	for _, op := range []string{"put", "patch", "del", "batch"} {
		m.writes[op] = writes.WithLabelValues(op)
	}
	reads := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "korup2p_api_reads_total",
		Help: "Reads answered by the HTTP API, by op."}, []string{"op"})
	for _, op := range []string{"get", "list", "history", "diff", "query", "heads", "dag_log", "dag_node"} {
		m.reads[op] = reads.WithLabelValues(op)
	}
	m.errs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "korup2p_api_errors_total",
		Help: "Error answers of the HTTP API, by code."}, []string{"code"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "korup2p_api_request_duration_seconds",
		Help:    "Time to answer an HTTP API request (a watch: the stream's life), by route.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}}, []string{"route"})
	m.watchers = prometheus.NewGauge(prometheus.GaugeOpts{Name: "korup2p_api_watchers", Help: "Open watch streams."})
	m.events = prometheus.NewCounter(prometheus.CounterOpts{Name: "korup2p_api_watch_events_total", Help: "Events sent on watch streams."})
	m.reg.MustRegister(writes, reads, m.errs, m.duration, m.watchers, m.events, nodeCollector{n},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

func (m *metrics) write(op string) { m.writes[op].Inc() }
func (m *metrics) read(op string)  { m.reads[op].Inc() }
func (m *metrics) errors(code string) {
	m.errs.WithLabelValues(code).Inc()
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	if route == "" {
		route = "none"
	}
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// nodeCollector reads the Node's Stats and NetworkStats on each scrape.
type nodeCollector struct{ n *korup2p.Node }

var (
	descSpaceNodes   = desc("korup2p_space_nodes", "Nodes held by the space, genesis included.", "space")
	descSpaceHeads   = desc("korup2p_space_heads", "Heads of the space's DAG (more than one after concurrent writes).", "space")
	descWALBytes     = desc("korup2p_storage_wal_bytes", "Bytes of the write-ahead log's segment files.")
	descWALSegments  = desc("korup2p_storage_wal_segments", "Segments of the write-ahead log.")
	descColdSegments = desc("korup2p_storage_cold_segments", "Write-ahead log segments that are compressed.")
	descIndexBytes   = desc("korup2p_storage_index_bytes", "Bytes of the index and metadata on disk.")
	descStoreNodes   = desc("korup2p_storage_nodes", "Nodes indexed, all spaces.")
	descHotEntries   = desc("korup2p_hot_entries", "Materialised values in the hot tier.")
	descHotBytes     = desc("korup2p_hot_bytes", "Estimated bytes of the hot tier.")
	descHotBudget    = desc("korup2p_hot_budget_bytes", "The hot tier's budget.")
	descHotEvictions = desc("korup2p_hot_evictions_total", "Evictions from the hot tier.")
	descPeers        = desc("korup2p_peers_connected", "Peers connected now.")
	descBanned       = desc("korup2p_peers_banned", "Peers refused for misbehaviour now.")
	descNetOut       = desc("korup2p_network_bytes_sent_total", "Bytes sent by the libp2p host, all protocols.")
	descNetIn        = desc("korup2p_network_bytes_received_total", "Bytes received by the libp2p host, all protocols.")
	descSyncOut      = desc("korup2p_sync_bytes_sent_total", "Bytes sent by sync sessions, summed over peers.", "space")
	descSyncIn       = desc("korup2p_sync_bytes_received_total", "Bytes received by sync sessions, summed over peers.", "space")
	descNodesOut     = desc("korup2p_sync_nodes_sent_total", "Nodes sent by sync sessions, summed over peers.", "space")
	descNodesIn      = desc("korup2p_sync_nodes_received_total", "Nodes received (ingested) by sync sessions, summed over peers.", "space")
	descSessions     = desc("korup2p_sync_sessions_total", "Sync sessions, summed over peers.", "space")
	descIngested     = desc("korup2p_sync_nodes_ingested_total", "Nodes received by sync and stored, summed over peers.", "space")
	descRejected     = desc("korup2p_sync_nodes_rejected_total", "Nodes received by sync and rejected as invalid, summed over peers.", "space")
	descRoundTrips   = desc("korup2p_sync_round_trips_total", "Round trips of the sync sessions this peer started, summed over peers.", "space")
	descBehind       = desc("korup2p_sync_peers_behind", "Peers whose last reconciliation found nodes we lacked.", "space")
	descDenied       = desc("korup2p_access_nodes_rejected_total", "Nodes from peers that access control refused, by reason (a capability rule, or invalid).", "reason")
	descVoided       = desc("korup2p_access_nodes_voided_total", "Nodes from peers stored without effect: written concurrently with a revocation of their capability.")
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

func (c nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSpaceNodes, descSpaceHeads, descWALBytes, descWALSegments, descColdSegments,
		descIndexBytes, descStoreNodes, descHotEntries, descHotBytes, descHotBudget, descHotEvictions, descPeers, descBanned,
		descNetOut, descNetIn, descSyncOut, descSyncIn, descNodesOut, descNodesIn, descSessions, descBehind, descIngested, descRejected, descRoundTrips, descDenied, descVoided} {
		ch <- d
	}
}

func (c nodeCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	st, err := c.n.Stats()
	if err != nil { // closed: nothing to report
		return
	}
	names := map[string]string{} // space ID → name
	for _, sp := range st.Spaces {
		names[sp.ID.KeyString()] = sp.Name
		gauge(descSpaceNodes, float64(sp.Nodes), sp.Name)
		gauge(descSpaceHeads, float64(len(sp.Heads)), sp.Name)
	}
	gauge(descWALBytes, float64(st.Storage.WALBytes))
	gauge(descWALSegments, float64(st.Storage.WALSegments))
	gauge(descColdSegments, float64(st.Storage.ColdSegments))
	gauge(descIndexBytes, float64(st.Storage.IndexBytes))
	gauge(descStoreNodes, float64(st.Storage.Nodes))
	gauge(descHotEntries, float64(st.Hot.Entries))
	gauge(descHotBytes, float64(st.Hot.Bytes))
	gauge(descHotBudget, float64(st.Hot.Budget))
	counter(descHotEvictions, float64(st.Hot.Evictions))

	ns := c.n.NetworkStats()
	gauge(descPeers, float64(len(ns.Connected)))
	as := c.n.AccessStats()
	for r, count := range as.Rejected {
		counter(descDenied, float64(count), string(r))
	}
	counter(descVoided, float64(as.Voided))
	counter(descNetOut, float64(ns.BytesOut))
	counter(descNetIn, float64(ns.BytesIn))
	type sums struct {
		out, in, nodesOut, nodesIn, sessions, behind, ingested, rejected, roundTrips float64
	}
	bySpace := map[string]*sums{}
	for _, sp := range st.Spaces {
		bySpace[sp.Name] = &sums{}
	}
	banned := 0
	for _, p := range ns.Peers {
		if !p.BannedUntil.IsZero() {
			banned++
		}
		for _, ss := range p.Spaces {
			name, ok := names[ss.Space.KeyString()]
			if !ok {
				name = ss.Space.String()
			}
			s := bySpace[name]
			if s == nil {
				s = &sums{}
				bySpace[name] = s
			}
			s.out += float64(ss.BytesSent)
			s.in += float64(ss.BytesReceived)
			s.nodesOut += float64(ss.NodesSent)
			s.nodesIn += float64(ss.NodesReceived)
			s.sessions += float64(ss.Sessions)
			s.ingested += float64(ss.NodesApplied)
			s.rejected += float64(ss.NodesRejected)
			s.roundTrips += float64(ss.RoundTrips)
			if ss.Behind > 0 {
				s.behind++
			}
		}
	}
	gauge(descBanned, float64(banned))
	for name, s := range bySpace {
		counter(descSyncOut, s.out, name)
		counter(descSyncIn, s.in, name)
		counter(descNodesOut, s.nodesOut, name)
		counter(descNodesIn, s.nodesIn, name)
		counter(descSessions, s.sessions, name)
		counter(descIngested, s.ingested, name)
		counter(descRejected, s.rejected, name)
		counter(descRoundTrips, s.roundTrips, name)
		gauge(descBehind, s.behind, name)
	}
}
