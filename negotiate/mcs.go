package negotiate

import (
	"encoding/binary"
	"fmt"
)

// MCS (T.125) as RDP uses it (MS-RDPBCGR 2.2.1.3-2.2.1.9, 2.2.2.3):
// Connect-Initial and Connect-Response are BER-encoded (T.125 7 part 2,
// application tags 101 and 102), the domain PDUs are ALIGNED PER
// (T.125 7 parts 3-10, DomainMCSPDU CHOICE index in the first six bits).

// BER application tags of the MCS connect PDUs (T.125 7 part 2).
const (
	tagConnectInit = 101 // [APPLICATION 101] Connect-Initial
	tagConnectResp = 102 // [APPLICATION 102] Connect-Response
)

// DomainMCSPDU CHOICE indexes (T.125 7 part 10).
const (
	mcsErectDomainRequest          = 1
	mcsDisconnectProviderUltimatum = 8
	mcsAttachUserRequest           = 10
	mcsAttachUserConfirm           = 11
	mcsChannelJoinRequest          = 14
	mcsChannelJoinConfirm          = 15
	mcsSendDataRequest             = 25
	mcsSendDataIndication          = 26

	// mcsBaseChannelID is the lower bound of DynamicChannelId/UserId
	// (T.125 7 part 1: UserId ::= DynamicChannelId (1001..65535)); PER
	// encodes a UserId as its offset from 1001.
	mcsBaseChannelID = 1001

	// MaxMCSUserData caps the userData of a Send Data PDU this package
	// builds or accepts: a two-octet PER length (< 16384) and one TPKT.
	MaxMCSUserData = 0x3FFF
)

// MCSResult is T.125 Result (7 part 3), carried by Connect-Response,
// Attach-User-Confirm and Channel-Join-Confirm.
type MCSResult uint8

const (
	MCSResultSuccessful             MCSResult = 0  // rt-successful
	MCSResultDomainMerging          MCSResult = 1  // rt-domain-merging
	MCSResultDomainNotHierarchical  MCSResult = 2  // rt-domain-not-hierarchical
	MCSResultNoSuchChannel          MCSResult = 3  // rt-no-such-channel
	MCSResultNoSuchDomain           MCSResult = 4  // rt-no-such-domain
	MCSResultNoSuchUser             MCSResult = 5  // rt-no-such-user
	MCSResultNotAdmitted            MCSResult = 6  // rt-not-admitted
	MCSResultOtherUserID            MCSResult = 7  // rt-other-user-id
	MCSResultParametersUnacceptable MCSResult = 8  // rt-parameters-unacceptable
	MCSResultTokenNotAvailable      MCSResult = 9  // rt-token-not-available
	MCSResultTokenNotPossessed      MCSResult = 10 // rt-token-not-possessed
	MCSResultTooManyChannels        MCSResult = 11 // rt-too-many-channels
	MCSResultTooManyTokens          MCSResult = 12 // rt-too-many-tokens
	MCSResultTooManyUsers           MCSResult = 13 // rt-too-many-users
	MCSResultUnspecifiedFailure     MCSResult = 14 // rt-unspecified-failure
	MCSResultUserRejected           MCSResult = 15 // rt-user-rejected
)

var mcsResultNames = map[MCSResult]string{
	MCSResultSuccessful:             "rt-successful",
	MCSResultDomainMerging:          "rt-domain-merging",
	MCSResultDomainNotHierarchical:  "rt-domain-not-hierarchical",
	MCSResultNoSuchChannel:          "rt-no-such-channel",
	MCSResultNoSuchDomain:           "rt-no-such-domain",
	MCSResultNoSuchUser:             "rt-no-such-user",
	MCSResultNotAdmitted:            "rt-not-admitted",
	MCSResultOtherUserID:            "rt-other-user-id",
	MCSResultParametersUnacceptable: "rt-parameters-unacceptable",
	MCSResultTokenNotAvailable:      "rt-token-not-available",
	MCSResultTokenNotPossessed:      "rt-token-not-possessed",
	MCSResultTooManyChannels:        "rt-too-many-channels",
	MCSResultTooManyTokens:          "rt-too-many-tokens",
	MCSResultTooManyUsers:           "rt-too-many-users",
	MCSResultUnspecifiedFailure:     "rt-unspecified-failure",
	MCSResultUserRejected:           "rt-user-rejected",
}

