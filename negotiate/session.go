package negotiate

import (
	"encoding/binary"
	"fmt"
)

// The RDP connection sequence after X.224/TLS/CredSSP, up to the point
// where the server's verdict on licensing and logon is known (MS-RDPBCGR
// 1.3.1.1, 3.2.5.3). Everything here builds or parses bytes; the caller
// does the I/O, one TPKT at a time (ReadTPKT with a cap, then the parsers
// below on its payload). Under TLS/CredSSP ("Enhanced RDP Security", 5.4)
// the server selects ENCRYPTION_METHOD_NONE / ENCRYPTION_LEVEL_NONE, so:
//
//   - the Client Info PDU carries a Basic Security Header with SEC_INFO_PKT
//     and an unencrypted TS_INFO_PACKET (2.2.1.11);
//   - licensing PDUs carry a Basic Security Header with SEC_LICENSE_PKT and
//     unencrypted licensing messages (2.2.1.12);
//   - Share Control PDUs (Demand Active, Set Error Info, Save Session Info)
//     carry no security header at all (2.2.1.13.1, 2.2.5.1: "MUST NOT be
//     included" when level and method are NONE).
//
// The sequence a prober follows, each step with the PDU to send or expect:
//
//  1. send ClientMCSConnectInitial(selected)  (2.2.1.3)
//  2. ParseMCSConnectResponse                 (2.2.1.4) → I/O channel, static channels
//  3. send ClientErectDomainRequest()         (2.2.1.5)
//  4. send ClientAttachUserRequest()          (2.2.1.6)
//  5. ParseAttachUserConfirm                  (2.2.1.7) → user channel ID
//  6. for each of ChannelsToJoin(user, server):
//     send ClientChannelJoinRequest(user, ch) (2.2.1.8); ParseChannelJoinConfirm (2.2.1.9)
//  7. send ClientInfoPDU(user, io, info)      (2.2.1.11)
//  8. loop ParseServerPDU until a verdict    (2.2.1.12 licensing, 2.2.5.1, 2.2.10.1, 2.2.1.13.1);
//     a LICENSE_REQUEST is answered with ClientLicensePDU(user, io,
//     NewLicenseRequest.Marshal()) (MS-RDPELE 2.2.2.2)
//  9. send ClientDisconnectProviderUltimatum() (2.2.2.3) and close.

// X.224 Data TPDU header (X.224 13.7): LI 2, DT code 0xF0, EOT set.
var x224DataHeader = [3]byte{0x02, 0xF0, 0x80}

// DataTPDU wraps an MCS PDU in an X.224 Data TPDU and TPKT header.
func DataTPDU(mcs []byte) []byte {
	b := make([]byte, 0, tpktHeaderLen+3+len(mcs))
	p := append(append(make([]byte, 0, 3+len(mcs)), x224DataHeader[:]...), mcs...)
	return AppendTPKT(b, p)
}

// ParseDataTPDU returns the user data of an X.224 Data TPDU (the TPKT
// payload). A Disconnect Request TPDU yields an error wrapping
// ErrDisconnectRequest.
func ParseDataTPDU(x224 []byte) ([]byte, error) {
	if len(x224) >= 2 && x224[1] == x224DR && int(x224[0]) == len(x224)-1 {
		return nil, fmt.Errorf("x224: %w", ErrDisconnectRequest)
	}
	if len(x224) < 3 || x224[0] != 2 || x224[1] != 0xF0 {
		return nil, fmt.Errorf("x224: %w: not a Data TPDU: % x", ErrMalformed, head(x224))
	}
	if x224[2]&0x80 == 0 {
		return nil, fmt.Errorf("x224: %w: Data TPDU without EOT (segmented TPDUs are not supported)", ErrMalformed)
	}
	return x224[3:], nil
}

// MCSResultError reports an MCS confirm whose result is not rt-successful.
type MCSResultError struct {
	PDU    string // "Connect-Response", "Attach-User-Confirm", "Channel-Join-Confirm"
	Result MCSResult
}

func (e *MCSResultError) Error() string {
	return fmt.Sprintf("mcs: server answered %s with %s (%d)", e.PDU, e.Result, uint8(e.Result))
}

// ClientMCSConnectInitial returns the whole TPKT of the Client MCS Connect
// Initial PDU with GCC Conference Create Request (MS-RDPBCGR 2.2.1.3)
// carrying DefaultClientData(selected): selected is the protocol from the
// server's RDP_NEG_RSP, echoed in serverSelectedProtocol.
func ClientMCSConnectInitial(selected Protocol) []byte {
	cd := DefaultClientData(selected)
	return ClientMCSConnectInitialWith(&cd)
}

// ClientMCSConnectInitialWith is ClientMCSConnectInitial with the given
// client data blocks.
func ClientMCSConnectInitialWith(cd *ClientData) []byte {
	return DataTPDU(NewConnectInitial(ConferenceCreateRequest(cd.Marshal())).Marshal())
}

// ConnectResponse is the Server MCS Connect Response PDU with GCC
// Conference Create Response (MS-RDPBCGR 2.2.1.4), fully parsed.
type ConnectResponse struct {
	MCS MCSConnectResponse
	// GCC and Server are nil when the MCS result is a failure.
	GCC    *GCCConferenceCreateResponse
	Server *ServerData
}

