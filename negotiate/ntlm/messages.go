// Package ntlm implements NTLMv2 with extended session security (MS-NLMP),
// client and server side, as CredSSP carries it for RDP Network Level
// Authentication. NTLMv1 and LM are deliberately not supported.
package ntlm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"

	"github.com/rdpprobe/rdpprobe/internal/utf16le"
)

// ErrMalformed is wrapped by every parse error.
var ErrMalformed = errors.New("ntlm: malformed message")

func errMalformed(msg string, format string, a ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrMalformed, msg, fmt.Sprintf(format, a...))
}

var signature = []byte("NTLMSSP\x00")

// MessageType values (MS-NLMP 2.2.1).
const (
	typeNegotiate    = 1
	typeChallenge    = 2
	typeAuthenticate = 3
)

// Fixed header sizes (MS-NLMP 2.2.1.1-2.2.1.3).
const (
	negotiateHeaderLen       = 32 // without Version
	challengeHeaderLen       = 48 // without Version
	authenticateHeaderLen    = 64 // without Version and MIC
	versionLen               = 8
	micLen                   = 16
	micOffset                = authenticateHeaderLen + versionLen // 72
	authenticateHeaderMICLen = micOffset + micLen                 // 88
)

// NegotiateFlags is the NegotiateFlags field (MS-NLMP 2.2.2.5).
type NegotiateFlags uint32

// NegotiateFlags bits (MS-NLMP 2.2.2.5); the comment is the spec's name.
const (
	NegotiateUnicode                 NegotiateFlags = 0x00000001 // NTLMSSP_NEGOTIATE_UNICODE
	NegotiateOEM                     NegotiateFlags = 0x00000002 // NTLM_NEGOTIATE_OEM
	RequestTarget                    NegotiateFlags = 0x00000004 // NTLMSSP_REQUEST_TARGET
	NegotiateSign                    NegotiateFlags = 0x00000010 // NTLMSSP_NEGOTIATE_SIGN
	NegotiateSeal                    NegotiateFlags = 0x00000020 // NTLMSSP_NEGOTIATE_SEAL
	NegotiateDatagram                NegotiateFlags = 0x00000040 // NTLMSSP_NEGOTIATE_DATAGRAM
	NegotiateLMKey                   NegotiateFlags = 0x00000080 // NTLMSSP_NEGOTIATE_LM_KEY
	NegotiateNTLM                    NegotiateFlags = 0x00000200 // NTLMSSP_NEGOTIATE_NTLM
	NegotiateAnonymous               NegotiateFlags = 0x00000800 // J: anonymous connection
	NegotiateOEMDomainSupplied       NegotiateFlags = 0x00001000 // NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED
	NegotiateOEMWorkstationSupplied  NegotiateFlags = 0x00002000 // NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED
	NegotiateAlwaysSign              NegotiateFlags = 0x00008000 // NTLMSSP_NEGOTIATE_ALWAYS_SIGN
	TargetTypeDomain                 NegotiateFlags = 0x00010000 // NTLMSSP_TARGET_TYPE_DOMAIN
	TargetTypeServer                 NegotiateFlags = 0x00020000 // NTLMSSP_TARGET_TYPE_SERVER
	NegotiateExtendedSessionSecurity NegotiateFlags = 0x00080000 // NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY
	NegotiateIdentify                NegotiateFlags = 0x00100000 // NTLMSSP_NEGOTIATE_IDENTIFY
	RequestNonNTSessionKey           NegotiateFlags = 0x00400000 // NTLMSSP_REQUEST_NON_NT_SESSION_KEY
	NegotiateTargetInfo              NegotiateFlags = 0x00800000 // NTLMSSP_NEGOTIATE_TARGET_INFO
	NegotiateVersion                 NegotiateFlags = 0x02000000 // NTLMSSP_NEGOTIATE_VERSION
	Negotiate128                     NegotiateFlags = 0x20000000 // NTLMSSP_NEGOTIATE_128
	NegotiateKeyExch                 NegotiateFlags = 0x40000000 // NTLMSSP_NEGOTIATE_KEY_EXCH
	Negotiate56                      NegotiateFlags = 0x80000000 // NTLMSSP_NEGOTIATE_56
)

