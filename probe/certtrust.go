package probe

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// DefaultCertWarnWithin is the window of the cert_expiring finding when
// Options.CertWarnWithin is zero.
const DefaultCertWarnWithin = 30 * 24 * time.Hour

// maxChainKept caps the certificates a CertTrust keeps of a chain: a
// server may send hundreds; a real chain has three or four.
const maxChainKept = 8

// The extended key usages a Remote Desktop server's certificate may have
// (besides none at all): Server Authentication (RFC 5280 4.2.1.12) and
// Microsoft's Remote Desktop Authentication, of the "RDP" certificate
// templates.
var (
	OIDServerAuth        = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}
	OIDRemoteDesktopAuth = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 54, 1, 2}
	oidAnyExtKeyUsage    = asn1.ObjectIdentifier{2, 5, 29, 37, 0}
)

// CertPolicy is what a server's certificate is judged against. The zero
// value: the system's roots, the host as typed, no pin, the current time.
type CertPolicy struct {
	// Roots are the trusted roots; nil means the system's. LoadRoots adds
	// an enterprise CA (--ca-file) to the system's.
	Roots *x509.CertPool
	// ServerName, if set, is the name the certificate must hold instead of
	// the host as typed (--tls-server-name); the probe sends it as SNI too.
	ServerName string
	// SHA256 pins the certificate: the lowercase hex SHA-256 of its DER, as
	// ParseFingerprint returns it; "" pins nothing.
	SHA256 string
	// CurrentTime is when validity periods are checked; zero means now.
	CurrentTime time.Time
}

// TrustError names a check a certificate fails. VerifyCertificate reports
// the first that fails, in the order OpenSSL checks them: the chain, the
// purpose, the name, the validity periods.
type TrustError string

const (
	// TrustUnknownAuthority: no chain to a trusted root: the certificate
	// is self-signed and not a root itself, its issuer is unknown, or the
	// server does not send an intermediate certificate.
	TrustUnknownAuthority TrustError = "unknown_authority"
	// TrustInvalidChain: a chain breaks a rule of RFC 5280 (a constraint,
	// a path length, a certificate that may not sign).
	TrustInvalidChain TrustError = "invalid_chain"
	// TrustWrongPurpose: a certificate of the chain restricts its extended
	// key usage to something other than Server Authentication or Remote
	// Desktop Authentication.
	TrustWrongPurpose TrustError = "wrong_purpose"
	// TrustNameMismatch: the certificate does not hold the name checked.
	TrustNameMismatch TrustError = "name_mismatch"
	// TrustExpired / TrustNotYetValid: a certificate of the chain is past,
	// or before, its validity period.
	TrustExpired     TrustError = "expired"
	TrustNotYetValid TrustError = "not_yet_valid"
)

// CertTrust is what VerifyCertificate found: facts, no words. Revocation
// (CRL, OCSP) is not checked.
type CertTrust struct {
	// Trusted: every check below passed.
	Trusted bool
	// Error is the first check that failed; "" when Trusted.
	Error TrustError
	// ChainError is TrustUnknownAuthority or TrustInvalidChain when no
	// chain to a trusted root verifies (validity periods aside), with
	// x509's error in ChainErr; "" when one does.
	ChainError TrustError
	ChainErr   error
	// Name is the name checked: ServerName when one was given, else the
	// host as typed.
	Name       string
	ServerName string
	// NameMatches: the certificate holds Name as a DNS name or IP address
	// subject alternative name (a certificate without DNS names: as its
	// common name, as Windows and OpenSSL match it).
	NameMatches bool
	// PurposeOK: no certificate of Chain restricts its extended key usage
	// to exclude Server Authentication and Remote Desktop Authentication.
	PurposeOK bool
	// Expired, NotYetValid: a certificate of Chain is past, or before, its
	// validity period at the policy's time.
	Expired, NotYetValid bool
	// Chain is the chain checked, leaf first: the one that verified, up to
	// its root, or else the certificates the server sent (at most
	// maxChainKept).
	Chain []ChainCert
	// Pinned is the pin checked ("" for none); PinMatches: the server's
	// certificate is that one.
	Pinned     string
	PinMatches bool
}

