package negotiate

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/rdpprobe/rdpprobe/internal/utf16le"
)

// The field forms every RDP structure shares: little-endian integers, read
// through leReader, and strings in UTF-16LE or ANSI, NUL-terminated or in a
// fixed field.

// le16 and le32 are v's little-endian bytes.
func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

// head returns at most the first 16 bytes of b, for error messages.
func head(b []byte) []byte { return b[:min(len(b), 16)] }

// ansiZ returns an ANSI string up to its first NUL.
func ansiZ(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// leReader reads little-endian fields; a short read records err and
// yields zeros, so a parser checks once at the end.
type leReader struct {
	b   []byte
	err error
}

func (r *leReader) need(n int, what string) bool {
	if r.err != nil {
		return false
	}
	if n < 0 || n > len(r.b) {
		r.err = fmt.Errorf("%s: need %d bytes, %d left", what, n, len(r.b))
		return false
	}
	return true
}

func (r *leReader) u8() uint8 {
	if !r.need(1, "u8") {
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *leReader) u16() uint16 {
	if !r.need(2, "u16") {
		return 0
	}
	v := binary.LittleEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *leReader) u32() uint32 {
	if !r.need(4, "u32") {
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *leReader) bytes(n int, what string) []byte {
	if !r.need(n, what) {
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// done returns the first short read, or an error for trailing bytes.
func (r *leReader) done(layer, what string) error {
	if r.err != nil {
		return fmt.Errorf("%s: %w: %s: %s", layer, ErrMalformed, what, r.err)
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%s: %w: %d trailing bytes after %s", layer, ErrMalformed, len(r.b), what)
	}
	return nil
}

// fixedUTF16 encodes s as UTF-16LE in exactly n bytes, cut so that a NUL
// terminator always fits.
func fixedUTF16(s string, n int) []byte {
	u := utf16le.Encode(s)
	out := make([]byte, n)
	copy(out[:n-2], u[:min(len(u), n-2)&^1])
	return out
}

// fromUTF16Z decodes UTF-16LE up to the first NUL code unit.
func fromUTF16Z(b []byte) string {
	for i := 0; i+1 < len(b); i += 2 {
		if b[i] == 0 && b[i+1] == 0 {
			return utf16le.Decode(b[:i])
		}
	}
	return utf16le.Decode(b[:len(b)&^1])
}