var flagNames = map[NegotiateFlags]string{
	NegotiateUnicode:                 "NTLMSSP_NEGOTIATE_UNICODE",
	NegotiateOEM:                     "NTLM_NEGOTIATE_OEM",
	RequestTarget:                    "NTLMSSP_REQUEST_TARGET",
	NegotiateSign:                    "NTLMSSP_NEGOTIATE_SIGN",
	NegotiateSeal:                    "NTLMSSP_NEGOTIATE_SEAL",
	NegotiateDatagram:                "NTLMSSP_NEGOTIATE_DATAGRAM",
	NegotiateLMKey:                   "NTLMSSP_NEGOTIATE_LM_KEY",
	NegotiateNTLM:                    "NTLMSSP_NEGOTIATE_NTLM",
	NegotiateAnonymous:               "NTLMSSP_ANONYMOUS",
	NegotiateOEMDomainSupplied:       "NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED",
	NegotiateOEMWorkstationSupplied:  "NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED",
	NegotiateAlwaysSign:              "NTLMSSP_NEGOTIATE_ALWAYS_SIGN",
	TargetTypeDomain:                 "NTLMSSP_TARGET_TYPE_DOMAIN",
	TargetTypeServer:                 "NTLMSSP_TARGET_TYPE_SERVER",
	NegotiateExtendedSessionSecurity: "NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY",
	NegotiateIdentify:                "NTLMSSP_NEGOTIATE_IDENTIFY",
	RequestNonNTSessionKey:           "NTLMSSP_REQUEST_NON_NT_SESSION_KEY",
	NegotiateTargetInfo:              "NTLMSSP_NEGOTIATE_TARGET_INFO",
	NegotiateVersion:                 "NTLMSSP_NEGOTIATE_VERSION",
	Negotiate128:                     "NTLMSSP_NEGOTIATE_128",
	NegotiateKeyExch:                 "NTLMSSP_NEGOTIATE_KEY_EXCH",
	Negotiate56:                      "NTLMSSP_NEGOTIATE_56",
}

// Has reports whether all bits of g are set in f.
func (f NegotiateFlags) Has(g NegotiateFlags) bool { return f&g == g }

// String lists the set bits by their spec names, lowest bit first, joined
// by "|"; reserved bits show as hex.
func (f NegotiateFlags) String() string {
	if f == 0 {
		return "0"
	}
	var parts []string
	for v := uint32(f); v != 0; v &= v - 1 {
		bit := NegotiateFlags(1) << bits.TrailingZeros32(v)
		if name, ok := flagNames[bit]; ok {
			parts = append(parts, name)
		} else {
			parts = append(parts, fmt.Sprintf("0x%08x", uint32(bit)))
		}
	}
	return strings.Join(parts, "|")
}

// Version is the VERSION structure (MS-NLMP 2.2.2.10).
type Version struct {
	Major, Minor uint8
	Build        uint16
	Revision     uint8 // NTLMRevisionCurrent, 15 today
}

// String is "major.minor.build", e.g. "10.0.17763".
func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Build) }

func (v *Version) marshal() []byte {
	b := make([]byte, versionLen)
	if v != nil {
		b[0], b[1] = v.Major, v.Minor
		binary.LittleEndian.PutUint16(b[2:], v.Build)
		b[7] = v.Revision
	}
	return b
}

func parseVersion(b []byte) *Version {
	return &Version{Major: b[0], Minor: b[1], Build: binary.LittleEndian.Uint16(b[2:]), Revision: b[7]}
}

// checkHeader checks Signature and MessageType (MS-NLMP 2.2.1).
func checkHeader(b []byte, msgType uint32, name string, minLen int) error {
	if len(b) < minLen {
		return errMalformed(name, "%d bytes, need at least %d", len(b), minLen)
	}
	if !bytes.Equal(b[:8], signature) {
		return errMalformed(name, "signature %q is not NTLMSSP", b[:8])
	}
	if t := binary.LittleEndian.Uint32(b[8:]); t != msgType {
		return errMalformed(name, "MessageType %d, want %d", t, msgType)
	}
	return nil
}

// fieldReader reads the Len/MaxLen/BufferOffset triples of a message
// (MS-NLMP 2.2.1.1) and remembers where the payload starts.
type fieldReader struct {
	b          []byte
	name       string
	minPayload int // lowest offset of a non-empty field; len(b) if none
}

func newFieldReader(b []byte, name string) *fieldReader {
	return &fieldReader{b: b, name: name, minPayload: len(b)}
}

// field returns the payload the fields at `at` point to; every offset and
// length is checked against the buffer.
func (r *fieldReader) field(at int, what string) ([]byte, error) {
	n := int(binary.LittleEndian.Uint16(r.b[at:]))
	off := uint64(binary.LittleEndian.Uint32(r.b[at+4:]))
	if n == 0 {
		return nil, nil
	}
	if off+uint64(n) > uint64(len(r.b)) {
		return nil, errMalformed(r.name, "%s: offset %d + length %d beyond message length %d", what, off, n, len(r.b))
	}
	if int(off) < r.minPayload {
		r.minPayload = int(off)
	}
	return r.b[off : int(off)+n], nil
}

