package probe_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

// TestHostileServers: whatever a server does (stall, trickle, reset, huge
// lengths, endless records, another protocol), a probe ends within its
// deadline with a named class, its memory stays bounded, and no goroutine
// outlives the run.
func TestHostileServers(t *testing.T) {
	const (
		phaseTimeout = 300 * time.Millisecond
		timeout      = 2 * time.Second
		heapLimit    = 4 << 20 // bytes the heap may grow by during one probe
	)
	creds := &probe.Credentials{User: rdptest.TestUser, Domain: rdptest.TestDomain, Password: rdptest.TestPassword}
	accounts := map[string]string{rdptest.TestDomain + `\` + rdptest.TestUser: rdptest.TestPassword}
	for _, tc := range []struct {
		name  string
		fault rdptest.Fault
		creds bool
		class classify.ID
	}{
		{"stall-negotiate", rdptest.Fault{At: probe.PhaseNegotiate, Kind: rdptest.FaultStall}, false, "timeout"},
		{"stall-tls", rdptest.Fault{At: probe.PhaseTLS, Kind: rdptest.FaultStall}, false, "timeout"},
		{"stall-ntlm-info", rdptest.Fault{At: probe.PhaseNTLMInfo, Kind: rdptest.FaultStall}, false, "timeout"},
		{"stall-logon", rdptest.Fault{At: probe.PhaseLogon, Kind: rdptest.FaultStall}, true, "timeout"},
		{"trickle-negotiate", rdptest.Fault{At: probe.PhaseNegotiate, Kind: rdptest.FaultTrickle}, false, "timeout"},
		{"trickle-tls", rdptest.Fault{At: probe.PhaseTLS, Kind: rdptest.FaultTrickle}, false, "timeout"},
		{"trickle-ntlm-info", rdptest.Fault{At: probe.PhaseNTLMInfo, Kind: rdptest.FaultTrickle}, false, "timeout"},
		{"reset-negotiate", rdptest.Fault{At: probe.PhaseNegotiate, Kind: rdptest.FaultReset}, false, "server_closed"},
		{"reset-tls", rdptest.Fault{At: probe.PhaseTLS, Kind: rdptest.FaultReset}, false, "tls_failed"},
		{"reset-ntlm-info", rdptest.Fault{At: probe.PhaseNTLMInfo, Kind: rdptest.FaultReset}, false, "server_closed"},
		// A reset in the middle of the answer to AUTHENTICATE counts as the
		// server closing after AUTHENTICATE, like FreeRDP's bad-password close.
		{"reset-logon", rdptest.Fault{At: probe.PhaseLogon, Kind: rdptest.FaultReset}, true, "credentials_rejected_no_reason"},
		{"huge-tpkt", rdptest.Fault{At: probe.PhaseNegotiate, Kind: rdptest.FaultHugeTPKT}, false, "protocol_error"},
		{"huge-asn1-ntlm-info", rdptest.Fault{At: probe.PhaseNTLMInfo, Kind: rdptest.FaultHugeASN1}, false, "protocol_error"},
		{"huge-asn1-logon", rdptest.Fault{At: probe.PhaseLogon, Kind: rdptest.FaultHugeASN1}, true, "protocol_error"},
		{"endless-tls-handshake", rdptest.Fault{At: probe.PhaseTLS, Kind: rdptest.FaultEndlessTLS}, false, "tls_failed"},
		{"endless-tls-records", rdptest.Fault{At: probe.PhaseNTLMInfo, Kind: rdptest.FaultEndlessTLS}, false, "protocol_error"},
		{"http", rdptest.Fault{At: probe.PhaseNegotiate, Kind: rdptest.FaultHTTP}, false, "not_rdp"},
		{"ssh", rdptest.Fault{Kind: rdptest.FaultSSH}, false, "not_rdp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := settledGoroutines(0)
			var ms0, ms1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms0)

			srv, err := rdptest.NewServer(rdptest.Scenario{Accounts: accounts, Fault: tc.fault})
			if err != nil {
				t.Fatal(err)
			}
			opt := probe.Options{PhaseTimeout: phaseTimeout, Timeout: timeout}
			if tc.creds {
				opt.Credentials = creds
			}
			start := time.Now()
			r := probe.Run(context.Background(), srv.Addr, opt)
			took := time.Since(start)
			runtime.ReadMemStats(&ms1)
			srv.Close()

			if took > timeout+time.Second {
				t.Errorf("the probe took %v, past its %v deadline", took, timeout)
			}
			v := classify.Classify(r)
			if v.Class.ID != tc.class {
				t.Errorf("class %s (err %v), want %s", v.Class.ID, r.Err, tc.class)
			}
			if tc.fault.Kind != rdptest.FaultSSH && !srv.Saw(rdptest.EventFault, "") {
				t.Errorf("the server never played its fault: the test proves nothing (events %v)", srv.Events())
			}
			// TotalAlloc only grows: it bounds what the probe allocated
			// whatever the GC did meanwhile (the server's side included).
			if grew := ms1.TotalAlloc - ms0.TotalAlloc; grew > heapLimit {
				t.Errorf("%d bytes allocated during the probe, more than %d", grew, heapLimit)
			}
			if after := settledGoroutines(before); after > before {
				buf := make([]byte, 1<<16)
				t.Errorf("%d goroutines after Close, %d before:\n%s", after, before, buf[:runtime.Stack(buf, true)])
			}
		})
	}
}

// settledGoroutines polls runtime.NumGoroutine for up to a second until it
// is at most want (want 0: until it stops changing), and returns it.
func settledGoroutines(want int) int {
	n := runtime.NumGoroutine()
	for i := 0; i < 100; i++ {
		time.Sleep(10 * time.Millisecond)
		m := runtime.NumGoroutine()
		if want > 0 && m <= want || want == 0 && m == n {
			return m
		}
		n = m
	}
	return n
}

// TestDefaultOfferReadsEarlyUserAuth: with no --protocols, the probe offers
// what mstsc offers, HYBRID_EX included, so a Windows-like server that denies
// the Remote Desktop sign-in right says so before any session (MS-RDPBCGR
// 2.2.10.2), and a server without HYBRID_EX still gets plain NLA.
func TestDefaultOfferReadsEarlyUserAuth(t *testing.T) {
	creds := &probe.Credentials{User: rdptest.TestUser, Domain: rdptest.TestDomain, Password: rdptest.TestPassword}
	accounts := map[string]string{rdptest.TestDomain + `\` + rdptest.TestUser: rdptest.TestPassword}
	for _, tc := range []struct {
		name     string
		sc       rdptest.Scenario
		selected negotiate.Protocol
		class    classify.ID
	}{
		{"denied", rdptest.Scenario{Accounts: accounts, EarlyUserAuth: negotiate.EarlyUserAuthAccessDenied},
			negotiate.ProtocolHybridEx, "no_rdp_signin_right"},
		{"allowed", rdptest.Scenario{Accounts: accounts}, negotiate.ProtocolHybridEx, "ok"},
		{"no HYBRID_EX", rdptest.Scenario{Accounts: accounts, Negotiation: rdptest.Negotiation{Accept: negotiate.ProtocolSSL | negotiate.ProtocolHybrid}},
			negotiate.ProtocolHybrid, "ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := rdptest.NewServer(tc.sc)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			r := probe.Run(context.Background(), srv.Addr, probe.Options{Credentials: creds, Timeout: 5 * time.Second})
			if r.Offered != probe.DefaultProtocols {
				t.Errorf("offered %v, want %v", r.Offered, probe.DefaultProtocols)
			}
			if got := r.Negotiation.Selected(); got != tc.selected {
				t.Errorf("server selected %v, want %v", got, tc.selected)
			}
			if v := classify.Classify(r); v.Class.ID != tc.class {
				t.Errorf("class %s (%s), want %s; err %v", v.Class.ID, v.Detail, tc.class, r.Err)
			}
		})
	}
}
