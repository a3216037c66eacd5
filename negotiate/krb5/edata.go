package krb5

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/rdpprobe/rdpprobe/negotiate"
)

// PA-DATA types this package reads or sends (RFC 4120 7.5.2, IANA).
const (
	PATGSReq       int32 = 1
	PAEncTimestamp int32 = 2
	PAPWSalt       int32 = 3 // Windows puts its KERB-EXT-ERROR here (MS-KILE 2.2.2)
	PAETypeInfo    int32 = 11
	PAETypeInfo2   int32 = 19
)

// KERB_ERR_TYPE_EXTENDED is the data-type of a KERB-ERROR-DATA whose value is
// a KERB-EXT-ERROR (MS-KILE 2.2.1).
const kerbErrTypeExtended = 3

// Caps on what e-data may hold: a count is a claim too.
const (
	maxEDataEntries = 64
	maxETypeInfo    = 32
	maxSalt         = 1024
)

// PAData is one PA-DATA (RFC 4120 5.2.7) or TYPED-DATA entry (5.9.1).
type PAData struct {
	Type  int32
	Value []byte
}

// ETypeInfo2Entry is one ETYPE-INFO2-ENTRY (RFC 4120 5.2.7.5): what the KDC
// tells the client to derive its key with.
type ETypeInfo2Entry struct {
	EType     int32
	Salt      string
	HasSalt   bool
	S2KParams []byte
}

// ExtendedError is the KERB-EXT-ERROR of MS-KILE 2.2.2: the NTSTATUS behind
// a KRB-ERROR from a Windows KDC (STATUS_ACCOUNT_LOCKED_OUT behind
// KDC_ERR_CLIENT_REVOKED, say).
type ExtendedError struct {
	Status   negotiate.NTStatus
	Reserved uint32
	Flags    uint32
}

// EData is the decoded e-data of a KRB-ERROR. It is one of three forms:
// METHOD-DATA (a SEQUENCE OF PA-DATA, RFC 4120 5.9.1: what MIT and Windows
// send with KDC_ERR_PREAUTH_REQUIRED, and Windows with a PA-PW-SALT holding
// the NTSTATUS), TYPED-DATA (a SEQUENCE OF SEQUENCE {data-type [0],
// data-value [1]}), or KERB-ERROR-DATA (MS-KILE 2.2.1: SEQUENCE {data-type
// [1], data-value [2]}, with KERB_ERR_TYPE_EXTENDED carrying a
// KERB-EXT-ERROR).
type EData struct {
	Form       string // "METHOD-DATA", "TYPED-DATA", "KERB-ERROR-DATA", or "" when it did not parse
	PAData     []PAData
	TypedData  []PAData
	Extended   *ExtendedError
	ETypeInfo2 []ETypeInfo2Entry
	Raw        []byte // the e-data as sent, when it did not parse
}

// ParseEData decodes the e-data octets of a KRB-ERROR.
func ParseEData(b []byte) (ed *EData, err error) {
	defer recoverMalformed("e-data", &err)
	in := cryptobyte.String(b)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, errMalformed("e-data", "not one DER SEQUENCE")
	}
	ed = &EData{}
	switch {
	case seq.PeekASN1Tag(ctxTag(1)):
		ed.Form = "KERB-ERROR-DATA"
		var typ int64
		var val []byte
		if !readExplicitInt(&seq, 1, &typ) || !readOptionalOctets(&seq, 2, &val) || !seq.Empty() {
			return nil, errMalformed("e-data", "KERB-ERROR-DATA")
		}
		ed.TypedData = []PAData{{Type: int32(typ), Value: val}}
		if typ == kerbErrTypeExtended {
			ed.Extended = parseExtError(val)
		}
	case seq.Empty() || seq.PeekASN1Tag(cbasn1.SEQUENCE):
		for n := 0; !seq.Empty(); n++ {
			if n == maxEDataEntries {
				return nil, errMalformed("e-data", "more than %d entries", maxEDataEntries)
			}
			var entry cryptobyte.String
			if !seq.ReadASN1(&entry, cbasn1.SEQUENCE) {
				return nil, errMalformed("e-data", "entry %d is not a SEQUENCE", n)
			}
			var typ int64
			var val []byte
			switch {
			case entry.PeekASN1Tag(ctxTag(1)): // PA-DATA: padata-type [1], padata-value [2]
				if ed.Form == "TYPED-DATA" || !readExplicitInt(&entry, 1, &typ) || !readOptionalOctets(&entry, 2, &val) || !entry.Empty() {
					return nil, errMalformed("e-data", "PA-DATA %d", n)
				}
				ed.Form = "METHOD-DATA"
				ed.PAData = append(ed.PAData, PAData{Type: int32(typ), Value: val})
			case entry.PeekASN1Tag(ctxTag(0)): // TYPED-DATA: data-type [0], data-value [1]
				if ed.Form == "METHOD-DATA" || !readExplicitInt(&entry, 0, &typ) || !readOptionalOctets(&entry, 1, &val) || !entry.Empty() {
					return nil, errMalformed("e-data", "TYPED-DATA %d", n)
				}
				ed.Form = "TYPED-DATA"
				ed.TypedData = append(ed.TypedData, PAData{Type: int32(typ), Value: val})
			default:
				return nil, errMalformed("e-data", "entry %d is neither PA-DATA nor TYPED-DATA", n)
			}
		}
		if ed.Form == "" {
			ed.Form = "METHOD-DATA"
		}
		for _, pa := range ed.PAData {
			switch pa.Type {
			case PAETypeInfo2:
				if ed.ETypeInfo2 == nil {
					info, err := ParseETypeInfo2(pa.Value)
					if err != nil {
						return nil, err
					}
					ed.ETypeInfo2 = info
				}
			case PAPWSalt:
				// Windows: the 12 octets of a KERB-EXT-ERROR, not a salt.
				if x := parseExtError(pa.Value); x != nil && ed.Extended == nil {
					ed.Extended = x
				}
			}
		}
	default:
		return nil, errMalformed("e-data", "unknown form")
	}
	return ed, nil
}

