package classify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
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
		return Verdict{Class: class(ProtocolError), Detail: "no probe result"}
	}
	var id ID
	var detail string
	var ph probe.Phase
	if r.Err == nil {
		ph = r.Reached
		id, detail = success(r)
	} else {
		ph = r.Failed
		id, detail = failure(r)
	}
	detail = throughGateway(r, id, detail)
	if s := r.Session; s != nil && s.PasswordWithheld != "" && r.Err != nil {
		// The server answered a Client Info without the password.
		detail += "; the Client Info carried no password: " + s.PasswordWithheld + withheldHint(r)
	}
	v := Verdict{Class: class(id), Phase: ph, OK: id == OK, Detail: detail}
	v.Findings = append(findings(r, id), gatewayFindings(r)...)
	if blamesAuthority[id] {
		if m, ok := domainMismatch(r); ok {
			v.Detail += "; likely cause: " + m + ", and the server found no authority for it"
		}
	}
	return v
}

// blamesAuthority lists the classes whose server answer itself blames the
// authority for the user name's domain part (STATUS_NO_SUCH_DOMAIN,
// STATUS_NO_LOGON_SERVERS and their kin): only then is a domain part that
// names none of the server's own names evidence of the cause. A wrong
// password and a silent close say nothing about the domain: FreeRDP's
// server, for one, logs LAB\user on though its CHALLENGE says VM, and
// rdptest's Windows answers an unknown domain with STATUS_LOGON_FAILURE,
// as it answers a wrong password.
var blamesAuthority = map[ID]bool{
	NoLogonServers: true,
}

// success classifies a run that ended without an error.
func success(r *probe.Result) (id ID, detail string) {
	id, detail = securitySuccess(r)
	s := r.Session
	switch {
	case s == nil:
	case s.Skipped != "":
		detail += "; the session phase was skipped: " + s.Skipped
	case s.LoggedOn:
		// The server logged the account on: whatever the security layer,
		// the credentials worked.
		return OK, fmt.Sprintf("logged on: the server's Save Session Info PDU reports %s logged on%s", account(r), licenseSoFar(r))
	default:
		detail += "; " + sessionWords(s)
	}
	if sel, ok := selected(r); ok && sel == negotiate.ProtocolRDP {
		detail += "; " + standardSecurityWords(r)
	}
	return id, detail
}

// standardSecurityWords says what standard RDP security gave the run, and
// that it authenticates nothing.
func standardSecurityWords(r *probe.Result) string {
	how := ""
	if s := r.Session; s != nil && s.StandardSecurity != nil && s.IOChannel != 0 {
		switch std := s.StandardSecurity; {
		case s.EncryptionMethod == negotiate.EncryptionMethodNone:
			how = fmt.Sprintf(" (%s: nothing encrypted)", s.EncryptionLevel)
		default:
			how = fmt.Sprintf(" (%s at %s, under the server's %d-bit %s RSA key)", s.EncryptionMethod, s.EncryptionLevel,
				std.ServerKeyBits, std.ServerCertificate)
		}
	}
	return "standard RDP security" + how + " does not authenticate the server: anyone in between can pose as it and read the session"
}

// sessionWords says what a clean session phase reached.
func sessionWords(s *probe.SessionInfo) string {
	var notes []string
	for _, le := range s.LogonErrors {
		notes = append(notes, le.String())
	}
	extra := ""
	if len(notes) > 0 {
		extra = " (logon notifications: " + strings.Join(notes, ", ") + ")"
	}
	switch {
	case s.License != nil && s.License.Outcome == probe.LicenseChallenged:
		return fmt.Sprintf("licensing reached: the server accepted the probe's license request (NEW_LICENSE_REQUEST%s) and "+
			"sent a platform challenge (PLATFORM_CHALLENGE); the license decision, and a \"no license servers\" error if there "+
			"is one, comes only after the client's answer, which the probe does not send because it would make the server "+
			"issue a client access license; it disconnected there%s", licenseProduct(s.License), extra)
	case s.License != nil && s.License.Outcome == probe.LicenseRequested:
		l := s.License
		switch {
		case l.NoNewLicenseRequest != "":
			return fmt.Sprintf("licensing reached: the server asked for a client license (%s%s); the probe could not "+
				"answer it (%s), so it disconnected there before the server's license decision%s", l.MsgType, licenseProduct(l),
				l.NoNewLicenseRequest, extra)
		case l.NewLicenseRequestSent:
			return fmt.Sprintf("licensing reached: the server answered the probe's license request (NEW_LICENSE_REQUEST%s) "+
				"with %s, a license exchange the probe does not carry out, so it disconnected there%s", licenseProduct(l), l.MsgType, extra)
		}
		return fmt.Sprintf("licensing reached: the server asked for a client license (%s%s), a license exchange the probe "+
			"does not carry out, so it disconnected there%s", l.MsgType, licenseProduct(l), extra)
	case s.DemandActive:
		lic := "without a licensing PDU"
		if s.License != nil {
			lic = "after licensing (" + s.License.ErrorCode.String() + ")"
			if s.License.NewLicenseRequestSent {
				lic = "after licensing (" + s.License.ErrorCode.String() + " in answer to the probe's NEW_LICENSE_REQUEST)"
			}
		}
		return fmt.Sprintf("the session started: the server sent the Demand Active PDU %s; the probe disconnected before "+
			"any graphics%s", lic, extra)
	}
	return "the session start ended without a verdict from the server" + extra
}

