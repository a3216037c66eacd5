package classify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/negotiate/krb5"
	"github.com/rdpprobe/rdpprobe/probe"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// failed builds the Result of a run that failed in phase ph with err, as
// probe.Run leaves it: deeper facts only for the phases that ran.
func failed(ph probe.Phase, err error) *probe.Result {
	r := &probe.Result{
		Target: "srv.corp.example", Host: "srv.corp.example", Port: 3389, Start: t0,
		User: `CORP\alice`, Credentials: true,
		Offered: negotiate.ProtocolSSL | negotiate.ProtocolHybrid,
		Failed:  ph, Err: err,
	}
	idx := phaseIndex(ph)
	for _, p := range directPhases[:idx+1] {
		r.Timings = append(r.Timings, probe.PhaseTiming{Phase: p, Duration: 20 * time.Millisecond})
	}
	if idx > 0 {
		r.Reached = directPhases[idx-1]
		r.Addr = "192.0.2.10:3389"
	}
	if idx > phaseIndex(probe.PhaseNegotiate) {
		r.Negotiation = &probe.Negotiation{Offered: r.Offered,
			Response: &negotiate.NegotiationResponse{SelectedProtocol: negotiate.ProtocolHybrid}}
	}
	if idx > phaseIndex(probe.PhaseTLS) {
		r.TLS = &probe.TLSInfo{Version: tls.VersionTLS12}
		r.CredSSP = &probe.CredSSPInfo{ClientVersion: 6, ServerVersion: 6}
	}
	if idx > phaseIndex(probe.PhaseNTLMInfo) {
		r.NTLM = &probe.NTLMInfo{NetBIOSDomain: "CORP", DNSDomain: "corp.example",
			NetBIOSComputer: "SRV", DNSComputer: "srv.corp.example", ServerTime: t0}
		r.LogonAttempted = true
	}
	return r
}

// directPhases are the phases of a probe without a gateway.
var directPhases = func() []probe.Phase {
	var ps []probe.Phase
	for _, p := range probe.Phases {
		if !strings.HasPrefix(string(p), "gateway_") {
			ps = append(ps, p)
		}
	}
	return ps
}()

// phaseIndex is ph's place among directPhases.
func phaseIndex(ph probe.Phase) int {
	for i, p := range directPhases {
		if p == ph {
			return i
		}
	}
	panic("unknown phase " + ph)
}

// succeeded builds a successful run that got to phase reached with selected
// as the server's choice.
func succeeded(reached probe.Phase, sel negotiate.Protocol, creds bool) *probe.Result {
	r := failed(directPhases[min(phaseIndex(reached)+1, len(directPhases)-1)], nil)
	r.Failed, r.Reached, r.Credentials = "", reached, creds
	if !creds {
		r.User = ""
	}
	if r.Negotiation != nil {
		r.Negotiation.Response.SelectedProtocol = sel
	}
	if reached == probe.PhaseNTLMInfo || reached == probe.PhaseLogon {
		r.NTLM = &probe.NTLMInfo{NetBIOSDomain: "CORP", NetBIOSComputer: "SRV", ServerTime: t0}
	}
	if phaseIndex(reached) < phaseIndex(probe.PhaseNTLMInfo) {
		r.CredSSP = nil
	}
	r.LogonAttempted = reached == probe.PhaseLogon && creds
	return r
}

func with(r *probe.Result, f func(*probe.Result)) *probe.Result { f(r); return r }

func syscallErr(op string, errno syscall.Errno) error {
	return &net.OpError{Op: op, Net: "tcp", Err: &os.SyscallError{Syscall: op, Err: errno}}
}

func status(s negotiate.NTStatus) error { return &probe.ServerErrorCode{Status: s} }

// offering sets what the client offered in RDP_NEG_REQ.
func offering(p negotiate.Protocol, r *probe.Result) *probe.Result {
	r.Offered = p
	return r
}

func negFail(c negotiate.FailureCode) error { return &negotiate.NegotiationFailure{Code: c} }

type classCase struct {
	name  string
	r     *probe.Result
	class ID
	phase probe.Phase
	exit  int
}

// certRefused is the TLS phase ending because the certificate is not what
// the probe was told to require: here a self-signed one.
func certRefused(err error) *probe.Result {
	r := failed(probe.PhaseTLS, err)
	r.TLS = &probe.TLSInfo{Version: tls.VersionTLS12, Certificate: &probe.CertInfo{
		Subject: "CN=SRV", Issuer: "CN=SRV", CommonName: "SRV", SelfSigned: true, NotBefore: t0.AddDate(0, -1, 0), NotAfter: t0.AddDate(0, 6, 0),
		SHA256: strings.Repeat("cd", 32),
		Trust: &probe.CertTrust{Error: probe.TrustUnknownAuthority, ChainError: probe.TrustUnknownAuthority, Name: r.Host,
			PurposeOK: true, Chain: []probe.ChainCert{{Subject: "CN=SRV", Issuer: "CN=SRV", NotBefore: t0.AddDate(0, -1, 0), NotAfter: t0.AddDate(0, 6, 0)}}},
	}}
	return r
}

