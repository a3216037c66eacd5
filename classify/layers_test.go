package classify

import (
	"context"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
)

// layerAnswer builds a map entry: sel >= 0 selects that protocol, code
// fails with it, err is an error.
type layerAnswer struct {
	sel  negotiate.Protocol
	code negotiate.FailureCode
	err  error
	none bool // Connection Confirm without negotiation data
}

func selects(p negotiate.Protocol) layerAnswer    { return layerAnswer{sel: p} }
func refuses(c negotiate.FailureCode) layerAnswer { return layerAnswer{code: c} }

func layerMap(answers map[negotiate.Protocol]layerAnswer, enc *probe.EncryptionMap) *probe.SecurityLayers {
	m := &probe.SecurityLayers{Target: "t", Encryption: enc}
	for _, p := range probe.EnumeratedProtocols {
		a := answers[p]
		l := probe.LayerResult{Protocol: p, Requested: probe.RequestFor(p)}
		switch {
		case a.err != nil:
			l.Err = a.err
		case a.code != 0:
			l.Failure = &negotiate.NegotiationFailure{Code: a.code}
		case a.none:
			l.NoNegotiationData = true
			l.Accepted = p == negotiate.ProtocolRDP
		default:
			l.Response = &negotiate.NegotiationResponse{SelectedProtocol: a.sel}
			l.Accepted = a.sel == p
		}
		m.Layers = append(m.Layers, l)
	}
	return m
}

func all(a layerAnswer) map[negotiate.Protocol]layerAnswer {
	m := map[negotiate.Protocol]layerAnswer{}
	for _, p := range probe.EnumeratedProtocols {
		m[p] = a
	}
	return m
}

func methods(level negotiate.EncryptionLevel, accepted ...negotiate.EncryptionMethod) *probe.EncryptionMap {
	e := &probe.EncryptionMap{Level: level, LevelKnown: true}
	for _, m := range probe.EnumeratedMethods {
		mr := probe.MethodResult{Method: m, HasServerData: true, Level: level, Selected: negotiate.EncryptionMethodNone}
		if slices.Contains(accepted, m) {
			mr.Accepted, mr.Selected = true, m
		} else if len(accepted) > 0 {
			mr.Selected = accepted[len(accepted)-1]
		}
		e.Methods = append(e.Methods, mr)
	}
	return e
}

const (
	pRDP    = negotiate.ProtocolRDP
	pSSL    = negotiate.ProtocolSSL
	pHybrid = negotiate.ProtocolHybrid
	pHEx    = negotiate.ProtocolHybridEx
	pRDSTLS = negotiate.ProtocolRDSTLS
	pRDSAAD = negotiate.ProtocolRDSAAD
)

func meaningIDs(lm LayerMap) []string {
	var ids []string
	for _, f := range lm.Meaning {
		ids = append(ids, f.ID)
	}
	return ids
}

