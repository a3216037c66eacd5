package rdptest

import (
	"crypto/tls"
	"strings"
	"sync"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/negotiate/tsgu"
	"github.com/rdpprobe/rdpprobe/probe"
)

// The catalog's throwaway account. It exists only inside rdptest servers.
const (
	TestDomain   = "CORP"
	TestUser     = "alice"
	TestPassword = "rdptest-Passw0rd"
	WrongPass    = "not-the-password"
)

// Entry is a named scenario with what a probe of it must conclude.
type Entry struct {
	Name string
	Spec string // the specification section the server's behaviour follows
	Scenario
	Offer    string // probe's --protocols ("" = probe.DefaultOffer)
	Password string // "" = probe without credentials; else log on as CORP\alice with it
	Class    string // classify class ID
	Phase    probe.Phase
	// Depth is the probe's --depth ("" = default); PhaseSession for the
	// scenarios that play the session start.
	Depth probe.Phase
	// RequireTrustedCert and CertSHA256 are the probe's
	// --require-trusted-cert and --cert-sha256.
	RequireTrustedCert bool
	CertSHA256         string
	// NoFixture says why this conversation cannot be replayed from a
	// recording ("" when it can).
	NoFixture string
	// GatewayTransport is the probe's --gateway-transport when the
	// scenario has a gateway ("" = auto).
	GatewayTransport probe.GatewayTransport
}

const noReplayKeys = "pubKeyAuth and the sealed messages depend on this run's NTLM session key and TLS key, so a recording cannot be replayed; the scenario test covers it"

func status(s negotiate.NTStatus) Scenario {
	return Scenario{Accounts: accounts(), AfterAuthenticate: Outcome{ErrorCode: s}}
}

