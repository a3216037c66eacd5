package report

import (
	"fmt"
	"io"
	"unicode"
	"unicode/utf8"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
)

// Enumeration is the security-layer map of rdpprobe --enumerate, in the
// JSON report next to the normal probe's fields.
type Enumeration struct {
	// SecurityLayers is keyed by the spec's protocol names (PROTOCOL_RDP,
	// PROTOCOL_SSL, PROTOCOL_HYBRID, PROTOCOL_HYBRID_EX, PROTOCOL_RDSTLS,
	// PROTOCOL_RDSAAD).
	SecurityLayers map[string]SecurityLayerJSON `json:"security_layers"`
	// RDPEncryption is the Standard RDP Security map, present only when
	// PROTOCOL_RDP was accepted.
	RDPEncryption *RDPEncryptionJSON `json:"rdp_encryption,omitempty"`
	// SecurityMeaning says what the map means, one line each.
	SecurityMeaning []FindingJSON `json:"security_meaning"`
	// EnumerationMS is the wall time of the map.
	EnumerationMS float64 `json:"enumeration_ms"`
}

// SecurityLayerJSON is the server's answer to a request for one protocol.
// Accepted means it selected exactly that protocol.
type SecurityLayerJSON struct {
	Accepted      bool     `json:"accepted"`
	Requested     []string `json:"requested"`
	Selected      string   `json:"selected,omitempty"`
	FailureCode   string   `json:"failure_code,omitempty"`
	NoNegotiation bool     `json:"no_negotiation_data,omitempty"`
	ServerSaid    string   `json:"server_said"`
	ErrorKind     string   `json:"error_kind,omitempty"`
	Error         string   `json:"error,omitempty"`
	DurationMS    float64  `json:"duration_ms"`
}

// RDPEncryptionJSON is what a Standard RDP Security server said about
// encryption: its level, and per method offered alone whether it took it.
type RDPEncryptionJSON struct {
	Level         string                `json:"level,omitempty"`
	ServerVersion string                `json:"server_version,omitempty"`
	Summary       string                `json:"summary"`
	Methods       map[string]MethodJSON `json:"methods"`
}

// MethodJSON is the answer to one encryption method offered alone, keyed
// by its spec name (ENCRYPTION_METHOD_128BIT...).
type MethodJSON struct {
	Accepted   bool   `json:"accepted"`
	Selected   string `json:"selected,omitempty"`
	ServerSaid string `json:"server_said"`
	Error      string `json:"error,omitempty"`
}

// NewEnumeration flattens a map and its meaning into the JSON form.
func NewEnumeration(m *probe.SecurityLayers, lm classify.LayerMap) *Enumeration {
	e := &Enumeration{SecurityLayers: map[string]SecurityLayerJSON{}, SecurityMeaning: []FindingJSON{}, EnumerationMS: ms(m.Duration)}
	for i, l := range m.Layers {
		j := SecurityLayerJSON{Accepted: l.Accepted, Requested: protocolNames(l.Requested, l.Requested == negotiate.ProtocolRDP),
			DurationMS: ms(l.Duration), NoNegotiation: l.NoNegotiationData}
		if sel, ok := l.Selected(); ok {
			j.Selected = sel.String()
		}
		if l.Failure != nil {
			j.FailureCode = l.Failure.Code.String()
		}
		if l.Err != nil {
			j.Error = l.Err.Error()
		}
		if i < len(lm.Layers) {
			j.ServerSaid, j.ErrorKind = lm.Layers[i].Said, lm.Layers[i].ErrorKind
		}
		e.SecurityLayers[l.Protocol.String()] = j
	}
	if enc := m.Encryption; enc != nil && lm.Encryption != nil {
		rj := &RDPEncryptionJSON{Level: lm.Encryption.Level, Summary: lm.Encryption.Summary, Methods: map[string]MethodJSON{}}
		if enc.ServerVersion != 0 {
			rj.ServerVersion = fmt.Sprintf("0x%08X", enc.ServerVersion)
		}
		for i, mr := range enc.Methods {
			mj := MethodJSON{Accepted: mr.Accepted}
			if mr.HasServerData {
				mj.Selected = mr.Selected.String()
			}
			if mr.Err != nil {
				mj.Error = mr.Err.Error()
			}
			if i < len(lm.Encryption.Methods) {
				mj.ServerSaid = lm.Encryption.Methods[i].Said
			}
			rj.Methods[mr.Method.String()] = mj
		}
		e.RDPEncryption = rj
	}
	for _, f := range lm.Meaning {
		e.SecurityMeaning = append(e.SecurityMeaning, FindingJSON{ID: f.ID, Severity: string(f.Severity), Text: f.Text})
	}
	return e
}

// WriteSecurityLayers prints the report's map as a small table, the
// Standard RDP Security encryption, and what it all means. It reads the
// Report alone, so the text and the JSON say the same.
func WriteSecurityLayers(w io.Writer, rep *Report, color bool) {
	e := rep.Enumeration
	if e == nil {
		return
	}
	paint := painter(color)
	yesNo := func(ok bool) (string, string) {
		if ok {
			return "yes", colGreen
		}
		return "no", colRed
	}
	conns := len(e.SecurityLayers)
	if e.RDPEncryption != nil {
		conns += len(e.RDPEncryption.Methods)
	}
	fmt.Fprintf(w, "%s  %s  %d connections  %s\n", paint(colBold, "Security layers"), Escape(rep.Target), conns, fmtMS(e.EnumerationMS))
	if len(e.SecurityLayers) > 0 && !allUnansweredAlike(e) {
		fmt.Fprintf(w, "  %-20s %-9s %s\n", "PROTOCOL", "ACCEPTED", "SERVER SAID")
		for _, p := range probe.EnumeratedProtocols {
			l, ok := e.SecurityLayers[p.String()]
			if !ok {
				continue
			}
			acc, c := yesNo(l.Accepted)
			// Pad before painting, so colour codes do not skew the columns.
			fmt.Fprintf(w, "  %-20s %s %s\n", p.String(), paint(c, fmt.Sprintf("%-9s", acc)), Escape(l.ServerSaid))
		}
	}
	if enc := e.RDPEncryption; enc != nil {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "  Standard RDP security encryption, %s\n", Escape(enc.Summary))
		for _, m := range probe.EnumeratedMethods {
			mj, ok := enc.Methods[m.String()]
			if !ok {
				continue
			}
			acc, _ := yesNo(mj.Accepted)
			fmt.Fprintf(w, "    %-18s %-7s %s\n", classify.MethodName(m), acc, Escape(mj.ServerSaid))
		}
	}
	if len(e.SecurityMeaning) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "  What it means:")
		for _, f := range e.SecurityMeaning {
			mark := "-"
			if f.Severity == string(classify.SeverityWarning) {
				mark = paint(colYellow, "!")
			}
			fmt.Fprintf(w, "  %s %s\n", mark, Escape(upperFirst(f.Text)))
		}
	}
	fmt.Fprintln(w)
}

// allUnansweredAlike: no request got an answer, and each met the same
// thing (a closed port refuses all six alike). The table would say it six
// times; the meaning below says it once.
func allUnansweredAlike(e *Enumeration) bool {
	said := ""
	for _, l := range e.SecurityLayers {
		if l.Accepted || l.ErrorKind == "" || l.ErrorKind == classify.LayerErrDisconnect || said != "" && l.ServerSaid != said {
			return false
		}
		said = l.ServerSaid
	}
	return said != ""
}

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 || r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
