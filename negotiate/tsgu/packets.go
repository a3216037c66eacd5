package tsgu

import (
	"fmt"
	"strings"
)

// ExtendedAuth is HTTP_EXTENDED_AUTH (MS-TSGU 2.2.5.3.2): the
// authentication besides HTTP's that client and gateway agree on.
type ExtendedAuth uint16

const (
	ExtendedAuthNone     ExtendedAuth = 0x0
	ExtendedAuthSC       ExtendedAuth = 0x1 // smart card
	ExtendedAuthPAA      ExtendedAuth = 0x2 // pluggable authentication (a cookie)
	ExtendedAuthSSPINTLM ExtendedAuth = 0x4
)

// Capabilities is HTTP_CAPABILITY_TYPE (MS-TSGU 2.2.5.3.1), flags.
type Capabilities uint32

const (
	CapQuarSOH              Capabilities = 0x01
	CapIdleTimeout          Capabilities = 0x02
	CapMessagingConsentSign Capabilities = 0x04
	CapMessagingServiceMsg  Capabilities = 0x08
	CapReauth               Capabilities = 0x10
	CapUDPTransport         Capabilities = 0x20
)

var capNames = []struct {
	c    Capabilities
	name string
}{
	{CapQuarSOH, "HTTP_CAPABILITY_TYPE_QUAR_SOH"},
	{CapIdleTimeout, "HTTP_CAPABILITY_IDLE_TIMEOUT"},
	{CapMessagingConsentSign, "HTTP_CAPABILITY_MESSAGING_CONSENT_SIGN"},
	{CapMessagingServiceMsg, "HTTP_CAPABILITY_MESSAGING_SERVICE_MSG"},
	{CapReauth, "HTTP_CAPABILITY_REAUTH"},
	{CapUDPTransport, "HTTP_CAPABILITY_UDP_TRANSPORT"},
}

// String joins the names of the flags set, "0" for none.
func (c Capabilities) String() string {
	var names []string
	rest := c
	for _, n := range capNames {
		if c&n.c != 0 {
			names = append(names, n.name)
			rest &^= n.c
		}
	}
	if rest != 0 {
		names = append(names, fmt.Sprintf("0x%X", uint32(rest)))
	}
	if len(names) == 0 {
		return "0"
	}
	return strings.Join(names, "|")
}

// HandshakeRequest is HTTP_HANDSHAKE_REQUEST_PACKET (MS-TSGU 2.2.10.10).
type HandshakeRequest struct {
	VersionMajor, VersionMinor uint8 // 1, 0
	ClientVersion              uint16
	ExtendedAuth               ExtendedAuth
}

func (p *HandshakeRequest) Marshal() []byte {
	var w writer
	w.u8(p.VersionMajor)
	w.u8(p.VersionMinor)
	w.u16(p.ClientVersion)
	w.u16(uint16(p.ExtendedAuth))
	return packet(TypeHandshakeRequest, w)
}

func (p *HandshakeRequest) Unmarshal(b []byte) error {
	body, err := body(b, TypeHandshakeRequest)
	if err != nil {
		return err
	}
	r := &reader{t: TypeHandshakeRequest, b: body}
	*p = HandshakeRequest{VersionMajor: r.u8("versionMajor"), VersionMinor: r.u8("versionMinor"),
		ClientVersion: r.u16("clientVersion"), ExtendedAuth: ExtendedAuth(r.u16("extendedAuth"))}
	return r.err
}

// HandshakeResponse is HTTP_HANDSHAKE_RESPONSE_PACKET (MS-TSGU 2.2.10.11).
type HandshakeResponse struct {
	ErrorCode                  HResult
	VersionMajor, VersionMinor uint8
	ServerVersion              uint16
	ExtendedAuth               ExtendedAuth
}

func (p *HandshakeResponse) Marshal() []byte {
	var w writer
	w.u32(uint32(p.ErrorCode))
	w.u8(p.VersionMajor)
	w.u8(p.VersionMinor)
	w.u16(p.ServerVersion)
	w.u16(uint16(p.ExtendedAuth))
	return packet(TypeHandshakeResponse, w)
}

func (p *HandshakeResponse) Unmarshal(b []byte) error {
	body, err := body(b, TypeHandshakeResponse)
	if err != nil {
		return err
	}
	r := &reader{t: TypeHandshakeResponse, b: body}
	*p = HandshakeResponse{ErrorCode: HResult(r.u32("errorCode")), VersionMajor: r.u8("versionMajor"),
		VersionMinor: r.u8("versionMinor"), ServerVersion: r.u16("serverVersion"), ExtendedAuth: ExtendedAuth(r.u16("extendedAuth"))}
	return r.err
}

