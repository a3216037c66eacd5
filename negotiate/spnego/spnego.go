// Package spnego is SPNEGO (RFC 4178) as CredSSP carries it for mstsc in a
// domain: the client's NegTokenInit in the GSS-API InitialContextToken
// wrapper (RFC 2743 3.1) offering Kerberos and NTLM, and the NegTokenResp
// both sides exchange after it. It knows no mechanism: the mechListMIC is
// computed over MechTypesDER by the caller's mechanism (for Kerberos, an
// RFC 4121 MIC token; see package krb5).
package spnego

import (
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ErrMalformed is wrapped by every parse error.
var ErrMalformed = errors.New("spnego: malformed token")

func errMalformed(what, format string, a ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrMalformed, what, fmt.Sprintf(format, a...))
}

// Mechanism OIDs.
var (
	OIDSPNEGO     = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 2}
	OIDMSKerberos = asn1.ObjectIdentifier{1, 2, 840, 48018, 1, 2, 2} // what Windows offers first
	OIDKerberos   = asn1.ObjectIdentifier{1, 2, 840, 113554, 1, 2, 2}
	OIDNTLM       = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 10}
)

// WindowsMechTypes is the offer of a Windows client: MS Kerberos, Kerberos, NTLM.
func WindowsMechTypes() []asn1.ObjectIdentifier {
	return []asn1.ObjectIdentifier{OIDMSKerberos, OIDKerberos, OIDNTLM}
}

// IsKerberos tells a Kerberos OID, the standard or Microsoft's.
func IsKerberos(oid asn1.ObjectIdentifier) bool {
	return oid.Equal(OIDKerberos) || oid.Equal(OIDMSKerberos)
}

// MechName names the mechanisms we know; others are their dotted form.
func MechName(oid asn1.ObjectIdentifier) string {
	switch {
	case oid.Equal(OIDMSKerberos):
		return "MS-KRB5"
	case oid.Equal(OIDKerberos):
		return "KRB5"
	case oid.Equal(OIDNTLM):
		return "NTLMSSP"
	case oid.Equal(OIDSPNEGO):
		return "SPNEGO"
	}
	return oid.String()
}

// Caps on what a token may list.
const maxMechTypes = 32

// tags of NegotiationToken (RFC 4178 4.2) and the GSS wrapper (RFC 2743 3.1).
const (
	tagGSSWrapper = cbasn1.Tag(0x60) // [APPLICATION 0] constructed
)

func ctx(n uint8) cbasn1.Tag { return cbasn1.Tag(n).ContextSpecific().Constructed() }

// NegTokenInit (RFC 4178 4.2.1):
//
//	NegTokenInit ::= SEQUENCE {
//	    mechTypes    [0] MechTypeList,
//	    reqFlags     [1] ContextFlags OPTIONAL,  -- ignored, never sent
//	    mechToken    [2] OCTET STRING OPTIONAL,
//	    mechListMIC  [3] OCTET STRING OPTIONAL }
//
// carried as [0] of NegotiationToken inside the InitialContextToken
// wrapper with the SPNEGO OID. Microsoft's NegTokenInit2 ([3] negHints in
// place of mechListMIC, sent by servers) is read too.
type NegTokenInit struct {
	MechTypes   []asn1.ObjectIdentifier
	MechToken   []byte
	MechListMIC []byte
	// HasNegHints: the token was a NegTokenInit2 ([3] holds negHints).
	HasNegHints bool

	mechTypesDER []byte // as received, for the MIC
}

// MarshalMechTypes is the DER MechTypeList, the text a mechListMIC covers.
func MarshalMechTypes(oids []asn1.ObjectIdentifier) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, o := range oids {
			b.AddASN1ObjectIdentifier(o)
		}
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("spnego: encode mechTypes: %w", err)
	}
	return out, nil
}

// MechTypesDER is the MechTypeList as received (or as Marshal writes it),
// the input of the mechListMIC (RFC 4178 5).
func (t *NegTokenInit) MechTypesDER() ([]byte, error) {
	if t.mechTypesDER != nil {
		return t.mechTypesDER, nil
	}
	return MarshalMechTypes(t.MechTypes)
}

