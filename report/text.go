package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rdpprobe/rdpprobe/classify"
)

const (
	colGreen  = "\x1b[32m"
	colYellow = "\x1b[33m"
	colRed    = "\x1b[31m"
	colBold   = "\x1b[1m"
	colReset  = "\x1b[0m"
)

// WriteText prints the human form: the verdict line first, then the facts,
// then what Windows says and the fix.
func WriteText(w io.Writer, rep *Report, color bool) {
	paint := painter(color)
	writeVerdict(w, rep, paint)
	fmt.Fprintln(w)

	// Every fact line passes through Escape: most carry strings the server chose.
	kv := func(k, format string, a ...any) { fmt.Fprintf(w, "  %-12s %s\n", k, Escape(fmt.Sprintf(format, a...))) }
	if rep.Addr != "" {
		kv("Address", "%s", rep.Addr)
	}
	if rep.User != "" {
		tried := "no logon attempted"
		switch {
		case rep.LogonAttempted:
			tried = "one logon attempted"
		case rep.Session != nil && rep.Session.Autologon:
			tried = "credentials sent once, for autologon in the Client Info"
		case rep.Session != nil && rep.Session.PasswordWithheld != "":
			tried = "no logon attempted: the password was withheld from a server nothing authenticated"
		}
		kv("Account", "%s (%s)", rep.User, tried)
	}
	if g := rep.Gateway; g != nil {
		writeGatewayText(g, kv)
	}
	if n := rep.Negotiation; n != nil {
		switch {
		case n.FailureCode != "":
			kv("Negotiation", "offered %s; server refused: %s", strings.Join(n.Offered, "|"), n.FailureCode)
		case n.NoNegotiation:
			kv("Negotiation", "offered %s; server sent no negotiation response (standard RDP security only)", strings.Join(n.Offered, "|"))
		default:
			s := fmt.Sprintf("offered %s; server selected %s", strings.Join(n.Offered, "|"), n.Selected)
			if len(n.ResponseFlags) > 0 {
				s += " (" + strings.Join(n.ResponseFlags, ", ") + ")"
			}
			kv("Negotiation", "%s", s)
		}
	}
	if t := rep.TLS; t != nil {
		kv("TLS", "%s, %s", t.Version, t.CipherSuite)
		if c := t.Certificate; c != nil {
			self := ""
			if c.SelfSigned {
				self = ", self-signed"
			}
			kv("Certificate", "%s%s, %s %d bits", c.Subject, self, c.KeyType, c.KeyBits)
			days := int(time.Until(c.NotAfter).Hours() / 24)
			kv("", "valid %s to %s (%d days left); issuer %s", c.NotBefore.Format("2006-01-02"), c.NotAfter.Format("2006-01-02"), days, c.Issuer)
			if len(c.DNSNames) > 0 {
				kv("", "names %s", strings.Join(c.DNSNames, ", "))
			}
			if c.NamesNotKept > 0 {
				kv("", "and %d more names, counted but not kept", c.NamesNotKept)
			}
			writeTrust(kv, c)
		}
	}
	if n := rep.NTLMJSON; n != nil {
		kv("NTLM", "computer %s, domain %s", orDash(n.NetBIOSComputer), orDash(n.NetBIOSDomain))
		if n.DNSComputer != "" || n.DNSDomain != "" {
			kv("", "DNS computer %s, DNS domain %s, forest %s", orDash(n.DNSComputer), orDash(n.DNSDomain), orDash(n.DNSTree))
		}
		if n.OSVersion != "" {
			kv("", "OS version %s", n.OSVersion)
		}
		if n.ServerTime != nil {
			kv("", "server clock %s (skew %+.1fs)", n.ServerTime.UTC().Format(time.RFC3339), *n.ClockSkewS)
		}
		if n.ServerTimeInvalid != "" {
			kv("", "server clock field invalid (%s, more than a century off)", n.ServerTimeInvalid)
		}
	}
	if a := rep.Auth; a != nil {
		writeAuth(kv, a)
	}
	if c := rep.CredSSP; c != nil {
		s := fmt.Sprintf("server version %d (we speak %d)", c.ServerVersion, c.ClientVersion)
		if c.ErrorCode != nil {
			s += fmt.Sprintf("; errorCode %s %s", c.ErrorCode.Value, c.ErrorCode.Name)
		}
		if c.PubKeyAuthVerified {
			s += "; server proved its key"
		}
		if c.EarlyUserAuth != "" {
			s += "; early user authorization " + c.EarlyUserAuth
		}
		kv("CredSSP", "%s", s)
	}
	if s := rep.Session; s != nil {
		writeSession(kv, s)
	}
	var ph []string
	for _, p := range rep.Phases {
		mark := ""
		if !p.OK {
			mark = " ✗"
		}
		ph = append(ph, fmt.Sprintf("%s %s%s", p.Phase, fmtMS(p.DurationMS), mark))
	}
	if len(ph) > 0 {
		kv("Timings", "%s", strings.Join(ph, " · "))
	}
	if rep.Error != "" {
		kv("Error", "%s", rep.Error)
	}
	if len(rep.Findings) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "  Findings:")
		for _, f := range rep.Findings {
			fmt.Fprintf(w, "  - %s: %s\n", Escape(f.ID), Escape(f.Text))
		}
	}
	if !rep.OK {
		fmt.Fprintln(w)
		if rep.WindowsSays != "" {
			fmt.Fprintf(w, "  %s %s\n", paint(colBold, "Windows says:"), Escape(rep.WindowsSays))
		}
		if rep.Cause != "" {
			fmt.Fprintf(w, "  %s %s\n", paint(colBold, "Cause:"), Escape(rep.Cause))
		}
		if rep.Fix != "" {
			fmt.Fprintf(w, "  %s %s\n", paint(colBold, "Fix:"), Escape(rep.Fix))
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func fmtMS(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.1fms", v)
	}
	return fmt.Sprintf("%.0fms", v)
}

// writeSession prints the session phase: what the Client Info carried and
// how licensing and the server's answer went.
func writeSession(kv func(k, format string, a ...any), s *SessionJSON) {
	if s.Skipped != "" {
		kv("Session", "skipped: %s", s.Skipped)
		return
	}
	mcs := fmt.Sprintf("MCS I/O channel %d, user channel %d", s.IOChannel, s.UserChannel)
	if s.MCSFailure != "" {
		mcs = "MCS refused: " + s.MCSFailure
	}
	if s.ClientInfoSent {
		switch {
		case s.Autologon:
			mcs += "; Client Info with credentials (autologon)"
		case s.PasswordWithheld != "":
			mcs += "; Client Info without password (withheld: " + s.PasswordWithheld + ")"
		default:
			mcs += "; Client Info without password"
		}
	}
	kv("Session", "%s", mcs)
	if std := s.StandardSecurity; std != nil {
		kv("RDP security", "%s", standardSecurityLine(s, std))
	}
	if l := s.License; l != nil {
		switch l.Outcome {
		case "valid_client":
			if l.NewLicenseRequestSent {
				kv("Licensing", "passed (%s, after the probe's NEW_LICENSE_REQUEST)", l.ErrorCode)
			} else {
				kv("Licensing", "passed (%s)", l.ErrorCode)
			}
		case "requested":
			what := l.Message
			if l.CompanyName != "" || l.ProductID != "" {
				what += fmt.Sprintf(" for %s product %s", l.CompanyName, l.ProductID)
			}
			if l.NoNewLicenseRequest != "" {
				kv("Licensing", "the server asked for a client license (%s); the probe could not answer (%s) and stopped there", what, l.NoNewLicenseRequest)
			} else {
				kv("Licensing", "the server asked for a client license (%s); the probe stopped there", what)
			}
		case "challenged":
			kv("Licensing", "the server accepted the probe's NEW_LICENSE_REQUEST and sent a PLATFORM_CHALLENGE; "+
				"the probe stopped there rather than be issued a client access license")
		default:
			kv("Licensing", "failed: %s, %s", l.ErrorCode, l.StateTransition)
		}
	} else if s.ClientInfoSent {
		kv("Licensing", "not reached")
	}
	for _, e := range s.ErrorInfo {
		kv("Error info", "%s %s", e.Value, e.Name)
	}
	for _, le := range s.LogonErrors {
		kv("Logon info", "%s (%s)", le.Type, le.Data)
	}
	if s.NotKept > 0 {
		kv("", "and %d more harmless server PDUs like these, counted but not kept", s.NotKept)
	}
	var end []string
	if s.LoggedOn {
		end = append(end, "the server reported the user logged on")
	}
	if s.DemandActive {
		end = append(end, "Demand Active received (capabilities exchange reached)")
	}
	if s.ServerDisconnect != "" {
		end = append(end, "the server disconnected ("+s.ServerDisconnect+")")
	}
	if s.DisconnectSent {
		end = append(end, "the probe disconnected before any graphics")
	}
	if len(end) > 0 {
		kv("", "%s", strings.Join(end, "; "))
	}
}

// standardSecurityLine says what standard RDP security did in the session
// phase: method and level, the server's key, what went encrypted.
func standardSecurityLine(s *SessionJSON, std *StandardSecurityJSON) string {
	if !std.SecurityExchangeSent {
		return fmt.Sprintf("%s at %s: no Security Exchange, nothing encrypted; the server is not authenticated", s.EncryptionMethod, s.EncryptionLevel)
	}
	parts := []string{fmt.Sprintf("%s at %s under the server's %d-bit %s key (not authenticated)",
		s.EncryptionMethod, s.EncryptionLevel, std.ServerKeyBits, std.ServerCertificate),
		fmt.Sprintf("%d server PDUs decrypted", std.EncryptedPDUs)}
	if std.KeyUpdates > 0 {
		parts = append(parts, fmt.Sprintf("%d key updates", std.KeyUpdates))
	}
	if std.SaltedMAC {
		parts = append(parts, "salted MAC")
	}
	if std.LicenseRequestEncrypted {
		parts = append(parts, "licensing encrypted")
	}
	return strings.Join(parts, ", ")
}

// writeAuth prints which mechanism CredSSP carried and why, and the
// Kerberos facts.
func writeAuth(kv func(k, format string, a ...any), a *AuthJSON) {
	line := a.Mechanism
	if a.Requested != "" && !strings.EqualFold(a.Requested, a.Mechanism) {
		line += " (--auth " + a.Requested + ")"
	}
	if a.Why != "" {
		line += ": " + a.Why
	}
	kv("Auth", "%s", line)
	if a.Realm != "" || a.SPN != "" {
		s := "SPN " + orDash(a.SPN)
		if a.Realm != "" {
			s += ", realm " + a.Realm + " (from " + a.RealmSource + ")"
		}
		kv("", "%s", s)
	}
	if len(a.KDCs) > 0 {
		kv("", "KDCs %s (from %s)", strings.Join(a.KDCs, ", "), a.KDCSource)
	}
	if a.CCache != "" {
		kv("", "TGT from the ticket cache %s: no password used", a.CCache)
	}
	if len(a.Exchanges) > 0 {
		var x []string
		for _, e := range a.Exchanges {
			x = append(x, fmt.Sprintf("%s %s", e.Step, fmtMS(e.RTTMS)))
		}
		kv("", "KDC exchanges: %s", strings.Join(x, " · "))
	}
	if a.EType != "" {
		s := "key " + a.EType
		if a.RC4Only {
			s += " (the KDC offered nothing but RC4 for the account)"
		}
		kv("", "%s", s)
	}
}

// trustErrorWords names the first failed certificate check.
var trustErrorWords = map[string]string{
	"unknown_authority": "no chain to a trusted root",
	"invalid_chain":     "invalid chain",
	"wrong_purpose":     "wrong purpose",
	"name_mismatch":     "name mismatch",
	"expired":           "expired",
	"not_yet_valid":     "not yet valid",
}

// writeTrust prints how the certificate check went (probe.VerifyCertificate).
func writeTrust(kv func(k, format string, a ...any), c *CertJSON) {
	if c.Trusted == nil {
		return
	}
	verdict := "trusted"
	if !*c.Trusted {
		verdict = "not trusted: " + trustErrorWords[c.TrustError]
		if verdict == "not trusted: " {
			verdict += c.TrustError
		}
	}
	name := "not in the certificate"
	if c.NameMatches != nil && *c.NameMatches {
		name = "in the certificate"
	}
	kv("", "%s; name %s %s; revocation not checked", verdict, c.NameChecked, name)
	if len(c.Chain) > 1 {
		subjects := make([]string, len(c.Chain))
		for i, cc := range c.Chain {
			subjects[i] = cc.Subject
		}
		kv("", "chain %s", strings.Join(subjects, " < "))
	}
	pin := ""
	switch {
	case c.PinMatches == nil:
	case *c.PinMatches:
		pin = " (the pinned one)"
	default:
		pin = ", not the pinned " + c.PinnedSHA256
	}
	kv("", "sha256 %s%s", c.SHA256, pin)
}

// painter colours a string on a terminal and leaves it alone elsewhere.
func painter(color bool) func(c, s string) string {
	return func(c, s string) string {
		if !color {
			return s
		}
		return c + s + colReset
	}
}

// writeVerdict prints the lines every text form starts with: the status,
// the class, the target, the phase and the time; the title; the detail.
func writeVerdict(w io.Writer, rep *Report, paint func(c, s string) string) {
	status, c := "FAIL", colRed
	switch {
	case rep.OK:
		status, c = "OK", colGreen
	case rep.ExitCode == classify.ExitUnverified:
		status, c = "WARN", colYellow
	}
	fmt.Fprintf(w, "%s %s  %s  phase %s  %s\n", paint(colBold+c, status), paint(colBold, Escape(rep.Class)), Escape(rep.Target),
		Escape(rep.Phase), fmtMS(rep.DurationMS))
	fmt.Fprintf(w, "  %s\n", Escape(rep.Title))
	if rep.Detail != "" {
		fmt.Fprintf(w, "  %s\n", Escape(rep.Detail))
	}
}