// licenseSoFar notes how far licensing got, for details of the session phase.
func licenseSoFar(r *probe.Result) string {
	s := r.Session
	if s == nil || s.License == nil {
		return ""
	}
	switch s.License.Outcome {
	case probe.LicenseValidClient:
		return " (licensing had passed: STATUS_VALID_CLIENT)"
	case probe.LicenseRequested:
		if s.License.NewLicenseRequestSent {
			return " (the server had asked for a client license, and the probe had answered with a NEW_LICENSE_REQUEST)"
		}
		return " (the server had asked for a client license)"
	case probe.LicenseChallenged:
		return " (the server had sent a license platform challenge)"
	}
	return ""
}

// licenseProduct names the product of a LICENSE_REQUEST, "" if unnamed.
func licenseProduct(l *probe.LicenseInfo) string {
	if l.CompanyName == "" && l.ProductID == "" {
		return ""
	}
	return fmt.Sprintf(" for %s product %s", l.CompanyName, l.ProductID)
}

// securitySuccess classifies a clean run by what the security exchange
// established.
func securitySuccess(r *probe.Result) (id ID, detail string) {
	cs := r.CredSSP
	if r.Credentials && cs != nil && cs.PubKeyAuthVerified &&
		(cs.EarlyUserAuth == nil || *cs.EarlyUserAuth == negotiate.EarlyUserAuthSuccess) {
		if cs.EarlyUserAuth != nil {
			return OK, fmt.Sprintf("logged on: the server accepted the password for %s and its Early User Authorization "+
				"Result granted Remote Desktop sign-in", account(r))
		}
		if s := r.Session; s != nil && s.ClientInfoSent {
			return OK, fmt.Sprintf("logged on: the server accepted the password for %s and proved it holds its TLS key", account(r))
		}
		return OK, fmt.Sprintf("logged on: the server accepted the password for %s and proved it holds its TLS key; "+
			"it checks the Remote Desktop sign-in right only once a session starts, which the probe does not open", account(r))
	}
	if sel, ok := selected(r); ok && r.Credentials && !isHybrid(sel) {
		if s := r.Session; s != nil && s.ClientInfoSent && !s.Autologon && s.PasswordWithheld != "" && sel != negotiate.ProtocolSSL {
			// Standard RDP security: the probe's reason names the layer
			// (no authentication at all, or no encryption either).
			return CredentialsNotVerified, fmt.Sprintf("the Client Info PDU named %s without the password, so nothing checked "+
				"the credentials: %s", account(r), s.PasswordWithheld) + withheldHint(r)
		}
		if s := r.Session; s != nil && s.ClientInfoSent {
			if !s.Autologon && s.PasswordWithheld != "" {
				return CredentialsNotVerified, fmt.Sprintf("the server selected %v, not NLA; the Client Info PDU named %s "+
					"without the password, withheld because the server's certificate is neither trusted nor pinned: nothing "+
					"proved the server is the one meant, and a man in the middle who strips NLA would read it; so nothing "+
					"checked the credentials", sel, account(r)) + withheldHint(r)
			}
			return CredentialsNotVerified, fmt.Sprintf("the server selected %v, not NLA; the credentials for %s went "+
				"to it in the Client Info PDU%s, but it gave no verdict on them before the probe stopped (a server without "+
				"NLA checks them on its sign-in screen, once graphics flow)", sel, account(r), autologonWords(r))
		}
		return CredentialsNotVerified, fmt.Sprintf("the server selected %v, not NLA, so nothing checks the "+
			"credentials for %s before a session starts: they were not verified", sel, account(r))
	}
	why := "no credentials given"
	if r.Credentials {
		why = "the probe stopped before the logon"
	}
	return OK, fmt.Sprintf("reached %s; no logon was tried (%s)", reachedWords(r), why)
}

