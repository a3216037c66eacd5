package negotiate

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

// GCC (T.124) Conference Create Request/Response as RDP carries them in
// MCS Connect-Initial/-Response userData (MS-RDPBCGR 2.2.1.3, 2.2.1.4;
// T.124 8.7, 9.5, 9.6), and the client/server data blocks inside them
// (MS-RDPBCGR 2.2.1.3.1-2.2.1.4.4). The PER framing is the fixed shape every
// RDP implementation uses: ConnectData with the T.124 object identifier
// {0 0 20 124 0 1}, one H.221 non-standard user data set keyed "Duca"
// (client to server) or "McDn" (server to client).

// t124Key is ConnectData's key: CHOICE object (0), then the PER OBJECT
// IDENTIFIER {itu-t recommendation t 124 version 0 1} (5 octets).
var t124Key = []byte{0x00, 0x05, 0x00, 0x14, 0x7C, 0x00, 0x01}

const (
	h221ClientKey = "Duca"
	h221ServerKey = "McDn"
)

// User data block types (MS-RDPBCGR 2.2.1.3.1, 2.2.1.4.1).
const (
	BlockCSCore     uint16 = 0xC001 // CS_CORE
	BlockCSSecurity uint16 = 0xC002 // CS_SECURITY
	BlockCSNet      uint16 = 0xC003 // CS_NET
	BlockSCCore     uint16 = 0x0C01 // SC_CORE
	BlockSCSecurity uint16 = 0x0C02 // SC_SECURITY
	BlockSCNet      uint16 = 0x0C03 // SC_NET
	BlockSCMsgChan  uint16 = 0x0C04 // SC_MCS_MSGCHANNEL
	BlockSCMultiTr  uint16 = 0x0C08 // SC_MULTITRANSPORT
)

// ConferenceCreateRequest wraps client data blocks in the T.124
// ConnectData/ConnectGCCPDU a client puts in Connect-Initial userData
// (MS-RDPBCGR 2.2.1.3 gccCCrq, 3.2.5.3.3: conferenceName "1", one
// h221NonStandard user data set keyed "Duca").
func ConferenceCreateRequest(clientData []byte) []byte {
	// ConnectGCCPDU conferenceCreateRequest: CHOICE 0, optional-field
	// bitmap 0x08 (userData present), conferenceName NumericString "1"
	// (length-1 = 0, then the digit in 4 bits: 0x10), padding octet, one
	// set, CHOICE h221NonStandard (0xC0), key length-4 = 0, "Duca".
	pdu := []byte{0x00, 0x08, 0x00, 0x10, 0x00, 0x01, 0xC0, 0x00}
	pdu = append(pdu, h221ClientKey...)
	pdu = appendPERLength(pdu, len(clientData))
	pdu = append(pdu, clientData...)
	b := append([]byte{}, t124Key...)
	b = appendPERLength(b, len(pdu))
	return append(b, pdu...)
}

// ParseConferenceCreateRequest returns the client data blocks from a
// Connect-Initial userData.
func ParseConferenceCreateRequest(b []byte) ([]byte, error) {
	pdu, err := connectData(b, "Conference Create Request")
	if err != nil {
		return nil, err
	}
	r := perReader(pdu)
	hdr := []byte{0x00, 0x08, 0x00, 0x10, 0x00, 0x01, 0xC0, 0x00}
	if len(r) < len(hdr)+4 || !bytes.Equal(r[:len(hdr)], hdr) || string(r[len(hdr):len(hdr)+4]) != h221ClientKey {
		return nil, fmt.Errorf("gcc: %w: Conference Create Request header % x", ErrMalformed, head(r))
	}
	r = r[len(hdr)+4:]
	return userDataOctets(&r, "Conference Create Request")
}

// GCCConferenceCreateResponse is the part of T.124 ConferenceCreateResponse
// RDP servers fill in (MS-RDPBCGR 2.2.1.4 gccCCrsp, 3.3.5.3.4).
type GCCConferenceCreateResponse struct {
	NodeID     uint16 // UserID (1001..65535)
	Tag        uint32
	Result     uint8 // T.124 ConferenceCreateResponse result, 0 = success
	ServerData []byte
}

