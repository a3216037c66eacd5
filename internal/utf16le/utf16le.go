// Package utf16le encodes and decodes UTF-16LE, the string form of RDP
// structures (MS-RDPBCGR 2.2.1.11.1.1, 2.2.1.3.2...) and of NTLM's
// (MS-NLMP 2.2), once for negotiate and negotiate/ntlm.
package utf16le

import (
	"encoding/binary"
	"unicode/utf16"
)

// Encode returns s as UTF-16LE, without a terminator.
func Encode(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

// Decode decodes UTF-16LE; unpaired surrogates become U+FFFD and an odd
// trailing byte is dropped.
func Decode(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}
