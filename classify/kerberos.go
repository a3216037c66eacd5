package classify

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/negotiate/krb5"
	"github.com/rdpprobe/rdpprobe/probe"
)

// kerberosFailure names a Kerberos failure: a KRB-ERROR from the KDC or
// from the RDP server, no KDC, or Kerberos unable to start when it was
// required. ok is false for any other error.
func kerberosFailure(r *probe.Result, err error) (id ID, detail string, ok bool) {
	var (
		kdcErr *krb5.KDCError
		apErr  *krb5.APError
		unr    *krb5.KDCUnreachableError
		unav   *probe.KerberosUnavailableError
	)
	switch {
	case errors.As(err, &unav):
		if unav.NoSPN {
			return KerberosSPNUnknown, "--auth kerberos: " + unav.Why + " (give --spn TERMSRV/<name> for a name the server registered)", true
		}
		return KDCUnreachable, "--auth kerberos, and Kerberos cannot start: " + unav.Why, true
	case errors.As(err, &unr):
		d := fmt.Sprintf("no KDC of %s answered the %s: %s", realmOf(r), unr.Step, attempts(unr.Tried))
		if unr.Stopped {
			d += "; no other KDC was asked, since the silent one may have counted the password proof"
		}
		return KDCUnreachable, d, true
	case errors.Is(err, krb5.ErrNoCommonEType):
		return KerberosETypeUnsupported, fmt.Sprintf("the KDC offers no encryption type this client uses (AES256, AES128, "+
			"or RC4-HMAC when it is all there is) for %s; nothing secret was sent", account(r)), true
	case errors.Is(err, krb5.ErrWrongPassword):
		return LogonFailed, fmt.Sprintf("the KDC's AS-REP for %s does not decrypt with the password's key: the password is wrong "+
			"(this KDC does not require pre-authentication, so only the client can tell)", account(r)), true
	case errors.As(err, &kdcErr):
		id, d := kdcError(r, &kdcErr.KRBError)
		return id, fmt.Sprintf("the KDC %s answered the %s with %s", kdcErr.KDC, kdcErr.Step, d), true
	case errors.As(err, &apErr):
		id, d := apError(&apErr.KRBError)
		return id, fmt.Sprintf("the server refused the Kerberos AP-REQ for %s with %s", spnOf(r), d), true
	case errors.Is(err, krb5.ErrMutualAuth):
		return PubKeyAuthMismatch, "the server's Kerberos AP-REP does not prove it holds the key of " + spnOf(r) +
			"; no credentials were sent", true
	}
	return "", "", false
}

// kdcError maps a KRB-ERROR from the KDC (RFC 4120 7.5.9) to the class
// Windows' NTLM path would give the same account state, using the
// NTSTATUS a Windows KDC adds (MS-KILE 2.2.1) where it says more.
func kdcError(r *probe.Result, e *krb5.KRBError) (ID, string) {
	d := krbWords(e)
	if st, ok := e.Status(); ok {
		if id, ok := statusClass[st]; ok && e.Code == krb5.KDCErrClientRevoked {
			return id, d
		}
	}
	switch e.Code {
	case krb5.KDCErrPreauthFailed:
		return LogonFailed, d + ": the password for " + account(r) + " is wrong"
	case krb5.KDCErrCPrincipalUnknown:
		return LogonFailed, d + ": there is no account " + account(r) + " in " + realmOf(r)
	case krb5.KDCErrClientRevoked:
		return AccountRevoked, d + ": the account is locked out or disabled, and the KDC did not say which"
	case krb5.KDCErrKeyExpired:
		if st, ok := e.Status(); ok && st == negotiate.StatusPasswordMustChange || mustChange(e.EText) {
			return PasswordMustChange, d + ": the password must be changed before the account may log on"
		}
		return PasswordExpired, d + ": the password has expired"
	case krb5.KDCErrNameExp:
		return AccountExpired, d + ": the account has expired"
	case krb5.KDCErrPolicy:
		return AccountRestriction, d + ": a KDC policy refuses this logon"
	case krb5.KDCErrSPrincipalUnknown:
		return KerberosSPNUnknown, fmt.Sprintf("%s: the realm has no service principal %s", d, spnOf(r))
	case krb5.KDCErrETypeNoSupp:
		return KerberosETypeUnsupported, d
	case krb5.KRBAPErrSkew:
		return KerberosClockSkew, d + clocks(e)
	}
	return LogonRejected, d
}

// apError maps a KRB-ERROR from the RDP server (RFC 4120 3.2.3).
func apError(e *krb5.KRBError) (ID, string) {
	d := krbWords(e)
	if e.Code == krb5.KRBAPErrSkew {
		return KerberosClockSkew, d + clocks(e)
	}
	return KerberosTicketRejected, d + ": the server cannot decrypt or accept the ticket the KDC made for it"
}

// krbWords is "KDC_ERR_PREAUTH_FAILED (24) [STATUS_…] (e-text "…")".
func krbWords(e *krb5.KRBError) string {
	d := e.Code.String()
	if st, ok := e.Status(); ok {
		d += " [" + st.String() + "]"
	}
	if e.EText != "" {
		d += fmt.Sprintf(" (e-text %q)", e.EText)
	}
	return d
}

func clocks(e *krb5.KRBError) string {
	skew, ok := e.Skew()
	if !ok {
		return ": the clocks differ by more than the KDC allows"
	}
	return fmt.Sprintf(": its clock says %s, ours %s (%s apart)", e.ServerTime.UTC().Format(time.RFC3339),
		e.LocalTime.UTC().Format(time.RFC3339), skew.Round(time.Second).Abs())
}

func mustChange(etext string) bool {
	t := strings.ToUpper(etext)
	return strings.Contains(t, "PWCHANGE") || strings.Contains(t, "MUST CHANGE")
}

func attempts(tried []krb5.KDCAttempt) string {
	if len(tried) == 0 {
		return "no KDC to ask"
	}
	var parts []string
	for _, t := range tried {
		parts = append(parts, fmt.Sprintf("%s/%s: %v", t.Network, t.KDC, t.Err))
	}
	return strings.Join(parts, "; ")
}

func realmOf(r *probe.Result) string {
	if r.Auth != nil && r.Auth.Realm != "" {
		return r.Auth.Realm
	}
	return "the realm"
}

func spnOf(r *probe.Result) string {
	if r.Auth != nil && r.Auth.SPN != "" {
		return r.Auth.SPN
	}
	return "TERMSRV/" + hostOf(r)
}
