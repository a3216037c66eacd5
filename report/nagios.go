package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/rdpprobe/rdpprobe/classify"
)

// MaxNagiosLine is the longest status line Nagios is given, in bytes:
// NRPE and the web UIs cut longer ones, perfdata first.
const MaxNagiosLine = 199

// NagiosOptions are the plugin's thresholds.
type NagiosOptions struct {
	// A certificate expiring within CertWarnDays is WARNING, within
	// CertCritDays CRITICAL (days left < N; 0 means once expired).
	CertWarnDays, CertCritDays int
	// Now is when the days are counted from (zero: time.Now).
	Now time.Time
}

// Nagios is the plugin's state and its one status line for a report whose
// verdict has Nagios state code:
//
//	RDP WARNING - ok: NLA not enforced; reached the TLS handshake... | time=0.049s connect=0.2ms ... cert_days=1824;30;0
//
// The thresholds can only raise the state. The text is escaped, holds no
// '|' (that would start the perfdata, and a server-chosen name must not
// forge it), and is cut so the whole line stays within MaxNagiosLine.
func Nagios(rep *Report, code int, opt NagiosOptions) (string, int) {
	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	var why []string
	if code == classify.NagiosWarning && rep.OK {
		for _, f := range rep.Findings {
			if classify.NagiosWarnings[f.ID] {
				why = append(why, strings.ReplaceAll(f.ID, "_", " "))
			}
		}
	}
	perf := []string{"time=" + strconv.FormatFloat(rep.DurationMS/1000, 'f', 3, 64) + "s"}
	for _, p := range rep.Phases {
		perf = append(perf, perfLabel(p.Phase)+"="+strconv.FormatFloat(p.DurationMS, 'f', 1, 64)+"ms")
	}
	if t := rep.TLS; t != nil && t.Certificate != nil && !t.Certificate.NotAfter.IsZero() {
		days := int(math.Floor(t.Certificate.NotAfter.Sub(now).Hours() / 24))
		perf = append(perf, fmt.Sprintf("cert_days=%d;%d;%d", days, opt.CertWarnDays, opt.CertCritDays))
		switch {
		case days < opt.CertCritDays:
			code = max(code, classify.NagiosCritical)
			why = append(why, certWords(days, t.Certificate.NotAfter))
		case days < opt.CertWarnDays:
			if code < classify.NagiosWarning {
				code = classify.NagiosWarning
			}
			why = append(why, certWords(days, t.Certificate.NotAfter))
		}
	}
	if code < 0 || code > classify.NagiosUnknown {
		code = classify.NagiosUnknown
	}
	text := rep.Class + ": " + strings.Join(append(why, rep.Detail), "; ")
	return nagiosFormat(code, text, strings.Join(perf, " ")), code
}

func certWords(days int, notAfter time.Time) string {
	if days < 0 {
		return fmt.Sprintf("certificate expired %d days ago (%s)", -days, notAfter.UTC().Format(time.DateOnly))
	}
	return fmt.Sprintf("certificate expires in %d days (%s)", days, notAfter.UTC().Format(time.DateOnly))
}

// perfLabel is a phase name as a perfdata label: a plain word (a report
// read back from a file may hold anything).
func perfLabel(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// NagiosUsage is the status line of a run that never probed: a usage
// error, UNKNOWN.
func NagiosUsage(msg string) string {
	return nagiosFormat(classify.NagiosUnknown, "usage: "+msg, "")
}

var nagiosStates = [...]string{"OK", "WARNING", "CRITICAL", "UNKNOWN"}

// nagiosFormat puts the line together, cutting the text (never the
// state) to fit MaxNagiosLine; perfdata that cannot fit is dropped.
func nagiosFormat(code int, text, perf string) string {
	head := "RDP " + nagiosStates[code] + " - "
	text = strings.Join(strings.Fields(nagiosText(text)), " ") // one line
	tail := ""
	if perf != "" {
		tail = " | " + perf
	}
	if len(head)+len(tail)+20 > MaxNagiosLine {
		tail = ""
	}
	room := MaxNagiosLine - len(head) - len(tail)
	if len(text) > room {
		cut := room - len("...")
		for cut > 0 && !utf8Start(text[cut]) {
			cut--
		}
		text = strings.TrimRight(text[:cut], " ;,") + "..."
	}
	return head + text + tail
}

func utf8Start(b byte) bool { return b&0xc0 != 0x80 }

func nagiosText(s string) string { return strings.ReplaceAll(Escape(s), "|", `\x7c`) }