// withheldHint says how a withheld password can go in the Client Info after
// all: the rule for credentials without NLA (probe's autologonWithoutNLA).
// Over TLS a trusted or pinned certificate sends it, or the opt-in. Under
// standard RDP security no certificate can prove the server, so only the
// opt-in sends it, and without a Security Exchange (ENCRYPTION_LEVEL_NONE)
// nothing does: the Client Info would cross the network unencrypted.
func withheldHint(r *probe.Result) string {
	const optIn = "opt in with --autologon-without-nla, or autologon_without_nla in an exporter module"
	sel, _ := selected(r)
	switch s := r.Session; {
	case sel == negotiate.ProtocolSSL:
		return " (trust its certificate, --ca-file, or pin it, --cert-sha256, and the password goes; or take the risk and " + optIn + ")"
	case sel == negotiate.ProtocolRDP && s.StandardSecurity != nil && s.StandardSecurity.SecurityExchangeSent:
		return " (to send it anyway, at that risk, " + optIn + ")"
	}
	return ""
}

// failure classifies a run that ended with r.Err, first match wins.
func failure(r *probe.Result) (id ID, detail string) {
	if id, detail, ok := gatewayFailure(r); ok {
		return id, detail
	}
	err, ph := r.Err, r.Failed
	if ph == probe.PhaseConnect {
		if id, detail, ok := connectFailure(r, err); ok {
			return id, detail
		}
	}
	if id, detail, ok := kerberosFailure(r, err); ok {
		return id, detail
	}

	var (
		notTPKT    *negotiate.NotTPKTError
		negFail    *negotiate.NegotiationFailure
		mismatch   *probe.ProtocolMismatchError
		noNegRsp   *probe.NoNegotiationResponseError
		badMAC     *negotiate.MACError
		notTrusted *probe.CertNotTrustedError
		credssp    *probe.CredSSPVersionError
		pubKey     *probe.PubKeyAuthError
		status     *probe.ServerErrorCode
		closedAuth *probe.ClosedAfterAuthenticateError
		eua        *probe.EarlyUserAuthError
		license    *negotiate.LicenseErrorMessage
		errInfo    *probe.SetErrorInfoError
		logonErr   *probe.SessionLogonError
		mcsResult  *negotiate.MCSResultError
		ultimatum  *probe.ServerDisconnectError
		hungUp     *probe.UltimatumError
	)
	switch {
	case errors.As(err, &notTPKT):
		return NotRDP, fmt.Sprintf("port %s answered with %s, not an RDP (TPKT) reply", portOf(r), notTPKT.Looks())

	case errors.As(err, &negFail):
		return negotiationFailure(r, negFail.Code)

	case errors.As(err, &noNegRsp):
		return PreRDP52Server, fmt.Sprintf("the server's Connection Confirm carries no RDP_NEG_RSP: it predates RDP 5.2, never "+
			"read the offer of %v and speaks standard RDP security only; probe with --protocols rdp to test it as it is", noNegRsp.Offered)

	case errors.As(err, &mismatch):
		d := fmt.Sprintf("the server selected %v, which was not offered (offered %v)", mismatch.Selected, mismatch.Offered)
		if isHybrid(mismatch.Offered) && !isHybrid(mismatch.Selected) {
			d += ": it did not take NLA, which was offered"
		} else {
			d += ": it took none of the offered protocols"
		}
		if o, ok := offerOf(mismatch.Selected); ok {
			d += fmt.Sprintf("; probe with --protocols %s to test what it selected", o)
		}
		return SecurityLayerMismatch, d

	case errors.As(err, &badMAC):
		return ProtocolError, fmt.Sprintf("an encrypted PDU from the server failed its signature check under the session keys "+
			"of standard RDP security (MS-RDPBCGR 5.3.6): it was altered on the way, or the server computes its keys or "+
			"signatures unlike the specification; the probe stopped there%s", licenseSoFar(r))

	case errors.As(err, &notTrusted):
		return CertNotTrusted, certNotTrustedDetail(r, notTrusted)

	case errors.As(err, &credssp):
		return CredSSPOracleServerUnpatched, fmt.Sprintf("the server speaks CredSSP version %d; the CVE-2018-0886 fix "+
			"came with version 5, so an updated client refuses it before sending credentials", credssp.Server)

	case errors.As(err, &pubKey):
		return PubKeyAuthMismatch, fmt.Sprintf("the server's pubKeyAuth does not match the TLS key the probe saw (%s); "+
			"no credentials were sent", pubKey.Reason)

	case errors.As(err, &status):
		return serverStatus(r, status.Status)

	case errors.As(err, &closedAuth):
		return CredentialsRejectedNoReason, fmt.Sprintf("the server closed the connection after the NTLM AUTHENTICATE "+
			"for %s without an error code: a wrong password, an unknown user or a wrong domain (the server does not say which)",
			account(r))

	case errors.As(err, &eua):
		return NoRDPSignInRight, fmt.Sprintf("the password for %s was accepted, but the Early User Authorization "+
			"Result was %s (%d): the account may not sign in over Remote Desktop", account(r), eua.Result, uint32(eua.Result))

	case errors.As(err, &license):
		id, d := licenseFailure(license)
		if s := r.Session; s != nil && s.License != nil && s.License.NewLicenseRequestSent {
			d += " (in answer to the probe's NEW_LICENSE_REQUEST)"
		}
		return id, d

	case errors.As(err, &errInfo):
		return errorInfoClass(r, errInfo.Code)

	case errors.As(err, &logonErr):
		return sessionLogonError(r, logonErr.Info)

	case errors.As(err, &mcsResult):
		return ServerDeniedConnection, fmt.Sprintf("the server refused the MCS connection: it answered %s with %s (%d)",
			mcsResult.PDU, mcsResult.Result, uint8(mcsResult.Result))

	case errors.As(err, &ultimatum):
		return ServerClosed, fmt.Sprintf("the server ended the session start with an MCS Disconnect Provider Ultimatum (%s) "+
			"without a Set Error Info PDU to say why%s", ultimatum.Reason, licenseSoFar(r))

	case errors.Is(err, context.Canceled):
		return Timeout, fmt.Sprintf("the probe was cancelled during %s, before the server finished", phaseWords(ph))

	case isTimeout(err):
		d := fmt.Sprintf("no answer from the server during %s", phaseWords(ph))
		if t, ok := duration(r, ph); ok {
			d += " within " + t.String()
		}
		if ph == probe.PhaseLogon {
			d += " (NLA waits on a domain controller: a slow or unreachable one looks like this)"
		}
		return Timeout, d + licenseSoFar(r)

	case errors.As(err, &hungUp):
		return ServerClosed, fmt.Sprintf("the server answered the Connection Request with an MCS Disconnect Provider Ultimatum (%s): "+
			"it hung up on the request without saying why in an RDP_NEG_FAILURE", hungUp.Reason)

	case errors.Is(err, negotiate.ErrDisconnectRequest):
		if ph == probe.PhaseSession {
			return ServerClosed, "the server ended the session start with an X.224 Disconnect Request" + licenseSoFar(r)
		}
		return ServerClosed, "the server answered the Connection Request with an X.224 Disconnect Request: " + err.Error()

	case isClosed(err):
		how := "closed"
		if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
			how = "reset"
		}
		if ph == probe.PhaseTLS {
			return TLSFailed, fmt.Sprintf("the server dropped the TLS handshake (connection %s): %v", how, err)
		}
		return ServerClosed, fmt.Sprintf("the server %s the connection %s: %v%s", how, closedWhen(ph), err, licenseSoFar(r))

	case isTLSError(err) || ph == probe.PhaseTLS:
		if ph != probe.PhaseTLS {
			return TLSFailed, fmt.Sprintf("TLS error during %s: %v%s", phaseWords(ph), err, tlsHint(err))
		}
		return TLSFailed, "TLS handshake failed: " + err.Error() + tlsHint(err)

	case errors.Is(err, negotiate.ErrMalformed):
		if ph == probe.PhaseNegotiate {
			return ProtocolError, "the server's reply was TPKT but not a valid X.224 Connection Confirm: " + err.Error()
		}
		return ProtocolError, fmt.Sprintf("malformed message from the server during %s: %v", phaseWords(ph), err)
	}
	return ProtocolError, fmt.Sprintf("%s failed: %v", phaseWords(ph), err)
}

