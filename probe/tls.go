package probe

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"strings"

	"github.com/rdpprobe/rdpprobe/negotiate"
)

// handshake upgrades to TLS (MS-RDPBCGR 5.4.5.1). RDP servers present
// self-signed certificates as a rule, so the handshake accepts any
// certificate and the probe judges it afterwards (VerifyCertificate):
// CredSSP's pubKeyAuth is what binds the key to a logon. Only when the
// options require a trusted or pinned certificate does a failed judgement
// end the probe here, with the certificate's facts recorded.
func (p *prober) handshake(ctx context.Context) error {
	cfg := &tls.Config{
		InsecureSkipVerify: true,
		MinVersion:         tls.VersionTLS10,
		// Old Windows (2008 R2, 2012) needs RSA key exchange and CBC suites
		// that Go leaves out by default; naming them enables them.
		CipherSuites: allCipherSuites(),
		KeyLogWriter: p.opt.KeyLogWriter,
	}
	if name := cmp.Or(p.opt.Cert.ServerName, p.r.Host); net.ParseIP(name) == nil {
		cfg.ServerName = name
	}
	tc := tls.Client(p.conn.Conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return &TLSHandshakeError{Err: typeTLSAlert(err)}
	}
	p.conn.Conn = tc
	st := tc.ConnectionState()
	p.conn.event("tls", tls.VersionName(st.Version)+" "+tls.CipherSuiteName(st.CipherSuite))
	info := &TLSInfo{Version: st.Version, CipherSuite: st.CipherSuite}
	if len(st.PeerCertificates) > 0 {
		cert := st.PeerCertificates[0]
		info.Certificate = certInfo(cert)
		pol := p.opt.Cert
		if pol.CurrentTime.IsZero() {
			pol.CurrentTime = p.r.Start // the clock classify judges expiry by
		}
		trust := VerifyCertificate(st.PeerCertificates, p.r.Host, pol)
		info.Certificate.Trust = &trust
		spk, err := negotiate.SubjectPublicKey(cert)
		if err != nil {
			return fmt.Errorf("tls: server certificate: %w", err)
		}
		p.spk = spk
	}
	p.r.TLS = info
	return certRefusal(&p.opt, info.Certificate)
}

func allCipherSuites() []uint16 {
	var ids []uint16
	for _, s := range tls.CipherSuites() {
		ids = append(ids, s.ID)
	}
	for _, s := range tls.InsecureCipherSuites() {
		// RSA key exchange and CBC-SHA1 only; RC4 and 3DES stay out.
		if !strings.Contains(s.Name, "RC4") && !strings.Contains(s.Name, "3DES") {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

func certInfo(c *x509.Certificate) *CertInfo {
	ci := &CertInfo{
		Subject:      c.Subject.String(),
		CommonName:   c.Subject.CommonName,
		Issuer:       c.Issuer.String(),
		DNSNames:     c.DNSNames,
		NotBefore:    c.NotBefore,
		NotAfter:     c.NotAfter,
		SignatureAlg: c.SignatureAlgorithm.String(),
		SelfSigned:   selfSigned(c),
	}
	for _, ip := range c.IPAddresses {
		ci.IPAddresses = append(ci.IPAddresses, ip.String())
	}
	ci.SHA256 = fingerprint(c)
	ci.ExtKeyUsage = extKeyUsageOIDs(c)
	ci.KeyType, ci.KeyBits = keyTypeAndSize(c)
	return ci
}

func keyTypeAndSize(c *x509.Certificate) (string, int) {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return "RSA", k.N.BitLen()
	case *ecdsa.PublicKey:
		return "ECDSA", k.Curve.Params().BitSize
	case ed25519.PublicKey:
		return "Ed25519", 256
	}
	return c.PublicKeyAlgorithm.String(), 0
}

// selfSigned: the certificate names itself as issuer and its own key
// verifies its signature. CheckSignatureFrom would also demand a CA basic
// constraint, which Windows' self-signed RDP certificates (and FreeRDP's,
// and xrdp's snakeoil one) do not carry.
func selfSigned(c *x509.Certificate) bool {
	return string(c.RawIssuer) == string(c.RawSubject) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}
