package negotiate

import (
	"encoding/binary"
	"fmt"
)

// Licensing PDUs (MS-RDPBCGR 2.2.1.12, MS-RDPELE 2.2.2). They travel in
// MCS Send Data Indications after a security header with SEC_LICENSE_PKT;
// under TLS/CredSSP that header is the 4-byte Basic Security Header and
// the licensing message is not encrypted (MS-RDPBCGR 2.2.1.12, 5.4).

// LicenseMsgType is LICENSE_PREAMBLE.bMsgType (MS-RDPBCGR 2.2.1.12.1.1).
type LicenseMsgType uint8

const (
	LicenseRequestMsg            LicenseMsgType = 0x01 // LICENSE_REQUEST
	PlatformChallengeMsg         LicenseMsgType = 0x02 // PLATFORM_CHALLENGE
	NewLicenseMsg                LicenseMsgType = 0x03 // NEW_LICENSE
	UpgradeLicenseMsg            LicenseMsgType = 0x04 // UPGRADE_LICENSE
	LicenseInfoMsg               LicenseMsgType = 0x12 // LICENSE_INFO
	NewLicenseRequestMsg         LicenseMsgType = 0x13 // NEW_LICENSE_REQUEST
	PlatformChallengeResponseMsg LicenseMsgType = 0x15 // PLATFORM_CHALLENGE_RESPONSE
	ErrorAlertMsg                LicenseMsgType = 0xFF // ERROR_ALERT
)

var licenseMsgTypeNames = map[LicenseMsgType]string{
	LicenseRequestMsg: "LICENSE_REQUEST", PlatformChallengeMsg: "PLATFORM_CHALLENGE",
	NewLicenseMsg: "NEW_LICENSE", UpgradeLicenseMsg: "UPGRADE_LICENSE", LicenseInfoMsg: "LICENSE_INFO",
	NewLicenseRequestMsg: "NEW_LICENSE_REQUEST", PlatformChallengeResponseMsg: "PLATFORM_CHALLENGE_RESPONSE",
	ErrorAlertMsg: "ERROR_ALERT",
}

// String returns the spec name, or LICENSE_MSG_0x%02X.
func (t LicenseMsgType) String() string {
	if n, ok := licenseMsgTypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("LICENSE_MSG_0x%02X", uint8(t))
}

// LICENSE_PREAMBLE.flags (MS-RDPBCGR 2.2.1.12.1.1).
const (
	LicenseProtocolVersionMask = 0x0F
	PreambleVersion2           = 0x02 // PREAMBLE_VERSION_2_0: RDP 4.0
	PreambleVersion3           = 0x03 // PREAMBLE_VERSION_3_0: RDP 5.0 and later
	ExtendedErrorMsgSupported  = 0x80 // EXTENDED_ERROR_MSG_SUPPORTED
)

const licensePreambleLen = 4

// LicensePreamble is LICENSE_PREAMBLE (MS-RDPBCGR 2.2.1.12.1.1). Size is
// wMsgSize: the whole licensing message, preamble included.
type LicensePreamble struct {
	MsgType LicenseMsgType
	Flags   uint8
	Size    uint16
}

// ParseLicensePreamble reads the preamble of a licensing message and
// returns the message body. wMsgSize must match len(b) exactly.
func ParseLicensePreamble(b []byte) (LicensePreamble, []byte, error) {
	if len(b) < licensePreambleLen {
		return LicensePreamble{}, nil, fmt.Errorf("license: %w: %d bytes, want a 4-byte LICENSE_PREAMBLE", ErrMalformed, len(b))
	}
	p := LicensePreamble{MsgType: LicenseMsgType(b[0]), Flags: b[1], Size: binary.LittleEndian.Uint16(b[2:])}
	if int(p.Size) != len(b) {
		return p, nil, fmt.Errorf("license: %w: %s wMsgSize %d in %d bytes", ErrMalformed, p.MsgType, p.Size, len(b))
	}
	return p, b[licensePreambleLen:], nil
}

// LicenseErrorCode is LICENSE_ERROR_MESSAGE.dwErrorCode (MS-RDPBCGR
// 2.2.1.12.1.3).
type LicenseErrorCode uint32

const (
	ErrInvalidServerCertificate LicenseErrorCode = 0x00000001 // ERR_INVALID_SERVER_CERTIFICATE (client)
	ErrNoLicense                LicenseErrorCode = 0x00000002 // ERR_NO_LICENSE (client)
	ErrInvalidMAC               LicenseErrorCode = 0x00000003 // ERR_INVALID_MAC
	ErrInvalidScope             LicenseErrorCode = 0x00000004 // ERR_INVALID_SCOPE
	ErrNoLicenseServer          LicenseErrorCode = 0x00000006 // ERR_NO_LICENSE_SERVER
	StatusValidClient           LicenseErrorCode = 0x00000007 // STATUS_VALID_CLIENT
	ErrInvalidClient            LicenseErrorCode = 0x00000008 // ERR_INVALID_CLIENT
	ErrInvalidProductID         LicenseErrorCode = 0x0000000B // ERR_INVALID_PRODUCTID
	ErrInvalidMessageLen        LicenseErrorCode = 0x0000000C // ERR_INVALID_MESSAGE_LEN
)