// ParseMCSConnectResponse parses the TPKT payload of a Server MCS Connect
// Response (MS-RDPBCGR 2.2.1.4, 3.2.5.3.4). If the MCS result is not
// rt-successful it returns the response and a *MCSResultError.
func ParseMCSConnectResponse(x224 []byte) (*ConnectResponse, error) {
	mcs, err := ParseDataTPDU(x224)
	if err != nil {
		return nil, err
	}
	cr := &ConnectResponse{}
	if err := cr.MCS.Unmarshal(mcs); err != nil {
		return nil, err
	}
	if cr.MCS.Result != MCSResultSuccessful {
		return cr, &MCSResultError{PDU: "Connect-Response", Result: cr.MCS.Result}
	}
	gcc := &GCCConferenceCreateResponse{}
	if err := gcc.Unmarshal(cr.MCS.UserData); err != nil {
		return nil, err
	}
	sd := &ServerData{}
	if err := sd.Unmarshal(gcc.ServerData); err != nil {
		return nil, err
	}
	cr.GCC, cr.Server = gcc, sd
	return cr, nil
}

// Marshal returns the whole TPKT; GCC and Server, when set, replace
// MCS.UserData (for tests and fakes).
func (c *ConnectResponse) Marshal() []byte {
	m := c.MCS
	if c.GCC != nil {
		g := *c.GCC
		if c.Server != nil {
			g.ServerData = c.Server.Marshal()
		}
		m.UserData = g.Marshal()
	}
	return DataTPDU(m.Marshal())
}

// ClientErectDomainRequest returns the whole TPKT of the MCS Erect Domain
// Request (MS-RDPBCGR 2.2.1.5, 4.1.5): subHeight and subInterval 0.
func ClientErectDomainRequest() []byte {
	return DataTPDU((&ErectDomainRequest{}).Marshal())
}

// ClientAttachUserRequest returns the whole TPKT of the MCS Attach User
// Request (MS-RDPBCGR 2.2.1.6, 4.1.6).
func ClientAttachUserRequest() []byte { return DataTPDU(AttachUserRequest{}.Marshal()) }

// ParseAttachUserConfirm parses the TPKT payload of the MCS Attach User
// Confirm (MS-RDPBCGR 2.2.1.7); Initiator is the user channel ID. A failed
// result, or a success without initiator, yields *MCSResultError.
func ParseAttachUserConfirm(x224 []byte) (*AttachUserConfirm, error) {
	mcs, err := ParseDataTPDU(x224)
	if err != nil {
		return nil, err
	}
	m := &AttachUserConfirm{}
	if err := m.Unmarshal(mcs); err != nil {
		return nil, err
	}
	if m.Result != MCSResultSuccessful {
		return m, &MCSResultError{PDU: "Attach-User-Confirm", Result: m.Result}
	}
	if !m.HasInitiator {
		return nil, fmt.Errorf("mcs: %w: successful Attach-User-Confirm without initiator", ErrMalformed)
	}
	return m, nil
}

// ChannelsToJoin lists the channels a client joins (MS-RDPBCGR 3.2.5.3.8):
// the user channel, the I/O channel, the message channel if the server
// sent one, and every static channel in SC_NET.
func ChannelsToJoin(user uint16, s *ServerData) []uint16 {
	out := []uint16{user}
	if s == nil || s.Network == nil {
		return out
	}
	out = append(out, s.Network.IOChannel)
	if s.MessageChannel != 0 {
		out = append(out, s.MessageChannel)
	}
	return append(out, s.Network.ChannelIDs...)
}

// ClientChannelJoinRequest returns the whole TPKT of an MCS Channel Join
// Request (MS-RDPBCGR 2.2.1.8, 4.1.8.x).
func ClientChannelJoinRequest(user, channel uint16) []byte {
	return DataTPDU((&ChannelJoinRequest{Initiator: user, ChannelID: channel}).Marshal())
}

// ParseChannelJoinConfirm parses the TPKT payload of an MCS Channel Join
// Confirm (MS-RDPBCGR 2.2.1.9). A failed result yields *MCSResultError.
func ParseChannelJoinConfirm(x224 []byte) (*ChannelJoinConfirm, error) {
	mcs, err := ParseDataTPDU(x224)
	if err != nil {
		return nil, err
	}
	m := &ChannelJoinConfirm{}
	if err := m.Unmarshal(mcs); err != nil {
		return nil, err
	}
	if m.Result != MCSResultSuccessful {
		return m, &MCSResultError{PDU: "Channel-Join-Confirm", Result: m.Result}
	}
	return m, nil
}

// ClientDisconnectProviderUltimatum returns the whole TPKT of an MCS
// Disconnect Provider Ultimatum with rn-user-requested (MS-RDPBCGR
// 2.2.2.3, 4.2.3): the clean way to stop.
func ClientDisconnectProviderUltimatum() []byte {
	return DataTPDU((&DisconnectProviderUltimatum{Reason: MCSReasonUserRequested}).Marshal())
}

// SecurityFlags is TS_SECURITY_HEADER.flags (MS-RDPBCGR 2.2.8.1.1.2.1).
type SecurityFlags uint16

