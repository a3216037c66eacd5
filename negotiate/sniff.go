package negotiate

import (
	"bytes"
	"fmt"
)

// Looks describes what the first bytes resemble, for a peer that did not
// answer with TPKT. Only a few bytes may be known, so it is a guess.
func (e *NotTPKTError) Looks() string { return looks(e.First) }

func looks(b []byte) string {
	switch {
	case len(b) == 0:
		return "nothing"
	case hasPrefixOrPart(b, "HTTP/"):
		return "an HTTP response"
	case hasPrefixOrPart(b, "SSH-"):
		return "an SSH banner"
	case len(b) >= 2 && b[0] == 0x15 && b[1] == 0x03:
		return "a TLS alert" // TLS record: ContentType alert(21), version 3.x
	case len(b) >= 2 && b[0] == 0x16 && b[1] == 0x03:
		return "a TLS handshake record"
	case hasPrefixOrPart(b, "\xffSMB"), hasPrefixOrPart(b, "\xfeSMB"),
		len(b) > 4 && b[0] == 0 && hasPrefixOrPart(b[4:], "\xffSMB"),
		len(b) > 4 && b[0] == 0 && hasPrefixOrPart(b[4:], "\xfeSMB"):
		return "SMB"
	case printable(b):
		return fmt.Sprintf("printable text %q", b)
	default:
		return fmt.Sprintf("binary %x", b)
	}
}

// hasPrefixOrPart reports whether b starts with p, or is a prefix of p of
// at least 3 bytes (only a short header may have been read).
func hasPrefixOrPart(b []byte, p string) bool {
	if bytes.HasPrefix(b, []byte(p)) {
		return true
	}
	return len(b) >= 3 && len(b) < len(p) && p[:len(b)] == string(b)
}

func printable(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 || c > 0x7e) && c != '\r' && c != '\n' && c != '\t' {
			return false
		}
	}
	return true
}
