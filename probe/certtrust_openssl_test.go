package probe_test

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rdpprobe/rdpprobe/internal/labtest"
	"github.com/rdpprobe/rdpprobe/probe"
)

// opensslErrors maps `openssl verify` error numbers (X509_V_ERR_*) to the
// check they belong to.
var opensslErrors = map[int]probe.TrustError{
	2:  probe.TrustUnknownAuthority, // UNABLE_TO_GET_ISSUER_CERT
	18: probe.TrustUnknownAuthority, // DEPTH_ZERO_SELF_SIGNED_CERT
	19: probe.TrustUnknownAuthority, // SELF_SIGNED_CERT_IN_CHAIN
	20: probe.TrustUnknownAuthority, // UNABLE_TO_GET_ISSUER_CERT_LOCALLY
	21: probe.TrustUnknownAuthority, // UNABLE_TO_VERIFY_LEAF_SIGNATURE
	7:  probe.TrustInvalidChain,     // CERT_SIGNATURE_FAILURE
	24: probe.TrustInvalidChain,     // INVALID_CA
	25: probe.TrustInvalidChain,     // PATH_LENGTH_EXCEEDED
	26: probe.TrustWrongPurpose,     // INVALID_PURPOSE
	62: probe.TrustNameMismatch,     // HOSTNAME_MISMATCH
	64: probe.TrustNameMismatch,     // IP_ADDRESS_MISMATCH
	9:  probe.TrustNotYetValid,      // CERT_NOT_YET_VALID
	10: probe.TrustExpired,          // CERT_HAS_EXPIRED
}

var opensslError = regexp.MustCompile(`(?m)^error (\d+) at \d+ depth lookup: (.*)$`)

// opensslVerdict runs `openssl verify` on chain (leaf first) for name, with
// roots (a PEM file of trusted roots besides the system's, "" for none) and
// the sslserver purpose when purpose is set. It returns whether openssl
// says OK and the checks of the errors it reports, in its order (it goes
// on after some errors, and stops at others).
func opensslVerdict(t *testing.T, openssl string, chain []*x509.Certificate, name, roots string, purpose bool) (bool, []probe.TrustError, string) {
	t.Helper()
	dir := t.TempDir()
	write := func(file string, certs []*x509.Certificate) string {
		var b []byte
		for _, c := range certs {
			b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
		}
		p := filepath.Join(dir, file)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	args := []string{"verify"}
	if roots != "" {
		args = append(args, "-CAfile", roots)
	}
	if len(chain) > 1 {
		args = append(args, "-untrusted", write("sent.pem", chain[1:]))
	}
	if purpose {
		args = append(args, "-purpose", "sslserver")
	}
	if net.ParseIP(name) != nil {
		args = append(args, "-verify_ip", name)
	} else {
		args = append(args, "-verify_hostname", name)
	}
	leaf := write("leaf.pem", chain[:1])
	out, _ := exec.Command(openssl, append(args, leaf)...).CombinedOutput()
	text := string(out)
	var checks []probe.TrustError
	for _, m := range opensslError.FindAllStringSubmatch(text, -1) {
		n, _ := strconv.Atoi(m[1])
		check, ok := opensslErrors[n]
		if !ok {
			t.Fatalf("openssl error %d (%s) has no counterpart here:\n%s", n, m[2], text)
		}
		checks = append(checks, check)
	}
	return strings.Contains(text, leaf+": OK"), checks, text
}

// agree checks that openssl's verdict on a chain is the probe's: trusted
// exactly when openssl says OK, openssl's first error is the probe's
// trust_error, and every error openssl reports is a check the probe
// failed too.
func agree(t *testing.T, tr *probe.CertTrust, ok bool, checks []probe.TrustError, out string) {
	t.Helper()
	if tr.Trusted != ok {
		t.Errorf("trusted %v (%s), openssl says OK %v:\n%s", tr.Trusted, tr.Error, ok, out)
		return
	}
	if ok {
		return
	}
	if len(checks) == 0 || checks[0] != tr.Error {
		t.Errorf("trust_error %s, openssl's first error is %v:\n%s", tr.Error, checks, out)
	}
	failed := map[probe.TrustError]bool{
		tr.ChainError: tr.ChainError != "", probe.TrustWrongPurpose: !tr.PurposeOK, probe.TrustNameMismatch: !tr.NameMatches,
		probe.TrustExpired: tr.Expired, probe.TrustNotYetValid: tr.NotYetValid,
	}
	for _, c := range checks {
		if !failed[c] {
			t.Errorf("openssl reports %s, which the probe found fine:\n%s", c, out)
		}
	}
}

// An independent check of VerifyCertificate: openssl verify, on the same
// chains, for the same name, with the same roots, reaches the same
// verdict. (openssl does not know Remote Desktop Authentication, so it
// checks that certificate without a purpose.)
func TestCertificateTrustAgreesWithOpenSSL(t *testing.T) {
	openssl := labtest.Tool(t, "openssl")
	p := certPKI(t)
	dir := t.TempDir()
	rootFile := filepath.Join(dir, "root.pem")
	if err := os.WriteFile(rootFile, p.Root.PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, e := range p.Entries {
		t.Run(e.Name, func(t *testing.T) {
			r := probeCert(t, e.Cert, e.Host, probe.Options{Cert: probe.CertPolicy{Roots: p.Roots(e), ServerName: e.ServerName}})
			if r.TLS == nil || r.TLS.Certificate == nil {
				t.Fatalf("no certificate: %v", r.Err)
			}
			var chain []*x509.Certificate
			for _, der := range e.Cert.Certificate {
				c, err := x509.ParseCertificate(der)
				if err != nil {
					t.Fatal(err)
				}
				chain = append(chain, c)
			}
			roots := ""
			switch {
			case e.TrustRoot:
				roots = rootFile
			case e.TrustSelf:
				roots = filepath.Join(t.TempDir(), "self.pem")
				os.WriteFile(roots, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: chain[0].Raw}), 0o644)
			}
			name := e.Host
			if e.ServerName != "" {
				name = e.ServerName
			}
			ok, checks, out := opensslVerdict(t, openssl, chain, name, roots, e.OpenSSLPurpose)
			agree(t, r.TLS.Certificate.Trust, ok, checks, out)
		})
	}
}