const (
	SecExchangePkt         SecurityFlags = 0x0001 // SEC_EXCHANGE_PKT
	SecTransportReq        SecurityFlags = 0x0002 // SEC_TRANSPORT_REQ
	SecTransportRsp        SecurityFlags = 0x0004 // RDP_SEC_TRANSPORT_RSP
	SecEncrypt             SecurityFlags = 0x0008 // SEC_ENCRYPT
	SecResetSeqno          SecurityFlags = 0x0010 // SEC_RESET_SEQNO
	SecIgnoreSeqno         SecurityFlags = 0x0020 // SEC_IGNORE_SEQNO
	SecInfoPkt             SecurityFlags = 0x0040 // SEC_INFO_PKT
	SecLicensePkt          SecurityFlags = 0x0080 // SEC_LICENSE_PKT
	SecLicenseEncryptCS    SecurityFlags = 0x0200 // SEC_LICENSE_ENCRYPT_CS (also _SC)
	SecRedirectionPkt      SecurityFlags = 0x0400 // SEC_REDIRECTION_PKT
	SecSecureChecksum      SecurityFlags = 0x0800 // SEC_SECURE_CHECKSUM
	SecAutodetectReq       SecurityFlags = 0x1000 // SEC_AUTODETECT_REQ
	SecAutodetectRsp       SecurityFlags = 0x2000 // SEC_AUTODETECT_RSP
	SecHeartbeat           SecurityFlags = 0x4000 // SEC_HEARTBEAT
	SecFlagsHiValid        SecurityFlags = 0x8000 // SEC_FLAGSHI_VALID
	basicSecurityHdrLen                  = 4
	maxInfoStringBytes                   = 510 // UTF-16 bytes of one TS_INFO_PACKET string, terminator excluded
	timeZoneInformationLen               = 172
)

var securityFlagNames = map[SecurityFlags]string{
	SecExchangePkt: "SEC_EXCHANGE_PKT", SecTransportReq: "SEC_TRANSPORT_REQ", SecTransportRsp: "RDP_SEC_TRANSPORT_RSP",
	SecEncrypt: "SEC_ENCRYPT", SecResetSeqno: "SEC_RESET_SEQNO", SecIgnoreSeqno: "SEC_IGNORE_SEQNO",
	SecInfoPkt: "SEC_INFO_PKT", SecLicensePkt: "SEC_LICENSE_PKT", SecLicenseEncryptCS: "SEC_LICENSE_ENCRYPT_CS",
	SecRedirectionPkt: "SEC_REDIRECTION_PKT", SecSecureChecksum: "SEC_SECURE_CHECKSUM",
	SecAutodetectReq: "SEC_AUTODETECT_REQ", SecAutodetectRsp: "SEC_AUTODETECT_RSP", SecHeartbeat: "SEC_HEARTBEAT",
	SecFlagsHiValid: "SEC_FLAGSHI_VALID",
}

// String returns the set flags' spec names joined by "|", unknown bits as
// hex, "0" when none is set.
func (f SecurityFlags) String() string {
	if f == 0 {
		return "0"
	}
	s := ""
	for bit := SecurityFlags(1); bit != 0; bit <<= 1 {
		if f&bit == 0 {
			continue
		}
		if s != "" {
			s += "|"
		}
		if n, ok := securityFlagNames[bit]; ok {
			s += n
		} else {
			s += fmt.Sprintf("0x%04X", uint16(bit))
		}
	}
	return s
}

// TS_INFO_PACKET.flags (MS-RDPBCGR 2.2.1.11.1.1).
const (
	InfoMouse               uint32 = 0x00000001 // INFO_MOUSE
	InfoDisableCtrlAltDel   uint32 = 0x00000002 // INFO_DISABLECTRLALTDEL
	InfoAutologon           uint32 = 0x00000008 // INFO_AUTOLOGON
	InfoUnicode             uint32 = 0x00000010 // INFO_UNICODE
	InfoMaximizeShell       uint32 = 0x00000020 // INFO_MAXIMIZESHELL
	InfoLogonNotify         uint32 = 0x00000040 // INFO_LOGONNOTIFY
	InfoCompression         uint32 = 0x00000080 // INFO_COMPRESSION
	InfoEnableWindowsKey    uint32 = 0x00000100 // INFO_ENABLEWINDOWSKEY
	InfoForceEncryptedCSPDU uint32 = 0x00004000 // INFO_FORCE_ENCRYPTED_CS_PDU
	InfoRail                uint32 = 0x00008000 // INFO_RAIL
	InfoLogonErrors         uint32 = 0x00010000 // INFO_LOGONERRORS
	InfoMouseHasWheel       uint32 = 0x00020000 // INFO_MOUSE_HAS_WHEEL
	InfoNoAudioPlayback     uint32 = 0x00080000 // INFO_NOAUDIOPLAYBACK

	// DefaultInfoFlags asks for autologon with the supplied credentials
	// and for logon notifications and errors through Save Session Info.
	// INFO_MAXIMIZESHELL is there because mstsc always sends it and xrdp
	// refuses a TS_INFO_PACKET without all of INFO_MOUSE,
	// INFO_DISABLECTRLALTDEL, INFO_UNICODE and INFO_MAXIMIZESHELL (0x33).
	DefaultInfoFlags = InfoMouse | InfoDisableCtrlAltDel | InfoUnicode | InfoMaximizeShell |
		InfoAutologon | InfoLogonNotify | InfoLogonErrors | InfoNoAudioPlayback

	// DefaultPerformanceFlags disables wallpaper, full-window drag, menu
	// animations and themes (PERF_DISABLE_*, MS-RDPBCGR 2.2.1.11.1.1.1).
	DefaultPerformanceFlags uint32 = 0x0000000F

	AFInet  uint16 = 0x0002 // AF_INET
	AFInet6 uint16 = 0x0017 // AF_INET6
)

