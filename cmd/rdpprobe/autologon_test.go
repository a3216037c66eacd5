package main

import (
	"strings"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/internal/labtest"
	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

// sessionOf returns the "session" object of a JSON report.
func sessionOf(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	s, ok := m["session"].(map[string]any)
	if !ok {
		t.Fatalf("no session in the report: %v", m)
	}
	return s
}

// TestAutologonWithoutNLAFlag: a TLS-only server (no NLA, so nothing
// authenticates it) gets the account without the password, and the verdict
// says why and how to opt in; with --autologon-without-nla it gets the
// password, and the verdict says it went.
func TestAutologonWithoutNLAFlag(t *testing.T) {
	for _, optIn := range []bool{false, true} {
		srv, err := rdptest.NewServer(rdptest.Scenario{Negotiation: rdptest.Negotiation{Accept: negotiate.ProtocolSSL}, Session: &rdptest.Session{}})
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv(passwordEnv, rdptest.TestPassword)
		args := []string{"--output", "json", srv.Addr, "-u", rdptest.TestDomain + `\` + rdptest.TestUser, "--depth", "session"}
		if optIn {
			args = append(args, "--autologon-without-nla")
		}
		code, stdout, stderr := rdpprobe(t, args...)
		srv.WaitConns(1, 2*time.Second)
		srv.Close()
		m := jsonReport(t, stdout)
		s := sessionOf(t, m)
		detail, _ := m["detail"].(string)
		if m["class"] != "credentials_not_verified" || code != 1 {
			t.Fatalf("opt-in %v: class %v exit %d\n%s%s", optIn, m["class"], code, stdout, stderr)
		}
		if strings.Contains(stdout, rdptest.TestPassword) || strings.Contains(stderr, rdptest.TestPassword) {
			t.Fatal("the password reached the output")
		}
		if !optIn {
			if !srv.Saw(rdptest.EventClientInfo, "without a password") || s["autologon"] != false || s["password_withheld"] == nil {
				t.Errorf("without the flag: the server saw %v; session %v", srv.Events(), s)
			}
			for _, w := range []string{"without the password, withheld because", "--autologon-without-nla", "man in the middle"} {
				if !strings.Contains(detail, w) {
					t.Errorf("without the flag: detail %q lacks %q", detail, w)
				}
			}
			continue
		}
		if !srv.Saw(rdptest.EventClientInfo, "with a password") || s["autologon"] != true || s["password_withheld"] != nil {
			t.Errorf("with the flag: the server saw %v; session %v", srv.Events(), s)
		}
		if !strings.Contains(detail, "went to it in the Client Info PDU") || strings.Contains(detail, "withheld") {
			t.Errorf("with the flag: detail %q", detail)
		}
	}
}

// TestLabAutologonWithoutNLAFlag runs exactly that flag against the lab's
// FreeRDP TLS server with --depth session: without it the password is
// withheld and the verdict says so; with it the Client Info carries it and
// the verdict says the credentials went, unjudged.
func TestLabAutologonWithoutNLAFlag(t *testing.T) {
	addr := labtest.Peer(t, "tls")
	user, domain, password := labtest.Account()
	t.Setenv(passwordEnv, password)
	details := map[bool]string{}
	for _, optIn := range []bool{false, true} {
		args := []string{"--output", "json", addr, "-u", domain + `\` + user, "--depth", "session"}
		if optIn {
			args = append(args, "--autologon-without-nla")
		}
		code, stdout, stderr := rdpprobe(t, args...)
		m := jsonReport(t, stdout)
		if m["class"] != "credentials_not_verified" || m["phase"] != "session" || code != 1 {
			t.Fatalf("opt-in %v: class %v phase %v exit %d\n%s%s", optIn, m["class"], m["phase"], code, stdout, stderr)
		}
		if strings.Contains(stdout, password) || strings.Contains(stderr, password) {
			t.Fatal("the password reached the output")
		}
		s := sessionOf(t, m)
		if s["autologon"] != optIn || (s["password_withheld"] != nil) == optIn || s["demand_active"] != true {
			t.Errorf("opt-in %v: session %v", optIn, s)
		}
		details[optIn], _ = m["detail"].(string)
	}
	if !strings.Contains(details[false], "withheld") || !strings.Contains(details[false], "--autologon-without-nla") {
		t.Errorf("without the flag the detail does not say the password was withheld: %q", details[false])
	}
	if !strings.Contains(details[true], "went to it in the Client Info PDU") {
		t.Errorf("with the flag the detail does not say the credentials went: %q", details[true])
	}
}