// Marshal writes the InitialContextToken: 60 len 06 OID-SPNEGO a0 NegTokenInit.
func (t *NegTokenInit) Marshal() ([]byte, error) {
	if len(t.MechTypes) == 0 {
		return nil, errors.New("spnego: NegTokenInit without mechTypes")
	}
	var b cryptobyte.Builder
	b.AddASN1(tagGSSWrapper, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(OIDSPNEGO)
		b.AddASN1(ctx(0), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(ctx(0), func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						for _, o := range t.MechTypes {
							b.AddASN1ObjectIdentifier(o)
						}
					})
				})
				if len(t.MechToken) > 0 {
					b.AddASN1(ctx(2), func(b *cryptobyte.Builder) { b.AddASN1OctetString(t.MechToken) })
				}
				if len(t.MechListMIC) > 0 {
					b.AddASN1(ctx(3), func(b *cryptobyte.Builder) { b.AddASN1OctetString(t.MechListMIC) })
				}
			})
		})
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("spnego: encode NegTokenInit: %w", err)
	}
	return out, nil
}

// Unmarshal reads a NegTokenInit in its InitialContextToken wrapper (or
// bare, as [0] NegotiationToken).
func (t *NegTokenInit) Unmarshal(b []byte) error {
	*t = NegTokenInit{}
	in := cryptobyte.String(b)
	if in.PeekASN1Tag(tagGSSWrapper) {
		var w cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !in.ReadASN1(&w, tagGSSWrapper) || !in.Empty() || !w.ReadASN1ObjectIdentifier(&oid) {
			return errMalformed("NegTokenInit", "bad InitialContextToken wrapper")
		}
		if !oid.Equal(OIDSPNEGO) {
			return errMalformed("NegTokenInit", "mechanism %s is not SPNEGO", oid)
		}
		in = w
	}
	var choice, seq cryptobyte.String
	if !in.ReadASN1(&choice, ctx(0)) || !in.Empty() || !choice.ReadASN1(&seq, cbasn1.SEQUENCE) || !choice.Empty() {
		return errMalformed("NegTokenInit", "not a [0] NegTokenInit SEQUENCE")
	}
	// mechTypes [0]
	var f, list cryptobyte.String
	if !seq.ReadASN1(&f, ctx(0)) {
		return errMalformed("NegTokenInit", "no mechTypes")
	}
	raw := append([]byte(nil), f...)
	if !f.ReadASN1(&list, cbasn1.SEQUENCE) || !f.Empty() {
		return errMalformed("NegTokenInit", "mechTypes is not a SEQUENCE")
	}
	for !list.Empty() {
		if len(t.MechTypes) == maxMechTypes {
			return errMalformed("NegTokenInit", "more than %d mechTypes", maxMechTypes)
		}
		var oid asn1.ObjectIdentifier
		if !list.ReadASN1ObjectIdentifier(&oid) {
			return errMalformed("NegTokenInit", "mechType %d is not an OID", len(t.MechTypes))
		}
		t.MechTypes = append(t.MechTypes, oid)
	}
	if len(t.MechTypes) == 0 {
		return errMalformed("NegTokenInit", "empty mechTypes")
	}
	t.mechTypesDER = raw
	// reqFlags [1]: skipped.
	if seq.PeekASN1Tag(ctx(1)) && !seq.SkipASN1(ctx(1)) {
		return errMalformed("NegTokenInit", "reqFlags")
	}
	if seq.PeekASN1Tag(ctx(2)) {
		if !readOctets(&seq, 2, &t.MechToken) {
			return errMalformed("NegTokenInit", "mechToken")
		}
	}
	if seq.PeekASN1Tag(ctx(3)) {
		// [3] is mechListMIC (an OCTET STRING), or negHints (a SEQUENCE) in
		// Microsoft's NegTokenInit2, which then has mechListMIC at [4].
		var g cryptobyte.String
		if !seq.ReadASN1(&g, ctx(3)) {
			return errMalformed("NegTokenInit", "[3]")
		}
		switch {
		case g.PeekASN1Tag(cbasn1.OCTET_STRING):
			var o cryptobyte.String
			if !g.ReadASN1(&o, cbasn1.OCTET_STRING) || !g.Empty() {
				return errMalformed("NegTokenInit", "mechListMIC")
			}
			t.MechListMIC = append([]byte{}, o...)
		case g.PeekASN1Tag(cbasn1.SEQUENCE):
			t.HasNegHints = true
		default:
			return errMalformed("NegTokenInit", "[3] is neither mechListMIC nor negHints")
		}
	}
	if t.HasNegHints && seq.PeekASN1Tag(ctx(4)) {
		if !readOctets(&seq, 4, &t.MechListMIC) {
			return errMalformed("NegTokenInit", "mechListMIC")
		}
	}
	if !seq.Empty() {
		return errMalformed("NegTokenInit", "%d bytes of unknown fields", len(seq))
	}
	return nil
}