// Tunnel packet fields (HTTP_TUNNEL_PACKET_FIELDS_PRESENT_FLAGS, 2.2.5.3.9).
const (
	TunnelFieldPAACookie uint16 = 0x1
	TunnelFieldReauth    uint16 = 0x2
)

// TunnelCreate is HTTP_TUNNEL_PACKET (MS-TSGU 2.2.10.18) with its optional
// part (2.2.10.19): the reauthentication context, then the PAA cookie.
type TunnelCreate struct {
	Capabilities  Capabilities
	FieldsPresent uint16
	ReauthContext uint64 // when FieldsPresent has TunnelFieldReauth
	PAACookie     []byte // when FieldsPresent has TunnelFieldPAACookie
}

func (p *TunnelCreate) Marshal() []byte {
	var w writer
	w.u32(uint32(p.Capabilities))
	w.u16(p.FieldsPresent)
	w.u16(0)
	if p.FieldsPresent&TunnelFieldReauth != 0 {
		w.u64(p.ReauthContext)
	}
	if p.FieldsPresent&TunnelFieldPAACookie != 0 {
		w.blob(p.PAACookie)
	}
	return packet(TypeTunnelCreate, w)
}

func (p *TunnelCreate) Unmarshal(b []byte) error {
	body, err := body(b, TypeTunnelCreate)
	if err != nil {
		return err
	}
	r := &reader{t: TypeTunnelCreate, b: body}
	*p = TunnelCreate{Capabilities: Capabilities(r.u32("capsFlags")), FieldsPresent: r.u16("fieldsPresent")}
	r.u16("reserved")
	if p.FieldsPresent&TunnelFieldReauth != 0 {
		p.ReauthContext = r.u64("reauthTunnelContext")
	}
	if p.FieldsPresent&TunnelFieldPAACookie != 0 {
		p.PAACookie = r.blob("PAA cookie")
	}
	return r.err
}

// Tunnel response fields (HTTP_TUNNEL_RESPONSE_FIELDS_PRESENT_FLAGS,
// 2.2.5.3.8).
const (
	TunnelResponseFieldTunnelID   uint16 = 0x01
	TunnelResponseFieldCaps       uint16 = 0x02
	TunnelResponseFieldSOHReq     uint16 = 0x04
	TunnelResponseFieldConsentMsg uint16 = 0x10
)

// TunnelResponse is HTTP_TUNNEL_RESPONSE (MS-TSGU 2.2.10.20) with its
// optional part (2.2.10.21), fields in this order when present.
type TunnelResponse struct {
	ServerVersion uint16
	StatusCode    HResult
	FieldsPresent uint16
	TunnelID      uint32
	Capabilities  Capabilities
	// Nonce and ServerCert: the gateway asks for a statement of health
	// (TunnelResponseFieldSOHReq).
	Nonce      []byte // 20 bytes
	ServerCert string
	// ConsentMessage is the text the client shows the user, who must
	// accept it before the tunnel is used (TunnelResponseFieldConsentMsg).
	ConsentMessage string
}

func (p *TunnelResponse) Marshal() []byte {
	var w writer
	w.u16(p.ServerVersion)
	w.u32(uint32(p.StatusCode))
	w.u16(p.FieldsPresent)
	w.u16(0)
	if p.FieldsPresent&TunnelResponseFieldTunnelID != 0 {
		w.u32(p.TunnelID)
	}
	if p.FieldsPresent&TunnelResponseFieldCaps != 0 {
		w.u32(uint32(p.Capabilities))
	}
	if p.FieldsPresent&TunnelResponseFieldSOHReq != 0 {
		nonce := make([]byte, 20)
		copy(nonce, p.Nonce)
		w = append(w, nonce...)
		w.str(p.ServerCert)
	}
	if p.FieldsPresent&TunnelResponseFieldConsentMsg != 0 {
		w.str(p.ConsentMessage)
	}
	return packet(TypeTunnelResponse, w)
}

