package exporter

import (
	"crypto/sha256"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rdpprobe/rdpprobe/rdptest"
)

// certExporter is the real probe and classifier behind an exporter whose
// modules judge certificates, and rdptest servers presenting the catalog's.
func certExporter(t *testing.T, yaml string, root []byte) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "corp-root.pem", string(root), 0o644)
	cfg, err := Parse([]byte(yaml), dir, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(cfg, Options{}).Handler())
	t.Cleanup(srv.Close)
	return srv
}

func serveEntry(t *testing.T, p *rdptest.CertPKI, name string) (addr, sha string) {
	t.Helper()
	e := p.Entry(name)
	srv, err := rdptest.NewServer(rdptest.Scenario{TLS: rdptest.TLSOptions{Certificate: &e.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.Addr, fmt.Sprintf("%x", sha256.Sum256(e.Cert.Certificate[0]))
}

// tls_config, require_trusted_cert and cert_sha256 judge the certificate
// as the command line does, and the certificate metrics are there whatever
// the class, cert_not_trusted included.
func TestCertificateModules(t *testing.T) {
	p, err := rdptest.CertCatalog()
	if err != nil {
		t.Fatal(err)
	}
	good, goodSHA := serveEntry(t, p, "good")
	self, selfSHA := serveEntry(t, p, "Windows self-signed")
	srv := certExporter(t, fmt.Sprintf(`
modules:
  plain:
    phases: [connect, negotiate, tls]
  enterprise:
    phases: [connect, negotiate, tls]
    tls_config:
      ca_file: corp-root.pem
      server_name: %s
    require_trusted_cert: true
  required:
    phases: [connect, negotiate, tls]
    require_trusted_cert: true
  pinned:
    phases: [connect, negotiate, tls]
    cert_sha256: '%s'
`, rdptest.CertHost, strings.ToUpper(selfSHA)), p.Root.PEM())
	goodInfo := fmt.Sprintf(`probe_ssl_last_chain_info{fingerprint_sha256="%s",issuer="CN=Corp Issuing CA,O=rdptest",subject="CN=RDS01",subjectalternative="%s"}`,
		goodSHA, rdptest.CertHost)
	selfInfo := fmt.Sprintf(`probe_ssl_last_chain_info{fingerprint_sha256="%s",issuer="CN=%s",subject="CN=%s",subjectalternative=""}`,
		selfSHA, rdptest.CertHost, rdptest.CertHost)
	for _, tc := range []struct {
		name, target, module string
		success, class       string
		trusted, info        string
	}{
		{"good, no CA", good, "plain", "1", "ok", "0", goodInfo},
		{"good, enterprise CA and name", good, "enterprise", "1", "ok", "1", goodInfo},
		{"good, required, no CA", good, "required", "0", "cert_not_trusted", "0", goodInfo},
		{"self-signed, enterprise", self, "enterprise", "0", "cert_not_trusted", "0", selfInfo},
		{"self-signed, pinned", self, "pinned", "1", "ok", "0", selfInfo},
		{"good, pinned to another", good, "pinned", "0", "cert_not_trusted", "0", goodInfo},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := scrapeURL(t, srv.URL, tc.target, tc.module)
			wantSample(t, m, "probe_success", tc.success)
			wantSample(t, m, `probe_rdp_result{class="`+tc.class+`"}`, "1")
			wantSample(t, m, "probe_rdp_cert_trusted", tc.trusted)
			wantSample(t, m, tc.info, "1")
			for _, name := range []string{"probe_ssl_earliest_cert_expiry", "probe_ssl_last_chain_expiry_timestamp_seconds", `probe_tls_version_info{version="TLS 1.3"}`} {
				if _, ok := m[name]; !ok {
					t.Errorf("no %s: %v", name, m)
				}
			}
		})
	}
}

func TestLabelValue(t *testing.T) {
	long := strings.Repeat("é", maxLabelBytes) // two bytes each
	for _, s := range []string{"CN=RDS01", "bad \xff byte", long} {
		got := labelValue(s)
		if !utf8.ValidString(got) || len(got) > maxLabelBytes+len("…") || (s == "CN=RDS01") != (got == s) {
			t.Errorf("labelValue(%.20q…) = %.20q… (%d bytes)", s, got, len(got))
		}
	}
}