// ClientInfo is TS_INFO_PACKET with its TS_EXTENDED_INFO_PACKET
// (MS-RDPBCGR 2.2.1.11.1.1, 2.2.1.11.1.1.1), strings in UTF-16LE
// (INFO_UNICODE is always sent). The password never appears in String,
// GoString or errors.
type ClientInfo struct {
	CodePage       uint32
	Flags          uint32 // DefaultInfoFlags if 0
	Domain         string
	UserName       string
	Password       string
	AlternateShell string
	WorkingDir     string

	ClientAddressFamily uint16 // AF_INET if 0
	ClientAddress       string
	ClientDir           string
	ClientSessionID     uint32
	PerformanceFlags    uint32
}

// String shows everything but the password, of which only whether it is set.
func (c ClientInfo) String() string {
	pw := `""`
	if c.Password != "" {
		pw = "<redacted>"
	}
	return fmt.Sprintf("ClientInfo{Flags: 0x%08X, Domain: %q, UserName: %q, Password: %s, AlternateShell: %q, WorkingDir: %q, ClientAddress: %q}",
		c.Flags, c.Domain, c.UserName, pw, c.AlternateShell, c.WorkingDir, c.ClientAddress)
}

// GoString keeps %#v from printing the password.
func (c ClientInfo) GoString() string { return c.String() }

// Marshal returns TS_INFO_PACKET followed by TS_EXTENDED_INFO_PACKET (time
// zone zeroed) through cbAutoReconnectCookie (0), reserved1 and reserved2. A string longer than 255 UTF-16 code units is an error
// naming the field, never its value. The result holds the password: the
// caller should clear it after sending.
func (c *ClientInfo) Marshal() ([]byte, error) {
	flags := c.Flags
	if flags == 0 {
		flags = DefaultInfoFlags
	}
	flags |= InfoUnicode
	fields := [...]struct {
		name string
		val  string
	}{{"Domain", c.Domain}, {"UserName", c.UserName}, {"Password", c.Password},
		{"AlternateShell", c.AlternateShell}, {"WorkingDir", c.WorkingDir}}
	var enc [len(fields)][]byte
	defer func() { clear(enc[2]) }()
	for i, f := range fields {
		enc[i] = utf16LE(f.val)
		if len(enc[i]) > maxInfoStringBytes {
			return nil, fmt.Errorf("clientinfo: %s is %d UTF-16 bytes, at most %d fit", f.name, len(enc[i]), maxInfoStringBytes)
		}
	}
	addr, dir := utf16LE(c.ClientAddress), utf16LE(c.ClientDir)
	if len(addr) > 78 || len(dir) > maxInfoStringBytes {
		return nil, fmt.Errorf("clientinfo: ClientAddress or ClientDir too long")
	}
	b := binary.LittleEndian.AppendUint32(nil, c.CodePage)
	b = binary.LittleEndian.AppendUint32(b, flags)
	for _, e := range enc {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(e))) // cb* exclude the terminator
	}
	for _, e := range enc {
		b = append(append(b, e...), 0, 0)
	}
	fam := c.ClientAddressFamily
	if fam == 0 {
		fam = AFInet
	}
	b = binary.LittleEndian.AppendUint16(b, fam)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(addr)+2)) // cbClientAddress includes it
	b = append(append(b, addr...), 0, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(dir)+2))
	b = append(append(b, dir...), 0, 0)
	b = append(b, make([]byte, timeZoneInformationLen)...)
	b = binary.LittleEndian.AppendUint32(b, c.ClientSessionID)
	b = binary.LittleEndian.AppendUint32(b, c.PerformanceFlags)
	// cbAutoReconnectCookie 0 (no cookie), reserved1 and reserved2 0.
	// Optional in the spec, but mstsc sends them and Wireshark's dissector
	// reads them.
	return append(b, 0, 0, 0, 0, 0, 0), nil
}

// Unmarshal parses TS_INFO_PACKET with INFO_UNICODE and, if present, the
// leading fields of TS_EXTENDED_INFO_PACKET (through performanceFlags).
func (c *ClientInfo) Unmarshal(b []byte) error {
	*c = ClientInfo{}
	r := leReader{b: b}
	c.CodePage = r.u32()
	c.Flags = r.u32()
	if r.err == nil && c.Flags&InfoUnicode == 0 {
		return fmt.Errorf("clientinfo: %w: TS_INFO_PACKET without INFO_UNICODE", ErrMalformed)
	}
	var cb [5]int
	for i := range cb {
		cb[i] = int(r.u16())
	}
	var s [5]string
	for i := range s {
		v := r.bytes(cb[i]+2, "TS_INFO_PACKET string")
		if v != nil {
			if cb[i]%2 != 0 || v[cb[i]] != 0 || v[cb[i]+1] != 0 {
				return fmt.Errorf("clientinfo: %w: TS_INFO_PACKET field %d not a terminated UTF-16 string", ErrMalformed, i)
			}
			s[i] = fromUTF16LE(v[:cb[i]])
		}
	}
	c.Domain, c.UserName, c.Password, c.AlternateShell, c.WorkingDir = s[0], s[1], s[2], s[3], s[4]
	if r.err != nil || len(r.b) == 0 {
		return r.done("clientinfo", "TS_INFO_PACKET")
	}
	c.ClientAddressFamily = r.u16()
	c.ClientAddress = fromUTF16Z(r.bytes(int(r.u16()), "clientAddress"))
	c.ClientDir = fromUTF16Z(r.bytes(int(r.u16()), "clientDir"))
	r.bytes(timeZoneInformationLen, "clientTimeZone")
	c.ClientSessionID = r.u32()
	c.PerformanceFlags = r.u32()
	if r.err != nil {
		return fmt.Errorf("clientinfo: %w: TS_EXTENDED_INFO_PACKET: %s", ErrMalformed, r.err)
	}
	return nil // later optional fields (auto-reconnect cookie, DST key) are ignored
}

