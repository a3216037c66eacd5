package probe_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

// The name the generated server certificates are issued for.
const certHost = "rds01.corp.example.com"

// certCase is a certificate a server serves, how the probe is pointed at
// it, and what the probe must find.
type certCase struct {
	name       string
	cert       tls.Certificate // the chain the server sends, leaf first
	host       string          // the host as typed (the probe dials the server whatever it is)
	serverName string          // --tls-server-name
	withRoot   bool            // the test root is trusted (--ca-file), besides the system's
	roots      *x509.CertPool  // else these roots

	trusted     bool
	err         probe.TrustError
	nameMatches bool
	purposeOK   bool
	expired     bool
	notYetValid bool
	selfSigned  bool
	chain       []string // subjects of the chain checked, leaf first
	// opensslPurpose: openssl verify can check the purpose (it does not
	// know Remote Desktop Authentication).
	opensslPurpose bool
}

// testPKI is a root CA, an intermediate under it, an expired intermediate,
// and the certificates of certCases, made once.
type testPKI struct {
	root  *rdptest.CA
	cases []certCase
}

var pkiOnce = sync.OnceValues(func() (*testPKI, error) {
	root, err := rdptest.NewCA(rdptest.CAOptions{Name: "Corp Root CA"})
	if err != nil {
		return nil, err
	}
	inter, err := root.NewIntermediate(rdptest.CAOptions{Name: "Corp Issuing CA"})
	if err != nil {
		return nil, err
	}
	oldInter, err := root.NewIntermediate(rdptest.CAOptions{Name: "Corp Old Issuing CA", Validity: -time.Hour})
	if err != nil {
		return nil, err
	}
	var errs []error
	leaf := func(o rdptest.CertOptions) tls.Certificate {
		if o.Issuer == nil {
			o.Issuer = inter
		}
		if o.CommonName == "" {
			o.CommonName = "RDS01"
		}
		o.ECDSA = true
		c, err := rdptest.NewCertificate(o)
		errs = append(errs, err)
		return c
	}
	san := []string{certHost}
	good := leaf(rdptest.CertOptions{DNSNames: san})
	leafOnly := good
	leafOnly.Certificate = good.Certificate[:1]
	windows, err := rdptest.NewCertificate(rdptest.CertOptions{CommonName: certHost}) // RSA, as Windows makes it
	errs = append(errs, err)
	windowsRoots := x509.NewCertPool()
	windowsRoots.AddCert(windows.Leaf)

	const (
		rootS  = "CN=Corp Root CA,O=rdptest"
		interS = "CN=Corp Issuing CA,O=rdptest"
		leafS  = "CN=RDS01"
	)
	ok := func(c certCase) certCase {
		c.trusted, c.nameMatches, c.purposeOK, c.opensslPurpose = true, true, true, true
		return c
	}
	p := &testPKI{root: root, cases: []certCase{
		ok(certCase{name: "good", cert: good, host: certHost, withRoot: true, chain: []string{leafS, interS, rootS}}),
		{name: "good, typed by address", cert: good, host: "127.0.0.1", withRoot: true, err: probe.TrustNameMismatch,
			purposeOK: true, opensslPurpose: true, chain: []string{leafS, interS, rootS}},
		ok(certCase{name: "good, --tls-server-name", cert: good, host: "127.0.0.1", serverName: certHost, withRoot: true,
			chain: []string{leafS, interS, rootS}}),
		{name: "good, root not given", cert: good, host: certHost, err: probe.TrustUnknownAuthority,
			nameMatches: true, purposeOK: true, opensslPurpose: true, chain: []string{leafS, interS}},
		{name: "intermediate not sent", cert: leafOnly, host: certHost, withRoot: true, err: probe.TrustUnknownAuthority,
			nameMatches: true, purposeOK: true, opensslPurpose: true, chain: []string{leafS}},
		{name: "expired", cert: leaf(rdptest.CertOptions{DNSNames: san, Validity: -time.Hour}), host: certHost, withRoot: true,
			err: probe.TrustExpired, nameMatches: true, purposeOK: true, expired: true, opensslPurpose: true, chain: []string{leafS, interS, rootS}},
		{name: "not yet valid", cert: leaf(rdptest.CertOptions{DNSNames: san, NotBefore: time.Now().Add(48 * time.Hour)}), host: certHost,
			withRoot: true, err: probe.TrustNotYetValid, nameMatches: true, purposeOK: true, notYetValid: true, opensslPurpose: true,
			chain: []string{leafS, interS, rootS}},
		{name: "intermediate expired", cert: leaf(rdptest.CertOptions{DNSNames: san, Issuer: oldInter}), host: certHost, withRoot: true,
			err: probe.TrustExpired, nameMatches: true, purposeOK: true, expired: true, opensslPurpose: true,
			chain: []string{leafS, "CN=Corp Old Issuing CA,O=rdptest", rootS}},
		{name: "wrong name", cert: leaf(rdptest.CertOptions{CommonName: "RDS02", DNSNames: []string{"rds02.corp.example.com"}}), host: certHost,
			withRoot: true, err: probe.TrustNameMismatch, purposeOK: true, opensslPurpose: true, chain: []string{"CN=RDS02", interS, rootS}},
		ok(certCase{name: "IP SAN", cert: leaf(rdptest.CertOptions{IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}), host: "127.0.0.1",
			withRoot: true, chain: []string{leafS, interS, rootS}}),
		{name: "wrong purpose", cert: leaf(rdptest.CertOptions{DNSNames: san, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}),
			host: certHost, withRoot: true, err: probe.TrustWrongPurpose, nameMatches: true, opensslPurpose: true, chain: []string{leafS, interS, rootS}},
		ok(certCase{name: "no EKU", cert: leaf(rdptest.CertOptions{DNSNames: san, NoExtKeyUsage: true}), host: certHost, withRoot: true,
			chain: []string{leafS, interS, rootS}}),
		{name: "Remote Desktop Authentication EKU", cert: leaf(rdptest.CertOptions{DNSNames: san,
			UnknownExtKeyUsage: []asn1.ObjectIdentifier{probe.OIDRemoteDesktopAuth}}), host: certHost, withRoot: true,
			trusted: true, nameMatches: true, purposeOK: true, chain: []string{leafS, interS, rootS}},
		ok(certCase{name: "common name only", cert: leaf(rdptest.CertOptions{CommonName: certHost}), host: certHost, withRoot: true,
			chain: []string{"CN=" + certHost, interS, rootS}}),
		{name: "Windows self-signed", cert: windows, host: certHost, err: probe.TrustUnknownAuthority, nameMatches: true,
			purposeOK: true, selfSigned: true, opensslPurpose: true, chain: []string{"CN=" + certHost}},
		ok(certCase{name: "Windows self-signed, trusted", cert: windows, host: certHost, roots: windowsRoots, selfSigned: true,
			chain: []string{"CN=" + certHost}}),
		{name: "everything wrong", cert: leaf(rdptest.CertOptions{CommonName: "RDS02", DNSNames: []string{"rds02.corp.example.com"},
			Validity: -time.Hour, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}), host: certHost, withRoot: true,
			err: probe.TrustWrongPurpose, expired: true, opensslPurpose: true, chain: []string{"CN=RDS02", interS, rootS}},
	}}
	return p, errors.Join(errs...)
})