// Marshal returns ConnectData carrying the response, in the layout Windows
// servers send.
func (m *GCCConferenceCreateResponse) Marshal() []byte {
	pdu := []byte{0x14}
	pdu = appendPERUserID(pdu, m.NodeID)
	pdu = appendPERUint(pdu, m.Tag)
	pdu = append(pdu, m.Result, 0x01, 0xC0, 0x00)
	pdu = append(pdu, h221ServerKey...)
	pdu = appendPERLength(pdu, len(m.ServerData))
	pdu = append(pdu, m.ServerData...)
	b := append([]byte{}, t124Key...)
	b = appendPERLength(b, len(pdu))
	return append(b, pdu...)
}

// Unmarshal parses ConnectData carrying a ConferenceCreateResponse.
// ServerData aliases b.
func (m *GCCConferenceCreateResponse) Unmarshal(b []byte) error {
	*m = GCCConferenceCreateResponse{}
	pdu, err := connectData(b, "Conference Create Response")
	if err != nil {
		return err
	}
	r := perReader(pdu)
	// CHOICE conferenceCreateResponse with the extension bit clear: 0x14.
	if c, err := r.u8("ConnectGCCPDU choice"); err != nil {
		return err
	} else if c != 0x14 {
		return fmt.Errorf("gcc: %w: ConnectGCCPDU choice 0x%02x, want conferenceCreateResponse (0x14)", ErrMalformed, c)
	}
	if m.NodeID, err = r.userID("nodeID"); err != nil {
		return err
	}
	if m.Tag, err = r.uint("tag"); err != nil {
		return err
	}
	if m.Result, err = r.u8("result"); err != nil {
		return err
	}
	// Number of user data sets (1), CHOICE h221NonStandard (0xC0), key
	// length-4 (0), "McDn".
	if len(r) < 7 || r[0] != 0x01 || r[1] != 0xC0 || r[2] != 0x00 || string(r[3:7]) != h221ServerKey {
		return fmt.Errorf("gcc: %w: Conference Create Response user data header % x", ErrMalformed, head(r))
	}
	r = r[7:]
	m.ServerData, err = userDataOctets(&r, "Conference Create Response")
	return err
}

// connectData checks the T.124 key and returns the connectPDU.
func connectData(b []byte, what string) ([]byte, error) {
	if !bytes.HasPrefix(b, t124Key) {
		return nil, fmt.Errorf("gcc: %w: %s: ConnectData key % x, want T.124 object identifier", ErrMalformed, what, head(b))
	}
	r := perReader(b[len(t124Key):])
	// The connectPDU length is read but not checked: servers fill it in
	// loosely (FreeRDP's shadow server sends 0x2a before 50 bytes), and
	// clients ignore it. The user data length inside is checked instead.
	if _, err := r.length(what + " connectPDU length"); err != nil {
		return nil, fmt.Errorf("gcc: %w", err)
	}
	return r, nil
}

func userDataOctets(r *perReader, what string) ([]byte, error) {
	n, err := r.length(what + " user data length")
	if err != nil {
		return nil, fmt.Errorf("gcc: %w", err)
	}
	if n != len(*r) {
		return nil, fmt.Errorf("gcc: %w: %s: user data length %d, %d bytes left", ErrMalformed, what, n, len(*r))
	}
	return *r, nil
}

// DataBlock is one TS_UD_HEADER-framed block (MS-RDPBCGR 2.2.1.3.1).
type DataBlock struct {
	Type uint16
	Data []byte // after the 4-byte header
}

func appendDataBlock(b []byte, typ uint16, data []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, typ)
	b = binary.LittleEndian.AppendUint16(b, uint16(4+len(data)))
	return append(b, data...)
}

// SplitDataBlocks splits concatenated user data blocks; each header's
// length must be at least 4 and fit.
func SplitDataBlocks(b []byte) ([]DataBlock, error) {
	var out []DataBlock
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, fmt.Errorf("gcc: %w: %d bytes left for a TS_UD_HEADER", ErrMalformed, len(b))
		}
		typ, n := binary.LittleEndian.Uint16(b), int(binary.LittleEndian.Uint16(b[2:]))
		if n < 4 || n > len(b) {
			return nil, fmt.Errorf("gcc: %w: data block 0x%04x length %d, %d bytes left", ErrMalformed, typ, n, len(b))
		}
		out = append(out, DataBlock{Type: typ, Data: b[4:n:n]})
		b = b[n:]
	}
	return out, nil
}