// String returns the T.125 name ("rt-successful"), or "rt-%d" if unknown.
func (r MCSResult) String() string { return specName(mcsResultNames, r, "rt-%d") }

// MCSReason is T.125 Reason (7 part 3), carried by
// Disconnect-Provider-Ultimatum.
type MCSReason uint8

const (
	MCSReasonDomainDisconnected MCSReason = 0 // rn-domain-disconnected
	MCSReasonProviderInitiated  MCSReason = 1 // rn-provider-initiated
	MCSReasonTokenPurged        MCSReason = 2 // rn-token-purged
	MCSReasonUserRequested      MCSReason = 3 // rn-user-requested
	MCSReasonChannelPurged      MCSReason = 4 // rn-channel-purged
)

var mcsReasonNames = map[MCSReason]string{
	MCSReasonDomainDisconnected: "rn-domain-disconnected",
	MCSReasonProviderInitiated:  "rn-provider-initiated",
	MCSReasonTokenPurged:        "rn-token-purged",
	MCSReasonUserRequested:      "rn-user-requested",
	MCSReasonChannelPurged:      "rn-channel-purged",
}

// String returns the T.125 name ("rn-user-requested"), or "rn-%d" if unknown.
func (r MCSReason) String() string { return specName(mcsReasonNames, r, "rn-%d") }

// DomainParameters is T.125 DomainParameters (7 part 2).
type DomainParameters struct {
	MaxChannelIDs, MaxUserIDs, MaxTokenIDs, NumPriorities,
	MinThroughput, MaxHeight, MaxMCSPDUSize, ProtocolVersion uint32
}

// Domain parameters a client proposes (MS-RDPBCGR 3.2.5.3.3).
var (
	ClientTargetParameters  = DomainParameters{34, 2, 0, 1, 0, 1, 65535, 2}
	ClientMinimumParameters = DomainParameters{1, 1, 1, 1, 0, 1, 1056, 2}
	ClientMaximumParameters = DomainParameters{65535, 65535, 65535, 1, 0, 1, 65535, 2}
)

func (p *DomainParameters) fields() [8]*uint32 {
	return [8]*uint32{&p.MaxChannelIDs, &p.MaxUserIDs, &p.MaxTokenIDs, &p.NumPriorities,
		&p.MinThroughput, &p.MaxHeight, &p.MaxMCSPDUSize, &p.ProtocolVersion}
}

func (p DomainParameters) appendBER(b []byte) []byte {
	var body []byte
	for _, f := range p.fields() {
		body = appendBERUint(body, berInteger, *f)
	}
	return appendBERTLV(b, berSequence, body)
}

func (p *DomainParameters) parseBER(s *berReader, what string) error {
	body, err := s.expect(berSequence, what)
	if err != nil {
		return err
	}
	for _, f := range p.fields() {
		if *f, err = body.uint(berInteger, what+" INTEGER"); err != nil {
			return err
		}
	}
	return body.end(what)
}

// ConnectInitial is the MCS Connect-Initial PDU (T.125 7 part 2;
// MS-RDPBCGR 2.2.1.3 mcsCi). UserData holds the GCC Conference Create
// Request (see ConferenceCreateRequest).
type ConnectInitial struct {
	CallingDomainSelector, CalledDomainSelector []byte
	UpwardFlag                                  bool
	Target, Minimum, Maximum                    DomainParameters
	UserData                                    []byte
}

// NewConnectInitial returns a Connect-Initial initialised as MS-RDPBCGR
// 3.2.5.3.3 says a client should, carrying userData.
func NewConnectInitial(userData []byte) *ConnectInitial {
	return &ConnectInitial{
		CallingDomainSelector: []byte{1}, CalledDomainSelector: []byte{1}, UpwardFlag: true,
		Target: ClientTargetParameters, Minimum: ClientMinimumParameters, Maximum: ClientMaximumParameters,
		UserData: userData,
	}
}

