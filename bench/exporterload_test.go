//go:build unix

package main

import (
	"strings"
	"testing"
)

// TestParseScrape: the generator reads only probe_success,
// probe_rdp_overloaded and the class of a /probe answer, and judges a
// healthy target's answer by them.
func TestParseScrape(t *testing.T) {
	for _, tc := range []struct {
		name, body     string
		want           scrapeResult
		err, misattrib bool
	}{
		{"ok", "# HELP probe_success x\n# TYPE probe_success gauge\nprobe_success 1\nprobe_rdp_overloaded 0\nprobe_rdp_result{class=\"ok\"} 1\n",
			scrapeResult{success: true, class: "ok"}, false, false},
		{"overloaded", "probe_duration_seconds 0.001\nprobe_rdp_overloaded 1\nprobe_success 0\n",
			scrapeResult{overloaded: true}, false, false},
		{"target blamed", "probe_rdp_overloaded 0\nprobe_rdp_result{class=\"tcp_timeout\"} 1\nprobe_success 0\n",
			scrapeResult{class: "tcp_timeout"}, false, true},
		{"overloaded with a class", "probe_rdp_overloaded 1\nprobe_rdp_result{class=\"timeout\"} 1\nprobe_success 0",
			scrapeResult{overloaded: true, class: "timeout"}, false, true},
		{"long line", "probe_ssl_last_chain_info{subject=\"" + strings.Repeat("x", 9000) + "\"} 1\nprobe_success 1\nprobe_rdp_overloaded 0\nprobe_rdp_result{class=\"ok\"} 1\n",
			scrapeResult{success: true, class: "ok"}, false, false},
		{"not a probe answer", "Healthy\n", scrapeResult{}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseScrape(strings.NewReader(tc.body))
			if (err != nil) != tc.err {
				t.Fatalf("err %v, want error %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if got.misattributed() != tc.misattrib {
				t.Errorf("misattributed %v, want %v", got.misattributed(), tc.misattrib)
			}
		})
	}
}
