package classify

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"os"
	"strings"
	"syscall"
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