// Marshal returns the BER encoding (no TPKT or X.224 header).
func (m *ConnectInitial) Marshal() []byte {
	var body []byte
	body = appendBERTLV(body, berOctetString, m.CallingDomainSelector)
	body = appendBERTLV(body, berOctetString, m.CalledDomainSelector)
	up := byte(0)
	if m.UpwardFlag {
		up = 0xFF
	}
	body = appendBERTLV(body, berBoolean, []byte{up})
	body = m.Target.appendBER(body)
	body = m.Minimum.appendBER(body)
	body = m.Maximum.appendBER(body)
	body = appendBERTLV(body, berOctetString, m.UserData)
	return appendBERApplication(nil, tagConnectInit, body)
}

// Unmarshal parses the BER encoding of a Connect-Initial.
func (m *ConnectInitial) Unmarshal(b []byte) error {
	*m = ConnectInitial{}
	in := berReader(b)
	body, err := in.expectApplication(tagConnectInit, "Connect-Initial")
	if err != nil {
		return err
	}
	if err := in.end("Connect-Initial"); err != nil {
		return err
	}
	if m.CallingDomainSelector, err = body.octets("callingDomainSelector"); err != nil {
		return err
	}
	if m.CalledDomainSelector, err = body.octets("calledDomainSelector"); err != nil {
		return err
	}
	up, err := body.expect(berBoolean, "upwardFlag")
	if err != nil {
		return err
	}
	if len(up) != 1 {
		return fmt.Errorf("mcs: %w: upwardFlag of %d bytes", ErrMalformed, len(up))
	}
	m.UpwardFlag = up[0] != 0
	for _, p := range []struct {
		d    *DomainParameters
		what string
	}{{&m.Target, "targetParameters"}, {&m.Minimum, "minimumParameters"}, {&m.Maximum, "maximumParameters"}} {
		if err := p.d.parseBER(&body, p.what); err != nil {
			return err
		}
	}
	if m.UserData, err = body.octets("Connect-Initial userData"); err != nil {
		return err
	}
	return body.end("Connect-Initial")
}

// MCSConnectResponse is the MCS Connect-Response PDU (T.125 7 part 2;
// MS-RDPBCGR 2.2.1.4 mcsCrsp). UserData holds the GCC Conference Create
// Response; a failed Result may come with empty UserData.
type MCSConnectResponse struct {
	Result          MCSResult
	CalledConnectID uint32
	Parameters      DomainParameters
	UserData        []byte
}

// Marshal returns the BER encoding (no TPKT or X.224 header).
func (m *MCSConnectResponse) Marshal() []byte {
	var body []byte
	body = appendBERUint(body, berEnumerated, uint32(m.Result))
	body = appendBERUint(body, berInteger, m.CalledConnectID)
	body = m.Parameters.appendBER(body)
	body = appendBERTLV(body, berOctetString, m.UserData)
	return appendBERApplication(nil, tagConnectResp, body)
}

// Unmarshal parses the BER encoding of a Connect-Response. Trailing bytes
// after the PDU are an error.
func (m *MCSConnectResponse) Unmarshal(b []byte) error {
	*m = MCSConnectResponse{}
	in := berReader(b)
	body, err := in.expectApplication(tagConnectResp, "Connect-Response")
	if err != nil {
		return err
	}
	if err := in.end("Connect-Response"); err != nil {
		return err
	}
	r, err := body.uint(berEnumerated, "Connect-Response result")
	if err != nil {
		return err
	}
	if r > 0xFF {
		return fmt.Errorf("mcs: %w: Connect-Response result %d", ErrMalformed, r)
	}
	m.Result = MCSResult(r)
	if m.CalledConnectID, err = body.uint(berInteger, "calledConnectId"); err != nil {
		return err
	}
	if err := m.Parameters.parseBER(&body, "domainParameters"); err != nil {
		return err
	}
	if m.UserData, err = body.octets("Connect-Response userData"); err != nil {
		return err
	}
	return body.end("Connect-Response")
}

