package krb5

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/messages"

	"github.com/rdpprobe/rdpprobe/negotiate"
)

// ErrMalformed is wrapped by every parse error: what a peer sent is not the
// message it claims to be.
var ErrMalformed = errors.New("krb5: malformed message")

func errMalformed(what string, format string, a ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrMalformed, what, fmt.Sprintf(format, a...))
}

// recoverMalformed turns a panic inside a dependency's decoder into
// ErrMalformed: a parser of ours never panics, whatever a peer sends.
func recoverMalformed(what string, err *error) {
	if r := recover(); r != nil {
		*err = errMalformed(what, "decoder failed: %v", r)
	}
}

// ErrorCode is a KRB-ERROR error-code (RFC 4120 7.5.9, RFC 6113 5.4.3).
type ErrorCode int32

// The codes this package acts on; String names every code of RFC 4120.
const (
	KDCErrNone              ErrorCode = 0
	KDCErrNameExp           ErrorCode = 1
	KDCErrServiceExp        ErrorCode = 2
	KDCErrCPrincipalUnknown ErrorCode = 6
	KDCErrSPrincipalUnknown ErrorCode = 7
	KDCErrPolicy            ErrorCode = 12
	KDCErrETypeNoSupp       ErrorCode = 14
	KDCErrClientRevoked     ErrorCode = 18
	KDCErrKeyExpired        ErrorCode = 23
	KDCErrPreauthFailed     ErrorCode = 24
	KDCErrPreauthRequired   ErrorCode = 25
	KRBAPErrBadIntegrity    ErrorCode = 31
	KRBAPErrTktExpired      ErrorCode = 32
	KRBAPErrTktNYV          ErrorCode = 33
	KRBAPErrRepeat          ErrorCode = 34
	KRBAPErrNotUs           ErrorCode = 35
	KRBAPErrBadMatch        ErrorCode = 36
	KRBAPErrSkew            ErrorCode = 37
	KRBAPErrMsgType         ErrorCode = 40
	KRBAPErrModified        ErrorCode = 41
	KRBAPErrBadKeyVer       ErrorCode = 44
	KRBAPErrNoKey           ErrorCode = 45
	KRBAPErrMutFail         ErrorCode = 46
	KRBAPErrInappCksum      ErrorCode = 50
	KRBErrResponseTooBig    ErrorCode = 52
	KRBErrGeneric           ErrorCode = 60
	KDCErrWrongRealm        ErrorCode = 68
)

var errorCodeNames = map[ErrorCode]string{
	0: "KDC_ERR_NONE", 1: "KDC_ERR_NAME_EXP", 2: "KDC_ERR_SERVICE_EXP", 3: "KDC_ERR_BAD_PVNO",
	4: "KDC_ERR_C_OLD_MAST_KVNO", 5: "KDC_ERR_S_OLD_MAST_KVNO", 6: "KDC_ERR_C_PRINCIPAL_UNKNOWN",
	7: "KDC_ERR_S_PRINCIPAL_UNKNOWN", 8: "KDC_ERR_PRINCIPAL_NOT_UNIQUE", 9: "KDC_ERR_NULL_KEY",
	10: "KDC_ERR_CANNOT_POSTDATE", 11: "KDC_ERR_NEVER_VALID", 12: "KDC_ERR_POLICY", 13: "KDC_ERR_BADOPTION",
	14: "KDC_ERR_ETYPE_NOSUPP", 15: "KDC_ERR_SUMTYPE_NOSUPP", 16: "KDC_ERR_PADATA_TYPE_NOSUPP",
	17: "KDC_ERR_TRTYPE_NOSUPP", 18: "KDC_ERR_CLIENT_REVOKED", 19: "KDC_ERR_SERVICE_REVOKED",
	20: "KDC_ERR_TGT_REVOKED", 21: "KDC_ERR_CLIENT_NOTYET", 22: "KDC_ERR_SERVICE_NOTYET",
	23: "KDC_ERR_KEY_EXPIRED", 24: "KDC_ERR_PREAUTH_FAILED", 25: "KDC_ERR_PREAUTH_REQUIRED",
	26: "KDC_ERR_SERVER_NOMATCH", 27: "KDC_ERR_MUST_USE_USER2USER", 28: "KDC_ERR_PATH_NOT_ACCEPTED",
	29: "KDC_ERR_SVC_UNAVAILABLE", 31: "KRB_AP_ERR_BAD_INTEGRITY", 32: "KRB_AP_ERR_TKT_EXPIRED",
	33: "KRB_AP_ERR_TKT_NYV", 34: "KRB_AP_ERR_REPEAT", 35: "KRB_AP_ERR_NOT_US", 36: "KRB_AP_ERR_BADMATCH",
	37: "KRB_AP_ERR_SKEW", 38: "KRB_AP_ERR_BADADDR", 39: "KRB_AP_ERR_BADVERSION", 40: "KRB_AP_ERR_MSG_TYPE",
	41: "KRB_AP_ERR_MODIFIED", 42: "KRB_AP_ERR_BADORDER", 44: "KRB_AP_ERR_BADKEYVER", 45: "KRB_AP_ERR_NOKEY",
	46: "KRB_AP_ERR_MUT_FAIL", 47: "KRB_AP_ERR_BADDIRECTION", 48: "KRB_AP_ERR_METHOD", 49: "KRB_AP_ERR_BADSEQ",
	50: "KRB_AP_ERR_INAPP_CKSUM", 51: "KRB_AP_PATH_NOT_ACCEPTED", 52: "KRB_ERR_RESPONSE_TOO_BIG",
	60: "KRB_ERR_GENERIC", 61: "KRB_ERR_FIELD_TOOLONG", 62: "KDC_ERROR_CLIENT_NOT_TRUSTED",
	63: "KDC_ERROR_KDC_NOT_TRUSTED", 64: "KDC_ERROR_INVALID_SIG", 65: "KDC_ERR_KEY_TOO_WEAK",
	66: "KDC_ERR_CERTIFICATE_MISMATCH", 67: "KRB_AP_ERR_NO_TGT", 68: "KDC_ERR_WRONG_REALM",
	69: "KRB_AP_ERR_USER_TO_USER_REQUIRED", 70: "KDC_ERR_CANT_VERIFY_CERTIFICATE",
	71: "KDC_ERR_INVALID_CERTIFICATE", 72: "KDC_ERR_REVOKED_CERTIFICATE",
	73: "KDC_ERR_REVOCATION_STATUS_UNKNOWN", 74: "KDC_ERR_REVOCATION_STATUS_UNAVAILABLE",
	75: "KDC_ERR_CLIENT_NAME_MISMATCH", 76: "KDC_ERR_KDC_NAME_MISMATCH",
	90: "KDC_ERR_PREAUTH_EXPIRED", 91: "KDC_ERR_MORE_PREAUTH_DATA_REQUIRED",
	92: "KDC_ERR_PREAUTH_BAD_AUTHENTICATION_SET", 93: "KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS",
}