func (p *TunnelResponse) Unmarshal(b []byte) error {
	body, err := body(b, TypeTunnelResponse)
	if err != nil {
		return err
	}
	r := &reader{t: TypeTunnelResponse, b: body}
	*p = TunnelResponse{ServerVersion: r.u16("serverVersion"), StatusCode: HResult(r.u32("statusCode")), FieldsPresent: r.u16("fieldsPresent")}
	r.u16("reserved")
	if p.FieldsPresent&TunnelResponseFieldTunnelID != 0 {
		p.TunnelID = r.u32("tunnelId")
	}
	if p.FieldsPresent&TunnelResponseFieldCaps != 0 {
		p.Capabilities = Capabilities(r.u32("capsFlags"))
	}
	if p.FieldsPresent&TunnelResponseFieldSOHReq != 0 {
		p.Nonce = r.bytes(20, "nonce")
		p.ServerCert = r.str("serverCert")
	}
	if p.FieldsPresent&TunnelResponseFieldConsentMsg != 0 {
		p.ConsentMessage = r.str("consentMsg")
	}
	return r.err
}

// TunnelAuthFieldSOH: the tunnel authorization request carries a statement
// of health (HTTP_TUNNEL_AUTH_FIELDS_PRESENT_FLAGS, 2.2.5.3.4).
const TunnelAuthFieldSOH uint16 = 0x1

// TunnelAuth is HTTP_TUNNEL_AUTH_PACKET (MS-TSGU 2.2.10.14) with its
// optional part (2.2.10.15).
type TunnelAuth struct {
	FieldsPresent uint16
	ClientName    string // the client machine's name
	SOH           []byte // statement of health, when FieldsPresent has TunnelAuthFieldSOH
}

func (p *TunnelAuth) Marshal() []byte {
	var w writer
	w.u16(p.FieldsPresent)
	w.str(p.ClientName)
	if p.FieldsPresent&TunnelAuthFieldSOH != 0 {
		w.blob(p.SOH)
	}
	return packet(TypeTunnelAuth, w)
}

func (p *TunnelAuth) Unmarshal(b []byte) error {
	body, err := body(b, TypeTunnelAuth)
	if err != nil {
		return err
	}
	r := &reader{t: TypeTunnelAuth, b: body}
	*p = TunnelAuth{FieldsPresent: r.u16("fieldsPresent"), ClientName: r.str("clientName")}
	if p.FieldsPresent&TunnelAuthFieldSOH != 0 {
		p.SOH = r.blob("statementOfHealth")
	}
	return r.err
}

// Tunnel authorization response fields
// (HTTP_TUNNEL_AUTH_RESPONSE_FIELDS_PRESENT_FLAGS, 2.2.5.3.5).
const (
	TunnelAuthResponseFieldRedirFlags  uint16 = 0x1
	TunnelAuthResponseFieldIdleTimeout uint16 = 0x2
	TunnelAuthResponseFieldSOHResponse uint16 = 0x4
)

// TunnelAuthResponse is HTTP_TUNNEL_AUTH_RESPONSE (MS-TSGU 2.2.10.16)
// with its optional part (2.2.10.17).
type TunnelAuthResponse struct {
	ErrorCode     HResult
	FieldsPresent uint16
	RedirFlags    uint32 // device redirection the gateway allows (HTTP_TUNNEL_REDIR_*)
	IdleTimeout   uint32 // minutes
	SOHResponse   []byte
}

func (p *TunnelAuthResponse) Marshal() []byte {
	var w writer
	w.u32(uint32(p.ErrorCode))
	w.u16(p.FieldsPresent)
	w.u16(0)
	if p.FieldsPresent&TunnelAuthResponseFieldRedirFlags != 0 {
		w.u32(p.RedirFlags)
	}
	if p.FieldsPresent&TunnelAuthResponseFieldIdleTimeout != 0 {
		w.u32(p.IdleTimeout)
	}
	if p.FieldsPresent&TunnelAuthResponseFieldSOHResponse != 0 {
		w.blob(p.SOHResponse)
	}
	return packet(TypeTunnelAuthResponse, w)
}

func (p *TunnelAuthResponse) Unmarshal(b []byte) error {
	body, err := body(b, TypeTunnelAuthResponse)
	if err != nil {
		return err
	}
	r := &reader{t: TypeTunnelAuthResponse, b: body}
	*p = TunnelAuthResponse{ErrorCode: HResult(r.u32("errorCode")), FieldsPresent: r.u16("fieldsPresent")}
	r.u16("reserved")
	if p.FieldsPresent&TunnelAuthResponseFieldRedirFlags != 0 {
		p.RedirFlags = r.u32("redirFlags")
	}
	if p.FieldsPresent&TunnelAuthResponseFieldIdleTimeout != 0 {
		p.IdleTimeout = r.u32("idleTimeout")
	}
	if p.FieldsPresent&TunnelAuthResponseFieldSOHResponse != 0 {
		p.SOHResponse = r.blob("SoHResponse")
	}
	return r.err
}