// The domain PDUs (T.125 7 parts 3-10), ALIGNED PER.

// MCSPDUType is the DomainMCSPDU CHOICE index (T.125 7 part 10).
type MCSPDUType uint8

var mcsPDUNames = map[MCSPDUType]string{
	0: "plumbDomainIndication", 1: "erectDomainRequest", 2: "mergeChannelsRequest",
	3: "mergeChannelsConfirm", 4: "purgeChannelsIndication", 5: "mergeTokensRequest",
	6: "mergeTokensConfirm", 7: "purgeTokensIndication", 8: "disconnectProviderUltimatum",
	9: "rejectMCSPDUUltimatum", 10: "attachUserRequest", 11: "attachUserConfirm",
	12: "detachUserRequest", 13: "detachUserIndication", 14: "channelJoinRequest",
	15: "channelJoinConfirm", 16: "channelLeaveRequest", 17: "channelConveneRequest",
	18: "channelConveneConfirm", 19: "channelDisbandRequest", 20: "channelDisbandIndication",
	21: "channelAdmitRequest", 22: "channelAdmitIndication", 23: "channelExpelRequest",
	24: "channelExpelIndication", 25: "sendDataRequest", 26: "sendDataIndication",
	27: "uniformSendDataRequest", 28: "uniformSendDataIndication",
}

// String returns the T.125 alternative name, or "DomainMCSPDU(%d)".
func (t MCSPDUType) String() string { return specName(mcsPDUNames, t, "DomainMCSPDU(%d)") }

// The DomainMCSPDU choices a server reading client PDUs dispatches on.
const (
	MCSPDUErectDomainRequest          MCSPDUType = mcsErectDomainRequest
	MCSPDUDisconnectProviderUltimatum MCSPDUType = mcsDisconnectProviderUltimatum
	MCSPDUAttachUserRequest           MCSPDUType = mcsAttachUserRequest
	MCSPDUChannelJoinRequest          MCSPDUType = mcsChannelJoinRequest
	MCSPDUSendDataRequest             MCSPDUType = mcsSendDataRequest
	MCSPDUSendDataIndication          MCSPDUType = mcsSendDataIndication
)

// PeekMCSPDUType returns the DomainMCSPDU CHOICE of a PER-encoded domain
// PDU (the X.224 Data TPDU's user data).
func PeekMCSPDUType(b []byte) (MCSPDUType, error) {
	if len(b) == 0 {
		return 0, fmt.Errorf("mcs: %w: empty domain PDU", ErrMalformed)
	}
	return MCSPDUType(b[0] >> 2), nil
}

// ErectDomainRequest is T.125 Erect-Domain-Request (MS-RDPBCGR 2.2.1.5).
type ErectDomainRequest struct{ SubHeight, SubInterval uint32 }

// Marshal returns the PER encoding: 04, then each INTEGER as a length
// octet and its minimal big-endian value (04 01 00 01 00 for zeros).
func (m *ErectDomainRequest) Marshal() []byte {
	b := []byte{mcsErectDomainRequest << 2}
	b = appendPERUint(b, m.SubHeight)
	return appendPERUint(b, m.SubInterval)
}

// Unmarshal parses the PER encoding.
func (m *ErectDomainRequest) Unmarshal(b []byte) error {
	*m = ErectDomainRequest{}
	if len(b) < 1 || b[0]>>2 != mcsErectDomainRequest {
		return fmt.Errorf("mcs: %w: not an erectDomainRequest: % x", ErrMalformed, head(b))
	}
	r := perReader(b[1:])
	var err error
	if m.SubHeight, err = r.uint("subHeight"); err != nil {
		return err
	}
	if m.SubInterval, err = r.uint("subInterval"); err != nil {
		return err
	}
	return r.end("erectDomainRequest")
}

// AttachUserRequest is T.125 Attach-User-Request (MS-RDPBCGR 2.2.1.6): one
// octet, 0x28.
type AttachUserRequest struct{}

// Marshal returns the PER encoding.
func (AttachUserRequest) Marshal() []byte { return []byte{mcsAttachUserRequest << 2} }

