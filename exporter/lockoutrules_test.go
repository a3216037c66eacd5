package exporter

import (
	"strings"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

// TestFakeLockoutNeverBlocks: a server that answers the NTLM NEGOTIATE
// with errorCode STATUS_ACCOUNT_LOCKED_OUT has been given no credential.
// With the real probe and classifier, a logon module reports
// credssp_refused, no logon attempt, no block, caches nothing, and the
// next scrape probes again.
func TestFakeLockoutNeverBlocks(t *testing.T) {
	srv, err := rdptest.NewServer(rdptest.Scenario{NegotiateErrorCode: negotiate.StatusAccountLockedOut})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	h := newHarness(t, testPassword, Options{})
	h.exp.opt.Run, h.exp.opt.Classify = probe.Run, classify.Classify
	for i := range 3 {
		m := h.probe(srv.Addr, "logon")
		wantSample(t, m, `probe_rdp_result{class="credssp_refused"}`, "1")
		wantSample(t, m, "probe_rdp_logon_attempted", "0")
		wantSample(t, m, "probe_rdp_logon_blocked", "0")
		wantSample(t, m, "probe_rdp_logon_cache_age_seconds", "0")
		if got := strings.Count(strings.Join(eventKinds(srv), " "), rdptest.EventNegotiate); got != i+1 {
			t.Fatalf("scrape %d: the server saw %d NTLM NEGOTIATEs, want one per scrape (nothing cached)", i+1, got)
		}
	}
	if srv.Saw(rdptest.EventAuthenticate, "") || srv.Saw(rdptest.EventCredentials, "") {
		t.Errorf("credentials went to a server that refused CredSSP: %v", srv.Events())
	}
	if _, body := h.get("/metrics"); !strings.Contains(body, "rdpprobe_logon_blocked 0") || strings.Contains(body, "rdpprobe_logon_attempts_total{") {
		t.Errorf("/metrics counts a logon or a block:\n%s", grep(body, "rdpprobe_logon"))
	}
}

func eventKinds(s *rdptest.Server) []string {
	var out []string
	for _, e := range s.Events() {
		out = append(out, e.Kind)
	}
	return out
}

// TestAutologonFailureBlocks: a module with autologon_without_nla gives a
// TLS-only server the password in the Client Info; when the server refuses
// it (a Save Session Info bad password), that was a logon: the result is
// cached and blocks, so scrapes make one attempt, not one each.
func TestAutologonFailureBlocks(t *testing.T) {
	srv, err := rdptest.NewServer(rdptest.Scenario{Negotiation: rdptest.Negotiation{Accept: negotiate.ProtocolSSL}, Session: &rdptest.Session{
		LogonError: &negotiate.LogonErrorsInfo{Type: negotiate.LogonErrorType(negotiate.StatusLogonFailure), Data: uint32(negotiate.LogonFailedBadPassword)}}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	h := newHarness(t, testPassword, Options{})
	writeFile(t, h.dir, "rdpprobe.yml", `
modules:
  autologon:
    phases: [session]
    autologon_without_nla: true
    credentials:
      user: 'LAB\labuser'
      password_file: pw
`, 0o600)
	if code, body := h.post("/-/reload"); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	h.exp.opt.Run, h.exp.opt.Classify = probe.Run, classify.Classify
	for range 3 {
		m := h.probe(srv.Addr, "autologon")
		wantSample(t, m, `probe_rdp_result{class="logon_failed"}`, "1")
		wantSample(t, m, "probe_rdp_logon_attempted", "1")
		wantSample(t, m, "probe_rdp_logon_blocked", "1")
	}
	srv.WaitConns(1, 2*time.Second)
	n := 0
	for _, e := range srv.Events() {
		if e.Kind == rdptest.EventClientInfo {
			n++
			if !strings.Contains(e.Detail, "with a password") {
				t.Errorf("Client Info %q: the module opted in to autologon", e.Detail)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d Client Info PDUs reached the server, want exactly 1 (the failure blocks the next logons)", n)
	}
}
