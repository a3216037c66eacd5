package tsgu

import "fmt"

// HResult is the error code an RD Gateway puts in its responses
// (HTTP_HANDSHAKE_RESPONSE.errorCode, HTTP_TUNNEL_RESPONSE.statusCode, ...):
// an HRESULT (MS-ERREF 2.1) or, as some gateways send it, the bare Win32
// error code it wraps. The gateway's own codes are the E_PROXY_* values of
// MS-TSGU 2.2.6, HRESULT_FROM_WIN32 of the Win32 errors 23000-23040.
type HResult uint32

// The E_PROXY_* codes of MS-TSGU 2.2.6 (and FreeRDP's list), in the form
// the spec gives each: most as HRESULTs (0x8007xxxx), some as the bare
// Win32 code (0x0000xxxx). Is compares the Win32 code, so either form
// matches either.
const (
	OK                                     HResult = 0x00000000
	ErrorAccessDenied                      HResult = 0x00000005 // ERROR_ACCESS_DENIED
	ErrorGracefulDisconnect                HResult = 0x000004CA // ERROR_GRACEFUL_DISCONNECT
	EProxyConnectionAborted                HResult = 0x000004D4 // ERROR_CONNECTION_ABORTED
	EProxyInternalError                    HResult = 0x800759D8
	EProxyRAPAccessDenied                  HResult = 0x800759DA
	EProxyNAPAccessDenied                  HResult = 0x800759DB
	EProxyTSConnectFailed                  HResult = 0x800759DD
	EProxyAlreadyDisconnected              HResult = 0x800759DF
	EProxyMaxConnectionsReached            HResult = 0x000059E6
	EProxyNotSupported                     HResult = 0x000059E8
	EProxyCapabilityMismatch               HResult = 0x800759E9
	EProxyQuarantineAccessDenied           HResult = 0x800759ED
	EProxyNoCertAvailable                  HResult = 0x800759EE
	EProxySessionTimeout                   HResult = 0x000059F6
	EProxyCookieBadPacket                  HResult = 0x800759F7
	EProxyCookieAuthenticationAccessDenied HResult = 0x800759F8
	EProxyUnsupportedAuthenticationMethod  HResult = 0x800759F9
	EProxyReauthAuthnFailed                HResult = 0x000059FA
	EProxyReauthCAPFailed                  HResult = 0x000059FB
	EProxyReauthRAPFailed                  HResult = 0x000059FC
	EProxySDRNotSupportedByTS              HResult = 0x000059FD
	EProxyReauthNAPFailed                  HResult = 0x00005A00
)

// hresultNames are keyed by the Win32 code (the low 16 bits).
var hresultNames = map[uint16]string{
	0x0000: "S_OK",
	0x0005: "ERROR_ACCESS_DENIED",
	0x04CA: "ERROR_GRACEFUL_DISCONNECT",
	0x04D4: "E_PROXY_CONNECTIONABORTED",
	0x59D8: "E_PROXY_INTERNALERROR",
	0x59DA: "E_PROXY_RAP_ACCESSDENIED",
	0x59DB: "E_PROXY_NAP_ACCESSDENIED",
	0x59DD: "E_PROXY_TS_CONNECTFAILED",
	0x59DF: "E_PROXY_ALREADYDISCONNECTED",
	0x59E6: "E_PROXY_MAXCONNECTIONSREACHED",
	0x59E8: "E_PROXY_NOTSUPPORTED",
	0x59E9: "E_PROXY_CAPABILITYMISMATCH",
	0x59ED: "E_PROXY_QUARANTINE_ACCESSDENIED",
	0x59EE: "E_PROXY_NOCERTAVAILABLE",
	0x59F6: "E_PROXY_SESSIONTIMEOUT",
	0x59F7: "E_PROXY_COOKIE_BADPACKET",
	0x59F8: "E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED",
	0x59F9: "E_PROXY_UNSUPPORTED_AUTHENTICATION_METHOD",
	0x59FA: "E_PROXY_REAUTH_AUTHN_FAILED",
	0x59FB: "E_PROXY_REAUTH_CAP_FAILED",
	0x59FC: "E_PROXY_REAUTH_RAP_FAILED",
	0x59FD: "E_PROXY_SDR_NOT_SUPPORTED_BY_TS",
	0x5A00: "E_PROXY_REAUTH_NAP_FAILED",
}

// Win32 returns the Win32 error code h carries: the low 16 bits of an
// HRESULT of FACILITY_WIN32 (0x8007xxxx), or h itself when it is a bare
// Win32 code (0x0000xxxx). ok is false for any other HRESULT.
func (h HResult) Win32() (code uint16, ok bool) {
	switch h >> 16 {
	case 0x8007, 0x0000:
		return uint16(h), true
	}
	return 0, false
}

// Is reports whether h and code name the same error, in either form:
// 0x000059DD is E_PROXY_TS_CONNECTFAILED as much as 0x800759DD is.
func (h HResult) Is(code HResult) bool {
	a, okA := h.Win32()
	b, okB := code.Win32()
	if okA && okB {
		return a == b
	}
	return h == code
}

// Failed reports whether h is an error: a failure HRESULT (severity bit
// set), or a bare Win32 code that is one of the gateway's errors. An
// unknown positive value is not (FreeRDP treats it so too).
func (h HResult) Failed() bool {
	if int32(h) < 0 {
		return true
	}
	c, _ := h.Win32()
	_, named := hresultNames[c]
	return h != OK && named
}

// Name is the spec's name of h, "" when this package does not know it.
func (h HResult) Name() string {
	if c, ok := h.Win32(); ok {
		return hresultNames[c]
	}
	return ""
}

// String returns the name and the value as sent, "E_PROXY_NAP_ACCESSDENIED
// (0x800759DB)", or the value alone when the name is unknown.
func (h HResult) String() string {
	if n := h.Name(); n != "" {
		return fmt.Sprintf("%s (0x%08X)", n, uint32(h))
	}
	return fmt.Sprintf("0x%08X", uint32(h))
}
