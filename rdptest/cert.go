package rdptest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"sync"
	"time"
)

// CertOptions describes a server certificate to make. The zero value is what
// an RDP server usually has: self-signed RSA 2048 named after the host.
type CertOptions struct {
	CommonName string        // default "rdptest"
	Issuer     string        // the issuer's common name; "" self-signed (the same key signs either way)
	DNSNames   []string      // SANs
	ECDSA      bool          // P-256 instead of RSA
	RSABits    int           // default 2048
	NotBefore  time.Time     // default an hour ago
	Validity   time.Duration // default a year; negative makes it expired
	// HugeRSAKeyBits, if set, puts an RSA public key of this many bits in
	// the certificate (16384, say) for a client to refuse: generating a
	// real one takes minutes, so it is a random odd modulus with no
	// private key, the certificate is signed by a 2048-bit key (issuer
	// "rdptest huge-key issuer") and the server signs the handshake with
	// that key. Only a client that refuses the key before checking a
	// signature, as Go's does above 8192 bits, gets that far.
	HugeRSAKeyBits int
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
	parent := (*x509.Certificate)(nil)
	if o.HugeRSAKeyBits > 0 {
		mod, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), uint(o.HugeRSAKeyBits)))
		if err != nil {
			return tls.Certificate{}, err
		}
		mod.SetBit(mod, o.HugeRSAKeyBits-1, 1).SetBit(mod, 0, 1) // exactly that many bits, odd
		pub = &rsa.PublicKey{N: mod, E: 65537}
		parent = &x509.Certificate{Subject: pkix.Name{CommonName: "rdptest huge-key issuer"}, PublicKey: key.(crypto.Signer).Public()}
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
	if parent == nil && o.Issuer != "" {
		parent = &x509.Certificate{Subject: pkix.Name{CommonName: o.Issuer}}
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
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