// parseExtError reads a KERB-EXT-ERROR (MS-KILE 2.2.2): status, reserved and
// flags, 4 octets each, little-endian. Anything else is not one; nor is a
// status without the error or warning severity bits (a real salt, say).
func parseExtError(b []byte) *ExtendedError {
	if len(b) != 12 {
		return nil
	}
	st := binary.LittleEndian.Uint32(b)
	if st&0xC0000000 == 0 {
		return nil
	}
	return &ExtendedError{Status: negotiate.NTStatus(st), Reserved: binary.LittleEndian.Uint32(b[4:]), Flags: binary.LittleEndian.Uint32(b[8:])}
}

// ParseETypeInfo2 reads ETYPE-INFO2 (RFC 4120 5.2.7.5).
func ParseETypeInfo2(b []byte) (out []ETypeInfo2Entry, err error) {
	defer recoverMalformed("ETYPE-INFO2", &err)
	in := cryptobyte.String(b)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, errMalformed("ETYPE-INFO2", "not one DER SEQUENCE")
	}
	for n := 0; !seq.Empty(); n++ {
		if n == maxETypeInfo {
			return nil, errMalformed("ETYPE-INFO2", "more than %d entries", maxETypeInfo)
		}
		var e cryptobyte.String
		var et int64
		if !seq.ReadASN1(&e, cbasn1.SEQUENCE) || !readExplicitInt(&e, 0, &et) {
			return nil, errMalformed("ETYPE-INFO2", "entry %d", n)
		}
		entry := ETypeInfo2Entry{EType: int32(et)}
		if e.PeekASN1Tag(ctxTag(1)) {
			var f, s cryptobyte.String
			if !e.ReadASN1(&f, ctxTag(1)) || !f.ReadASN1(&s, cbasn1.Tag(27)) || !f.Empty() { // GeneralString
				return nil, errMalformed("ETYPE-INFO2", "entry %d salt", n)
			}
			if len(s) > maxSalt {
				return nil, errMalformed("ETYPE-INFO2", "salt of %d bytes", len(s))
			}
			entry.Salt, entry.HasSalt = string(s), true
		}
		if !readOptionalOctets(&e, 2, &entry.S2KParams) || !e.Empty() {
			return nil, errMalformed("ETYPE-INFO2", "entry %d s2kparams", n)
		}
		if et != int64(int32(et)) {
			return nil, errMalformed("ETYPE-INFO2", "etype %d out of range", et)
		}
		out = append(out, entry)
	}
	return out, nil
}

func ctxTag(n uint8) cbasn1.Tag { return cbasn1.Tag(n).ContextSpecific().Constructed() }

func readExplicitInt(s *cryptobyte.String, n uint8, v *int64) bool {
	var f cryptobyte.String
	return s.ReadASN1(&f, ctxTag(n)) && f.ReadASN1Integer(v) && f.Empty() && *v >= -1<<31 && *v < 1<<32
}

func readOptionalOctets(s *cryptobyte.String, n uint8, v *[]byte) bool {
	if !s.PeekASN1Tag(ctxTag(n)) {
		return true
	}
	var f, o cryptobyte.String
	if !s.ReadASN1(&f, ctxTag(n)) || !f.ReadASN1(&o, cbasn1.OCTET_STRING) || !f.Empty() {
		return false
	}
	*v = append([]byte{}, o...)
	return true
}

// marshalExtErrorMethodData builds what a Windows KDC sends as e-data with
// an NTSTATUS: METHOD-DATA with one PA-PW-SALT holding a KERB-EXT-ERROR. For
// tests and for the acceptor, which answers like Windows.
func marshalExtErrorMethodData(st negotiate.NTStatus) []byte {
	v := binary.LittleEndian.AppendUint32(nil, uint32(st))
	v = binary.LittleEndian.AppendUint32(v, 0)
	v = binary.LittleEndian.AppendUint32(v, 1)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(ctxTag(1), func(b *cryptobyte.Builder) { b.AddASN1Int64(int64(PAPWSalt)) })
			b.AddASN1(ctxTag(2), func(b *cryptobyte.Builder) { b.AddASN1OctetString(v) })
		})
	})
	return b.BytesOrPanic()
}

// marshalKerbErrorData builds a KERB-ERROR-DATA with a KERB-EXT-ERROR
// (MS-KILE 2.2.1), the form Windows uses in AP and TGS errors.
func marshalKerbErrorData(st negotiate.NTStatus) []byte {
	v := binary.LittleEndian.AppendUint32(nil, uint32(st))
	v = binary.LittleEndian.AppendUint32(v, 0)
	v = binary.LittleEndian.AppendUint32(v, 1)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(ctxTag(1), func(b *cryptobyte.Builder) { b.AddASN1Int64(kerbErrTypeExtended) })
		b.AddASN1(ctxTag(2), func(b *cryptobyte.Builder) { b.AddASN1OctetString(v) })
	})
	return b.BytesOrPanic()
}

func (x *ExtendedError) String() string {
	return fmt.Sprintf("%s (flags %#x)", x.Status, x.Flags)
}