// ProtocolRDP is HTTP_CHANNEL_PACKET.protocol for RDP (the only value
// clients send: 3).
const ProtocolRDP uint16 = 3

// maxResources caps the names one channel request may carry: a u8 count,
// but a client sends one name and perhaps a few aliases.
const maxResources = 32

// ChannelCreate is HTTP_CHANNEL_PACKET (MS-TSGU 2.2.10.2) with its
// variable part (2.2.10.3): the computer to connect to, by one or more
// names, and the port.
type ChannelCreate struct {
	Resources    []string // numResources names; the gateway tries each
	AltResources []string
	Port         uint16
	Protocol     uint16
}

func (p *ChannelCreate) Marshal() []byte {
	var w writer
	res, alt := p.Resources[:min(len(p.Resources), 0xFF)], p.AltResources[:min(len(p.AltResources), 0xFF)]
	w.u8(uint8(len(res)))
	w.u8(uint8(len(alt)))
	w.u16(p.Port)
	w.u16(p.Protocol)
	for _, s := range res {
		w.str(s)
	}
	for _, s := range alt {
		w.str(s)
	}
	return packet(TypeChannelCreate, w)
}

func (p *ChannelCreate) Unmarshal(b []byte) error {
	body, err := body(b, TypeChannelCreate)
	if err != nil {
		return err
	}
	r := &reader{t: TypeChannelCreate, b: body}
	n, na := int(r.u8("numResources")), int(r.u8("numAltResources"))
	*p = ChannelCreate{Port: r.u16("port"), Protocol: r.u16("protocol")}
	if r.err == nil && n+na > maxResources {
		return fmt.Errorf("%w: %v: %d resource names, more than %d", ErrMalformed, TypeChannelCreate, n+na, maxResources)
	}
	for range n {
		p.Resources = append(p.Resources, r.str("resourceName"))
	}
	for range na {
		p.AltResources = append(p.AltResources, r.str("altResourceName"))
	}
	if r.err == nil && n == 0 {
		return fmt.Errorf("%w: %v names no resource", ErrMalformed, TypeChannelCreate)
	}
	return r.err
}

// Channel response fields (HTTP_CHANNEL_RESPONSE_FIELDS_PRESENT_FLAGS,
// 2.2.5.3.1).
const (
	ChannelResponseFieldChannelID   uint16 = 0x1
	ChannelResponseFieldAuthnCookie uint16 = 0x2
	ChannelResponseFieldUDPPort     uint16 = 0x4
)

// ChannelResponse is HTTP_CHANNEL_RESPONSE (MS-TSGU 2.2.10.4) with its
// optional part (2.2.10.5): channelId, udpPort, authnCookie, in this order
// when present.
type ChannelResponse struct {
	ErrorCode     HResult
	FieldsPresent uint16
	ChannelID     uint32
	UDPPort       uint16
	AuthnCookie   []byte
}

func (p *ChannelResponse) Marshal() []byte {
	var w writer
	w.u32(uint32(p.ErrorCode))
	w.u16(p.FieldsPresent)
	w.u16(0)
	if p.FieldsPresent&ChannelResponseFieldChannelID != 0 {
		w.u32(p.ChannelID)
	}
	if p.FieldsPresent&ChannelResponseFieldUDPPort != 0 {
		w.u16(p.UDPPort)
	}
	if p.FieldsPresent&ChannelResponseFieldAuthnCookie != 0 {
		w.blob(p.AuthnCookie)
	}
	return packet(TypeChannelResponse, w)
}

func (p *ChannelResponse) Unmarshal(b []byte) error {
	body, err := body(b, TypeChannelResponse)
	if err != nil {
		return err
	}
	r := &reader{t: TypeChannelResponse, b: body}
	*p = ChannelResponse{ErrorCode: HResult(r.u32("errorCode")), FieldsPresent: r.u16("fieldsPresent")}
	r.u16("reserved")
	if p.FieldsPresent&ChannelResponseFieldChannelID != 0 {
		p.ChannelID = r.u32("channelId")
	}
	if p.FieldsPresent&ChannelResponseFieldUDPPort != 0 {
		p.UDPPort = r.u16("udpPort")
	}
	if p.FieldsPresent&ChannelResponseFieldAuthnCookie != 0 {
		p.AuthnCookie = r.blob("authnCookie")
	}
	return r.err
}

