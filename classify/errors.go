package classify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/rdpprobe/rdpprobe/probe"
)

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

// isTLSError: the TLS layer failed, in the handshake or on a record.
func isTLSError(err error) bool {
	var (
		handshake *probe.TLSHandshakeError
		alert     *probe.TLSAlertError
		qalert    tls.AlertError
		verify    *tls.CertificateVerificationError
		record    tls.RecordHeaderError
	)
	return errors.As(err, &handshake) || errors.As(err, &alert) || errors.As(err, &qalert) ||
		errors.As(err, &verify) || errors.As(err, &record)
}

// tlsHint adds what a TLS error usually means, when its type makes it
// clear: the record header was not TLS, the server's RSA key is larger
// than Go's TLS client takes, or the server's alert (RFC 8446 6.2) said
// the two sides share no version or no cipher suite.
func tlsHint(err error) string {
	var (
		record tls.RecordHeaderError
		alert  *probe.TLSAlertError
		big    *probe.TLSKeyTooLargeError
	)
	switch {
	case errors.As(err, &record):
		return " (the server did not answer with TLS)"
	case errors.As(err, &big):
		return fmt.Sprintf(" (the server's certificate has an RSA key larger than the %d bits Go's TLS client accepts, so "+
			"rdpprobe cannot set up TLS with it although other clients may; run it with GODEBUG=tlsmaxrsasize=16384 (or the "+
			"key's size) to raise the limit, or give the server a 2048-4096-bit key, which every client handles quickly)", big.MaxBits)
	case !errors.As(err, &alert) || !alert.Remote:
		return ""
	case alert.Alert == probe.TLSAlertProtocolVersion:
		return " (no TLS version in common)"
	case alert.Alert == probe.TLSAlertHandshakeFailure, alert.Alert == probe.TLSAlertInsufficientSecurity:
		return " (no TLS version or cipher suite in common)"
	}
	return ""
}