// Unmarshal parses the PER encoding.
func (*AttachUserRequest) Unmarshal(b []byte) error {
	if len(b) != 1 || b[0]>>2 != mcsAttachUserRequest {
		return fmt.Errorf("mcs: %w: not an attachUserRequest: % x", ErrMalformed, head(b))
	}
	return nil
}

// AttachUserConfirm is T.125 Attach-User-Confirm (MS-RDPBCGR 2.2.1.7).
// Initiator is the user channel ID; HasInitiator is false when the server
// left it out (it does so on failure).
type AttachUserConfirm struct {
	Result       MCSResult
	HasInitiator bool
	Initiator    uint16
}

// Marshal returns the PER encoding.
func (m *AttachUserConfirm) Marshal() []byte {
	b := appendPERChoiceResult(nil, mcsAttachUserConfirm, m.HasInitiator, m.Result)
	if m.HasInitiator {
		b = appendPERUserID(b, m.Initiator)
	}
	return b
}

// Unmarshal parses the PER encoding.
func (m *AttachUserConfirm) Unmarshal(b []byte) error {
	*m = AttachUserConfirm{}
	r := perReader(b)
	var err error
	if m.HasInitiator, m.Result, err = r.choiceResult(mcsAttachUserConfirm, "attachUserConfirm"); err != nil {
		return err
	}
	if m.HasInitiator {
		if m.Initiator, err = r.userID("attachUserConfirm initiator"); err != nil {
			return err
		}
	}
	return r.end("attachUserConfirm")
}

// ChannelJoinRequest is T.125 Channel-Join-Request (MS-RDPBCGR 2.2.1.8).
type ChannelJoinRequest struct{ Initiator, ChannelID uint16 }

// Marshal returns the PER encoding: 38, initiator-1001 and channelId as
// big-endian 16-bit values.
func (m *ChannelJoinRequest) Marshal() []byte {
	b := []byte{mcsChannelJoinRequest << 2}
	b = appendPERUserID(b, m.Initiator)
	return binary.BigEndian.AppendUint16(b, m.ChannelID)
}

// Unmarshal parses the PER encoding.
func (m *ChannelJoinRequest) Unmarshal(b []byte) error {
	*m = ChannelJoinRequest{}
	if len(b) < 1 || b[0]>>2 != mcsChannelJoinRequest {
		return fmt.Errorf("mcs: %w: not a channelJoinRequest: % x", ErrMalformed, head(b))
	}
	r := perReader(b[1:])
	var err error
	if m.Initiator, err = r.userID("channelJoinRequest initiator"); err != nil {
		return err
	}
	if m.ChannelID, err = r.u16("channelJoinRequest channelId"); err != nil {
		return err
	}
	return r.end("channelJoinRequest")
}

// ChannelJoinConfirm is T.125 Channel-Join-Confirm (MS-RDPBCGR 2.2.1.9).
// HasChannelID is false when the server left channelId out (on failure).
type ChannelJoinConfirm struct {
	Result       MCSResult
	Initiator    uint16
	Requested    uint16
	HasChannelID bool
	ChannelID    uint16
}

// Marshal returns the PER encoding.
func (m *ChannelJoinConfirm) Marshal() []byte {
	b := appendPERChoiceResult(nil, mcsChannelJoinConfirm, m.HasChannelID, m.Result)
	b = appendPERUserID(b, m.Initiator)
	b = binary.BigEndian.AppendUint16(b, m.Requested)
	if m.HasChannelID {
		b = binary.BigEndian.AppendUint16(b, m.ChannelID)
	}
	return b
}

// Unmarshal parses the PER encoding.
func (m *ChannelJoinConfirm) Unmarshal(b []byte) error {
	*m = ChannelJoinConfirm{}
	r := perReader(b)
	var err error
	if m.HasChannelID, m.Result, err = r.choiceResult(mcsChannelJoinConfirm, "channelJoinConfirm"); err != nil {
		return err
	}
	if m.Initiator, err = r.userID("channelJoinConfirm initiator"); err != nil {
		return err
	}
	if m.Requested, err = r.u16("channelJoinConfirm requested"); err != nil {
		return err
	}
	if m.HasChannelID {
		if m.ChannelID, err = r.u16("channelJoinConfirm channelId"); err != nil {
			return err
		}
	}
	return r.end("channelJoinConfirm")
}