// cases is shared by the mapping test, the reachability test and the
// benchmark.
var cases = []classCase{
	// success
	{"no credentials, NTLM info", succeeded(probe.PhaseNTLMInfo, negotiate.ProtocolHybrid, false), "ok", probe.PhaseNTLMInfo, 0},
	{"no credentials, TLS only", succeeded(probe.PhaseTLS, negotiate.ProtocolSSL, false), "ok", probe.PhaseTLS, 0},
	{"logon verified, HYBRID", with(succeeded(probe.PhaseLogon, negotiate.ProtocolHybrid, true), func(r *probe.Result) {
		r.CredSSP.PubKeyAuthVerified, r.CredSSP.CredentialsSent = true, true
	}), "ok", probe.PhaseLogon, 0},
	{"logon verified, HYBRID_EX", with(succeeded(probe.PhaseLogon, negotiate.ProtocolHybridEx, true), func(r *probe.Result) {
		ok := negotiate.EarlyUserAuthSuccess
		r.CredSSP.PubKeyAuthVerified, r.CredSSP.CredentialsSent, r.CredSSP.EarlyUserAuth = true, true, &ok
	}), "ok", probe.PhaseLogon, 0},
	{"credentials, stopped at --depth", succeeded(probe.PhaseTLS, negotiate.ProtocolHybrid, true), "ok", probe.PhaseTLS, 0},
	{"credentials, TLS only", succeeded(probe.PhaseTLS, negotiate.ProtocolSSL, true), "credentials_not_verified", probe.PhaseTLS, 1},
	{"credentials, standard RDP (no negotiation data)", with(succeeded(probe.PhaseNegotiate, 0, true), func(r *probe.Result) {
		r.Negotiation = &probe.Negotiation{Offered: negotiate.ProtocolHybrid}
	}), "credentials_not_verified", probe.PhaseNegotiate, 1},
	{"credentials, connect only", with(succeeded(probe.PhaseConnect, 0, true), func(r *probe.Result) {
		r.Negotiation = nil
	}), "ok", probe.PhaseConnect, 0},

	// connect
	{"dns not found", failed(probe.PhaseConnect, &net.OpError{Op: "dial", Net: "tcp",
		Err: &net.DNSError{Err: "no such host", Name: "srv.corp.example", IsNotFound: true}}), "dns_failure", probe.PhaseConnect, 3},
	{"dns timeout", failed(probe.PhaseConnect, &probe.PhaseTimeoutError{Phase: probe.PhaseConnect,
		Err: &net.DNSError{Err: "i/o timeout", Name: "srv", IsTimeout: true}}), "dns_failure", probe.PhaseConnect, 3},
	{"refused", failed(probe.PhaseConnect, syscallErr("connect", syscall.ECONNREFUSED)), "tcp_refused", probe.PhaseConnect, 3},
	{"host unreachable", failed(probe.PhaseConnect, syscallErr("connect", syscall.EHOSTUNREACH)), "tcp_unreachable", probe.PhaseConnect, 3},
	{"network unreachable", failed(probe.PhaseConnect, syscallErr("connect", syscall.ENETUNREACH)), "tcp_unreachable", probe.PhaseConnect, 3},
	{"dial deadline", failed(probe.PhaseConnect, &probe.PhaseTimeoutError{Phase: probe.PhaseConnect,
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: context.DeadlineExceeded}}), "tcp_timeout", probe.PhaseConnect, 3},
	{"SYN timeout", failed(probe.PhaseConnect, syscallErr("connect", syscall.ETIMEDOUT)), "tcp_timeout", probe.PhaseConnect, 3},
	{"os deadline", failed(probe.PhaseConnect, fmt.Errorf("dial: %w", os.ErrDeadlineExceeded)), "tcp_timeout", probe.PhaseConnect, 3},

	// negotiate
	{"HTTP on the port", failed(probe.PhaseNegotiate, fmt.Errorf("x224: read Connection Confirm: %w",
		&negotiate.NotTPKTError{First: []byte("HTTP")})), "not_rdp", probe.PhaseNegotiate, 4},
	{"HYBRID_REQUIRED", offering(negotiate.ProtocolSSL, failed(probe.PhaseNegotiate, negFail(negotiate.HybridRequiredByServer))), "nla_required", probe.PhaseNegotiate, 4},
	{"SSL_REQUIRED", offering(negotiate.ProtocolRDP, failed(probe.PhaseNegotiate, negFail(negotiate.SSLRequiredByServer))), "tls_required", probe.PhaseNegotiate, 4},
	// FreeRDP's /sec:ext server refuses a request that offers what it
	// demands: a well-formed refusal, of the negotiation group.
	{"SSL_REQUIRED to an offer of SSL", failed(probe.PhaseNegotiate, negFail(negotiate.SSLRequiredByServer)), "refusal_contradicts_offer", probe.PhaseNegotiate, 4},
	{"HYBRID_REQUIRED to an offer of HYBRID", failed(probe.PhaseNegotiate, negFail(negotiate.HybridRequiredByServer)), "refusal_contradicts_offer", probe.PhaseNegotiate, 4},
	{"SSL_NOT_ALLOWED", failed(probe.PhaseNegotiate, negFail(negotiate.SSLNotAllowedByServer)), "tls_not_allowed", probe.PhaseNegotiate, 4},
	{"no RDP_NEG_RSP to an offer without standard RDP security", failed(probe.PhaseNegotiate, &probe.NoNegotiationResponseError{
		Offered: negotiate.ProtocolSSL | negotiate.ProtocolHybrid}), "pre_rdp52_server", probe.PhaseNegotiate, 4},
	{"a server PDU's MAC does not verify", sessionOver(negotiate.ProtocolRDP, false, fmt.Errorf("mcs: %w", &negotiate.MACError{Count: 3}), nil),
		"protocol_error", probe.PhaseSession, 7},
	{"SSL_CERT_NOT_ON_SERVER", failed(probe.PhaseNegotiate, negFail(negotiate.SSLCertNotOnServer)), "no_server_certificate", probe.PhaseNegotiate, 4},
	{"SSL_WITH_USER_AUTH", failed(probe.PhaseNegotiate, negFail(negotiate.SSLWithUserAuthRequiredByServer)), "tls_client_auth_required", probe.PhaseNegotiate, 4},
	{"INCONSISTENT_FLAGS", failed(probe.PhaseNegotiate, negFail(negotiate.InconsistentFlags)), "protocol_error", probe.PhaseNegotiate, 7},
	{"unknown failure code", failed(probe.PhaseNegotiate, negFail(99)), "protocol_error", probe.PhaseNegotiate, 7},
	{"xrdp selects RDP for HYBRID", failed(probe.PhaseNegotiate, &probe.ProtocolMismatchError{
		Offered: negotiate.ProtocolHybrid, Selected: negotiate.ProtocolRDP}), "security_layer_mismatch", probe.PhaseNegotiate, 4},
	{"closed instead of CC", failed(probe.PhaseNegotiate, fmt.Errorf("x224: read Connection Confirm: %w", io.EOF)), "server_closed", probe.PhaseNegotiate, 6},
	{"disconnect request", failed(probe.PhaseNegotiate, fmt.Errorf("x224: %w (reason 1)", negotiate.ErrDisconnectRequest)), "server_closed", probe.PhaseNegotiate, 6},
	{"TPKT but not CC", failed(probe.PhaseNegotiate, fmt.Errorf("x224: %w: TPDU code 0xf0, want Connection Confirm (0xd0)", negotiate.ErrMalformed)), "protocol_error", probe.PhaseNegotiate, 7},
	{"negotiate timeout", failed(probe.PhaseNegotiate, &probe.PhaseTimeoutError{Phase: probe.PhaseNegotiate,
		Err: fmt.Errorf("x224: read Connection Confirm: %w", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded})}), "timeout", probe.PhaseNegotiate, 6},

	// tls
	{"tls alert", failed(probe.PhaseTLS, fmt.Errorf("tls: handshake: %w", tls.AlertError(70))), "tls_failed", probe.PhaseTLS, 4},
	{"tls not tls", failed(probe.PhaseTLS, fmt.Errorf("tls: handshake: %w", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"})), "tls_failed", probe.PhaseTLS, 4},
	{"tls dropped", failed(probe.PhaseTLS, fmt.Errorf("tls: handshake: %w", io.EOF)), "tls_failed", probe.PhaseTLS, 4},
	{"tls reset", failed(probe.PhaseTLS, fmt.Errorf("tls: handshake: %w", syscallErr("read", syscall.ECONNRESET))), "tls_failed", probe.PhaseTLS, 4},
	{"tls other", failed(probe.PhaseTLS, errors.New("something odd")), "tls_failed", probe.PhaseTLS, 4},
	{"tls timeout", failed(probe.PhaseTLS, &probe.PhaseTimeoutError{Phase: probe.PhaseTLS, Err: context.DeadlineExceeded}), "timeout", probe.PhaseTLS, 6},
	{"certificate not trusted, trusted required", certRefused(&probe.CertNotTrustedError{Reason: probe.TrustUnknownAuthority}), "cert_not_trusted", probe.PhaseTLS, 4},
	{"certificate not the pinned one", certRefused(&probe.CertNotTrustedError{Pinned: strings.Repeat("ab", 32), Got: strings.Repeat("cd", 32)}), "cert_not_trusted", probe.PhaseTLS, 4},

	// ntlm_info
	{"CredSSP v3", failed(probe.PhaseNTLMInfo, &probe.CredSSPVersionError{Server: 3}), "credssp_oracle_server_unpatched", probe.PhaseNTLMInfo, 4},
	{"closed after NEGOTIATE", failed(probe.PhaseNTLMInfo, fmt.Errorf("credssp: read TSRequest: %w", io.ErrUnexpectedEOF)), "server_closed", probe.PhaseNTLMInfo, 6},
	{"reset after NEGOTIATE", failed(probe.PhaseNTLMInfo, fmt.Errorf("credssp: send TSRequest: %w", syscallErr("write", syscall.EPIPE))), "server_closed", probe.PhaseNTLMInfo, 6},
	{"malformed TSRequest", failed(probe.PhaseNTLMInfo, fmt.Errorf("credssp: %w: expected one NTLM CHALLENGE, got 0 negoTokens", negotiate.ErrMalformed)), "protocol_error", probe.PhaseNTLMInfo, 7},
	{"errorCode before logon", failed(probe.PhaseNTLMInfo, status(0xC0001234)), "credssp_refused", probe.PhaseNTLMInfo, 4},
	{"fake lockout before logon", failed(probe.PhaseNTLMInfo, status(negotiate.StatusAccountLockedOut)), "credssp_refused", probe.PhaseNTLMInfo, 4},
	{"fake lockout after a Kerberos fallback", with(failed(probe.PhaseNTLMInfo, status(negotiate.StatusAccountLockedOut)), func(r *probe.Result) {
		r.LogonAttempted = true // the KDC saw a pre-authentication, the NTLM NEGOTIATE names no account
	}), "credssp_refused", probe.PhaseNTLMInfo, 4},
	{"NTLM blocked at the NEGOTIATE", failed(probe.PhaseNTLMInfo, status(negotiate.StatusNTLMBlocked)), "ntlm_blocked", probe.PhaseNTLMInfo, 6},

	// logon
	{"pubKeyAuth mismatch", failed(probe.PhaseLogon, &probe.PubKeyAuthError{Reason: "hash differs"}), "pubkey_auth_mismatch", probe.PhaseLogon, 4},
	{"LOGON_FAILURE", failed(probe.PhaseLogon, status(negotiate.StatusLogonFailure)), "logon_failed", probe.PhaseLogon, 5},
	{"WRONG_PASSWORD", failed(probe.PhaseLogon, status(negotiate.StatusWrongPassword)), "logon_failed", probe.PhaseLogon, 5},
	{"NO_SUCH_USER", failed(probe.PhaseLogon, status(negotiate.StatusNoSuchUser)), "logon_failed", probe.PhaseLogon, 5},
	{"SEC_E_LOGON_DENIED", failed(probe.PhaseLogon, status(negotiate.NTStatus(0x8009030C))), "logon_failed", probe.PhaseLogon, 5},
	{"LOCKED_OUT", failed(probe.PhaseLogon, fmt.Errorf("logon: %w", status(negotiate.NTStatus(0xC0000234)))), "account_locked_out", probe.PhaseLogon, 5},
	{"DISABLED", failed(probe.PhaseLogon, status(negotiate.NTStatus(0xC0000072))), "account_disabled", probe.PhaseLogon, 5},
	{"ACCOUNT_EXPIRED", failed(probe.PhaseLogon, status(negotiate.NTStatus(0xC0000193))), "account_expired", probe.PhaseLogon, 5},
	{"PASSWORD_EXPIRED", failed(probe.PhaseLogon, status(negotiate.NTStatus(0xC0000071))), "password_expired", probe.PhaseLogon, 5},
	{"PASSWORD_MUST_CHANGE", failed(probe.PhaseLogon, status(negotiate.NTStatus(0xC0000224))), "password_must_change", probe.PhaseLogon, 5},
	{"ACCOUNT_RESTRICTION", failed(probe.PhaseLogon, status(negotiate.NTStatus(0xC000006E))), "account_restriction", probe.PhaseLogon, 5},
	{"INVALID_LOGON_HOURS", failed(probe.PhaseLogon, status(negotiate.NTStatus(0xC000006F))), "invalid_logon_hours", probe.PhaseLogon, 5},
	{"LOGIN_TIME_RESTRICTION", failed(probe.PhaseLogon, status(negotiate.NTStatus(0xC0000247))), "invalid_logon_hours", probe.PhaseLogon, 5},
	{"INVALID_WORKSTATION", failed(probe.PhaseLogon, status(negotiate.NTStatus(0xC0000070))), "invalid_workstation", probe.PhaseLogon, 5},
	{"LOGIN_WKSTA_RESTRICTION", failed(probe.PhaseLogon, status(negotiate.NTStatus(0xC0000248))), "invalid_workstation", probe.PhaseLogon, 5},
	{"LOGON_TYPE_NOT_GRANTED", failed(probe.PhaseLogon, status(negotiate.NTStatus(0xC000015B))), "logon_type_not_granted", probe.PhaseLogon, 5},
	{"NO_LOGON_SERVERS", failed(probe.PhaseLogon, status(negotiate.NTStatus(0xC000005E))), "no_logon_servers", probe.PhaseLogon, 6},
	{"DOMAIN_CONTROLLER_NOT_FOUND", failed(probe.PhaseLogon, status(negotiate.NTStatus(0xC0000233))), "no_logon_servers", probe.PhaseLogon, 6},
	{"NO_SUCH_DOMAIN", failed(probe.PhaseLogon, status(negotiate.NTStatus(0xC00000DF))), "no_logon_servers", probe.PhaseLogon, 6},
	{"TRUSTED_RELATIONSHIP_FAILURE", failed(probe.PhaseLogon, status(negotiate.NTStatus(0xC000018D))), "trust_relationship_failure", probe.PhaseLogon, 6},
	{"TRUSTED_DOMAIN_FAILURE", failed(probe.PhaseLogon, status(negotiate.NTStatus(0xC000018C))), "trust_relationship_failure", probe.PhaseLogon, 6},
	{"NO_TRUST_SAM_ACCOUNT", failed(probe.PhaseLogon, status(negotiate.NTStatus(0xC000018B))), "trust_relationship_failure", probe.PhaseLogon, 6},
	{"unknown status", failed(probe.PhaseLogon, status(negotiate.NTStatus(0xC0000413))), "logon_rejected", probe.PhaseLogon, 5},
	{"closed after AUTHENTICATE", failed(probe.PhaseLogon, &probe.ClosedAfterAuthenticateError{
		Err: fmt.Errorf("credssp: read TSRequest: %w", io.EOF)}), "credentials_rejected_no_reason", probe.PhaseLogon, 5},
	{"reset after AUTHENTICATE", failed(probe.PhaseLogon, &probe.ClosedAfterAuthenticateError{
		Err: syscallErr("read", syscall.ECONNRESET)}), "credentials_rejected_no_reason", probe.PhaseLogon, 5},
	{"EUA ACCESS_DENIED", failed(probe.PhaseLogon, &probe.EarlyUserAuthError{Result: negotiate.EarlyUserAuthAccessDenied}),
		"no_rdp_signin_right", probe.PhaseLogon, 5},
	{"logon timeout", failed(probe.PhaseLogon, &probe.PhaseTimeoutError{Phase: probe.PhaseLogon,
		Err: &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}}), "timeout", probe.PhaseLogon, 6},
	{"cancelled", failed(probe.PhaseLogon, fmt.Errorf("credssp: read TSRequest: %w", context.Canceled)), "timeout", probe.PhaseLogon, 6},
	{"EUA read closed", failed(probe.PhaseLogon, fmt.Errorf("early user authorization: read result: %w", io.EOF)), "server_closed", probe.PhaseLogon, 6},
	{"tls alert mid-logon", failed(probe.PhaseLogon, fmt.Errorf("credssp: read TSRequest: %w", &probe.TLSAlertError{Alert: 20, Remote: true, Err: errors.New("remote error: tls: bad record MAC")})), "tls_failed", probe.PhaseLogon, 4},
	// Kerberos (the kerberos phase at the KDC; the logon phase at the server)
	{"kdc preauth failed", krbFailed(probe.PhaseKerberos, kdcErr(krb5.KDCErrPreauthFailed, 0, "")), "logon_failed", probe.PhaseKerberos, 5},
	{"kdc no such client", krbFailed(probe.PhaseKerberos, kdcErr(krb5.KDCErrCPrincipalUnknown, 0, "")), "logon_failed", probe.PhaseKerberos, 5},
	{"kdc revoked, locked out", krbFailed(probe.PhaseKerberos, kdcErr(krb5.KDCErrClientRevoked, negotiate.StatusAccountLockedOut, "")), "account_locked_out", probe.PhaseKerberos, 5},
	{"kdc revoked, disabled", krbFailed(probe.PhaseKerberos, kdcErr(krb5.KDCErrClientRevoked, negotiate.StatusAccountDisabled, "")), "account_disabled", probe.PhaseKerberos, 5},
	{"kdc revoked, logon hours", krbFailed(probe.PhaseKerberos, kdcErr(krb5.KDCErrClientRevoked, negotiate.StatusInvalidLogonHours, "")), "invalid_logon_hours", probe.PhaseKerberos, 5},
	{"kdc revoked, no status", krbFailed(probe.PhaseKerberos, kdcErr(krb5.KDCErrClientRevoked, 0, "LOCKED_OUT")), "account_revoked", probe.PhaseKerberos, 5},
	{"kdc key expired", krbFailed(probe.PhaseKerberos, kdcErr(krb5.KDCErrKeyExpired, 0, "CLIENT KEY EXPIRED")), "password_expired", probe.PhaseKerberos, 5},
	{"kdc must change, e-text", krbFailed(probe.PhaseKerberos, kdcErr(krb5.KDCErrKeyExpired, 0, "REQUIRED PWCHANGE")), "password_must_change", probe.PhaseKerberos, 5},
	{"kdc must change, status", krbFailed(probe.PhaseKerberos, kdcErr(krb5.KDCErrKeyExpired, negotiate.StatusPasswordMustChange, "")), "password_must_change", probe.PhaseKerberos, 5},
	{"kdc name expired", krbFailed(probe.PhaseKerberos, kdcErr(krb5.KDCErrNameExp, 0, "")), "account_expired", probe.PhaseKerberos, 5},
	{"kdc policy", krbFailed(probe.PhaseKerberos, kdcErr(krb5.KDCErrPolicy, 0, "")), "account_restriction", probe.PhaseKerberos, 5},
	{"kdc no spn", krbFailed(probe.PhaseKerberos, kdcErr(krb5.KDCErrSPrincipalUnknown, 0, "")), "kerberos_spn_unknown", probe.PhaseKerberos, 4},
	{"kdc etype", krbFailed(probe.PhaseKerberos, kdcErr(krb5.KDCErrETypeNoSupp, 0, "")), "kerberos_etype_unsupported", probe.PhaseKerberos, 5},
	{"no common etype", krbFailed(probe.PhaseKerberos, krb5.ErrNoCommonEType), "kerberos_etype_unsupported", probe.PhaseKerberos, 5},
	{"kdc skew", krbFailed(probe.PhaseKerberos, kdcErr(krb5.KRBAPErrSkew, 0, "")), "kerberos_clock_skew", probe.PhaseKerberos, 6},
	{"no kdc answered", krbFailed(probe.PhaseKerberos, &krb5.KDCUnreachableError{Step: krb5.StepASNoPreauth,
		Tried: []krb5.KDCAttempt{{KDC: "192.0.2.53:88", Network: "tcp", Err: errors.New("connection refused")}}}), "kdc_unreachable", probe.PhaseKerberos, 6},
	{"kerberos unavailable", krbFailed(probe.PhaseKerberos, &probe.KerberosUnavailableError{Why: "no KDC for CORP.EXAMPLE.COM (krb5.conf: no entry)"}), "kdc_unreachable", probe.PhaseKerberos, 6},
	{"kerberos for an address", krbFailed(probe.PhaseKerberos, &probe.KerberosUnavailableError{Why: "the target is an IP address: no SPN", NoSPN: true}), "kerberos_spn_unknown", probe.PhaseKerberos, 4},
	{"ap modified", krbFailed(probe.PhaseLogon, &krb5.APError{KRBError: krb5.KRBError{Code: krb5.KRBAPErrModified}}), "kerberos_ticket_rejected", probe.PhaseLogon, 6},
	{"ap skew", krbFailed(probe.PhaseLogon, &krb5.APError{KRBError: krb5.KRBError{Code: krb5.KRBAPErrSkew, ServerTime: t0, LocalTime: t0.Add(time.Hour)}}), "kerberos_clock_skew", probe.PhaseLogon, 6},
	{"ntlm blocked", failed(probe.PhaseLogon, &probe.ServerErrorCode{Status: negotiate.StatusNTLMBlocked}), "ntlm_blocked", probe.PhaseLogon, 6},

	{"no certificate to bind", failed(probe.PhaseLogon, errors.New("credssp: the server sent no certificate to bind the logon to")), "protocol_error", probe.PhaseLogon, 7},

	// session phase (--depth session), over TLS without NLA
	{"session: valid client, demand active, no credentials", sessionOver(negotiate.ProtocolSSL, false, nil, func(s *probe.SessionInfo) {
		s.License, s.DemandActive = validClient(), true
	}), "ok", probe.PhaseSession, 0},
	{"session: demand active, credentials unjudged", sessionOver(negotiate.ProtocolSSL, true, nil, func(s *probe.SessionInfo) {
		s.License, s.DemandActive = validClient(), true
	}), "credentials_not_verified", probe.PhaseSession, 1},
	{"session: license requested, credentials unjudged", sessionOver(negotiate.ProtocolSSL, true, nil, func(s *probe.SessionInfo) {
		s.License = &probe.LicenseInfo{Outcome: probe.LicenseRequested, MsgType: negotiate.LicenseRequestMsg}
	}), "credentials_not_verified", probe.PhaseSession, 1},
	{"session: license platform challenge, credentials unjudged", sessionOver(negotiate.ProtocolSSL, true, nil, func(s *probe.SessionInfo) {
		s.License = &probe.LicenseInfo{Outcome: probe.LicenseChallenged, MsgType: negotiate.PlatformChallengeMsg, NewLicenseRequestSent: true}
	}), "credentials_not_verified", probe.PhaseSession, 1},
	{"session: license platform challenge, no credentials", sessionOver(negotiate.ProtocolSSL, false, nil, func(s *probe.SessionInfo) {
		s.License = &probe.LicenseInfo{Outcome: probe.LicenseChallenged, MsgType: negotiate.PlatformChallengeMsg, NewLicenseRequestSent: true}
	}), "ok", probe.PhaseSession, 0},
	{"session: logged on without NLA", sessionOver(negotiate.ProtocolSSL, true, nil, func(s *probe.SessionInfo) {
		s.License, s.LoggedOn = validClient(), true
	}), "ok", probe.PhaseSession, 0},
	{"session: after NLA logon, demand active", with(sessionOver(negotiate.ProtocolHybrid, true, nil, func(s *probe.SessionInfo) {
		s.License, s.DemandActive = validClient(), true
	}), func(r *probe.Result) { r.CredSSP.PubKeyAuthVerified, r.CredSSP.CredentialsSent = true, true }), "ok", probe.PhaseSession, 0},
	{"session: standard RDP skipped", with(succeeded(probe.PhaseNegotiate, 0, false), func(r *probe.Result) {
		r.Session = &probe.SessionInfo{Skipped: "standard RDP security"}
	}), "ok", probe.PhaseNegotiate, 0},
	{"session: License Error ERR_NO_LICENSE_SERVER", sessionOver(negotiate.ProtocolSSL, true, licenseErr(negotiate.ErrNoLicenseServer), nil),
		"no_license_server", probe.PhaseSession, 6},
	{"session: License Error ERR_NO_LICENSE", sessionOver(negotiate.ProtocolSSL, true, licenseErr(negotiate.ErrNoLicense), nil),
		"no_license_server", probe.PhaseSession, 6},
	{"session: License Error ERR_INVALID_CLIENT", sessionOver(negotiate.ProtocolSSL, true, licenseErr(negotiate.ErrInvalidClient), nil),
		"license_error", probe.PhaseSession, 6},
	{"session: ERRINFO_LICENSE_NO_LICENSE_SERVER", sessionOver(negotiate.ProtocolSSL, true, errInfo(negotiate.ErrInfoLicenseNoLicenseServer), nil),
		"no_license_server", probe.PhaseSession, 6},
	{"session: ERRINFO_LICENSE_NO_LICENSE", sessionOver(negotiate.ProtocolSSL, true, errInfo(negotiate.ErrInfoLicenseNoLicense), nil),
		"license_error", probe.PhaseSession, 6},
	{"session: ERRINFO_LICENSE_NO_REMOTE_CONNECTIONS", sessionOver(negotiate.ProtocolHybrid, true, errInfo(negotiate.ErrInfoLicenseNoRemoteConnections), nil),
		"license_error", probe.PhaseSession, 6},
	{"session: ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES", sessionOver(negotiate.ProtocolSSL, true, errInfo(negotiate.ErrInfoServerInsufficientPrivileges), nil),
		"server_insufficient_privileges", probe.PhaseSession, 5},
	{"session: ERRINFO_SERVER_DENIED_CONNECTION", sessionOver(negotiate.ProtocolSSL, true, errInfo(negotiate.ErrInfoServerDeniedConnection), nil),
		"server_denied_connection", probe.PhaseSession, 6},
	{"session: ERRINFO_SERVER_FRESH_CREDENTIALS_REQUIRED", sessionOver(negotiate.ProtocolSSL, true, errInfo(negotiate.ErrInfoServerFreshCredentialsRequired), nil),
		"fresh_credentials_required", probe.PhaseSession, 5},
	{"session: ERRINFO_LOGOFF_BY_USER", sessionOver(negotiate.ProtocolSSL, true, errInfo(negotiate.ErrInfoLogoffByUser), nil),
		"server_closed", probe.PhaseSession, 6},
	{"session: LOGON_FAILED_BAD_PASSWORD", sessionOver(negotiate.ProtocolSSL, true, logonErr(negotiate.LogonErrorType(negotiate.StatusLogonFailure), negotiate.LogonFailedBadPassword), nil),
		"logon_failed", probe.PhaseSession, 5},
	{"session: LOGON_FAILED_BAD_PASSWORD, unknown status", sessionOver(negotiate.ProtocolSSL, true, logonErr(0xC0001234, negotiate.LogonFailedBadPassword), nil),
		"logon_failed", probe.PhaseSession, 5},
	{"session: LOGON_FAILED_UPDATE_PASSWORD", sessionOver(negotiate.ProtocolSSL, true, logonErr(0xC0001234, negotiate.LogonFailedUpdatePassword), nil),
		"password_must_change", probe.PhaseSession, 5},
	{"session: STATUS_PASSWORD_EXPIRED, update password", sessionOver(negotiate.ProtocolSSL, true, logonErr(negotiate.LogonErrorType(negotiate.StatusPasswordExpired), negotiate.LogonFailedUpdatePassword), nil),
		"password_expired", probe.PhaseSession, 5},
	{"session: STATUS_ACCOUNT_RESTRICTION", sessionOver(negotiate.ProtocolSSL, true, logonErr(negotiate.LogonErrorType(negotiate.StatusAccountRestriction), negotiate.LogonFailedOther), nil),
		"account_restriction", probe.PhaseSession, 5},
	{"session: LOGON_FAILED_OTHER", sessionOver(negotiate.ProtocolSSL, true, logonErr(0xC0001234, negotiate.LogonFailedOther), nil),
		"logon_rejected", probe.PhaseSession, 5},
	{"session: ERROR_CODE_ACCESS_DENIED", sessionOver(negotiate.ProtocolSSL, true, logonErr(negotiate.ErrorCodeAccessDenied, negotiate.LogonFailedOther), nil),
		"server_insufficient_privileges", probe.PhaseSession, 5},
	{"session: MCS Connect Response refused", sessionOver(negotiate.ProtocolSSL, true,
		&negotiate.MCSResultError{PDU: "Connect-Response", Result: negotiate.MCSResultUserRejected}, nil),
		"server_denied_connection", probe.PhaseSession, 6},
	{"session: Disconnect Provider Ultimatum", sessionOver(negotiate.ProtocolSSL, true,
		&probe.ServerDisconnectError{Reason: negotiate.MCSReasonProviderInitiated}, nil), "server_closed", probe.PhaseSession, 6},
	{"session: closed after valid client", sessionOver(negotiate.ProtocolSSL, true, fmt.Errorf("mcs: read server PDU: %w", io.EOF),
		func(s *probe.SessionInfo) { s.License = validClient() }), "server_closed", probe.PhaseSession, 6},
	{"session: timeout", sessionOver(negotiate.ProtocolSSL, true, &probe.PhaseTimeoutError{Phase: probe.PhaseSession,
		Err: &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}}, nil), "timeout", probe.PhaseSession, 6},
}

