package ntlm

import (
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/rdpprobe/rdpprobe/internal/utf16le"
)

// AvID is an AV_PAIR AvId (MS-NLMP 2.2.2.1).
type AvID uint16

// AvId values (MS-NLMP 2.2.2.1).
const (
	MsvAvEOL             AvID = 0
	MsvAvNbComputerName  AvID = 1
	MsvAvNbDomainName    AvID = 2
	MsvAvDNSComputerName AvID = 3
	MsvAvDNSDomainName   AvID = 4
	MsvAvDNSTreeName     AvID = 5
	MsvAvFlags           AvID = 6
	MsvAvTimestamp       AvID = 7
	MsvAvSingleHost      AvID = 8
	MsvAvTargetName      AvID = 9
	MsvAvChannelBindings AvID = 10
)

var avNames = map[AvID]string{
	MsvAvEOL:             "MsvAvEOL",
	MsvAvNbComputerName:  "MsvAvNbComputerName",
	MsvAvNbDomainName:    "MsvAvNbDomainName",
	MsvAvDNSComputerName: "MsvAvDnsComputerName",
	MsvAvDNSDomainName:   "MsvAvDnsDomainName",
	MsvAvDNSTreeName:     "MsvAvDnsTreeName",
	MsvAvFlags:           "MsvAvFlags",
	MsvAvTimestamp:       "MsvAvTimestamp",
	MsvAvSingleHost:      "MsvAvSingleHost",
	MsvAvTargetName:      "MsvAvTargetName",
	MsvAvChannelBindings: "MsvAvChannelBindings",
}

// String returns the spec name ("MsvAvDnsComputerName"), or "AvId(%d)".
func (id AvID) String() string {
	if n, ok := avNames[id]; ok {
		return n
	}
	return fmt.Sprintf("AvId(%d)", uint16(id))
}

// MsvAvFlags bits (MS-NLMP 2.2.2.1).
const (
	AvFlagConstrained        uint32 = 0x1 // account authentication is constrained
	AvFlagMICPresent         uint32 = 0x2 // the AUTHENTICATE_MESSAGE carries a MIC
	AvFlagUntrustedSPNSource uint32 = 0x4 // MsvAvTargetName came from an untrusted source
)

// AVPair is one AV_PAIR (MS-NLMP 2.2.2.1).
type AVPair struct {
	ID    AvID
	Value []byte
}

// AVPairs is an AV pair list without its MsvAvEOL terminator.
type AVPairs []AVPair

// ParseAVPairs parses an AV pair list up to MsvAvEOL; bytes after it are
// ignored. A list that ends without MsvAvEOL is accepted; a pair that runs
// past the buffer is not. Values are copies.
func ParseAVPairs(b []byte) (AVPairs, error) {
	var p AVPairs
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, errMalformed("AV_PAIR list", "%d trailing bytes, too short for an AV_PAIR header", len(b))
		}
		id := AvID(binary.LittleEndian.Uint16(b))
		n := int(binary.LittleEndian.Uint16(b[2:]))
		if id == MsvAvEOL {
			return p, nil
		}
		if 4+n > len(b) {
			return nil, errMalformed("AV_PAIR list", "%v: AvLen %d beyond the %d bytes left", id, n, len(b)-4)
		}
		p = append(p, AVPair{ID: id, Value: slices.Clone(b[4 : 4+n])})
		b = b[4+n:]
	}
	return p, nil
}

// Marshal encodes the list and terminates it with MsvAvEOL; MsvAvEOL
// entries inside the list are skipped.
func (p AVPairs) Marshal() []byte {
	n := 4
	for _, a := range p {
		n += 4 + len(a.Value)
	}
	b := make([]byte, 0, n)
	for _, a := range p {
		if a.ID == MsvAvEOL {
			continue
		}
		v := a.Value
		if len(v) > 0xFFFF {
			v = v[:0xFFFF]
		}
		b = binary.LittleEndian.AppendUint16(b, uint16(a.ID))
		b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
		b = append(b, v...)
	}
	return append(b, 0, 0, 0, 0)
}

// Get returns the value of the first pair with the given id.
func (p AVPairs) Get(id AvID) ([]byte, bool) {
	for _, a := range p {
		if a.ID == id {
			return a.Value, true
		}
	}
	return nil, false
}

