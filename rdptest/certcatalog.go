package rdptest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/rdpprobe/rdpprobe/probe"
)

// CertHost is the name the certificate catalog's server certificates are
// issued for.
const CertHost = "rds01.corp.example.com"

// CertEntry is a certificate a server presents, how a client names the
// server, and what a check of the certificate must find.
type CertEntry struct {
	Name string
	Cert tls.Certificate // the chain the server sends, leaf first
	// Host is the host as typed; ServerName the --tls-server-name, if any.
	Host, ServerName string
	// TrustRoot: the catalog's root CA is trusted (--ca-file), besides the
	// system's roots; TrustSelf: the certificate itself is.
	TrustRoot, TrustSelf bool

	Trusted     bool
	Error       probe.TrustError
	NameMatches bool
	PurposeOK   bool
	Expired     bool
	NotYetValid bool
	SelfSigned  bool
	Chain       []string // subjects of the chain checked, leaf first
	// Findings are the IDs of the certificate findings a verdict must
	// have (of cert_*), and no other certificate finding.
	Findings []string
	// OpenSSLPurpose: `openssl verify -purpose sslserver` can judge the
	// purpose; it does not know Remote Desktop Authentication.
	OpenSSLPurpose bool
}

// CertPKI is a root CA, an issuing CA under it, an expired one, and the
// certificate entries they issue.
type CertPKI struct {
	Root    *CA
	Entries []CertEntry
}