// sessionOver builds a run with --depth session over sel (SSL: TLS only;
// HYBRID: after a good NLA logon) that ended with err (nil: cleanly), its
// session facts set by f.
func sessionOver(sel negotiate.Protocol, creds bool, err error, f func(*probe.SessionInfo)) *probe.Result {
	var r *probe.Result
	if err != nil {
		r = failed(probe.PhaseSession, err)
	} else {
		r = succeeded(probe.PhaseSession, sel, creds)
	}
	r.Negotiation.Response.SelectedProtocol = sel
	if sel == negotiate.ProtocolSSL {
		r.CredSSP, r.NTLM, r.LogonAttempted = nil, nil, false
		for i, t := range r.Timings {
			if t.Phase == probe.PhaseNTLMInfo {
				r.Timings = append(r.Timings[:i:i], r.Timings[i+2:]...)
				break
			}
		}
		if err == nil {
			r.Reached = probe.PhaseSession
		}
	} else if err != nil {
		r.CredSSP.PubKeyAuthVerified, r.CredSSP.CredentialsSent = true, true
	}
	r.Credentials = creds
	if !creds {
		r.User = ""
	}
	r.Session = &probe.SessionInfo{ClientInfoSent: true, Autologon: creds && sel == negotiate.ProtocolSSL, DisconnectSent: true}
	if f != nil {
		f(r.Session)
	}
	return r
}

