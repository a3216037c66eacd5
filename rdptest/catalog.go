package rdptest

import (
	"crypto/tls"
	"sync"

	"github.com/rdpprobe/rdpprobe/negotiate"
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
	// NoFixture says why this conversation cannot be replayed from a
	// recording ("" when it can).
	NoFixture string
}

const noReplayKeys = "pubKeyAuth and the sealed messages depend on this run's NTLM session key and TLS key, so a recording cannot be replayed; the scenario test covers it"

func status(s negotiate.NTStatus) Scenario {
	return Scenario{Accounts: accounts(), AfterAuthenticate: Outcome{ErrorCode: s}}
}

func accounts() map[string]string {
	return map[string]string{TestDomain + `\` + TestUser: TestPassword}
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
		{Name: "credssp-v2-unpatched", Spec: cssp, Scenario: Scenario{CredSSPVersion: 2}, Class: "credssp_oracle_server_unpatched", Phase: probe.PhaseNTLMInfo},
		{Name: "credssp-v3-unpatched", Spec: cssp, Scenario: Scenario{CredSSPVersion: 3}, Class: "credssp_oracle_server_unpatched", Phase: probe.PhaseNTLMInfo},
		{Name: "credssp-v4-unpatched", Spec: cssp, Scenario: Scenario{CredSSPVersion: 4}, Class: "credssp_oracle_server_unpatched", Phase: probe.PhaseNTLMInfo},
		{Name: "credssp-v5-ok", Spec: cssp, Scenario: Scenario{CredSSPVersion: 5, Accounts: accounts()}, Password: TestPassword,
			Class: "ok", Phase: probe.PhaseLogon, NoFixture: noReplayKeys},
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
	return es
}

var ecdsaOnce = sync.OnceValue(func() *tls.Certificate {
	c, err := NewCertificate(CertOptions{ECDSA: true, CommonName: "RDS01.corp.example.com"})
	if err != nil {
		panic("rdptest: ECDSA certificate: " + err.Error())
	}
	return &c
})

func ecdsaCert() *tls.Certificate { return ecdsaOnce() }
