package negotiate

import (
	"crypto/rsa"
	"encoding/binary"
	"fmt"

	"github.com/rdpprobe/rdpprobe/internal/utf16le"
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
	return specName(licenseMsgTypeNames, t, "LICENSE_MSG_0x%02X")
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
	return specName(licenseErrorNames, c, "LICENSE_ERROR_0x%08X")
}

// LicenseStateTransition is LICENSE_ERROR_MESSAGE.dwStateTransition
// (MS-RDPBCGR 2.2.1.12.1.3, MS-RDPELE 3.1.5.3).
type LicenseStateTransition uint32

const (
	StTotalAbort        LicenseStateTransition = 1 // ST_TOTAL_ABORT
	StNoTransition      LicenseStateTransition = 2 // ST_NO_TRANSITION
	StResetPhaseToStart LicenseStateTransition = 3 // ST_RESET_PHASE_TO_START
	StResendLastMessage LicenseStateTransition = 4 // ST_RESEND_LAST_MESSAGE
)

var stateTransitionNames = map[LicenseStateTransition]string{
	StTotalAbort:        "ST_TOTAL_ABORT",
	StNoTransition:      "ST_NO_TRANSITION",
	StResetPhaseToStart: "ST_RESET_PHASE_TO_START",
	StResendLastMessage: "ST_RESEND_LAST_MESSAGE",
}

// String returns the spec name, or ST_0x%08X.
func (s LicenseStateTransition) String() string {
	return specName(stateTransitionNames, s, "ST_0x%08X")
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

// LicenseRequest is SERVER_LICENSE_REQUEST (MS-RDPELE 2.2.2.1): the
// server random, its product information, the key exchange algorithms it
// supports, its certificate and the licence scopes. Certificate is kept
// raw (it may be empty when the certificate came in TS_UD_SC_SEC1);
// ServerCertificate parses it.
type LicenseRequest struct {
	ServerRandom    [32]byte
	Version         uint32   // ProductInfo.dwVersion
	CompanyName     string   // ProductInfo.pbCompanyName, UTF-16LE
	ProductID       string   // ProductInfo.pbProductId, UTF-16LE
	KeyExchangeAlgs []uint32 // KeyExchangeList (BB_KEY_EXCHG_ALG_BLOB)
	Certificate     []byte   // ServerCertificate (BB_CERTIFICATE_BLOB): SERVER_CERTIFICATE
	Scopes          []string // ScopeList: each BB_SCOPE_BLOB's ANSI string
}

// maxScopes bounds ScopeCount beyond what the message's length allows.
const maxScopes = 64

// Unmarshal parses a whole licensing message (preamble included) that must
// be a LICENSE_REQUEST. Certificate aliases b.
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
	kx := readBlob(&r, "KeyExchangeList")
	if r.err == nil && len(kx.Data)%4 != 0 {
		return fmt.Errorf("license: %w: LICENSE_REQUEST KeyExchangeList of %d bytes", ErrMalformed, len(kx.Data))
	}
	for i := 0; i+4 <= len(kx.Data); i += 4 {
		m.KeyExchangeAlgs = append(m.KeyExchangeAlgs, binary.LittleEndian.Uint32(kx.Data[i:]))
	}
	if c := readBlob(&r, "ServerCertificate").Data; len(c) > 0 {
		m.Certificate = c
	}
	n := r.u32()
	if r.err == nil && n > maxScopes {
		return fmt.Errorf("license: %w: LICENSE_REQUEST ScopeCount %d", ErrMalformed, n)
	}
	for i := uint32(0); i < n && r.err == nil; i++ {
		m.Scopes = append(m.Scopes, ansiZ(readBlob(&r, "ScopeList").Data))
	}
	return r.done("license", "LICENSE_REQUEST")
}

// ServerCertificate parses Certificate; it is nil, without error, when the
// server sent none.
func (m *LicenseRequest) ServerCertificate() (*ServerCertificate, error) {
	if len(m.Certificate) == 0 {
		return nil, nil
	}
	c := &ServerCertificate{}
	if err := c.Unmarshal(m.Certificate); err != nil {
		return nil, err
	}
	return c, nil
}

