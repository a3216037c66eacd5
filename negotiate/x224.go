package negotiate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/cryptobyte"
)

// ErrMalformed is wrapped by every parse failure in this package.
var ErrMalformed = errors.New("malformed")

// ErrDisconnectRequest is wrapped when the server answers the Connection
// Request with an X.224 Disconnect Request TPDU (X.224 13.5).
var ErrDisconnectRequest = errors.New("server sent X.224 Disconnect Request")

// TPKT (RFC 1006 6) and X.224 class 0 TPDU codes (X.224 13.3-13.5).
const (
	tpktVersion   = 0x03
	tpktHeaderLen = 4
	maxTPKTLen    = 0xFFFF

	x224CR = 0xE0 // Connection Request
	x224CC = 0xD0 // Connection Confirm
	x224DR = 0x80 // Disconnect Request

	x224FixedLen = 7 // LI, code, DST-REF, SRC-REF, class option
	maxX224LI    = 254
)

// RDP negotiation structure types (MS-RDPBCGR 2.2.1.1.1, 2.2.1.1.2, 2.2.1.2.1, 2.2.1.2.2).
const (
	typeNegReq          = 0x01
	typeNegRsp          = 0x02
	typeNegFailure      = 0x03
	typeCorrelationInfo = 0x06

	negLen             = 8
	correlationInfoLen = 36
)

// RDP_NEG_REQ flags (MS-RDPBCGR 2.2.1.1.1).
const (
	RestrictedAdminModeRequired          uint8 = 0x01 // RESTRICTED_ADMIN_MODE_REQUIRED
	RedirectedAuthenticationModeRequired uint8 = 0x02 // REDIRECTED_AUTHENTICATION_MODE_REQUIRED
	CorrelationInfoPresent               uint8 = 0x08 // CORRELATION_INFO_PRESENT
)

const cookiePrefix = "Cookie: "
const mstshashPrefix = "Cookie: mstshash="

// Protocol is a set of RDP security protocols (MS-RDPBCGR 2.2.1.1.1 requestedProtocols).
type Protocol uint32

const (
	ProtocolRDP      Protocol = 0x00000000 // PROTOCOL_RDP: standard RDP security
	ProtocolSSL      Protocol = 0x00000001 // PROTOCOL_SSL: TLS
	ProtocolHybrid   Protocol = 0x00000002 // PROTOCOL_HYBRID: CredSSP (NLA)
	ProtocolRDSTLS   Protocol = 0x00000004 // PROTOCOL_RDSTLS
	ProtocolHybridEx Protocol = 0x00000008 // PROTOCOL_HYBRID_EX: CredSSP + Early User Authorization Result
	ProtocolRDSAAD   Protocol = 0x00000010 // PROTOCOL_RDSAAD
)

// protocolNames are the bits of a Protocol in bit order (PROTOCOL_RDP is no bit).
var protocolNames = [...]struct {
	p    Protocol
	name string
}{
	{ProtocolSSL, "PROTOCOL_SSL"},
	{ProtocolHybrid, "PROTOCOL_HYBRID"},
	{ProtocolRDSTLS, "PROTOCOL_RDSTLS"},
	{ProtocolHybridEx, "PROTOCOL_HYBRID_EX"},
	{ProtocolRDSAAD, "PROTOCOL_RDSAAD"},
}

const knownProtocols = ProtocolSSL | ProtocolHybrid | ProtocolRDSTLS | ProtocolHybridEx | ProtocolRDSAAD

// String returns "PROTOCOL_RDP" for 0, else the spec names of the set bits
// joined by "|" in bit order; unknown bits are appended as one hex value.
func (p Protocol) String() string {
	if p == ProtocolRDP {
		return "PROTOCOL_RDP"
	}
	var sb strings.Builder
	for _, n := range protocolNames {
		if p&n.p != 0 {
			if sb.Len() > 0 {
				sb.WriteByte('|')
			}
			sb.WriteString(n.name)
		}
	}
	if u := p &^ knownProtocols; u != 0 {
		if sb.Len() > 0 {
			sb.WriteByte('|')
		}
		fmt.Fprintf(&sb, "0x%08X", uint32(u))
	}
	return sb.String()
}

// FailureCode is RDP_NEG_FAILURE.failureCode (MS-RDPBCGR 2.2.1.2.2).
type FailureCode uint32

const (
	SSLRequiredByServer             FailureCode = 1
	SSLNotAllowedByServer           FailureCode = 2
	SSLCertNotOnServer              FailureCode = 3
	InconsistentFlags               FailureCode = 4
	HybridRequiredByServer          FailureCode = 5
	SSLWithUserAuthRequiredByServer FailureCode = 6
)

