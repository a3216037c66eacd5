// Package tsgu holds the packets of the RD Gateway's HTTP transport
// (MS-TSGU 2.2.10): the handshake, tunnel, tunnel authorization and
// channel requests and responses, the DATA packets that carry the RDP
// bytes, and the gateway's keepalive, service, reauthentication and close
// messages. It is messages only: marshal and parse, no I/O but ReadPacket,
// which frames one packet from a stream with a hard size cap.
//
// Every parser takes the whole packet (header included), checks every
// read and says no (an error wrapping ErrMalformed) instead of panicking.
// Bytes after the fields a packet's flags announce are ignored: a newer
// gateway may add fields this package does not know.
package tsgu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/rdpprobe/rdpprobe/internal/utf16le"
	"github.com/rdpprobe/rdpprobe/negotiate"
)

// ErrMalformed is wrapped by every parse error; it wraps
// negotiate.ErrMalformed.
var ErrMalformed = fmt.Errorf("tsgu: %w", negotiate.ErrMalformed)

// PacketType is HTTP_PACKET_HEADER.packetType (MS-TSGU 2.2.5.3.3).
type PacketType uint16

const (
	TypeHandshakeRequest     PacketType = 0x01
	TypeHandshakeResponse    PacketType = 0x02
	TypeExtendedAuthMsg      PacketType = 0x03
	TypeTunnelCreate         PacketType = 0x04
	TypeTunnelResponse       PacketType = 0x05
	TypeTunnelAuth           PacketType = 0x06
	TypeTunnelAuthResponse   PacketType = 0x07
	TypeChannelCreate        PacketType = 0x08
	TypeChannelResponse      PacketType = 0x09
	TypeData                 PacketType = 0x0A
	TypeServiceMessage       PacketType = 0x0B
	TypeReauthMessage        PacketType = 0x0C
	TypeKeepalive            PacketType = 0x0D
	TypeCloseChannel         PacketType = 0x10
	TypeCloseChannelResponse PacketType = 0x11
)

var packetTypeNames = map[PacketType]string{
	TypeHandshakeRequest:     "PKT_TYPE_HANDSHAKE_REQUEST",
	TypeHandshakeResponse:    "PKT_TYPE_HANDSHAKE_RESPONSE",
	TypeExtendedAuthMsg:      "PKT_TYPE_EXTENDED_AUTH_MSG",
	TypeTunnelCreate:         "PKT_TYPE_TUNNEL_CREATE",
	TypeTunnelResponse:       "PKT_TYPE_TUNNEL_RESPONSE",
	TypeTunnelAuth:           "PKT_TYPE_TUNNEL_AUTH",
	TypeTunnelAuthResponse:   "PKT_TYPE_TUNNEL_AUTH_RESPONSE",
	TypeChannelCreate:        "PKT_TYPE_CHANNEL_CREATE",
	TypeChannelResponse:      "PKT_TYPE_CHANNEL_RESPONSE",
	TypeData:                 "PKT_TYPE_DATA",
	TypeServiceMessage:       "PKT_TYPE_SERVICE_MESSAGE",
	TypeReauthMessage:        "PKT_TYPE_REAUTH_MESSAGE",
	TypeKeepalive:            "PKT_TYPE_KEEPALIVE",
	TypeCloseChannel:         "PKT_TYPE_CLOSE_CHANNEL",
	TypeCloseChannelResponse: "PKT_TYPE_CLOSE_CHANNEL_RESPONSE",
}

// String returns the spec's name, or PKT_TYPE_0x%04X.
func (t PacketType) String() string {
	if n, ok := packetTypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("PKT_TYPE_0x%04X", uint16(t))
}

// HeaderLen is the size of HTTP_PACKET_HEADER (MS-TSGU 2.2.10.9):
// packetType, reserved (2 bytes each), packetLength (4, the whole packet).
const HeaderLen = 8

// Header is HTTP_PACKET_HEADER.
type Header struct {
	Type   PacketType
	Length uint32 // the whole packet, header included
}

// ParseHeader reads the 8-byte header at the start of b.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, fmt.Errorf("%w: packet header of %d bytes, want %d", ErrMalformed, len(b), HeaderLen)
	}
	h := Header{Type: PacketType(binary.LittleEndian.Uint16(b)), Length: binary.LittleEndian.Uint32(b[4:])}
	if h.Length < HeaderLen {
		return h, fmt.Errorf("%w: %v: packetLength %d is shorter than its header", ErrMalformed, h.Type, h.Length)
	}
	return h, nil
}