// ClientInfoPDU returns the whole TPKT of the Client Info PDU (MS-RDPBCGR
// 2.2.1.11): an MCS Send Data Request from the user channel to the I/O
// channel whose userData is a Basic Security Header with SEC_INFO_PKT
// (unencrypted under TLS/CredSSP) and TS_INFO_PACKET. The result holds the
// password: clear it after sending.
func ClientInfoPDU(user, ioChannel uint16, info *ClientInfo) ([]byte, error) {
	pkt, err := info.Marshal()
	if err != nil {
		return nil, err
	}
	defer clear(pkt)
	ud := make([]byte, 0, basicSecurityHdrLen+len(pkt))
	ud = binary.LittleEndian.AppendUint16(ud, uint16(SecInfoPkt))
	ud = binary.LittleEndian.AppendUint16(ud, 0) // flagsHi
	ud = append(ud, pkt...)
	defer clear(ud)
	if len(ud) > MaxMCSUserData {
		return nil, fmt.Errorf("clientinfo: Client Info PDU of %d bytes does not fit one Send Data Request", len(ud))
	}
	sd := &SendData{Initiator: user, ChannelID: ioChannel, Priority: 1, Segmentation: SegmentBegin | SegmentEnd, UserData: ud}
	mcs := sd.Marshal()
	defer clear(mcs)
	return DataTPDU(mcs), nil
}

// ShareControlPDUType is the type subfield of TS_SHARECONTROLHEADER.pduType
// (MS-RDPBCGR 2.2.8.1.1.1.1).
type ShareControlPDUType uint16

const (
	PDUTypeDemandActive   ShareControlPDUType = 0x1 // PDUTYPE_DEMANDACTIVEPDU
	PDUTypeConfirmActive  ShareControlPDUType = 0x3 // PDUTYPE_CONFIRMACTIVEPDU
	PDUTypeDeactivateAll  ShareControlPDUType = 0x6 // PDUTYPE_DEACTIVATEALLPDU
	PDUTypeData           ShareControlPDUType = 0x7 // PDUTYPE_DATAPDU
	PDUTypeServerRedirect ShareControlPDUType = 0xA // PDUTYPE_SERVER_REDIR_PKT

	tsProtocolVersion = 0x0010
	shareControlLen   = 6
	shareDataLen      = 18
	packetCompressed  = 0x20 // PACKET_COMPRESSED in compressedType
)

// String returns the spec name, or PDUTYPE_0x%X.
func (t ShareControlPDUType) String() string {
	switch t {
	case PDUTypeDemandActive:
		return "PDUTYPE_DEMANDACTIVEPDU"
	case PDUTypeConfirmActive:
		return "PDUTYPE_CONFIRMACTIVEPDU"
	case PDUTypeDeactivateAll:
		return "PDUTYPE_DEACTIVATEALLPDU"
	case PDUTypeData:
		return "PDUTYPE_DATAPDU"
	case PDUTypeServerRedirect:
		return "PDUTYPE_SERVER_REDIR_PKT"
	}
	return fmt.Sprintf("PDUTYPE_0x%X", uint16(t))
}

// ShareDataPDUType is TS_SHAREDATAHEADER.pduType2 (MS-RDPBCGR 2.2.8.1.1.1.2).
type ShareDataPDUType uint8

const (
	PDUType2Update          ShareDataPDUType = 0x02 // PDUTYPE2_UPDATE
	PDUType2Control         ShareDataPDUType = 0x14 // PDUTYPE2_CONTROL
	PDUType2Synchronize     ShareDataPDUType = 0x1F // PDUTYPE2_SYNCHRONIZE
	PDUType2ShutdownDenied  ShareDataPDUType = 0x25 // PDUTYPE2_SHUTDOWN_DENIED
	PDUType2SaveSessionInfo ShareDataPDUType = 0x26 // PDUTYPE2_SAVE_SESSION_INFO
	PDUType2FontMap         ShareDataPDUType = 0x28 // PDUTYPE2_FONTMAP
	PDUType2SetErrorInfo    ShareDataPDUType = 0x2F // PDUTYPE2_SET_ERROR_INFO_PDU
	PDUType2ARCStatus       ShareDataPDUType = 0x32 // PDUTYPE2_ARC_STATUS_PDU
	PDUType2StatusInfo      ShareDataPDUType = 0x36 // PDUTYPE2_STATUS_INFO_PDU
	PDUType2MonitorLayout   ShareDataPDUType = 0x37 // PDUTYPE2_MONITOR_LAYOUT_PDU
)

