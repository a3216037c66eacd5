package exporter

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/probe"
)

// A probe that times out while the exporter's goroutines waited over
// starvedAfter for a core is the exporter's overload (cpu_starved), not
// the target's silence; the same timeout on an idle machine stays the
// target's. The bench's exporter-load run found 37 healthy targets blamed
// this way.
func TestTimeoutWhileStarvedIsOverload(t *testing.T) {
	for _, tc := range []struct {
		name    string
		starved bool
		class   classify.ID
		want    map[string]string
	}{
		{"starved", true, classify.Timeout, map[string]string{"probe_rdp_overloaded": "1", "probe_success": "0"}},
		{"not starved", false, classify.Timeout, map[string]string{"probe_rdp_overloaded": "0", `probe_rdp_result{class="timeout"}`: "1"}},
		{"starved but ok", true, classify.OK, map[string]string{"probe_rdp_overloaded": "0", "probe_success": "1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, testPassword, Options{})
			h.exp.opt.Run = func(ctx context.Context, target string, opt probe.Options) *probe.Result {
				return &probe.Result{Target: target, Failed: probe.PhaseNegotiate, Err: context.DeadlineExceeded}
			}
			h.exp.opt.Classify = func(*probe.Result) classify.Verdict {
				c, _ := classify.Lookup(tc.class)
				return classify.Verdict{Class: c, OK: tc.class == classify.OK, Phase: probe.PhaseNegotiate}
			}
			var calls uint64
			h.exp.slowSchedules = func(time.Duration) uint64 {
				if tc.starved {
					calls++
				}
				return calls
			}
			m := h.probe("10.0.0.1", "info")
			for name, v := range tc.want {
				wantSample(t, m, name, v)
			}
			_, body := h.get("/metrics")
			if got := strings.Contains(body, `rdpprobe_probes_rejected_total{reason="cpu_starved"} 1`); got != (tc.starved && tc.class == classify.Timeout) {
				t.Errorf("cpu_starved counted: %v", got)
			}
		})
	}
}

// slowSchedules reads the runtime's own histogram: it never goes down.
func TestSlowSchedulesMonotonic(t *testing.T) {
	a := slowSchedules(0)
	time.Sleep(time.Millisecond)
	if b := slowSchedules(0); b < a {
		t.Errorf("went down: %d then %d", a, b)
	}
	if slowSchedules(0) == 0 {
		t.Error("no schedule latency at all recorded: the metric is not read")
	}
}
