package report

import (
	"strings"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/classify"
)

func TestNagios(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	base := func() *Report {
		return &Report{Class: "ok", OK: true, Detail: "reached the TLS handshake (TLS 1.3)", DurationMS: 49.2,
			Phases: []PhaseReport{{Phase: "connect", DurationMS: 0.21, OK: true}, {Phase: "negotiate", DurationMS: 40.05, OK: true},
				{Phase: "tls", DurationMS: 9, OK: true}},
			TLS: &TLSJSON{Version: "TLS 1.3", Certificate: &CertJSON{NotAfter: now.Add(100*24*time.Hour + time.Hour)}}}
	}
	opt := NagiosOptions{CertWarnDays: 30, CertCritDays: 0, Now: now}
	for _, tc := range []struct {
		name  string
		edit  func(*Report)
		code  int
		opt   NagiosOptions
		want  string
		state int
	}{
		{"ok", func(*Report) {}, classify.NagiosOK, opt,
			"RDP OK - ok: reached the TLS handshake (TLS 1.3) | time=0.049s connect=0.2ms negotiate=40.0ms tls=9.0ms cert_days=100;30;0", 0},
		{"nla not enforced", func(r *Report) {
			r.Findings = []FindingJSON{{ID: classify.FindingNLANotEnforced, Severity: "warning", Text: "NLA was offered but..."}}
		}, classify.NagiosWarning, opt, "RDP WARNING - ok: nla not enforced; reached the TLS handshake (TLS 1.3) | ", 1},
		{"certificate warning", func(*Report) {}, classify.NagiosOK, NagiosOptions{CertWarnDays: 120, Now: now},
			"RDP WARNING - ok: certificate expires in 100 days (2026-09-09); reached", 1},
		{"certificate critical", func(*Report) {}, classify.NagiosOK, NagiosOptions{CertWarnDays: 200, CertCritDays: 101, Now: now},
			"RDP CRITICAL - ok: certificate expires in 100 days", 2},
		{"expired", func(r *Report) { r.TLS.Certificate.NotAfter = now.Add(-49 * time.Hour) }, classify.NagiosOK, opt,
			"RDP CRITICAL - ok: certificate expired 3 days ago", 2},
		{"thresholds never lower", func(r *Report) { r.Class, r.OK = "nla_required", false }, classify.NagiosCritical, NagiosOptions{Now: now},
			"RDP CRITICAL - nla_required: ", 2},
		{"no certificate", func(r *Report) { r.TLS = nil; r.Class, r.OK = "tcp_refused", false }, classify.NagiosCritical, opt,
			"RDP CRITICAL - tcp_refused: reached the TLS handshake (TLS 1.3) | time=0.049s connect=0.2ms negotiate=40.0ms tls=9.0ms", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := base()
			tc.edit(rep)
			line, state := Nagios(rep, tc.code, tc.opt)
			if state != tc.state || !strings.HasPrefix(line, tc.want) {
				t.Errorf("state %d, %q\nwant %d, %q...", state, line, tc.state, tc.want)
			}
			if strings.Count(line, "|") > 1 || len(line) > MaxNagiosLine {
				t.Errorf("%d bytes, %d bars: %q", len(line), strings.Count(line, "|"), line)
			}
		})
	}
}

// TestNagiosLength: a long detail (or a server's long name) is cut to keep
// the line, perfdata included, under 200 characters.
func TestNagiosLength(t *testing.T) {
	rep := &Report{Class: "credentials_rejected_no_reason", Detail: strings.Repeat("the server calls itself VÉRY-LONG | name ", 20), DurationMS: 71,
		Phases: []PhaseReport{{Phase: "connect"}, {Phase: "negotiate"}, {Phase: "tls"}, {Phase: "ntlm_info"}, {Phase: "logon"}}}
	line, _ := Nagios(rep, classify.NagiosCritical, NagiosOptions{})
	if len(line) > MaxNagiosLine || !strings.Contains(line, "... | time=0.071s connect=0.0ms") || strings.Count(line, "|") != 1 {
		t.Errorf("%d bytes: %q", len(line), line)
	}
	if u := NagiosUsage("need exactly one target (HOST[:PORT]), got 0"); u != "RDP UNKNOWN - usage: need exactly one target (HOST[:PORT]), got 0" {
		t.Errorf("usage line %q", u)
	}
	if u := NagiosUsage(strings.Repeat("x", 500) + "\n| forged=1"); len(u) > MaxNagiosLine || strings.Contains(u, "|") || strings.Contains(u, "\n") {
		t.Errorf("usage line %q", u)
	}
}
