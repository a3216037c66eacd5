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
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"net"
	"sync"
	"time"
)

// CertOptions describes a server certificate to make. The zero value is what
// an RDP server usually has, Windows' own included: self-signed RSA 2048
// named after the host, extended key usage Server Authentication, no basic
// constraints, no subject alternative names.
type CertOptions struct {
	CommonName  string        // default "rdptest"
	DNSNames    []string      // SANs
	IPAddresses []net.IP      // IP SANs
	ECDSA       bool          // P-256 instead of RSA
	RSABits     int           // default 2048
	NotBefore   time.Time     // default an hour ago
	Validity    time.Duration // default a year; negative makes it expired
	// ExtKeyUsage and UnknownExtKeyUsage replace Server Authentication;
	// NoExtKeyUsage leaves the extension out (no restriction of purpose).
	ExtKeyUsage        []x509.ExtKeyUsage
	UnknownExtKeyUsage []asn1.ObjectIdentifier
	NoExtKeyUsage      bool
	// Issuer signs the certificate; nil makes it self-signed. The chain
	// served is the certificate and the issuer's intermediates, without the
	// root, as a server sends it.
	Issuer *CA
	// HugeRSAKeyBits, if set, puts an RSA public key of this many bits in
	// the certificate (16384, say) for a client to refuse: generating a
	// real one takes minutes, so it is a random odd modulus with no
	// private key, the certificate is signed by the certificate's own
	// key (issuer "rdptest huge-key issuer" unless Issuer is set) and the
	// server signs the handshake with that key. Only a client that refuses
	// the key before checking a signature, as Go's does above 8192 bits,
	// gets that far.
	HugeRSAKeyBits int
}

// NewCertificate makes a certificate as o says: self-signed unless o.Issuer
// is set.
func NewCertificate(o CertOptions) (tls.Certificate, error) {
	if o.CommonName == "" {
		o.CommonName = "rdptest"
	}
	if o.RSABits == 0 {
		o.RSABits = 2048
	}
	key, err := newKey(o.ECDSA, o.RSABits)
	if err != nil {
		return tls.Certificate{}, err
	}
	notBefore, notAfter := validity(o.NotBefore, o.Validity, 365*24*time.Hour)
	tmpl := &x509.Certificate{
		SerialNumber:       serial(),
		Subject:            pkix.Name{CommonName: o.CommonName},
		DNSNames:           o.DNSNames,
		IPAddresses:        o.IPAddresses,
		NotBefore:          notBefore,
		NotAfter:           notAfter,
		KeyUsage:           x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:        o.ExtKeyUsage,
		UnknownExtKeyUsage: o.UnknownExtKeyUsage,
	}
	if !o.NoExtKeyUsage && len(o.ExtKeyUsage) == 0 && len(o.UnknownExtKeyUsage) == 0 {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	parent, signer := tmpl, key
	var chain [][]byte
	if ca := o.Issuer; ca != nil {
		parent, signer, chain = ca.Cert, ca.key, ca.chain
	}
	pub := key.Public()
	if n := o.HugeRSAKeyBits; n > 0 {
		mod, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), uint(n)))
		if err != nil {
			return tls.Certificate{}, err
		}
		mod.SetBit(mod, n-1, 1).SetBit(mod, 0, 1) // exactly n bits, odd
		pub = &rsa.PublicKey{N: mod, E: 65537}
		if o.Issuer == nil {
			parent = &x509.Certificate{Subject: pkix.Name{CommonName: "rdptest huge-key issuer"}, PublicKey: key.Public()}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: append([][]byte{der}, chain...), PrivateKey: key, Leaf: leaf}, nil
}

// CA is a certificate authority for tests: a root (NewCA) or an
// intermediate under one (CA.NewIntermediate). Its keys are ECDSA P-256.
type CA struct {
	Cert  *x509.Certificate
	key   crypto.Signer
	chain [][]byte // what it adds to a served chain: itself and the intermediates above it; nil for a root
}

// CAOptions describes a CA certificate; the zero value is valid from an
// hour ago for ten years.
type CAOptions struct {
	Name      string // the subject's common name; default "rdptest CA"
	NotBefore time.Time
	Validity  time.Duration // negative makes it expired
}

// NewCA makes a self-signed root CA.
func NewCA(o CAOptions) (*CA, error) { return newCA(o, nil) }

// NewIntermediate makes a CA that ca signs.
func (ca *CA) NewIntermediate(o CAOptions) (*CA, error) { return newCA(o, ca) }

func newCA(o CAOptions, parent *CA) (*CA, error) {
	if o.Name == "" {
		o.Name = "rdptest CA"
	}
	key, err := newKey(true, 0)
	if err != nil {
		return nil, err
	}
	notBefore, notAfter := validity(o.NotBefore, o.Validity, 10*365*24*time.Hour)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: o.Name, Organization: []string{"rdptest"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	issuer, signer := tmpl, crypto.Signer(key)
	if parent != nil {
		issuer, signer = parent.Cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, key.Public(), signer)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	ca := &CA{Cert: c, key: key}
	if parent != nil {
		ca.chain = append([][]byte{der}, parent.chain...)
	}
	return ca, nil
}

// PEM is the CA's certificate in PEM, as a --ca-file holds it.
func (ca *CA) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

func newKey(ec bool, rsaBits int) (crypto.Signer, error) {
	if ec {
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	return rsa.GenerateKey(rand.Reader, rsaBits)
}

// validity turns a start and a length into NotBefore and NotAfter: the
// start defaults to an hour ago and the length to def; a negative length
// means expired that long ago, after a day of validity.
func validity(notBefore time.Time, length, def time.Duration) (time.Time, time.Time) {
	if notBefore.IsZero() {
		notBefore = time.Now().Add(-time.Hour)
	}
	if length == 0 {
		length = def
	}
	if length < 0 {
		notAfter := time.Now().Add(length)
		return notAfter.Add(-24 * time.Hour), notAfter
	}
	return notBefore, notBefore.Add(length)
}

func serial() *big.Int {
	s, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	return s
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