// Marshal returns the whole LICENSE_REQUEST (for tests and fakes).
func (m *LicenseRequest) Marshal() []byte {
	b := []byte{byte(LicenseRequestMsg), PreambleVersion3, 0, 0}
	b = append(b, m.ServerRandom[:]...)
	b = binary.LittleEndian.AppendUint32(b, m.Version)
	for _, s := range []string{m.CompanyName, m.ProductID} {
		u := append(utf16le.Encode(s), 0, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(u)))
		b = append(b, u...)
	}
	var kx []byte
	for _, a := range m.KeyExchangeAlgs {
		kx = binary.LittleEndian.AppendUint32(kx, a)
	}
	b = (&LicenseBinaryBlob{Type: BBKeyExchBlob, Data: kx}).append(b)
	b = (&LicenseBinaryBlob{Type: BBCertBlob, Data: m.Certificate}).append(b)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(m.Scopes)))
	for _, s := range m.Scopes {
		b = (&LicenseBinaryBlob{Type: BBScopeBlob, Data: append([]byte(s), 0)}).append(b)
	}
	binary.LittleEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

// CLIENT_NEW_LICENSE_REQUEST.PlatformId (MS-RDPELE 2.2.2.2): an operating
// system ID in the high byte, an image ID in the next.
const (
	ClientOSIDWinNTPost52  uint32 = 0x04000000 // CLIENT_OS_ID_WINNT_POST_52
	ClientImageIDMicrosoft uint32 = 0x00010000 // CLIENT_IMAGE_ID_MICROSOFT
	// DefaultPlatformID is what current Windows and FreeRDP clients send.
	DefaultPlatformID = ClientOSIDWinNTPost52 | ClientImageIDMicrosoft

	// LicensePremasterSecretLen is the PreMasterSecret's size (MS-RDPELE
	// 2.2.2.2, 5.1.2).
	LicensePremasterSecretLen = 48
)

// LICENSE_BINARY_BLOB types of the client's licensing messages (MS-RDPBCGR
// 2.2.1.12.1.2).
const (
	BBClientUserNameBlob    uint16 = 0x000F // BB_CLIENT_USER_NAME_BLOB
	BBClientMachineNameBlob uint16 = 0x0010 // BB_CLIENT_MACHINE_NAME_BLOB
)

// NewLicenseRequest is CLIENT_NEW_LICENSE_REQUEST (MS-RDPELE 2.2.2.2),
// the client's answer to a LICENSE_REQUEST when it holds no licence. The
// names are ANSI strings, sent NUL-terminated. It carries no password.
type NewLicenseRequest struct {
	KeyExchangeAlg           uint32 // PreferredKeyExchangeAlg: KEY_EXCHANGE_ALG_RSA
	PlatformID               uint32
	ClientRandom             [32]byte
	EncryptedPremasterSecret []byte // BB_RANDOM_BLOB: EncryptLE of the 48-byte PreMasterSecret
	UserName                 string // BB_CLIENT_USER_NAME_BLOB
	MachineName              string // BB_CLIENT_MACHINE_NAME_BLOB
}

// NewLicenseRequestFor builds the client's NEW_LICENSE_REQUEST to a server
// whose key is pub (modLen as for EncryptLE), with the given random (32
// bytes) and premaster secret (48 bytes).
func NewLicenseRequestFor(pub *rsa.PublicKey, modLen int, clientRandom, premaster []byte, user, machine string) (*NewLicenseRequest, error) {
	if len(clientRandom) != 32 || len(premaster) != LicensePremasterSecretLen {
		return nil, fmt.Errorf("license: client random of %d bytes, premaster of %d", len(clientRandom), len(premaster))
	}
	enc, err := EncryptLE(pub, modLen, premaster)
	if err != nil {
		return nil, err
	}
	m := &NewLicenseRequest{KeyExchangeAlg: KeyExchangeAlgRSA, PlatformID: DefaultPlatformID,
		EncryptedPremasterSecret: enc, UserName: user, MachineName: machine}
	copy(m.ClientRandom[:], clientRandom)
	return m, nil
}

