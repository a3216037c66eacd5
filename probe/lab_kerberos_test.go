package probe_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/fixture"
	"github.com/rdpprobe/rdpprobe/internal/labtest"
	"github.com/rdpprobe/rdpprobe/internal/utf16le"
	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
	"github.com/rdpprobe/rdpprobe/report"
)

// krbTarget is an rdptest NLA server addressed by the name the lab KDC has
// a TERMSRV SPN for (localhost), so the probe reaches the kerberos phase.
func krbTarget(t *testing.T) string {
	t.Helper()
	srv, err := rdptest.NewServer(rdptest.Scenario{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	_, port, _ := strings.Cut(srv.Addr, ":")
	return "localhost:" + port
}

func krbOptions(k labtest.KerberosLab, user, password string) probe.Options {
	return probe.Options{
		Auth: probe.AuthKerberos, Depth: probe.PhaseKerberos, PhaseTimeout: 5 * time.Second, Timeout: 10 * time.Second,
		Credentials: &probe.Credentials{User: user, Password: password},
		Kerberos:    probe.KerberosOptions{Realm: k.Realm, KDCs: []string{k.KDC}},
	}
}

// Every account state of the lab's MIT KDC gives its class, and MIT's own
// kinit, asked about the same account, says the same thing in its words.
func TestLabKerberosClasses(t *testing.T) {
	k := labtest.Kerberos(t)
	target := krbTarget(t)
	for _, tc := range []struct {
		state, user, password string
		class                 classify.ID
		kinit                 string // what kinit says; "" for success
	}{
		{"good", k.Users["good"], k.Password, classify.OK, ""},
		{"wrong password", k.Users["badpw"], k.Password + "-wrong", classify.LogonFailed, "Password incorrect"},
		{"unknown user", "nosuchuser", k.Password, classify.LogonFailed, "not found in Kerberos database"},
		{"locked", k.Users["locked"], k.Password, classify.AccountRevoked, "Client's credentials have been revoked"},
		{"disabled", k.Users["disabled"], k.Password, classify.AccountRevoked, "Client's credentials have been revoked"},
		{"password expired", k.Users["pwexpired"], k.Password, classify.PasswordExpired, "Password expired"},
		{"must change", k.Users["mustchange"], k.Password, classify.PasswordMustChange, "Password expired"},
		{"account expired", k.Users["expired"], k.Password, classify.AccountExpired, "Client's entry in database has expired"},
		{"rc4 only", k.Users["rc4"], k.Password, classify.OK, ""},
	} {
		t.Run(tc.state, func(t *testing.T) {
			r := probe.Run(context.Background(), target, krbOptions(k, tc.user, tc.password))
			v := classify.Classify(r)
			if v.Class.ID != tc.class {
				t.Fatalf("class %s (%s), want %s; err %v", v.Class.ID, v.Detail, tc.class, r.Err)
			}
			if tc.class == classify.OK && (r.Auth == nil || r.Auth.Mechanism != probe.MechKerberos || len(r.Auth.Exchanges) != 3) {
				t.Errorf("auth facts %+v, want Kerberos with AS, AS+PA and TGS", r.Auth)
			}
			if tc.state == "rc4 only" && !r.Auth.RC4Only {
				t.Error("RC4-only account not said")
			}
			out, err := k.Kinit(t, tc.user, tc.password, filepath.Join(t.TempDir(), "cc"))
			switch {
			case tc.kinit == "" && err != nil:
				t.Errorf("rdpprobe says %s, kinit failed: %s", v.Class.ID, out)
			case tc.kinit != "" && !strings.Contains(string(out), tc.kinit):
				t.Errorf("rdpprobe says %s, kinit said %q (want %q)", v.Class.ID, out, tc.kinit)
			}
		})
	}
}

// The failures that are not the account's: no SPN, a clock off by an hour,
// no KDC answering; and negotiate falling back to NTLM for the first and
// the last, as mstsc does.
func TestLabKerberosEnvironment(t *testing.T) {
	k := labtest.Kerberos(t)
	target := krbTarget(t)
	closed := labtest.Peer(t, "closed")
	for _, tc := range []struct {
		name  string
		set   func(*probe.Options)
		class classify.ID
	}{
		{"no spn", func(o *probe.Options) { o.Kerberos.SPN = "TERMSRV/" + k.NoSPNHost }, classify.KerberosSPNUnknown},
		{"clock skew", func(o *probe.Options) { o.Now = func() time.Time { return time.Now().Add(time.Hour) } }, classify.KerberosClockSkew},
		{"no kdc", func(o *probe.Options) { o.Kerberos.KDCs = []string{closed} }, classify.KDCUnreachable},
		{"address", func(o *probe.Options) {}, classify.KerberosSPNUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt := krbOptions(k, k.Users["good"], k.Password)
			tc.set(&opt)
			to := target
			if tc.name == "address" {
				to = strings.Replace(target, "localhost", "127.0.0.1", 1)
			}
			r := probe.Run(context.Background(), to, opt)
			if v := classify.Classify(r); v.Class.ID != tc.class {
				t.Fatalf("class %s (%s), want %s", v.Class.ID, v.Detail, tc.class)
			}
			if tc.name == "clock skew" {
				return
			}
			// Negotiate uses NTLM instead, and says why.
			opt.Auth, opt.Depth = probe.AuthNegotiate, probe.PhaseNTLMInfo
			r = probe.Run(context.Background(), to, opt)
			if r.Err != nil || r.Auth == nil || r.Auth.Mechanism != probe.MechNTLM || r.Auth.Why == "" || r.NTLM == nil {
				t.Fatalf("negotiate: err %v, auth %+v", r.Err, r.Auth)
			}
		})
	}
}

// A TGT from kinit in a ccache: the probe asks the KDC once (TGS) and
// needs no password at all.
func TestLabKerberosCCache(t *testing.T) {
	k := labtest.Kerberos(t)
	cc := filepath.Join(t.TempDir(), "krb5cc")
	if out, err := k.Kinit(t, k.Users["good"], k.Password, cc); err != nil {
		t.Fatalf("kinit: %v\n%s", err, out)
	}
	opt := krbOptions(k, "", "")
	opt.Credentials, opt.Kerberos.CCache = nil, "FILE:"+cc
	r := probe.Run(context.Background(), krbTarget(t), opt)
	if r.Err != nil || r.Reached != probe.PhaseKerberos {
		t.Fatalf("reached %q, err %v", r.Reached, r.Err)
	}
	if a := r.Auth; a.Mechanism != probe.MechKerberos || len(a.Exchanges) != 1 || a.Exchanges[0].Step != "TGS-REQ" || a.CCache == "" {
		t.Errorf("auth %+v: want one TGS-REQ from the ccache", a)
	}
	if r.LogonAttempted {
		t.Error("a ticket cache made a logon attempt before any server saw it")
	}
}

// A whole Kerberos logon against the lab KDC and rdptest's acceptor, and
// each refusal the server can give after the KDC issued the ticket.
func TestLabKerberosServer(t *testing.T) {
	k := labtest.Kerberos(t)
	for _, tc := range []struct {
		name   string
		sc     rdptest.Scenario
		offer  string
		class  classify.ID
		creds  bool // the server received the credentials
		fallen bool
	}{
		{"logon", rdptest.KerberosLogon(k.Keytab, k.SPN), "", classify.OK, true, false},
		{"ticket rejected", rdptest.KerberosTicketRejected(k.Keytab, k.SPN), "", classify.KerberosTicketRejected, false, false},
		{"wrong host", rdptest.KerberosWrongHost(k.Keytab, k.SPN), "", classify.KerberosTicketRejected, false, false},
		{"server clock", rdptest.KerberosClockSkew(k.Keytab, k.SPN), "", classify.KerberosClockSkew, false, false},
		{"trust relationship", rdptest.KerberosStatus(k.Keytab, k.SPN, negotiate.StatusTrustedRelationshipFailure), "", classify.TrustRelationshipFailure, false, false},
		{"no sign-in right", rdptest.KerberosNoSignInRight(k.Keytab, k.SPN), "nla-ext", classify.NoRDPSignInRight, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := rdptest.NewServer(tc.sc)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			_, port, _ := strings.Cut(srv.Addr, ":")
			opt := krbOptions(k, k.Users["good"], k.Password)
			opt.Depth = ""
			if tc.offer != "" {
				opt.Protocols, _, _ = probe.ParseOffer(tc.offer)
			}
			r := probe.Run(context.Background(), "localhost:"+port, opt)
			srv.WaitConns(1, 2*time.Second)
			v := classify.Classify(r)
			if v.Class.ID != tc.class {
				t.Fatalf("class %s (%s), want %s; server saw:\n%v", v.Class.ID, v.Detail, tc.class, srv.Events())
			}
			if r.Auth.Mechanism != probe.MechKerberos {
				t.Errorf("mechanism %s (%s)", r.Auth.Mechanism, r.Auth.Why)
			}
			got := srv.Saw(rdptest.EventCredentials, "received credentials for")
			if got != tc.creds {
				t.Errorf("server received credentials: %v, want %v\n%v", got, tc.creds, srv.Events())
			}
			if tc.creds && !srv.Saw(rdptest.EventCredentials, k.Realm+`\`+k.Users["good"]) {
				t.Errorf("credentials not for %s\\%s:\n%v", k.Realm, k.Users["good"], srv.Events())
			}
		})
	}
}

// A recorded Kerberos logon holds no password (in any encoding), no
// AP-REQ and no sealed credentials, and neither do its reports.
func TestLabKerberosRecordingHoldsNoSecret(t *testing.T) {
	k := labtest.Kerberos(t)
	srv, err := rdptest.NewServer(rdptest.KerberosLogon(k.Keytab, k.SPN))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	_, port, _ := strings.Cut(srv.Addr, ":")
	rec := &fixture.Recorder{}
	var keylog bytes.Buffer
	opt := krbOptions(k, k.Users["good"], k.Password)
	opt.Depth, opt.Recorder, opt.KeyLogWriter = "", rec, &keylog
	r := probe.Run(context.Background(), "localhost:"+port, opt)
	v := classify.Classify(r)
	if v.Class.ID != classify.OK {
		t.Fatalf("class %s: %s", v.Class.ID, v.Detail)
	}
	var fx bytes.Buffer
	if err := rec.Fixture(map[string]string{"class": string(v.Class.ID)}).Write(&fx); err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(report.New(r, v))
	var text bytes.Buffer
	report.WriteText(&text, report.New(r, v), false)
	pw := []byte(k.Password)
	pw16 := utf16le.Encode(k.Password)
	for what, b := range map[string][]byte{"fixture": fx.Bytes(), "key log": keylog.Bytes(), "json": js, "text": text.Bytes()} {
		if bytes.Contains(b, pw) || bytes.Contains(b, pw16) || bytes.Contains(b, []byte(fmt.Sprintf("%x", pw))) ||
			bytes.Contains(b, []byte(fmt.Sprintf("%x", pw16))) {
			t.Errorf("the password is in the %s", what)
		}
	}
	if n := strings.Count(fx.String(), "redacted"); n < 2 {
		t.Errorf("%d redacted steps, want the AP-REQ's and the credentials':\n%s", n, fx.String())
	}
}