func validClient() *probe.LicenseInfo {
	return &probe.LicenseInfo{Outcome: probe.LicenseValidClient, MsgType: negotiate.ErrorAlertMsg,
		ErrorCode: negotiate.StatusValidClient, StateTransition: negotiate.StNoTransition}
}

func licenseErr(c negotiate.LicenseErrorCode) error {
	return &negotiate.LicenseErrorMessage{ErrorCode: c, StateTransition: negotiate.StTotalAbort}
}

func errInfo(c negotiate.ErrorInfo) error { return &probe.SetErrorInfoError{Code: c} }

func logonErr(t negotiate.LogonErrorType, f negotiate.LogonFailure) error {
	return &probe.SessionLogonError{Info: negotiate.LogonErrorsInfo{Type: t, Data: uint32(f)}}
}

func TestClassify(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Classify(c.r)
			if v.Class.ID != c.class {
				t.Fatalf("class = %q, want %q (detail %q)", v.Class.ID, c.class, v.Detail)
			}
			if v.Phase != c.phase {
				t.Errorf("phase = %q, want %q", v.Phase, c.phase)
			}
			if got := v.ExitCode(); got != c.exit {
				t.Errorf("exit code = %d, want %d", got, c.exit)
			}
			if v.OK != (c.class == "ok") {
				t.Errorf("OK = %v for class %s", v.OK, c.class)
			}
			if v.Detail == "" {
				t.Error("empty detail")
			}
			if v.Class.Title == "" {
				t.Error("verdict carries no table row")
			}
		})
	}
}

