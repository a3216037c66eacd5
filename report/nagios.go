package report

import (
	"fmt"
	"strings"
)

// NagiosLine is the plugin's one status line, "RDP OK - class: detail |
// time=0.023s". The detail is escaped and may not hold a '|': that would
// start the perfdata, and a server-chosen name must not forge it.
func NagiosLine(rep *Report, code int) string {
	state := [...]string{"OK", "WARNING", "CRITICAL", "UNKNOWN"}
	if code < 0 || code > 3 {
		code = 3
	}
	return fmt.Sprintf("RDP %s - %s: %s | time=%.3fs", state[code], nagiosText(rep.Class), nagiosText(rep.Detail), rep.DurationMS/1000)
}

func nagiosText(s string) string { return strings.ReplaceAll(Escape(s), "|", `\x7c`) }
