package classify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
)

// Classify turns a probe's Result into a Verdict. It is pure: it reads the
// Result only (its clock is r.Start) and never looks at anything else.
func Classify(r *probe.Result) Verdict {
	if r == nil {
		return Verdict{Class: class("protocol_error"), Detail: "no probe result"}
	}
	var id, detail string
	var ph probe.Phase
	if r.Err == nil {
		ph = r.Reached
		id, detail = success(r)
	} else {
		ph = r.Failed
		id, detail = failure(r)
	}
	v := Verdict{Class: class(id), Phase: ph, OK: id == "ok", Detail: detail}
	v.Findings = findings(r, id)
	if blamesAccount[id] {
		if m, ok := domainMismatch(r); ok {
			v.Detail += "; likely cause: " + m
		}
	}
	return v
}

// blamesAccount lists the classes a wrong domain in the user name can cause.
var blamesAccount = map[string]bool{
	"logon_failed":                   true,
	"credentials_rejected_no_reason": true,
	"no_logon_servers":               true,
	"logon_rejected":                 true,
}

// success classifies a run that ended without an error.
func success(r *probe.Result) (id, detail string) {
	cs := r.CredSSP
	if r.Credentials && cs != nil && cs.PubKeyAuthVerified &&
		(cs.EarlyUserAuth == nil || *cs.EarlyUserAuth == negotiate.EarlyUserAuthSuccess) {
		if cs.EarlyUserAuth != nil {
			return "ok", fmt.Sprintf("logged on: the server accepted the password for %s and its Early User Authorization "+
				"Result granted Remote Desktop sign-in", account(r))
		}
		return "ok", fmt.Sprintf("logged on: the server accepted the password for %s and proved it holds its TLS key; "+
			"it checks the Remote Desktop sign-in right only once a session starts, which the probe does not open", account(r))
	}
	if sel, ok := selected(r); ok && r.Credentials && !isHybrid(sel) {
		return "credentials_not_verified", fmt.Sprintf("the server selected %v, not NLA, so nothing checks the "+
			"credentials for %s before a session starts: they were not verified", sel, account(r))
	}
	why := "no credentials given"
	if r.Credentials {
		why = "the probe stopped before the logon"
	}
	return "ok", fmt.Sprintf("reached %s; no logon was tried (%s)", reachedWords(r), why)
}