// ChainCert is one certificate of a chain.
type ChainCert struct {
	Subject, Issuer     string
	NotBefore, NotAfter time.Time
	SHA256              string   // hex fingerprint of its DER
	ExtKeyUsage         []string // OIDs of its extended key usages; nil when it restricts none
	// PurposeOK: its extended key usage allows Server Authentication or
	// Remote Desktop Authentication (a CA's: or any purpose), or it
	// restricts none.
	PurposeOK bool
}

// ChainNotAfter is the earliest expiry of the chain checked: when the chain
// stops being valid. Zero for an empty chain.
func (t *CertTrust) ChainNotAfter() time.Time {
	var min time.Time
	for _, c := range t.Chain {
		if min.IsZero() || c.NotAfter.Before(min) {
			min = c.NotAfter
		}
	}
	return min
}

// VerifyCertificate judges a server's certificate chain (leaf first, as the
// server sent it) the way mstsc does before it asks for a password: a
// chain to a trusted root through the intermediates the server sent, the
// name the user typed (host, or pol.ServerName), the purpose, and the
// validity periods. It does not check revocation. It is a pure function of
// its arguments, but for the system's roots when pol.Roots is nil.
func VerifyCertificate(chain []*x509.Certificate, host string, pol CertPolicy) CertTrust {
	t := CertTrust{Name: host, ServerName: pol.ServerName, Pinned: pol.SHA256}
	if pol.ServerName != "" {
		t.Name = pol.ServerName
	}
	if len(chain) == 0 {
		t.ChainError, t.Error = TrustUnknownAuthority, TrustUnknownAuthority
		t.ChainErr = errors.New("the server sent no certificate")
		return t
	}
	now := pol.CurrentTime
	if now.IsZero() {
		now = time.Now()
	}
	leaf := chain[0]
	t.PinMatches = pol.SHA256 != "" && fingerprint(leaf) == pol.SHA256

	// The chain is verified at a time when every certificate the server
	// sent is valid, so that an expired one counts as expired, not as an
	// unknown authority (x509 ignores a candidate issuer outside its
	// validity period); the periods are checked below, at now.
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	checked := chain
	verified, err := leaf.Verify(x509.VerifyOptions{
		Roots: pol.Roots, Intermediates: inter, CurrentTime: withinValidity(now, chain),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}, // the purpose is checked below, with Remote Desktop Authentication
	})
	if err != nil {
		t.ChainError, t.ChainErr = chainError(err), err
	} else {
		checked = lastChain(verified)
	}
	if len(checked) > maxChainKept {
		checked = checked[:maxChainKept]
	}
	t.PurposeOK = true
	for i, c := range checked {
		cc := chainCert(c)
		cc.PurposeOK = purposeOK(c, i > 0)
		t.Chain = append(t.Chain, cc)
		t.PurposeOK = t.PurposeOK && cc.PurposeOK
		t.Expired = t.Expired || now.After(c.NotAfter)
		t.NotYetValid = t.NotYetValid || now.Before(c.NotBefore)
	}
	t.NameMatches = nameMatches(leaf, t.Name)

	switch {
	case t.ChainError != "":
		t.Error = t.ChainError
	case !t.PurposeOK:
		t.Error = TrustWrongPurpose
	case !t.NameMatches:
		t.Error = TrustNameMismatch
	case t.Expired:
		t.Error = TrustExpired
	case t.NotYetValid:
		t.Error = TrustNotYetValid
	}
	t.Trusted = t.Error == ""
	return t
}

// withinValidity is now moved into the period in which every certificate of
// chain is valid, or now itself when there is no such period.
func withinValidity(now time.Time, chain []*x509.Certificate) time.Time {
	from, until := chain[0].NotBefore, chain[0].NotAfter
	for _, c := range chain[1:] {
		if c.NotBefore.After(from) {
			from = c.NotBefore
		}
		if c.NotAfter.Before(until) {
			until = c.NotAfter
		}
	}
	switch {
	case from.After(until):
		return now
	case now.Before(from):
		return from
	case now.After(until):
		return until
	}
	return now
}

