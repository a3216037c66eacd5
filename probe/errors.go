package probe

import (
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"

	"github.com/rdpprobe/rdpprobe/negotiate"
)

// ProtocolMismatchError: the server selected a protocol the client did not
// offer (xrdp answers a HYBRID-only request by selecting PROTOCOL_RDP). It has
// not accepted what was offered, whatever it "answered".
type ProtocolMismatchError struct {
	Offered, Selected negotiate.Protocol
}

func (e *ProtocolMismatchError) Error() string {
	return fmt.Sprintf("x224: server selected %v, which the client did not offer (offered %v)", e.Selected, e.Offered)
}

// CredSSPVersionError: the server speaks a CredSSP version below 5, so it
// lacks the CVE-2018-0886 fix and a patched client with the default policy
// refuses it (MS-CSSP 3.1.5, clientNonce and the binding hash came with v5).
type CredSSPVersionError struct{ Server int }

func (e *CredSSPVersionError) Error() string {
	return fmt.Sprintf("credssp: server speaks version %d, without the CVE-2018-0886 fix (needs 5 or later)", e.Server)
}

// PubKeyAuthError: the server's pubKeyAuth did not match the TLS key we saw
// (or did not decrypt): someone may sit between us and the server, so no
// credentials were sent.
type PubKeyAuthError struct{ Reason string }

func (e *PubKeyAuthError) Error() string {
	return "credssp: server's pubKeyAuth does not match its TLS key (" + e.Reason + "); credentials withheld"
}

// ServerErrorCode: the server answered with TSRequest.errorCode (MS-CSSP 2.2.1, v3+).
type ServerErrorCode struct{ Status negotiate.NTStatus }

func (e *ServerErrorCode) Error() string {
	return fmt.Sprintf("credssp: server reported %v", e.Status)
}

// ClosedAfterAuthenticateError: the server closed the connection after our
// AUTHENTICATE without an errorCode (FreeRDP's server, pre-v3 Windows):
// credentials rejected, reason not given.
type ClosedAfterAuthenticateError struct{ Err error }

func (e *ClosedAfterAuthenticateError) Error() string {
	return "credssp: server closed the connection after AUTHENTICATE without an errorCode: " + e.Err.Error()
}
func (e *ClosedAfterAuthenticateError) Unwrap() error { return e.Err }

// EarlyUserAuthError: the Early User Authorization Result was not SUCCESS
// (MS-RDPBCGR 2.2.10.2).
type EarlyUserAuthError struct{ Result negotiate.EarlyUserAuthResult }

func (e *EarlyUserAuthError) Error() string {
	return fmt.Sprintf("early user authorization: %v", e.Result)
}

// PhaseTimeoutError: the phase's deadline (or the probe's) passed before the
// server finished its part.
type PhaseTimeoutError struct {
	Phase Phase
	Err   error
}

func (e *PhaseTimeoutError) Error() string {
	return fmt.Sprintf("%s: no answer before the deadline: %v", e.Phase, e.Err)
}
func (e *PhaseTimeoutError) Unwrap() error { return e.Err }
func (e *PhaseTimeoutError) Timeout() bool { return true }

// SetErrorInfoError: the server sent a Set Error Info PDU (MS-RDPBCGR
// 2.2.5.1) with a code other than ERRINFO_NONE: it is about to disconnect
// and says why.
type SetErrorInfoError struct{ Code negotiate.ErrorInfo }

func (e *SetErrorInfoError) Error() string {
	return fmt.Sprintf("session: server sent Set Error Info %v (0x%08X)", e.Code, uint32(e.Code))
}

// SessionLogonError: a Save Session Info PDU reported a logon error
// (MS-RDPBCGR 2.2.10.1.1.4.1.1): the server tried the Client Info's
// credentials and refused them, or refused the user for another reason.
type SessionLogonError struct{ Info negotiate.LogonErrorsInfo }