// Client Core Data constants (MS-RDPBCGR 2.2.1.3.2).
const (
	RDPVersion5Plus uint32 = 0x00080004 // RDP 5.0, 5.1, 5.2, 6.0, 6.1, 7.0, 7.1, 8.0, 8.1

	colorDepth8BPP   = 0xCA01 // RNS_UD_COLOR_8BPP
	sasSequenceDel   = 0xAA03 // RNS_UD_SAS_DEL
	highColor16BPP   = 0x0010
	supportAllDepths = 0x000F // RNS_UD_24BPP_SUPPORT | 16BPP | 15BPP | 32BPP

	// EarlyCapSupportErrInfoPDU is RNS_UD_CS_SUPPORT_ERRINFO_PDU: the
	// client understands the Set Error Info PDU (MS-RDPBCGR 2.2.5.1).
	EarlyCapSupportErrInfoPDU uint16 = 0x0001

	clientCoreLen = 216 // through serverSelectedProtocol, header included
)

// ClientCoreData is TS_UD_CS_CORE (MS-RDPBCGR 2.2.1.3.2), written through
// serverSelectedProtocol; the later optional fields are left out.
type ClientCoreData struct {
	Version                uint32
	DesktopWidth           uint16
	DesktopHeight          uint16
	KeyboardLayout         uint32
	ClientBuild            uint32
	ClientName             string // at most 15 UTF-16 code units are sent
	EarlyCapabilityFlags   uint16
	ServerSelectedProtocol Protocol
}

func (c *ClientCoreData) marshal() []byte {
	b := make([]byte, 0, clientCoreLen-4)
	b = binary.LittleEndian.AppendUint32(b, c.Version)
	b = binary.LittleEndian.AppendUint16(b, c.DesktopWidth)
	b = binary.LittleEndian.AppendUint16(b, c.DesktopHeight)
	b = binary.LittleEndian.AppendUint16(b, colorDepth8BPP)
	b = binary.LittleEndian.AppendUint16(b, sasSequenceDel)
	b = binary.LittleEndian.AppendUint32(b, c.KeyboardLayout)
	b = binary.LittleEndian.AppendUint32(b, c.ClientBuild)
	b = append(b, fixedUTF16(c.ClientName, 32)...)
	b = binary.LittleEndian.AppendUint32(b, 4)  // keyboardType: IBM enhanced (101- or 102-key)
	b = binary.LittleEndian.AppendUint32(b, 0)  // keyboardSubType
	b = binary.LittleEndian.AppendUint32(b, 12) // keyboardFunctionKey
	b = append(b, make([]byte, 64)...)          // imeFileName
	b = binary.LittleEndian.AppendUint16(b, colorDepth8BPP)
	b = binary.LittleEndian.AppendUint16(b, 1) // clientProductId
	b = binary.LittleEndian.AppendUint32(b, 0) // serialNumber
	b = binary.LittleEndian.AppendUint16(b, highColor16BPP)
	b = binary.LittleEndian.AppendUint16(b, supportAllDepths)
	b = binary.LittleEndian.AppendUint16(b, c.EarlyCapabilityFlags)
	b = append(b, make([]byte, 64)...) // clientDigProductId
	b = append(b, 0, 0)                // connectionType, pad1octet
	return binary.LittleEndian.AppendUint32(b, uint32(c.ServerSelectedProtocol))
}

func (c *ClientCoreData) unmarshal(d []byte) error {
	*c = ClientCoreData{}
	if len(d) < clientCoreLen-4 {
		return fmt.Errorf("gcc: %w: CS_CORE of %d bytes, want %d", ErrMalformed, len(d)+4, clientCoreLen)
	}
	c.Version = binary.LittleEndian.Uint32(d)
	c.DesktopWidth = binary.LittleEndian.Uint16(d[4:])
	c.DesktopHeight = binary.LittleEndian.Uint16(d[6:])
	c.KeyboardLayout = binary.LittleEndian.Uint32(d[12:])
	c.ClientBuild = binary.LittleEndian.Uint32(d[16:])
	c.ClientName = fromUTF16Z(d[20:52])
	c.EarlyCapabilityFlags = binary.LittleEndian.Uint16(d[140:])
	c.ServerSelectedProtocol = Protocol(binary.LittleEndian.Uint32(d[208:]))
	return nil
}

// ClientData is the set of client data blocks rdpprobe sends: CS_CORE,
// CS_SECURITY (no encryption methods when TLS/CredSSP protect the link) and
// CS_NET with no static channels.
type ClientData struct {
	Core ClientCoreData
	// EncryptionMethods is TS_UD_CS_SEC.encryptionMethods; 0 under
	// PROTOCOL_SSL/HYBRID (MS-RDPBCGR 2.2.1.3.3).
	EncryptionMethods uint32
	// Channels are the CHANNEL_DEF names of CS_NET (at most 7 ASCII
	// characters each, options 0). rdpprobe declares none.
	Channels []string
}