func accounts() map[string]string {
	return map[string]string{TestDomain + `\` + TestUser: TestPassword}
}

// tlsSession is a TLS-only server (no NLA, as xrdp or a Windows server with
// SecurityLayer 1 and UserAuthentication 0) that plays s after the Client
// Info PDU.
func tlsSession(s Session) Scenario {
	return Scenario{Negotiation: Negotiation{Accept: negotiate.ProtocolSSL}, Session: &s}
}

// ServerHangsUp reports whether the scenario's server ends the connection
// itself during the session start, so no Disconnect Provider Ultimatum from
// the client can reach it.
func (e Entry) ServerHangsUp() bool {
	s := e.Scenario.Session
	return s != nil && (s.ErrorInfo != 0 || s.LicenseError != 0 || s.ConnectResult != 0)
}

// Catalog lists one scenario (at least) for every class a server can cause.
func Catalog() []Entry {
	neg := func(code negotiate.FailureCode) Scenario {
		return Scenario{Negotiation: Negotiation{Failure: code}}
	}
	const (
		negRsp  = "MS-RDPBCGR 2.2.1.2.1 (RDP_NEG_RSP)"
		negFail = "MS-RDPBCGR 2.2.1.2.2 (RDP_NEG_FAILURE)"
		cssp    = "MS-CSSP 3.1.5 and 2.2.1 (TSRequest), MS-NLMP 3.2.5"
		errCode = "MS-CSSP 2.2.1 (TSRequest.errorCode, v3+), MS-ERREF 2.3.1"
	)
	es := []Entry{
		{Name: "ok-ntlm-info", Spec: cssp, Class: "ok", Phase: probe.PhaseNTLMInfo},
		{Name: "ok-logon", Spec: cssp, Scenario: Scenario{Accounts: accounts()}, Password: TestPassword,
			Class: "ok", Phase: probe.PhaseLogon, NoFixture: noReplayKeys},
		{Name: "ok-logon-hybrid-ex", Spec: cssp + ", MS-RDPBCGR 2.2.10.2 (Early User Authorization Result)",
			Scenario: Scenario{Accounts: accounts()}, Offer: "nla-ext", Password: TestPassword,
			Class: "ok", Phase: probe.PhaseLogon, NoFixture: noReplayKeys},
		{Name: "ok-logon-ecdsa-cert", Spec: cssp, Scenario: Scenario{Accounts: accounts(), TLS: TLSOptions{Certificate: ecdsaCert()}},
			Password: TestPassword, Class: "ok", Phase: probe.PhaseLogon, NoFixture: noReplayKeys},
		{Name: "tls-only-credentials-not-verified", Spec: negRsp,
			Scenario: Scenario{Negotiation: Negotiation{Accept: negotiate.ProtocolSSL}}, Password: TestPassword,
			Class: "credentials_not_verified", Phase: probe.PhaseTLS},
		{Name: "tls10-only-credentials-not-verified", Spec: negRsp + ", RFC 2246",
			Scenario: Scenario{Negotiation: Negotiation{Accept: negotiate.ProtocolSSL}, TLS: TLSOptions{MaxVersion: tls.VersionTLS10}},
			Password: TestPassword, Class: "credentials_not_verified", Phase: probe.PhaseTLS},
		{Name: "nla-required", Spec: negFail, Offer: "tls", Class: "nla_required", Phase: probe.PhaseNegotiate},
		{Name: "ssl-required", Spec: negFail, Scenario: neg(negotiate.SSLRequiredByServer), Offer: "rdp", Class: "tls_required", Phase: probe.PhaseNegotiate},
		{Name: "ssl-not-allowed", Spec: negFail, Scenario: neg(negotiate.SSLNotAllowedByServer), Class: "tls_not_allowed", Phase: probe.PhaseNegotiate},
		{Name: "ssl-cert-not-on-server", Spec: negFail, Scenario: neg(negotiate.SSLCertNotOnServer), Class: "no_server_certificate", Phase: probe.PhaseNegotiate},
		{Name: "ssl-with-user-auth-required", Spec: negFail, Scenario: neg(negotiate.SSLWithUserAuthRequiredByServer), Class: "tls_client_auth_required", Phase: probe.PhaseNegotiate},
		{Name: "inconsistent-flags", Spec: negFail, Scenario: neg(negotiate.InconsistentFlags), Class: "protocol_error", Phase: probe.PhaseNegotiate},
		{Name: "selects-rdp-for-nla", Spec: negRsp + " (xrdp's answer to a HYBRID-only request)",
			Scenario: Scenario{Negotiation: Negotiation{SelectRDP: true}}, Offer: "nla", Class: "security_layer_mismatch", Phase: probe.PhaseNegotiate},
		{Name: "rdp5-no-negotiation-response", Spec: "MS-RDPBCGR 2.2.1.2 (Connection Confirm without rdpNegData)",
			Scenario: Scenario{Negotiation: Negotiation{NoResponse: true}}, Class: "security_layer_mismatch", Phase: probe.PhaseNegotiate},
		{Name: "x224-disconnect-request", Spec: "X.224 13.5 (DR TPDU)",
			Scenario: Scenario{Negotiation: Negotiation{Disconnect: true}}, Class: "server_closed", Phase: probe.PhaseNegotiate},
		{Name: "garbage-confirm", Spec: "MS-RDPBCGR 2.2.1.2 (a TPKT that is not a Connection Confirm)",
			Scenario: Scenario{Negotiation: Negotiation{Garbage: []byte("\x02\xf0\x80garbage")}}, Class: "protocol_error", Phase: probe.PhaseNegotiate},
		{Name: "http-server", Spec: "RFC 9112 (an HTTP server on the RDP port)", Scenario: Scenario{Fault: Fault{At: probe.PhaseNegotiate, Kind: FaultHTTP}},
			Class: "not_rdp", Phase: probe.PhaseNegotiate},
		{Name: "ssh-server", Spec: "RFC 4253 4.2 (an SSH server on the RDP port)", Scenario: Scenario{Fault: Fault{Kind: FaultSSH}},
			Class: "not_rdp", Phase: probe.PhaseNegotiate},
		{Name: "tls-reset", Spec: "RFC 8446 5.1 (the server resets the TCP connection mid-record)",
			Scenario: Scenario{Fault: Fault{At: probe.PhaseTLS, Kind: FaultReset}}, Class: "tls_failed", Phase: probe.PhaseTLS},
		{Name: "cert-self-signed-trusted-required", Spec: "RFC 5280 6.1 (path validation) of the certificate of MS-RDPBCGR 5.4.5.1",
			RequireTrustedCert: true, Class: "cert_not_trusted", Phase: probe.PhaseTLS},
		{Name: "cert-not-the-pinned-one", Spec: "MS-RDPBCGR 5.4.5.1 (the server's TLS certificate), against a pinned SHA-256 fingerprint",
			CertSHA256: strings.Repeat("0", 64), Class: "cert_not_trusted", Phase: probe.PhaseTLS},
		{Name: "credssp-v2-unpatched", Spec: cssp, Scenario: Scenario{CredSSPVersion: 2}, Class: "credssp_oracle_server_unpatched", Phase: probe.PhaseNTLMInfo},
		{Name: "credssp-v3-unpatched", Spec: cssp, Scenario: Scenario{CredSSPVersion: 3}, Class: "credssp_oracle_server_unpatched", Phase: probe.PhaseNTLMInfo},
		{Name: "credssp-v4-unpatched", Spec: cssp, Scenario: Scenario{CredSSPVersion: 4}, Class: "credssp_oracle_server_unpatched", Phase: probe.PhaseNTLMInfo},
		{Name: "credssp-v5-ok", Spec: cssp, Scenario: Scenario{CredSSPVersion: 5, Accounts: accounts()}, Password: TestPassword,
			Class: "ok", Phase: probe.PhaseLogon, NoFixture: noReplayKeys},
		{Name: "credssp-refused-locked-out", Spec: errCode + " (errorCode in answer to the NTLM NEGOTIATE, before any credential: a faked lockout)",
			Scenario: Scenario{Accounts: accounts(), NegotiateErrorCode: negotiate.StatusAccountLockedOut}, Password: TestPassword,
			Class: "credssp_refused", Phase: probe.PhaseNTLMInfo},
		{Name: "credssp-refused-not-supported", Spec: errCode + " (errorCode in answer to the NTLM NEGOTIATE: NTLM refused)",
			Scenario: Scenario{NegotiateErrorCode: negotiate.StatusNotSupported}, Class: "credssp_refused", Phase: probe.PhaseNTLMInfo},
		{Name: "pubkeyauth-tampered", Spec: cssp + " (a server that cannot prove the TLS key: man in the middle)",
			Scenario: Scenario{Accounts: accounts(), TamperPubKeyAuth: true}, Password: TestPassword,
			Class: "pubkey_auth_mismatch", Phase: probe.PhaseLogon,
			NoFixture: "a replayed pubKeyAuth never matches a new session, so a fixture would pass without tampering; the scenario test covers it"},
		{Name: "bad-password-windows", Spec: errCode + " (Windows answers a wrong password with STATUS_LOGON_FAILURE)",
			Scenario: Scenario{Accounts: accounts()}, Password: WrongPass, Class: "logon_failed", Phase: probe.PhaseLogon},
		{Name: "bad-password-freerdp", Spec: cssp + " (FreeRDP's server closes after a failed AUTHENTICATE)",
			Scenario: Scenario{Accounts: accounts(), BadPassword: Outcome{Close: true}}, Password: WrongPass,
			Class: "credentials_rejected_no_reason", Phase: probe.PhaseLogon},
		{Name: "account-locked-out", Spec: errCode, Scenario: status(negotiate.StatusAccountLockedOut), Password: TestPassword, Class: "account_locked_out", Phase: probe.PhaseLogon},
		{Name: "account-disabled", Spec: errCode, Scenario: status(negotiate.StatusAccountDisabled), Password: TestPassword, Class: "account_disabled", Phase: probe.PhaseLogon},
		{Name: "account-expired", Spec: errCode, Scenario: status(negotiate.StatusAccountExpired), Password: TestPassword, Class: "account_expired", Phase: probe.PhaseLogon},
		{Name: "password-expired", Spec: errCode, Scenario: status(negotiate.StatusPasswordExpired), Password: TestPassword, Class: "password_expired", Phase: probe.PhaseLogon},
		{Name: "password-must-change", Spec: errCode, Scenario: status(negotiate.StatusPasswordMustChange), Password: TestPassword, Class: "password_must_change", Phase: probe.PhaseLogon},
		{Name: "account-restriction", Spec: errCode, Scenario: status(negotiate.StatusAccountRestriction), Password: TestPassword, Class: "account_restriction", Phase: probe.PhaseLogon},
		{Name: "invalid-logon-hours", Spec: errCode, Scenario: status(negotiate.StatusInvalidLogonHours), Password: TestPassword, Class: "invalid_logon_hours", Phase: probe.PhaseLogon},
		{Name: "invalid-workstation", Spec: errCode, Scenario: status(negotiate.StatusInvalidWorkstation), Password: TestPassword, Class: "invalid_workstation", Phase: probe.PhaseLogon},
		{Name: "logon-type-not-granted", Spec: errCode, Scenario: status(negotiate.StatusLogonTypeNotGranted), Password: TestPassword, Class: "logon_type_not_granted", Phase: probe.PhaseLogon},
		{Name: "no-logon-servers", Spec: errCode, Scenario: status(negotiate.StatusNoLogonServers), Password: TestPassword, Class: "no_logon_servers", Phase: probe.PhaseLogon},
		{Name: "trust-relationship-failure", Spec: errCode, Scenario: status(negotiate.StatusTrustedRelationshipFailure), Password: TestPassword, Class: "trust_relationship_failure", Phase: probe.PhaseLogon},
		{Name: "ntlm-blocked", Spec: errCode + " (STATUS_NTLM_BLOCKED: the Restrict NTLM policies)", Scenario: status(negotiate.StatusNTLMBlocked), Password: TestPassword,
			Class: "ntlm_blocked", Phase: probe.PhaseLogon},
		{Name: "authentication-firewall-failed", Spec: errCode, Scenario: status(negotiate.StatusAuthenticationFirewallFailed), Password: TestPassword, Class: "logon_rejected", Phase: probe.PhaseLogon},
		{Name: "close-after-authenticate", Spec: cssp, Scenario: Scenario{Accounts: accounts(), AfterAuthenticate: Outcome{Close: true}}, Password: TestPassword,
			Class: "credentials_rejected_no_reason", Phase: probe.PhaseLogon},
		{Name: "early-user-auth-denied", Spec: "MS-RDPBCGR 2.2.10.2 (Early User Authorization Result ACCESS_DENIED)",
			Scenario: Scenario{Accounts: accounts(), EarlyUserAuth: negotiate.EarlyUserAuthAccessDenied}, Offer: "nla-ext", Password: TestPassword,
			Class: "no_rdp_signin_right", Phase: probe.PhaseLogon, NoFixture: noReplayKeys},
		{Name: "stall-negotiate", Spec: "a server that accepts TCP and never answers", Scenario: Scenario{Fault: Fault{At: probe.PhaseNegotiate, Kind: FaultStall}},
			Class: "timeout", Phase: probe.PhaseNegotiate},
		{Name: "stall-logon", Spec: cssp + " (no answer to AUTHENTICATE: a DC that does not answer)",
			Scenario: Scenario{Accounts: accounts(), Fault: Fault{At: probe.PhaseLogon, Kind: FaultStall}}, Password: TestPassword,
			Class: "timeout", Phase: probe.PhaseLogon},
		{Name: "reset-ntlm-info", Spec: cssp + " (the server resets the connection mid-CHALLENGE)",
			Scenario: Scenario{Fault: Fault{At: probe.PhaseNTLMInfo, Kind: FaultReset}}, Class: "server_closed", Phase: probe.PhaseNTLMInfo},
		{Name: "huge-tpkt", Spec: "RFC 1006 6 (TPKT length 65535)", Scenario: Scenario{Fault: Fault{At: probe.PhaseNegotiate, Kind: FaultHugeTPKT}},
			Class: "protocol_error", Phase: probe.PhaseNegotiate,
			NoFixture: "the probe rejects the header before recording it; inconsistent-flags and garbage-confirm cover protocol_error"},
		{Name: "huge-asn1", Spec: "X.690 8.1.3 (a TSRequest of 2^31 bytes)", Scenario: Scenario{Fault: Fault{At: probe.PhaseNTLMInfo, Kind: FaultHugeASN1}},
			Class: "protocol_error", Phase: probe.PhaseNTLMInfo,
			NoFixture: "the probe rejects the header before recording it"},
	}
	const (
		lic     = "MS-RDPBCGR 2.2.1.12 (licensing), 2.2.1.12.1.3 (LICENSE_ERROR_MESSAGE)"
		errinfo = "MS-RDPBCGR 2.2.5.1 (Set Error Info PDU), 2.2.5.1.1 (errorInfo codes)"
		ssi     = "MS-RDPBCGR 2.2.10.1 (Save Session Info PDU), 2.2.10.1.1.4.1.1 (TS_LOGON_ERRORS_INFO)"
		start   = "MS-RDPBCGR 2.2.1.3-2.2.1.13.1 (MCS, Client Info, licensing, Demand Active)"
		licReq  = lic + ", MS-RDPELE 2.2.2.1 (SERVER_LICENSE_REQUEST), 2.2.2.2 (CLIENT_NEW_LICENSE_REQUEST)"
	)
	logonErr := func(t negotiate.NTStatus, f negotiate.LogonFailure) *negotiate.LogonErrorsInfo {
		return &negotiate.LogonErrorsInfo{Type: negotiate.LogonErrorType(t), Data: uint32(f)}
	}
	ses := probe.PhaseSession
	es = append(es,
		Entry{Name: "session-demand-active", Spec: start, Scenario: tlsSession(Session{}), Depth: ses, Class: "ok", Phase: ses},
		Entry{Name: "session-tls-credentials-not-verified", Spec: start, Scenario: tlsSession(Session{}), Depth: ses, Password: TestPassword,
			Class: "credentials_not_verified", Phase: ses},
		Entry{Name: "session-license-request", Spec: licReq + ", 2.2.2.4 (SERVER_PLATFORM_CHALLENGE)",
			Scenario: tlsSession(Session{LicenseRequest: true, PlatformChallenge: true}),
			Depth:    ses, Password: TestPassword, Class: "credentials_not_verified", Phase: ses},
		Entry{Name: "session-license-request-no-certificate", Spec: lic + ", MS-RDPELE 2.2.2.1 (SERVER_LICENSE_REQUEST without certificate)",
			Scenario: tlsSession(Session{LicenseRequest: true, NoLicenseCertificate: true}),
			Depth:    ses, Password: TestPassword, Class: "credentials_not_verified", Phase: ses},
		Entry{Name: "session-license-request-valid-client", Spec: licReq + ", " + start,
			Scenario: tlsSession(Session{LicenseRequest: true}), Depth: ses, Class: "ok", Phase: ses},
		Entry{Name: "session-license-request-no-license-server", Spec: licReq + ", MS-RDPBCGR 2.2.1.12.1.3 (ERR_NO_LICENSE_SERVER)",
			Scenario: tlsSession(Session{LicenseRequest: true, LicenseError: negotiate.ErrNoLicenseServer, StateTransition: negotiate.StTotalAbort}),
			Depth:    ses, Password: TestPassword, Class: "no_license_server", Phase: ses},
		Entry{Name: "session-license-request-invalid-client", Spec: licReq + ", MS-RDPBCGR 2.2.1.12.1.3 (ERR_INVALID_CLIENT)",
			Scenario: tlsSession(Session{LicenseRequest: true, LicenseError: negotiate.ErrInvalidClient}),
			Depth:    ses, Password: TestPassword, Class: "license_error", Phase: ses},
		Entry{Name: "session-license-request-errinfo-no-license-server", Spec: licReq + ", " + errinfo,
			Scenario: tlsSession(Session{LicenseRequest: true, ErrorInfo: negotiate.ErrInfoLicenseNoLicenseServer}),
			Depth:    ses, Password: TestPassword, Class: "no_license_server", Phase: ses},
		Entry{Name: "session-logged-on", Spec: ssi + ", 2.2.10.1.1.2 (TS_LOGON_INFO_VERSION_2)", Scenario: tlsSession(Session{LoggedOn: true}),
			Depth: ses, Password: TestPassword, Class: "ok", Phase: ses},
		Entry{Name: "session-after-nla", Spec: start + ", after " + cssp, Scenario: Scenario{Accounts: accounts(), Session: &Session{}},
			Depth: ses, Password: TestPassword, Class: "ok", Phase: ses, NoFixture: noReplayKeys},
		Entry{Name: "session-errinfo-no-license-server", Spec: errinfo, Scenario: tlsSession(Session{ErrorInfo: negotiate.ErrInfoLicenseNoLicenseServer}),
			Depth: ses, Password: TestPassword, Class: "no_license_server", Phase: ses},
		Entry{Name: "session-license-error-no-license-server", Spec: lic, Scenario: tlsSession(Session{LicenseError: negotiate.ErrNoLicenseServer}),
			Depth: ses, Password: TestPassword, Class: "no_license_server", Phase: ses},
		Entry{Name: "session-errinfo-license-no-remote-connections", Spec: errinfo,
			Scenario: tlsSession(Session{ErrorInfo: negotiate.ErrInfoLicenseNoRemoteConnections}), Depth: ses, Password: TestPassword,
			Class: "license_error", Phase: ses},
		Entry{Name: "session-license-error-invalid-client", Spec: lic, Scenario: tlsSession(Session{LicenseError: negotiate.ErrInvalidClient}),
			Depth: ses, Password: TestPassword, Class: "license_error", Phase: ses},
		Entry{Name: "session-errinfo-insufficient-privileges", Spec: errinfo,
			Scenario: tlsSession(Session{ErrorInfo: negotiate.ErrInfoServerInsufficientPrivileges}), Depth: ses, Password: TestPassword,
			Class: "server_insufficient_privileges", Phase: ses},
		Entry{Name: "session-errinfo-denied-connection", Spec: errinfo,
			Scenario: tlsSession(Session{ErrorInfo: negotiate.ErrInfoServerDeniedConnection}), Depth: ses, Password: TestPassword,
			Class: "server_denied_connection", Phase: ses},
		Entry{Name: "session-mcs-connect-refused", Spec: "MS-RDPBCGR 2.2.1.4 (MCS Connect Response with a failed result)",
			Scenario: tlsSession(Session{ConnectResult: negotiate.MCSResultUserRejected}), Depth: ses, Class: "server_denied_connection", Phase: ses},
		Entry{Name: "session-errinfo-fresh-credentials-required", Spec: errinfo,
			Scenario: tlsSession(Session{ErrorInfo: negotiate.ErrInfoServerFreshCredentialsRequired}), Depth: ses, Password: TestPassword,
			Class: "fresh_credentials_required", Phase: ses},
		Entry{Name: "session-logon-bad-password", Spec: ssi,
			Scenario: tlsSession(Session{LogonError: logonErr(negotiate.StatusLogonFailure, negotiate.LogonFailedBadPassword)}),
			Depth:    ses, Password: WrongPass, Class: "logon_failed", Phase: ses},
		Entry{Name: "session-logon-update-password", Spec: ssi,
			Scenario: tlsSession(Session{LogonError: logonErr(negotiate.StatusPasswordMustChange, negotiate.LogonFailedUpdatePassword)}),
			Depth:    ses, Password: TestPassword, Class: "password_must_change", Phase: ses},
	)
	return append(es, gatewayCatalog()...)
}

// gatewayCatalog: the RD Gateway's outcomes, each a gateway emulator in
// front of a scenario server (MS-TSGU, HTTP transport unless said).
func gatewayCatalog() []Entry {
	const (
		http    = "MS-TSGU 3.3.5.1 (HTTP transport: RDG_OUT_DATA, RDG_IN_DATA, NTLM in HTTP)"
		tunnel  = "MS-TSGU 3.3.5.2-3.3.5.4 (HTTP_HANDSHAKE, HTTP_TUNNEL, HTTP_TUNNEL_AUTH), 2.2.6 (E_PROXY_*)"
		channel = "MS-TSGU 3.3.5.5 (HTTP_CHANNEL_PACKET, HTTP_CHANNEL_RESPONSE), 2.2.6 (E_PROXY_*)"
		ws      = "MS-TSGU 2.1.2, RFC 6455 (the WebSocket transport)"
	)
	gw := func(g GatewayScenario) Scenario { return Scenario{Accounts: accounts(), Gateway: &g} }
	errs := func(e GatewayErrors) Scenario { return gw(GatewayScenario{Errors: e}) }
	gwd := probe.PhaseGatewayChannel
	return []Entry{
		{Name: "gateway-ok-logon", Spec: http + ", " + channel + ", then MS-CSSP 3.1.5 through the tunnel",
			Scenario: gw(GatewayScenario{}), GatewayTransport: probe.GatewayHTTP, Password: TestPassword, Class: "ok", Phase: probe.PhaseLogon, NoFixture: noReplayKeys},
		{Name: "gateway-ok-logon-websocket", Spec: ws + ", " + channel, Scenario: gw(GatewayScenario{StrictWebSocketKey: true}),
			GatewayTransport: probe.GatewayWebSocket, Password: TestPassword, Class: "ok", Phase: probe.PhaseLogon, NoFixture: noReplayKeys},
		{Name: "gateway-ok-auto-old-gateway", Spec: http + " (a gateway without WebSocket answers the upgrade with 200)",
			Scenario: gw(GatewayScenario{NoWebSocket: true, ChunkedOut: true, Seed: 100}), Password: TestPassword, Class: "ok", Phase: probe.PhaseLogon, NoFixture: noReplayKeys},
		{Name: "gateway-depth-gateway", Spec: http + ", " + channel, Scenario: gw(GatewayScenario{ConsentMessage: "Authorized use only.", Keepalive: true}),
			GatewayTransport: probe.GatewayHTTP, Password: TestPassword, Depth: gwd, Class: "ok", Phase: gwd},
		{Name: "gateway-unreachable", Spec: "RFC 9293 (nothing listens at the gateway's port)", Scenario: gw(GatewayScenario{Down: true}),
			Password: TestPassword, Class: "gateway_unreachable", Phase: probe.PhaseGatewayConnect,
			NoFixture: "no TCP connection: no conversation to record"},
		{Name: "gateway-tls-reset", Spec: "RFC 8446 (the gateway resets the TLS handshake)",
			Scenario: gw(GatewayScenario{Fault: Fault{At: probe.PhaseGatewayTLS, Kind: FaultReset}}), Password: TestPassword,
			Class: "gateway_tls_failed", Phase: probe.PhaseGatewayTLS},
		{Name: "gateway-cert-self-signed", Spec: "RFC 5280 6 (a self-signed gateway certificate, which mstsc refuses)",
			Scenario: gw(GatewayScenario{Certificate: mustDefaultCert()}), Password: TestPassword,
			Class: "gateway_cert_not_trusted", Phase: probe.PhaseGatewayTLS},
		{Name: "gateway-not-rdg-iis-404", Spec: "RFC 9110 15.5.5 (IIS without the RD Gateway role)", Scenario: gw(GatewayScenario{NotRDG: IIS404}),
			Password: TestPassword, Class: "gateway_not_rdg", Phase: probe.PhaseGatewayAuth},
		{Name: "gateway-not-rdg-login-page", Spec: "RFC 9110 15.3.1 (a portal's login page answers 200)",
			Scenario: gw(GatewayScenario{NotRDG: &HTTPAnswer{Status: 200, ContentType: "text/html; charset=utf-8",
				Body: "<html><head><title>Sign in - Corp Portal</title></head><body><form></form></body></html>"}}),
			Password: TestPassword, Class: "gateway_not_rdg", Phase: probe.PhaseGatewayAuth},
		{Name: "gateway-auth-wrong-password", Spec: http + ", MS-NLMP 3.2.5.1.2 (the gateway's NTLM logon fails: 401)",
			Scenario: gw(GatewayScenario{}), Password: WrongPass, Class: "gateway_auth_failed", Phase: probe.PhaseGatewayAuth},
		{Name: "gateway-auth-no-credentials", Spec: http + " (401 and the NTLM CHALLENGE; no credentials to answer it)",
			Scenario: gw(GatewayScenario{}), Class: "gateway_auth_failed", Phase: probe.PhaseGatewayAuth},
		{Name: "gateway-auth-channel-binding-required", Spec: http + ", RFC 5929 4.1 (Extended Protection: the logon must bind TLS)",
			Scenario: gw(GatewayScenario{RequireChannelBinding: true}), Password: TestPassword, Depth: gwd, Class: "ok", Phase: gwd},
		{Name: "gateway-cap-denied", Spec: tunnel + " (the CAP names another user: E_PROXY_NAP_ACCESSDENIED)",
			Scenario: gw(GatewayScenario{CAP: []Policy{{Name: "RDG_CAP_Admins", Users: []string{`CORPob`}}}}), Password: TestPassword,
			Class: "gateway_cap_denied", Phase: probe.PhaseGatewayTunnel},
		{Name: "gateway-rap-denied", Spec: channel + " (the RAP allows another computer: E_PROXY_RAP_ACCESSDENIED)",
			Scenario: gw(GatewayScenario{RAP: []Policy{{Name: "RDG_RAP_Servers", Users: []string{"*"}, Computers: []string{"rds02.corp.example.com"}}}}),
			Password: TestPassword, Class: "gateway_rap_denied", Phase: probe.PhaseGatewayChannel},
		{Name: "gateway-target-unreachable", Spec: channel + " (the target's port is closed: E_PROXY_TS_CONNECTFAILED)",
			Scenario: gw(GatewayScenario{Unreachable: true}), Password: TestPassword, Class: "gateway_target_unreachable", Phase: probe.PhaseGatewayChannel},
		{Name: "gateway-target-unreachable-win32-code", Spec: channel + " (E_PROXY_TS_CONNECTFAILED as the bare Win32 code 0x000059DD)",
			Scenario: errs(GatewayErrors{Channel: 0x000059DD}), Password: TestPassword, Class: "gateway_target_unreachable", Phase: probe.PhaseGatewayChannel},
		{Name: "gateway-internal-error-closed-port", Spec: channel + " (a gateway that says E_PROXY_INTERNALERROR when the target refuses)",
			Scenario: gw(GatewayScenario{Unreachable: true, ConnectFailure: tsgu.EProxyInternalError}), Password: TestPassword,
			Class: "gateway_error", Phase: probe.PhaseGatewayChannel},
		{Name: "gateway-quarantine", Spec: tunnel + " (E_PROXY_QUARANTINE_ACCESSDENIED: a NAP health policy)",
			Scenario: errs(GatewayErrors{TunnelAuth: tsgu.EProxyQuarantineAccessDenied}), Password: TestPassword, Class: "gateway_quarantine", Phase: probe.PhaseGatewayTunnel},
		{Name: "gateway-max-connections", Spec: tunnel + " (E_PROXY_MAXCONNECTIONSREACHED, as an HRESULT)",
			Scenario: errs(GatewayErrors{Tunnel: 0x80070000 | tsgu.EProxyMaxConnectionsReached}), Password: TestPassword, Class: "gateway_max_connections", Phase: probe.PhaseGatewayTunnel},
		{Name: "gateway-capability-mismatch", Spec: tunnel + " (E_PROXY_CAPABILITYMISMATCH: the gateway wants an extended authentication)",
			Scenario: errs(GatewayErrors{Handshake: tsgu.EProxyCapabilityMismatch}), Password: TestPassword, Class: "gateway_error", Phase: probe.PhaseGatewayTunnel},
		{Name: "gateway-garbage", Spec: tunnel + " (a packet of no known type where the HANDSHAKE_RESPONSE is due)",
			Scenario: gw(GatewayScenario{Garbage: []byte{0x42, 0, 0, 0, 0x0c, 0, 0, 0, 1, 2, 3, 4}}), Password: TestPassword,
			Class: "gateway_protocol_error", Phase: probe.PhaseGatewayTunnel},
		{Name: "gateway-stall-channel", Spec: channel + " (the gateway never answers the channel request)",
			Scenario: gw(GatewayScenario{Fault: Fault{At: probe.PhaseGatewayChannel, Kind: FaultStall}}), Password: TestPassword,
			Class: "timeout", Phase: probe.PhaseGatewayChannel},
		{Name: "gateway-target-logon-failed", Spec: channel + ", then MS-CSSP 2.2.1 (the target refuses the logon behind the gateway)",
			Scenario: Scenario{Accounts: accounts(), AfterAuthenticate: Outcome{ErrorCode: negotiate.StatusLogonFailure}, Gateway: &GatewayScenario{}},
			Password: TestPassword, GatewayTransport: probe.GatewayHTTP, Class: "logon_failed", Phase: probe.PhaseLogon},
		{Name: "gateway-target-nla-required", Spec: channel + ", then MS-RDPBCGR 2.2.1.2.2 (HYBRID_REQUIRED_BY_SERVER behind the gateway)",
			Scenario: gw(GatewayScenario{}), Offer: "tls", Password: TestPassword, GatewayTransport: probe.GatewayWebSocket,
			Class: "nla_required", Phase: probe.PhaseNegotiate},
	}
}

func mustDefaultCert() *tls.Certificate {
	c, err := DefaultCertificate()
	if err != nil {
		panic("rdptest: certificate: " + err.Error())
	}
	return &c
}

var ecdsaOnce = sync.OnceValue(func() *tls.Certificate {
	c, err := NewCertificate(CertOptions{ECDSA: true, CommonName: "RDS01.corp.example.com"})
	if err != nil {
		panic("rdptest: ECDSA certificate: " + err.Error())
	}
	return &c
})

func ecdsaCert() *tls.Certificate { return ecdsaOnce() }
