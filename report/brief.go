package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/internal/textwrap"
)

// briefFixLines is how many lines of the fix the brief form shows.
const briefFixLines = 2

// WriteBrief prints the default text form, one screen: the verdict line,
// the title and detail, the key facts (account, security, server,
// certificate, session), the warnings the detail does not already say,
// and the first lines of the fix. WriteText is everything (-v). width is
// the terminal's (0: unknown, the fix is cut at 80 columns); the caller
// wraps the other lines.
func WriteBrief(w io.Writer, rep *Report, color bool, width int) {
	paint := painter(color)
	writeVerdict(w, rep, paint)

	var facts [][2]string
	kv := func(k, format string, a ...any) {
		facts = append(facts, [2]string{k, Escape(fmt.Sprintf(format, a...))})
	}
	if rep.User != "" {
		tried := "no logon attempted"
		switch {
		case rep.LogonAttempted:
			tried = "one logon attempted"
		case rep.Session != nil && rep.Session.Autologon:
			tried = "credentials sent once, for autologon"
		}
		kv("Account", "%s (%s)", rep.User, tried)
	}
	if g := rep.Gateway; g != nil {
		kv("Gateway", "%s", briefGateway(g))
	}
	if s := briefSecurity(rep); s != "" {
		kv("Security", "%s", s)
	}
	if n := rep.NTLMJSON; n != nil && (n.NetBIOSComputer != "" || n.NetBIOSDomain != "" || n.OSVersion != "") {
		s := orDash(n.NetBIOSComputer) + " in domain " + orDash(n.NetBIOSDomain)
		if n.DNSDomain != "" && !strings.EqualFold(n.DNSDomain, n.NetBIOSDomain) {
			s += " (" + n.DNSDomain + ")"
		}
		if n.OSVersion != "" {
			s += ", OS version " + n.OSVersion
		}
		kv("Server", "%s", s)
	}
	if t := rep.TLS; t != nil && t.Certificate != nil {
		cert := t.Certificate
		self := ""
		if cert.SelfSigned {
			self = ", self-signed"
		}
		days := int(time.Until(cert.NotAfter).Hours() / 24)
		kv("Certificate", "%s%s, expires %s (%d days left)", cert.Subject, self, cert.NotAfter.Format(time.DateOnly), days)
	}
	if s := rep.Session; s != nil {
		kv("Session", "%s", briefSession(s))
	}
	if len(facts) > 0 {
		fmt.Fprintln(w)
		for _, f := range facts {
			fmt.Fprintf(w, "  %-12s %s\n", f[0], f[1])
		}
	}

	var warn []FindingJSON
	for _, f := range rep.Findings {
		if f.Severity == string(classify.SeverityWarning) && !strings.Contains(rep.Detail, f.Text) {
			warn = append(warn, f)
		}
	}
	if len(warn) > 0 {
		// The verdict, its facts and the fix come first: the warnings
		// are named, and -v says what they mean.
		ids := make([]string, len(warn))
		for i, f := range warn {
			ids[i] = Escape(f.ID)
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "  %s also: %s (rdpprobe -v says more)\n", paint(colYellow, "!"), strings.Join(ids, ", "))
	}

	if !rep.OK && rep.Fix != "" {
		fmt.Fprintln(w)
		if width <= 0 {
			width = 80
		}
		lines := textwrap.Wrap(Escape(rep.Fix), width, "  Fix: ", "  ")
		if len(lines) > briefFixLines {
			lines = lines[:briefFixLines]
			last := lines[briefFixLines-1]
			for textwrap.Width(last)+2 > width {
				i := strings.LastIndexByte(last, ' ')
				if i <= 2 {
					break
				}
				last = last[:i]
			}
			lines[briefFixLines-1] = last + " …"
		}
		fmt.Fprintln(w, strings.Join(lines, "\n"))
		fmt.Fprintln(w, "  (rdpprobe -v: the whole fix, the cause, what Windows says and every fact)")
	}
}

// briefSecurity is one line on how the connection was secured: the
// protocol selected (or the refusal), the TLS version, CredSSP.
func briefSecurity(rep *Report) string {
	var parts []string
	if n := rep.Negotiation; n != nil {
		switch {
		case n.FailureCode != "":
			parts = append(parts, "server refused the offer ("+n.FailureCode+")")
		case n.NoNegotiation:
			parts = append(parts, "standard RDP security only (no negotiation response)")
		default:
			parts = append(parts, n.Selected)
		}
	}
	if t := rep.TLS; t != nil {
		parts = append(parts, "over "+t.Version)
	}
	if c := rep.CredSSP; c != nil && c.ServerVersion > 0 {
		s := fmt.Sprintf("CredSSP %d", c.ServerVersion)
		if c.ErrorCode != nil {
			s += ", errorCode " + c.ErrorCode.Value + " " + c.ErrorCode.Name
		}
		if c.PubKeyAuthVerified {
			s += ", the server proved its key"
		}
		if c.EarlyUserAuth != "" {
			s += ", early user authorization " + c.EarlyUserAuth
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return ""
	}
	s := parts[0]
	for _, p := range parts[1:] {
		if strings.HasPrefix(p, "over ") {
			s += " " + p
		} else {
			s += "; " + p
		}
	}
	return s
}

// briefSession is how far the session phase got, in one line.
func briefSession(s *SessionJSON) string {
	switch {
	case s.Skipped != "":
		return "skipped: " + s.Skipped
	case s.MCSFailure != "":
		return "MCS refused: " + s.MCSFailure
	}
	var parts []string
	if l := s.License; l != nil {
		switch l.Outcome {
		case "valid_client":
			parts = append(parts, "licensing passed")
		case "requested":
			parts = append(parts, "the server asked for a client licence")
		case "challenged":
			parts = append(parts, "licensing reached a PLATFORM_CHALLENGE")
		default:
			parts = append(parts, "licensing failed: "+l.ErrorCode)
		}
	}
	for _, e := range s.ErrorInfo {
		parts = append(parts, "error info "+e.Name)
	}
	if s.LoggedOn {
		parts = append(parts, "logged on")
	}
	if s.ServerDisconnect != "" {
		parts = append(parts, "the server disconnected ("+s.ServerDisconnect+")")
	}
	if s.DisconnectSent {
		parts = append(parts, "the probe disconnected before any graphics")
	}
	if len(parts) == 0 {
		return "opened"
	}
	return strings.Join(parts, "; ")
}
