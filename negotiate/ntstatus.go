package negotiate

import "fmt"

// NTStatus is an NTSTATUS (MS-ERREF 2.3) or, as CredSSP servers also put in
// TSRequest.errorCode, an SSPI HRESULT (MS-ERREF 2.1). Values checked
// against MS-ERREF and the Windows SDK headers.
type NTStatus uint32

// NTSTATUS values (MS-ERREF 2.3.1).
const (
	StatusSuccess                      NTStatus = 0x00000000
	StatusInvalidParameter             NTStatus = 0xC000000D
	StatusAccessDenied                 NTStatus = 0xC0000022
	StatusNoLogonServers               NTStatus = 0xC000005E
	StatusNoSuchUser                   NTStatus = 0xC0000064
	StatusWrongPassword                NTStatus = 0xC000006A
	StatusPasswordRestriction          NTStatus = 0xC000006C
	StatusLogonFailure                 NTStatus = 0xC000006D
	StatusAccountRestriction           NTStatus = 0xC000006E
	StatusInvalidLogonHours            NTStatus = 0xC000006F
	StatusInvalidWorkstation           NTStatus = 0xC0000070
	StatusPasswordExpired              NTStatus = 0xC0000071
	StatusAccountDisabled              NTStatus = 0xC0000072
	StatusNotSupported                 NTStatus = 0xC00000BB
	StatusNoSuchDomain                 NTStatus = 0xC00000DF
	StatusTimeDifferenceAtDC           NTStatus = 0xC0000133
	StatusLogonTypeNotGranted          NTStatus = 0xC000015B
	StatusNoTrustSAMAccount            NTStatus = 0xC000018B
	StatusTrustedDomainFailure         NTStatus = 0xC000018C
	StatusTrustedRelationshipFailure   NTStatus = 0xC000018D
	StatusAccountExpired               NTStatus = 0xC0000193
	StatusUserSessionDeleted           NTStatus = 0xC0000203
	StatusPasswordMustChange           NTStatus = 0xC0000224
	StatusDomainControllerNotFound     NTStatus = 0xC0000233
	StatusAccountLockedOut             NTStatus = 0xC0000234
	StatusNTLMBlocked                  NTStatus = 0xC0000418
	StatusLoginTimeRestriction         NTStatus = 0xC0000247
	StatusLoginWkstaRestriction        NTStatus = 0xC0000248
	StatusSmartcardLogonRequired       NTStatus = 0xC00002FA
	StatusDowngradeDetected            NTStatus = 0xC0000388
	StatusAuthenticationFirewallFailed NTStatus = 0xC0000413
)

// SSPI HRESULTs (MS-ERREF 2.1.1, FACILITY_SSPI).
const (
	SecEUnsupportedFunction       NTStatus = 0x80090302
	SecETargetUnknown             NTStatus = 0x80090303
	SecEInternalError             NTStatus = 0x80090304
	SecEInvalidToken              NTStatus = 0x80090308
	SecELogonDenied               NTStatus = 0x8009030C
	SecEUnknownCredentials        NTStatus = 0x8009030D
	SecENoCredentials             NTStatus = 0x8009030E
	SecEMessageAltered            NTStatus = 0x8009030F
	SecEOutOfSequence             NTStatus = 0x80090310
	SecENoAuthenticatingAuthority NTStatus = 0x80090311
	SecEContextExpired            NTStatus = 0x80090317
	SecEWrongPrincipal            NTStatus = 0x80090322
	SecETimeSkew                  NTStatus = 0x80090324
	SecEIllegalMessage            NTStatus = 0x80090326
	SecEBadBindings               NTStatus = 0x80090346
	SecEDowngradeDetected         NTStatus = 0x80090350
	SecEMutualAuthFailed          NTStatus = 0x80090363
)

