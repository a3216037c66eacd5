package rdptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"sync"
	"time"
)

// CertOptions describes a server certificate to make. The zero value is what
// an RDP server usually has: self-signed RSA 2048 named after the host.
type CertOptions struct {
	CommonName string        // default "rdptest"
	DNSNames   []string      // SANs
	ECDSA      bool          // P-256 instead of RSA
	RSABits    int           // default 2048
	NotBefore  time.Time     // default an hour ago
	Validity   time.Duration // default a year; negative makes it expired
}

// NewCertificate makes a self-signed certificate.
func NewCertificate(o CertOptions) (tls.Certificate, error) {
	if o.CommonName == "" {
		o.CommonName = "rdptest"
	}
	if o.RSABits == 0 {
		o.RSABits = 2048
	}
	if o.NotBefore.IsZero() {
		o.NotBefore = time.Now().Add(-time.Hour)
	}
	if o.Validity == 0 {
		o.Validity = 365 * 24 * time.Hour
	}
	var key any
	var pub any
	if o.ECDSA {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return tls.Certificate{}, err
		}
		key, pub = k, &k.PublicKey
	} else {
		k, err := rsa.GenerateKey(rand.Reader, o.RSABits)
		if err != nil {
			return tls.Certificate{}, err
		}
		key, pub = k, &k.PublicKey
	}
	notAfter := o.NotBefore.Add(o.Validity)
	if o.Validity < 0 {
		// Expired: valid for a day, a while ago.
		notAfter = time.Now().Add(o.Validity)
		o.NotBefore = notAfter.Add(-24 * time.Hour)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: o.CommonName},
		DNSNames:     o.DNSNames,
		NotBefore:    o.NotBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

var (
	defaultCertOnce sync.Once
	defaultCert     tls.Certificate
	defaultCertErr  error
)

// DefaultCertificate is one self-signed RSA 2048 certificate made once per
// process: RSA key generation is slow, and most scenarios don't care.
func DefaultCertificate() (tls.Certificate, error) {
	defaultCertOnce.Do(func() { defaultCert, defaultCertErr = NewCertificate(CertOptions{}) })
	return defaultCert, defaultCertErr
}

// testCA is rdptest's own certificate authority, made once per process:
// it signs the gateway emulator's certificate, so that a probe given
// TestRoots trusts the gateway as mstsc trusts a gateway whose CA it has.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

var testCAOnce = sync.OnceValues(func() (ca, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return ca{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "rdptest CA", Organization: []string{"rdptest"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return ca{}, err
	}
	cert, err := x509.ParseCertificate(der)
	return ca{cert, key}, err
})

func testCA() (*x509.Certificate, *ecdsa.PrivateKey, error) {
	c, err := testCAOnce()
	return c.cert, c.key, err
}

// TestRoots returns a pool holding only rdptest's CA.
func TestRoots() *x509.CertPool {
	ca, _, err := testCA()
	if err != nil {
		panic("rdptest: CA: " + err.Error())
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool
}

// GatewayHostName is the name in the gateway emulator's certificate,
// beside 127.0.0.1, ::1 and localhost.
const GatewayHostName = "gw.corp.example.com"

// gatewayCert is the gateway emulator's default certificate: ECDSA P-256
// (fast to make) for GatewayHostName, localhost and the loopback
// addresses, signed by rdptest's CA.
var gatewayCert = sync.OnceValues(func() (tls.Certificate, error) {
	ca, caKey, err := testCA()
	if err != nil {
		return tls.Certificate{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: GatewayHostName},
		DNSNames:     []string{GatewayHostName, "localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.Raw}, PrivateKey: key, Leaf: leaf}, nil
})

// TestCAPEM is rdptest's CA in PEM, for a client in another process (its
// SSL_CERT_FILE, say) to trust the gateway emulator.
func TestCAPEM() []byte {
	ca, _, err := testCA()
	if err != nil {
		panic("rdptest: CA: " + err.Error())
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})
}
