package ntlm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/internal/utf16le"
)

func TestChallengeUnmarshal(t *testing.T) {
	for _, tc := range []struct {
		name       string
		raw        []byte
		flags      NegotiateFlags
		targetName string
		want       TargetInfo // Raw not compared
		version    string     // "" for none
		challenge  string
	}{
		{
			name: "challenge-ws2019", raw: loadHex(t, "challenge-ws2019"),
			flags: 0xe2898235, targetName: "CORP",
			want: TargetInfo{NbDomainName: "CORP", NbComputerName: "RDS01", DNSDomainName: "corp.example.com",
				DNSComputerName: "rds01.corp.example.com", DNSTreeName: "corp.example.com",
				Timestamp: time.Date(2024, 3, 1, 12, 0, 0, 123456700, time.UTC)},
			version: "10.0.17763", challenge: "1122334455667788",
		},
		{
			name: "challenge-no-version", raw: loadHex(t, "challenge-no-version"),
			flags: 0x008a8235, targetName: "OLDBOX",
			want:      TargetInfo{NbDomainName: "WORKGROUP", NbComputerName: "OLDBOX"},
			challenge: "0102030405060708",
		},
		{
			name: "challenge-freerdp", raw: loadHex(t, "challenge-freerdp"),
			flags: 0xe2888297, targetName: "VM",
			want: TargetInfo{NbDomainName: "VM", NbComputerName: "VM", DNSDomainName: "vm", DNSComputerName: "vm",
				Timestamp: FileTimeToTime(0x01dd7ad989d65580)},
			version: "6.1.7601", challenge: "dad2d5c158133a3c",
		},
		{
			name: "spec 4.2.4.3", raw: unhex(t, specChallengeHex),
			flags: 0xe28a8233, targetName: "Server",
			want:    TargetInfo{NbDomainName: "Domain", NbComputerName: "Server"},
			version: "6.0.6000", challenge: "0123456789abcdef",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m ChallengeMessage
			if err := m.Unmarshal(tc.raw); err != nil {
				t.Fatal(err)
			}
			if m.Flags != tc.flags {
				t.Errorf("Flags = %#x, want %#x", uint32(m.Flags), uint32(tc.flags))
			}
			if m.TargetName != tc.targetName {
				t.Errorf("TargetName = %q, want %q", m.TargetName, tc.targetName)
			}
			if got := unhex(t, tc.challenge); !bytes.Equal(m.ServerChallenge[:], got) {
				t.Errorf("ServerChallenge = %x", m.ServerChallenge)
			}
			got := m.TargetInfo
			if len(got.Raw) == 0 {
				t.Error("TargetInfo.Raw is empty")
			}
			got.Raw = nil
			if !got.Timestamp.Equal(tc.want.Timestamp) {
				t.Errorf("Timestamp = %v, want %v", got.Timestamp, tc.want.Timestamp)
			}
			got.Timestamp, tc.want.Timestamp = time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("TargetInfo = %+v\nwant %+v", got, tc.want)
			}
			switch {
			case tc.version == "" && m.Version != nil:
				t.Errorf("Version = %v, want none", m.Version)
			case tc.version != "" && (m.Version == nil || m.Version.String() != tc.version):
				t.Errorf("Version = %v, want %s", m.Version, tc.version)
			}
			// Marshal gives the same bytes back.
			if again := m.Marshal(); !bytes.Equal(again, tc.raw) {
				t.Errorf("Marshal\n got %x\nwant %x", again, tc.raw)
			}
		})
	}
}

