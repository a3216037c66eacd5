package main

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rdpprobe/rdpprobe/internal/labtest"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

// certServer serves the catalog entry's certificate from an NLA server and
// returns its address and a --ca-file with the catalog's root.
func certServer(t *testing.T, entry string) (addr, caFile string) {
	t.Helper()
	p, err := rdptest.CertCatalog()
	if err != nil {
		t.Fatal(err)
	}
	e := p.Entry(entry)
	srv, err := rdptest.NewServer(rdptest.Scenario{TLS: rdptest.TLSOptions{Certificate: &e.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	caFile = filepath.Join(t.TempDir(), "corp-root.pem")
	if err := os.WriteFile(caFile, p.Root.PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv.Addr, caFile
}

// certOf is the JSON tls.certificate of a report.
func certOf(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	tl, _ := m["tls"].(map[string]any)
	c, _ := tl["certificate"].(map[string]any)
	if c == nil {
		t.Fatalf("no tls.certificate in %v", m)
	}
	return c
}

func findingIDs(m map[string]any) []string {
	var ids []string
	fs, _ := m["findings"].([]any)
	for _, f := range fs {
		ids = append(ids, f.(map[string]any)["id"].(string))
	}
	return ids
}

// Every certificate flag does what --help says, through the command line:
// --ca-file trusts the enterprise root, --tls-server-name names the
// server, --require-trusted-cert and --cert-sha256 fail exactly what they
// must (exit 4, cert_not_trusted) and pass the rest, --cert-warn-days
// moves the expiring window.
func TestCertificateFlags(t *testing.T) {
	good, ca := certServer(t, "good")
	byIP, _ := certServer(t, "IP SAN")
	self, _ := certServer(t, "Windows self-signed")
	expiring, _ := certServer(t, "expiring")
	// The good certificate's fingerprint, as openssl prints it (upper case, colons).
	_, out, _ := rdpprobe(t, "-o", "json", "--depth", "tls", good)
	sha := certOf(t, jsonReport(t, out))["sha256"].(string)
	var colons []string
	for i := 0; i < len(sha); i += 2 {
		colons = append(colons, strings.ToUpper(sha[i:i+2]))
	}
	for _, tc := range []struct {
		name        string
		args        []string
		class       string
		exit        int
		trusted     bool
		trustError  string
		detail      []string
		finding     string // a finding it must have
		noFinding   string // and one it must not
		nameChecked string
	}{
		{"no root: untrusted, reported, not failed", []string{good}, "ok", 0, false, "unknown_authority", nil, "cert_untrusted", "", "127.0.0.1"},
		{"--ca-file, by address", []string{"--ca-file", ca, good}, "ok", 0, false, "name_mismatch", nil, "cert_name_mismatch", "cert_untrusted", "127.0.0.1"},
		{"--ca-file and --tls-server-name", []string{"--ca-file", ca, "--tls-server-name", rdptest.CertHost, good}, "ok", 0, true, "",
			nil, "", "cert_name_mismatch", rdptest.CertHost},
		{"--ca-file, IP SAN", []string{"--ca-file", ca, byIP}, "ok", 0, true, "", nil, "", "cert_untrusted", "127.0.0.1"},
		{"--require-trusted-cert, trusted", []string{"--require-trusted-cert", "--ca-file", ca, byIP}, "ok", 0, true, "", nil, "", "", "127.0.0.1"},
		{"--require-trusted-cert, wrong name", []string{"--require-trusted-cert", "--ca-file", ca, good}, "cert_not_trusted", 4, false, "name_mismatch",
			[]string{"--require-trusted-cert", "does not hold 127.0.0.1"}, "cert_name_mismatch", "", "127.0.0.1"},
		{"--require-trusted-cert, self-signed", []string{"--require-trusted-cert", self}, "cert_not_trusted", 4, false, "unknown_authority",
			[]string{"self-signed", "--require-trusted-cert"}, "cert_self_signed", "", "127.0.0.1"},
		{"--cert-sha256, its own", []string{"--cert-sha256", strings.Join(colons, ":"), "--require-trusted-cert", good}, "ok", 0, false, "unknown_authority",
			nil, "", "", "127.0.0.1"},
		{"--cert-sha256, another", []string{"--cert-sha256", strings.Repeat("AB", 32), "--ca-file", ca, "--tls-server-name", rdptest.CertHost, good},
			"cert_not_trusted", 4, true, "", []string{sha, strings.Repeat("ab", 32), "--cert-sha256", "a trusted one"}, "", "", rdptest.CertHost},
		{"expiring, default window", []string{"--ca-file", ca, expiring}, "ok", 0, false, "name_mismatch", nil, "cert_expiring", "", "127.0.0.1"},
		{"--cert-warn-days 5", []string{"--cert-warn-days", "5", "--ca-file", ca, expiring}, "ok", 0, false, "name_mismatch", nil, "", "cert_expiring", "127.0.0.1"},
		{"--cert-warn-days 400", []string{"--cert-warn-days", "400", "--ca-file", ca, good}, "ok", 0, false, "name_mismatch", nil, "cert_expiring", "", "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := rdpprobe(t, append([]string{"-o", "json", "--depth", "tls"}, tc.args...)...)
			m := jsonReport(t, stdout)
			if m["class"] != tc.class || code != tc.exit {
				t.Fatalf("class %v exit %d, want %s %d: %v\n%s", m["class"], code, tc.class, tc.exit, m["detail"], stderr)
			}
			c := certOf(t, m)
			if c["trusted"] != tc.trusted || (c["trust_error"] != nil || tc.trustError != "") && c["trust_error"] != tc.trustError || c["name_checked"] != tc.nameChecked {
				t.Errorf("trusted %v (%v) for %v, want %v (%q) for %s", c["trusted"], c["trust_error"], c["name_checked"], tc.trusted, tc.trustError, tc.nameChecked)
			}
			for _, w := range tc.detail {
				if d, _ := m["detail"].(string); !strings.Contains(d, w) {
					t.Errorf("detail %q lacks %q", d, w)
				}
			}
			ids := strings.Join(findingIDs(m), " ")
			if tc.finding != "" && !strings.Contains(ids, tc.finding) || tc.noFinding != "" && strings.Contains(ids, tc.noFinding) {
				t.Errorf("findings %s: want %q, not %q", ids, tc.finding, tc.noFinding)
			}
		})
	}
}

func TestCertificateFlagErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "key.pem")
	os.WriteFile(notPEM, []byte("-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n"), 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--ca-file", filepath.Join(dir, "missing.pem"), "h"}, "--ca-file: open"},
		{[]string{"--ca-file", notPEM, "h"}, "--ca-file: " + notPEM + ": no PEM certificate"},
		{[]string{"--cert-sha256", strings.Repeat("ab", 20), "h"}, "--cert-sha256: " + `"` + strings.Repeat("ab", 20) + `" has 40 hex digits, a SHA-1 thumbprint`},
		{[]string{"--cert-sha256", "xyz", "h"}, "--cert-sha256:"},
		{[]string{"--cert-warn-days", "0", "h"}, "--cert-warn-days must be at least 1"},
	} {
		code, _, stderr := rdpprobe(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
	code, _, stderr := rdpprobe(t, "sweep", "--ca-file", notPEM, "127.0.0.1")
	if code != exitUsage || !strings.Contains(stderr, "--ca-file: "+notPEM) {
		t.Errorf("sweep --ca-file: exit %d, %q", code, stderr)
	}
}

// --help says what "trusted" means and what it leaves out.
func TestHelpExplainsTrust(t *testing.T) {
	_, stdout, _ := rdpprobe(t, "--help")
	help := strings.Join(strings.Fields(stdout), " ") // wherever the lines break
	for _, want := range []string{"--ca-file", "--tls-server-name", "--cert-warn-days", "--require-trusted-cert", "--cert-sha256",
		`"Trusted" means`, "intermediates the server sent", "Remote Desktop Authentication", "Revocation (CRL, OCSP) is not checked"} {
		if !strings.Contains(help, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}

// The lab's real certificates: FreeRDP's (CN=vm) and xrdp's snakeoil one
// (CN=localhost) are self-signed, so --require-trusted-cert refuses them by
// address, and their own pin, or their own certificate as --ca-file with
// the name they hold, lets them through. (Debian's ssl-cert package links
// the snakeoil certificate into /etc/ssl/certs, so on the lab's machine
// it is a system root already: refused for the name alone.)
func TestLabCertificates(t *testing.T) {
	for _, tc := range []struct{ peer, name string }{{"tls", "vm"}, {"xrdp", "localhost"}} {
		t.Run(tc.peer, func(t *testing.T) {
			addr := labtest.Peer(t, tc.peer)
			chain := labtest.PeerCertificates(t, tc.peer)
			own := filepath.Join(t.TempDir(), "own.pem")
			os.WriteFile(own, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: chain[0].Raw}), 0o644)
			sha := fingerprintHex(chain[0])

			why := "unknown_authority"
			if _, err := chain[0].Verify(x509.VerifyOptions{}); err == nil {
				why = "name_mismatch" // a system root on this machine
			}
			code, stdout, _ := rdpprobe(t, "-o", "json", "--depth", "tls", "--protocols", "tls", "--require-trusted-cert", addr)
			m := jsonReport(t, stdout)
			if c := certOf(t, m); code != 4 || m["class"] != "cert_not_trusted" || c["self_signed"] != true || c["trust_error"] != why {
				t.Errorf("required: exit %d class %v certificate %v, want trust_error %s", code, m["class"], c, why)
			}
			code, stdout, _ = rdpprobe(t, "-o", "json", "--depth", "tls", "--protocols", "tls", "--require-trusted-cert", "--cert-sha256", sha, addr)
			if m := jsonReport(t, stdout); code != 0 || certOf(t, m)["pin_matches"] != true {
				t.Errorf("pinned: exit %d %v", code, m["detail"])
			}
			code, stdout, _ = rdpprobe(t, "-o", "json", "--depth", "tls", "--protocols", "tls", "--require-trusted-cert", "--ca-file", own,
				"--tls-server-name", tc.name, addr)
			if m := jsonReport(t, stdout); code != 0 || certOf(t, m)["trusted"] != true || certOf(t, m)["name_matches"] != true {
				t.Errorf("own certificate as root, name %s: exit %d %v %v", tc.name, code, m["detail"], certOf(t, m))
			}
		})
	}
}

func fingerprintHex(c *x509.Certificate) string { return fmt.Sprintf("%x", sha256.Sum256(c.Raw)) }