var ntStatusNames = map[NTStatus]string{
	StatusSuccess:                      "STATUS_SUCCESS",
	StatusInvalidParameter:             "STATUS_INVALID_PARAMETER",
	StatusAccessDenied:                 "STATUS_ACCESS_DENIED",
	StatusNoLogonServers:               "STATUS_NO_LOGON_SERVERS",
	StatusNoSuchUser:                   "STATUS_NO_SUCH_USER",
	StatusWrongPassword:                "STATUS_WRONG_PASSWORD",
	StatusPasswordRestriction:          "STATUS_PASSWORD_RESTRICTION",
	StatusLogonFailure:                 "STATUS_LOGON_FAILURE",
	StatusAccountRestriction:           "STATUS_ACCOUNT_RESTRICTION",
	StatusInvalidLogonHours:            "STATUS_INVALID_LOGON_HOURS",
	StatusInvalidWorkstation:           "STATUS_INVALID_WORKSTATION",
	StatusPasswordExpired:              "STATUS_PASSWORD_EXPIRED",
	StatusAccountDisabled:              "STATUS_ACCOUNT_DISABLED",
	StatusNotSupported:                 "STATUS_NOT_SUPPORTED",
	StatusNoSuchDomain:                 "STATUS_NO_SUCH_DOMAIN",
	StatusTimeDifferenceAtDC:           "STATUS_TIME_DIFFERENCE_AT_DC",
	StatusLogonTypeNotGranted:          "STATUS_LOGON_TYPE_NOT_GRANTED",
	StatusNoTrustSAMAccount:            "STATUS_NO_TRUST_SAM_ACCOUNT",
	StatusTrustedDomainFailure:         "STATUS_TRUSTED_DOMAIN_FAILURE",
	StatusTrustedRelationshipFailure:   "STATUS_TRUSTED_RELATIONSHIP_FAILURE",
	StatusAccountExpired:               "STATUS_ACCOUNT_EXPIRED",
	StatusUserSessionDeleted:           "STATUS_USER_SESSION_DELETED",
	StatusPasswordMustChange:           "STATUS_PASSWORD_MUST_CHANGE",
	StatusDomainControllerNotFound:     "STATUS_DOMAIN_CONTROLLER_NOT_FOUND",
	StatusAccountLockedOut:             "STATUS_ACCOUNT_LOCKED_OUT",
	StatusNTLMBlocked:                  "STATUS_NTLM_BLOCKED",
	StatusLoginTimeRestriction:         "STATUS_LOGIN_TIME_RESTRICTION",
	StatusLoginWkstaRestriction:        "STATUS_LOGIN_WKSTA_RESTRICTION",
	StatusSmartcardLogonRequired:       "STATUS_SMARTCARD_LOGON_REQUIRED",
	StatusDowngradeDetected:            "STATUS_DOWNGRADE_DETECTED",
	StatusAuthenticationFirewallFailed: "STATUS_AUTHENTICATION_FIREWALL_FAILED",

	SecEUnsupportedFunction:       "SEC_E_UNSUPPORTED_FUNCTION",
	SecETargetUnknown:             "SEC_E_TARGET_UNKNOWN",
	SecEInternalError:             "SEC_E_INTERNAL_ERROR",
	SecEInvalidToken:              "SEC_E_INVALID_TOKEN",
	SecELogonDenied:               "SEC_E_LOGON_DENIED",
	SecEUnknownCredentials:        "SEC_E_UNKNOWN_CREDENTIALS",
	SecENoCredentials:             "SEC_E_NO_CREDENTIALS",
	SecEMessageAltered:            "SEC_E_MESSAGE_ALTERED",
	SecEOutOfSequence:             "SEC_E_OUT_OF_SEQUENCE",
	SecENoAuthenticatingAuthority: "SEC_E_NO_AUTHENTICATING_AUTHORITY",
	SecEContextExpired:            "SEC_E_CONTEXT_EXPIRED",
	SecEWrongPrincipal:            "SEC_E_WRONG_PRINCIPAL",
	SecETimeSkew:                  "SEC_E_TIME_SKEW",
	SecEIllegalMessage:            "SEC_E_ILLEGAL_MESSAGE",
	SecEBadBindings:               "SEC_E_BAD_BINDINGS",
	SecEDowngradeDetected:         "SEC_E_DOWNGRADE_DETECTED",
	SecEMutualAuthFailed:          "SEC_E_MUTUAL_AUTH_FAILED",
}

// Name returns the symbolic name ("STATUS_LOGON_FAILURE"), or "" if unknown.
func (s NTStatus) Name() string { return ntStatusNames[s] }

// String returns "STATUS_LOGON_FAILURE (0xC000006D)", or "0xC0001234" if unknown.
func (s NTStatus) String() string {
	if n := s.Name(); n != "" {
		return fmt.Sprintf("%s (0x%08X)", n, uint32(s))
	}
	return fmt.Sprintf("0x%08X", uint32(s))
}
