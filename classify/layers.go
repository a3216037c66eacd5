package classify

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
)

// Interpretation IDs of a security-layer map (rdpprobe --enumerate), stable
// like finding IDs.
const (
	MeaningNoAnswer          = "layers_no_answer"            // no request got an answer
	MeaningNoneAccepted      = "layers_none_accepted"        // answers, but every protocol refused
	MeaningNLAEnforced       = "nla_enforced"                // only CredSSP is accepted
	MeaningTLSWithoutNLA     = "tls_without_nla"             // PROTOCOL_SSL accepted
	MeaningStandardRDP       = "standard_rdp_security"       // PROTOCOL_RDP accepted
	MeaningWeakRDPEncryption = "weak_rdp_encryption"         // 40- or 56-bit RC4 accepted, or level None
	MeaningNLAUnavailable    = "nla_unavailable"             // neither HYBRID nor HYBRID_EX accepted
	MeaningEarlyUserAuth     = "early_user_authorization"    // HYBRID_EX accepted
	MeaningNoEarlyUserAuth   = "no_early_user_authorization" // HYBRID but not HYBRID_EX
	MeaningRDSTLS            = "rdstls_accepted"
	MeaningRDSAAD            = "rdsaad_accepted"
	MeaningSelectedOther     = "selected_other_protocol" // an RDP_NEG_RSP that is a refusal
	MeaningIncomplete        = "layers_incomplete"       // some requests got no answer
)

// Error kinds of a map entry that got no Connection Confirm; stable (JSON).
const (
	LayerErrConnect    = "connect_failed" // TCP (or name resolution) failed
	LayerErrTimeout    = "timeout"        // no answer before the deadline
	LayerErrClosed     = "closed"         // the server closed or reset the connection
	LayerErrNotRDP     = "not_rdp"        // the answer was not TPKT
	LayerErrMalformed  = "malformed"      // TPKT, but not a Connection Confirm
	LayerErrDisconnect = "disconnect"     // X.224 Disconnect Request or MCS Disconnect Provider Ultimatum
)

// LayerMap is what a security-layer map means: per protocol, in words,
// what the server said; the Standard RDP Security encryption in words; and
// the interpretation lines.
type LayerMap struct {
	Layers     []LayerSaid
	Encryption *EncryptionSaid // nil when the map has none
	Meaning    []Finding
}

// LayerSaid is one row of the table: protocol | accepted | server said.
type LayerSaid struct {
	Protocol negotiate.Protocol
	Accepted bool
	Said     string // "selected PROTOCOL_RDP", "HYBRID_REQUIRED_BY_SERVER", "no answer within 5s"...
	// ErrorKind is one of the LayerErr* constants when no Connection
	// Confirm arrived, else "".
	ErrorKind string
}

// EncryptionSaid summarises the Standard RDP Security encryption map.
type EncryptionSaid struct {
	Level   string // "ENCRYPTION_LEVEL_HIGH", "" if unknown
	Summary string // "level High: 128-bit RC4 accepted; 40-bit RC4, 56-bit RC4, FIPS refused"
	Methods []MethodSaid
}

// MethodSaid is one encryption method offered alone.
type MethodSaid struct {
	Method   negotiate.EncryptionMethod
	Name     string // "128-bit RC4"
	Accepted bool
	Said     string // "selected ENCRYPTION_METHOD_128BIT" or the error
}

