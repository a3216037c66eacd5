package report

import (
	"fmt"
	"io"
	"strings"

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
		e.SecurityMeaning = append(e.SecurityMeaning, FindingJSON{ID: f.ID, Text: f.Text})
	}
	return e
}

// WriteSecurityLayers prints the map as a small table, the Standard RDP
// Security encryption, and what it all means.
func WriteSecurityLayers(w io.Writer, target string, m *probe.SecurityLayers, lm classify.LayerMap, color bool) {
	paint := func(c, s string) string {
		if !color {
			return s
		}
		return c + s + colReset
	}
	fmt.Fprintf(w, "%s  %s  %d connections  %s\n", paint(colBold, "Security layers"), target, connections(m), fmtMS(ms(m.Duration)))
	if len(lm.Layers) > 0 {
		fmt.Fprintf(w, "  %-20s %-9s %s\n", "PROTOCOL", "ACCEPTED", "SERVER SAID")
		for _, l := range lm.Layers {
			acc, c := "no", colRed
			if l.Accepted {
				acc, c = "yes", colGreen
			}
			// Pad before painting, so colour codes do not skew the columns.
			fmt.Fprintf(w, "  %-20s %s %s\n", l.Protocol, paint(c, fmt.Sprintf("%-9s", acc)), l.Said)
		}
	}
	if e := lm.Encryption; e != nil {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "  Standard RDP security encryption, %s\n", e.Summary)
		for _, mr := range e.Methods {
			acc := "no"
			if mr.Accepted {
				acc = "yes"
			}
			fmt.Fprintf(w, "    %-18s %-7s %s\n", mr.Name, acc, mr.Said)
		}
	}
	if len(lm.Meaning) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "  What it means:")
		for _, f := range lm.Meaning {
			mark := "-"
			if f.Severity == classify.SeverityWarning {
				mark = paint(colYellow, "!")
			}
			fmt.Fprintf(w, "  %s %s\n", mark, upperFirst(f.Text))
		}
	}
	fmt.Fprintln(w)
}

func connections(m *probe.SecurityLayers) int {
	n := len(m.Layers)
	if m.Encryption != nil {
		n += len(m.Encryption.Methods)
	}
	return n
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