// Name is the code's name in RFC 4120, or "" for a code it does not define.
func (c ErrorCode) Name() string { return errorCodeNames[c] }

// String is "KDC_ERR_PREAUTH_FAILED (24)", or "error code 99" for an unknown one.
func (c ErrorCode) String() string {
	if n := c.Name(); n != "" {
		return fmt.Sprintf("%s (%d)", n, int32(c))
	}
	return fmt.Sprintf("error code %d", int32(c))
}

// maxEText caps the e-text kept from a peer: a length is a claim.
const maxEText = 1024

// maxPeerClock bounds a peer's time worth keeping (as probe does for NTLM):
// one centuries off is no clock at all.
const maxPeerClock = 100 * 365 * 24 * time.Hour

// KRBError is a KRB-ERROR as a peer sent it (RFC 4120 5.9.1), read fully,
// with its e-data decoded (MS-KILE 2.2.1, 2.2.2; RFC 4120 5.9.1, 7.5.11).
type KRBError struct {
	Code  ErrorCode
	EText string // capped at 1 KiB; a peer's words, escape before showing
	// ServerTime is stime+susec, the peer's clock; zero when it is absent
	// or beyond a century from LocalTime.
	ServerTime time.Time
	// LocalTime is our clock when the error arrived, for the skew.
	LocalTime time.Time
	// ClientTime is the ctime the peer echoed, if any.
	ClientTime   time.Time
	Realm, SName string // the server principal the error names
	CRealm       string
	CName        string // the client principal, if the peer named one
	EData        EData
}

// Skew is the peer's clock minus ours, when the peer said its time.
func (e *KRBError) Skew() (time.Duration, bool) {
	if e.ServerTime.IsZero() || e.LocalTime.IsZero() {
		return 0, false
	}
	return e.ServerTime.Sub(e.LocalTime), true
}

// Status is the NTSTATUS a Windows KDC put in the e-data (KERB-EXT-ERROR).
func (e *KRBError) Status() (negotiate.NTStatus, bool) {
	if e.EData.Extended == nil {
		return 0, false
	}
	return e.EData.Extended.Status, true
}

func (e *KRBError) describe() string {
	var b strings.Builder
	b.WriteString(e.Code.String())
	if st, ok := e.Status(); ok {
		fmt.Fprintf(&b, " [%s]", st)
	}
	if e.EText != "" {
		fmt.Fprintf(&b, ": %q", e.EText)
	}
	if d, ok := e.Skew(); ok && e.Code == KRBAPErrSkew {
		fmt.Fprintf(&b, " (peer clock %s, ours %s, skew %s)", e.ServerTime.UTC().Format(time.RFC3339),
			e.LocalTime.UTC().Format(time.RFC3339), d.Round(time.Second))
	}
	return b.String()
}