// Set replaces the value of the first pair with the given id, or appends
// the pair.
func (p *AVPairs) Set(id AvID, value []byte) {
	for i := range *p {
		if (*p)[i].ID == id {
			(*p)[i].Value = value
			return
		}
	}
	*p = append(*p, AVPair{ID: id, Value: value})
}

// TargetInfo holds the AV pairs of a CHALLENGE (MS-NLMP 2.2.2.1).
type TargetInfo struct {
	NbComputerName, NbDomainName, DNSComputerName, DNSDomainName, DNSTreeName string
	Timestamp                                                                 time.Time // zero if MsvAvTimestamp absent
	Flags                                                                     uint32
	Raw                                                                       []byte // the AV pair list as sent
}

func (t *TargetInfo) empty() bool {
	return t.NbComputerName == "" && t.NbDomainName == "" && t.DNSComputerName == "" &&
		t.DNSDomainName == "" && t.DNSTreeName == "" && t.Timestamp.IsZero() && t.Flags == 0
}

// ParseTargetInfo parses a TargetInfo AV pair list. Names are UTF-16LE;
// a Flags or Timestamp value of the wrong size is ignored (still in Raw).
func ParseTargetInfo(b []byte) (TargetInfo, error) {
	p, err := ParseAVPairs(b)
	if err != nil {
		return TargetInfo{}, err
	}
	t := TargetInfo{Raw: slices.Clone(b)}
	for _, a := range p {
		switch a.ID {
		case MsvAvNbComputerName:
			t.NbComputerName = utf16le.Decode(a.Value)
		case MsvAvNbDomainName:
			t.NbDomainName = utf16le.Decode(a.Value)
		case MsvAvDNSComputerName:
			t.DNSComputerName = utf16le.Decode(a.Value)
		case MsvAvDNSDomainName:
			t.DNSDomainName = utf16le.Decode(a.Value)
		case MsvAvDNSTreeName:
			t.DNSTreeName = utf16le.Decode(a.Value)
		case MsvAvFlags:
			if len(a.Value) == 4 {
				t.Flags = binary.LittleEndian.Uint32(a.Value)
			}
		case MsvAvTimestamp:
			if len(a.Value) == 8 {
				t.Timestamp = FileTimeToTime(binary.LittleEndian.Uint64(a.Value))
			}
		}
	}
	return t, nil
}

// AVPairs builds the list from the fields (Raw is ignored), in the order
// Windows sends them; empty names and a zero Timestamp/Flags are left out.
func (t *TargetInfo) AVPairs() AVPairs {
	var p AVPairs
	for _, a := range []struct {
		id AvID
		s  string
	}{{MsvAvNbDomainName, t.NbDomainName}, {MsvAvNbComputerName, t.NbComputerName},
		{MsvAvDNSDomainName, t.DNSDomainName}, {MsvAvDNSComputerName, t.DNSComputerName},
		{MsvAvDNSTreeName, t.DNSTreeName}} {
		if a.s != "" {
			p = append(p, AVPair{ID: a.id, Value: utf16le.Encode(a.s)})
		}
	}
	if t.Flags != 0 {
		p = append(p, AVPair{ID: MsvAvFlags, Value: binary.LittleEndian.AppendUint32(nil, t.Flags)})
	}
	if !t.Timestamp.IsZero() {
		p = append(p, AVPair{ID: MsvAvTimestamp, Value: binary.LittleEndian.AppendUint64(nil, TimeToFileTime(t.Timestamp))})
	}
	return p
}

// FILETIME epoch, 1601-01-01 UTC, in Unix seconds (MS-DTYP 2.3.3).
const fileTimeEpoch = -11644473600

// FileTimeToTime converts a FILETIME (100 ns since 1601-01-01 UTC) to UTC.
func FileTimeToTime(ft uint64) time.Time {
	return time.Unix(fileTimeEpoch+int64(ft/1e7), int64(ft%1e7)*100).UTC()
}

// TimeToFileTime converts t to a FILETIME; times before 1601 give 0.
func TimeToFileTime(t time.Time) uint64 {
	s := t.Unix() - fileTimeEpoch
	if s < 0 {
		return 0
	}
	return uint64(s)*1e7 + uint64(t.Nanosecond())/100
}
