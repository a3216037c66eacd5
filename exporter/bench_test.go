package exporter

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/internal/labtest"
)

const stormClients = 200

// BenchmarkScrapeStorm: 200 clients scrape /probe at once against the lab's
// NLA server (ntlm_info, no logon), each with its own module so that no two
// share a probe in flight: every request is a real probe. It reports
// probes/s, the exporter's RSS after a warm-up and at the end, and the
// goroutines left over. The figure is 10,000 probes:
//
//	go test -run '^$' -bench ScrapeStorm -benchtime 10000x ./exporter/
func BenchmarkScrapeStorm(b *testing.B) {
	nla := labtest.Peer(b, "nla")
	var cfg strings.Builder
	cfg.WriteString("modules:\n")
	for i := range stormClients {
		fmt.Fprintf(&cfg, "  m%d: {phases: [connect, negotiate, tls, ntlm_info], timeout: 30s}\n", i)
	}
	c, err := Parse([]byte(cfg.String()), b.TempDir(), os.LookupEnv)
	if err != nil {
		b.Fatal(err)
	}
	e := New(c, Options{})
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: stormClients, MaxConnsPerHost: stormClients}}
	defer client.CloseIdleConnections()

	var failed, rejected atomic.Int64
	storm := func(n int) {
		var next atomic.Int64
		var wg sync.WaitGroup
		for i := range stormClients {
			u := srv.URL + "/probe?module=m" + strconv.Itoa(i) + "&target=" + url.QueryEscape(nla)
			wg.Go(func() {
				for next.Add(1) <= int64(n) {
					resp, err := client.Get(u)
					if err != nil {
						failed.Add(1)
						continue
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						failed.Add(1)
					} else if strings.Contains(string(body), "\nprobe_rdp_overloaded 1\n") {
						rejected.Add(1)
					}
				}
			})
		}
		wg.Wait()
	}

	// Warm up: connections, buffers and the runtime settle before the
	// "before" figures.
	storm(2 * stormClients)
	runtime.GC()
	goroutinesBefore := runtime.NumGoroutine()
	rssBefore := rss(b)
	failed.Store(0)
	rejected.Store(0)

	b.ResetTimer()
	start := time.Now()
	storm(b.N)
	elapsed := time.Since(start)
	b.StopTimer()

	runtime.GC()
	rssAfter := rss(b)
	client.CloseIdleConnections()
	// Goroutines of closing connections take a moment to end; only a leak
	// outlasts the wait.
	leaked := 0
	for range 50 {
		if leaked = runtime.NumGoroutine() - goroutinesBefore; leaked <= 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "probes/s")
	b.ReportMetric(float64(rssBefore)/(1<<20), "rss_before_MiB")
	b.ReportMetric(float64(rssAfter)/(1<<20), "rss_after_MiB")
	b.ReportMetric(float64(max(leaked, 0)), "goroutines_left")
	b.ReportMetric(float64(failed.Load()), "failed")
	b.ReportMetric(float64(rejected.Load()), "rejected")
	b.ReportMetric(0, "ns/op")
	if leaked > 0 {
		b.Errorf("%d goroutines more than before the storm", leaked)
	}
	if failed.Load() > 0 {
		b.Errorf("%d requests failed", failed.Load())
	}
}

// rss is the process' resident set size in bytes (Linux).
func rss(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		b.Skipf("no /proc/self/statm: %v", err)
	}
	f := strings.Fields(string(data))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}
