package rdptest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
	"github.com/rdpprobe/rdpprobe/report"
)

// setOffer makes opt offer what an --offer value says; "" keeps the default.
func setOffer(t testing.TB, opt *probe.Options, offer string) {
	t.Helper()
	if offer == "" {
		return
	}
	p, rdp, err := probe.ParseOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	opt.Protocols, opt.AllowStandardRDP = p, rdp
}

// probeOptions turns a catalog entry into the probe's options, for its
// server srv (and the gateway in front of it, if it has one).
func probeOptions(t testing.TB, e rdptest.Entry, srv *rdptest.Server) probe.Options {
	t.Helper()
	opt := probe.Options{PhaseTimeout: 2 * time.Second, Timeout: 8 * time.Second, Depth: e.Depth,
		RequireTrustedCert: e.RequireTrustedCert, Cert: probe.CertPolicy{SHA256: e.CertSHA256}}
	setOffer(t, &opt, e.Offer)
	if srv.Gateway != nil {
		opt.Gateway = srv.Gateway.ProbeOptions(nil)
		opt.Gateway.Transport = e.GatewayTransport
		if e.Password != "" {
			opt.Gateway.Credentials = &probe.Credentials{User: rdptest.TestUser, Domain: rdptest.TestDomain, Password: e.Password}
		}
	}
	if e.Password != "" {
		opt.Credentials = &probe.Credentials{User: rdptest.TestUser, Domain: rdptest.TestDomain, Password: e.Password}
		// The catalog's TLS-only session scenarios are about what an
		// autologon Client Info meets.
		opt.AutologonWithoutNLA = true
	}
	if e.Class == "timeout" {
		opt.PhaseTimeout = 500 * time.Millisecond
	}
	return opt
}

// TestCatalog probes every scenario and checks the class, the phase and
// what the server saw.
func TestCatalog(t *testing.T) {
	for _, e := range rdptest.Catalog() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			srv, err := rdptest.NewServer(e.Scenario)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			r := probe.Run(context.Background(), srv.Addr, probeOptions(t, e, srv))
			v := classify.Classify(r)
			if string(v.Class.ID) != e.Class || v.Phase != e.Phase {
				t.Errorf("class %s at %s, want %s at %s (err %v)\nserver saw:\n%s", v.Class.ID, v.Phase, e.Class, e.Phase, r.Err, events(srv))
			}
			srv.WaitConns(1, 2*time.Second)
			srv.Close()
			creds := srv.Saw(rdptest.EventCredentials, "received credentials for CORP\\alice")
			nla := e.Scenario.Negotiation.Accept&negotiate.ProtocolSSL == 0
			wantCreds := nla && (e.Class == "ok" && e.Password != "" || e.Class == "no_rdp_signin_right") && !gatewayDepth(e.Depth)
			if creds != wantCreds {
				t.Errorf("server received credentials: %v, want %v\n%s", creds, wantCreds, events(srv))
			}
			if e.Depth == probe.PhaseSession {
				// The probe leaves no session behind: it says goodbye
				// unless the server hung up first.
				if bye := srv.Saw(rdptest.EventDisconnect, "rn-user-requested"); bye == e.ServerHangsUp() {
					t.Errorf("server saw the Disconnect Provider Ultimatum: %v, server hangs up: %v\n%s", bye, e.ServerHangsUp(), events(srv))
				}
				if e.Password != "" && !nla && !srv.Saw(rdptest.EventClientInfo, "autologon true") && e.Scenario.Session.ConnectResult == 0 {
					t.Errorf("no autologon Client Info:\n%s", events(srv))
				}
			}
			if ss := e.Scenario.Session; ss != nil && ss.LicenseRequest {
				// The NEW_LICENSE_REQUEST decrypts to a 48-byte premaster
				// secret under the server's key, and names the account.
				user := "rdpprobe"
				if e.Password != "" {
					user = rdptest.TestUser
				}
				want := !ss.NoLicenseCertificate
				if got := srv.Saw(rdptest.EventLicense, fmt.Sprintf("from user %q on machine \"rdpprobe\", premaster secret decrypted: 48 bytes", user)); got != want {
					t.Errorf("server decrypted a NEW_LICENSE_REQUEST from %q: %v, want %v\n%s", user, got, want, events(srv))
				}
				if srv.Saw(rdptest.EventError, "") {
					t.Errorf("the server saw an error:\n%s", events(srv))
				}
			}
			for _, ev := range srv.Events() {
				if strings.Contains(ev.Detail, rdptest.TestPassword) || strings.Contains(ev.Detail, rdptest.WrongPass) {
					t.Errorf("an event holds the password: %v", ev)
				}
			}
			if e.Password != "" {
				noPasswordInVerdict(t, e.Password, r, v)
			}
		})
	}
}

// noPasswordInVerdict: the password the probe was given reaches neither
// its raw error nor the verdict, nor the JSON and text reports made of
// them. (Classify sees only the Result, which has no field for a password,
// so this is the test that can catch a leak: it runs the real probe.)
func noPasswordInVerdict(t *testing.T, password string, r *probe.Result, v classify.Verdict) {
	t.Helper()
	rep := report.New(r, v)
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	report.WriteText(&text, rep, false)
	texts := map[string]string{"detail": v.Detail, "JSON report": string(js), "text report": text.String()}
	if r.Err != nil {
		texts["error"] = r.Err.Error()
	}
	for _, f := range v.Findings {
		texts["finding "+f.ID] = f.Text
	}
	for where, s := range texts {
		if strings.Contains(s, password) {
			t.Errorf("the password is in the %s: %q", where, s)
		}
	}
}

// gatewayDepth: the probe stops at the gateway, before the target.
func gatewayDepth(d probe.Phase) bool { return strings.HasPrefix(string(d), "gateway_") }

func events(s *rdptest.Server) string {
	var b strings.Builder
	if s.Gateway != nil {
		for _, e := range s.Gateway.Events() {
			b.WriteString("  gateway " + e.String() + "\n")
		}
	}
	for _, e := range s.Events() {
		b.WriteString("  " + e.String() + "\n")
	}
	return b.String()
}

func TestLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:3389", ":0"} {
		if s, err := rdptest.NewServer(rdptest.Scenario{Addr: addr}); err == nil {
			s.Close()
			t.Errorf("NewServer listened on %q", addr)
		}
	}
}