// ReadPacket reads one whole packet of at most max bytes from r (the
// bytes of an OUT channel's body, or of WebSocket messages): the header,
// then as many bytes as its packetLength says.
func ReadPacket(r io.Reader, max int) ([]byte, error) {
	var hb [HeaderLen]byte
	if _, err := io.ReadFull(r, hb[:]); err != nil {
		return nil, err
	}
	h, err := ParseHeader(hb[:])
	if err != nil {
		return nil, err
	}
	if int64(h.Length) > int64(max) {
		return nil, fmt.Errorf("%w: %v of %d bytes, more than the %d allowed", ErrMalformed, h.Type, h.Length, max)
	}
	b := make([]byte, h.Length)
	copy(b, hb[:])
	if _, err := io.ReadFull(r, b[HeaderLen:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("read %v: %w", h.Type, err)
	}
	return b, nil
}

// packet returns the header for a packet of type t around body.
func packet(t PacketType, body []byte) []byte {
	b := make([]byte, HeaderLen, HeaderLen+len(body))
	binary.LittleEndian.PutUint16(b, uint16(t))
	binary.LittleEndian.PutUint32(b[4:], uint32(HeaderLen+len(body)))
	return append(b, body...)
}

// body checks that b is a whole packet of type t and returns what follows
// the header.
func body(b []byte, t PacketType) ([]byte, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return nil, err
	}
	if h.Type != t {
		return nil, fmt.Errorf("%w: %v where %v was expected", ErrMalformed, h.Type, t)
	}
	if int64(h.Length) > int64(len(b)) {
		return nil, fmt.Errorf("%w: %v: packetLength %d, only %d bytes", ErrMalformed, t, h.Length, len(b))
	}
	return b[HeaderLen:h.Length], nil
}

// reader reads little-endian fields; the first short read sticks.
type reader struct {
	t   PacketType
	b   []byte
	err error
}

func (r *reader) need(n int, what string) bool {
	if r.err != nil {
		return false
	}
	if n > len(r.b) {
		r.err = fmt.Errorf("%w: %v: %s needs %d bytes, %d left", ErrMalformed, r.t, what, n, len(r.b))
		return false
	}
	return true
}

func (r *reader) u8(what string) uint8 {
	if !r.need(1, what) {
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) u16(what string) uint16 {
	if !r.need(2, what) {
		return 0
	}
	v := binary.LittleEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *reader) u32(what string) uint32 {
	if !r.need(4, what) {
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) u64(what string) uint64 {
	if !r.need(8, what) {
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *reader) bytes(n int, what string) []byte {
	if !r.need(n, what) {
		return nil
	}
	v := append([]byte(nil), r.b[:n]...)
	r.b = r.b[n:]
	return v
}

// blob reads an HTTP_BYTE_BLOB (MS-TSGU 2.2.10.1): cbLen (2 bytes), then
// that many bytes.
func (r *reader) blob(what string) []byte {
	return r.bytes(int(r.u16(what)), what)
}

// str reads an HTTP_UNICODE_STRING (2.2.10.22): cbLen, then UTF-16LE,
// which senders terminate with a NUL that is not part of the string.
func (r *reader) str(what string) string {
	n := int(r.u16(what))
	if r.err == nil && n%2 != 0 {
		r.err = fmt.Errorf("%w: %v: %s of %d bytes, not UTF-16", ErrMalformed, r.t, what, n)
		return ""
	}
	return fromUTF16Z(r.bytes(n, what))
}

// fromUTF16Z decodes UTF-16LE up to the first NUL code unit.
func fromUTF16Z(b []byte) string {
	for i := 0; i+1 < len(b); i += 2 {
		if b[i] == 0 && b[i+1] == 0 {
			return utf16le.Decode(b[:i])
		}
	}
	return utf16le.Decode(b)
}

// writer builds a packet body.
type writer []byte

func (w *writer) u8(v uint8)   { *w = append(*w, v) }
func (w *writer) u16(v uint16) { *w = binary.LittleEndian.AppendUint16(*w, v) }
func (w *writer) u32(v uint32) { *w = binary.LittleEndian.AppendUint32(*w, v) }
func (w *writer) u64(v uint64) { *w = binary.LittleEndian.AppendUint64(*w, v) }

// blob writes an HTTP_BYTE_BLOB; a longer b is cut at 65535 bytes.
func (w *writer) blob(b []byte) {
	b = b[:min(len(b), 0xFFFF)]
	w.u16(uint16(len(b)))
	*w = append(*w, b...)
}

// str writes an HTTP_UNICODE_STRING with its NUL terminator, as Windows
// and FreeRDP send it; the empty string is cbLen 0. A longer string is cut
// so that it fits cbLen.
func (w *writer) str(s string) {
	if s == "" {
		w.u16(0)
		return
	}
	u := utf16le.Encode(s)
	u = append(u[:min(len(u), 0xFFFF-2)&^1], 0, 0)
	w.u16(uint16(len(u)))
	*w = append(*w, u...)
}
