package probe_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/internal/labtest"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
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
	kinit := labtest.Tool(t, "kinit")
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
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, kinit, tc.user)
			cmd.Env = k.Env(filepath.Join(t.TempDir(), "cc"))
			cmd.Stdin = strings.NewReader(tc.password + "\n")
			out, err := cmd.CombinedOutput()
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
	kinit := labtest.Tool(t, "kinit")
	cc := filepath.Join(t.TempDir(), "krb5cc")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kinit, k.Users["good"])
	cmd.Env, cmd.Stdin = k.Env(cc), strings.NewReader(k.Password+"\n")
	if out, err := cmd.CombinedOutput(); err != nil {
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
