package classify

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/rdpprobe/rdpprobe/probe"
)

// Finding IDs of the certificate checks (probe.VerifyCertificate), beside
// cert_self_signed, cert_expired and cert_expiring.
const (
	FindingCertUntrusted    = "cert_untrusted"
	FindingCertNameMismatch = "cert_name_mismatch"
	FindingCertWrongPurpose = "cert_wrong_purpose"
	FindingCertNotYetValid  = "cert_not_yet_valid"
)

// certFindings states each certificate check that failed, once, for the
// certificate it failed on; every sentence follows from c and its Trust.
func certFindings(r *probe.Result, c *probe.CertInfo, add func(id string, sev Severity, text string)) {
	t := c.Trust
	if c.SelfSigned {
		if t != nil && t.ChainError == "" {
			add(FindingCertSelfSigned, SeverityInfo, fmt.Sprintf("the certificate (%s) is self-signed and is itself one of the "+
				"trusted roots here, so it is trusted; clients that do not have it among their roots warn about it", c.Subject))
		} else {
			add(FindingCertSelfSigned, SeverityInfo, fmt.Sprintf("the certificate (%s) is self-signed, Remote Desktop's "+
				"default: clients warn about it unless it is trusted or replaced by one from a trusted CA", c.Subject))
		}
	}
	if t != nil && t.ChainError != "" {
		add(FindingCertUntrusted, SeverityWarning, fmt.Sprintf("the certificate (%s) is not trusted: %s; clients warn that the "+
			"identity of the remote computer cannot be verified, and refuse it when set to 'Do not connect if authentication "+
			"fails' (for an enterprise CA, give its root certificate with --ca-file, tls_config.ca_file in the exporter)",
			c.Subject, chainWords(c)))
	}
	if t != nil && !t.PurposeOK {
		add(FindingCertWrongPurpose, SeverityWarning, purposeWords(t)+": clients that check the purpose refuse it (issue it "+
			"from a certificate template with one of them)")
	}
	if t != nil && !t.NameMatches {
		add(FindingCertNameMismatch, SeverityWarning, nameWords(c)+": clients that connect by it warn that the identity "+
			"of the remote computer cannot be verified (connect by a name it holds, or give the server a certificate that holds "+
			"the name users type)")
	}
	validityFindings(r, c, add)
}

// validityFindings: the first certificate of the chain outside its
// validity period, or else the one expiring first within the window.
func validityFindings(r *probe.Result, c *probe.CertInfo, add func(id string, sev Severity, text string)) {
	now := r.Start // the probe's start, so Classify stays pure
	if now.IsZero() {
		return
	}
	chain := []probe.ChainCert{{Subject: c.Subject, NotBefore: c.NotBefore, NotAfter: c.NotAfter}}
	if c.Trust != nil && len(c.Trust.Chain) > 0 {
		chain = c.Trust.Chain
	}
	which := func(i int) string {
		if i == 0 {
			return "the certificate"
		}
		return fmt.Sprintf("the CA certificate %s in its chain", chain[i].Subject)
	}
	for i, cc := range chain {
		switch {
		case cc.NotAfter.IsZero():
		case now.After(cc.NotAfter):
			add(FindingCertExpired, SeverityWarning, fmt.Sprintf("%s expired on %s, %d days ago: clients warn about it%s",
				which(i), date(cc.NotAfter), days(now.Sub(cc.NotAfter)), expiredFix(i)))
			return
		case now.Before(cc.NotBefore):
			add(FindingCertNotYetValid, SeverityWarning, fmt.Sprintf("%s is valid only from %s, in %d days: the server's clock "+
				"or this machine's is wrong, or it was bound before its time, and clients refuse it until then",
				which(i), date(cc.NotBefore), days(cc.NotBefore.Sub(now))))
			return
		}
	}
	window := r.CertWarnWithin
	if window <= 0 {
		window = CertExpiringWithin
	}
	first := -1
	for i, cc := range chain {
		if !cc.NotAfter.IsZero() && (first < 0 || cc.NotAfter.Before(chain[first].NotAfter)) {
			first = i
		}
	}
	if first >= 0 {
		if left := chain[first].NotAfter.Sub(now); left < window {
			add(FindingCertExpiring, SeverityWarning, fmt.Sprintf("%s expires on %s, in %d days",
				which(first), date(chain[first].NotAfter), days(left)))
		}
	}
}

func expiredFix(i int) string {
	if i == 0 {
		return " (Remote Desktop renews its own self-signed certificate; a CA-issued one must be renewed)"
	}
	return " (renew the CA certificate and have the server send the new one)"
}