var shareDataPDUTypeNames = map[ShareDataPDUType]string{
	PDUType2Update: "PDUTYPE2_UPDATE", PDUType2Control: "PDUTYPE2_CONTROL", PDUType2Synchronize: "PDUTYPE2_SYNCHRONIZE",
	PDUType2ShutdownDenied: "PDUTYPE2_SHUTDOWN_DENIED", PDUType2SaveSessionInfo: "PDUTYPE2_SAVE_SESSION_INFO",
	PDUType2FontMap: "PDUTYPE2_FONTMAP", PDUType2SetErrorInfo: "PDUTYPE2_SET_ERROR_INFO_PDU",
	PDUType2ARCStatus: "PDUTYPE2_ARC_STATUS_PDU", PDUType2StatusInfo: "PDUTYPE2_STATUS_INFO_PDU",
	PDUType2MonitorLayout: "PDUTYPE2_MONITOR_LAYOUT_PDU",
}

// String returns the spec name, or PDUTYPE2_0x%02X.
func (t ShareDataPDUType) String() string {
	if n, ok := shareDataPDUTypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("PDUTYPE2_0x%02X", uint8(t))
}

// DemandActive is the start of TS_DEMAND_ACTIVE_PDU (MS-RDPBCGR
// 2.2.1.13.1.1). Its arrival means the connection reached the
// Capabilities Exchange phase: licensing passed and the logon went ahead.
type DemandActive struct {
	ShareID            uint32
	SourceDescriptor   string
	NumberCapabilities uint16
}

func (d *DemandActive) unmarshal(b []byte) error {
	r := leReader{b: b}
	d.ShareID = r.u32()
	lsd := r.u16()
	lcc := r.u16()
	sd := r.bytes(int(lsd), "sourceDescriptor")
	for len(sd) > 0 && sd[len(sd)-1] == 0 {
		sd = sd[:len(sd)-1]
	}
	d.SourceDescriptor = string(sd)
	caps := r.bytes(int(lcc), "combined capabilities")
	if r.err == nil && len(caps) < 4 {
		return fmt.Errorf("share: %w: Demand Active lengthCombinedCapabilities %d", ErrMalformed, lcc)
	}
	if caps != nil {
		d.NumberCapabilities = binary.LittleEndian.Uint16(caps)
	}
	if r.err != nil {
		return fmt.Errorf("share: %w: Demand Active: %s", ErrMalformed, r.err)
	}
	return nil // sessionId (4 bytes) follows in RDP 5.0 and later
}

// generalCapabilitySetLen is TS_GENERAL_CAPABILITYSET's size (MS-RDPBCGR
// 2.2.7.1.1).
const generalCapabilitySetLen = 24

// DemandActivePDU returns a Share Control PDU carrying a TS_DEMAND_ACTIVE_PDU
// from source with one General Capability Set, as a server sends it under
// TLS: no security header (for tests and fakes; MS-RDPBCGR 2.2.1.13.1.1).
func DemandActivePDU(source uint16, d *DemandActive) []byte {
	caps := binary.LittleEndian.AppendUint16(nil, 1) // numberCapabilities
	caps = append(caps, 0, 0)                        // pad2Octets
	caps = binary.LittleEndian.AppendUint16(caps, 1) // CAPSTYPE_GENERAL
	caps = binary.LittleEndian.AppendUint16(caps, generalCapabilitySetLen)
	caps = binary.LittleEndian.AppendUint16(caps, 1)      // osMajorType: OSMAJORTYPE_WINDOWS
	caps = binary.LittleEndian.AppendUint16(caps, 3)      // osMinorType: OSMINORTYPE_WINDOWS_NT
	caps = binary.LittleEndian.AppendUint16(caps, 0x200)  // protocolVersion: TS_CAPS_PROTOCOLVERSION
	caps = append(caps, 0, 0, 0, 0)                       // pad2octetsA, generalCompressionTypes
	caps = binary.LittleEndian.AppendUint16(caps, 0x0401) // extraFlags: FASTPATH_OUTPUT_SUPPORTED | NO_BITMAP_COMPRESSION_HDR
	caps = append(caps, make([]byte, 8)...)               // updateCapabilityFlag ... suppressOutputSupport
	sd := append([]byte(d.SourceDescriptor), 0)
	body := binary.LittleEndian.AppendUint32(nil, d.ShareID)
	body = binary.LittleEndian.AppendUint16(body, uint16(len(sd)))
	body = binary.LittleEndian.AppendUint16(body, uint16(len(caps)))
	body = append(append(body, sd...), caps...)
	body = binary.LittleEndian.AppendUint32(body, 0) // sessionId
	b := binary.LittleEndian.AppendUint16(nil, uint16(shareControlLen+len(body)))
	b = binary.LittleEndian.AppendUint16(b, tsProtocolVersion|uint16(PDUTypeDemandActive))
	b = binary.LittleEndian.AppendUint16(b, source)
	return append(b, body...)
}

// ServerPDUKind classifies what the server sent after the Client Info PDU.
type ServerPDUKind uint8