// SecurityLayers interprets a security-layer map. Like Classify it is pure:
// the same map always gives the same words.
func SecurityLayers(m *probe.SecurityLayers) LayerMap {
	var out LayerMap
	if m == nil {
		return out
	}
	add := func(id string, sev Severity, format string, a ...any) {
		out.Meaning = append(out.Meaning, Finding{ID: id, Severity: sev, Text: fmt.Sprintf(format, a...)})
	}
	if m.Err != nil {
		add(MeaningNoAnswer, SeverityWarning, "no security layer was mapped: %v", m.Err)
		return out
	}
	accepted := func(p negotiate.Protocol) bool { l := m.Layer(p); return l != nil && l.Accepted }
	var answered, unanswered, other []string
	saids := map[string]bool{} // what the unanswered requests met, once each
	failures := map[negotiate.FailureCode]int{}
	for i := range m.Layers {
		l := &m.Layers[i]
		ls := LayerSaid{Protocol: l.Protocol, Accepted: l.Accepted}
		ls.Said, ls.ErrorKind = layerSaid(l)
		out.Layers = append(out.Layers, ls)
		switch {
		case ls.ErrorKind != "" && ls.ErrorKind != LayerErrDisconnect:
			unanswered = append(unanswered, l.Protocol.String()+": "+ls.Said)
			saids[ls.Said] = true
			continue
		case l.Failure != nil:
			failures[l.Failure.Code]++
		}
		answered = append(answered, l.Protocol.String())
		if sel, ok := l.Selected(); ok && !l.Accepted && !(l.Protocol == negotiate.ProtocolHybridEx && sel == negotiate.ProtocolHybrid) {
			other = append(other, fmt.Sprintf("%s (selected %s)", l.Protocol, sel))
		}
	}
	if e := m.Encryption; e != nil {
		out.Encryption = encryptionSaid(e)
	}

	if len(answered) == 0 {
		if len(saids) == 1 {
			// A closed port: the same words for every request, said once.
			for said := range saids {
				add(MeaningNoAnswer, SeverityWarning, "nothing answers: no security layer could be mapped (%s, all %d requests)", said, len(unanswered))
			}
			return out
		}
		add(MeaningNoAnswer, SeverityWarning, "no security layer could be mapped: %s", strings.Join(unanswered, "; "))
		return out
	}
	rdp, ssl := accepted(negotiate.ProtocolRDP), accepted(negotiate.ProtocolSSL)
	hybrid, hybridEx := accepted(negotiate.ProtocolHybrid), accepted(negotiate.ProtocolHybridEx)
	any := false
	for _, l := range m.Layers {
		any = any || l.Accepted
	}
	switch {
	case !any && len(failures) == 1 && len(unanswered) == 0:
		var code negotiate.FailureCode
		for c := range failures {
			code = c
		}
		add(MeaningNoneAccepted, SeverityWarning, "the server accepts none of the security protocols: it answers every request "+
			"with %s, so no client can connect (a listener whose security settings contradict each other, or a broken certificate)", code)
	case !any:
		add(MeaningNoneAccepted, SeverityWarning, "the server accepts none of the security protocols asked about, so no client can connect")
	case (hybrid || hybridEx) && !ssl && !rdp:
		add(MeaningNLAEnforced, SeverityInfo, "NLA is enforced: only CredSSP is accepted, so credentials are checked before a session "+
			"(and its logon screen) starts")
	}
	if ssl {
		add(MeaningTLSWithoutNLA, SeverityWarning, "TLS without NLA is allowed: credentials are checked only after the session "+
			"starts, so anyone who reaches the port gets a logon screen and a session on the server without an account "+
			"(require NLA to close this)")
	}
	if rdp {
		text := "Standard RDP security is allowed: the server is not authenticated (no certificate a client can check), so a " +
			"man in the middle can read the session, credentials included (set the security layer to SSL or require NLA)"
		if e := m.Encryption; e != nil && e.LevelKnown {
			words, ok := levelWords[e.Level]
			if !ok {
				words = e.Level.String()
			}
			text += "; encryption level " + words
		}
		add(MeaningStandardRDP, SeverityWarning, "%s", text)
		if w := weakEncryption(m.Encryption); w != "" {
			add(MeaningWeakRDPEncryption, SeverityWarning, "%s", w)
		}
	}
	if any && !hybrid && !hybridEx {
		add(MeaningNLAUnavailable, SeverityWarning, "NLA is not available: a client that requires Network Level Authentication "+
			"(as Group Policy can make mstsc do) cannot connect")
	}
	switch {
	case hybridEx:
		add(MeaningEarlyUserAuth, SeverityInfo, "HYBRID_EX is offered: Early User Authorization is available, so an account "+
			"without the right to sign in through Remote Desktop is refused before a session starts")
	case hybrid:
		add(MeaningNoEarlyUserAuth, SeverityInfo, "HYBRID_EX is not offered: NLA works, but an account without the right to sign "+
			"in through Remote Desktop is refused only after a session has started")
	}
	if accepted(negotiate.ProtocolRDSTLS) {
		add(MeaningRDSTLS, SeverityInfo, "RDSTLS is accepted: the server takes credentials passed on by a connection broker "+
			"or a redirection (Remote Desktop Services, Azure Virtual Desktop)")
	}
	if accepted(negotiate.ProtocolRDSAAD) {
		add(MeaningRDSAAD, SeverityInfo, "RDSAAD is accepted: Microsoft Entra ID (Azure AD) sign-in is available")
	}
	if len(other) > 0 {
		add(MeaningSelectedOther, SeverityInfo, "asked for protocols it does not support, the server selected another one: %s. "+
			"That is a refusal (a scanner that counts any RDP_NEG_RSP as success, like nmap's rdp-enum-encryption, "+
			"reports these protocols as supported)", strings.Join(other, ", "))
	}
	if len(unanswered) > 0 {
		add(MeaningIncomplete, SeverityWarning, "the map is incomplete, some requests got no answer: %s", strings.Join(unanswered, "; "))
	}
	return out
}