var failureCodeNames = map[FailureCode]string{
	SSLRequiredByServer:             "SSL_REQUIRED_BY_SERVER",
	SSLNotAllowedByServer:           "SSL_NOT_ALLOWED_BY_SERVER",
	SSLCertNotOnServer:              "SSL_CERT_NOT_ON_SERVER",
	InconsistentFlags:               "INCONSISTENT_FLAGS",
	HybridRequiredByServer:          "HYBRID_REQUIRED_BY_SERVER",
	SSLWithUserAuthRequiredByServer: "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER",
}

// String returns the spec name, or FAILURE_CODE_0x%08X for unknown codes.
func (c FailureCode) String() string { return specName(failureCodeNames, c, "FAILURE_CODE_0x%08X") }

// NegotiationResponseFlags is RDP_NEG_RSP.flags (MS-RDPBCGR 2.2.1.2.1).
type NegotiationResponseFlags uint8

const (
	ExtendedClientDataSupported           NegotiationResponseFlags = 0x01 // EXTENDED_CLIENT_DATA_SUPPORTED
	DynVCGFXProtocolSupported             NegotiationResponseFlags = 0x02 // DYNVC_GFX_PROTOCOL_SUPPORTED
	NegRspFlagReserved                    NegotiationResponseFlags = 0x04 // NEGRSP_FLAG_RESERVED
	RestrictedAdminModeSupported          NegotiationResponseFlags = 0x08 // RESTRICTED_ADMIN_MODE_SUPPORTED
	RedirectedAuthenticationModeSupported NegotiationResponseFlags = 0x10 // REDIRECTED_AUTHENTICATION_MODE_SUPPORTED
)

var responseFlagNames = [...]string{
	"EXTENDED_CLIENT_DATA_SUPPORTED",
	"DYNVC_GFX_PROTOCOL_SUPPORTED",
	"NEGRSP_FLAG_RESERVED",
	"RESTRICTED_ADMIN_MODE_SUPPORTED",
	"REDIRECTED_AUTHENTICATION_MODE_SUPPORTED",
}