var licenseErrorNames = map[LicenseErrorCode]string{
	ErrInvalidServerCertificate: "ERR_INVALID_SERVER_CERTIFICATE", ErrNoLicense: "ERR_NO_LICENSE",
	ErrInvalidMAC: "ERR_INVALID_MAC", ErrInvalidScope: "ERR_INVALID_SCOPE",
	ErrNoLicenseServer: "ERR_NO_LICENSE_SERVER", StatusValidClient: "STATUS_VALID_CLIENT",
	ErrInvalidClient: "ERR_INVALID_CLIENT", ErrInvalidProductID: "ERR_INVALID_PRODUCTID",
	ErrInvalidMessageLen: "ERR_INVALID_MESSAGE_LEN",
}

// String returns the spec name, or LICENSE_ERROR_0x%08X.
func (c LicenseErrorCode) String() string {
	if n, ok := licenseErrorNames[c]; ok {
		return n
	}
	return fmt.Sprintf("LICENSE_ERROR_0x%08X", uint32(c))
}

// LicenseStateTransition is LICENSE_ERROR_MESSAGE.dwStateTransition
// (MS-RDPBCGR 2.2.1.12.1.3, MS-RDPELE 3.1.5.3).
type LicenseStateTransition uint32

const (
	StTotalAbort         LicenseStateTransition = 1 // ST_TOTAL_ABORT
	StNoTransition       LicenseStateTransition = 2 // ST_NO_TRANSITION
	StResetPhaseToStart  LicenseStateTransition = 3 // ST_RESET_PHASE_TO_START
	StResendLastMessage  LicenseStateTransition = 4 // ST_RESEND_LAST_MESSAGE
	maxStateTransitionID                        = 4
)

var stateTransitionNames = [...]string{"", "ST_TOTAL_ABORT", "ST_NO_TRANSITION", "ST_RESET_PHASE_TO_START", "ST_RESEND_LAST_MESSAGE"}

// String returns the spec name, or ST_0x%08X.
func (s LicenseStateTransition) String() string {
	if s >= 1 && s <= maxStateTransitionID {
		return stateTransitionNames[s]
	}
	return fmt.Sprintf("ST_0x%08X", uint32(s))
}

// LICENSE_BINARY_BLOB types (MS-RDPBCGR 2.2.1.12.1.2).
const (
	BBDataBlob    uint16 = 0x0001 // BB_DATA_BLOB
	BBRandomBlob  uint16 = 0x0002 // BB_RANDOM_BLOB
	BBCertBlob    uint16 = 0x0003 // BB_CERTIFICATE_BLOB
	BBErrorBlob   uint16 = 0x0004 // BB_ERROR_BLOB
	BBEncDataBlob uint16 = 0x0009 // BB_ENCRYPTED_DATA_BLOB
	BBKeyExchBlob uint16 = 0x000D // BB_KEY_EXCHG_ALG_BLOB
	BBScopeBlob   uint16 = 0x000E // BB_SCOPE_BLOB
)

// LicenseBinaryBlob is LICENSE_BINARY_BLOB (MS-RDPBCGR 2.2.1.12.1.2).
type LicenseBinaryBlob struct {
	Type uint16
	Data []byte
}

func (b *LicenseBinaryBlob) append(dst []byte) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, b.Type)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(b.Data)))
	return append(dst, b.Data...)
}

func readBlob(r *leReader, what string) LicenseBinaryBlob {
	t := r.u16()
	n := r.u16()
	return LicenseBinaryBlob{Type: t, Data: r.bytes(int(n), what)}
}

// LicenseErrorMessage is LICENSE_ERROR_MESSAGE (MS-RDPBCGR 2.2.1.12.1.3).
// STATUS_VALID_CLIENT with ST_NO_TRANSITION is the Valid Client message
// that ends licensing successfully (2.2.1.12.1).
type LicenseErrorMessage struct {
	ErrorCode       LicenseErrorCode
	StateTransition LicenseStateTransition
	ErrorInfo       LicenseBinaryBlob // bbErrorInfo, normally BB_ERROR_BLOB, often empty
}

// ValidClient reports whether m is the Valid Client message: licensing is
// done and the server will not issue a licence.
func (m *LicenseErrorMessage) ValidClient() bool {
	return m.ErrorCode == StatusValidClient && m.StateTransition == StNoTransition
}

// Error makes a licensing error usable as a Go error; it names the code
// and state transition.
func (m *LicenseErrorMessage) Error() string {
	return fmt.Sprintf("license: server sent %s (%d), %s", m.ErrorCode, uint32(m.ErrorCode), m.StateTransition)
}

