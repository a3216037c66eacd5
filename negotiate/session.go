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
// Under Standard RDP Security (PROTOCOL_RDP, 5.3) the server selects a
// method and level in TS_UD_SC_SEC1 and sends its random and RSA key; then
// a Security Exchange PDU (2.2.1.10) follows the channel joins, the Client
// Info is encrypted, and so is every PDU whose security header says
// SEC_ENCRYPT (rdpsec.go: SecureClientInfoPDU, ParseSecureServerPDU).
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
//  7. under Standard RDP Security with encryption: send
//     ClientSecurityExchangePDU(user, io, NewSecurityExchange(cert, random))
//     (2.2.1.10) and derive NewClientSecurity(method, random, serverRandom)
//  8. send ClientInfoPDU(user, io, info)      (2.2.1.11), SecureClientInfoPDU
//     under Standard RDP Security
//  9. loop ParseServerPDU until a verdict    (2.2.1.12 licensing, 2.2.5.1, 2.2.10.1, 2.2.1.13.1);
//     a LICENSE_REQUEST is answered with ClientLicensePDU(user, io,
//     NewLicenseRequest.Marshal()) (MS-RDPELE 2.2.2.2)
// 10. send ClientDisconnectProviderUltimatum() (2.2.2.3) and close.
//
// This file holds the framing and the builders of steps 1-6 and 10; the Client
// Info PDU is in clientinfo.go, the Share Control and Share Data PDUs in
// share.go, and ParseServerPDU, which sorts what the server says in step 9,
// in serverpdu.go; Standard RDP Security in rdpsec.go.

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
	SecExchangePkt      SecurityFlags = 0x0001 // SEC_EXCHANGE_PKT
	SecTransportReq     SecurityFlags = 0x0002 // SEC_TRANSPORT_REQ
	SecTransportRsp     SecurityFlags = 0x0004 // RDP_SEC_TRANSPORT_RSP
	SecEncrypt          SecurityFlags = 0x0008 // SEC_ENCRYPT
	SecResetSeqno       SecurityFlags = 0x0010 // SEC_RESET_SEQNO
	SecIgnoreSeqno      SecurityFlags = 0x0020 // SEC_IGNORE_SEQNO
	SecInfoPkt          SecurityFlags = 0x0040 // SEC_INFO_PKT
	SecLicensePkt       SecurityFlags = 0x0080 // SEC_LICENSE_PKT
	SecLicenseEncryptCS SecurityFlags = 0x0200 // SEC_LICENSE_ENCRYPT_CS (also _SC)
	SecRedirectionPkt   SecurityFlags = 0x0400 // SEC_REDIRECTION_PKT
	SecSecureChecksum   SecurityFlags = 0x0800 // SEC_SECURE_CHECKSUM
	SecAutodetectReq    SecurityFlags = 0x1000 // SEC_AUTODETECT_REQ
	SecAutodetectRsp    SecurityFlags = 0x2000 // SEC_AUTODETECT_RSP
	SecHeartbeat        SecurityFlags = 0x4000 // SEC_HEARTBEAT
	SecFlagsHiValid     SecurityFlags = 0x8000 // SEC_FLAGSHI_VALID
	basicSecurityHdrLen               = 4
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