// DefaultClientData returns the minimal blocks for a connection whose X.224
// negotiation selected the given protocol: under PROTOCOL_RDP (Standard RDP
// Security) CS_SECURITY offers AllEncryptionMethods, under TLS and NLA none.
func DefaultClientData(selected Protocol) ClientData {
	var methods uint32
	if selected == ProtocolRDP {
		methods = uint32(AllEncryptionMethods)
	}
	return ClientData{EncryptionMethods: methods, Core: ClientCoreData{
		Version:                RDPVersion5Plus,
		DesktopWidth:           1024,
		DesktopHeight:          768,
		KeyboardLayout:         0x409,
		ClientBuild:            2600,
		ClientName:             "RDPPROBE",
		EarlyCapabilityFlags:   EarlyCapSupportErrInfoPDU,
		ServerSelectedProtocol: selected,
	}}
}

// Marshal returns CS_CORE, CS_SECURITY and CS_NET, concatenated.
func (c *ClientData) Marshal() []byte {
	b := appendDataBlock(nil, BlockCSCore, c.Core.marshal())
	sec := binary.LittleEndian.AppendUint32(nil, c.EncryptionMethods)
	sec = binary.LittleEndian.AppendUint32(sec, 0) // extEncryptionMethods
	b = appendDataBlock(b, BlockCSSecurity, sec)
	nb := binary.LittleEndian.AppendUint32(nil, uint32(len(c.Channels)))
	for _, ch := range c.Channels {
		var name [8]byte
		copy(name[:7], ch)
		nb = append(nb, name[:]...)
		nb = binary.LittleEndian.AppendUint32(nb, 0) // options
	}
	return appendDataBlock(b, BlockCSNet, nb)
}

// Unmarshal parses client data blocks; CS_CORE is required, unknown
// blocks are skipped.
func (c *ClientData) Unmarshal(b []byte) error {
	*c = ClientData{}
	blocks, err := SplitDataBlocks(b)
	if err != nil {
		return err
	}
	core := false
	for _, bl := range blocks {
		switch bl.Type {
		case BlockCSCore:
			if err := c.Core.unmarshal(bl.Data); err != nil {
				return err
			}
			core = true
		case BlockCSSecurity:
			if len(bl.Data) < 8 {
				return fmt.Errorf("gcc: %w: CS_SECURITY of %d bytes", ErrMalformed, len(bl.Data)+4)
			}
			c.EncryptionMethods = binary.LittleEndian.Uint32(bl.Data)
		case BlockCSNet:
			if len(bl.Data) < 4 {
				return fmt.Errorf("gcc: %w: CS_NET of %d bytes", ErrMalformed, len(bl.Data)+4)
			}
			n := binary.LittleEndian.Uint32(bl.Data)
			if uint64(n)*12 != uint64(len(bl.Data)-4) {
				return fmt.Errorf("gcc: %w: CS_NET channelCount %d in %d bytes", ErrMalformed, n, len(bl.Data)+4)
			}
			for i := range int(n) {
				name := bl.Data[4+12*i : 4+12*i+8]
				if j := bytes.IndexByte(name, 0); j >= 0 {
					name = name[:j]
				}
				c.Channels = append(c.Channels, string(name))
			}
		}
	}
	if !core {
		return fmt.Errorf("gcc: %w: no CS_CORE block", ErrMalformed)
	}
	return nil
}

// EncryptionMethod is TS_UD_SC_SEC1.encryptionMethod (MS-RDPBCGR 2.2.1.4.3).
type EncryptionMethod uint32

const (
	EncryptionMethodNone   EncryptionMethod = 0x00000000 // ENCRYPTION_METHOD_NONE
	EncryptionMethod40Bit  EncryptionMethod = 0x00000001 // ENCRYPTION_METHOD_40BIT
	EncryptionMethod128Bit EncryptionMethod = 0x00000002 // ENCRYPTION_METHOD_128BIT
	EncryptionMethod56Bit  EncryptionMethod = 0x00000008 // ENCRYPTION_METHOD_56BIT
	EncryptionMethodFIPS   EncryptionMethod = 0x00000010 // ENCRYPTION_METHOD_FIPS
)