// layerSaid is the "server said" cell and the error kind.
func layerSaid(l *probe.LayerResult) (string, string) {
	switch {
	case l.Failure != nil:
		return l.Failure.Code.String(), ""
	case l.Response != nil:
		return "selected " + l.Response.SelectedProtocol.String(), ""
	case l.NoNegotiationData:
		return "no negotiation data (PROTOCOL_RDP)", ""
	case l.Err == nil:
		return "nothing", LayerErrMalformed
	}
	err := l.Err
	var (
		de *probe.DialError
		te *probe.PhaseTimeoutError
		nt *negotiate.NotTPKTError
		ut *probe.UltimatumError
	)
	switch {
	case errors.As(err, &de):
		if errors.As(err, &te) {
			return "TCP connect timed out", LayerErrConnect
		}
		return "connect failed: " + de.Err.Error(), LayerErrConnect
	case errors.As(err, &te):
		return "no answer before the deadline", LayerErrTimeout
	case errors.As(err, &ut):
		return "hung up: MCS Disconnect Provider Ultimatum (" + ut.Reason.String() + ")", LayerErrDisconnect
	case errors.Is(err, negotiate.ErrDisconnectRequest):
		return "hung up: X.224 Disconnect Request", LayerErrDisconnect
	case errors.As(err, &nt):
		return "not RDP: " + nt.Looks(), LayerErrNotRDP
	case errors.Is(err, negotiate.ErrMalformed):
		return "malformed answer: " + err.Error(), LayerErrMalformed
	case isClosed(err):
		return "connection closed without an answer", LayerErrClosed
	}
	return err.Error(), LayerErrClosed
}

// MethodName is the usual name of an encryption method ("128-bit RC4").
func MethodName(m negotiate.EncryptionMethod) string {
	switch m {
	case negotiate.EncryptionMethod40Bit:
		return "40-bit RC4"
	case negotiate.EncryptionMethod56Bit:
		return "56-bit RC4"
	case negotiate.EncryptionMethod128Bit:
		return "128-bit RC4"
	case negotiate.EncryptionMethodFIPS:
		return "FIPS (3DES)"
	}
	return m.String()
}

var levelWords = map[negotiate.EncryptionLevel]string{
	negotiate.EncryptionLevelNone:             "None",
	negotiate.EncryptionLevelLow:              "Low",
	negotiate.EncryptionLevelClientCompatible: "Client Compatible",
	negotiate.EncryptionLevelHigh:             "High",
	negotiate.EncryptionLevelFIPS:             "FIPS Compliant",
}

func encryptionSaid(e *probe.EncryptionMap) *EncryptionSaid {
	es := &EncryptionSaid{}
	var acc, ref []string
	for _, mr := range e.Methods {
		ms := MethodSaid{Method: mr.Method, Name: MethodName(mr.Method), Accepted: mr.Accepted}
		switch {
		case mr.HasServerData:
			ms.Said = "selected " + mr.Selected.String()
		case mr.Err != nil:
			ms.Said, _ = layerSaid(&probe.LayerResult{Err: mr.Err})
			var nf *negotiate.NegotiationFailure
			if errors.As(mr.Err, &nf) {
				ms.Said = nf.Code.String()
			}
		}
		if mr.Accepted {
			acc = append(acc, ms.Name)
		} else {
			ref = append(ref, ms.Name)
		}
		es.Methods = append(es.Methods, ms)
	}
	if !e.LevelKnown {
		es.Summary = "unknown: no offer got the server's security data"
		return es
	}
	es.Level = e.Level.String()
	words, ok := levelWords[e.Level]
	if !ok {
		words = e.Level.String()
	}
	if e.Level == negotiate.EncryptionLevelNone {
		es.Summary = "level None: nothing is encrypted, whatever the client offers"
		return es
	}
	es.Summary = "level " + words + ": "
	if len(acc) == 0 {
		es.Summary += "none of the methods offered alone was accepted"
	} else {
		es.Summary += strings.Join(acc, ", ") + " accepted"
	}
	if len(ref) > 0 && len(acc) > 0 {
		es.Summary += "; " + strings.Join(ref, ", ") + " refused"
	}
	return es
}

// weakEncryption says what is weak about the Standard RDP Security
// encryption, or "".
func weakEncryption(e *probe.EncryptionMap) string {
	if e == nil || !e.LevelKnown {
		return ""
	}
	if e.Level == negotiate.EncryptionLevelNone {
		return "encryption level None: the session, keystrokes and credentials included, crosses the network in the clear " +
			"(set the encryption level to High, or better, require TLS)"
	}
	var weak []string
	for _, mr := range e.Methods {
		if mr.Accepted && (mr.Method == negotiate.EncryptionMethod40Bit || mr.Method == negotiate.EncryptionMethod56Bit) {
			weak = append(weak, MethodName(mr.Method))
		}
	}
	if len(weak) == 0 {
		return ""
	}
	return strings.Join(weak, " and ") + " are accepted: keys that short are broken in practice (set the encryption level to High)"
}