func TestSecurityLayersMeaning(t *testing.T) {
	hybridRequired := refuses(negotiate.HybridRequiredByServer)
	sslRequired := refuses(negotiate.SSLRequiredByServer)
	for _, tc := range []struct {
		name string
		m    *probe.SecurityLayers
		ids  []string
		// words that must appear in the line of the same index in ids
		words map[string]string
	}{
		{
			name: "windows nla with hybrid_ex",
			m: layerMap(map[negotiate.Protocol]layerAnswer{pRDP: hybridRequired, pSSL: hybridRequired, pHybrid: selects(pHybrid),
				pHEx: selects(pHEx), pRDSTLS: hybridRequired, pRDSAAD: hybridRequired}, nil),
			ids:   []string{MeaningNLAEnforced, MeaningEarlyUserAuth},
			words: map[string]string{MeaningNLAEnforced: "NLA is enforced: only CredSSP is accepted"},
		},
		{
			name: "freerdp nla: hybrid_ex answered with hybrid",
			m: layerMap(map[negotiate.Protocol]layerAnswer{pRDP: hybridRequired, pSSL: hybridRequired, pHybrid: selects(pHybrid),
				pHEx: selects(pHybrid), pRDSTLS: hybridRequired, pRDSAAD: hybridRequired}, nil),
			ids: []string{MeaningNLAEnforced, MeaningNoEarlyUserAuth},
		},
		{
			name: "tls only",
			m: layerMap(map[negotiate.Protocol]layerAnswer{pRDP: sslRequired, pSSL: selects(pSSL), pHybrid: sslRequired,
				pHEx: sslRequired, pRDSTLS: sslRequired, pRDSAAD: sslRequired}, nil),
			ids:   []string{MeaningTLSWithoutNLA, MeaningNLAUnavailable},
			words: map[string]string{MeaningTLSWithoutNLA: "credentials are checked only after the session starts"},
		},
		{
			name: "xrdp: rdp and tls, RDP selected for the rest, RDSAAD hung up",
			m: layerMap(map[negotiate.Protocol]layerAnswer{pRDP: selects(pRDP), pSSL: selects(pSSL), pHybrid: selects(pRDP),
				pHEx: selects(pRDP), pRDSTLS: selects(pRDP), pRDSAAD: {err: &probe.UltimatumError{Reason: negotiate.MCSReasonUserRequested}}},
				methods(negotiate.EncryptionLevelHigh, negotiate.EncryptionMethod128Bit)),
			ids: []string{MeaningTLSWithoutNLA, MeaningStandardRDP, MeaningNLAUnavailable, MeaningSelectedOther},
			words: map[string]string{
				MeaningStandardRDP:   "man in the middle can read the session, credentials included (set the security layer to SSL or require NLA); encryption level High",
				MeaningSelectedOther: "PROTOCOL_HYBRID (selected PROTOCOL_RDP), PROTOCOL_HYBRID_EX (selected PROTOCOL_RDP), PROTOCOL_RDSTLS (selected PROTOCOL_RDP)",
			},
		},
		{
			name: "standard rdp at level none",
			m: layerMap(map[negotiate.Protocol]layerAnswer{pRDP: selects(pRDP), pSSL: refuses(negotiate.SSLNotAllowedByServer),
				pHybrid: refuses(negotiate.SSLNotAllowedByServer), pHEx: refuses(negotiate.SSLNotAllowedByServer),
				pRDSTLS: refuses(negotiate.SSLNotAllowedByServer), pRDSAAD: refuses(negotiate.SSLNotAllowedByServer)},
				methods(negotiate.EncryptionLevelNone)),
			ids:   []string{MeaningStandardRDP, MeaningWeakRDPEncryption, MeaningNLAUnavailable},
			words: map[string]string{MeaningWeakRDPEncryption: "in the clear", MeaningStandardRDP: "encryption level None"},
		},
		{
			name: "weak rc4 at client compatible",
			m: layerMap(map[negotiate.Protocol]layerAnswer{pRDP: selects(pRDP), pSSL: selects(pSSL), pHybrid: selects(pHybrid),
				pHEx: selects(pHEx), pRDSTLS: selects(pRDSTLS), pRDSAAD: selects(pRDSAAD)},
				methods(negotiate.EncryptionLevelClientCompatible, negotiate.EncryptionMethod40Bit, negotiate.EncryptionMethod56Bit, negotiate.EncryptionMethod128Bit)),
			ids: []string{MeaningTLSWithoutNLA, MeaningStandardRDP, MeaningWeakRDPEncryption, MeaningEarlyUserAuth, MeaningRDSTLS, MeaningRDSAAD},
			words: map[string]string{MeaningWeakRDPEncryption: "40-bit RC4 and 56-bit RC4 are accepted",
				MeaningStandardRDP: "encryption level Client Compatible"},
		},
		{
			name:  "refuses everything with one code",
			m:     layerMap(all(sslRequired), nil),
			ids:   []string{MeaningNoneAccepted},
			words: map[string]string{MeaningNoneAccepted: "every request with SSL_REQUIRED_BY_SERVER"},
		},
		{
			name: "pre-5.2 server",
			m:    layerMap(all(layerAnswer{none: true}), nil),
			ids:  []string{MeaningStandardRDP, MeaningNLAUnavailable, MeaningSelectedOther},
		},
		{
			name:  "nothing answers",
			m:     layerMap(all(layerAnswer{err: &probe.DialError{Err: syscall.ECONNREFUSED}}), nil),
			ids:   []string{MeaningNoAnswer},
			words: map[string]string{MeaningNoAnswer: "nothing answers: no security layer could be mapped (connect failed: connection refused, all 6 requests)"},
		},
		{
			name: "one request unanswered",
			m: layerMap(map[negotiate.Protocol]layerAnswer{pRDP: hybridRequired, pSSL: hybridRequired, pHybrid: selects(pHybrid),
				pHEx: selects(pHEx), pRDSTLS: hybridRequired,
				pRDSAAD: {err: &probe.PhaseTimeoutError{Phase: probe.PhaseNegotiate, Err: context.DeadlineExceeded}}}, nil),
			ids:   []string{MeaningNLAEnforced, MeaningEarlyUserAuth, MeaningIncomplete},
			words: map[string]string{MeaningIncomplete: "PROTOCOL_RDSAAD: no answer before the deadline"},
		},
		{
			name: "bad target",
			m:    &probe.SecurityLayers{Err: errors.New("target: unbalanced brackets")},
			ids:  []string{MeaningNoAnswer},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lm := SecurityLayers(tc.m)
			if got := meaningIDs(lm); !reflect.DeepEqual(got, tc.ids) {
				t.Errorf("meaning %v, want %v", got, tc.ids)
			}
			for _, f := range lm.Meaning {
				if w, ok := tc.words[f.ID]; ok && !strings.Contains(f.Text, w) {
					t.Errorf("%s: %q lacks %q", f.ID, f.Text, w)
				}
				if f.Severity == "" || f.Text == "" {
					t.Errorf("%s: empty severity or text", f.ID)
				}
			}
			if tc.m.Err == nil && len(lm.Layers) != len(probe.EnumeratedProtocols) {
				t.Errorf("%d rows", len(lm.Layers))
			}
			// Pure: the same map gives the same words.
			if again := SecurityLayers(tc.m); !reflect.DeepEqual(again, lm) {
				t.Error("not deterministic")
			}
		})
	}
	if lm := SecurityLayers(nil); len(lm.Meaning) != 0 || lm.Layers != nil {
		t.Errorf("nil map: %+v", lm)
	}
}

