package gwhttp

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Opcode is a WebSocket frame's opcode (RFC 6455 5.2).
type Opcode uint8

const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

func (o Opcode) control() bool { return o&0x8 != 0 }

// websocketGUID is the key suffix of RFC 6455 1.3.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey is the Sec-WebSocket-Accept a server returns for key (RFC
// 6455 4.2.2): base64(SHA-1(key + GUID)).
func AcceptKey(key string) string {
	sum := sha1.Sum([]byte(key + websocketGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// NewKey returns a Sec-WebSocket-Key: 16 random bytes, base64-encoded
// (RFC 6455 4.1).
func NewKey(rand io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b[:]), nil
}

// StandardKey reports whether key is what RFC 6455 4.1 demands: the
// base64 encoding of 16 bytes. (FreeRDP 2's key is 15 upper-case letters
// and punctuation, which a strict server refuses.)
func StandardKey(key string) bool {
	b, err := base64.StdEncoding.DecodeString(key)
	return err == nil && len(b) == 16
}

// Frame is one WebSocket frame, its payload unmasked.
type Frame struct {
	Fin     bool
	Op      Opcode
	Masked  bool // the sender masked the payload (a client must)
	Payload []byte
}

// AppendFrame appends a frame to dst: a client passes a mask (RFC 6455
// 5.3), a server nil.
func AppendFrame(dst []byte, fin bool, op Opcode, mask *[4]byte, payload []byte) []byte {
	b0 := byte(op & 0xF)
	if fin {
		b0 |= 0x80
	}
	var b1 byte
	if mask != nil {
		b1 = 0x80
	}
	n := len(payload)
	switch {
	case n < 126:
		dst = append(dst, b0, b1|byte(n))
	case n <= 0xFFFF:
		dst = append(dst, b0, b1|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, b0, b1|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	if mask == nil {
		return append(dst, payload...)
	}
	dst = append(dst, mask[:]...)
	start := len(dst)
	dst = append(dst, payload...)
	for i := range payload {
		dst[start+i] ^= mask[i%4]
	}
	return dst
}

// ReadFrame reads one frame whose payload is at most max bytes and
// unmasks it. It refuses what RFC 6455 5.2 and 5.5 forbid: reserved bits
// without an extension, reserved opcodes, a control frame that is
// fragmented or longer than 125 bytes, a 64-bit length with its top bit
// set or that a shorter form could hold.
func ReadFrame(r io.Reader, max int) (Frame, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return Frame{}, err
	}
	f := Frame{Fin: h[0]&0x80 != 0, Op: Opcode(h[0] & 0xF), Masked: h[1]&0x80 != 0}
	if h[0]&0x70 != 0 {
		return f, fmt.Errorf("%w: websocket frame with reserved bits 0x%02X", ErrMalformed, h[0]&0x70)
	}
	switch f.Op {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
	default:
		return f, fmt.Errorf("%w: websocket frame with reserved opcode 0x%X", ErrMalformed, uint8(f.Op))
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return f, unexpectedEOF(err)
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
		if n < 126 {
			return f, fmt.Errorf("%w: websocket length %d in the 16-bit form", ErrMalformed, n)
		}
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return f, unexpectedEOF(err)
		}
		n = binary.BigEndian.Uint64(b[:])
		if n>>63 != 0 || n <= 0xFFFF {
			return f, fmt.Errorf("%w: websocket length %d in the 64-bit form", ErrMalformed, n)
		}
	}
	if f.Op.control() && (!f.Fin || n > 125) {
		return f, fmt.Errorf("%w: websocket control frame %v fragmented or of %d bytes", ErrMalformed, f.Op, n)
	}
	if n > uint64(max) {
		return f, fmt.Errorf("%w: websocket frame of %d bytes, more than the %d allowed", ErrMalformed, n, max)
	}
	var mask [4]byte
	if f.Masked {
		if _, err := io.ReadFull(r, mask[:]); err != nil {
			return f, unexpectedEOF(err)
		}
	}
	f.Payload = make([]byte, n)
	if _, err := io.ReadFull(r, f.Payload); err != nil {
		return f, unexpectedEOF(err)
	}
	if f.Masked {
		for i := range f.Payload {
			f.Payload[i] ^= mask[i%4]
		}
	}
	return f, nil
}

func (o Opcode) String() string {
	switch o {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return fmt.Sprintf("opcode 0x%X", uint8(o))
}

// CloseError: the peer sent a Close frame (RFC 6455 5.5.1) with this
// status code (0 when it gave none) and reason.
type CloseError struct {
	Code   uint16
	Reason string
}

func (e *CloseError) Error() string {
	if e.Code == 0 {
		return "websocket: the peer closed the connection"
	}
	return fmt.Sprintf("websocket: the peer closed the connection: %d %q", e.Code, e.Reason)
}

// MessageReader reads the data of binary (and continuation) frames from R
// as one stream, as the gateway's packets flow over WebSocket. It answers
// a ping through Pong, skips pongs, and returns a *CloseError at a Close
// frame (after answering it through Pong with OpClose, when set). A text
// frame, or a frame whose masking is not what WantMasked says (clients
// mask, servers do not, RFC 6455 5.1), is an error.
type MessageReader struct {
	R          io.Reader
	Max        int  // a frame's largest payload
	WantMasked bool // true on the server's side
	// Pong, if set, sends a control frame back: a pong for a ping, a
	// close for a close.
	Pong func(op Opcode, payload []byte) error

	buf []byte
	err error
}

func (m *MessageReader) Read(p []byte) (int, error) {
	for len(m.buf) == 0 && m.err == nil {
		f, err := ReadFrame(m.R, m.Max)
		switch {
		case err != nil:
			m.err = err
		case f.Masked != m.WantMasked:
			m.err = fmt.Errorf("%w: websocket frame masked=%v from the wrong side", ErrMalformed, f.Masked)
		case f.Op == OpBinary || f.Op == OpContinuation:
			m.buf = f.Payload
		case f.Op == OpPing:
			if m.Pong != nil {
				m.err = m.Pong(OpPong, f.Payload)
			}
		case f.Op == OpPong:
		case f.Op == OpClose:
			ce := &CloseError{}
			if len(f.Payload) >= 2 {
				ce.Code = binary.BigEndian.Uint16(f.Payload)
				ce.Reason = string(f.Payload[2:])
			}
			if m.Pong != nil {
				m.Pong(OpClose, f.Payload[:min(len(f.Payload), 2)])
			}
			m.err = ce
		default:
			m.err = fmt.Errorf("%w: websocket %v frame where binary data was expected", ErrMalformed, f.Op)
		}
	}
	if len(m.buf) == 0 {
		return 0, m.err
	}
	n := copy(p, m.buf)
	m.buf = m.buf[n:]
	return n, nil
}

// IsClose reports whether err is the peer's Close frame.
func IsClose(err error) bool {
	var ce *CloseError
	return errors.As(err, &ce)
}
