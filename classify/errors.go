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
	case strings.Contains(msg, "certificate containing RSA key larger than"):
		// crypto/tls refuses such a key before any signature is checked
		// (Go's default limit, 8192 bits), and says so only in its text.
		return " (the server's certificate has an RSA key larger than the 8192 bits Go's TLS client accepts, so rdpprobe " +
			"cannot set up TLS with it although other clients may; run it with GODEBUG=tlsmaxrsasize=16384 (or the key's " +
			"size) to raise the limit, or give the server a 2048-4096-bit key, which every client handles quickly)"
	}
	return ""
}