// fieldWriter builds a header with Len/MaxLen/BufferOffset triples and the
// payload after it.
type fieldWriter struct{ b []byte }

func (w *fieldWriter) put(at int, v []byte) {
	if len(v) > 0xFFFF {
		v = v[:0xFFFF]
	}
	binary.LittleEndian.PutUint16(w.b[at:], uint16(len(v)))
	binary.LittleEndian.PutUint16(w.b[at+2:], uint16(len(v)))
	binary.LittleEndian.PutUint32(w.b[at+4:], uint32(len(w.b)))
	w.b = append(w.b, v...)
}

func newHeader(msgType uint32, n int) *fieldWriter {
	b := make([]byte, n, n+128)
	copy(b, signature)
	binary.LittleEndian.PutUint32(b[8:], msgType)
	return &fieldWriter{b: b}
}

func decodeString(b []byte, unicode bool) string {
	if unicode {
		return utf16le.Decode(b)
	}
	return string(b) // OEM code page: kept as bytes
}

func encodeString(s string, unicode bool) []byte {
	if unicode {
		return utf16le.Encode(s)
	}
	return []byte(s)
}

// NegotiateMessage is NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1).
type NegotiateMessage struct {
	Flags       NegotiateFlags
	Domain      string   // OEM, only with NegotiateOEMDomainSupplied
	Workstation string   // OEM, only with NegotiateOEMWorkstationSupplied
	Version     *Version // only with NegotiateVersion
}

// Marshal encodes the message; the Version field is written when
// NegotiateVersion is set and Version is not nil.
func (m *NegotiateMessage) Marshal() []byte {
	n := negotiateHeaderLen
	withVersion := m.Flags.Has(NegotiateVersion) && m.Version != nil
	if withVersion {
		n += versionLen
	}
	w := newHeader(typeNegotiate, n)
	binary.LittleEndian.PutUint32(w.b[12:], uint32(m.Flags))
	if withVersion {
		copy(w.b[negotiateHeaderLen:], m.Version.marshal())
	}
	var dom, ws []byte
	if m.Flags.Has(NegotiateOEMDomainSupplied) {
		dom = []byte(m.Domain)
	}
	if m.Flags.Has(NegotiateOEMWorkstationSupplied) {
		ws = []byte(m.Workstation)
	}
	w.put(16, dom)
	w.put(24, ws)
	return w.b
}

// Unmarshal parses a NEGOTIATE_MESSAGE.
func (m *NegotiateMessage) Unmarshal(b []byte) error {
	const name = "NEGOTIATE_MESSAGE"
	if err := checkHeader(b, typeNegotiate, name, negotiateHeaderLen); err != nil {
		return err
	}
	*m = NegotiateMessage{Flags: NegotiateFlags(binary.LittleEndian.Uint32(b[12:]))}
	r := newFieldReader(b, name)
	dom, err := r.field(16, "DomainNameFields")
	if err != nil {
		return err
	}
	ws, err := r.field(24, "WorkstationFields")
	if err != nil {
		return err
	}
	if m.Flags.Has(NegotiateOEMDomainSupplied) {
		m.Domain = string(dom)
	}
	if m.Flags.Has(NegotiateOEMWorkstationSupplied) {
		m.Workstation = string(ws)
	}
	if m.Flags.Has(NegotiateVersion) && len(b) >= negotiateHeaderLen+versionLen && r.minPayload >= negotiateHeaderLen+versionLen {
		m.Version = parseVersion(b[negotiateHeaderLen:])
	}
	return nil
}

// ChallengeMessage is CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2).
type ChallengeMessage struct {
	Flags           NegotiateFlags
	TargetName      string
	ServerChallenge [8]byte
	TargetInfo      TargetInfo
	Version         *Version
}

// Marshal encodes the message. TargetInfo.Raw is sent as is when set,
// otherwise the AV pairs are built from the TargetInfo fields. The Version
// field is written when NegotiateVersion is set and Version is not nil.
func (m *ChallengeMessage) Marshal() []byte {
	n := challengeHeaderLen
	withVersion := m.Flags.Has(NegotiateVersion) && m.Version != nil
	if withVersion {
		n += versionLen
	}
	w := newHeader(typeChallenge, n)
	binary.LittleEndian.PutUint32(w.b[20:], uint32(m.Flags))
	copy(w.b[24:32], m.ServerChallenge[:])
	if withVersion {
		copy(w.b[challengeHeaderLen:], m.Version.marshal())
	}
	w.put(12, encodeString(m.TargetName, m.Flags.Has(NegotiateUnicode)))
	ti := m.TargetInfo.Raw
	if ti == nil && !m.TargetInfo.empty() {
		ti = m.TargetInfo.AVPairs().Marshal()
	}
	w.put(40, ti)
	return w.b
}