func TestLayerSaid(t *testing.T) {
	for _, tc := range []struct {
		l          probe.LayerResult
		said, kind string
	}{
		{probe.LayerResult{Failure: &negotiate.NegotiationFailure{Code: negotiate.HybridRequiredByServer}}, "HYBRID_REQUIRED_BY_SERVER", ""},
		{probe.LayerResult{Response: &negotiate.NegotiationResponse{SelectedProtocol: pRDP}}, "selected PROTOCOL_RDP", ""},
		{probe.LayerResult{NoNegotiationData: true}, "no negotiation data (PROTOCOL_RDP)", ""},
		{probe.LayerResult{Err: &probe.DialError{Err: &probe.PhaseTimeoutError{Phase: probe.PhaseConnect, Err: context.DeadlineExceeded}}}, "TCP connect timed out", LayerErrConnect},
		{probe.LayerResult{Err: &probe.PhaseTimeoutError{Phase: probe.PhaseNegotiate, Err: context.DeadlineExceeded}}, "no answer before the deadline", LayerErrTimeout},
		{probe.LayerResult{Err: &negotiate.NotTPKTError{First: []byte("HTTP")}}, "not RDP: an HTTP response", LayerErrNotRDP},
		{probe.LayerResult{Err: io.EOF}, "connection closed without an answer", LayerErrClosed},
		{probe.LayerResult{Err: syscall.ECONNRESET}, "connection closed without an answer", LayerErrClosed},
		{probe.LayerResult{Err: errors.Join(negotiate.ErrDisconnectRequest)}, "hung up: X.224 Disconnect Request", LayerErrDisconnect},
		{probe.LayerResult{Err: &probe.UltimatumError{Reason: negotiate.MCSReasonUserRequested}}, "hung up: MCS Disconnect Provider Ultimatum (rn-user-requested)", LayerErrDisconnect},
	} {
		said, kind := layerSaid(&tc.l)
		if said != tc.said || kind != tc.kind {
			t.Errorf("%+v: said %q kind %q, want %q %q", tc.l, said, kind, tc.said, tc.kind)
		}
	}
}

func TestEncryptionSummary(t *testing.T) {
	for _, tc := range []struct {
		e    *probe.EncryptionMap
		want string
	}{
		{methods(negotiate.EncryptionLevelHigh, negotiate.EncryptionMethod128Bit), "level High: 128-bit RC4 accepted; 40-bit RC4, 56-bit RC4, FIPS (3DES) refused"},
		{methods(negotiate.EncryptionLevelClientCompatible, negotiate.EncryptionMethod40Bit, negotiate.EncryptionMethod56Bit, negotiate.EncryptionMethod128Bit),
			"level Client Compatible: 40-bit RC4, 56-bit RC4, 128-bit RC4 accepted; FIPS (3DES) refused"},
		{methods(negotiate.EncryptionLevelNone), "level None: nothing is encrypted, whatever the client offers"},
		{&probe.EncryptionMap{Methods: []probe.MethodResult{{Method: negotiate.EncryptionMethod40Bit, Err: io.EOF}}}, "unknown: no offer got the server's security data"},
	} {
		es := encryptionSaid(tc.e)
		if es.Summary != tc.want {
			t.Errorf("summary %q, want %q", es.Summary, tc.want)
		}
		if len(es.Methods) != len(tc.e.Methods) {
			t.Errorf("%d methods said, want %d", len(es.Methods), len(tc.e.Methods))
		}
	}
}
