package negotiate

import (
	"encoding/binary"
	"fmt"

	"github.com/rdpprobe/rdpprobe/internal/utf16le"
)

// What the server tells the client about a failed connection or logon:
// the Set Error Info PDU (MS-RDPBCGR 2.2.5.1) and the Save Session Info
// PDU (2.2.10.1). Both are Share Data PDUs; the parsers here take the
// bytes after the 18-byte Share Data Header.

// ErrorInfo is TS_SET_ERROR_INFO_PDU.errorInfo (MS-RDPBCGR 2.2.5.1.1).
// Values checked against the spec table and FreeRDP include/freerdp/error.h.
type ErrorInfo uint32

const (
	ErrInfoNone                           ErrorInfo = 0x00000000
	ErrInfoRPCInitiatedDisconnect         ErrorInfo = 0x00000001
	ErrInfoRPCInitiatedLogoff             ErrorInfo = 0x00000002
	ErrInfoIdleTimeout                    ErrorInfo = 0x00000003
	ErrInfoLogonTimeout                   ErrorInfo = 0x00000004
	ErrInfoDisconnectedByOtherConnection  ErrorInfo = 0x00000005
	ErrInfoOutOfMemory                    ErrorInfo = 0x00000006
	ErrInfoServerDeniedConnection         ErrorInfo = 0x00000007
	ErrInfoServerInsufficientPrivileges   ErrorInfo = 0x00000009
	ErrInfoServerFreshCredentialsRequired ErrorInfo = 0x0000000A
	ErrInfoRPCInitiatedDisconnectByUser   ErrorInfo = 0x0000000B
	ErrInfoLogoffByUser                   ErrorInfo = 0x0000000C
	ErrInfoCloseStackOnDriverNotReady     ErrorInfo = 0x0000000F
	ErrInfoServerDWMCrash                 ErrorInfo = 0x00000010
	ErrInfoCloseStackOnDriverFailure      ErrorInfo = 0x00000011
	ErrInfoCloseStackOnDriverIfaceFailure ErrorInfo = 0x00000012
	ErrInfoServerWinlogonCrash            ErrorInfo = 0x00000017
	ErrInfoServerCSRSSCrash               ErrorInfo = 0x00000018

	ErrInfoLicenseInternal               ErrorInfo = 0x00000100
	ErrInfoLicenseNoLicenseServer        ErrorInfo = 0x00000101
	ErrInfoLicenseNoLicense              ErrorInfo = 0x00000102
	ErrInfoLicenseBadClientMsg           ErrorInfo = 0x00000103
	ErrInfoLicenseHWIDDoesntMatchLicense ErrorInfo = 0x00000104
	ErrInfoLicenseBadClientLicense       ErrorInfo = 0x00000105
	ErrInfoLicenseCantFinishProtocol     ErrorInfo = 0x00000106
	ErrInfoLicenseClientEndedProtocol    ErrorInfo = 0x00000107
	ErrInfoLicenseBadClientEncryption    ErrorInfo = 0x00000108
	ErrInfoLicenseCantUpgradeLicense     ErrorInfo = 0x00000109
	ErrInfoLicenseNoRemoteConnections    ErrorInfo = 0x0000010A

	ErrInfoUnknownDataPDUType      ErrorInfo = 0x000010C9
	ErrInfoUnknownPDUType          ErrorInfo = 0x000010CA
	ErrInfoDataPDUSequence         ErrorInfo = 0x000010CB
	ErrInfoControlPDUSequence      ErrorInfo = 0x000010CD
	ErrInfoInvalidControlPDUAction ErrorInfo = 0x000010CE
	ErrInfoConnectFailed           ErrorInfo = 0x000010D3
	ErrInfoSecurityDataTooShort    ErrorInfo = 0x000010E0
	ErrInfoBadCapabilities         ErrorInfo = 0x000010EA
	ErrInfoDecryptFailed           ErrorInfo = 0x00001192
	ErrInfoEncryptFailed           ErrorInfo = 0x00001193
	ErrInfoEncPkgMismatch          ErrorInfo = 0x00001194
	ErrInfoDecryptFailed2          ErrorInfo = 0x00001195
)