// failure classifies a run that ended with r.Err, first match wins.
func failure(r *probe.Result) (id, detail string) {
	err, ph := r.Err, r.Failed
	if ph == probe.PhaseConnect {
		if id, detail, ok := connectFailure(r, err); ok {
			return id, detail
		}
	}

	var (
		notTPKT    *negotiate.NotTPKTError
		negFail    *negotiate.NegotiationFailure
		mismatch   *probe.ProtocolMismatchError
		credssp    *probe.CredSSPVersionError
		pubKey     *probe.PubKeyAuthError
		status     *probe.ServerErrorCode
		closedAuth *probe.ClosedAfterAuthenticateError
		eua        *probe.EarlyUserAuthError
	)
	switch {
	case errors.As(err, &notTPKT):
		return "not_rdp", fmt.Sprintf("port %s answered with %s, not an RDP (TPKT) reply", portOf(r), notTPKT.Looks())

	case errors.As(err, &negFail):
		return negotiationFailure(r, negFail.Code)

	case errors.As(err, &mismatch):
		d := fmt.Sprintf("the server selected %v, which was not offered (offered %v)", mismatch.Selected, mismatch.Offered)
		if isHybrid(mismatch.Offered) && !isHybrid(mismatch.Selected) {
			d += ": it does not support NLA (xrdp answers this way)"
		} else {
			d += ": it supports none of the offered protocols"
		}
		return "security_layer_mismatch", d

	case errors.As(err, &credssp):
		return "credssp_oracle_server_unpatched", fmt.Sprintf("the server speaks CredSSP version %d; the CVE-2018-0886 fix "+
			"came with version 5, so an updated client refuses it before sending credentials", credssp.Server)

	case errors.As(err, &pubKey):
		return "pubkey_auth_mismatch", fmt.Sprintf("the server's pubKeyAuth does not match the TLS key the probe saw (%s); "+
			"no credentials were sent", pubKey.Reason)

	case errors.As(err, &status):
		return serverStatus(r, status.Status)

	case errors.As(err, &closedAuth):
		return "credentials_rejected_no_reason", fmt.Sprintf("the server closed the connection after the NTLM AUTHENTICATE "+
			"for %s without an error code: a wrong password, an unknown user or a wrong domain (the server does not say which)",
			account(r))

	case errors.As(err, &eua):
		return "no_rdp_signin_right", fmt.Sprintf("the password for %s was accepted, but the Early User Authorization "+
			"Result was %s (%d): the account may not sign in over Remote Desktop", account(r), euaName(eua.Result), uint32(eua.Result))

	case errors.Is(err, context.Canceled):
		return "timeout", fmt.Sprintf("the probe was cancelled during %s, before the server finished", phaseWords(ph))

	case isTimeout(err):
		d := fmt.Sprintf("no answer from the server during %s", phaseWords(ph))
		if t, ok := duration(r, ph); ok {
			d += " within " + t.String()
		}
		if ph == probe.PhaseLogon {
			d += " (NLA waits on a domain controller: a slow or unreachable one looks like this)"
		}
		return "timeout", d

	case errors.Is(err, negotiate.ErrDisconnectRequest):
		return "server_closed", "the server answered the Connection Request with an X.224 Disconnect Request: " + err.Error()

	case isClosed(err):
		how := "closed"
		if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
			how = "reset"
		}
		if ph == probe.PhaseTLS {
			return "tls_failed", fmt.Sprintf("the server dropped the TLS handshake (connection %s): %v", how, err)
		}
		return "server_closed", fmt.Sprintf("the server %s the connection %s: %v", how, closedWhen(ph), err)

	case isTLSError(err) || ph == probe.PhaseTLS:
		if ph != probe.PhaseTLS {
			return "tls_failed", fmt.Sprintf("TLS error during %s: %v%s", phaseWords(ph), err, tlsHint(err))
		}
		return "tls_failed", "TLS handshake failed: " + err.Error() + tlsHint(err)

	case errors.Is(err, negotiate.ErrMalformed):
		if ph == probe.PhaseNegotiate {
			return "protocol_error", "the server's reply was TPKT but not a valid X.224 Connection Confirm: " + err.Error()
		}
		return "protocol_error", fmt.Sprintf("malformed message from the server during %s: %v", phaseWords(ph), err)
	}
	return "protocol_error", fmt.Sprintf("%s failed: %v", phaseWords(ph), err)
}

// connectFailure classifies name resolution and TCP connect errors.
func connectFailure(r *probe.Result, err error) (id, detail string, ok bool) {
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		name := dnsErr.Name
		if name == "" {
			name = r.Host
		}
		return "dns_failure", fmt.Sprintf("the name %q does not resolve: %v", name, dnsErr), true
	case errors.Is(err, syscall.ECONNREFUSED):
		return "tcp_refused", fmt.Sprintf("%s refused the TCP connection: nothing listens on port %s, or a firewall rejects it",
			hostOf(r), portOf(r)), true
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, syscall.EHOSTDOWN), errors.Is(err, syscall.ENETDOWN):
		return "tcp_unreachable", fmt.Sprintf("no route to %s: %v", hostOf(r), err), true
	case errors.Is(err, context.Canceled):
		return "tcp_timeout", fmt.Sprintf("the probe was cancelled while connecting to %s port %s", hostOf(r), portOf(r)), true
	case isTimeout(err):
		d := fmt.Sprintf("no answer from %s on TCP port %s", hostOf(r), portOf(r))
		if t, ok := duration(r, probe.PhaseConnect); ok {
			d += " within " + t.String()
		}
		return "tcp_timeout", d, true
	}
	return "", "", false
}