// connectFailure classifies name resolution and TCP connect errors.
func connectFailure(r *probe.Result, err error) (id ID, detail string, ok bool) {
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		name := dnsErr.Name
		if name == "" {
			name = r.Host
		}
		return DNSFailure, fmt.Sprintf("the name %q does not resolve: %v", name, dnsErr), true
	case errors.Is(err, syscall.ECONNREFUSED):
		return TCPRefused, fmt.Sprintf("%s refused the TCP connection: nothing listens on port %s, or a firewall rejects it",
			hostOf(r), portOf(r)), true
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, syscall.EHOSTDOWN), errors.Is(err, syscall.ENETDOWN):
		return TCPUnreachable, fmt.Sprintf("no route to %s: %v", hostOf(r), err), true
	case errors.Is(err, context.Canceled):
		return TCPTimeout, fmt.Sprintf("the probe was cancelled while connecting to %s port %s", hostOf(r), portOf(r)), true
	case isTimeout(err):
		d := fmt.Sprintf("no answer from %s on TCP port %s", hostOf(r), portOf(r))
		if t, ok := duration(r, probe.PhaseConnect); ok {
			d += " within " + t.String()
		}
		return TCPTimeout, d, true
	}
	return "", "", false
}

// negotiationFailure classifies RDP_NEG_FAILURE by its code.
func negotiationFailure(r *probe.Result, code negotiate.FailureCode) (id ID, detail string) {
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
		return RefusalContradictsOffer, d + fmt.Sprintf(": it demands %v although the request offered it, so its own "+
			"security settings contradict each other", demanded)
	}
	switch code {
	case negotiate.HybridRequiredByServer:
		return NLARequired, d + ": it accepts only NLA"
	case negotiate.SSLRequiredByServer:
		return TLSRequired, d + ": it requires TLS"
	case negotiate.SSLNotAllowedByServer:
		return TLSNotAllowed, d + ": it accepts only standard RDP security"
	case negotiate.SSLCertNotOnServer:
		return NoServerCertificate, d + ": it has no certificate for TLS"
	case negotiate.SSLWithUserAuthRequiredByServer:
		return TLSClientAuthRequired, d + ": it wants TLS with a client certificate"
	case negotiate.InconsistentFlags:
		return ProtocolError, d + ": it found the request's flags inconsistent"
	}
	return ProtocolError, d + ": an unknown failure code"
}