// DisconnectProviderUltimatum is T.125 Disconnect-Provider-Ultimatum
// (MS-RDPBCGR 2.2.2.3): 21 80 for rn-user-requested.
type DisconnectProviderUltimatum struct{ Reason MCSReason }

// Marshal returns the PER encoding: the CHOICE in six bits, then the
// three-bit Reason.
func (m *DisconnectProviderUltimatum) Marshal() []byte {
	r := m.Reason & 7
	return []byte{mcsDisconnectProviderUltimatum<<2 | byte(r>>1), byte(r&1) << 7}
}

// Unmarshal parses the PER encoding.
func (m *DisconnectProviderUltimatum) Unmarshal(b []byte) error {
	*m = DisconnectProviderUltimatum{}
	if len(b) != 2 || b[0]>>2 != mcsDisconnectProviderUltimatum || b[1]&0x7F != 0 {
		return fmt.Errorf("mcs: %w: not a disconnectProviderUltimatum: % x", ErrMalformed, head(b))
	}
	m.Reason = MCSReason((b[0]&3)<<1 | b[1]>>7)
	return nil
}

// SendData is T.125 Send-Data-Request (client to server) or
// Send-Data-Indication (server to client), which share one layout
// (MS-RDPBCGR 2.2.1.11 mcsSDrq, 2.2.1.12 mcsSDin).
type SendData struct {
	Indication   bool // sendDataIndication (26), else sendDataRequest (25)
	Initiator    uint16
	ChannelID    uint16
	Priority     uint8 // dataPriority: 0 top, 1 high, 2 medium, 3 low
	Segmentation uint8 // 0x2 begin | 0x1 end
	UserData     []byte
}

// Segmentation bits (T.125 7 part 1).
const (
	SegmentBegin = 0x2
	SegmentEnd   = 0x1
)

// Marshal returns the PER encoding; UserData beyond MaxMCSUserData is cut.
func (m *SendData) Marshal() []byte {
	choice := byte(mcsSendDataRequest)
	if m.Indication {
		choice = mcsSendDataIndication
	}
	ud := m.UserData[:min(len(m.UserData), MaxMCSUserData)]
	b := make([]byte, 0, 8+len(ud))
	b = append(b, choice<<2)
	b = appendPERUserID(b, m.Initiator)
	b = binary.BigEndian.AppendUint16(b, m.ChannelID)
	b = append(b, (m.Priority&3)<<6|(m.Segmentation&3)<<4)
	b = appendPERLength(b, len(ud))
	return append(b, ud...)
}

// Unmarshal parses a PER Send-Data-Request or -Indication. UserData
// aliases b.
func (m *SendData) Unmarshal(b []byte) error {
	*m = SendData{}
	if len(b) < 1 {
		return fmt.Errorf("mcs: %w: empty Send Data PDU", ErrMalformed)
	}
	switch b[0] >> 2 {
	case mcsSendDataRequest:
	case mcsSendDataIndication:
		m.Indication = true
	default:
		return fmt.Errorf("mcs: %w: %s, want sendDataRequest or sendDataIndication", ErrMalformed, MCSPDUType(b[0]>>2))
	}
	r := perReader(b[1:])
	var err error
	if m.Initiator, err = r.userID("Send Data initiator"); err != nil {
		return err
	}
	if m.ChannelID, err = r.u16("Send Data channelId"); err != nil {
		return err
	}
	f, err := r.u8("Send Data priority/segmentation")
	if err != nil {
		return err
	}
	m.Priority, m.Segmentation = f>>6, (f>>4)&3
	n, err := r.length("Send Data userData")
	if err != nil {
		return err
	}
	if n != len(r) {
		return fmt.Errorf("mcs: %w: Send Data userData length %d, %d bytes left", ErrMalformed, n, len(r))
	}
	m.UserData = r
	return nil
}
