package probe_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

func certPKI(t *testing.T) *rdptest.CertPKI {
	t.Helper()
	p, err := rdptest.CertCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// probeCert serves cert from an rdptest server and probes it
// through the TLS handshake as host:port, with opt's other settings.
func probeCert(t *testing.T, cert tls.Certificate, host string, opt probe.Options) *probe.Result {
	t.Helper()
	srv, err := rdptest.NewServer(rdptest.Scenario{TLS: rdptest.TLSOptions{Certificate: &cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if opt.Depth == "" {
		opt.Depth = probe.PhaseTLS
	}
	opt.PhaseTimeout, opt.Timeout = 2*time.Second, 5*time.Second
	opt.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, srv.Addr) // the name as typed, the loopback server
	}
	return probe.Run(context.Background(), net.JoinHostPort(host, "3389"), opt)
}

// Every generated certificate, served by rdptest, is judged as the case
// says: trust, the first failed check, each check on its own, the chain.
func TestCertificateTrust(t *testing.T) {
	p := certPKI(t)
	for _, c := range p.Entries {
		t.Run(c.Name, func(t *testing.T) {
			r := probeCert(t, c.Cert, c.Host, probe.Options{Cert: probe.CertPolicy{Roots: p.Roots(c), ServerName: c.ServerName}})
			if r.Err != nil || r.TLS == nil || r.TLS.Certificate == nil || r.TLS.Certificate.Trust == nil {
				t.Fatalf("no judged certificate: %v", r.Err)
			}
			ci, tr := r.TLS.Certificate, r.TLS.Certificate.Trust
			if tr.Trusted != c.Trusted || tr.Error != c.Error {
				t.Errorf("trusted %v (%q), want %v (%q); chain error %v", tr.Trusted, tr.Error, c.Trusted, c.Error, tr.ChainErr)
			}
			if tr.NameMatches != c.NameMatches || tr.PurposeOK != c.PurposeOK || tr.Expired != c.Expired || tr.NotYetValid != c.NotYetValid {
				t.Errorf("name %v purpose %v expired %v not yet valid %v, want %v %v %v %v",
					tr.NameMatches, tr.PurposeOK, tr.Expired, tr.NotYetValid, c.NameMatches, c.PurposeOK, c.Expired, c.NotYetValid)
			}
			if ci.SelfSigned != c.SelfSigned {
				t.Errorf("self-signed %v, want %v", ci.SelfSigned, c.SelfSigned)
			}
			wantName := c.Host
			if c.ServerName != "" {
				wantName = c.ServerName
			}
			if tr.Name != wantName || tr.ServerName != c.ServerName {
				t.Errorf("checked name %q (override %q), want %q", tr.Name, tr.ServerName, wantName)
			}
			var subjects []string
			for _, cc := range tr.Chain {
				subjects = append(subjects, cc.Subject)
			}
			if strings.Join(subjects, " < ") != strings.Join(c.Chain, " < ") {
				t.Errorf("chain %q, want %q", subjects, c.Chain)
			}
			if tr.Chain[0].SHA256 != ci.SHA256 || tr.ChainNotAfter().After(ci.NotAfter) {
				t.Errorf("chain leaf %s, expiry %v; certificate %s, expiry %v", tr.Chain[0].SHA256, tr.ChainNotAfter(), ci.SHA256, ci.NotAfter)
			}
		})
	}
}

// --require-trusted-cert fails exactly the certificates that are not
// trusted, at the TLS phase with the certificate's facts kept; a pin lets
// the pinned certificate through and fails every other one.
func TestCertificatePolicy(t *testing.T) {
	p := certPKI(t)
	for _, c := range p.Entries {
		t.Run(c.Name, func(t *testing.T) {
			roots := p.Roots(c)
			r := probeCert(t, c.Cert, c.Host, probe.Options{RequireTrustedCert: true,
				Cert: probe.CertPolicy{Roots: roots, ServerName: c.ServerName}})
			var nt *probe.CertNotTrustedError
			switch {
			case c.Trusted && r.Err != nil:
				t.Errorf("a trusted certificate failed: %v", r.Err)
			case !c.Trusted && (!errors.As(r.Err, &nt) || r.Failed != probe.PhaseTLS || nt.Reason != c.Error || nt.Pinned != ""):
				t.Errorf("want CertNotTrustedError(%s) at tls, got failed %q err %v", c.Error, r.Failed, r.Err)
			}
			if r.TLS == nil || r.TLS.Certificate == nil || r.TLS.Certificate.Trust == nil {
				t.Fatal("the certificate's facts are gone")
			}
			mine := r.TLS.Certificate.SHA256

			// Pinned: the certificate passes, trusted or not, required or not.
			r = probeCert(t, c.Cert, c.Host, probe.Options{RequireTrustedCert: true, Cert: probe.CertPolicy{Roots: roots, SHA256: mine}})
			if r.Err != nil || !r.TLS.Certificate.Trust.PinMatches {
				t.Errorf("pinned to its own fingerprint: err %v", r.Err)
			}
			// Pinned to another: it fails with both fingerprints, trusted or not.
			other := strings.Repeat("ab", 32)
			r = probeCert(t, c.Cert, c.Host, probe.Options{Cert: probe.CertPolicy{Roots: roots, SHA256: other, ServerName: c.ServerName}})
			if !errors.As(r.Err, &nt) || nt.Pinned != other || nt.Got != mine || r.Failed != probe.PhaseTLS {
				t.Errorf("pinned to another: failed %q err %v", r.Failed, r.Err)
			}
			if r.TLS.Certificate.Trust.Trusted != c.Trusted {
				t.Errorf("a pin changed the trust verdict to %v", r.TLS.Certificate.Trust.Trusted)
			}
		})
	}
}

// Without a requirement nothing fails that passed before: every case
// completes the handshake, trusted or not.
func TestCertificateNotRequired(t *testing.T) {
	p := certPKI(t)
	for _, c := range p.Entries {
		r := probeCert(t, c.Cert, c.Host, probe.Options{})
		if r.Err != nil || r.Reached != probe.PhaseTLS {
			t.Errorf("%s: reached %q err %v", c.Name, r.Reached, r.Err)
		}
	}
}