// failureDemands is the protocol an RDP_NEG_FAILURE code says the server
// requires (MS-RDPBCGR 2.2.1.2.2).
var failureDemands = map[negotiate.FailureCode]negotiate.Protocol{
	negotiate.SSLRequiredByServer:    negotiate.ProtocolSSL,
	negotiate.HybridRequiredByServer: negotiate.ProtocolHybrid,
}

// statusClass maps the NTSTATUS (or SSPI HRESULT) of TSRequest.errorCode to
// a class; anything else is logon_rejected.
var statusClass = map[negotiate.NTStatus]ID{
	negotiate.StatusLogonFailure:  LogonFailed,
	negotiate.StatusWrongPassword: LogonFailed,
	negotiate.StatusNoSuchUser:    LogonFailed,
	negotiate.SecELogonDenied:     LogonFailed,

	negotiate.StatusAccountLockedOut:      AccountLockedOut,
	negotiate.StatusAccountDisabled:       AccountDisabled,
	negotiate.StatusAccountExpired:        AccountExpired,
	negotiate.StatusPasswordExpired:       PasswordExpired,
	negotiate.StatusPasswordMustChange:    PasswordMustChange,
	negotiate.StatusAccountRestriction:    AccountRestriction,
	negotiate.StatusInvalidLogonHours:     InvalidLogonHours,
	negotiate.StatusLoginTimeRestriction:  InvalidLogonHours,
	negotiate.StatusInvalidWorkstation:    InvalidWorkstation,
	negotiate.StatusLoginWkstaRestriction: InvalidWorkstation,
	negotiate.StatusLogonTypeNotGranted:   LogonTypeNotGranted,

	negotiate.StatusNoLogonServers:             NoLogonServers,
	negotiate.StatusDomainControllerNotFound:   NoLogonServers,
	negotiate.StatusNoSuchDomain:               NoLogonServers,
	negotiate.SecENoAuthenticatingAuthority:    NoLogonServers,
	negotiate.StatusTrustedRelationshipFailure: TrustRelationshipFailure,
	negotiate.StatusNTLMBlocked:                NTLMBlocked,
	negotiate.StatusTrustedDomainFailure:       TrustRelationshipFailure,
	negotiate.StatusNoTrustSAMAccount:          TrustRelationshipFailure,
}