// Marshal returns the whole licensing message, LICENSE_PREAMBLE included
// (type ERROR_ALERT, flags PREAMBLE_VERSION_3_0).
func (m *LicenseErrorMessage) Marshal() []byte {
	b := []byte{byte(ErrorAlertMsg), PreambleVersion3, 0, 0}
	b = binary.LittleEndian.AppendUint32(b, uint32(m.ErrorCode))
	b = binary.LittleEndian.AppendUint32(b, uint32(m.StateTransition))
	b = m.ErrorInfo.append(b)
	binary.LittleEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

// Unmarshal parses a whole licensing message (preamble included) that must
// be an ERROR_ALERT. ErrorInfo.Data aliases b.
func (m *LicenseErrorMessage) Unmarshal(b []byte) error {
	*m = LicenseErrorMessage{}
	p, body, err := ParseLicensePreamble(b)
	if err != nil {
		return err
	}
	if p.MsgType != ErrorAlertMsg {
		return fmt.Errorf("license: %w: %s, want ERROR_ALERT", ErrMalformed, p.MsgType)
	}
	r := leReader{b: body}
	m.ErrorCode = LicenseErrorCode(r.u32())
	m.StateTransition = LicenseStateTransition(r.u32())
	m.ErrorInfo = readBlob(&r, "bbErrorInfo")
	return r.done("license", "LICENSE_ERROR_MESSAGE")
}

// LicenseRequest is the start of SERVER_LICENSE_REQUEST (MS-RDPELE
// 2.2.2.1): the server random and its product information. Seeing one
// means the server wants a real licence exchange, which rdpprobe does not
// carry out; the key exchange list, certificate and scopes are not parsed.
type LicenseRequest struct {
	ServerRandom [32]byte
	Version      uint32 // ProductInfo.dwVersion
	CompanyName  string // ProductInfo.pbCompanyName, UTF-16LE
	ProductID    string // ProductInfo.pbProductId, UTF-16LE
}

// Unmarshal parses a whole licensing message (preamble included) that must
// be a LICENSE_REQUEST.
func (m *LicenseRequest) Unmarshal(b []byte) error {
	*m = LicenseRequest{}
	p, body, err := ParseLicensePreamble(b)
	if err != nil {
		return err
	}
	if p.MsgType != LicenseRequestMsg {
		return fmt.Errorf("license: %w: %s, want LICENSE_REQUEST", ErrMalformed, p.MsgType)
	}
	r := leReader{b: body}
	copy(m.ServerRandom[:], r.bytes(32, "ServerRandom"))
	m.Version = r.u32()
	m.CompanyName = fromUTF16Z(r.bytes(int(r.u32()), "pbCompanyName"))
	m.ProductID = fromUTF16Z(r.bytes(int(r.u32()), "pbProductId"))
	if r.err != nil {
		return fmt.Errorf("license: %w: LICENSE_REQUEST: %s", ErrMalformed, r.err)
	}
	return nil
}

// Marshal returns a LICENSE_REQUEST with the product information and empty
// key exchange list, certificate and scope list (for tests and fakes).
func (m *LicenseRequest) Marshal() []byte {
	b := []byte{byte(LicenseRequestMsg), PreambleVersion3, 0, 0}
	b = append(b, m.ServerRandom[:]...)
	b = binary.LittleEndian.AppendUint32(b, m.Version)
	for _, s := range []string{m.CompanyName, m.ProductID} {
		u := append(utf16LE(s), 0, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(u)))
		b = append(b, u...)
	}
	b = (&LicenseBinaryBlob{Type: BBKeyExchBlob}).append(b)
	b = (&LicenseBinaryBlob{Type: BBCertBlob}).append(b)
	b = binary.LittleEndian.AppendUint32(b, 0) // ScopeCount
	binary.LittleEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

// leReader reads little-endian fields; a short read records err and
// yields zeros, so a parser checks once at the end.
type leReader struct {
	b   []byte
	err error
}

func (r *leReader) need(n int, what string) bool {
	if r.err != nil {
		return false
	}
	if n < 0 || n > len(r.b) {
		r.err = fmt.Errorf("%s: need %d bytes, %d left", what, n, len(r.b))
		return false
	}
	return true
}

func (r *leReader) u8() uint8 {
	if !r.need(1, "u8") {
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *leReader) u16() uint16 {
	if !r.need(2, "u16") {
		return 0
	}
	v := binary.LittleEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *leReader) u32() uint32 {
	if !r.need(4, "u32") {
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *leReader) bytes(n int, what string) []byte {
	if !r.need(n, what) {
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// done returns the first short read, or an error for trailing bytes.
func (r *leReader) done(layer, what string) error {
	if r.err != nil {
		return fmt.Errorf("%s: %w: %s: %s", layer, ErrMalformed, what, r.err)
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%s: %w: %d trailing bytes after %s", layer, ErrMalformed, len(r.b), what)
	}
	return nil
}