func TestUnmarshalRejects(t *testing.T) {
	ch := loadHex(t, "challenge-ws2019")
	set := func(b []byte, at int, v uint32) []byte {
		b = bytes.Clone(b)
		binary.LittleEndian.PutUint32(b[at:], v)
		return b
	}
	auth := unhex(t, specAuthenticateHex)
	for _, tc := range []struct {
		name string
		b    []byte
		msg  interface{ Unmarshal([]byte) error }
	}{
		{"empty", nil, &ChallengeMessage{}},
		{"short", ch[:31], &ChallengeMessage{}},
		{"bad signature", append([]byte("NTLMSSX\x00"), ch[8:]...), &ChallengeMessage{}},
		{"wrong type", set(ch, 8, 3), &ChallengeMessage{}},
		{"target name offset beyond", set(ch, 16, 0xFFFFFFF0), &ChallengeMessage{}},
		{"target info length beyond", set(ch, 40, 0x0200_0200), &ChallengeMessage{}},
		{"target info AV pair overrun", func() []byte {
			b := bytes.Clone(ch)
			// First AV pair (NbDomainName) claims 0x200 bytes.
			off := binary.LittleEndian.Uint32(b[44:])
			binary.LittleEndian.PutUint16(b[off+2:], 0x200)
			return b
		}(), &ChallengeMessage{}},
		{"authenticate NT offset beyond", set(auth, 24, 0x7FFFFFFF), &AuthenticateMessage{}},
		{"authenticate short", auth[:63], &AuthenticateMessage{}},
		{"negotiate as authenticate", (&Client{}).Negotiate(), &AuthenticateMessage{}},
		{"negotiate short", (&Client{}).Negotiate()[:31], &NegotiateMessage{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.msg.Unmarshal(tc.b)
			if !errors.Is(err, ErrMalformed) || !strings.HasPrefix(err.Error(), "ntlm: ") {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestNegotiateBytes(t *testing.T) {
	got := (&Client{}).Negotiate()
	// Flags 0xe2088235, empty Domain/Workstation at offset 40, Version 10.0.20348 rev 15.
	want := unhex(t, "4e544c4d53535000 01000000 358208e2 0000000028000000 0000000028000000 0a007c4f0000000f")
	if !bytes.Equal(got, want) {
		t.Fatalf("NEGOTIATE\n got %x\nwant %x", got, want)
	}
	var m NegotiateMessage
	if err := m.Unmarshal(got); err != nil {
		t.Fatal(err)
	}
	if m.Flags != 0xE2088235 || m.Version == nil || m.Version.String() != "10.0.20348" {
		t.Fatalf("parsed %+v", m)
	}
}

func TestFlagsString(t *testing.T) {
	got := NegotiateFlags(0x80000235 | 0x4000000).String()
	want := "NTLMSSP_NEGOTIATE_UNICODE|NTLMSSP_REQUEST_TARGET|NTLMSSP_NEGOTIATE_SIGN|NTLMSSP_NEGOTIATE_SEAL|NTLMSSP_NEGOTIATE_NTLM|0x04000000|NTLMSSP_NEGOTIATE_56"
	if got != want {
		t.Errorf("String() = %s", got)
	}
	if NegotiateFlags(0).String() != "0" {
		t.Error("zero flags")
	}
}

func TestFileTime(t *testing.T) {
	// 2024-03-01T12:00:00Z is 133537680000000000 (MS-DTYP 2.3.3 epoch 1601).
	if ft := TimeToFileTime(testNow); ft != 133537680000000000 {
		t.Errorf("TimeToFileTime = %d", ft)
	}
	if tm := FileTimeToTime(133537680000000001); !tm.Equal(testNow.Add(100)) || tm.Location() != time.UTC {
		t.Errorf("FileTimeToTime = %v", tm)
	}
	if TimeToFileTime(time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)) != 0 {
		t.Error("pre-1601 time")
	}
	FileTimeToTime(^uint64(0)) // must not panic
}

func TestAVPairs(t *testing.T) {
	p := AVPairs{{MsvAvNbDomainName, utf16le.Encode("CORP")}}
	p.Set(MsvAvFlags, []byte{2, 0, 0, 0})
	p.Set(MsvAvNbDomainName, utf16le.Encode("X"))
	b := p.Marshal()
	want := unhex(t, "02000200 5800 06000400 02000000 00000000")
	if !bytes.Equal(b, want) {
		t.Fatalf("Marshal = %x", b)
	}
	// Bytes after MsvAvEOL are ignored; a list without EOL is accepted.
	q, err := ParseAVPairs(append(bytes.Clone(b), 0xde, 0xad))
	if err != nil || len(q) != 2 {
		t.Fatalf("Parse = %v, %v", q, err)
	}
	if q, err := ParseAVPairs(b[:len(b)-4]); err != nil || len(q) != 2 {
		t.Fatalf("Parse without EOL = %v, %v", q, err)
	}
	for _, bad := range [][]byte{b[:3], {2, 0, 9, 0, 1}} {
		if _, err := ParseAVPairs(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseAVPairs(%x) err = %v", bad, err)
		}
	}
	// Invalid UTF-16 (lone surrogate, odd length) decodes without panicking.
	ti, err := ParseTargetInfo(unhex(t, "01000500 00d8410042 00000000"))
	if err != nil || ti.NbComputerName != "\uFFFDA" {
		t.Errorf("ParseTargetInfo = %q, %v", ti.NbComputerName, err)
	}
	// AvId values from MS-NLMP 2.2.2.1, not the constants.
	for v, want := range []string{"MsvAvEOL", "MsvAvNbComputerName", "MsvAvNbDomainName", "MsvAvDnsComputerName",
		"MsvAvDnsDomainName", "MsvAvDnsTreeName", "MsvAvFlags", "MsvAvTimestamp", "MsvAvSingleHost",
		"MsvAvTargetName", "MsvAvChannelBindings"} {
		if got := AvID(v).String(); got != want {
			t.Errorf("AvID(%d) = %q, want %q", v, got, want)
		}
	}
	if AvID(42).String() != "AvId(42)" {
		t.Error("AvID.String")
	}
}