var errorInfoNames = map[ErrorInfo]string{
	ErrInfoNone:                           "ERRINFO_NONE",
	ErrInfoRPCInitiatedDisconnect:         "ERRINFO_RPC_INITIATED_DISCONNECT",
	ErrInfoRPCInitiatedLogoff:             "ERRINFO_RPC_INITIATED_LOGOFF",
	ErrInfoIdleTimeout:                    "ERRINFO_IDLE_TIMEOUT",
	ErrInfoLogonTimeout:                   "ERRINFO_LOGON_TIMEOUT",
	ErrInfoDisconnectedByOtherConnection:  "ERRINFO_DISCONNECTED_BY_OTHERCONNECTION",
	ErrInfoOutOfMemory:                    "ERRINFO_OUT_OF_MEMORY",
	ErrInfoServerDeniedConnection:         "ERRINFO_SERVER_DENIED_CONNECTION",
	ErrInfoServerInsufficientPrivileges:   "ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES",
	ErrInfoServerFreshCredentialsRequired: "ERRINFO_SERVER_FRESH_CREDENTIALS_REQUIRED",
	ErrInfoRPCInitiatedDisconnectByUser:   "ERRINFO_RPC_INITIATED_DISCONNECT_BYUSER",
	ErrInfoLogoffByUser:                   "ERRINFO_LOGOFF_BY_USER",
	ErrInfoCloseStackOnDriverNotReady:     "ERRINFO_CLOSE_STACK_ON_DRIVER_NOT_READY",
	ErrInfoServerDWMCrash:                 "ERRINFO_SERVER_DWM_CRASH",
	ErrInfoCloseStackOnDriverFailure:      "ERRINFO_CLOSE_STACK_ON_DRIVER_FAILURE",
	ErrInfoCloseStackOnDriverIfaceFailure: "ERRINFO_CLOSE_STACK_ON_DRIVER_IFACE_FAILURE",
	ErrInfoServerWinlogonCrash:            "ERRINFO_SERVER_WINLOGON_CRASH",
	ErrInfoServerCSRSSCrash:               "ERRINFO_SERVER_CSRSS_CRASH",
	ErrInfoLicenseInternal:                "ERRINFO_LICENSE_INTERNAL",
	ErrInfoLicenseNoLicenseServer:         "ERRINFO_LICENSE_NO_LICENSE_SERVER",
	ErrInfoLicenseNoLicense:               "ERRINFO_LICENSE_NO_LICENSE",
	ErrInfoLicenseBadClientMsg:            "ERRINFO_LICENSE_BAD_CLIENT_MSG",
	ErrInfoLicenseHWIDDoesntMatchLicense:  "ERRINFO_LICENSE_HWID_DOESNT_MATCH_LICENSE",
	ErrInfoLicenseBadClientLicense:        "ERRINFO_LICENSE_BAD_CLIENT_LICENSE",
	ErrInfoLicenseCantFinishProtocol:      "ERRINFO_LICENSE_CANT_FINISH_PROTOCOL",
	ErrInfoLicenseClientEndedProtocol:     "ERRINFO_LICENSE_CLIENT_ENDED_PROTOCOL",
	ErrInfoLicenseBadClientEncryption:     "ERRINFO_LICENSE_BAD_CLIENT_ENCRYPTION",
	ErrInfoLicenseCantUpgradeLicense:      "ERRINFO_LICENSE_CANT_UPGRADE_LICENSE",
	ErrInfoLicenseNoRemoteConnections:     "ERRINFO_LICENSE_NO_REMOTE_CONNECTIONS",
	ErrInfoUnknownDataPDUType:             "ERRINFO_UNKNOWNPDUTYPE2",
	ErrInfoUnknownPDUType:                 "ERRINFO_UNKNOWNPDUTYPE",
	ErrInfoDataPDUSequence:                "ERRINFO_DATAPDUSEQUENCE",
	ErrInfoControlPDUSequence:             "ERRINFO_CONTROLPDUSEQUENCE",
	ErrInfoInvalidControlPDUAction:        "ERRINFO_INVALIDCONTROLPDUACTION",
	ErrInfoConnectFailed:                  "ERRINFO_CONNECTFAILED",
	ErrInfoSecurityDataTooShort:           "ERRINFO_SECURITYDATATOOSHORT",
	ErrInfoBadCapabilities:                "ERRINFO_BADCAPABILITIES",
	ErrInfoDecryptFailed:                  "ERRINFO_DECRYPTFAILED",
	ErrInfoEncryptFailed:                  "ERRINFO_ENCRYPTFAILED",
	ErrInfoEncPkgMismatch:                 "ERRINFO_ENCPKGMISMATCH",
	ErrInfoDecryptFailed2:                 "ERRINFO_DECRYPTFAILED2",
}