var encryptionMethodNames = map[EncryptionMethod]string{
	EncryptionMethodNone:   "ENCRYPTION_METHOD_NONE",
	EncryptionMethod40Bit:  "ENCRYPTION_METHOD_40BIT",
	EncryptionMethod128Bit: "ENCRYPTION_METHOD_128BIT",
	EncryptionMethod56Bit:  "ENCRYPTION_METHOD_56BIT",
	EncryptionMethodFIPS:   "ENCRYPTION_METHOD_FIPS",
}

// String returns the spec name, or ENCRYPTION_METHOD_0x%08X.
func (m EncryptionMethod) String() string {
	return specName(encryptionMethodNames, m, "ENCRYPTION_METHOD_0x%08X")
}

// EncryptionLevel is TS_UD_SC_SEC1.encryptionLevel (MS-RDPBCGR 2.2.1.4.3).
type EncryptionLevel uint32

const (
	EncryptionLevelNone             EncryptionLevel = 0 // ENCRYPTION_LEVEL_NONE
	EncryptionLevelLow              EncryptionLevel = 1 // ENCRYPTION_LEVEL_LOW
	EncryptionLevelClientCompatible EncryptionLevel = 2 // ENCRYPTION_LEVEL_CLIENT_COMPATIBLE
	EncryptionLevelHigh             EncryptionLevel = 3 // ENCRYPTION_LEVEL_HIGH
	EncryptionLevelFIPS             EncryptionLevel = 4 // ENCRYPTION_LEVEL_FIPS
)

var encryptionLevelNames = map[EncryptionLevel]string{
	EncryptionLevelNone:             "ENCRYPTION_LEVEL_NONE",
	EncryptionLevelLow:              "ENCRYPTION_LEVEL_LOW",
	EncryptionLevelClientCompatible: "ENCRYPTION_LEVEL_CLIENT_COMPATIBLE",
	EncryptionLevelHigh:             "ENCRYPTION_LEVEL_HIGH",
	EncryptionLevelFIPS:             "ENCRYPTION_LEVEL_FIPS",
}

// String returns the spec name, or ENCRYPTION_LEVEL_0x%08X.
func (l EncryptionLevel) String() string {
	return specName(encryptionLevelNames, l, "ENCRYPTION_LEVEL_0x%08X")
}

// ServerCoreData is TS_UD_SC_CORE (MS-RDPBCGR 2.2.1.4.2). The optional
// fields are zero when absent; Has* says whether they were sent.
type ServerCoreData struct {
	Version                     uint32
	HasClientRequestedProtocols bool
	ClientRequestedProtocols    Protocol
	HasEarlyCapabilityFlags     bool
	EarlyCapabilityFlags        uint32
}

// ServerSecurityData is TS_UD_SC_SEC1 (MS-RDPBCGR 2.2.1.4.3). Under TLS or
// CredSSP both fields are 0 and nothing follows; the server random and
// certificate of Standard RDP Security are kept raw.
type ServerSecurityData struct {
	Method EncryptionMethod
	Level  EncryptionLevel
	Rest   []byte // serverRandomLen, serverCertLen, serverRandom, serverCertificate
}

// ServerNetworkData is TS_UD_SC_NET (MS-RDPBCGR 2.2.1.4.4).
type ServerNetworkData struct {
	IOChannel  uint16   // MCSChannelId: the MCS I/O channel
	ChannelIDs []uint16 // static virtual channel IDs, in CS_NET order
}

// ServerData are the server data blocks of a Conference Create Response
// (MS-RDPBCGR 2.2.1.4). Blocks this package does not model (and any
// repeated block) are kept in Other, in order.
type ServerData struct {
	Core     *ServerCoreData
	Security *ServerSecurityData
	Network  *ServerNetworkData
	// MessageChannel is TS_UD_SC_MCS_MSGCHANNEL.MCSChannelID, 0 if absent.
	MessageChannel uint16
	Other          []DataBlock
}