// lastChain picks, of the chains that verified, the one valid the longest,
// as blackbox_exporter's "last chain" does.
func lastChain(chains [][]*x509.Certificate) []*x509.Certificate {
	best, bestEnd := chains[0], time.Time{}
	for _, ch := range chains {
		end := ch[0].NotAfter
		for _, c := range ch {
			if c.NotAfter.Before(end) {
				end = c.NotAfter
			}
		}
		if end.After(bestEnd) {
			best, bestEnd = ch, end
		}
	}
	return best
}

func chainError(err error) TrustError {
	var (
		unknown x509.UnknownAuthorityError
		roots   x509.SystemRootsError
	)
	if errors.As(err, &unknown) || errors.As(err, &roots) {
		return TrustUnknownAuthority
	}
	return TrustInvalidChain
}

func chainCert(c *x509.Certificate) ChainCert {
	return ChainCert{Subject: c.Subject.String(), Issuer: c.Issuer.String(), NotBefore: c.NotBefore, NotAfter: c.NotAfter,
		SHA256: fingerprint(c), ExtKeyUsage: extKeyUsageOIDs(c)}
}

// purposeOK: c restricts no purpose, or allows Server Authentication or
// Remote Desktop Authentication; a CA certificate may also allow any.
func purposeOK(c *x509.Certificate, ca bool) bool {
	oids := extKeyUsageOIDs(c)
	if oids == nil {
		return true
	}
	for _, o := range oids {
		if o == OIDServerAuth.String() || o == OIDRemoteDesktopAuth.String() || ca && o == oidAnyExtKeyUsage.String() {
			return true
		}
	}
	return false
}

// nameMatches: c holds name as a DNS or IP subject alternative name. A
// certificate without DNS names is matched on its common name, as Windows
// and OpenSSL do (Go's VerifyHostname no longer does), but an IP address
// only ever matches an IP SAN.
func nameMatches(c *x509.Certificate, name string) bool {
	if name == "" {
		return false
	}
	if c.VerifyHostname(name) == nil {
		return true
	}
	if net.ParseIP(strings.Trim(name, "[]")) != nil || len(c.DNSNames) > 0 || c.Subject.CommonName == "" {
		return false
	}
	byCN := *c
	byCN.DNSNames, byCN.IPAddresses = []string{c.Subject.CommonName}, nil
	return byCN.VerifyHostname(name) == nil
}

// ekuOIDs are the OIDs of x509's named extended key usages (RFC 5280
// 4.2.1.12 and the vendors' ones Go knows).
var ekuOIDs = map[x509.ExtKeyUsage]string{
	x509.ExtKeyUsageAny:                            "2.5.29.37.0",
	x509.ExtKeyUsageServerAuth:                     "1.3.6.1.5.5.7.3.1",
	x509.ExtKeyUsageClientAuth:                     "1.3.6.1.5.5.7.3.2",
	x509.ExtKeyUsageCodeSigning:                    "1.3.6.1.5.5.7.3.3",
	x509.ExtKeyUsageEmailProtection:                "1.3.6.1.5.5.7.3.4",
	x509.ExtKeyUsageIPSECEndSystem:                 "1.3.6.1.5.5.7.3.5",
	x509.ExtKeyUsageIPSECTunnel:                    "1.3.6.1.5.5.7.3.6",
	x509.ExtKeyUsageIPSECUser:                      "1.3.6.1.5.5.7.3.7",
	x509.ExtKeyUsageTimeStamping:                   "1.3.6.1.5.5.7.3.8",
	x509.ExtKeyUsageOCSPSigning:                    "1.3.6.1.5.5.7.3.9",
	x509.ExtKeyUsageMicrosoftServerGatedCrypto:     "1.3.6.1.4.1.311.10.3.3",
	x509.ExtKeyUsageNetscapeServerGatedCrypto:      "2.16.840.1.113730.4.1",
	x509.ExtKeyUsageMicrosoftCommercialCodeSigning: "1.3.6.1.4.1.311.2.1.22",
	x509.ExtKeyUsageMicrosoftKernelCodeSigning:     "1.3.6.1.4.1.311.61.1.1",
}