// Marshal returns the whole licensing message, preamble included (flags
// PREAMBLE_VERSION_3_0 | EXTENDED_ERROR_MSG_SUPPORTED).
func (m *NewLicenseRequest) Marshal() []byte {
	b := []byte{byte(NewLicenseRequestMsg), PreambleVersion3 | ExtendedErrorMsgSupported, 0, 0}
	b = binary.LittleEndian.AppendUint32(b, m.KeyExchangeAlg)
	b = binary.LittleEndian.AppendUint32(b, m.PlatformID)
	b = append(b, m.ClientRandom[:]...)
	b = (&LicenseBinaryBlob{Type: BBRandomBlob, Data: m.EncryptedPremasterSecret}).append(b)
	b = (&LicenseBinaryBlob{Type: BBClientUserNameBlob, Data: append([]byte(m.UserName), 0)}).append(b)
	b = (&LicenseBinaryBlob{Type: BBClientMachineNameBlob, Data: append([]byte(m.MachineName), 0)}).append(b)
	binary.LittleEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

// Unmarshal parses a whole licensing message (preamble included) that must
// be a NEW_LICENSE_REQUEST. EncryptedPremasterSecret aliases b.
func (m *NewLicenseRequest) Unmarshal(b []byte) error {
	*m = NewLicenseRequest{}
	p, body, err := ParseLicensePreamble(b)
	if err != nil {
		return err
	}
	if p.MsgType != NewLicenseRequestMsg {
		return fmt.Errorf("license: %w: %s, want NEW_LICENSE_REQUEST", ErrMalformed, p.MsgType)
	}
	r := leReader{b: body}
	m.KeyExchangeAlg = r.u32()
	m.PlatformID = r.u32()
	copy(m.ClientRandom[:], r.bytes(32, "ClientRandom"))
	m.EncryptedPremasterSecret = readBlob(&r, "EncryptedPreMasterSecret").Data
	m.UserName = ansiZ(readBlob(&r, "ClientUserName").Data)
	m.MachineName = ansiZ(readBlob(&r, "ClientMachineName").Data)
	return r.done("license", "NEW_LICENSE_REQUEST")
}

// PlatformChallenge is SERVER_PLATFORM_CHALLENGE (MS-RDPELE 2.2.2.4): the
// server accepted the NEW_LICENSE_REQUEST and asks the client to prove
// itself; a licence is issued once it answers. The challenge is RC4
// encrypted with the licensing keys and is not decrypted here.
type PlatformChallenge struct {
	ConnectFlags       uint32
	EncryptedChallenge LicenseBinaryBlob // EncryptedPlatformChallenge
	MAC                [16]byte          // MACData
}

// Marshal returns the whole licensing message, preamble included (for
// tests and fakes).
func (m *PlatformChallenge) Marshal() []byte {
	b := []byte{byte(PlatformChallengeMsg), PreambleVersion3, 0, 0}
	b = binary.LittleEndian.AppendUint32(b, m.ConnectFlags)
	b = m.EncryptedChallenge.append(b)
	b = append(b, m.MAC[:]...)
	binary.LittleEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

// Unmarshal parses a whole licensing message (preamble included) that must
// be a PLATFORM_CHALLENGE. EncryptedChallenge.Data aliases b.
func (m *PlatformChallenge) Unmarshal(b []byte) error {
	*m = PlatformChallenge{}
	p, body, err := ParseLicensePreamble(b)
	if err != nil {
		return err
	}
	if p.MsgType != PlatformChallengeMsg {
		return fmt.Errorf("license: %w: %s, want PLATFORM_CHALLENGE", ErrMalformed, p.MsgType)
	}
	r := leReader{b: body}
	m.ConnectFlags = r.u32()
	m.EncryptedChallenge = readBlob(&r, "EncryptedPlatformChallenge")
	copy(m.MAC[:], r.bytes(16, "MACData"))
	return r.done("license", "PLATFORM_CHALLENGE")
}