// Roots are the roots a client of e trusts: the system's plus the
// catalog's root (TrustRoot) or e's certificate (TrustSelf); nil for the
// system's alone.
func (p *CertPKI) Roots(e CertEntry) *x509.CertPool {
	if !e.TrustRoot && !e.TrustSelf {
		return nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if e.TrustRoot {
		pool.AddCert(p.Root.Cert)
	}
	if e.TrustSelf {
		pool.AddCert(e.Cert.Leaf)
	}
	return pool
}

// Entry returns the entry named name, or panics: the names are the
// catalog's own.
func (p *CertPKI) Entry(name string) CertEntry {
	for _, e := range p.Entries {
		if e.Name == name {
			return e
		}
	}
	panic("rdptest: no certificate entry " + name)
}

// CertCatalog is the certificate catalog, made once per process: every
// way a Remote Desktop server's certificate passes or fails mstsc's checks.
var CertCatalog = sync.OnceValues(newCertPKI)

func newCertPKI() (*CertPKI, error) {
	root, err := NewCA(CAOptions{Name: "Corp Root CA"})
	if err != nil {
		return nil, err
	}
	inter, err := root.NewIntermediate(CAOptions{Name: "Corp Issuing CA"})
	if err != nil {
		return nil, err
	}
	oldInter, err := root.NewIntermediate(CAOptions{Name: "Corp Old Issuing CA", Validity: -time.Hour})
	if err != nil {
		return nil, err
	}
	var errs []error
	leaf := func(o CertOptions) tls.Certificate {
		if o.Issuer == nil {
			o.Issuer = inter
		}
		if o.CommonName == "" {
			o.CommonName = "RDS01"
		}
		o.ECDSA = true
		c, err := NewCertificate(o)
		errs = append(errs, err)
		return c
	}
	san := []string{CertHost}
	good := leaf(CertOptions{DNSNames: san})
	leafOnly := good
	leafOnly.Certificate = good.Certificate[:1]
	windows, err := NewCertificate(CertOptions{CommonName: CertHost}) // RSA, as Windows makes it
	errs = append(errs, err)

	const (
		rootS  = "CN=Corp Root CA,O=rdptest"
		interS = "CN=Corp Issuing CA,O=rdptest"
		leafS  = "CN=RDS01"
	)
	full := []string{leafS, interS, rootS}
	ok := func(e CertEntry) CertEntry {
		e.Trusted, e.NameMatches, e.PurposeOK, e.OpenSSLPurpose = true, true, true, true
		return e
	}
	const (
		untrusted    = "cert_untrusted"
		nameMismatch = "cert_name_mismatch"
		wrongPurpose = "cert_wrong_purpose"
		expired      = "cert_expired"
		notYetValid  = "cert_not_yet_valid"
		expiring     = "cert_expiring"
		selfSigned   = "cert_self_signed"
	)
	p := &CertPKI{Root: root, Entries: []CertEntry{
		ok(CertEntry{Name: "good", Cert: good, Host: CertHost, TrustRoot: true, Chain: full}),
		{Name: "good, typed by address", Cert: good, Host: "127.0.0.1", TrustRoot: true, Error: probe.TrustNameMismatch,
			PurposeOK: true, OpenSSLPurpose: true, Chain: full, Findings: []string{nameMismatch}},
		ok(CertEntry{Name: "good, --tls-server-name", Cert: good, Host: "127.0.0.1", ServerName: CertHost, TrustRoot: true, Chain: full}),
		{Name: "good, root not given", Cert: good, Host: CertHost, Error: probe.TrustUnknownAuthority,
			NameMatches: true, PurposeOK: true, OpenSSLPurpose: true, Chain: []string{leafS, interS}, Findings: []string{untrusted}},
		{Name: "intermediate not sent", Cert: leafOnly, Host: CertHost, TrustRoot: true, Error: probe.TrustUnknownAuthority,
			NameMatches: true, PurposeOK: true, OpenSSLPurpose: true, Chain: []string{leafS}, Findings: []string{untrusted}},
		{Name: "expired", Cert: leaf(CertOptions{DNSNames: san, Validity: -time.Hour}), Host: CertHost, TrustRoot: true,
			Error: probe.TrustExpired, NameMatches: true, PurposeOK: true, Expired: true, OpenSSLPurpose: true, Chain: full,
			Findings: []string{expired}},
		ok(CertEntry{Name: "expiring", Cert: leaf(CertOptions{DNSNames: san, Validity: 10 * 24 * time.Hour}), Host: CertHost,
			TrustRoot: true, Chain: full, Findings: []string{expiring}}),
		{Name: "not yet valid", Cert: leaf(CertOptions{DNSNames: san, NotBefore: time.Now().Add(48 * time.Hour)}), Host: CertHost,
			TrustRoot: true, Error: probe.TrustNotYetValid, NameMatches: true, PurposeOK: true, NotYetValid: true, OpenSSLPurpose: true,
			Chain: full, Findings: []string{notYetValid}},
		// Issued while its CA was valid.
		{Name: "intermediate expired", Cert: leaf(CertOptions{DNSNames: san, Issuer: oldInter, NotBefore: time.Now().Add(-48 * time.Hour)}),
			Host: CertHost, TrustRoot: true,
			Error: probe.TrustExpired, NameMatches: true, PurposeOK: true, Expired: true, OpenSSLPurpose: true,
			Chain: []string{leafS, "CN=Corp Old Issuing CA,O=rdptest", rootS}, Findings: []string{expired}},
		{Name: "wrong name", Cert: leaf(CertOptions{CommonName: "RDS02", DNSNames: []string{"rds02.corp.example.com"}}), Host: CertHost,
			TrustRoot: true, Error: probe.TrustNameMismatch, PurposeOK: true, OpenSSLPurpose: true,
			Chain: []string{"CN=RDS02", interS, rootS}, Findings: []string{nameMismatch}},
		ok(CertEntry{Name: "IP SAN", Cert: leaf(CertOptions{IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}), Host: "127.0.0.1",
			TrustRoot: true, Chain: full}),
		{Name: "wrong purpose", Cert: leaf(CertOptions{DNSNames: san, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}),
			Host: CertHost, TrustRoot: true, Error: probe.TrustWrongPurpose, NameMatches: true, OpenSSLPurpose: true, Chain: full,
			Findings: []string{wrongPurpose}},
		ok(CertEntry{Name: "no EKU", Cert: leaf(CertOptions{DNSNames: san, NoExtKeyUsage: true}), Host: CertHost, TrustRoot: true, Chain: full}),
		{Name: "Remote Desktop Authentication EKU", Cert: leaf(CertOptions{DNSNames: san,
			UnknownExtKeyUsage: []asn1.ObjectIdentifier{probe.OIDRemoteDesktopAuth}}), Host: CertHost, TrustRoot: true,
			Trusted: true, NameMatches: true, PurposeOK: true, Chain: full},
		ok(CertEntry{Name: "common name only", Cert: leaf(CertOptions{CommonName: CertHost}), Host: CertHost, TrustRoot: true,
			Chain: []string{"CN=" + CertHost, interS, rootS}}),
		{Name: "Windows self-signed", Cert: windows, Host: CertHost, Error: probe.TrustUnknownAuthority, NameMatches: true,
			PurposeOK: true, SelfSigned: true, OpenSSLPurpose: true, Chain: []string{"CN=" + CertHost}, Findings: []string{selfSigned, untrusted}},
		ok(CertEntry{Name: "Windows self-signed, trusted", Cert: windows, Host: CertHost, TrustSelf: true, SelfSigned: true,
			Chain: []string{"CN=" + CertHost}, Findings: []string{selfSigned}}),
		{Name: "everything wrong", Cert: leaf(CertOptions{CommonName: "RDS02", DNSNames: []string{"rds02.corp.example.com"},
			Validity: -time.Hour, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}), Host: CertHost, TrustRoot: true,
			Error: probe.TrustWrongPurpose, Expired: true, OpenSSLPurpose: true, Chain: []string{"CN=RDS02", interS, rootS},
			Findings: []string{wrongPurpose, nameMismatch, expired}},
	}}
	return p, errors.Join(errs...)
}