func certPKI(t *testing.T) *testPKI {
	t.Helper()
	p, err := pkiOnce()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// rootsOf is the roots a case trusts: the system's plus the test root.
func (p *testPKI) rootsOf(t *testing.T, c certCase) *x509.CertPool {
	t.Helper()
	if c.roots != nil || !c.withRoot {
		return c.roots
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	pool.AddCert(p.root.Cert)
	return pool
}

// probeCert serves c's certificate from an rdptest server and probes it
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
	for _, c := range p.cases {
		t.Run(c.name, func(t *testing.T) {
			r := probeCert(t, c.cert, c.host, probe.Options{Cert: probe.CertPolicy{Roots: p.rootsOf(t, c), ServerName: c.serverName}})
			if r.Err != nil || r.TLS == nil || r.TLS.Certificate == nil || r.TLS.Certificate.Trust == nil {
				t.Fatalf("no judged certificate: %v", r.Err)
			}
			ci, tr := r.TLS.Certificate, r.TLS.Certificate.Trust
			if tr.Trusted != c.trusted || tr.Error != c.err {
				t.Errorf("trusted %v (%q), want %v (%q); chain error %v", tr.Trusted, tr.Error, c.trusted, c.err, tr.ChainErr)
			}
			if tr.NameMatches != c.nameMatches || tr.PurposeOK != c.purposeOK || tr.Expired != c.expired || tr.NotYetValid != c.notYetValid {
				t.Errorf("name %v purpose %v expired %v not yet valid %v, want %v %v %v %v",
					tr.NameMatches, tr.PurposeOK, tr.Expired, tr.NotYetValid, c.nameMatches, c.purposeOK, c.expired, c.notYetValid)
			}
			if ci.SelfSigned != c.selfSigned {
				t.Errorf("self-signed %v, want %v", ci.SelfSigned, c.selfSigned)
			}
			wantName := c.host
			if c.serverName != "" {
				wantName = c.serverName
			}
			if tr.Name != wantName || tr.ServerName != c.serverName {
				t.Errorf("checked name %q (override %q), want %q", tr.Name, tr.ServerName, wantName)
			}
			var subjects []string
			for _, cc := range tr.Chain {
				subjects = append(subjects, cc.Subject)
			}
			if strings.Join(subjects, " < ") != strings.Join(c.chain, " < ") {
				t.Errorf("chain %q, want %q", subjects, c.chain)
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
	for _, c := range p.cases {
		t.Run(c.name, func(t *testing.T) {
			roots := p.rootsOf(t, c)
			r := probeCert(t, c.cert, c.host, probe.Options{RequireTrustedCert: true,
				Cert: probe.CertPolicy{Roots: roots, ServerName: c.serverName}})
			var nt *probe.CertNotTrustedError
			switch {
			case c.trusted && r.Err != nil:
				t.Errorf("a trusted certificate failed: %v", r.Err)
			case !c.trusted && (!errors.As(r.Err, &nt) || r.Failed != probe.PhaseTLS || nt.Reason != c.err || nt.Pinned != ""):
				t.Errorf("want CertNotTrustedError(%s) at tls, got failed %q err %v", c.err, r.Failed, r.Err)
			}
			if r.TLS == nil || r.TLS.Certificate == nil || r.TLS.Certificate.Trust == nil {
				t.Fatal("the certificate's facts are gone")
			}
			mine := r.TLS.Certificate.SHA256

			// Pinned: the certificate passes, trusted or not, required or not.
			r = probeCert(t, c.cert, c.host, probe.Options{RequireTrustedCert: true, Cert: probe.CertPolicy{Roots: roots, SHA256: mine}})
			if r.Err != nil || !r.TLS.Certificate.Trust.PinMatches {
				t.Errorf("pinned to its own fingerprint: err %v", r.Err)
			}
			// Pinned to another: it fails with both fingerprints, trusted or not.
			other := strings.Repeat("ab", 32)
			r = probeCert(t, c.cert, c.host, probe.Options{Cert: probe.CertPolicy{Roots: roots, SHA256: other, ServerName: c.serverName}})
			if !errors.As(r.Err, &nt) || nt.Pinned != other || nt.Got != mine || r.Failed != probe.PhaseTLS {
				t.Errorf("pinned to another: failed %q err %v", r.Failed, r.Err)
			}
			if r.TLS.Certificate.Trust.Trusted != c.trusted {
				t.Errorf("a pin changed the trust verdict to %v", r.TLS.Certificate.Trust.Trusted)
			}
		})
	}
}

// Without a requirement nothing fails that passed before: every case
// completes the handshake, trusted or not.
func TestCertificateNotRequired(t *testing.T) {
	p := certPKI(t)
	for _, c := range p.cases {
		r := probeCert(t, c.cert, c.host, probe.Options{})
		if r.Err != nil || r.Reached != probe.PhaseTLS {
			t.Errorf("%s: reached %q err %v", c.name, r.Reached, r.Err)
		}
	}
}
