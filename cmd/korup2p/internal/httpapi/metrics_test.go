package httpapi_test

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestMetrics: /metrics counts the API's writes, reads and errors, and reports the
// Node's gauges as of the scrape.
func TestMetrics(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	for _, k := range []string{"m/1", "m/2", "m/3"} {
		mustPut(t, f.c, "default", k, `1`)
	}
	if _, err := f.c.Delete(ctx, "default", "m/3"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := f.c.Get(ctx, "default", "m/1", time.Time{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	f.c.Get(ctx, "default", "m/none", time.Time{}, nil) // a 404
	if _, err := f.c.List(ctx, "default", "", "", 0); err != nil {
		t.Fatal(err)
	}
	status, body := f.do(t, "GET", "/metrics", "")
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	text := "\n" + string(body)
	for _, want := range []string{
		`korup2p_api_writes_total{op="put"} 3`,
		`korup2p_api_writes_total{op="del"} 1`,
		`korup2p_api_writes_total{op="batch"} 0`,
		`korup2p_api_reads_total{op="get"} 2`,
		`korup2p_api_reads_total{op="list"} 1`,
		`korup2p_api_errors_total{code="not_found"} 1`,
		`korup2p_api_request_duration_seconds_count{route="PUT /v1/spaces/{space}/keys/{key...}"} 3`,
		`korup2p_space_nodes{space="default"} 5`,
		`korup2p_space_heads{space="default"} 1`,
		`korup2p_peers_connected 0`,
		`korup2p_api_watchers 0`,
	} {
		if !strings.Contains(text, "\n"+want+"\n") {
			t.Errorf("no %q", want)
		}
	}
	for _, re := range []string{
		`\nkorup2p_storage_wal_bytes [1-9]`,
		`\nkorup2p_storage_wal_segments [1-9]`,
		`\nkorup2p_storage_index_bytes \d`,
		`\nkorup2p_hot_entries [1-9]`,
		`\nkorup2p_hot_budget_bytes [1-9]`,
		`\nkorup2p_network_bytes_sent_total 0`,
		`\ngo_goroutines \d`,
	} {
		if !regexp.MustCompile(re).MatchString(text) {
			t.Errorf("no match for %q", re)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}