// extKeyUsageOIDs lists c's extended key usages as OIDs, nil when it has
// none (the extension is absent: no restriction).
func extKeyUsageOIDs(c *x509.Certificate) []string {
	var out []string
	for _, u := range c.ExtKeyUsage {
		if o, ok := ekuOIDs[u]; ok {
			out = append(out, o)
		}
	}
	for _, o := range c.UnknownExtKeyUsage {
		out = append(out, o.String())
	}
	return out
}

func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// LoadRoots returns the system's roots plus the certificates of the PEM
// file caFile (an enterprise root CA): the roots of --ca-file and of a
// module's tls_config.ca_file. Its errors name the file but no flag.
func LoadRoots(caFile string) (*x509.CertPool, error) {
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool() // no system roots: the file's alone
	}
	n := 0
	for len(b) > 0 {
		var block *pem.Block
		if block, b = pem.Decode(b); block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d: %w", caFile, n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate (BEGIN CERTIFICATE) in the file", caFile)
	}
	return pool, nil
}

// ParseFingerprint reads a certificate's SHA-256 fingerprint: 64 hex
// digits, in either case, colons allowed (as openssl x509 -fingerprint
// prints it). It returns lowercase hex, as CertInfo.SHA256 holds it: the
// one parser of --cert-sha256 and of a module's cert_sha256.
func ParseFingerprint(s string) (string, error) {
	h := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
	if strings.Trim(h, "0123456789abcdef") != "" {
		return "", fmt.Errorf("%q is not hexadecimal", s)
	}
	switch len(h) {
	case 64:
		return h, nil
	case 40:
		return "", fmt.Errorf("%q has 40 hex digits, a SHA-1 thumbprint (as Windows shows it): give the SHA-256 fingerprint, 64 digits "+
			"(openssl x509 -noout -fingerprint -sha256, or the sha256 of rdpprobe's JSON)", s)
	}
	return "", fmt.Errorf("%q has %d hex digits; a SHA-256 fingerprint has 64", s, len(h))
}

// CertNotTrustedError: the server's certificate is not what the probe was
// told to require (Options.RequireTrustedCert, Options.Cert.SHA256), so
// the probe ends after the TLS handshake and sends nothing more, as mstsc
// does when server authentication is set to "Do not connect".
type CertNotTrustedError struct {
	// Pinned and Got: the pinned fingerprint and the certificate's, when
	// the certificate is not the pinned one.
	Pinned, Got string
	// Reason is the first check the certificate failed, when a trusted
	// certificate was required.
	Reason TrustError
}

func (e *CertNotTrustedError) Error() string {
	if e.Pinned != "" {
		return fmt.Sprintf("tls: server certificate sha256 %s is not the pinned %s", e.Got, e.Pinned)
	}
	return fmt.Sprintf("tls: server certificate not trusted (%s) and a trusted one is required", e.Reason)
}

// certRefusal is the failure the options ask for, given what the
// certificate check found (nil: no certificate), or nil.
func certRefusal(opt *Options, c *CertInfo) error {
	var t CertTrust
	if c != nil && c.Trust != nil {
		t = *c.Trust
	} else {
		t.Error = TrustUnknownAuthority
	}
	switch {
	case opt.Cert.SHA256 != "" && !t.PinMatches:
		got := ""
		if c != nil {
			got = c.SHA256
		}
		return &CertNotTrustedError{Pinned: opt.Cert.SHA256, Got: got}
	case opt.RequireTrustedCert && !t.Trusted && !t.PinMatches:
		return &CertNotTrustedError{Reason: t.Error}
	}
	return nil
}