const (
	ServerPDUOther               ServerPDUKind = iota // anything else: keep reading
	ServerPDULicenseValidClient                       // STATUS_VALID_CLIENT: licensing done
	ServerPDULicenseError                             // another ERROR_ALERT: licensing failed (LicenseError)
	ServerPDULicenseExchange                          // LICENSE_REQUEST etc.: a real licence exchange is needed
	ServerPDUSetErrorInfo                             // Set Error Info PDU (ErrorInfo); a disconnect follows
	ServerPDUSaveSessionInfo                          // Save Session Info PDU: logon notification or logon error
	ServerPDUDemandActive                             // Demand Active PDU: capabilities exchange reached
	ServerPDUDeactivateAll                            // Deactivate All PDU
	ServerPDUDisconnectUltimatum                      // MCS Disconnect Provider Ultimatum (Reason)
)

var serverPDUKindNames = [...]string{"other", "license-valid-client", "license-error", "license-exchange",
	"set-error-info", "save-session-info", "demand-active", "deactivate-all", "disconnect-ultimatum"}

func (k ServerPDUKind) String() string {
	if int(k) < len(serverPDUKindNames) {
		return serverPDUKindNames[k]
	}
	return fmt.Sprintf("kind-%d", uint8(k))
}

// ServerPDU is one classified server PDU. Only the fields of its Kind are set.
type ServerPDU struct {
	Kind ServerPDUKind

	MCSType   MCSPDUType // DomainMCSPDU CHOICE of the PDU
	Initiator uint16     // Send Data Indication initiator and channel
	ChannelID uint16

	SecurityFlags  SecurityFlags        // when a security header was present
	LicenseMsgType LicenseMsgType       // licensing kinds
	LicenseError   *LicenseErrorMessage // license-valid-client, license-error
	LicenseRequest *LicenseRequest      // license-exchange with LICENSE_REQUEST
	Challenge      *PlatformChallenge   // license-exchange with PLATFORM_CHALLENGE

	ShareType ShareControlPDUType // Share Control PDUs
	DataType  ShareDataPDUType    // Share Data PDUs

	ErrorInfo       ErrorInfo        // set-error-info
	SaveSessionInfo *SaveSessionInfo // save-session-info
	DemandActive    *DemandActive    // demand-active
	Reason          MCSReason        // disconnect-ultimatum
}

// ParseServerPDU classifies the TPKT payload of a server PDU received after
// the Client Info PDU (MS-RDPBCGR 3.2.5.3.12-3.2.5.3.13, 3.2.5.5):
//
//   - MCS Disconnect Provider Ultimatum (2.2.2.3) → disconnect-ultimatum;
//   - Send Data Indication whose userData starts with a Basic Security
//     Header with SEC_LICENSE_PKT (2.2.1.12) → licensing: ERROR_ALERT with
//     STATUS_VALID_CLIENT/ST_NO_TRANSITION is license-valid-client, other
//     ERROR_ALERTs license-error, LICENSE_REQUEST/PLATFORM_CHALLENGE/
//     NEW_LICENSE/UPGRADE_LICENSE license-exchange;
//   - a Share Control PDU (2.2.8.1.1.1.1), with no security header as under
//     TLS, or after a Basic Security Header some servers send anyway →
//     demand-active (2.2.1.13.1), deactivate-all, or a Share Data PDU:
//     set-error-info (2.2.5.1), save-session-info (2.2.10.1);
//   - anything else → other.
//
// An X.224 Disconnect Request yields an error wrapping ErrDisconnectRequest.
// Encrypted (Standard RDP Security) PDUs are classified as other.
func ParseServerPDU(x224 []byte) (*ServerPDU, error) {
	mcs, err := ParseDataTPDU(x224)
	if err != nil {
		return nil, err
	}
	t, err := PeekMCSPDUType(mcs)
	if err != nil {
		return nil, err
	}
	p := &ServerPDU{MCSType: t}
	switch t {
	case mcsDisconnectProviderUltimatum:
		var u DisconnectProviderUltimatum
		if err := u.Unmarshal(mcs); err != nil {
			return nil, err
		}
		p.Kind, p.Reason = ServerPDUDisconnectUltimatum, u.Reason
		return p, nil
	case mcsSendDataIndication:
	default:
		return p, nil
	}
	var sd SendData
	if err := sd.Unmarshal(mcs); err != nil {
		return nil, err
	}
	p.Initiator, p.ChannelID = sd.Initiator, sd.ChannelID
	u := sd.UserData
	if len(u) >= basicSecurityHdrLen {
		flags := SecurityFlags(binary.LittleEndian.Uint16(u))
		if flags&SecLicensePkt != 0 && !isShareControl(u) {
			p.SecurityFlags = flags
			if flags&SecEncrypt != 0 {
				return p, nil
			}
			return p, p.parseLicense(u[basicSecurityHdrLen:])
		}
		if !isShareControl(u) && isShareControl(u[basicSecurityHdrLen:]) && flags&SecEncrypt == 0 {
			p.SecurityFlags = flags
			u = u[basicSecurityHdrLen:]
		}
	}
	if !isShareControl(u) {
		return p, nil
	}
	return p, p.parseShare(u)
}

// isShareControl reports whether b starts like TS_SHARECONTROLHEADER:
// totalLength within b and at least the header, protocol version 1.
func isShareControl(b []byte) bool {
	if len(b) < shareControlLen {
		return false
	}
	n := int(binary.LittleEndian.Uint16(b))
	return n >= shareControlLen && n <= len(b) && binary.LittleEndian.Uint16(b[2:])&0xFFF0 == tsProtocolVersion
}

