package hostile

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rdpprobe/rdpprobe/exporter"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

// maxScrapeBody bounds one /probe?debug=true answer: the exporter keeps
// at most 1 MiB of a scrape's log (and --history.limit of them), plus the
// metrics.
const maxScrapeBody = (1 << 20) + 64<<10

// TestExporterOverHostileTargets: the exporter scrapes every hostile
// server at once with a logon module that opens the session: every answer
// comes, its debug log is bounded and free of terminal controls, nothing
// is blocked (no credential reached a server that could lock the
// account), and the history pages stay small.
func TestExporterOverHostileTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("20 hostile servers scraped with 4s deadlines")
	}
	targets, servers := hostileFleet(t)
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(rdptest.TestPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chmod(pw, 0o600) // whatever the umask
	cfg, err := exporter.Parse([]byte(`
modules:
  session:
    phases: [session]
    timeout: 4s
    phase_timeout: 2s
    credentials:
      user: 'CORP\alice'
      password_file: pw
`), dir, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(exporter.New(cfg, exporter.Options{History: 100}).Handler())
	defer srv.Close()
	get := func(path string) (int, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "5")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// As Prometheus would: every target at once, the debug view and the
	// metrics.
	var wg sync.WaitGroup
	for name, addr := range targets {
		for _, debug := range []bool{true, false} {
			wg.Go(func() {
				q := "/probe?module=session&target=" + url.QueryEscape(addr)
				if debug {
					q += "&debug=true"
				}
				code, body := get(q)
				switch {
				case code != 200:
					t.Errorf("%s: %d %.200s", name, code, body)
					return
				case len(body) > maxScrapeBody:
					t.Errorf("%s: a %d-byte answer, more than %d", name, len(body), maxScrapeBody)
				case strings.Contains(body, rdptest.TestPassword):
					t.Errorf("%s: the password is in the exporter's answer", name)
				case strings.Contains(body, "probe_rdp_logon_blocked 1"):
					t.Errorf("%s: logons blocked after a hostile server's answer:\n%s", name, grepLines(body, "probe_rdp_"))
				}
				// The debug log's report is JSON, which escapes every control
				// but leaves bidi characters as they are; tabs are slog's.
				if bad := unsafeText([]byte(strings.ReplaceAll(body, "\t", " ")), true); bad != "" && !strings.HasPrefix(bad, "bidi") {
					t.Errorf("%s: the answer holds %s", name, bad)
				}
			})
		}
	}
	wg.Wait()
	_, metrics := get("/metrics")
	if !strings.Contains(metrics, "rdpprobe_logon_blocked 0") {
		t.Errorf("/metrics:\n%s", grepLines(metrics, "rdpprobe_logon"))
	}
	if code, index := get("/"); code != 200 || len(index) > 1<<20 {
		t.Errorf("/: %d, %d bytes", code, len(index))
	}
	for id := range 2 * len(targets) {
		if code, body := get("/logs?id=" + strconv.Itoa(id)); code != 200 || len(body) > maxScrapeBody {
			t.Errorf("/logs?id=%d: %d, %d bytes", id, code, len(body))
		}
	}
	for _, s := range servers {
		noPasswordLeak(t, s, false)
	}
	checkPeakRSS(t)
}

func grepLines(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