// TestDetails pins the facts each detail must carry (codes, numbers, not
// the negotiate package's String()s).
func TestDetails(t *testing.T) {
	tests := []struct {
		r    *probe.Result
		want []string
	}{
		{succeeded(probe.PhaseNTLMInfo, negotiate.ProtocolHybrid, false), []string{"reached the NTLM CHALLENGE; no logon was tried (no credentials given)"}},
		{succeeded(probe.PhaseTLS, negotiate.ProtocolHybrid, true), []string{"no logon was tried (the probe stopped before the logon)"}},
		{succeeded(probe.PhaseTLS, negotiate.ProtocolSSL, true), []string{`CORP\alice`, "not verified"}},
		{failed(probe.PhaseLogon, status(negotiate.StatusLogonFailure)), []string{"0xC000006D", `CORP\alice`}},
		{failed(probe.PhaseLogon, status(0xC0001234)), []string{"0xC0001234"}},
		{failed(probe.PhaseNTLMInfo, status(0xC0001234)), []string{"NTLM NEGOTIATE", "0xC0001234", "before any credential was sent", "no logon was attempted"}},
		{failed(probe.PhaseNTLMInfo, status(negotiate.StatusAccountLockedOut)), []string{"STATUS_ACCOUNT_LOCKED_OUT (0xC0000234)",
			"says nothing about CORP\\alice", "names an account state, account_locked_out", "the account is not affected"}},
		{failed(probe.PhaseNegotiate, negFail(negotiate.HybridRequiredByServer)), []string{"(5)"}},
		{failed(probe.PhaseNegotiate, &negotiate.NotTPKTError{First: []byte("SSH-")}), []string{"an SSH banner", "3389"}},
		{failed(probe.PhaseNTLMInfo, &probe.CredSSPVersionError{Server: 3}), []string{"version 3"}},
		{failed(probe.PhaseTLS, io.EOF), []string{"dropped the TLS handshake"}},
		{certRefused(&probe.CertNotTrustedError{Reason: probe.TrustUnknownAuthority}),
			[]string{"CN=SRV", "self-signed and not itself among the trusted roots", "--require-trusted-cert", "before sending anything"}},
		{certRefused(&probe.CertNotTrustedError{Pinned: strings.Repeat("ab", 32), Got: strings.Repeat("cd", 32)}),
			[]string{strings.Repeat("ab", 32), strings.Repeat("cd", 32), "--cert-sha256", "not trusted either: it is self-signed"}},
		{failed(probe.PhaseConnect, syscallErr("connect", syscall.ECONNREFUSED)), []string{"srv.corp.example", "3389"}},
		{failed(probe.PhaseLogon, &probe.PhaseTimeoutError{Phase: probe.PhaseLogon, Err: context.DeadlineExceeded}), []string{"the logon", "20ms"}},
		{failed(probe.PhaseLogon, &probe.EarlyUserAuthError{Result: negotiate.EarlyUserAuthAccessDenied}), []string{"ACCESS_DENIED"}},
		{failed(probe.PhaseNegotiate, &probe.ProtocolMismatchError{Offered: negotiate.ProtocolHybrid}), []string{"did not take NLA", "--protocols rdp"}},
		{failed(probe.PhaseNegotiate, &probe.ProtocolMismatchError{Offered: negotiate.ProtocolHybrid, Selected: negotiate.ProtocolSSL}),
			[]string{"--protocols tls"}},
		{failed(probe.PhaseNegotiate, &probe.ProtocolMismatchError{Offered: negotiate.ProtocolHybrid, Selected: negotiate.ProtocolRDSTLS}),
			[]string{"PROTOCOL_RDSTLS, which was not offered"}},
		// A Client Info without the password: the detail does not say
		// the credentials went to the server. Under TLS it names the
		// certificate that proved nothing; under standard RDP security
		// the probe's own reason (which says the layer).
		{sessionOver(negotiate.ProtocolSSL, true, nil, func(s *probe.SessionInfo) {
			s.ClientInfoSent, s.DemandActive, s.Autologon, s.PasswordWithheld = true, true, false, "nothing authenticated the server"
		}), []string{"without the password, withheld because the server's certificate is neither trusted nor pinned", "nothing checked the credentials"}},
		{sessionOver(negotiate.ProtocolRDP, true, nil, func(s *probe.SessionInfo) {
			s.ClientInfoSent, s.DemandActive, s.Autologon, s.PasswordWithheld = true, true, false, "nothing authenticated the server"
		}), []string{"without the password, so nothing checked the credentials: nothing authenticated the server"}},
		{sessionOver(negotiate.ProtocolRDP, true, nil, func(s *probe.SessionInfo) {
			s.ClientInfoSent, s.DemandActive, s.IOChannel = true, true, 1003
			s.EncryptionMethod, s.EncryptionLevel = negotiate.EncryptionMethod128Bit, negotiate.EncryptionLevelHigh
			s.StandardSecurity = &probe.StandardSecurityInfo{ServerCertificate: "proprietary", ServerKeyBits: 2048, SecurityExchangeSent: true}
		}), []string{"standard RDP security (ENCRYPTION_METHOD_128BIT at ENCRYPTION_LEVEL_HIGH, under the server's 2048-bit proprietary RSA key) does not authenticate the server"}},
		{sessionOver(negotiate.ProtocolRDP, false, fmt.Errorf("mcs: %w", &negotiate.MACError{}), nil), []string{"signature check", "altered"}},
		{failed(probe.PhaseNegotiate, &probe.NoNegotiationResponseError{Offered: negotiate.ProtocolSSL}),
			[]string{"no RDP_NEG_RSP", "predates RDP 5.2", "--protocols rdp"}},
		{sessionOver(negotiate.ProtocolSSL, true, errInfo(negotiate.ErrInfoLicenseNoRemoteConnections), nil),
			[]string{"ERRINFO_LICENSE_NO_REMOTE_CONNECTIONS", "0x0000010A", "not licensed to accept remote connections"}},
		{sessionOver(negotiate.ProtocolSSL, true, licenseErr(negotiate.ErrInvalidClient), nil), []string{"ERR_INVALID_CLIENT", "0x00000008", "ST_TOTAL_ABORT"}},
		{sessionOver(negotiate.ProtocolSSL, true, logonErr(negotiate.LogonErrorType(negotiate.StatusLogonFailure), negotiate.LogonFailedBadPassword), nil),
			[]string{`CORP\alice`, "LOGON_FAILED_BAD_PASSWORD"}},
		{sessionOver(negotiate.ProtocolSSL, true, nil, func(s *probe.SessionInfo) { s.License, s.DemandActive = validClient(), true }),
			[]string{"Client Info", "no verdict", "Demand Active", "STATUS_VALID_CLIENT"}},
		{sessionOver(negotiate.ProtocolSSL, false, nil, func(s *probe.SessionInfo) {
			s.License = &probe.LicenseInfo{Outcome: probe.LicenseRequested, MsgType: negotiate.LicenseRequestMsg, CompanyName: "Microsoft Corporation", ProductID: "236"}
		}), []string{"asked for a client license", "LICENSE_REQUEST", "236"}},
		{sessionOver(negotiate.ProtocolSSL, false, nil, func(s *probe.SessionInfo) {
			s.License = &probe.LicenseInfo{Outcome: probe.LicenseChallenged, MsgType: negotiate.PlatformChallengeMsg, NewLicenseRequestSent: true,
				CompanyName: "Microsoft Corporation", ProductID: "A02"}
		}), []string{"NEW_LICENSE_REQUEST for Microsoft Corporation product A02", "PLATFORM_CHALLENGE", "no license servers",
			"would make the server issue a client access license"}},
		{sessionOver(negotiate.ProtocolSSL, false, nil, func(s *probe.SessionInfo) {
			s.License = &probe.LicenseInfo{Outcome: probe.LicenseRequested, MsgType: negotiate.LicenseRequestMsg,
				NoNewLicenseRequest: "the LICENSE_REQUEST carries no server certificate"}
		}), []string{"asked for a client license", "could not answer it (the LICENSE_REQUEST carries no server certificate)"}},
		{sessionOver(negotiate.ProtocolSSL, true, licenseErr(negotiate.ErrNoLicenseServer), func(s *probe.SessionInfo) {
			s.License = &probe.LicenseInfo{Outcome: probe.LicenseError, MsgType: negotiate.ErrorAlertMsg, NewLicenseRequestSent: true}
		}), []string{"ERR_NO_LICENSE_SERVER", "in answer to the probe's NEW_LICENSE_REQUEST"}},
		{sessionOver(negotiate.ProtocolSSL, true, nil, func(s *probe.SessionInfo) {
			s.License, s.DemandActive = validClient(), true
			s.License.NewLicenseRequestSent = true
		}), []string{"STATUS_VALID_CLIENT in answer to the probe's NEW_LICENSE_REQUEST"}},
		{sessionOver(negotiate.ProtocolSSL, true, fmt.Errorf("mcs: read server PDU: %w", io.EOF), func(s *probe.SessionInfo) { s.License = validClient() }),
			[]string{"session start", "licensing had passed"}},
		{sessionOver(negotiate.ProtocolSSL, true, nil, func(s *probe.SessionInfo) {
			s.License, s.DemandActive, s.Autologon, s.PasswordWithheld = validClient(), true, false, "nothing authenticated it"
		}), []string{`named CORP\alice without the password, withheld because the server's certificate is neither trusted nor pinned`,
			"nothing checked the credentials", "--ca-file", "--cert-sha256", "--autologon-without-nla", "autologon_without_nla", "take the risk"}},
		{sessionOver(negotiate.ProtocolSSL, true, logonErr(negotiate.LogonErrorType(negotiate.StatusLogonFailure), negotiate.LogonFailedBadPassword),
			func(s *probe.SessionInfo) { s.Autologon, s.PasswordWithheld = false, "nothing authenticated it" }),
			[]string{"LOGON_FAILED_BAD_PASSWORD", "the Client Info carried no password: nothing authenticated it", "--autologon-without-nla"}},
		{with(succeeded(probe.PhaseNegotiate, 0, false), func(r *probe.Result) { r.Session = &probe.SessionInfo{Skipped: "standard RDP security"} }),
			[]string{"session phase was skipped: standard RDP security"}},
	}
	for _, tt := range tests {
		v := Classify(tt.r)
		for _, w := range tt.want {
			if !strings.Contains(v.Detail, w) {
				t.Errorf("%s: detail %q lacks %q", v.Class.ID, v.Detail, w)
			}
		}
	}
}