// Name returns the spec name ("ERRINFO_LICENSE_NO_LICENSE_SERVER"), or ""
// if the value is not one this package knows.
func (e ErrorInfo) Name() string { return errorInfoNames[e] }

// String returns the spec name, or ERRINFO_0x%08X.
func (e ErrorInfo) String() string { return specName(errorInfoNames, e, "ERRINFO_0x%08X") }

// IsLicensing reports whether e is one of the ERRINFO_LICENSE_* codes
// (0x100-0x10A).
func (e ErrorInfo) IsLicensing() bool {
	return e >= ErrInfoLicenseInternal && e <= ErrInfoLicenseNoRemoteConnections
}

// ParseSetErrorInfo parses TS_SET_ERROR_INFO_PDU after its Share Data
// Header: exactly the 4-byte errorInfo.
func ParseSetErrorInfo(b []byte) (ErrorInfo, error) {
	if len(b) != 4 {
		return 0, fmt.Errorf("errinfo: %w: Set Error Info of %d bytes, want 4", ErrMalformed, len(b))
	}
	return ErrorInfo(binary.LittleEndian.Uint32(b)), nil
}

// Marshal returns the 4-byte errorInfo.
func (e ErrorInfo) Marshal() []byte { return le32(uint32(e)) }

// InfoType is TS_SAVE_SESSION_INFO_PDU_DATA.infoType (MS-RDPBCGR 2.2.10.1.1).
type InfoType uint32

const (
	InfoTypeLogon             InfoType = 0 // INFOTYPE_LOGON
	InfoTypeLogonLong         InfoType = 1 // INFOTYPE_LOGON_LONG
	InfoTypeLogonPlainNotify  InfoType = 2 // INFOTYPE_LOGON_PLAINNOTIFY
	InfoTypeLogonExtendedInfo InfoType = 3 // INFOTYPE_LOGON_EXTENDED_INFO
)

var infoTypeNames = map[InfoType]string{
	InfoTypeLogon:             "INFOTYPE_LOGON",
	InfoTypeLogonLong:         "INFOTYPE_LOGON_LONG",
	InfoTypeLogonPlainNotify:  "INFOTYPE_LOGON_PLAINNOTIFY",
	InfoTypeLogonExtendedInfo: "INFOTYPE_LOGON_EXTENDED_INFO",
}

// String returns the spec name, or INFOTYPE_0x%08X.
func (t InfoType) String() string { return specName(infoTypeNames, t, "INFOTYPE_0x%08X") }

// TS_LOGON_INFO_EXTENDED.FieldsPresent flags (MS-RDPBCGR 2.2.10.1.1.4).
const (
	LogonExAutoReconnectCookie uint32 = 0x00000001 // LOGON_EX_AUTORECONNECTCOOKIE
	LogonExLogonErrors         uint32 = 0x00000002 // LOGON_EX_LOGONERRORS
)

// LogonErrorType is TS_LOGON_ERRORS_INFO.ErrorNotificationType
// (MS-RDPBCGR 2.2.10.1.1.4.1.1): one of the LOGON_MSG_* values,
// ERROR_CODE_ACCESS_DENIED, or an NTSTATUS.
type LogonErrorType uint32

