package classify

import (
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
)

// Thresholds for findings.
const (
	// CertExpiringWithin: a certificate expiring sooner gets cert_expiring,
	// unless the Result says otherwise (--cert-warn-days).
	CertExpiringWithin = probe.DefaultCertWarnWithin
	// MaxClockSkew is Kerberos' default tolerance; more skew gets clock_skew.
	MaxClockSkew = 5 * time.Minute
)

// Finding IDs, stable like class IDs.
const (
	FindingTLSWeakVersion = "tls_weak_version"
	FindingCertSelfSigned = "cert_self_signed"
	FindingCertExpired    = "cert_expired"
	FindingCertExpiring   = "cert_expiring"
	FindingNLANotEnforced = "nla_not_enforced"
	FindingClockSkew      = "clock_skew"
	FindingDomainMismatch = "domain_mismatch"
	FindingAccountChecked = "account_checked"
	FindingKerberosRC4    = "kerberos_rc4_only"
	// FindingStandardRDPSecurity: the server selected standard RDP
	// security, which authenticates nothing.
	FindingStandardRDPSecurity = "standard_rdp_security"
	// FindingPreRDP52: the Connection Confirm carried no RDP_NEG_RSP.
	FindingPreRDP52 = "pre_rdp52_server"
)

// The CredSSP version the server speaks is a fact, shown with the CredSSP
// exchange (report's credssp.server_version, the exporter's
// probe_rdp_credssp_version), not a finding: a version below 5 is the class
// credssp_oracle_server_unpatched.

// findings lists the facts worth a line, whatever the class (classID only
// suppresses what the class's own detail already says).
func findings(r *probe.Result, classID ID) []Finding {
	var out []Finding
	add := func(id string, sev Severity, text string) {
		out = append(out, Finding{ID: id, Severity: sev, Text: text})
	}

	if t := r.TLS; t != nil {
		if t.Version != 0 && t.Version < tls.VersionTLS12 {
			add(FindingTLSWeakVersion, SeverityWarning, fmt.Sprintf("the server negotiated %s; TLS 1.2 or later is expected "+
				"and hardened clients refuse older versions (enable TLS 1.2 on the server)", tls.VersionName(t.Version)))
		}
		if c := t.Certificate; c != nil {
			certFindings(r, c, add)
		}
	}

	if sel, ok := selected(r); ok && classID != SecurityLayerMismatch {
		offered := r.Negotiation.Offered
		if isHybrid(offered) && !isHybrid(sel) && (sel == negotiate.ProtocolSSL || sel == negotiate.ProtocolRDP) {
			add(FindingNLANotEnforced, SeverityWarning, fmt.Sprintf("NLA was offered but the server selected %v: anyone can "+
				"reach its sign-in screen without credentials (require NLA: UserAuthentication=1 under %s)", sel, rdpTcpKey))
		}
	}
	if sel, ok := selected(r); ok && sel == negotiate.ProtocolRDP && classID != PreRDP52Server {
		if r.Negotiation.Response == nil {
			add(FindingPreRDP52, SeverityWarning, "the server's Connection Confirm carries no RDP_NEG_RSP: it predates RDP 5.2 "+
				"and speaks standard RDP security only")
		}
		text := "the server uses standard RDP security, which does not authenticate the server (its RSA key comes with no " +
			"certificate a client can check): a man in the middle can read the session, credentials included"
		if s := r.Session; s != nil && s.IOChannel != 0 && s.EncryptionMethod == negotiate.EncryptionMethodNone {
			text = "the server uses standard RDP security at " + s.EncryptionLevel.String() + ": nothing authenticates the " +
				"server and nothing is encrypted, so anyone on the path reads the session, credentials included"
		}
		add(FindingStandardRDPSecurity, SeverityWarning, text+" (set the security layer to SSL, or require NLA)")
	}

	if n := r.NTLM; n != nil && !n.ServerTime.IsZero() {
		if skew := n.ClockSkew; skew > MaxClockSkew || skew < -MaxClockSkew {
			dir, abs := "ahead of", skew
			if skew < 0 {
				dir, abs = "behind", -skew
			}
			add(FindingClockSkew, SeverityWarning, fmt.Sprintf("the server's clock is %s %s this machine's, more than "+
				"Kerberos' 5 minutes: Kerberos logons between them fail (check the time source of both)",
				abs.Round(time.Second), dir))
		}
	}

	if m, ok := domainMismatch(r); ok && !loggedOn(r, classID) {
		add(FindingDomainMismatch, SeverityWarning, m)
	} else if m, ok := accountChecked(r); ok {
		add(FindingAccountChecked, SeverityInfo, m)
	}

	if a := r.Auth; a != nil && a.RC4Only {
		add(FindingKerberosRC4, SeverityWarning, fmt.Sprintf("the KDC offered only RC4-HMAC for %s (no AES key): the account "+
			"stops working where RC4 is turned off; reset its password once AES is enabled so the KDC derives AES keys", account(r)))
	}
	return out
}