// The lab's real certificates, FreeRDP's and xrdp's, judged by openssl and
// by the probe: by address, and for the name each holds with the
// certificate itself trusted.
func TestLabCertificatesAgreeWithOpenSSL(t *testing.T) {
	openssl := labtest.Tool(t, "openssl")
	for _, peer := range []string{"nla", "tls", "xrdp"} {
		t.Run(peer, func(t *testing.T) {
			addr := labtest.Peer(t, peer)
			chain := labtest.PeerCertificates(t, peer)
			leaf := chain[0]
			self := filepath.Join(t.TempDir(), "self.pem")
			os.WriteFile(self, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}), 0o644)
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			pool.AddCert(leaf)
			name := leaf.Subject.CommonName
			for _, tc := range []struct {
				what  string
				pol   probe.CertPolicy
				name  string
				roots string
			}{
				{"by address", probe.CertPolicy{}, "127.0.0.1", ""},
				{"for its own name, trusted", probe.CertPolicy{Roots: pool, ServerName: name}, name, self},
			} {
				r := runProbe(t, addr, probe.Options{Depth: probe.PhaseTLS, Protocols: probe.DefaultProtocols, Cert: tc.pol})
				if r.TLS == nil || r.TLS.Certificate == nil {
					t.Fatalf("%s: no certificate: %v", tc.what, r.Err)
				}
				if r.TLS.Certificate.SHA256 != fmt.Sprintf("%x", sha256.Sum256(leaf.Raw)) {
					t.Fatalf("%s: the probe saw another certificate", tc.what)
				}
				ok, checks, out := opensslVerdict(t, openssl, chain, tc.name, tc.roots, true)
				agree(t, r.TLS.Certificate.Trust, ok, checks, out)
			}
		})
	}
}
