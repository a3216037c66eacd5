package negotiate

import (
	"encoding/binary"
	"fmt"
)

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

var shareControlPDUTypeNames = map[ShareControlPDUType]string{
	PDUTypeDemandActive:   "PDUTYPE_DEMANDACTIVEPDU",
	PDUTypeConfirmActive:  "PDUTYPE_CONFIRMACTIVEPDU",
	PDUTypeDeactivateAll:  "PDUTYPE_DEACTIVATEALLPDU",
	PDUTypeData:           "PDUTYPE_DATAPDU",
	PDUTypeServerRedirect: "PDUTYPE_SERVER_REDIR_PKT",
}

// String returns the spec name, or PDUTYPE_0x%X.
func (t ShareControlPDUType) String() string {
	return specName(shareControlPDUTypeNames, t, "PDUTYPE_0x%X")
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
	return specName(shareDataPDUTypeNames, t, "PDUTYPE2_0x%02X")
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