// MaxData is the most one DATA packet carries: cbDataLen is 16 bits.
const MaxData = 0xFFFF

// Data is HTTP_DATA_PACKET (MS-TSGU 2.2.10.6): RDP bytes, either way.
type Data struct{ Data []byte }

// AppendData appends a DATA packet carrying d (at most MaxData bytes) to
// dst, without the copy Marshal makes.
func AppendData(dst, d []byte) []byte {
	d = d[:min(len(d), MaxData)]
	n := HeaderLen + 2 + len(d)
	dst = append(dst, byte(TypeData), byte(TypeData>>8), 0, 0, byte(n), byte(n>>8), byte(n>>16), byte(n>>24), byte(len(d)), byte(len(d)>>8))
	return append(dst, d...)
}

func (p *Data) Marshal() []byte { return AppendData(nil, p.Data) }

func (p *Data) Unmarshal(b []byte) error {
	body, err := body(b, TypeData)
	if err != nil {
		return err
	}
	r := &reader{t: TypeData, b: body}
	p.Data = r.blob("data")
	return r.err
}

// ServiceMessage is HTTP_SERVICE_MESSAGE (MS-TSGU 2.2.10.12): an
// administrative message for the user.
type ServiceMessage struct{ Message string }

func (p *ServiceMessage) Marshal() []byte {
	var w writer
	w.str(p.Message)
	return packet(TypeServiceMessage, w)
}

func (p *ServiceMessage) Unmarshal(b []byte) error {
	body, err := body(b, TypeServiceMessage)
	if err != nil {
		return err
	}
	r := &reader{t: TypeServiceMessage, b: body}
	p.Message = r.str("message")
	return r.err
}

// ReauthMessage is HTTP_REAUTH_MESSAGE (MS-TSGU 2.2.10.13): the gateway
// asks the client to authenticate again.
type ReauthMessage struct{ Context uint64 }

func (p *ReauthMessage) Marshal() []byte {
	var w writer
	w.u64(p.Context)
	return packet(TypeReauthMessage, w)
}

func (p *ReauthMessage) Unmarshal(b []byte) error {
	body, err := body(b, TypeReauthMessage)
	if err != nil {
		return err
	}
	r := &reader{t: TypeReauthMessage, b: body}
	p.Context = r.u64("reauthTunnelContext")
	return r.err
}

// Keepalive is a PKT_TYPE_KEEPALIVE packet: the header alone.
type Keepalive struct{}

func (p *Keepalive) Marshal() []byte { return packet(TypeKeepalive, nil) }

func (p *Keepalive) Unmarshal(b []byte) error {
	_, err := body(b, TypeKeepalive)
	return err
}

// Close is HTTP_CLOSE_PACKET (MS-TSGU 2.2.10.7): PKT_TYPE_CLOSE_CHANNEL,
// or with Response set PKT_TYPE_CLOSE_CHANNEL_RESPONSE. Some gateways
// (rdpgw) put more after the status code; it is ignored.
type Close struct {
	Response   bool
	StatusCode HResult
}

func (p *Close) typ() PacketType {
	if p.Response {
		return TypeCloseChannelResponse
	}
	return TypeCloseChannel
}

func (p *Close) Marshal() []byte {
	var w writer
	w.u32(uint32(p.StatusCode))
	return packet(p.typ(), w)
}

func (p *Close) Unmarshal(b []byte) error {
	h, err := ParseHeader(b)
	if err != nil {
		return err
	}
	p.Response = h.Type == TypeCloseChannelResponse
	body, err := body(b, p.typ())
	if err != nil {
		return err
	}
	r := &reader{t: p.typ(), b: body}
	p.StatusCode = HResult(r.u32("statusCode"))
	return r.err
}

// ExtendedAuthMsg is HTTP_EXTENDED_AUTH_PACKET (MS-TSGU 2.2.10.8): an SSPI
// token of the extended authentication, either way.
type ExtendedAuthMsg struct {
	ErrorCode HResult
	Blob      []byte
}

