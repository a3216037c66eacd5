package classify

import (
	"context"
	"crypto/tls"
	"errors"
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
// clear: the record header was not TLS, or the server's alert (RFC 8446
// 6.2) said the two sides share no version or no cipher suite.
func tlsHint(err error) string {
	var (
		record tls.RecordHeaderError
		alert  *probe.TLSAlertError
	)
	switch {
	case errors.As(err, &record):
		return " (the server did not answer with TLS)"
	case !errors.As(err, &alert) || !alert.Remote:
		return ""
	case alert.Alert == probe.TLSAlertProtocolVersion:
		return " (no TLS version in common)"
	case alert.Alert == probe.TLSAlertHandshakeFailure, alert.Alert == probe.TLSAlertInsufficientSecurity:
		return " (no TLS version or cipher suite in common)"
	}
	return ""
}