// serverStatus classifies a TSRequest.errorCode. Only an answer to a
// credential speaks of the account: a code sent before any went out, or in
// answer to the NTLM NEGOTIATE (which names no account, even after a
// Kerberos attempt fell back to NTLM), cannot be about it. Such a code is
// credssp_refused, the server refusing CredSSP, whenever its class would
// blame the account (a faked STATUS_ACCOUNT_LOCKED_OUT) or it has none; a
// code about the server itself (STATUS_NTLM_BLOCKED, no logon servers)
// keeps its class.
func serverStatus(r *probe.Result, s negotiate.NTStatus) (id ID, detail string) {
	id, ok := statusClass[s]
	if !r.LogonAttempted || r.Failed == probe.PhaseNTLMInfo {
		d := fmt.Sprintf("the server answered %s with errorCode %v before any credential was sent to it", codeAnswered(r.Failed), s)
		if ok && !class(id).LocksAccount {
			return id, d
		}
		d += fmt.Sprintf(", so the code says nothing about %s", account(r))
		if !r.LogonAttempted {
			d += " (no logon was attempted)"
		}
		return CredSSPRefused, d + accountStateHint(s)
	}
	if !ok {
		id = LogonRejected
	}
	d := fmt.Sprintf("the server answered %v for %s", s, account(r))
	if a := r.Auth; !ok && a != nil && a.Mechanism == probe.MechKerberos && r.CredSSP != nil && !r.CredSSP.PubKeyAuthVerified {
		d += " in answer to the Kerberos SPNEGO token, before judging the account: it does not seem to accept Kerberos"
		if a.Requested == probe.AuthKerberos {
			d += " (--auth negotiate would fall back to NTLM, as mstsc does)"
		}
	}
	return id, d
}

// offerOf is the --protocols value that offers exactly p, when there is one.
func offerOf(p negotiate.Protocol) (string, bool) {
	switch p {
	case negotiate.ProtocolRDP:
		return "rdp", true
	case negotiate.ProtocolSSL:
		return "tls", true
	case negotiate.ProtocolHybrid:
		return "nla", true
	case negotiate.ProtocolHybridEx:
		return "nla,nla-ext", true // HYBRID_EX is offered with HYBRID, as the spec says it SHOULD be
	}
	return "", false
}

// codeAnswered names the message a CredSSP error code answered.
func codeAnswered(ph probe.Phase) string {
	if ph == probe.PhaseNTLMInfo {
		return "the NTLM NEGOTIATE"
	}
	return "CredSSP during " + phaseWords(ph)
}

// accountStateHint warns when a code before any credential names an account
// state: a genuine server cannot know one yet.
func accountStateHint(s negotiate.NTStatus) string {
	if c, ok := statusClass[s]; ok {
		if cl := class(c); cl.LocksAccount || cl.AccountLevel {
			return fmt.Sprintf(" (it names an account state, %s, which no server can know before it is told the account: "+
				"the account is not affected by it; check that this address is the intended server)", cl.ID)
		}
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
	case probe.PhaseSession:
		return "the session start (MCS, Client Info, licensing)"
	case probe.PhaseGatewayConnect:
		return "the TCP connect to the RD Gateway"
	case probe.PhaseGatewayTLS:
		return "the TLS handshake with the RD Gateway"
	case probe.PhaseGatewayAuth:
		return "the RD Gateway's HTTP authentication"
	case probe.PhaseGatewayTunnel:
		return "the RD Gateway's tunnel set-up (handshake, tunnel, tunnel authorization)"
	case probe.PhaseGatewayChannel:
		return "the RD Gateway's channel to the target"
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
	case probe.PhaseSession:
		return "during the session start"
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
	case probe.PhaseSession:
		return "the session start"
	case probe.PhaseGatewayConnect, probe.PhaseGatewayTLS, probe.PhaseGatewayAuth, probe.PhaseGatewayTunnel, probe.PhaseGatewayChannel:
		return phaseWords(r.Reached)
	}
	return "no phase"
}