// loggedOn: the logon worked, which settles whether the user name's domain
// part was right.
func loggedOn(r *probe.Result, id ID) bool {
	return id == OK && (r.LogonAttempted || r.Session != nil && r.Session.LoggedOn)
}

func days(d time.Duration) int { return int(d / (24 * time.Hour)) }

// domainMismatch: the user name is DOMAIN\user and DOMAIN is none of the
// names the server gave in its NTLM CHALLENGE (".", the target's own local
// accounts, is excluded). It states that fact and no more: what a server
// makes of a domain it does not name differs (FreeRDP's keys its accounts
// by a domain of their own; Windows may ask a trusted domain or its own
// accounts), so only the server's own answer can make it a cause.
func domainMismatch(r *probe.Result) (string, bool) {
	n := r.NTLM
	i := strings.IndexByte(r.User, '\\')
	if n == nil || i <= 0 {
		return "", false
	}
	dom := r.User[:i]
	if dom == "." {
		return "", false
	}
	names := [...]string{n.NetBIOSDomain, n.DNSDomain, n.NetBIOSComputer, n.DNSComputer, n.DNSTree}
	known := false
	for _, name := range names {
		if name == "" {
			continue
		}
		known = true
		if strings.EqualFold(name, dom) {
			return "", false
		}
	}
	if !known {
		return "", false // the server named itself nothing to compare with
	}
	gave := []string{"computer " + first(n.NetBIOSComputer, n.DNSComputer, "?"), "domain " + first(n.NetBIOSDomain, n.DNSDomain, "?")}
	if n.DNSDomain != "" && !strings.EqualFold(n.DNSDomain, n.NetBIOSDomain) && n.NetBIOSDomain != "" {
		gave = append(gave, "DNS domain "+n.DNSDomain)
	}
	return fmt.Sprintf("the user name's domain part %s is none of the names the server gave in its NTLM CHALLENGE (%s)",
		dom, strings.Join(gave, ", ")), true
}

// accountChecked says which account a DOMAIN\user name makes the server
// check, from the names in its NTLM CHALLENGE: a local account of the server
// or an account of its domain. Users mix the two up ("The Local Security
// Authority cannot be contacted" after a local name was typed as a domain).
func accountChecked(r *probe.Result) (string, bool) {
	n := r.NTLM
	i := strings.IndexByte(r.User, '\\')
	if n == nil || i <= 0 || !r.Credentials {
		return "", false
	}
	dom, user := r.User[:i], r.User[i+1:]
	computer := first(n.NetBIOSComputer, n.DNSComputer)
	isComputer := dom == "." || strings.EqualFold(dom, n.NetBIOSComputer) || strings.EqualFold(dom, n.DNSComputer)
	// A workgroup server names itself as its own domain.
	workgroup := n.NetBIOSDomain != "" && strings.EqualFold(n.NetBIOSDomain, n.NetBIOSComputer)
	switch {
	case computer == "":
		return "", false
	case isComputer || workgroup && strings.EqualFold(dom, n.NetBIOSDomain):
		how := ""
		if dom == "." {
			how = fmt.Sprintf(" (.\\ stands for the server's own name, %s, taken from its NTLM CHALLENGE)", computer)
		}
		return fmt.Sprintf("%s names a local account: the server checks user %s in its own account database%s, not in a domain",
			r.User, user, how), true
	case strings.EqualFold(dom, n.NetBIOSDomain) || strings.EqualFold(dom, n.DNSDomain):
		return fmt.Sprintf("%s names an account of the server's own domain %s: the server (%s) asks a domain controller, "+
			"so NLA needs one it can reach", r.User, first(n.DNSDomain, n.NetBIOSDomain), computer), true
	}
	return "", false
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