const (
	LogonMsgSessionBusyOptions LogonErrorType = 0xFFFFFFF8 // LOGON_MSG_SESSION_BUSY_OPTIONS
	LogonMsgDisconnectRefused  LogonErrorType = 0xFFFFFFF9 // LOGON_MSG_DISCONNECT_REFUSED
	LogonMsgNoPermission       LogonErrorType = 0xFFFFFFFA // LOGON_MSG_NO_PERMISSION
	LogonMsgBumpOptions        LogonErrorType = 0xFFFFFFFB // LOGON_MSG_BUMP_OPTIONS
	LogonMsgReconnectOptions   LogonErrorType = 0xFFFFFFFC // LOGON_MSG_RECONNECT_OPTIONS
	LogonMsgSessionTerminate   LogonErrorType = 0xFFFFFFFD // LOGON_MSG_SESSION_TERMINATE
	LogonMsgSessionContinue    LogonErrorType = 0xFFFFFFFE // LOGON_MSG_SESSION_CONTINUE
	ErrorCodeAccessDenied      LogonErrorType = 0xFFFFFFFF // ERROR_CODE_ACCESS_DENIED
)

var logonErrorTypeNames = map[LogonErrorType]string{
	LogonMsgSessionBusyOptions: "LOGON_MSG_SESSION_BUSY_OPTIONS",
	LogonMsgDisconnectRefused:  "LOGON_MSG_DISCONNECT_REFUSED",
	LogonMsgNoPermission:       "LOGON_MSG_NO_PERMISSION",
	LogonMsgBumpOptions:        "LOGON_MSG_BUMP_OPTIONS",
	LogonMsgReconnectOptions:   "LOGON_MSG_RECONNECT_OPTIONS",
	LogonMsgSessionTerminate:   "LOGON_MSG_SESSION_TERMINATE",
	LogonMsgSessionContinue:    "LOGON_MSG_SESSION_CONTINUE",
	ErrorCodeAccessDenied:      "ERROR_CODE_ACCESS_DENIED",
}

// IsLogonMsg reports whether t is a LOGON_MSG_* value, for which
// ErrorNotificationData is a session ID.
func (t LogonErrorType) IsLogonMsg() bool {
	return t >= LogonMsgSessionBusyOptions && t <= LogonMsgSessionContinue
}

// String returns the spec name, else the NTSTATUS form (see NTStatus).
func (t LogonErrorType) String() string {
	if n, ok := logonErrorTypeNames[t]; ok {
		return n
	}
	return NTStatus(t).String()
}

// LogonFailure is TS_LOGON_ERRORS_INFO.ErrorNotificationData when it is
// not a session ID (MS-RDPBCGR 2.2.10.1.1.4.1.1).
type LogonFailure uint32

const (
	LogonFailedBadPassword    LogonFailure = 0 // LOGON_FAILED_BAD_PASSWORD
	LogonFailedUpdatePassword LogonFailure = 1 // LOGON_FAILED_UPDATE_PASSWORD
	LogonFailedOther          LogonFailure = 2 // LOGON_FAILED_OTHER
	LogonWarning              LogonFailure = 3 // LOGON_WARNING
)

var logonFailureNames = map[LogonFailure]string{
	LogonFailedBadPassword:    "LOGON_FAILED_BAD_PASSWORD",
	LogonFailedUpdatePassword: "LOGON_FAILED_UPDATE_PASSWORD",
	LogonFailedOther:          "LOGON_FAILED_OTHER",
	LogonWarning:              "LOGON_WARNING",
}

// String returns the spec name, or LOGON_FAILURE_0x%08X.
func (f LogonFailure) String() string { return specName(logonFailureNames, f, "LOGON_FAILURE_0x%08X") }

// LogonErrorsInfo is TS_LOGON_ERRORS_INFO (MS-RDPBCGR 2.2.10.1.1.4.1.1).
// For LOGON_MSG_* types Data is the session ID; otherwise it is a
// LogonFailure.
type LogonErrorsInfo struct {
	Type LogonErrorType
	Data uint32
}

// Failure returns Data as a LogonFailure (meaningful when !Type.IsLogonMsg()).
func (l LogonErrorsInfo) Failure() LogonFailure { return LogonFailure(l.Data) }