func (p *ServerPDU) parseLicense(msg []byte) error {
	pre, _, err := ParseLicensePreamble(msg)
	if err != nil {
		return err
	}
	p.LicenseMsgType = pre.MsgType
	switch pre.MsgType {
	case ErrorAlertMsg:
		m := &LicenseErrorMessage{}
		if err := m.Unmarshal(msg); err != nil {
			return err
		}
		p.LicenseError = m
		p.Kind = ServerPDULicenseError
		if m.ValidClient() {
			p.Kind = ServerPDULicenseValidClient
		}
	case LicenseRequestMsg:
		m := &LicenseRequest{}
		if err := m.Unmarshal(msg); err != nil {
			return err
		}
		p.LicenseRequest = m
		p.Kind = ServerPDULicenseExchange
	case PlatformChallengeMsg:
		m := &PlatformChallenge{}
		if err := m.Unmarshal(msg); err != nil {
			return err
		}
		p.Challenge = m
		p.Kind = ServerPDULicenseExchange
	case NewLicenseMsg, UpgradeLicenseMsg:
		p.Kind = ServerPDULicenseExchange
	}
	return nil
}

func (p *ServerPDU) parseShare(b []byte) error {
	b = b[:binary.LittleEndian.Uint16(b)]
	p.ShareType = ShareControlPDUType(binary.LittleEndian.Uint16(b[2:]) & 0xF)
	body := b[shareControlLen:]
	switch p.ShareType {
	case PDUTypeDemandActive:
		d := &DemandActive{}
		if err := d.unmarshal(body); err != nil {
			return err
		}
		p.Kind, p.DemandActive = ServerPDUDemandActive, d
	case PDUTypeDeactivateAll:
		p.Kind = ServerPDUDeactivateAll
	case PDUTypeData:
		if len(b) < shareDataLen {
			return fmt.Errorf("share: %w: Share Data PDU of %d bytes", ErrMalformed, len(b))
		}
		p.DataType = ShareDataPDUType(b[14])
		if b[15]&packetCompressed != 0 {
			return nil // compressed: we never asked for it, leave as other
		}
		data := b[shareDataLen:]
		switch p.DataType {
		case PDUType2SetErrorInfo:
			e, err := ParseSetErrorInfo(data)
			if err != nil {
				return err
			}
			p.Kind, p.ErrorInfo = ServerPDUSetErrorInfo, e
		case PDUType2SaveSessionInfo:
			s := &SaveSessionInfo{}
			if err := s.Unmarshal(data); err != nil {
				return err
			}
			p.Kind, p.SaveSessionInfo = ServerPDUSaveSessionInfo, s
		}
	}
	return nil
}

// ShareDataPDU wraps a Share Data PDU body in TS_SHARECONTROLHEADER and
// TS_SHAREDATAHEADER (streamId STREAM_LOW, uncompressed), as a server
// sends it under TLS: no security header (for tests and fakes).
func ShareDataPDU(source uint16, shareID uint32, t ShareDataPDUType, body []byte) []byte {
	n := shareDataLen + len(body)
	b := binary.LittleEndian.AppendUint16(nil, uint16(n))
	b = binary.LittleEndian.AppendUint16(b, tsProtocolVersion|uint16(PDUTypeData))
	b = binary.LittleEndian.AppendUint16(b, source)
	b = binary.LittleEndian.AppendUint32(b, shareID)
	b = append(b, 0, 1) // pad1, streamId STREAM_LOW
	b = binary.LittleEndian.AppendUint16(b, uint16(len(body)+4))
	b = append(b, byte(t), 0, 0, 0) // pduType2, compressedType, compressedLength
	return append(b, body...)
}

// ServerSendData wraps userData in a Send Data Indication from initiator
// on channel, in an X.224 Data TPDU and TPKT (for tests and fakes).
func ServerSendData(initiator, channel uint16, userData []byte) []byte {
	sd := &SendData{Indication: true, Initiator: initiator, ChannelID: channel, Priority: 1,
		Segmentation: SegmentBegin | SegmentEnd, UserData: userData}
	return DataTPDU(sd.Marshal())
}

// ClientLicensePDU returns the whole TPKT of a client licensing PDU
// (MS-RDPBCGR 2.2.1.12): an MCS Send Data Request from the user channel to
// the I/O channel whose userData is a Basic Security Header with
// SEC_LICENSE_PKT and the licensing message, unencrypted as under
// TLS/CredSSP (5.4: the client never sets SEC_LICENSE_ENCRYPT_CS here).
func ClientLicensePDU(user, ioChannel uint16, msg []byte) []byte {
	sd := &SendData{Initiator: user, ChannelID: ioChannel, Priority: 1, Segmentation: SegmentBegin | SegmentEnd,
		UserData: BasicSecurityHeader(SecLicensePkt, msg)}
	return DataTPDU(sd.Marshal())
}

// BasicSecurityHeader returns TS_SECURITY_HEADER (flags, flagsHi 0)
// followed by body.
func BasicSecurityHeader(flags SecurityFlags, body []byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, uint16(flags))
	b = binary.LittleEndian.AppendUint16(b, 0)
	return append(b, body...)
}
