package probe_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

// TestHostileGateways: whatever a gateway sends (a head without end, a
// body of gigabytes, a seed without a packet, silence), the probe ends
// within its deadline with a named class, holds little memory, and leaves
// no goroutine behind; and it sends the gateway no credentials before the
// gateway asked for them.
func TestHostileGateways(t *testing.T) {
	const (
		phaseTimeout = 300 * time.Millisecond
		heapLimit    = 4 << 20
	)
	in200 := []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	for _, tc := range []struct {
		name  string
		gw    rdptest.GatewayScenario
		tr    probe.GatewayTransport
		class classify.ID
	}{
		{"endless head", rdptest.GatewayScenario{Raw: map[string][]byte{"RDG_OUT_DATA": []byte("HTTP/1.1 401 Unauthorized\r\nX: " + strings.Repeat("a", 64<<10))}},
			probe.GatewayAuto, classify.GatewayProtocolError},
		{"huge body", rdptest.GatewayScenario{Raw: map[string][]byte{"RDG_OUT_DATA": []byte("HTTP/1.1 401 Unauthorized\r\nContent-Length: 1000000000000\r\n\r\n")}},
			probe.GatewayAuto, classify.GatewayProtocolError},
		{"huge chunk", rdptest.GatewayScenario{Raw: map[string][]byte{"RDG_OUT_DATA": []byte("HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\nffffffffff\r\n")}},
			probe.GatewayAuto, classify.GatewayProtocolError},
		{"not HTTP", rdptest.GatewayScenario{Raw: map[string][]byte{"RDG_OUT_DATA": []byte("\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x00\x08\x00\x02\x00\x00\x00")}},
			probe.GatewayAuto, classify.GatewayNotRDG},
		{"seed without end", rdptest.GatewayScenario{Raw: map[string][]byte{"RDG_OUT_DATA": append([]byte("HTTP/1.1 200 OK\r\n\r\n"), make([]byte, 4096)...),
			"RDG_IN_DATA": in200}}, probe.GatewayHTTP, classify.GatewayProtocolError},
		{"silence after the upgrade", rdptest.GatewayScenario{Fault: rdptest.Fault{At: probe.PhaseGatewayTunnel, Kind: rdptest.FaultStall}},
			probe.GatewayWebSocket, classify.Timeout},
		{"silence at TLS", rdptest.GatewayScenario{Fault: rdptest.Fault{At: probe.PhaseGatewayTLS, Kind: rdptest.FaultStall}},
			probe.GatewayAuto, classify.GatewayTLSFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := settledGoroutines(0)
			var ms0, ms1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms0)
			g := tc.gw
			srv, err := rdptest.NewServer(rdptest.Scenario{Accounts: map[string]string{rdptest.TestDomain + `\` + rdptest.TestUser: rdptest.TestPassword}, Gateway: &g})
			if err != nil {
				t.Fatal(err)
			}
			creds := &probe.Credentials{User: rdptest.TestUser, Domain: rdptest.TestDomain, Password: rdptest.TestPassword}
			opt := probe.Options{PhaseTimeout: phaseTimeout, Timeout: 2 * time.Second, Credentials: creds, Gateway: srv.Gateway.ProbeOptions(creds)}
			opt.Gateway.Transport = tc.tr
			start := time.Now()
			r := probe.Run(context.Background(), srv.Addr, opt)
			took := time.Since(start)
			runtime.GC()
			runtime.ReadMemStats(&ms1)
			v := classify.Classify(r)
			if v.Class.ID != tc.class {
				t.Errorf("class %s (%v), want %s", v.Class.ID, r.Err, tc.class)
			}
			if took > 6*phaseTimeout {
				t.Errorf("took %v", took)
			}
			if grew := int64(ms1.HeapAlloc) - int64(ms0.HeapAlloc); grew > heapLimit {
				t.Errorf("the heap grew by %d bytes", grew)
			}
			if g.Raw != nil && r.Gateway.LogonAttempted {
				t.Errorf("credentials went to a gateway that had not asked for them")
			}
			srv.Close()
			if after := settledGoroutines(before); after > before {
				t.Errorf("%d goroutines before, %d after", before, after)
			}
		})
	}
}

// A gateway that offers only Basic gets the password itself only when the
// options allow it; otherwise the probe says so and sends nothing.
func TestGatewayBasic(t *testing.T) {
	srv, err := rdptest.NewServer(rdptest.Scenario{Accounts: map[string]string{rdptest.TestDomain + `\` + rdptest.TestUser: rdptest.TestPassword},
		Gateway: &rdptest.GatewayScenario{Schemes: []string{"Basic"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	creds := &probe.Credentials{User: rdptest.TestUser, Domain: rdptest.TestDomain, Password: rdptest.TestPassword}
	for _, allow := range []bool{false, true} {
		opt := probe.Options{PhaseTimeout: time.Second, Depth: probe.PhaseGatewayChannel, Gateway: srv.Gateway.ProbeOptions(creds)}
		opt.Gateway.AllowBasic = allow
		r := probe.Run(context.Background(), srv.Addr, opt)
		v := classify.Classify(r)
		want := classify.GatewayAuthFailed
		if allow {
			want = classify.OK
		}
		if v.Class.ID != want || r.Gateway.LogonAttempted != allow {
			t.Errorf("allow Basic %v: %s (%v), logon attempted %v", allow, v.Class.ID, r.Err, r.Gateway.LogonAttempted)
		}
		if !allow && !strings.Contains(v.Detail, "only Basic") {
			t.Errorf("the detail does not say why: %s", v.Detail)
		}
	}
	if n := srv.Gateway.Count(rdptest.EventGatewayLogon, "ok CORP\\alice (Basic)"); n != 1 {
		t.Errorf("%d Basic logons at the gateway, want 1", n)
	}
}
