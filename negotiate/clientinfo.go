package negotiate

import (
	"encoding/binary"
	"fmt"

	"github.com/rdpprobe/rdpprobe/internal/utf16le"
)

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

// TS_INFO_PACKET sizes (MS-RDPBCGR 2.2.1.11.1.1, 2.2.1.11.1.1.1).
const (
	maxInfoStringBytes     = 510 // UTF-16 bytes of one TS_INFO_PACKET string, terminator excluded
	timeZoneInformationLen = 172
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
		enc[i] = utf16le.Encode(f.val)
		if len(enc[i]) > maxInfoStringBytes {
			return nil, fmt.Errorf("clientinfo: %s is %d UTF-16 bytes, at most %d fit", f.name, len(enc[i]), maxInfoStringBytes)
		}
	}
	addr, dir := utf16le.Encode(c.ClientAddress), utf16le.Encode(c.ClientDir)
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
			s[i] = utf16le.Decode(v[:cb[i]])
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
// (unencrypted under TLS/CredSSP, and under Standard RDP Security at
// ENCRYPTION_LEVEL_NONE) and TS_INFO_PACKET. The result holds the
// password: clear it after sending.
func ClientInfoPDU(user, ioChannel uint16, info *ClientInfo) ([]byte, error) {
	return SecureClientInfoPDU(user, ioChannel, info, nil)
}

// SecureClientInfoPDU is ClientInfoPDU under Standard RDP Security: the
// TS_INFO_PACKET is signed and encrypted by sec (MS-RDPBCGR 2.2.1.11.1,
// SEC_INFO_PKT|SEC_ENCRYPT). A nil sec is ClientInfoPDU.
func SecureClientInfoPDU(user, ioChannel uint16, info *ClientInfo, sec *StandardSecurity) ([]byte, error) {
	pkt, err := info.Marshal()
	if err != nil {
		return nil, err
	}
	defer clear(pkt)
	var ud []byte
	if sec != nil {
		ud = sec.Seal(SecInfoPkt, pkt)
	} else {
		ud = BasicSecurityHeader(SecInfoPkt, pkt)
	}
	defer clear(ud)
	if len(ud) > MaxMCSUserData {
		return nil, fmt.Errorf("clientinfo: Client Info PDU of %d bytes does not fit one Send Data Request", len(ud))
	}
	sd := &SendData{Initiator: user, ChannelID: ioChannel, Priority: 1, Segmentation: SegmentBegin | SegmentEnd, UserData: ud}
	mcs := sd.Marshal()
	defer clear(mcs)
	return DataTPDU(mcs), nil
}