// reserved classes have no mapping yet.
var reserved = map[ID]bool{}

func TestEveryClassReachable(t *testing.T) {
	seen := map[ID]bool{}
	for _, c := range cases {
		seen[Classify(c.r).Class.ID] = true
	}
	for _, c := range Classes {
		switch {
		case reserved[c.ID] && seen[c.ID]:
			t.Errorf("%s is listed as reserved but Classify produces it", c.ID)
		case !reserved[c.ID] && !seen[c.ID]:
			t.Errorf("no Result reaches class %s", c.ID)
		}
	}
	for id := range seen {
		if _, ok := Lookup(id); !ok {
			t.Errorf("Classify produced %q, which is not in the table", id)
		}
	}
}

// wantExit is the documented exit code of every class: changing a group is
// an API change and must show up here.
var wantExit = map[ID]int{
	"ok":                       0,
	"credentials_not_verified": 1,
	"dns_failure":              3, "tcp_refused": 3, "tcp_timeout": 3, "tcp_unreachable": 3,
	"not_rdp": 4, "nla_required": 4, "tls_required": 4, "tls_not_allowed": 4, "no_server_certificate": 4,
	"tls_client_auth_required": 4, "security_layer_mismatch": 4, "refusal_contradicts_offer": 4, "pre_rdp52_server": 4,
	"tls_failed": 4, "cert_not_trusted": 4,
	"credssp_oracle_server_unpatched": 4, "pubkey_auth_mismatch": 4, "credssp_refused": 4,
	"logon_failed": 5, "account_locked_out": 5, "account_disabled": 5, "account_expired": 5,
	"password_expired": 5, "password_must_change": 5, "account_restriction": 5, "invalid_logon_hours": 5,
	"invalid_workstation": 5, "logon_type_not_granted": 5, "credentials_rejected_no_reason": 5,
	"logon_rejected": 5, "no_rdp_signin_right": 5,
	"no_logon_servers": 6, "trust_relationship_failure": 6, "server_closed": 6, "timeout": 6, "no_license_server": 6,
	"license_error": 6, "server_denied_connection": 6, "server_insufficient_privileges": 5, "fresh_credentials_required": 5,
	"protocol_error":  7,
	"account_revoked": 5, "kerberos_etype_unsupported": 5, "kerberos_spn_unknown": 4,
	"kdc_unreachable": 6, "kerberos_clock_skew": 6, "kerberos_ticket_rejected": 6, "ntlm_blocked": 6,
}

// wantLocksAccount and wantAccountLevel are the classes after which the
// exporter and the sweep stop logging on: like exit codes, changing one is
// an API change.
var (
	wantLocksAccount = map[ID]bool{
		"logon_failed": true, "account_locked_out": true, "account_disabled": true, "account_expired": true,
		"password_expired": true, "password_must_change": true, "account_restriction": true, "invalid_logon_hours": true,
		"invalid_workstation": true, "logon_type_not_granted": true, "credentials_rejected_no_reason": true,
		"logon_rejected": true, "no_rdp_signin_right": true, "server_insufficient_privileges": true,
		"fresh_credentials_required": true, "account_revoked": true,
	}
	wantAccountLevel = map[ID]bool{
		"account_locked_out": true, "account_disabled": true, "account_expired": true,
		"password_expired": true, "password_must_change": true, "account_revoked": true,
	}
)

func TestTable(t *testing.T) {
	idRE := regexp.MustCompile(`^[a-z0-9_]+$`)
	ids := map[ID]bool{}
	for _, c := range Classes {
		if !idRE.MatchString(string(c.ID)) {
			t.Errorf("class ID %q does not match %s", c.ID, idRE)
		}
		if ids[c.ID] {
			t.Errorf("duplicate class ID %q", c.ID)
		}
		ids[c.ID] = true
		for field, s := range map[string]string{"Title": c.Title, "WindowsSays": c.WindowsSays, "Cause": c.Cause, "Fix": c.Fix, "Group": string(c.Group)} {
			if strings.TrimSpace(s) == "" {
				t.Errorf("%s: empty %s", c.ID, field)
			}
		}
		want, ok := wantExit[c.ID]
		if !ok {
			t.Errorf("%s: no documented exit code", c.ID)
		} else if got := c.Group.ExitCode(); got != want {
			t.Errorf("%s: exit code %d, want %d", c.ID, got, want)
		}
		nagios := NagiosCritical
		switch c.ID {
		case "ok":
			nagios = NagiosOK
		case "credentials_not_verified":
			nagios = NagiosWarning
		}
		if got := (Verdict{Class: c}).NagiosCode(); got != nagios {
			t.Errorf("%s: nagios %d, want %d", c.ID, got, nagios)
		}
		if c.LocksAccount != wantLocksAccount[c.ID] {
			t.Errorf("%s: LocksAccount %v, want %v", c.ID, c.LocksAccount, wantLocksAccount[c.ID])
		}
		if c.AccountLevel != wantAccountLevel[c.ID] {
			t.Errorf("%s: AccountLevel %v, want %v", c.ID, c.AccountLevel, wantAccountLevel[c.ID])
		}
		if c.AccountLevel && !c.LocksAccount {
			t.Errorf("%s: account-level but not LocksAccount: the sweep would not count it", c.ID)
		}
		if got, ok := Lookup(c.ID); !ok || got.ID != c.ID {
			t.Errorf("Lookup(%q) = %v, %v", c.ID, got.ID, ok)
		}
	}
	for id := range wantExit {
		if !ids[id] {
			t.Errorf("documented class %q missing from the table", id)
		}
	}
	if _, ok := Lookup("nope"); ok {
		t.Error("Lookup of an unknown ID succeeded")
	}
	// NLA not enforced makes an ok verdict a Nagios WARNING, and nothing worse.
	okClass, _ := Lookup(OK)
	nla := Finding{ID: FindingNLANotEnforced, Severity: SeverityWarning}
	if got := (Verdict{Class: okClass, OK: true, Findings: []Finding{nla}}).NagiosCode(); got != NagiosWarning {
		t.Errorf("ok with nla_not_enforced: nagios %d", got)
	}
	refused, _ := Lookup(TCPRefused)
	if got := (Verdict{Class: refused, Findings: []Finding{nla}}).NagiosCode(); got != NagiosCritical {
		t.Errorf("a critical verdict with nla_not_enforced: nagios %d", got)
	}
	for _, c := range Classes {
		if c.Group.ExitCode() == ExitUsage || c.Group.NagiosCode() == NagiosUnknown {
			t.Errorf("%s uses the command line's usage code", c.ID)
		}
	}
}