// negotiationFailure classifies RDP_NEG_FAILURE by its code.
func negotiationFailure(r *probe.Result, code negotiate.FailureCode) (id, detail string) {
	offered := r.Offered
	if r.Negotiation != nil {
		offered = r.Negotiation.Offered
	}
	d := fmt.Sprintf("the server answered %s (%d) to an offer of %v", code, uint32(code), offered)
	// A refusal that demands what was offered contradicts itself: the
	// server's settings disagree with each other (FreeRDP's /sec:ext server
	// answers SSL_REQUIRED_BY_SERVER to every request). Calling it
	// tls_required would send the user to fix a client that is right.
	if demanded, ok := failureDemands[code]; ok && offered&demanded != 0 {
		return "protocol_error", d + fmt.Sprintf(": it demands %v although the request offered it, so its own security settings contradict each other "+
			"(compare SecurityLayer and UserAuthentication under %s, or the server's configuration)", demanded, rdpTcpKey)
	}
	switch code {
	case negotiate.HybridRequiredByServer:
		return "nla_required", d + ": it accepts only NLA"
	case negotiate.SSLRequiredByServer:
		return "tls_required", d + ": it requires TLS"
	case negotiate.SSLNotAllowedByServer:
		return "tls_not_allowed", d + ": it accepts only standard RDP security"
	case negotiate.SSLCertNotOnServer:
		return "no_server_certificate", d + ": it has no certificate for TLS"
	case negotiate.SSLWithUserAuthRequiredByServer:
		return "tls_client_auth_required", d + ": it wants TLS with a client certificate"
	case negotiate.InconsistentFlags:
		return "protocol_error", d + ": it found the request's flags inconsistent"
	}
	return "protocol_error", d + ": an unknown failure code"
}

// failureDemands is the protocol an RDP_NEG_FAILURE code says the server
// requires (MS-RDPBCGR 2.2.1.2.2).
var failureDemands = map[negotiate.FailureCode]negotiate.Protocol{
	negotiate.SSLRequiredByServer:    negotiate.ProtocolSSL,
	negotiate.HybridRequiredByServer: negotiate.ProtocolHybrid,
}

// statusClass maps the NTSTATUS (or SSPI HRESULT) of TSRequest.errorCode to
// a class; anything else is logon_rejected.
var statusClass = map[negotiate.NTStatus]string{
	negotiate.StatusLogonFailure:  "logon_failed",
	negotiate.StatusWrongPassword: "logon_failed",
	negotiate.StatusNoSuchUser:    "logon_failed",
	negotiate.SecELogonDenied:     "logon_failed",

	negotiate.StatusAccountLockedOut:      "account_locked_out",
	negotiate.StatusAccountDisabled:       "account_disabled",
	negotiate.StatusAccountExpired:        "account_expired",
	negotiate.StatusPasswordExpired:       "password_expired",
	negotiate.StatusPasswordMustChange:    "password_must_change",
	negotiate.StatusAccountRestriction:    "account_restriction",
	negotiate.StatusInvalidLogonHours:     "invalid_logon_hours",
	negotiate.StatusLoginTimeRestriction:  "invalid_logon_hours",
	negotiate.StatusInvalidWorkstation:    "invalid_workstation",
	negotiate.StatusLoginWkstaRestriction: "invalid_workstation",
	negotiate.StatusLogonTypeNotGranted:   "logon_type_not_granted",

	negotiate.StatusNoLogonServers:             "no_logon_servers",
	negotiate.StatusDomainControllerNotFound:   "no_logon_servers",
	negotiate.StatusNoSuchDomain:               "no_logon_servers",
	negotiate.SecENoAuthenticatingAuthority:    "no_logon_servers",
	negotiate.StatusTrustedRelationshipFailure: "trust_relationship_failure",
	negotiate.StatusTrustedDomainFailure:       "trust_relationship_failure",
	negotiate.StatusNoTrustSAMAccount:          "trust_relationship_failure",
}

func serverStatus(r *probe.Result, s negotiate.NTStatus) (id, detail string) {
	id, ok := statusClass[s]
	if !ok {
		id = "logon_rejected"
	}
	d := fmt.Sprintf("the server answered %s for %s", statusText(s), account(r))
	if r.Failed == probe.PhaseNTLMInfo {
		d += " before any logon was attempted"
	}
	return id, d
}

// statusText is "STATUS_LOGON_FAILURE (0xC000006D)", or the hex alone for a
// status without a known name.
func statusText(s negotiate.NTStatus) string {
	if n := s.Name(); n != "" {
		return fmt.Sprintf("%s (0x%08X)", n, uint32(s))
	}
	return fmt.Sprintf("0x%08X", uint32(s))
}

