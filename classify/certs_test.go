package classify_test

import (
	"context"
	"crypto/tls"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

func certCatalog(t *testing.T) *rdptest.CertPKI {
	t.Helper()
	p, err := rdptest.CertCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// probeServing probes, as host, an rdptest server of sc presenting cert.
func probeServing(t *testing.T, sc rdptest.Scenario, cert tls.Certificate, host string, opt probe.Options) *probe.Result {
	t.Helper()
	sc.TLS.Certificate = &cert
	srv, err := rdptest.NewServer(sc)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if opt.Depth == "" {
		opt.Depth = probe.PhaseTLS
	}
	opt.PhaseTimeout, opt.Timeout = 2*time.Second, 8*time.Second
	opt.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, srv.Addr)
	}
	return probe.Run(context.Background(), net.JoinHostPort(host, "3389"), opt)
}

// certFindings are a verdict's certificate findings, by ID.
func certFindings(v classify.Verdict) map[string]string {
	m := map[string]string{}
	for _, f := range v.Findings {
		if strings.HasPrefix(f.ID, "cert_") {
			m[f.ID] = f.Text
		}
	}
	return m
}

// Every certificate finding appears for the certificate it is about and
// for no other: each catalog certificate, served and probed, gets exactly
// the findings its entry names.
func TestCertificateFindings(t *testing.T) {
	p := certCatalog(t)
	for _, e := range p.Entries {
		t.Run(e.Name, func(t *testing.T) {
			r := probeServing(t, rdptest.Scenario{}, e.Cert, e.Host, probe.Options{Cert: probe.CertPolicy{Roots: p.Roots(e), ServerName: e.ServerName}})
			v := classify.Classify(r)
			if v.Class.ID != classify.OK {
				t.Fatalf("class %s: %s", v.Class.ID, v.Detail)
			}
			got := certFindings(v)
			var ids []string
			for id := range got {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			want := slices.Clone(e.Findings)
			slices.Sort(want)
			if !slices.Equal(ids, want) {
				t.Errorf("certificate findings %v, want %v:\n%v", ids, want, got)
			}
		})
	}
}

// Each finding's words come from the facts of the certificate it is about.
func TestCertificateFindingWords(t *testing.T) {
	p := certCatalog(t)
	for _, tc := range []struct {
		entry      string
		serverName string
		id         string
		want       []string
		notWant    []string
	}{
		{"good, typed by address", "", classify.FindingCertNameMismatch,
			[]string{"does not hold 127.0.0.1 (the host as given): it holds " + rdptest.CertHost + ", and an address matches only an IP address"}, []string{"--tls-server-name"}},
		{"wrong name", rdptest.CertHost, classify.FindingCertNameMismatch,
			[]string{"does not hold " + rdptest.CertHost + " (given with --tls-server-name): it holds rds02.corp.example.com"}, []string{"an address"}},
		{"good, root not given", "", classify.FindingCertUntrusted,
			[]string{"CN=RDS01", "its issuer (CN=Corp Issuing CA,O=rdptest)", "--ca-file"}, []string{"self-signed"}},
		{"intermediate not sent", "", classify.FindingCertUntrusted, []string{"does not send the intermediate certificates"}, nil},
		{"Windows self-signed", "", classify.FindingCertUntrusted, []string{"self-signed and not itself among the trusted roots"}, nil},
		{"Windows self-signed", "", classify.FindingCertSelfSigned, []string{"Remote Desktop's default"}, []string{"is itself one of the trusted roots"}},
		{"Windows self-signed, trusted", "", classify.FindingCertSelfSigned, []string{"is itself one of the trusted roots here, so it is trusted"}, nil},
		{"wrong purpose", "", classify.FindingCertWrongPurpose,
			[]string{"extended key usage is Client Authentication (1.3.6.1.5.5.7.3.2)", "1.3.6.1.4.1.311.54.1.2"}, nil},
		{"expired", "", classify.FindingCertExpired, []string{"the certificate expired on", "0 days ago"}, []string{"CA certificate"}},
		{"intermediate expired", "", classify.FindingCertExpired, []string{"the CA certificate CN=Corp Old Issuing CA,O=rdptest in its chain expired"}, nil},
		{"not yet valid", "", classify.FindingCertNotYetValid, []string{"the certificate is valid only from", "in 1 days"}, nil},
		{"expiring", "", classify.FindingCertExpiring, []string{"the certificate expires on", "in 9 days"}, nil},
	} {
		e := p.Entry(tc.entry)
		if tc.serverName != "" {
			e.ServerName = tc.serverName
		}
		r := probeServing(t, rdptest.Scenario{}, e.Cert, e.Host, probe.Options{Cert: probe.CertPolicy{Roots: p.Roots(e), ServerName: e.ServerName}})
		text, ok := certFindings(classify.Classify(r))[tc.id]
		if !ok {
			t.Errorf("%s: no %s finding", tc.entry, tc.id)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: %s %q lacks %q", tc.entry, tc.id, text, w)
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(text, w) {
				t.Errorf("%s: %s %q says %q", tc.entry, tc.id, text, w)
			}
		}
	}
}

// --cert-warn-days sets the window of cert_expiring: a certificate
// expiring in nine days is worth a line within 30 days, not within 5; one
// of a year is within 400.
func TestCertificateExpiringWindow(t *testing.T) {
	p := certCatalog(t)
	for _, tc := range []struct {
		entry  string
		window time.Duration
		want   bool
	}{
		{"expiring", 0, true},
		{"expiring", 5 * 24 * time.Hour, false},
		{"good", 0, false},
		{"good", 400 * 24 * time.Hour, true},
	} {
		e := p.Entry(tc.entry)
		r := probeServing(t, rdptest.Scenario{}, e.Cert, e.Host, probe.Options{CertWarnWithin: tc.window, Cert: probe.CertPolicy{Roots: p.Roots(e)}})
		if _, got := certFindings(classify.Classify(r))[classify.FindingCertExpiring]; got != tc.want {
			t.Errorf("%s within %v: cert_expiring %v, want %v", tc.entry, tc.window, got, tc.want)
		}
	}
}

// --require-trusted-cert and --cert-sha256 fail exactly the certificates
// they must, as cert_not_trusted with words from the facts (and the flag
// that was given), and the certificate findings stay.
func TestCertNotTrusted(t *testing.T) {
	p := certCatalog(t)
	for _, e := range p.Entries {
		t.Run(e.Name, func(t *testing.T) {
			pol := probe.CertPolicy{Roots: p.Roots(e), ServerName: e.ServerName}
			v := classify.Classify(probeServing(t, rdptest.Scenario{}, e.Cert, e.Host, probe.Options{RequireTrustedCert: true, Cert: pol}))
			switch {
			case e.Trusted && v.Class.ID != classify.OK:
				t.Errorf("trusted, required: class %s: %s", v.Class.ID, v.Detail)
			case !e.Trusted && (v.Class.ID != classify.CertNotTrusted || v.Phase != probe.PhaseTLS ||
				!strings.Contains(v.Detail, "--require-trusted-cert") || strings.Contains(v.Detail, "--cert-sha256")):
				t.Errorf("untrusted, required: class %s at %s: %s", v.Class.ID, v.Phase, v.Detail)
			}
			if len(certFindings(v)) != len(e.Findings) {
				t.Errorf("findings %v, want %v", certFindings(v), e.Findings)
			}

			pol.SHA256 = strings.Repeat("ab", 32)
			r := probeServing(t, rdptest.Scenario{}, e.Cert, e.Host, probe.Options{Cert: pol})
			v = classify.Classify(r)
			mine := r.TLS.Certificate.SHA256
			if v.Class.ID != classify.CertNotTrusted || !strings.Contains(v.Detail, mine) || !strings.Contains(v.Detail, pol.SHA256) ||
				!strings.Contains(v.Detail, "--cert-sha256") || strings.Contains(v.Detail, "--require-trusted-cert") ||
				strings.Contains(v.Detail, "and a trusted one") != e.Trusted {
				t.Errorf("pinned to another: class %s: %s", v.Class.ID, v.Detail)
			}
			pol.SHA256 = mine
			v = classify.Classify(probeServing(t, rdptest.Scenario{}, e.Cert, e.Host, probe.Options{RequireTrustedCert: true, Cert: pol}))
			if v.Class.ID != classify.OK {
				t.Errorf("pinned to itself, trusted required: class %s: %s", v.Class.ID, v.Detail)
			}
		})
	}
}

// The verdict of a TLS-only session says why the password went in the
// Client Info, or why it did not.
func TestAutologonWords(t *testing.T) {
	p := certCatalog(t)
	byIP := p.Entry("IP SAN")
	self, err := rdptest.DefaultCertificate()
	if err != nil {
		t.Fatal(err)
	}
	tlsOnly := rdptest.Scenario{Negotiation: rdptest.Negotiation{Accept: negotiate.ProtocolSSL}, Session: &rdptest.Session{}}
	creds := &probe.Credentials{User: rdptest.TestUser, Domain: rdptest.TestDomain, Password: rdptest.TestPassword}
	pinned := probeServing(t, tlsOnly, self, "127.0.0.1", probe.Options{Depth: probe.PhaseTLS}).TLS.Certificate.SHA256
	for _, tc := range []struct {
		name string
		cert tls.Certificate
		opt  probe.Options
		want string
	}{
		{"trusted", byIP.Cert, probe.Options{Cert: probe.CertPolicy{Roots: p.Roots(byIP)}},
			"went to it in the Client Info PDU (its certificate is trusted for 127.0.0.1"},
		{"pinned", self, probe.Options{Cert: probe.CertPolicy{SHA256: pinned}}, "(its certificate is the pinned one"},
		{"opted in", self, probe.Options{AutologonWithoutNLA: true}, "because autologon without NLA was allowed"},
		{"withheld", self, probe.Options{}, "without the password, withheld because the server's certificate is neither trusted nor pinned"},
	} {
		tc.opt.Depth, tc.opt.Credentials = probe.PhaseSession, creds
		v := classify.Classify(probeServing(t, tlsOnly, tc.cert, "127.0.0.1", tc.opt))
		if v.Class.ID != classify.CredentialsNotVerified || !strings.Contains(v.Detail, tc.want) {
			t.Errorf("%s: class %s, detail %q lacks %q", tc.name, v.Class.ID, v.Detail, tc.want)
		}
	}
}