// TestWindowsSays pins the messages the field reports quote.
func TestWindowsSays(t *testing.T) {
	for id, want := range map[ID]string{
		"dns_failure":                     "Remote Desktop can't find the computer",
		"nla_required":                    "The remote computer requires Network Level Authentication, which your computer does not support",
		"credssp_oracle_server_unpatched": "This could be due to CredSSP encryption oracle remediation",
		"no_logon_servers":                "The Local Security Authority cannot be contacted",
		"logon_failed":                    "Your credentials did not work",
		"no_rdp_signin_right":             "This computer can't connect to the remote computer",
		"no_license_server":               "there are no Remote Desktop License Servers available to provide a license",
	} {
		c, _ := Lookup(id)
		if !strings.Contains(c.WindowsSays, want) {
			t.Errorf("%s: WindowsSays %q lacks %q", id, c.WindowsSays, want)
		}
	}
	for id, want := range map[ID][]string{
		"credssp_oracle_server_unpatched": {"AllowEncryptionOracle=2", "Vulnerable", "Update the server", "remote code execution"},
		"no_license_server":               {"mstsc /admin"},
		"no_rdp_signin_right":             {"Remote Desktop Users"},
		"no_logon_servers":                {"local"},
		"trust_relationship_failure":      {"cached credentials", "local account"},
		"credentials_not_verified":        {"+auth-only"},
	} {
		c, _ := Lookup(id)
		text := c.Cause + " " + c.Fix
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: cause/fix lacks %q", id, w)
			}
		}
	}
}

func TestPureAndNil(t *testing.T) {
	for _, c := range cases {
		a, b := Classify(c.r), Classify(c.r)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: two calls differ", c.name)
		}
	}
	if v := Classify(nil); v.Class.ID != "protocol_error" {
		t.Errorf("Classify(nil) = %q", v.Class.ID)
	}
	if got := (Verdict{}).ExitCode(); got != ExitProtocol {
		t.Errorf("zero Verdict exit code = %d", got)
	}
}

func findingIDs(v Verdict) map[string]Finding {
	m := map[string]Finding{}
	for _, f := range v.Findings {
		m[f.ID] = f
	}
	return m
}

func TestFindings(t *testing.T) {
	tlsRun := func(f func(*probe.Result)) *probe.Result {
		return with(succeeded(probe.PhaseNTLMInfo, negotiate.ProtocolHybrid, false), func(r *probe.Result) {
			r.TLS = &probe.TLSInfo{Version: tls.VersionTLS12, Certificate: &probe.CertInfo{
				Subject: "CN=SRV", NotBefore: t0.AddDate(0, -1, 0), NotAfter: t0.AddDate(0, 6, 0)}}
			f(r)
		})
	}
	account := func(user string) *probe.Result {
		return with(failed(probe.PhaseLogon, status(negotiate.StatusLogonFailure)), func(r *probe.Result) { r.User = user })
	}
	tests := []struct {
		name    string
		r       *probe.Result
		want    []string
		notWant []string
	}{
		{"clean", tlsRun(func(r *probe.Result) {}), nil,
			[]string{"credssp_version", FindingTLSWeakVersion, FindingCertSelfSigned, FindingCertExpired, FindingCertExpiring, FindingNLANotEnforced, FindingClockSkew, FindingDomainMismatch, FindingKerberosRC4}},
		{"self-signed", tlsRun(func(r *probe.Result) { r.TLS.Certificate.SelfSigned = true }), []string{FindingCertSelfSigned}, nil},
		{"kerberos rc4 only", tlsRun(func(r *probe.Result) {
			r.Auth = &probe.AuthInfo{Requested: probe.AuthNegotiate, Mechanism: probe.MechKerberos, RC4Only: true}
		}), []string{FindingKerberosRC4}, nil},
		{"kerberos aes", tlsRun(func(r *probe.Result) {
			r.Auth = &probe.AuthInfo{Requested: probe.AuthNegotiate, Mechanism: probe.MechKerberos, EType: "aes256-cts-hmac-sha1-96"}
		}), nil, []string{FindingKerberosRC4}},
		{"expiring", tlsRun(func(r *probe.Result) { r.TLS.Certificate.NotAfter = t0.Add(10 * 24 * time.Hour) }),
			[]string{FindingCertExpiring}, []string{FindingCertExpired}},
		{"expired", tlsRun(func(r *probe.Result) { r.TLS.Certificate.NotAfter = t0.Add(-24 * time.Hour) }),
			[]string{FindingCertExpired}, []string{FindingCertExpiring, FindingCertNotYetValid}},
		{"not yet valid", tlsRun(func(r *probe.Result) { r.TLS.Certificate.NotBefore = t0.Add(3 * 24 * time.Hour) }),
			[]string{FindingCertNotYetValid}, []string{FindingCertExpired, FindingCertExpiring}},
		{"not yet valid, short-lived", tlsRun(func(r *probe.Result) {
			r.TLS.Certificate.NotBefore, r.TLS.Certificate.NotAfter = t0.Add(time.Hour), t0.Add(10*24*time.Hour)
		}), []string{FindingCertNotYetValid}, []string{FindingCertExpired, FindingCertExpiring}},
		{"no clock", tlsRun(func(r *probe.Result) { r.Start = time.Time{}; r.TLS.Certificate.NotAfter = t0.Add(-24 * time.Hour) }),
			nil, []string{FindingCertExpired, FindingCertExpiring}},
		{"TLS 1.0", tlsRun(func(r *probe.Result) { r.TLS.Version = tls.VersionTLS10 }), []string{FindingTLSWeakVersion}, nil},
		{"TLS 1.3", tlsRun(func(r *probe.Result) { r.TLS.Version = tls.VersionTLS13 }), nil, []string{FindingTLSWeakVersion}},
		{"skew ahead", tlsRun(func(r *probe.Result) { r.NTLM.ClockSkew = 6 * time.Minute }), []string{FindingClockSkew}, nil},
		{"skew behind", tlsRun(func(r *probe.Result) { r.NTLM.ClockSkew = -10 * time.Minute }), []string{FindingClockSkew}, nil},
		{"skew small", tlsRun(func(r *probe.Result) { r.NTLM.ClockSkew = 4 * time.Minute }), nil, []string{FindingClockSkew}},
		{"skew without timestamp", tlsRun(func(r *probe.Result) { r.NTLM.ClockSkew = time.Hour; r.NTLM.ServerTime = time.Time{} }), nil, []string{FindingClockSkew}},
		{"NLA offered, TLS selected", succeeded(probe.PhaseTLS, negotiate.ProtocolSSL, false), []string{FindingNLANotEnforced}, nil},
		{"NLA offered, RDP selected", succeeded(probe.PhaseNegotiate, negotiate.ProtocolRDP, false), []string{FindingNLANotEnforced}, nil},
		{"NLA selected", succeeded(probe.PhaseTLS, negotiate.ProtocolHybrid, false), nil, []string{FindingNLANotEnforced}},
		{"TLS offered and selected", with(succeeded(probe.PhaseTLS, negotiate.ProtocolSSL, false), func(r *probe.Result) {
			r.Offered, r.Negotiation.Offered = negotiate.ProtocolSSL, negotiate.ProtocolSSL
		}), nil, []string{FindingNLANotEnforced}},
		{"negotiation failure", with(failed(probe.PhaseNegotiate, negFail(negotiate.SSLNotAllowedByServer)), func(r *probe.Result) {
			r.Negotiation = &probe.Negotiation{Offered: r.Offered, Failure: &negotiate.NegotiationFailure{Code: negotiate.SSLNotAllowedByServer}}
		}), nil, []string{FindingNLANotEnforced}},
		{"domain mismatch", account(`EVIL\bob`), []string{FindingDomainMismatch}, nil},
		{"domain matches NetBIOS domain, other case", account(`corp\bob`), nil, []string{FindingDomainMismatch}},
		{"domain matches DNS domain", account(`CORP.EXAMPLE\bob`), nil, []string{FindingDomainMismatch}},
		{"domain is the computer", account(`srv\bob`), []string{FindingAccountChecked}, []string{FindingDomainMismatch}},
		{"domain is the DNS computer name", account(`srv.corp.example\bob`), []string{FindingAccountChecked}, []string{FindingDomainMismatch}},
		{"dot", account(`.\bob`), []string{FindingAccountChecked}, []string{FindingDomainMismatch}},
		{"domain account", account(`CORP\bob`), []string{FindingAccountChecked}, []string{FindingDomainMismatch}},
		{"UPN", account(`bob@evil.example`), nil, []string{FindingDomainMismatch, FindingAccountChecked}},
		{"bare user", account(`bob`), nil, []string{FindingDomainMismatch, FindingAccountChecked}},
		{"foreign domain: mismatch, not a claim about the account", account(`EVIL\bob`), []string{FindingDomainMismatch}, []string{FindingAccountChecked}},
		{"no NTLM info", with(failed(probe.PhaseTLS, io.EOF), func(r *probe.Result) { r.User = `EVIL\bob` }), nil, []string{FindingDomainMismatch}},
		// A logon that worked settles the domain part.
		{"logged on with a foreign domain", with(succeeded(probe.PhaseLogon, negotiate.ProtocolHybrid, true), func(r *probe.Result) {
			r.User, r.LogonAttempted = `EVIL\bob`, true
		}), nil, []string{FindingDomainMismatch}},
		{"not logged on yet, foreign domain", with(succeeded(probe.PhaseNTLMInfo, negotiate.ProtocolHybrid, true), func(r *probe.Result) {
			r.User = `EVIL\bob`
		}), []string{FindingDomainMismatch}, nil},
		{"standard RDP security", with(succeeded(probe.PhaseNegotiate, negotiate.ProtocolRDP, false), func(r *probe.Result) {
			r.Offered, r.Negotiation.Offered, r.AllowStandardRDP = 0, 0, true
		}), []string{FindingStandardRDPSecurity}, []string{FindingNLANotEnforced, FindingPreRDP52}},
		{"no RDP_NEG_RSP, standard RDP offered", with(succeeded(probe.PhaseNegotiate, negotiate.ProtocolRDP, false), func(r *probe.Result) {
			r.Offered, r.AllowStandardRDP = 0, true
			r.Negotiation = &probe.Negotiation{}
		}), []string{FindingStandardRDPSecurity, FindingPreRDP52}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := findingIDs(Classify(tt.r))
			for _, id := range tt.want {
				f, ok := got[id]
				if !ok {
					t.Errorf("missing finding %s (got %v)", id, got)
					continue
				}
				if f.Text == "" || f.Severity == "" {
					t.Errorf("%s: empty text or severity", id)
				}
			}
			for _, id := range tt.notWant {
				if _, ok := got[id]; ok {
					t.Errorf("unexpected finding %s: %q", id, got[id].Text)
				}
			}
		})
	}
}

