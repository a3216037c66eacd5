package rdptest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
	opt, err := e.ProbeOptions()
	if err != nil {
		t.Fatal(err)
	}
	e.ThroughGateway(&opt, srv)
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
			nla := r.Negotiation != nil && r.Negotiation.Failure == nil &&
				r.Negotiation.Selected()&(negotiate.ProtocolHybrid|negotiate.ProtocolHybridEx) != 0
			wantCreds := nla && (e.Class == "ok" && e.Password != "" || e.Class == "no_rdp_signin_right")
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
				// Without a licensing certificate, standard RDP security
				// still has the key of the server's security data.
				want := !ss.NoLicenseCertificate || e.Scenario.StandardRDP != nil
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

// TestStandardSecurityScenarios: over standard RDP security the probe
// sends the Security Exchange and encrypts what the scenario's level asks,
// reads what the server encrypted (past the RC4 key update, with the salted
// MAC, licensing encrypted when the server's flags say so), refuses wrong
// signatures, and records all of it.
func TestStandardSecurityScenarios(t *testing.T) {
	for _, e := range rdptest.Catalog() {
		std := e.Scenario.StandardRDP
		if std == nil || e.Depth != probe.PhaseSession {
			continue
		}
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			srv, err := rdptest.NewServer(e.Scenario)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			r := probe.Run(context.Background(), srv.Addr, probeOptions(t, e, srv))
			srv.WaitConns(1, 2*time.Second)
			srv.Close()
			if r.Session == nil || r.Session.StandardSecurity == nil {
				t.Fatalf("no standard security facts: %+v (err %v)", r.Session, r.Err)
			}
			info := r.Session.StandardSecurity
			encrypted := std.Level != negotiate.EncryptionLevelNone
			if info.SecurityExchangeSent != encrypted || srv.Saw(rdptest.EventSecurityExchange, "client random decrypted") != encrypted {
				t.Errorf("Security Exchange sent %v, want %v\n%s", info.SecurityExchangeSent, encrypted, events(srv))
			}
			if encrypted != srv.Saw(rdptest.EventClientInfo, "encrypted, signature verified") {
				t.Errorf("Client Info encrypted and signed: want %v\n%s", encrypted, events(srv))
			}
			var mac *negotiate.MACError
			if got := errors.As(r.Err, &mac); got != std.WrongMAC {
				t.Errorf("MAC error %v (%v), want %v", got, r.Err, std.WrongMAC)
			}
			// Above level Low the server encrypts its Share Control PDUs;
			// licensing goes in the clear unless it says otherwise.
			shared := r.Session.DemandActive || r.Session.LoggedOn
			if toClient := std.Level > negotiate.EncryptionLevelLow && shared; (info.EncryptedPDUs > 0) != toClient {
				t.Errorf("%d server PDUs decrypted, want some: %v", info.EncryptedPDUs, toClient)
			}
			if std.Flood > 4096 && info.KeyUpdates == 0 {
				t.Errorf("%d PDUs and no key update", info.EncryptedPDUs)
			}
			if info.SaltedMAC != std.SaltedMAC {
				t.Errorf("salted MAC seen %v, want %v", info.SaltedMAC, std.SaltedMAC)
			}
			if e.Scenario.Session.LicenseRequest {
				if got := srv.Saw(rdptest.EventLicense, "(encrypted)"); got != std.EncryptLicensing || info.LicenseRequestEncrypted != std.EncryptLicensing {
					t.Errorf("NEW_LICENSE_REQUEST encrypted: server saw %v, probe says %v; want %v\n%s", got, info.LicenseRequestEncrypted, std.EncryptLicensing, events(srv))
				}
				if info.LicensingEncrypted != std.EncryptLicensing {
					t.Errorf("licensing PDUs decrypted %v, want %v", info.LicensingEncrypted, std.EncryptLicensing)
				}
			}
			if encrypted {
				bits, cert := 2048, "proprietary"
				if std.KeyBits != 0 {
					bits = std.KeyBits
				}
				if std.X509 {
					cert = "x509"
				}
				if info.ServerKeyBits != bits || info.ServerCertificate != cert {
					t.Errorf("server key %s of %d bits, want %s of %d", info.ServerCertificate, info.ServerKeyBits, cert, bits)
				}
			}
			if srv.Saw(rdptest.EventError, "") {
				t.Errorf("the server saw an error:\n%s", events(srv))
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