func (p *ExtendedAuthMsg) Marshal() []byte {
	var w writer
	w.u32(uint32(p.ErrorCode))
	w.blob(p.Blob)
	return packet(TypeExtendedAuthMsg, w)
}

func (p *ExtendedAuthMsg) Unmarshal(b []byte) error {
	body, err := body(b, TypeExtendedAuthMsg)
	if err != nil {
		return err
	}
	r := &reader{t: TypeExtendedAuthMsg, b: body}
	*p = ExtendedAuthMsg{ErrorCode: HResult(r.u32("errorCode")), Blob: r.blob("extendedAuthBlob")}
	return r.err
}

// Packet is one parsed packet of any type.
type Packet interface {
	Marshal() []byte
	Unmarshal(b []byte) error
}

// Unknown is a packet of a type this package does not parse.
type Unknown struct {
	Type PacketType
	Body []byte
}

func (p *Unknown) Marshal() []byte { return packet(p.Type, p.Body) }

func (p *Unknown) Unmarshal(b []byte) error {
	h, err := ParseHeader(b)
	if err != nil {
		return err
	}
	body, err := body(b, h.Type)
	if err != nil {
		return err
	}
	*p = Unknown{Type: h.Type, Body: append([]byte(nil), body...)}
	return nil
}

// Parse parses b as the packet its header names; a type this package does
// not know is an *Unknown.
func Parse(b []byte) (Packet, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return nil, err
	}
	var p Packet
	switch h.Type {
	case TypeHandshakeRequest:
		p = new(HandshakeRequest)
	case TypeHandshakeResponse:
		p = new(HandshakeResponse)
	case TypeExtendedAuthMsg:
		p = new(ExtendedAuthMsg)
	case TypeTunnelCreate:
		p = new(TunnelCreate)
	case TypeTunnelResponse:
		p = new(TunnelResponse)
	case TypeTunnelAuth:
		p = new(TunnelAuth)
	case TypeTunnelAuthResponse:
		p = new(TunnelAuthResponse)
	case TypeChannelCreate:
		p = new(ChannelCreate)
	case TypeChannelResponse:
		p = new(ChannelResponse)
	case TypeData:
		p = new(Data)
	case TypeServiceMessage:
		p = new(ServiceMessage)
	case TypeReauthMessage:
		p = new(ReauthMessage)
	case TypeKeepalive:
		p = new(Keepalive)
	case TypeCloseChannel, TypeCloseChannelResponse:
		p = new(Close)
	default:
		p = new(Unknown)
	}
	if err := p.Unmarshal(b); err != nil {
		return nil, err
	}
	return p, nil
}

// Describe names the packet in b in a few words, for a recording's notes:
// its type and, for a response, its error code.
func Describe(b []byte) string {
	p, err := Parse(b)
	if err != nil {
		if h, herr := ParseHeader(b); herr == nil {
			return h.Type.String() + " (malformed)"
		}
		return "malformed packet"
	}
	switch p := p.(type) {
	case *HandshakeRequest:
		return fmt.Sprintf("%v: version %d.%d, extended auth 0x%X", TypeHandshakeRequest, p.VersionMajor, p.VersionMinor, uint16(p.ExtendedAuth))
	case *HandshakeResponse:
		return fmt.Sprintf("%v: %v, version %d.%d", TypeHandshakeResponse, p.ErrorCode, p.VersionMajor, p.VersionMinor)
	case *TunnelCreate:
		return fmt.Sprintf("%v: capabilities %v", TypeTunnelCreate, p.Capabilities)
	case *TunnelResponse:
		return fmt.Sprintf("%v: %v", TypeTunnelResponse, p.StatusCode)
	case *TunnelAuth:
		return fmt.Sprintf("%v: client %q", TypeTunnelAuth, p.ClientName)
	case *TunnelAuthResponse:
		return fmt.Sprintf("%v: %v", TypeTunnelAuthResponse, p.ErrorCode)
	case *ChannelCreate:
		return fmt.Sprintf("%v: %q port %d", TypeChannelCreate, p.Resources, p.Port)
	case *ChannelResponse:
		return fmt.Sprintf("%v: %v", TypeChannelResponse, p.ErrorCode)
	case *Data:
		return fmt.Sprintf("%v: %d bytes", TypeData, len(p.Data))
	case *Close:
		return fmt.Sprintf("%v: %v", p.typ(), p.StatusCode)
	case *Unknown:
		return p.Type.String()
	}
	h, _ := ParseHeader(b)
	return h.Type.String()
}