// String shows the type and the data read the way the type says.
func (l LogonErrorsInfo) String() string {
	if l.Type.IsLogonMsg() {
		return fmt.Sprintf("%s (session %d)", l.Type, l.Data)
	}
	return fmt.Sprintf("%s (%s)", l.Type, l.Failure())
}

// Save Session Info sizes (MS-RDPBCGR 2.2.10.1.1.1-2.2.10.1.1.4).
const (
	logonInfoV1Len     = 576 // TS_LOGON_INFO
	logonInfoV2Fixed   = 576 // TS_LOGON_INFO_VERSION_2 without Domain/UserName
	logonInfoV2Pad     = 558
	plainNotifyLen     = 576
	logonInfoExtPad    = 570
	logonErrorsInfoLen = 8
)

// SaveSessionInfo is TS_SAVE_SESSION_INFO_PDU_DATA (MS-RDPBCGR 2.2.10.1.1)
// after its Share Data Header. The INFOTYPE_LOGON* types say the user is
// logged on; INFOTYPE_LOGON_EXTENDED_INFO may instead carry a logon error.
type SaveSessionInfo struct {
	InfoType InfoType

	// INFOTYPE_LOGON and INFOTYPE_LOGON_LONG.
	Domain, UserName string
	SessionID        uint32

	// INFOTYPE_LOGON_EXTENDED_INFO.
	FieldsPresent       uint32
	AutoReconnectCookie []byte           // LOGON_EX_AUTORECONNECTCOOKIE field data, kept raw
	LogonErrors         *LogonErrorsInfo // LOGON_EX_LOGONERRORS
}

// LoggedOn reports whether the PDU is a logon notification rather than a
// logon error.
func (s *SaveSessionInfo) LoggedOn() bool {
	return s.InfoType != InfoTypeLogonExtendedInfo
}

// Unmarshal parses infoType and infoData. Sizes are checked against the
// spec's fixed layouts; padding is not checked and trailing bytes after a
// fixed structure are tolerated (servers pad differently), but every
// length field must fit.
func (s *SaveSessionInfo) Unmarshal(b []byte) error {
	*s = SaveSessionInfo{}
	r := leReader{b: b}
	s.InfoType = InfoType(r.u32())
	switch s.InfoType {
	case InfoTypeLogon:
		d := r.bytes(logonInfoV1Len, "TS_LOGON_INFO")
		if d != nil {
			cbDom := binary.LittleEndian.Uint32(d)
			cbUser := binary.LittleEndian.Uint32(d[56:])
			if cbDom > 52 || cbUser > 512 {
				return fmt.Errorf("errinfo: %w: TS_LOGON_INFO cbDomain %d, cbUserName %d", ErrMalformed, cbDom, cbUser)
			}
			s.Domain = fromUTF16Z(d[4 : 4+cbDom])
			s.UserName = fromUTF16Z(d[60 : 60+cbUser])
			s.SessionID = binary.LittleEndian.Uint32(d[572:])
		}
	case InfoTypeLogonLong:
		ver := r.u16()
		size := r.u32()
		s.SessionID = r.u32()
		cbDom, cbUser := r.u32(), r.u32()
		r.bytes(logonInfoV2Pad, "TS_LOGON_INFO_VERSION_2 Pad")
		if r.err == nil && (ver != 1 || size != logonInfoV2Fixed) {
			return fmt.Errorf("errinfo: %w: TS_LOGON_INFO_VERSION_2 Version %d Size %d", ErrMalformed, ver, size)
		}
		s.Domain = fromUTF16Z(r.bytes(int(cbDom), "Domain"))
		s.UserName = fromUTF16Z(r.bytes(int(cbUser), "UserName"))
	case InfoTypeLogonPlainNotify:
		r.bytes(plainNotifyLen, "TS_PLAIN_NOTIFY")
	case InfoTypeLogonExtendedInfo:
		length := int(r.u16())
		s.FieldsPresent = r.u32()
		if r.err == nil && (length < 6 || length-6 > len(r.b)) {
			return fmt.Errorf("errinfo: %w: TS_LOGON_INFO_EXTENDED Length %d with %d bytes left", ErrMalformed, length, len(r.b)+6)
		}
		fields := leReader{b: r.bytes(length-6, "LogonFields")}
		if s.FieldsPresent&LogonExAutoReconnectCookie != 0 {
			s.AutoReconnectCookie = fields.bytes(int(fields.u32()), "auto-reconnect cookie")
		}
		if s.FieldsPresent&LogonExLogonErrors != 0 {
			if n := fields.u32(); n != logonErrorsInfoLen && fields.err == nil {
				return fmt.Errorf("errinfo: %w: TS_LOGON_ERRORS_INFO cbFieldData %d, want 8", ErrMalformed, n)
			}
			t, d := fields.u32(), fields.u32()
			if fields.err == nil {
				s.LogonErrors = &LogonErrorsInfo{Type: LogonErrorType(t), Data: d}
			}
		}
		if fields.err != nil {
			return fmt.Errorf("errinfo: %w: TS_LOGON_INFO_EXTENDED: %s", ErrMalformed, fields.err)
		}
		// Pad (570 bytes) follows; not all servers send all of it.
	default:
		if r.err == nil {
			return fmt.Errorf("errinfo: %w: Save Session Info %s", ErrMalformed, s.InfoType)
		}
	}
	if r.err != nil {
		return fmt.Errorf("errinfo: %w: Save Session Info %s: %s", ErrMalformed, s.InfoType, r.err)
	}
	return nil
}

