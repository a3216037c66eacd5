package exporter

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestExamplesUseRealMetrics: every metric name the example dashboard and
// alert rules query is one the exporter serves, so a rename cannot leave
// them silently empty.
func TestExamplesUseRealMetrics(t *testing.T) {
	h := newHarness(t, "wrong-password", Options{})
	names := map[string]bool{}
	collect := func(text string) {
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, "# TYPE ") {
				names[strings.Fields(line)[2]] = true
			}
		}
	}
	for _, q := range []string{"/probe?target=h&module=logon", "/probe?target=h&module=info", "/metrics"} {
		_, body := h.get(q)
		collect(body)
	}
	// Series a probe without a failure or without a clock does not show.
	names["probe_rdp_clock_skew_seconds"] = true
	names["probe_rdp_failed_phase"] = true
	names["rdpprobe_probes_rejected_total"] = true // a vector shows once a scrape was rejected
	metric := regexp.MustCompile(`\b(probe_[a-z_]+|rdpprobe_[a-z_]+)`)

	dash, err := os.ReadFile("../examples/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d any
	if err := json.Unmarshal(dash, &d); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	rules, err := os.ReadFile("../examples/rdpprobe-alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	for file, text := range map[string]string{"grafana-dashboard.json": string(dash), "rdpprobe-alerts.yml": string(rules)} {
		for _, name := range metric.FindAllString(text, -1) {
			if !names[name] {
				t.Errorf("%s queries %s, which the exporter does not serve", file, name)
			}
		}
	}
}