// String returns the set flags' spec names joined by "|", unknown bits as
// hex, and "0" when no flag is set.
func (f NegotiationResponseFlags) String() string {
	if f == 0 {
		return "0"
	}
	var parts []string
	for i, n := range responseFlagNames {
		if f&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	if u := f &^ (1<<len(responseFlagNames) - 1); u != 0 {
		parts = append(parts, fmt.Sprintf("0x%02X", uint8(u)))
	}
	return strings.Join(parts, "|")
}

// NegotiationResponse is RDP_NEG_RSP (MS-RDPBCGR 2.2.1.2.1).
type NegotiationResponse struct {
	Flags            NegotiationResponseFlags
	SelectedProtocol Protocol
}

// NegotiationFailure is RDP_NEG_FAILURE (MS-RDPBCGR 2.2.1.2.2).
type NegotiationFailure struct{ Code FailureCode }

func (f *NegotiationFailure) Error() string {
	return fmt.Sprintf("x224: server refused negotiation: %s (%d)", f.Code, uint32(f.Code))
}

// ConnectionRequest is the X.224 Connection Request PDU (MS-RDPBCGR 2.2.1.1).
type ConnectionRequest struct {
	// Cookie is the user name sent as "Cookie: mstshash=<Cookie>\r\n"; empty
	// means no cookie line. Marshal cuts it at the first CR or LF and to what
	// fits the one-byte X.224 length indicator.
	Cookie             string
	RequestedProtocols Protocol
	Flags              uint8
	NoNegotiation      bool // omit RDP_NEG_REQ (pre-RDP 5.2 client)

	// CorrelationID is RDP_CORRELATION_INFO.correlationId (MS-RDPBCGR
	// 2.2.1.1.2), sent when Flags has CorrelationInfoPresent.
	CorrelationID [16]byte
}

func (m *ConnectionRequest) tail() int {
	if m.NoNegotiation {
		return 0
	}
	if m.Flags&CorrelationInfoPresent != 0 {
		return negLen + correlationInfoLen
	}
	return negLen
}

// cookie returns the cookie as it fits on the wire.
func (m *ConnectionRequest) cookie() string {
	c := m.Cookie
	if i := strings.IndexAny(c, "\r\n"); i >= 0 {
		c = c[:i]
	}
	room := maxX224LI - (x224FixedLen - 1) - len(mstshashPrefix) - 2 - m.tail()
	if len(c) > room {
		c = c[:room]
	}
	return c
}

// Marshal returns the whole TPKT packet: TPKT header, X.224 CR TPDU,
// optional cookie line and RDP_NEG_REQ.
func (m *ConnectionRequest) Marshal() []byte {
	var b cryptobyte.Builder
	if c := m.cookie(); c != "" {
		b.AddBytes([]byte(mstshashPrefix))
		b.AddBytes([]byte(c))
		b.AddBytes([]byte("\r\n"))
	}
	if !m.NoNegotiation {
		b.AddUint8(typeNegReq)
		b.AddUint8(m.Flags)
		b.AddBytes(le16(negLen))
		b.AddBytes(le32(uint32(m.RequestedProtocols)))
		if m.Flags&CorrelationInfoPresent != 0 {
			b.AddUint8(typeCorrelationInfo)
			b.AddUint8(0)
			b.AddBytes(le16(correlationInfoLen))
			b.AddBytes(m.CorrelationID[:])
			b.AddBytes(make([]byte, 16)) // reserved
		}
	}
	return x224Packet(x224CR, b.BytesOrPanic())
}

// Unmarshal parses an X.224 Connection Request TPDU (the TPKT payload).
func (m *ConnectionRequest) Unmarshal(x224 []byte) error {
	*m = ConnectionRequest{}
	s, err := x224Header(x224, x224CR, "Connection Request")
	if err != nil {
		return err
	}
	if len(s) >= len(cookiePrefix) && string(s[:len(cookiePrefix)]) == cookiePrefix {
		i := strings.Index(string(s), "\r\n")
		if i < 0 {
			return fmt.Errorf("x224: %w: cookie line without CRLF", ErrMalformed)
		}
		if line := string(s[:i]); strings.HasPrefix(line, mstshashPrefix) {
			m.Cookie = line[len(mstshashPrefix):]
		}
		s = s[i+2:]
	}
	if len(s) == 0 {
		m.NoNegotiation = true
		return nil
	}
	if len(s) < negLen || s[0] != typeNegReq || binary.LittleEndian.Uint16(s[2:]) != negLen {
		return fmt.Errorf("x224: %w: RDP_NEG_REQ % x", ErrMalformed, head(s))
	}
	m.Flags = s[1]
	m.RequestedProtocols = Protocol(binary.LittleEndian.Uint32(s[4:]))
	s = s[negLen:]
	if m.Flags&CorrelationInfoPresent != 0 {
		if len(s) < correlationInfoLen || s[0] != typeCorrelationInfo || binary.LittleEndian.Uint16(s[2:]) != correlationInfoLen {
			return fmt.Errorf("x224: %w: RDP_CORRELATION_INFO % x", ErrMalformed, head(s))
		}
		copy(m.CorrelationID[:], s[4:20])
		s = s[correlationInfoLen:]
	}
	if len(s) != 0 {
		return fmt.Errorf("x224: %w: %d trailing bytes after RDP_NEG_REQ", ErrMalformed, len(s))
	}
	return nil
}

// ConnectionConfirm is the X.224 Connection Confirm PDU (MS-RDPBCGR 2.2.1.2).
// Both fields are nil when the server sent no negotiation structure (a
// server predating RDP 5.2, which implies PROTOCOL_RDP).
type ConnectionConfirm struct {
	Response *NegotiationResponse
	Failure  *NegotiationFailure
}

// Marshal returns the whole TPKT packet; Failure wins when both are set.
func (m *ConnectionConfirm) Marshal() []byte {
	var neg []byte
	switch {
	case m.Failure != nil:
		neg = append([]byte{typeNegFailure, 0}, le16(negLen)...)
		neg = append(neg, le32(uint32(m.Failure.Code))...)
	case m.Response != nil:
		neg = append([]byte{typeNegRsp, byte(m.Response.Flags)}, le16(negLen)...)
		neg = append(neg, le32(uint32(m.Response.SelectedProtocol))...)
	}
	return x224Packet(x224CC, neg)
}

// Unmarshal parses an X.224 Connection Confirm TPDU (the TPKT payload). An
// X.224 Disconnect Request yields an error wrapping ErrDisconnectRequest.
func (m *ConnectionConfirm) Unmarshal(x224 []byte) error {
	*m = ConnectionConfirm{}
	if len(x224) >= 2 && x224[1] == x224DR && int(x224[0]) == len(x224)-1 {
		if len(x224) < x224FixedLen {
			return fmt.Errorf("x224: %w: Disconnect Request of %d bytes", ErrMalformed, len(x224))
		}
		return fmt.Errorf("x224: %w (reason %d)", ErrDisconnectRequest, x224[6])
	}
	s, err := x224Header(x224, x224CC, "Connection Confirm")
	if err != nil {
		return err
	}
	switch {
	case len(s) == 0:
		return nil
	case len(s) != negLen:
		return fmt.Errorf("x224: %w: %d bytes after Connection Confirm header, want 0 or 8", ErrMalformed, len(s))
	}
	n := binary.LittleEndian.Uint16(s[2:])
	v := binary.LittleEndian.Uint32(s[4:])
	switch s[0] {
	case typeNegRsp:
		if n != negLen {
			return fmt.Errorf("x224: %w: RDP_NEG_RSP length %d", ErrMalformed, n)
		}
		m.Response = &NegotiationResponse{Flags: NegotiationResponseFlags(s[1]), SelectedProtocol: Protocol(v)}
	case typeNegFailure:
		if n != negLen {
			return fmt.Errorf("x224: %w: RDP_NEG_FAILURE length %d", ErrMalformed, n)
		}
		m.Failure = &NegotiationFailure{Code: FailureCode(v)}
	default:
		return fmt.Errorf("x224: %w: negotiation structure type 0x%02x, want RDP_NEG_RSP or RDP_NEG_FAILURE", ErrMalformed, s[0])
	}
	return nil
}

// x224Header checks LI and the TPDU code and returns the variable part.
func x224Header(x224 []byte, code byte, what string) ([]byte, error) {
	if len(x224) < x224FixedLen {
		return nil, fmt.Errorf("x224: %w: %s of %d bytes", ErrMalformed, what, len(x224))
	}
	if int(x224[0]) != len(x224)-1 {
		return nil, fmt.Errorf("x224: %w: %s length indicator %d in %d bytes", ErrMalformed, what, x224[0], len(x224))
	}
	if x224[1]&0xF0 != code {
		return nil, fmt.Errorf("x224: %w: TPDU code 0x%02x, want %s (0x%02x)", ErrMalformed, x224[1], what, code)
	}
	return x224[x224FixedLen:], nil
}

// x224Packet wraps a class 0 TPDU with the given code and variable part in TPKT.
func x224Packet(code byte, variable []byte) []byte {
	tpdu := make([]byte, x224FixedLen, x224FixedLen+len(variable))
	tpdu[0] = byte(x224FixedLen - 1 + len(variable))
	tpdu[1] = code
	tpdu = append(tpdu, variable...)
	return AppendTPKT(make([]byte, 0, tpktHeaderLen+len(tpdu)), tpdu)
}

// AppendTPKT appends a TPKT header (RFC 1006 6) and payload to dst. The
// length field is 16 bits: payloads over 65531 bytes get length 0xFFFF.
func AppendTPKT(dst, payload []byte) []byte {
	n := min(len(payload)+tpktHeaderLen, maxTPKTLen)
	dst = append(dst, tpktVersion, 0, byte(n>>8), byte(n))
	return append(dst, payload...)
}

// ReadTPKT reads one TPKT packet (RFC 1006 6) of at most max bytes including
// the header and returns its payload. It returns io.EOF if r ends before the
// first byte, io.ErrUnexpectedEOF if it ends mid-packet, and *NotTPKTError if
// the first byte is not the TPKT version 3.
func ReadTPKT(r io.Reader, max int) ([]byte, error) {
	var hdr [tpktHeaderLen]byte
	n, err := io.ReadFull(r, hdr[:])
	if n > 0 && hdr[0] != tpktVersion {
		return nil, &NotTPKTError{First: append([]byte(nil), hdr[:n]...)}
	}
	if err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("x224: read TPKT header: %w", err)
	}
	if hdr[1] != 0 {
		return nil, fmt.Errorf("x224: %w: TPKT reserved byte 0x%02x", ErrMalformed, hdr[1])
	}
	length := int(binary.BigEndian.Uint16(hdr[2:]))
	if length < tpktHeaderLen+1 || length > max {
		return nil, fmt.Errorf("x224: %w: TPKT length %d outside [%d, %d]", ErrMalformed, length, tpktHeaderLen+1, max)
	}
	payload := make([]byte, length-tpktHeaderLen)
	if _, err := io.ReadFull(r, payload); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("x224: read TPKT payload: %w", err)
	}
	return payload, nil
}

// NotTPKTError reports a peer whose first bytes are not a TPKT header: the
// port is probably not RDP. First holds the (up to 4) bytes read.
type NotTPKTError struct{ First []byte }

func (e *NotTPKTError) Error() string {
	return fmt.Sprintf("x224: not a TPKT header: first bytes % x start like %s", e.First, e.Looks())
}

// Unwrap makes a NotTPKTError match ErrMalformed.
func (e *NotTPKTError) Unwrap() error { return ErrMalformed }