// ParseKRBError reads a KRB-ERROR ([APPLICATION 30]); received is our clock
// at its arrival.
func ParseKRBError(b []byte, received time.Time) (ke *KRBError, err error) {
	defer recoverMalformed("KRB-ERROR", &err)
	var m messages.KRBError
	if err := m.Unmarshal(b); err != nil {
		return nil, errMalformed("KRB-ERROR", "%v", err)
	}
	ke = &KRBError{
		Code:      ErrorCode(m.ErrorCode),
		EText:     capString(m.EText, maxEText),
		LocalTime: received,
		Realm:     capString(m.Realm, 256),
		SName:     capString(m.SName.PrincipalNameString(), 512),
		CRealm:    capString(m.CRealm, 256),
	}
	if len(m.CName.NameString) > 0 {
		ke.CName = capString(m.CName.PrincipalNameString(), 512)
	}
	if !m.STime.IsZero() {
		t := m.STime.Add(time.Duration(clampUsec(m.Susec)) * time.Microsecond)
		if received.IsZero() || (t.After(received.Add(-maxPeerClock)) && t.Before(received.Add(maxPeerClock))) {
			ke.ServerTime = t
		}
	}
	if !m.CTime.IsZero() {
		ke.ClientTime = m.CTime.Add(time.Duration(clampUsec(m.Cusec)) * time.Microsecond)
	}
	if len(m.EData) > 0 {
		// e-data that does not parse is kept raw: the error itself is still good.
		if ed, err := ParseEData(m.EData); err == nil {
			ke.EData = *ed
		} else {
			ke.EData = EData{Raw: append([]byte(nil), m.EData...)}
		}
	}
	return ke, nil
}

func clampUsec(u int) int {
	if u < 0 || u > 999999 {
		return 0
	}
	return u
}

func capString(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Step names one exchange of a logon, in the order they happen.
type Step string

// The steps.
const (
	StepASNoPreauth Step = "AS-REQ"                  // learns the salt and etypes; no secret
	StepASPreauth   Step = "AS-REQ+PA-ENC-TIMESTAMP" // proves the password: counts at the KDC
	StepTGS         Step = "TGS-REQ"                 // the service ticket for the SPN
	StepAP          Step = "AP-REQ"                  // at the application server
	StepAPRep       Step = "AP-REP"                  // the server's proof
	StepCCache      Step = "ccache"                  // reading the TGT of a ccache
	StepKDCReply    Step = "KDC reply"               // a reply that is neither the answer nor a KRB-ERROR
	stepUnknown     Step = "krb5"
)

// KDCError is a KRB-ERROR from a KDC, with the step and the KDC that sent
// it. errors.As finds it under every error of a Client step.
type KDCError struct {
	Step Step
	KDC  string // host:port that answered
	KRBError
}

func (e *KDCError) Error() string {
	return fmt.Sprintf("krb5: %s to KDC %s: %s", e.Step, e.KDC, e.describe())
}

// APError is a KRB-ERROR from the application server (inside the SPNEGO
// responseToken), or one that our Acceptor returns.
type APError struct {
	KRBError
}

func (e *APError) Error() string { return "krb5: AP-REQ refused: " + e.describe() }

// KDCAttempt is one KDC tried for one exchange.
type KDCAttempt struct {
	KDC     string
	Network string
	Err     error // why it gave no answer
}

// KDCUnreachableError says that no KDC answered an exchange, with each
// address tried and why.
type KDCUnreachableError struct {
	Step  Step
	Tried []KDCAttempt
	// Stopped is set when a KDC may have received a request that proves the
	// password and did not answer: no other KDC is tried then, since each
	// could count it as a failed logon.
	Stopped bool
}

func (e *KDCUnreachableError) Error() string {
	if len(e.Tried) == 0 {
		return fmt.Sprintf("krb5: %s: no KDC configured", e.Step)
	}
	parts := make([]string, len(e.Tried))
	for i, a := range e.Tried {
		parts[i] = fmt.Sprintf("%s/%s: %v", a.Network, a.KDC, a.Err)
	}
	s := fmt.Sprintf("krb5: %s: no KDC answered (%s)", e.Step, strings.Join(parts, "; "))
	if e.Stopped {
		s += "; other KDCs not tried: the request carried the password proof"
	}
	return s
}

// Unwrap gives the last attempt's error (a timeout, say).
func (e *KDCUnreachableError) Unwrap() error {
	if len(e.Tried) == 0 {
		return nil
	}
	return e.Tried[len(e.Tried)-1].Err
}
