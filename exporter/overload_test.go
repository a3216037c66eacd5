package exporter

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

// closer accepts TCP connections on loopback and ends each after delay
// without a word: a server that stalls, then hangs up.
func closer(t *testing.T, delay time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() { close(done); ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				select {
				case <-time.After(delay):
				case <-done:
				}
			})
		}
	})
	return ln.Addr().String()
}

// TestOverloadNeverBlamesTheTarget: many scrapes with a short scrape
// timeout against stalling servers, at several queue depths. Every scrape
// is answered within its deadline, either as overloaded (counted in
// rdpprobe_probes_rejected_total) or by a probe that had at least the
// connect phase's minimum to run: none reports a target timeout it had no
// time to see.
func TestOverloadNeverBlamesTheTarget(t *testing.T) {
	if testing.Short() {
		t.Skip("several rounds of 2-second scrapes")
	}
	const (
		slots   = 2
		scrapes = 24
		header  = "2.5" // seconds; minus the 0.5s offset, a 2s probe deadline
		budget  = 2500 * time.Millisecond
		grace   = 750 * time.Millisecond
	)
	// A third of the targets never answer (a probe there runs to its
	// deadline); the others hang up after 0.1-1.9s, so slots free all
	// through the window in which the queued scrapes wait. The first
	// scrapes, which take the slots, go to servers that hang up soon, so
	// that the queue always moves.
	targets := make([]string, scrapes)
	for i := range targets {
		if i%3 == 2 {
			srv, err := rdptest.NewServer(rdptest.Scenario{Fault: rdptest.Fault{At: probe.PhaseNegotiate, Kind: rdptest.FaultStall}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Close() })
			targets[i] = srv.Addr
		} else {
			targets[i] = closer(t, time.Duration(100+(i*337)%1800)*time.Millisecond)
		}
	}
	need := (&Module{}).needs()
	for _, depth := range []int{1, 4, 16, 64} {
		t.Run(fmt.Sprintf("queue-%d", depth), func(t *testing.T) {
			h := newHarness(t, testPassword, Options{MaxConcurrent: slots, MaxQueue: depth, TimeoutOffset: 500 * time.Millisecond})
			h.exp.opt.Run, h.exp.opt.Classify, h.exp.opt.Now = probe.Run, classify.Classify, time.Now
			type answer struct {
				m    map[string]string
				took time.Duration
			}
			answers := make([]answer, scrapes)
			var wg sync.WaitGroup
			for i, target := range targets {
				if i == slots {
					waitFor(t, func() bool { return len(h.exp.sem) == slots })
				}
				wg.Go(func() {
					start := time.Now()
					code, body := h.get("/probe?target="+url.QueryEscape(target)+"&module=info", "X-Prometheus-Scrape-Timeout-Seconds", header)
					if code != 200 {
						t.Errorf("scrape %d: %d %s", i, code, body)
					}
					answers[i] = answer{samples(body), time.Since(start)}
				})
			}
			wg.Wait()
			overloaded, probed := 0, 0
			for i, a := range answers {
				if a.took > budget+grace {
					t.Errorf("scrape %d took %v, past its %v scrape timeout", i, a.took, budget)
				}
				if a.m["probe_rdp_overloaded"] == "1" {
					overloaded++
					if a.m["probe_success"] != "0" {
						t.Errorf("scrape %d: overloaded with probe_success %q", i, a.m["probe_success"])
					}
					continue
				}
				probed++
				class := ""
				for k := range a.m {
					if c, ok := strings.CutPrefix(k, `probe_rdp_result{class="`); ok {
						class = strings.TrimSuffix(c, `"}`)
					}
				}
				// What the probe itself had: its phases (probe_duration_seconds
				// counts the wait for a slot too).
				ran := 0.0
				for k, v := range a.m {
					if strings.HasPrefix(k, "probe_rdp_phase_duration_seconds{") {
						f, _ := strconv.ParseFloat(v, 64)
						ran += f
					}
				}
				switch class {
				case "timeout", "tcp_timeout":
					if ran < 0.9*need.Seconds() {
						t.Errorf("scrape %d of %s: class %s after a probe of %.3fs, less than the %v a probe is given: the exporter blamed the target for its own queue",
							i, targets[i], class, ran, need)
					}
				case "server_closed":
				default:
					t.Errorf("scrape %d of %s: class %q, want timeout, server_closed or overloaded (%v)", i, targets[i], class, a.m)
				}
			}
			_, metrics := h.get("/metrics")
			rejected := 0
			for k, v := range samples(metrics) {
				if strings.HasPrefix(k, "rdpprobe_probes_rejected_total{") {
					n, _ := strconv.Atoi(v)
					rejected += n
				}
			}
			if rejected != overloaded {
				t.Errorf("%d scrapes answered overloaded, rdpprobe_probes_rejected_total says %d\n%s", overloaded, rejected, grep(metrics, "rdpprobe_probes_rejected"))
			}
			if overloaded == 0 || probed <= slots {
				t.Errorf("%d overloaded, %d probed of %d: the round did not exercise the queue", overloaded, probed, scrapes)
			}
			t.Logf("queue %d: %d probed, %d overloaded", depth, probed, overloaded)
		})
	}
}