func date(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// trustWords says why a certificate is not trusted: its first failed check.
func trustWords(r *probe.Result, c *probe.CertInfo) string {
	t := c.Trust
	if t == nil {
		return "the server sent no certificate"
	}
	switch t.Error {
	case probe.TrustUnknownAuthority, probe.TrustInvalidChain:
		return chainWords(c)
	case probe.TrustWrongPurpose:
		return purposeWords(t)
	case probe.TrustNameMismatch:
		return nameWords(c)
	}
	for i, cc := range t.Chain {
		what := "it"
		if i > 0 {
			what = "the CA certificate " + cc.Subject + " in its chain"
		}
		switch {
		case t.Error == probe.TrustExpired && r.Start.After(cc.NotAfter):
			return fmt.Sprintf("%s expired on %s", what, date(cc.NotAfter))
		case t.Error == probe.TrustNotYetValid && r.Start.Before(cc.NotBefore):
			return fmt.Sprintf("%s is valid only from %s", what, date(cc.NotBefore))
		}
	}
	return "it failed the check " + string(t.Error)
}

// chainWords says why no chain to a trusted root verifies.
func chainWords(c *probe.CertInfo) string {
	t := c.Trust
	switch {
	case t.ChainError == probe.TrustInvalidChain:
		return fmt.Sprintf("its chain to a trusted root breaks a rule (%v)", t.ChainErr)
	case c.SelfSigned:
		return "it is self-signed and not itself among the trusted roots here"
	}
	// "Here": the Result does not say whether roots were added to the
	// system's, so the words name neither.
	return fmt.Sprintf("it does not chain to a trusted root: its issuer (%s) is not among the trusted roots here, "+
		"or the server does not send the intermediate certificates", c.Issuer)
}

// purposeWords names the certificate of the chain whose extended key usage
// excludes Remote Desktop's purposes.
func purposeWords(t *probe.CertTrust) string {
	for i, cc := range t.Chain {
		if cc.PurposeOK {
			continue
		}
		what := "the certificate's extended key usage is"
		if i > 0 {
			what = fmt.Sprintf("the CA certificate %s in its chain limits the extended key usage to", cc.Subject)
		}
		return fmt.Sprintf("%s %s, neither Server Authentication (%s) nor Remote Desktop Authentication (%s)",
			what, ekuNames(cc.ExtKeyUsage), probe.OIDServerAuth, probe.OIDRemoteDesktopAuth)
	}
	return "its extended key usage is neither Server Authentication nor Remote Desktop Authentication"
}

// ekuName names the usual extended key usages (RFC 5280 4.2.1.12, and
// Microsoft's for Remote Desktop and smart cards).
var ekuName = map[string]string{
	"2.5.29.37.0":            "Any Purpose",
	"1.3.6.1.5.5.7.3.1":      "Server Authentication",
	"1.3.6.1.5.5.7.3.2":      "Client Authentication",
	"1.3.6.1.5.5.7.3.3":      "Code Signing",
	"1.3.6.1.5.5.7.3.4":      "Secure Email",
	"1.3.6.1.5.5.7.3.8":      "Time Stamping",
	"1.3.6.1.5.5.7.3.9":      "OCSP Signing",
	"1.3.6.1.4.1.311.54.1.2": "Remote Desktop Authentication",
	"1.3.6.1.4.1.311.20.2.2": "Smart Card Logon",
}

func ekuNames(oids []string) string {
	parts := make([]string, len(oids))
	for i, o := range oids {
		if n, ok := ekuName[o]; ok {
			parts[i] = fmt.Sprintf("%s (%s)", n, o)
		} else {
			parts[i] = o
		}
	}
	return strings.Join(parts, ", ")
}

// nameWords says which names the certificate holds and which it was
// checked for, and where that name came from.
func nameWords(c *probe.CertInfo) string {
	t := c.Trust
	from := "the host as given"
	if t.ServerName != "" {
		from = "given with --tls-server-name"
	}
	d := fmt.Sprintf("the certificate does not hold %s (%s): it holds %s", t.Name, from, heldNames(c))
	if net.ParseIP(strings.Trim(t.Name, "[]")) != nil && len(c.IPAddresses) == 0 {
		d += ", and an address matches only an IP address in a certificate"
	}
	return d
}

// heldNames lists the names a certificate can match: its DNS names (or,
// without any, its common name) and its IP addresses.
func heldNames(c *probe.CertInfo) string {
	var names []string
	if len(c.DNSNames) > 0 {
		names = append(names, c.DNSNames...)
	} else if c.CommonName != "" {
		names = append(names, c.CommonName+" (its common name: it has no DNS names)")
	}
	names = append(names, c.IPAddresses...)
	if len(names) == 0 {
		return "no name"
	}
	if len(names) > 8 {
		names = append(names[:8], fmt.Sprintf("%d more", len(names)-8))
	}
	return strings.Join(names, ", ")
}

// certNotTrustedDetail says how the certificate failed what the probe was
// told to require of it.
func certNotTrustedDetail(r *probe.Result, e *probe.CertNotTrustedError) string {
	var c *probe.CertInfo
	if r.TLS != nil {
		c = r.TLS.Certificate
	}
	if c == nil {
		return "the server sent no certificate, and a trusted one is required"
	}
	stop := "; the probe stopped after the TLS handshake, before sending anything"
	if e.Pinned != "" {
		d := fmt.Sprintf("the server's certificate (%s) has the SHA-256 fingerprint %s, not the pinned %s (--cert-sha256): "+
			"it is another certificate", c.Subject, e.Got, e.Pinned)
		if c.Trust != nil && c.Trust.Trusted {
			return d + ", and a trusted one" + stop
		}
		return d + ", and not trusted either: " + trustWords(r, c) + stop
	}
	return fmt.Sprintf("the server's certificate (%s) is not trusted: %s; --require-trusted-cert makes that a failure, as "+
		"'Do not connect if authentication fails' does for mstsc%s", c.Subject, trustWords(r, c), stop)
}

// autologonWords says why the password went in the Client Info of a
// server without NLA.
func autologonWords(r *probe.Result) string {
	switch r.Session.AutologonReason {
	case probe.AutologonTrustedCert:
		if r.TLS != nil && r.TLS.Certificate != nil && r.TLS.Certificate.Trust != nil {
			return fmt.Sprintf(" (its certificate is trusted for %s, so the password went to the server it names)", r.TLS.Certificate.Trust.Name)
		}
		return " (its certificate is trusted)"
	case probe.AutologonPinnedCert:
		return " (its certificate is the pinned one, so the password went to that server)"
	case probe.AutologonOptedIn:
		return " (its certificate is neither trusted nor pinned: the password went to it because autologon without NLA was allowed)"
	}
	return ""
}