// TestAccountChecked: the finding says which account database the server
// consults, in words that name it.
func TestAccountChecked(t *testing.T) {
	for _, tc := range []struct {
		user string
		ntlm probe.NTLMInfo
		want []string
	}{
		{`.\bob`, probe.NTLMInfo{NetBIOSDomain: "CORP", NetBIOSComputer: "SRV"}, []string{"local account", "SRV", "own account database"}},
		{`srv\bob`, probe.NTLMInfo{NetBIOSDomain: "CORP", NetBIOSComputer: "SRV"}, []string{"local account", "user bob"}},
		{`CORP\bob`, probe.NTLMInfo{NetBIOSDomain: "CORP", NetBIOSComputer: "SRV", DNSDomain: "corp.example"}, []string{"domain corp.example", "domain controller"}},
		// A workgroup server gives its own name as the domain.
		{`WS1\bob`, probe.NTLMInfo{NetBIOSDomain: "WS1", NetBIOSComputer: "WS1"}, []string{"local account"}},
	} {
		r := with(failed(probe.PhaseLogon, status(negotiate.StatusLogonFailure)), func(r *probe.Result) {
			r.User = tc.user
			n := tc.ntlm
			r.NTLM = &n
		})
		f, ok := findingIDs(Classify(r))[FindingAccountChecked]
		if !ok {
			t.Errorf("%s: no %s finding", tc.user, FindingAccountChecked)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(f.Text, w) {
				t.Errorf("%s: %q lacks %q", tc.user, f.Text, w)
			}
		}
	}
}

// TestDomainMismatchInDetail: the domain part is named as the likely cause
// only when the server's own answer blames the authority for it; a wrong
// password or a silent close leaves it a finding (the lab's FreeRDP server
// accepts LAB\user though its CHALLENGE says VM: TestLikelyCauseEvidence).
func TestDomainMismatchInDetail(t *testing.T) {
	v := Classify(with(failed(probe.PhaseLogon, status(negotiate.StatusNoSuchDomain)), func(r *probe.Result) { r.User = `EVIL\bob` }))
	if !strings.Contains(v.Detail, "likely cause") || !strings.Contains(v.Detail, "EVIL") || !strings.Contains(v.Detail, "SRV") {
		t.Errorf("STATUS_NO_SUCH_DOMAIN with a foreign domain: detail %q does not blame it", v.Detail)
	}
	v = Classify(with(failed(probe.PhaseLogon, status(negotiate.StatusLogonFailure)), func(r *probe.Result) { r.User = `EVIL\bob` }))
	if strings.Contains(v.Detail, "likely cause") {
		t.Errorf("a wrong password blamed on the domain: %q", v.Detail)
	}
	f := findingIDs(v)[FindingDomainMismatch]
	if !strings.Contains(f.Text, "SRV") || !strings.Contains(f.Text, "CORP") || !strings.Contains(f.Text, "EVIL") {
		t.Errorf("finding text %q lacks the names", f.Text)
	}
	v = Classify(failed(probe.PhaseLogon, status(negotiate.StatusLogonFailure)))
	if strings.Contains(v.Detail, "likely cause") {
		t.Errorf("matching domain blamed: %q", v.Detail)
	}
	v = Classify(with(failed(probe.PhaseLogon, status(negotiate.StatusAccountLockedOut)), func(r *probe.Result) { r.User = `EVIL\bob` }))
	if strings.Contains(v.Detail, "likely cause") {
		t.Errorf("lockout blamed on the domain: %q", v.Detail)
	}
}

func TestSecurityLayerMismatchNoDuplicateFinding(t *testing.T) {
	r := with(failed(probe.PhaseNegotiate, &probe.ProtocolMismatchError{Offered: negotiate.ProtocolHybrid}), func(r *probe.Result) {
		r.Negotiation = &probe.Negotiation{Offered: negotiate.ProtocolHybrid,
			Response: &negotiate.NegotiationResponse{SelectedProtocol: negotiate.ProtocolRDP}}
	})
	if _, ok := findingIDs(Classify(r))[FindingNLANotEnforced]; ok {
		t.Error("security_layer_mismatch repeats itself as nla_not_enforced")
	}
}

func TestWriteMarkdownTable(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdownTable(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != len(Classes)+2 {
		t.Fatalf("%d lines for %d classes", len(lines), len(Classes))
	}
	for i, c := range Classes {
		l := lines[i+2]
		if !strings.HasPrefix(l, "| `"+string(c.ID)+"` | "+string(c.Group)+" | ") || strings.Count(l, " | ") != 4 {
			t.Errorf("row %q", l)
		}
	}
}

func BenchmarkClassify(b *testing.B) {
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for _, c := range cases {
			Classify(c.r)
		}
		n += len(cases)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "classifications/s")
}

// krbFailed is a Kerberos run of failed() that ended with err.
func krbFailed(ph probe.Phase, err error) *probe.Result {
	r := failed(ph, err)
	r.Auth = &probe.AuthInfo{Requested: probe.AuthNegotiate, Mechanism: probe.MechKerberos, SPN: "TERMSRV/srv.corp.example",
		Realm: "CORP.EXAMPLE", RealmSource: probe.SourceKrb5Conf}
	return r
}

func kdcErr(code krb5.ErrorCode, st negotiate.NTStatus, etext string) *krb5.KDCError {
	e := &krb5.KDCError{Step: krb5.StepASPreauth, KDC: "192.0.2.53:88", KRBError: krb5.KRBError{Code: code, EText: etext,
		ServerTime: t0.Add(10 * time.Minute), LocalTime: t0}}
	if st != 0 {
		e.EData.Extended = &krb5.ExtendedError{Status: st}
	}
	return e
}

// How a withheld password can go after all follows from the layer: over TLS
// a trusted or pinned certificate or the opt-in; under standard RDP security
// the opt-in alone; at ENCRYPTION_LEVEL_NONE (no Security Exchange) nothing.
func TestWithheldHint(t *testing.T) {
	withheld := func(sel negotiate.Protocol, std *probe.StandardSecurityInfo) *probe.Result {
		return sessionOver(sel, true, nil, func(s *probe.SessionInfo) {
			s.ClientInfoSent, s.DemandActive, s.Autologon, s.PasswordWithheld, s.StandardSecurity = true, true, false, "the reason", std
		})
	}
	for _, tc := range []struct {
		name          string
		r             *probe.Result
		want, notWant []string
	}{
		{"tls", withheld(negotiate.ProtocolSSL, nil), []string{"--ca-file", "--cert-sha256", "--autologon-without-nla"}, nil},
		{"standard rdp security", withheld(negotiate.ProtocolRDP, &probe.StandardSecurityInfo{SecurityExchangeSent: true}),
			[]string{"the reason (to send it anyway, at that risk, opt in with --autologon-without-nla"}, []string{"--ca-file", "--cert-sha256", "trust its"}},
		{"encryption level none", withheld(negotiate.ProtocolRDP, &probe.StandardSecurityInfo{}),
			[]string{"the reason"}, []string{"--autologon-without-nla", "--ca-file", "--cert-sha256"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Classify(tc.r)
			if v.Class.ID != CredentialsNotVerified {
				t.Fatalf("class %s, want %s: %s", v.Class.ID, CredentialsNotVerified, v.Detail)
			}
			for _, w := range tc.want {
				if !strings.Contains(v.Detail, w) {
					t.Errorf("detail %q lacks %q", v.Detail, w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(v.Detail, w) {
					t.Errorf("detail %q says %q", v.Detail, w)
				}
			}
		})
	}
}
