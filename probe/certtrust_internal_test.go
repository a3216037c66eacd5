package probe

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNameMatches(t *testing.T) {
	withSANs := &x509.Certificate{DNSNames: []string{"rds01.corp.example.com", "*.farm.corp.example.com"},
		IPAddresses: []net.IP{net.ParseIP("10.0.0.5"), net.ParseIP("2001:db8::5")}}
	withSANs.Subject.CommonName = "legacy.corp.example.com"
	cnOnly := &x509.Certificate{}
	cnOnly.Subject.CommonName = "RDS01.corp.example.com"
	cnAndIP := &x509.Certificate{IPAddresses: []net.IP{net.ParseIP("10.0.0.5")}}
	cnAndIP.Subject.CommonName = "rds01"
	cnIsIP := &x509.Certificate{}
	cnIsIP.Subject.CommonName = "10.0.0.5"
	for _, tc := range []struct {
		c    *x509.Certificate
		name string
		want bool
	}{
		{withSANs, "rds01.corp.example.com", true},
		{withSANs, "RDS01.Corp.Example.com", true},
		{withSANs, "a.farm.corp.example.com", true},
		{withSANs, "a.b.farm.corp.example.com", false}, // a wildcard is one label
		{withSANs, "10.0.0.5", true},
		{withSANs, "2001:db8::5", true},
		{withSANs, "[2001:db8::5]", true},
		{withSANs, "10.0.0.6", false},
		{withSANs, "legacy.corp.example.com", false}, // DNS SANs present: the common name does not count
		{withSANs, "", false},
		{cnOnly, "rds01.corp.example.com", true},
		{cnOnly, "rds01", false},
		{cnAndIP, "rds01", true}, // IP SANs alone do not hide the common name from a DNS name
		{cnAndIP, "10.0.0.5", true},
		{cnIsIP, "10.0.0.5", false}, // an address matches IP SANs only
	} {
		if got := nameMatches(tc.c, tc.name); got != tc.want {
			t.Errorf("%q against DNS %v IP %v CN %q: %v, want %v", tc.name, tc.c.DNSNames, tc.c.IPAddresses, tc.c.Subject.CommonName, got, tc.want)
		}
	}
}

func TestWithinValidity(t *testing.T) {
	day := 24 * time.Hour
	t0 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	cert := func(from, until time.Time) *x509.Certificate {
		return &x509.Certificate{NotBefore: from, NotAfter: until}
	}
	leaf := cert(t0.Add(-10*day), t0.Add(10*day))
	for _, tc := range []struct {
		name  string
		now   time.Time
		chain []*x509.Certificate
		want  time.Time
	}{
		{"valid", t0, []*x509.Certificate{leaf}, t0},
		{"leaf expired", t0.Add(20 * day), []*x509.Certificate{leaf}, t0.Add(10 * day)},
		{"leaf not yet valid", t0.Add(-20 * day), []*x509.Certificate{leaf}, t0.Add(-10 * day)},
		{"intermediate expired", t0, []*x509.Certificate{leaf, cert(t0.Add(-100*day), t0.Add(-day))}, t0.Add(-day)},
		{"no common period", t0, []*x509.Certificate{leaf, cert(t0.Add(-100*day), t0.Add(-50*day))}, t0},
	} {
		if got := withinValidity(tc.now, tc.chain); !got.Equal(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestVerifyCertificateEdges(t *testing.T) {
	tr := VerifyCertificate(nil, "h", CertPolicy{})
	if tr.Trusted || tr.Error != TrustUnknownAuthority || tr.ChainErr == nil {
		t.Errorf("no certificate: %+v", tr)
	}
	// A chain longer than maxChainKept is kept to its first certificates.
	leaf, _ := makeCert(t, "rds01", false, nil, nil)
	long := []*x509.Certificate{leaf}
	for range 20 {
		ca, _ := makeCert(t, "junk", true, nil, nil)
		long = append(long, ca)
	}
	tr = VerifyCertificate(long, "rds01", CertPolicy{})
	if len(tr.Chain) != maxChainKept || tr.Chain[0].SHA256 != fingerprint(leaf) {
		t.Errorf("kept %d of a chain of %d", len(tr.Chain), len(long))
	}
	// The pin is compared with the leaf.
	if tr = VerifyCertificate(long, "rds01", CertPolicy{SHA256: fingerprint(long[1])}); tr.PinMatches || tr.Pinned == "" {
		t.Errorf("pin of the second certificate matched the leaf: %+v", tr)
	}
}

func TestParseFingerprint(t *testing.T) {
	hex64 := strings.Repeat("0a", 32)
	colons := strings.ToUpper(strings.TrimSuffix(strings.Repeat("0a:", 32), ":"))
	for _, tc := range []struct {
		in, want, err string
	}{
		{hex64, hex64, ""},
		{strings.ToUpper(hex64), hex64, ""},
		{colons, hex64, ""},
		{" " + hex64 + "\n", hex64, ""},
		{strings.Repeat("ab", 20), "", "SHA-1 thumbprint"},
		{strings.Repeat("ab", 31), "", "62 hex digits"},
		{strings.Repeat("zz", 32), "", "not hexadecimal"},
		{"", "", "0 hex digits"},
		{"abc", "", "3 hex digits"},
	} {
		got, err := ParseFingerprint(tc.in)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%q: %q, %v; want %q", tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want one saying %q", tc.in, err, tc.err)
		}
	}
}

func TestLoadRoots(t *testing.T) {
	dir := t.TempDir()
	ca, _ := makeCert(t, "Corp Root CA", true, nil, nil)
	good := filepath.Join(dir, "ca.pem")
	pemCA := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})
	key := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})
	os.WriteFile(good, append(key, pemCA...), 0o644)
	pool, err := LoadRoots(good)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
		t.Errorf("the file's CA is not a root: %v", err)
	}
	empty := filepath.Join(dir, "empty.pem")
	os.WriteFile(empty, key, 0o644)
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")}), 0o644)
	for file, want := range map[string]string{
		empty:                         "no PEM certificate",
		bad:                           "certificate 1",
		filepath.Join(dir, "missing"): "no such file",
	} {
		if _, err := LoadRoots(file); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), file) {
			t.Errorf("%s: %v, want an error naming the file and saying %q", file, err, want)
		}
	}
}