func euaName(e negotiate.EarlyUserAuthResult) string {
	switch e {
	case negotiate.EarlyUserAuthAccessDenied:
		return "ACCESS_DENIED"
	case negotiate.EarlyUserAuthSuccess:
		return "SUCCESS"
	}
	return "unknown"
}

// isTimeout: a deadline passed (the probe's PhaseTimeoutError, a net.Error,
// context or os deadlines).
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// isClosed: the peer ended the connection.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func isTLSError(err error) bool {
	var (
		alert  tls.AlertError
		verify *tls.CertificateVerificationError
		record tls.RecordHeaderError
	)
	return errors.As(err, &alert) || errors.As(err, &verify) || errors.As(err, &record) ||
		strings.Contains(err.Error(), "tls:")
}

// tlsHint adds what a TLS error usually means, when it is clear.
func tlsHint(err error) string {
	var record tls.RecordHeaderError
	msg := err.Error()
	switch {
	case errors.As(err, &record):
		return " (the server did not answer with TLS)"
	case strings.Contains(msg, "protocol version"):
		return " (no TLS version in common)"
	case strings.Contains(msg, "handshake failure"), strings.Contains(msg, "no cipher suite"):
		return " (no TLS version or cipher suite in common)"
	}
	return ""
}

func isHybrid(p negotiate.Protocol) bool {
	return p&(negotiate.ProtocolHybrid|negotiate.ProtocolHybridEx) != 0
}

// selected is the protocol the server chose, when it chose one (not after
// an RDP_NEG_FAILURE, nor before the negotiation).
func selected(r *probe.Result) (negotiate.Protocol, bool) {
	n := r.Negotiation
	if n == nil || n.Failure != nil {
		return 0, false
	}
	return n.Selected(), true
}

func account(r *probe.Result) string {
	if r.User == "" {
		return "the account"
	}
	return r.User
}

func hostOf(r *probe.Result) string {
	switch {
	case r.Host != "":
		return r.Host
	case r.Target != "":
		return r.Target
	}
	return "the server"
}

func portOf(r *probe.Result) string {
	if r.Port == 0 {
		return strconv.Itoa(probe.DefaultPort)
	}
	return strconv.Itoa(r.Port)
}

func duration(r *probe.Result, ph probe.Phase) (time.Duration, bool) {
	for _, t := range r.Timings {
		if t.Phase == ph && t.Duration > 0 {
			return t.Duration.Round(time.Millisecond), true
		}
	}
	return 0, false
}

// phaseWords names what a phase does, for details.
func phaseWords(ph probe.Phase) string {
	switch ph {
	case probe.PhaseConnect:
		return "the TCP connect"
	case probe.PhaseNegotiate:
		return "the X.224 negotiation"
	case probe.PhaseTLS:
		return "the TLS handshake"
	case probe.PhaseNTLMInfo:
		return "CredSSP before the NTLM CHALLENGE"
	case probe.PhaseLogon:
		return "the logon"
	}
	return "the probe"
}

func closedWhen(ph probe.Phase) string {
	switch ph {
	case probe.PhaseNegotiate:
		return "instead of answering the X.224 Connection Request"
	case probe.PhaseNTLMInfo:
		return "instead of answering the NTLM NEGOTIATE"
	case probe.PhaseLogon:
		return "during the logon"
	}
	return "during " + phaseWords(ph)
}

// reachedWords says how deep a successful run got.
func reachedWords(r *probe.Result) string {
	switch r.Reached {
	case probe.PhaseConnect:
		return "the TCP connection"
	case probe.PhaseNegotiate:
		if sel, ok := selected(r); ok {
			return fmt.Sprintf("the X.224 negotiation (the server selected %v)", sel)
		}
		return "the X.224 negotiation"
	case probe.PhaseTLS:
		if r.TLS != nil {
			return "the TLS handshake (" + tls.VersionName(r.TLS.Version) + ")"
		}
		return "the TLS handshake"
	case probe.PhaseNTLMInfo:
		return "the NTLM CHALLENGE"
	case probe.PhaseLogon:
		return "the logon"
	}
	return "no phase"
}