func (e *SessionLogonError) Error() string {
	return "session: server reported a logon error: " + e.Info.String()
}

// ServerDisconnectError: the server sent an MCS Disconnect Provider
// Ultimatum (MS-RDPBCGR 2.2.2.3) without a Set Error Info before it.
type ServerDisconnectError struct{ Reason negotiate.MCSReason }

func (e *ServerDisconnectError) Error() string {
	return fmt.Sprintf("session: server sent Disconnect Provider Ultimatum (%v)", e.Reason)
}

// TLSHandshakeError: the TLS handshake (MS-RDPBCGR 5.4.5.1) failed. An
// alert either side sent is reachable as a *TLSAlertError.
type TLSHandshakeError struct{ Err error }

func (e *TLSHandshakeError) Error() string { return "tls: handshake: " + e.Err.Error() }
func (e *TLSHandshakeError) Unwrap() error { return e.Err }

// TLSAlertError: a TLS alert (RFC 8446 6) ended the connection. crypto/tls
// reports one as a *net.OpError around its own alert type; this names it.
type TLSAlertError struct {
	Alert  uint8
	Remote bool // the server sent it; otherwise we did
	Err    error
}

func (e *TLSAlertError) Error() string { return e.Err.Error() }
func (e *TLSAlertError) Unwrap() error { return e.Err }

// TLS alerts the verdicts tell apart (RFC 8446 6.2).
const (
	TLSAlertHandshakeFailure     uint8 = 40
	TLSAlertProtocolVersion      uint8 = 70
	TLSAlertInsufficientSecurity uint8 = 71
)

// TLSKeyTooLargeError: Go's TLS client refused the server's RSA key as
// larger than it accepts (8192 bits unless GODEBUG=tlsmaxrsasize says
// otherwise), before checking any signature. crypto/tls says so only in
// its error's text; this names it.
type TLSKeyTooLargeError struct {
	MaxBits int // the limit in force
	Err     error
}

func (e *TLSKeyTooLargeError) Error() string { return e.Err.Error() }
func (e *TLSKeyTooLargeError) Unwrap() error { return e.Err }

// keyTooLargeText is how crypto/tls (handshake_client.go) words it.
const keyTooLargeText = "tls: server sent certificate containing RSA key larger than "

// typeTLSAlert returns err with a TLS alert inside it named as a
// *TLSAlertError, crypto/tls's refusal of a server's RSA key as a
// *TLSKeyTooLargeError, or err unchanged.
func typeTLSAlert(err error) error {
	if err == nil {
		return nil
	}
	if _, rest, ok := strings.Cut(err.Error(), keyTooLargeText); ok {
		var bits int
		if _, serr := fmt.Sscanf(rest, "%d bits", &bits); serr == nil {
			return &TLSKeyTooLargeError{MaxBits: bits, Err: err}
		}
	}
	var op *net.OpError
	if err == nil || !errors.As(err, &op) || op.Op != "remote error" && op.Op != "local error" {
		return err
	}
	// crypto/tls's alert is an unexported uint8 type.
	if v := reflect.ValueOf(op.Err); v.IsValid() && v.Kind() == reflect.Uint8 {
		return &TLSAlertError{Alert: uint8(v.Uint()), Remote: op.Op == "remote error", Err: err}
	}
	return err
}

// NoNegotiationResponseError: the server's Connection Confirm carries no
// RDP_NEG_RSP (MS-RDPBCGR 2.2.1.2). A server from before RDP 5.2 never
// reads the RDP_NEG_REQ and speaks standard RDP security only, which the
// client did not offer.
type NoNegotiationResponseError struct{ Offered negotiate.Protocol }

func (e *NoNegotiationResponseError) Error() string {
	return fmt.Sprintf("x224: the Connection Confirm carries no RDP_NEG_RSP (a server from before RDP 5.2: standard RDP security only); offered %v", e.Offered)
}