// Unmarshal parses concatenated server data blocks. SC_CORE, SC_SECURITY
// and SC_NET are all required (MS-RDPBCGR 2.2.1.4).
func (s *ServerData) Unmarshal(b []byte) error {
	*s = ServerData{}
	blocks, err := SplitDataBlocks(b)
	if err != nil {
		return err
	}
	for _, bl := range blocks {
		d := bl.Data
		switch {
		case bl.Type == BlockSCCore && s.Core == nil:
			c := &ServerCoreData{}
			if len(d) < 4 {
				return fmt.Errorf("gcc: %w: SC_CORE of %d bytes", ErrMalformed, len(d)+4)
			}
			c.Version = binary.LittleEndian.Uint32(d)
			if len(d) >= 8 {
				c.HasClientRequestedProtocols = true
				c.ClientRequestedProtocols = Protocol(binary.LittleEndian.Uint32(d[4:]))
			}
			if len(d) >= 12 {
				c.HasEarlyCapabilityFlags = true
				c.EarlyCapabilityFlags = binary.LittleEndian.Uint32(d[8:])
			}
			s.Core = c
		case bl.Type == BlockSCSecurity && s.Security == nil:
			if len(d) < 8 {
				return fmt.Errorf("gcc: %w: SC_SECURITY of %d bytes", ErrMalformed, len(d)+4)
			}
			s.Security = &ServerSecurityData{
				Method: EncryptionMethod(binary.LittleEndian.Uint32(d)),
				Level:  EncryptionLevel(binary.LittleEndian.Uint32(d[4:])),
			}
			if len(d) > 8 {
				s.Security.Rest = d[8:]
			}
		case bl.Type == BlockSCNet && s.Network == nil:
			if len(d) < 4 {
				return fmt.Errorf("gcc: %w: SC_NET of %d bytes", ErrMalformed, len(d)+4)
			}
			n := int(binary.LittleEndian.Uint16(d[2:]))
			if len(d) < 4+2*n {
				return fmt.Errorf("gcc: %w: SC_NET channelCount %d in %d bytes", ErrMalformed, n, len(d)+4)
			}
			net := &ServerNetworkData{IOChannel: binary.LittleEndian.Uint16(d)}
			for i := range n {
				net.ChannelIDs = append(net.ChannelIDs, binary.LittleEndian.Uint16(d[4+2*i:]))
			}
			s.Network = net
		case bl.Type == BlockSCMsgChan && s.MessageChannel == 0 && len(d) == 2:
			s.MessageChannel = binary.LittleEndian.Uint16(d)
		default:
			s.Other = append(s.Other, bl)
		}
	}
	var missing []string
	if s.Core == nil {
		missing = append(missing, "SC_CORE")
	}
	if s.Security == nil {
		missing = append(missing, "SC_SECURITY")
	}
	if s.Network == nil {
		missing = append(missing, "SC_NET")
	}
	if len(missing) > 0 {
		return fmt.Errorf("gcc: %w: server data without %s", ErrMalformed, strings.Join(missing, ", "))
	}
	return nil
}

// Marshal returns the blocks in the order SC_CORE, SC_SECURITY, SC_NET,
// SC_MCS_MSGCHANNEL, then Other; nil blocks are left out.
func (s *ServerData) Marshal() []byte {
	var b []byte
	if c := s.Core; c != nil {
		d := binary.LittleEndian.AppendUint32(nil, c.Version)
		if c.HasClientRequestedProtocols || c.HasEarlyCapabilityFlags {
			d = binary.LittleEndian.AppendUint32(d, uint32(c.ClientRequestedProtocols))
		}
		if c.HasEarlyCapabilityFlags {
			d = binary.LittleEndian.AppendUint32(d, c.EarlyCapabilityFlags)
		}
		b = appendDataBlock(b, BlockSCCore, d)
	}
	if sec := s.Security; sec != nil {
		d := binary.LittleEndian.AppendUint32(nil, uint32(sec.Method))
		d = binary.LittleEndian.AppendUint32(d, uint32(sec.Level))
		b = appendDataBlock(b, BlockSCSecurity, append(d, sec.Rest...))
	}
	if n := s.Network; n != nil {
		d := binary.LittleEndian.AppendUint16(nil, n.IOChannel)
		d = binary.LittleEndian.AppendUint16(d, uint16(len(n.ChannelIDs)))
		for _, id := range n.ChannelIDs {
			d = binary.LittleEndian.AppendUint16(d, id)
		}
		if len(n.ChannelIDs)%2 == 1 {
			d = append(d, 0, 0) // Pad
		}
		b = appendDataBlock(b, BlockSCNet, d)
	}
	if s.MessageChannel != 0 {
		b = appendDataBlock(b, BlockSCMsgChan, binary.LittleEndian.AppendUint16(nil, s.MessageChannel))
	}
	for _, o := range s.Other {
		b = appendDataBlock(b, o.Type, o.Data)
	}
	return b
}