// Unmarshal parses a CHALLENGE_MESSAGE. A 32-byte message without
// TargetInfoFields is accepted.
func (m *ChallengeMessage) Unmarshal(b []byte) error {
	const name = "CHALLENGE_MESSAGE"
	if err := checkHeader(b, typeChallenge, name, 32); err != nil {
		return err
	}
	*m = ChallengeMessage{Flags: NegotiateFlags(binary.LittleEndian.Uint32(b[20:]))}
	copy(m.ServerChallenge[:], b[24:32])
	r := newFieldReader(b, name)
	tn, err := r.field(12, "TargetNameFields")
	if err != nil {
		return err
	}
	m.TargetName = decodeString(tn, m.Flags.Has(NegotiateUnicode))
	if len(b) < challengeHeaderLen {
		return nil
	}
	ti, err := r.field(40, "TargetInfoFields")
	if err != nil {
		return err
	}
	if ti != nil {
		if m.TargetInfo, err = ParseTargetInfo(ti); err != nil {
			return err
		}
	}
	if m.Flags.Has(NegotiateVersion) && len(b) >= challengeHeaderLen+versionLen && r.minPayload >= challengeHeaderLen+versionLen {
		m.Version = parseVersion(b[challengeHeaderLen:])
	}
	return nil
}

// AuthenticateMessage is AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3).
type AuthenticateMessage struct {
	LmChallengeResponse       []byte
	NtChallengeResponse       []byte
	DomainName                string
	UserName                  string
	Workstation               string
	EncryptedRandomSessionKey []byte
	Flags                     NegotiateFlags
	Version                   *Version // nil if absent
	MIC                       []byte   // 16 bytes at offset 72, nil if the message has no MIC field
}

// Marshal encodes the message, always with the Version (zero when nil) and
// MIC (zero when nil) fields, so the payload starts at offset 88.
func (m *AuthenticateMessage) Marshal() []byte {
	w := newHeader(typeAuthenticate, authenticateHeaderMICLen)
	binary.LittleEndian.PutUint32(w.b[60:], uint32(m.Flags))
	copy(w.b[authenticateHeaderLen:], m.Version.marshal())
	copy(w.b[micOffset:authenticateHeaderMICLen], m.MIC)
	u := m.Flags.Has(NegotiateUnicode)
	// Payload order as Windows writes it.
	w.put(28, encodeString(m.DomainName, u))
	w.put(36, encodeString(m.UserName, u))
	w.put(44, encodeString(m.Workstation, u))
	w.put(12, m.LmChallengeResponse)
	w.put(20, m.NtChallengeResponse)
	w.put(52, m.EncryptedRandomSessionKey)
	return w.b
}

// Unmarshal parses an AUTHENTICATE_MESSAGE. Version and MIC are taken as
// present when the payload starts at or after their end (MS-NLMP 2.2.1.3).
func (m *AuthenticateMessage) Unmarshal(b []byte) error {
	const name = "AUTHENTICATE_MESSAGE"
	if err := checkHeader(b, typeAuthenticate, name, authenticateHeaderLen); err != nil {
		return err
	}
	*m = AuthenticateMessage{Flags: NegotiateFlags(binary.LittleEndian.Uint32(b[60:]))}
	r := newFieldReader(b, name)
	var raw [6][]byte
	for i, f := range []struct {
		at   int
		what string
	}{{12, "LmChallengeResponseFields"}, {20, "NtChallengeResponseFields"}, {28, "DomainNameFields"},
		{36, "UserNameFields"}, {44, "WorkstationFields"}, {52, "EncryptedRandomSessionKeyFields"}} {
		v, err := r.field(f.at, f.what)
		if err != nil {
			return err
		}
		raw[i] = v
	}
	u := m.Flags.Has(NegotiateUnicode)
	m.LmChallengeResponse = slices.Clone(raw[0])
	m.NtChallengeResponse = slices.Clone(raw[1])
	m.DomainName = decodeString(raw[2], u)
	m.UserName = decodeString(raw[3], u)
	m.Workstation = decodeString(raw[4], u)
	m.EncryptedRandomSessionKey = slices.Clone(raw[5])
	if len(b) >= micOffset && r.minPayload >= micOffset && m.Flags.Has(NegotiateVersion) {
		m.Version = parseVersion(b[authenticateHeaderLen:])
	}
	if len(b) >= authenticateHeaderMICLen && r.minPayload >= authenticateHeaderMICLen {
		m.MIC = slices.Clone(b[micOffset:authenticateHeaderMICLen])
	}
	return nil
}