// Marshal returns infoType and infoData in the spec's layout, padding
// included.
func (s *SaveSessionInfo) Marshal() []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(s.InfoType))
	switch s.InfoType {
	case InfoTypeLogon:
		d := make([]byte, logonInfoV1Len)
		dom := append(utf16le.Encode(s.Domain), 0, 0)
		dom = dom[:min(len(dom), 52)]
		user := append(utf16le.Encode(s.UserName), 0, 0)
		user = user[:min(len(user), 512)]
		binary.LittleEndian.PutUint32(d, uint32(len(dom)))
		copy(d[4:56], dom)
		binary.LittleEndian.PutUint32(d[56:], uint32(len(user)))
		copy(d[60:572], user)
		binary.LittleEndian.PutUint32(d[572:], s.SessionID)
		b = append(b, d...)
	case InfoTypeLogonLong:
		dom := append(utf16le.Encode(s.Domain), 0, 0)
		user := append(utf16le.Encode(s.UserName), 0, 0)
		b = binary.LittleEndian.AppendUint16(b, 1)
		b = binary.LittleEndian.AppendUint32(b, logonInfoV2Fixed)
		b = binary.LittleEndian.AppendUint32(b, s.SessionID)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(dom)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(user)))
		b = append(b, make([]byte, logonInfoV2Pad)...)
		b = append(append(b, dom...), user...)
	case InfoTypeLogonPlainNotify:
		b = append(b, make([]byte, plainNotifyLen)...)
	case InfoTypeLogonExtendedInfo:
		var f []byte
		present := s.FieldsPresent &^ (LogonExAutoReconnectCookie | LogonExLogonErrors)
		if s.AutoReconnectCookie != nil {
			present |= LogonExAutoReconnectCookie
			f = binary.LittleEndian.AppendUint32(f, uint32(len(s.AutoReconnectCookie)))
			f = append(f, s.AutoReconnectCookie...)
		}
		if s.LogonErrors != nil {
			present |= LogonExLogonErrors
			f = binary.LittleEndian.AppendUint32(f, logonErrorsInfoLen)
			f = binary.LittleEndian.AppendUint32(f, uint32(s.LogonErrors.Type))
			f = binary.LittleEndian.AppendUint32(f, s.LogonErrors.Data)
		}
		b = binary.LittleEndian.AppendUint16(b, uint16(6+len(f)))
		b = binary.LittleEndian.AppendUint32(b, present)
		b = append(b, f...)
		b = append(b, make([]byte, logonInfoExtPad)...)
	}
	return b
}
