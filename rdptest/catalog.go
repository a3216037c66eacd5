package rdptest

import (
	"crypto/tls"
	"strings"
	"sync"
	"time"

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
	Domain   string // the account's domain part when not TestDomain
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

// noReplayRDPKeys: Standard RDP Security's session keys come from this
// run's client random, so the server's recorded PDUs would not decrypt.
const noReplayRDPKeys = "the session keys of standard RDP security come from this run's client random, so a recording's encrypted PDUs cannot be replayed; the scenario test and the xfreerdp cross-check cover it"

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

// ProbeOptions are the options a probe of the entry runs with: its offer
// and depth, its certificate requirements, CORP\alice (or Domain\alice)
// with Password, its gateway's (but for the address: ThroughGateway), and
// short deadlines. With a password AutologonWithoutNLA
// is set: the catalog's sessions without NLA are about what an autologon
// Client Info meets.
func (e Entry) ProbeOptions() (probe.Options, error) {
	opt := probe.Options{PhaseTimeout: 2 * time.Second, Timeout: 8 * time.Second, Depth: e.Depth,
		RequireTrustedCert: e.RequireTrustedCert, Cert: probe.CertPolicy{SHA256: e.CertSHA256}}
	if e.Offer != "" {
		p, rdp, err := probe.ParseOffer(e.Offer)
		if err != nil {
			return opt, err
		}
		opt.Protocols, opt.AllowStandardRDP = p, rdp
	}
	if e.Password != "" {
		dom := TestDomain
		if e.Domain != "" {
			dom = e.Domain
		}
		opt.Credentials = &probe.Credentials{User: TestUser, Domain: dom, Password: e.Password}
		opt.AutologonWithoutNLA = true
	}
	if e.Scenario.Gateway != nil {
		// Through the scenario's gateway emulator (ThroughGateway gives
		// its address), logging on with the same account and password:
		// mstsc's "use my RD Gateway credentials for the remote computer".
		opt.Gateway = &probe.GatewayOptions{Transport: e.GatewayTransport, Cert: probe.CertPolicy{Roots: TestRoots()}}
		if e.Password != "" {
			opt.Gateway.Credentials = &probe.Credentials{User: TestUser, Domain: TestDomain, Password: e.Password}
		}
	}
	if e.Class == "timeout" {
		opt.PhaseTimeout = 500 * time.Millisecond
	}
	return opt, nil
}

// ThroughGateway gives opt.Gateway, which ProbeOptions set for an entry
// with a gateway, the address of srv's; opt is left alone without one.
func (e Entry) ThroughGateway(opt *probe.Options, srv *Server) {
	if opt.Gateway == nil || srv.Gateway == nil {
		return
	}
	g := *opt.Gateway
	g.Address = srv.Gateway.Addr
	opt.Gateway = &g
}

// stdSession is a server with Standard RDP Security only (no TLS, no NLA)
// that plays s after the Client Info PDU.
func stdSession(std StandardRDPSecurity, s Session) Scenario {
	return Scenario{StandardRDP: &std, Session: &s}
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
		{Name: "ssl-required", Spec: negFail + " (a TLS-only server asked for standard RDP security)",
			Scenario: Scenario{Negotiation: Negotiation{Accept: negotiate.ProtocolSSL}}, Offer: "rdp", Class: "tls_required", Phase: probe.PhaseNegotiate},
		{Name: "ssl-not-allowed", Spec: negFail + " (a standard-RDP-security-only server asked for TLS and NLA)",
			Scenario: Scenario{StandardRDP: &StandardRDPSecurity{Level: negotiate.EncryptionLevelHigh}}, Class: "tls_not_allowed", Phase: probe.PhaseNegotiate},
		{Name: "refusal-contradicts-offer", Spec: negFail + " (SSL_REQUIRED_BY_SERVER to an offer that includes TLS)",
			Scenario: neg(negotiate.SSLRequiredByServer), Class: "refusal_contradicts_offer", Phase: probe.PhaseNegotiate},
		{Name: "ssl-cert-not-on-server", Spec: negFail, Scenario: neg(negotiate.SSLCertNotOnServer), Class: "no_server_certificate", Phase: probe.PhaseNegotiate},
		{Name: "ssl-with-user-auth-required", Spec: negFail, Scenario: neg(negotiate.SSLWithUserAuthRequiredByServer), Class: "tls_client_auth_required", Phase: probe.PhaseNegotiate},
		{Name: "inconsistent-flags", Spec: negFail, Scenario: neg(negotiate.InconsistentFlags), Class: "protocol_error", Phase: probe.PhaseNegotiate},
		{Name: "selects-rdp-for-nla", Spec: negRsp + " (xrdp's answer to a HYBRID-only request)",
			Scenario: Scenario{Negotiation: Negotiation{SelectRDP: true}}, Offer: "nla", Class: "security_layer_mismatch", Phase: probe.PhaseNegotiate},
		{Name: "selects-tls-for-nla", Spec: negRsp + " (PROTOCOL_SSL selected for a HYBRID-only request)",
			Scenario: Scenario{Negotiation: Negotiation{Select: negotiate.ProtocolSSL}}, Offer: "nla", Class: "security_layer_mismatch", Phase: probe.PhaseNegotiate},
		{Name: "rdp5-no-negotiation-response", Spec: "MS-RDPBCGR 2.2.1.2 (Connection Confirm without rdpNegData: a server before RDP 5.2)",
			Scenario: preRDP52(), Class: "pre_rdp52_server", Phase: probe.PhaseNegotiate},
		{Name: "rdp5-no-negotiation-response-offer-rdp", Spec: "MS-RDPBCGR 2.2.1.2 (Connection Confirm without rdpNegData), offered standard RDP security",
			Scenario: preRDP52(), Offer: "rdp", Class: "ok", Phase: probe.PhaseNegotiate},
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
		// A user name whose domain part names none of the server's names:
		// the server's answer decides whether that is the cause.
		{Name: "no-such-domain-foreign-domain", Spec: errCode + " (STATUS_NO_SUCH_DOMAIN for a domain the server does not know)",
			Scenario: Scenario{Accounts: accounts(), BadPassword: Outcome{ErrorCode: negotiate.StatusNoSuchDomain}},
			Password: TestPassword, Domain: "EVIL", Class: "no_logon_servers", Phase: probe.PhaseLogon},
		{Name: "bad-password-foreign-domain", Spec: errCode + " (STATUS_LOGON_FAILURE for an account of an unknown domain)",
			Scenario: Scenario{Accounts: accounts()}, Password: TestPassword, Domain: "EVIL", Class: "logon_failed", Phase: probe.PhaseLogon},
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
	es = append(es, standardSecurityEntries()...)
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

// preRDP52 is a server from before RDP 5.2: its Connection Confirm has no
// RDP_NEG_RSP, and it speaks standard RDP security at Client Compatible.
func preRDP52() Scenario {
	return Scenario{Negotiation: Negotiation{NoResponse: true},
		StandardRDP: &StandardRDPSecurity{Level: negotiate.EncryptionLevelClientCompatible}, Session: &Session{}}
}

// standardSecurityEntries are the session start over Standard RDP Security
// (MS-RDPBCGR 5.3): each method and level, FIPS, both kinds of server
// certificate, keys of odd sizes, the salted MAC, encrypted licensing, the
// key update, and a server whose signatures are wrong. xfreerdp connects to
// the same scenarios (rdptest's TestXFreeRDPStandardSecurity).
func standardSecurityEntries() []Entry {
	const (
		std    = "MS-RDPBCGR 5.3 (Standard RDP Security), 2.2.1.10 (Security Exchange PDU), 2.2.1.4.3 (server security data)"
		rc4    = std + ", 5.3.5.1 (non-FIPS keys), 5.3.6.1 (RC4 and MAC)"
		fips   = std + ", 5.3.5.2 (FIPS keys), 5.3.6.2 (Triple DES and HMAC)"
		licReq = "MS-RDPELE 2.2.2.1 (SERVER_LICENSE_REQUEST), 2.2.2.2 (CLIENT_NEW_LICENSE_REQUEST)"
	)
	ses := probe.PhaseSession
	lvl := func(l negotiate.EncryptionLevel, m negotiate.EncryptionMethod) StandardRDPSecurity {
		return StandardRDPSecurity{Level: l, Methods: m}
	}
	e := func(name, spec string, sc Scenario, password, class string) Entry {
		en := Entry{Name: name, Spec: spec, Scenario: sc, Offer: "rdp", Depth: ses, Password: password, Class: class, Phase: ses, NoFixture: noReplayRDPKeys}
		if sc.StandardRDP.Level == negotiate.EncryptionLevelNone {
			en.NoFixture = ""
		}
		return en
	}
	high := lvl(negotiate.EncryptionLevelHigh, 0)
	return []Entry{
		e("std-level-none", std+", 5.3.1 (ENCRYPTION_LEVEL_NONE)", stdSession(lvl(negotiate.EncryptionLevelNone, 0), Session{}), "", "ok"),
		e("std-40bit-low", rc4+", 5.3.1 (ENCRYPTION_LEVEL_LOW: client to server only)",
			stdSession(lvl(negotiate.EncryptionLevelLow, negotiate.EncryptionMethod40Bit), Session{}), "", "ok"),
		e("std-56bit-client-compatible", rc4+", 5.3.1 (ENCRYPTION_LEVEL_CLIENT_COMPATIBLE)",
			stdSession(lvl(negotiate.EncryptionLevelClientCompatible, negotiate.EncryptionMethod56Bit), Session{}), "", "ok"),
		e("std-128bit-client-compatible-credentials", rc4+", 2.2.1.11.1 (encrypted Client Info with INFO_AUTOLOGON)",
			stdSession(lvl(negotiate.EncryptionLevelClientCompatible, 0), Session{}), TestPassword, "credentials_not_verified"),
		e("std-128bit-high", rc4+", 5.3.1 (ENCRYPTION_LEVEL_HIGH)", stdSession(high, Session{}), "", "ok"),
		e("std-fips", fips+", 5.3.1 (ENCRYPTION_LEVEL_FIPS)", stdSession(lvl(negotiate.EncryptionLevelFIPS, 0), Session{}), "", "ok"),
		e("std-x509-chain", std+", 2.2.1.4.3.1.2 (X.509 certificate chain)",
			stdSession(StandardRDPSecurity{Level: negotiate.EncryptionLevelHigh, X509: true}, Session{}), "", "ok"),
		e("std-511-bit-key", std+", 2.2.1.4.3.1.1.1 (RSA_PUBLIC_KEY of a 511-bit modulus, as xrdp's)",
			stdSession(StandardRDPSecurity{Level: negotiate.EncryptionLevelHigh, KeyBits: 511}, Session{}), "", "ok"),
		e("std-1021-bit-key-license-request", std+", "+licReq+" (no licensing certificate: the key of the security data, 1021 bits)",
			stdSession(StandardRDPSecurity{Level: negotiate.EncryptionLevelClientCompatible, KeyBits: 1021},
				Session{LicenseRequest: true, NoLicenseCertificate: true}), "", "ok"),
		e("std-salted-mac-encrypted-licensing", rc4+", 5.3.6.1.1 (salted MAC), 2.2.8.1.1.2.1 (SEC_LICENSE_ENCRYPT_CS), "+licReq,
			stdSession(StandardRDPSecurity{Level: negotiate.EncryptionLevelHigh, SaltedMAC: true, EncryptLicensing: true},
				Session{LicenseRequest: true}), "", "ok"),
		e("std-key-update", rc4+", 5.3.7 (key update after 4096 PDUs)",
			stdSession(StandardRDPSecurity{Level: negotiate.EncryptionLevelHigh, Flood: 4100}, Session{}), "", "ok"),
		e("std-logged-on", rc4+", 2.2.10.1 (Save Session Info)", stdSession(high, Session{LoggedOn: true}), TestPassword, "ok"),
		e("std-no-license-server", rc4+", MS-RDPBCGR 2.2.1.12.1.3 (ERR_NO_LICENSE_SERVER)",
			stdSession(high, Session{LicenseError: negotiate.ErrNoLicenseServer}), TestPassword, "no_license_server"),
		e("std-wrong-mac", rc4+" (the server's signatures do not verify)",
			stdSession(StandardRDPSecurity{Level: negotiate.EncryptionLevelHigh, WrongMAC: true}, Session{}), "", "protocol_error"),
		e("std-fips-wrong-mac", fips+" (the server's HMACs do not verify)",
			stdSession(StandardRDPSecurity{Level: negotiate.EncryptionLevelFIPS, WrongMAC: true}, Session{}), "", "protocol_error"),
		{Name: "rdp5-no-negotiation-response-session", Spec: "MS-RDPBCGR 2.2.1.2 (no rdpNegData), " + rc4, Scenario: preRDP52(),
			Offer: "rdp", Depth: ses, Class: "ok", Phase: ses, NoFixture: noReplayRDPKeys},
	}
}

var ecdsaOnce = sync.OnceValue(func() *tls.Certificate {
	c, err := NewCertificate(CertOptions{ECDSA: true, CommonName: "RDS01.corp.example.com"})
	if err != nil {
		panic("rdptest: ECDSA certificate: " + err.Error())
	}
	return &c
})

func ecdsaCert() *tls.Certificate { return ecdsaOnce() }
