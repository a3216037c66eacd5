package report

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Escape makes a string safe for a terminal or a Nagios line: control
// bytes (C0, DEL, C1), line and paragraph separators, bidi controls and
// invalid UTF-8 become visible escapes (\x1b, \u202e). Every string a
// server chose (NTLM names, certificate fields, licence company) passes
// through it before the text form prints it; JSON, CSV and HTML escape on
// their own.
func Escape(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			// Plain ASCII needs no look at runes; anything else does.
			for _, r := range s {
				if r == utf8.RuneError || r < 0x20 || r == 0x7f || unsafeRune(r) {
					return true
				}
			}
			return false
		}
	}
	return false
}

// unsafeRune: C1 controls, and the format characters that reorder or
// break a line on a terminal (Unicode bidi controls, LS, PS).
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r == 0x2028, r == 0x2029:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}