// licenseFailure classifies a License Error PDU other than Valid Client
// (MS-RDPBCGR 2.2.1.12.1.3).
func licenseFailure(m *negotiate.LicenseErrorMessage) (id ID, detail string) {
	d := fmt.Sprintf("the server ended licensing with a License Error PDU: %s (0x%08X), %s", m.ErrorCode, uint32(m.ErrorCode), m.StateTransition)
	switch m.ErrorCode {
	case negotiate.ErrNoLicenseServer:
		return NoLicenseServer, d + ": it found no license server to issue a client access license"
	case negotiate.ErrNoLicense:
		return NoLicenseServer, d + ": no client access license could be had"
	}
	return LicenseError, d
}

// errorInfoClass maps the code of a Set Error Info PDU (MS-RDPBCGR 2.2.5.1.1).
func errorInfoClass(r *probe.Result, e negotiate.ErrorInfo) (id ID, detail string) {
	d := fmt.Sprintf("the server sent Set Error Info %s (0x%08X) and disconnected", e, uint32(e))
	switch {
	case e == negotiate.ErrInfoLicenseNoLicenseServer:
		return NoLicenseServer, d + ": no Remote Desktop license server could provide a license" + licenseSoFar(r)
	case e.IsLicensing():
		return LicenseError, d + ": " + licensingErrInfoWords[e] + licenseSoFar(r)
	case e == negotiate.ErrInfoServerInsufficientPrivileges:
		return ServerInsufficientPrivileges, d + fmt.Sprintf(": %s lacks the access rights for a Remote Desktop session", account(r))
	case e == negotiate.ErrInfoServerDeniedConnection:
		return ServerDeniedConnection, d
	case e == negotiate.ErrInfoServerFreshCredentialsRequired:
		return FreshCredentialsRequired, d + ": it wants the password typed for each connection, not sent ready-made"
	}
	return ServerClosed, d + licenseSoFar(r)
}

// licensingErrInfoWords says what each ERRINFO_LICENSE_* code means
// (MS-RDPBCGR 2.2.5.1.1), in our words.
var licensingErrInfoWords = map[negotiate.ErrorInfo]string{
	negotiate.ErrInfoLicenseInternal:               "the server's licensing component failed internally",
	negotiate.ErrInfoLicenseNoLicense:              "no client access license is available for this client",
	negotiate.ErrInfoLicenseBadClientMsg:           "the server received a licensing message from the client it could not accept",
	negotiate.ErrInfoLicenseHWIDDoesntMatchLicense: "the client's stored license was modified (it does not match this client's hardware ID)",
	negotiate.ErrInfoLicenseBadClientLicense:       "the client's stored license is in an invalid format",
	negotiate.ErrInfoLicenseCantFinishProtocol:     "network problems cut the licensing exchange short",
	negotiate.ErrInfoLicenseClientEndedProtocol:    "the client ended the licensing exchange early",
	negotiate.ErrInfoLicenseBadClientEncryption:    "a licensing message from the client was encrypted wrongly",
	negotiate.ErrInfoLicenseCantUpgradeLicense:     "the client's stored license could not be upgraded or renewed",
	negotiate.ErrInfoLicenseNoRemoteConnections:    "the server is not licensed to accept remote connections",
}

// sessionLogonError maps a Save Session Info logon error (MS-RDPBCGR
// 2.2.10.1.1.4.1.1): an NTSTATUS type this table knows decides, else the
// LOGON_FAILED_* data.
func sessionLogonError(r *probe.Result, le negotiate.LogonErrorsInfo) (id ID, detail string) {
	d := fmt.Sprintf("the server's Save Session Info PDU reports a logon error for %s: %s", account(r), le)
	if le.Type == negotiate.ErrorCodeAccessDenied {
		return ServerInsufficientPrivileges, d + ": the user was denied access"
	}
	if id, ok := statusClass[negotiate.NTStatus(le.Type)]; ok {
		return id, d
	}
	switch le.Failure() {
	case negotiate.LogonFailedBadPassword:
		return LogonFailed, d + ": the credentials are not valid"
	case negotiate.LogonFailedUpdatePassword:
		return PasswordMustChange, d + ": the password must be updated before the logon can go on"
	}
	return LogonRejected, d
}
