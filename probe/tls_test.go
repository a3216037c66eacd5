package probe

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

// makeCert signs a certificate for subject with parent's key (itself when
// parent is nil).
func makeCert(t *testing.T, subject string, ca bool, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: subject},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ca {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func TestSelfSigned(t *testing.T) {
	// Windows' own RDP certificate: self-signed, EKU Server Authentication,
	// no basic constraints (so CheckSignatureFrom refuses it as a parent).
	windows, _ := makeCert(t, "rds01.corp.example.com", false, nil, nil)
	if !selfSigned(windows) {
		t.Error("a Windows-style self-signed certificate without basic constraints is not reported self-signed")
	}
	ca, caKey := makeCert(t, "Corp Root CA", true, nil, nil)
	if !selfSigned(ca) {
		t.Error("a self-signed CA certificate is not reported self-signed")
	}
	leaf, _ := makeCert(t, "rds01.corp.example.com", false, ca, caKey)
	if selfSigned(leaf) {
		t.Error("a CA-issued leaf is reported self-signed")
	}
	// Same name as its issuer, signed by another key: not self-signed.
	impostor, _ := makeCert(t, "Corp Root CA", false, ca, caKey)
	if selfSigned(impostor) {
		t.Error("a certificate whose subject equals its issuer but that its own key did not sign is reported self-signed")
	}
}