func readOctets(s *cryptobyte.String, n uint8, v *[]byte) bool {
	var f, o cryptobyte.String
	if !s.ReadASN1(&f, ctx(n)) || !f.ReadASN1(&o, cbasn1.OCTET_STRING) || !f.Empty() {
		return false
	}
	*v = append([]byte{}, o...)
	return true
}

// NegState is NegTokenResp's negState (RFC 4178 4.2.2).
type NegState int

// The states.
const (
	AcceptCompleted  NegState = 0
	AcceptIncomplete NegState = 1
	Reject           NegState = 2
	RequestMIC       NegState = 3
	// NoState marks a NegTokenResp without negState (allowed after the first).
	NoState NegState = -1
)

func (s NegState) String() string {
	switch s {
	case AcceptCompleted:
		return "accept-completed"
	case AcceptIncomplete:
		return "accept-incomplete"
	case Reject:
		return "reject"
	case RequestMIC:
		return "request-mic"
	case NoState:
		return "none"
	}
	return fmt.Sprintf("negState %d", int(s))
}

// NegTokenResp (RFC 4178 4.2.2), as [1] of NegotiationToken, unwrapped:
//
//	NegTokenResp ::= SEQUENCE {
//	    negState       [0] ENUMERATED OPTIONAL,
//	    supportedMech  [1] MechType OPTIONAL,
//	    responseToken  [2] OCTET STRING OPTIONAL,
//	    mechListMIC    [3] OCTET STRING OPTIONAL }
type NegTokenResp struct {
	State         NegState // NoState when absent
	SupportedMech asn1.ObjectIdentifier
	ResponseToken []byte
	MechListMIC   []byte
}

// Marshal writes a1 len SEQUENCE {...}.
func (t *NegTokenResp) Marshal() ([]byte, error) {
	if t.State < NoState || t.State > RequestMIC {
		return nil, fmt.Errorf("spnego: negState %d", int(t.State))
	}
	var b cryptobyte.Builder
	b.AddASN1(ctx(1), func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			if t.State != NoState {
				b.AddASN1(ctx(0), func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.ENUM, func(b *cryptobyte.Builder) { b.AddUint8(uint8(t.State)) })
				})
			}
			if len(t.SupportedMech) > 0 {
				b.AddASN1(ctx(1), func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(t.SupportedMech) })
			}
			if len(t.ResponseToken) > 0 {
				b.AddASN1(ctx(2), func(b *cryptobyte.Builder) { b.AddASN1OctetString(t.ResponseToken) })
			}
			if len(t.MechListMIC) > 0 {
				b.AddASN1(ctx(3), func(b *cryptobyte.Builder) { b.AddASN1OctetString(t.MechListMIC) })
			}
		})
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("spnego: encode NegTokenResp: %w", err)
	}
	return out, nil
}

// Unmarshal reads a1 len SEQUENCE {...}.
func (t *NegTokenResp) Unmarshal(b []byte) error {
	*t = NegTokenResp{State: NoState}
	in := cryptobyte.String(b)
	var choice, seq cryptobyte.String
	if !in.ReadASN1(&choice, ctx(1)) || !in.Empty() || !choice.ReadASN1(&seq, cbasn1.SEQUENCE) || !choice.Empty() {
		return errMalformed("NegTokenResp", "not a [1] NegTokenResp SEQUENCE")
	}
	if seq.PeekASN1Tag(ctx(0)) {
		var f, e cryptobyte.String
		if !seq.ReadASN1(&f, ctx(0)) || !f.ReadASN1(&e, cbasn1.ENUM) || !f.Empty() || len(e) != 1 || e[0] > byte(RequestMIC) {
			return errMalformed("NegTokenResp", "negState")
		}
		t.State = NegState(e[0])
	}
	if seq.PeekASN1Tag(ctx(1)) {
		var f cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !seq.ReadASN1(&f, ctx(1)) || !f.ReadASN1ObjectIdentifier(&oid) || !f.Empty() {
			return errMalformed("NegTokenResp", "supportedMech")
		}
		t.SupportedMech = oid
	}
	if seq.PeekASN1Tag(ctx(2)) && !readOctets(&seq, 2, &t.ResponseToken) {
		return errMalformed("NegTokenResp", "responseToken")
	}
	if seq.PeekASN1Tag(ctx(3)) && !readOctets(&seq, 3, &t.MechListMIC) {
		return errMalformed("NegTokenResp", "mechListMIC")
	}
	if !seq.Empty() {
		return errMalformed("NegTokenResp", "%d bytes of unknown fields", len(seq))
	}
	return nil
}

// Offered tells whether oid is in the list.
func Offered(list []asn1.ObjectIdentifier, oid asn1.ObjectIdentifier) bool {
	return slices.ContainsFunc(list, oid.Equal)
}
