package tsgu

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rdpprobe/rdpprobe/negotiate"
)

// loadHex reads testdata/NAME.hex: hex digits, "#" comments and white
// space ignored.
func loadHex(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name+".hex"))
	if err != nil {
		t.Fatal(err)
	}
	var digits strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		line, _, _ = strings.Cut(line, "#")
		digits.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(digits.String())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		hex  string
		want Packet
		err  string
	}{
		{"handshake response", "0200 0000 1200 0000 00000000 01 00 0000 0000",
			&HandshakeResponse{VersionMajor: 1}, ""},
		{"handshake response error", "0200 0000 1200 0000 E8590080 01 00 0000 0000",
			&HandshakeResponse{ErrorCode: 0x800059E8, VersionMajor: 1}, ""},
		{"tunnel response with id, caps and consent", "0500 0000 2600 0000 0000 00000000 1300 0000 0a000000 02000000 0c00 48006900 2100 0000 0000",
			nil, "needs"},
		{"tunnel response with id and caps", "0500 0000 1a00 0000 0000 00000000 0300 0000 0a000000 02000000",
			&TunnelResponse{StatusCode: 0, FieldsPresent: 3, TunnelID: 10, Capabilities: CapIdleTimeout}, ""},
		{"tunnel response consent", "0500 0000 1c00 0000 0000 00000000 1000 0000 0800 48006900 2100 0000",
			&TunnelResponse{FieldsPresent: TunnelResponseFieldConsentMsg, ConsentMessage: "Hi!"}, ""},
		{"tunnel auth response redir and timeout", "0700 0000 1800 0000 00000000 0300 0000 00000040 1e000000",
			&TunnelAuthResponse{FieldsPresent: 3, RedirFlags: 0x40000000, IdleTimeout: 30}, ""},
		{"tunnel auth response CAP denied", "0700 0000 1000 0000 DB590780 0000 0000",
			&TunnelAuthResponse{ErrorCode: EProxyNAPAccessDenied}, ""},
		{"channel response with id", "0900 0000 1400 0000 00000000 0100 0000 01000000",
			&ChannelResponse{FieldsPresent: 1, ChannelID: 1}, ""},
		{"channel response udp", "0900 0000 1b00 0000 00000000 0700 0000 01000000 8d0d 0300 aabbcc",
			&ChannelResponse{FieldsPresent: 7, ChannelID: 1, UDPPort: 3469, AuthnCookie: []byte{0xaa, 0xbb, 0xcc}}, ""},
		{"channel response RAP denied", "0900 0000 1000 0000 DA590780 0000 0000",
			&ChannelResponse{ErrorCode: EProxyRAPAccessDenied}, ""},
		{"data", "0a00 0000 0f00 0000 0600 0300000b06", nil, "needs"},
		{"data 4", "0a00 0000 0e00 0000 0400 03000013", &Data{Data: []byte{3, 0, 0, 0x13}}, ""},
		{"keepalive", "0d00 0000 0800 0000", &Keepalive{}, ""},
		{"service message", "0b00 0000 1000 0000 0600 4f004b000000", &ServiceMessage{Message: "OK"}, ""},
		{"reauth", "0c00 0000 1000 0000 0102030405060708", &ReauthMessage{Context: 0x0807060504030201}, ""},
		{"close channel", "1000 0000 0c00 0000 00000000", &Close{}, ""},
		{"close channel response with rdpgw's extra", "1100 0000 1400 0000 00000000 0100 0000 01000000", &Close{Response: true}, ""},
		{"unknown type", "4200 0000 0a00 0000 abcd", &Unknown{Type: 0x42, Body: []byte{0xab, 0xcd}}, ""},
		{"short header", "0200 0000 12", nil, "header of 5 bytes"},
		{"length below header", "0200 0000 0400 0000", nil, "shorter than its header"},
		{"length beyond bytes", "0d00 0000 0900 0000", nil, "only 8 bytes"},
		{"odd string", "0b00 0000 0d00 0000 0300 4f004b", nil, "not UTF-16"},
		{"channel create without names", "0800 0000 1000 0000 00 00 8d0d 0300 0000", nil, "names no resource"},
		{"channel create with 255 names", "0800 0000 0e00 0000 ff 00 8d0d 0300", nil, "more than 32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := unhex(t, tc.hex)
			p, err := Parse(b)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, negotiate.ErrMalformed) {
					t.Fatalf("err = %v, want one with %q wrapping ErrMalformed", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p, tc.want) {
				t.Fatalf("got %#v, want %#v", p, tc.want)
			}
			again, err := Parse(p.Marshal())
			if err != nil || !reflect.DeepEqual(again, p) {
				t.Fatalf("round trip: %#v, %v", again, err)
			}
		})
	}
}

func TestReadPacket(t *testing.T) {
	two := append((&Keepalive{}).Marshal(), (&Data{Data: []byte("hello")}).Marshal()...)
	r := bytes.NewReader(two)
	for _, want := range []PacketType{TypeKeepalive, TypeData} {
		b, err := ReadPacket(r, 1024)
		if err != nil {
			t.Fatal(err)
		}
		if h, _ := ParseHeader(b); h.Type != want {
			t.Fatalf("type %v, want %v", h.Type, want)
		}
	}
	if _, err := ReadPacket(r, 1024); err != io.EOF {
		t.Fatalf("at the end: %v, want EOF", err)
	}
	if _, err := ReadPacket(bytes.NewReader(unhex(t, "0a000000ffffff7f")), 1<<16); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a 2 GiB packet: %v", err)
	}
	if _, err := ReadPacket(bytes.NewReader(unhex(t, "0a0000000e000000")), 1<<16); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a packet cut short: %v", err)
	}
}

func TestHResult(t *testing.T) {
	for _, tc := range []struct {
		h      HResult
		s      string
		failed bool
	}{
		{OK, "S_OK (0x00000000)", false},
		{EProxyNAPAccessDenied, "E_PROXY_NAP_ACCESSDENIED (0x800759DB)", true},
		{EProxyRAPAccessDenied, "E_PROXY_RAP_ACCESSDENIED (0x800759DA)", true},
		{0x000059DD, "E_PROXY_TS_CONNECTFAILED (0x000059DD)", true},
		{EProxyMaxConnectionsReached, "E_PROXY_MAXCONNECTIONSREACHED (0x000059E6)", true},
		{0x800759E6, "E_PROXY_MAXCONNECTIONSREACHED (0x800759E6)", true},
		{0x80070005, "ERROR_ACCESS_DENIED (0x80070005)", true},
		{0x80090302, "0x80090302", true},
		{0x00001234, "0x00001234", false},
	} {
		if got := tc.h.String(); got != tc.s {
			t.Errorf("%08X: String = %q, want %q", uint32(tc.h), got, tc.s)
		}
		if got := tc.h.Failed(); got != tc.failed {
			t.Errorf("%v: Failed = %v", tc.h, got)
		}
	}
	if !HResult(0x000059DD).Is(EProxyTSConnectFailed) || !EProxyTSConnectFailed.Is(0x000059DD) {
		t.Error("0x000059DD is E_PROXY_TS_CONNECTFAILED")
	}
	if HResult(0x800959DD).Is(EProxyTSConnectFailed) {
		t.Error("another facility's 0x59DD is not E_PROXY_TS_CONNECTFAILED")
	}
}

func TestStringsAreCut(t *testing.T) {
	long := strings.Repeat("x", 40000)
	p := &ServiceMessage{Message: long}
	var again ServiceMessage
	if err := again.Unmarshal(p.Marshal()); err != nil {
		t.Fatal(err)
	}
	if len(again.Message) != 0x7FFE {
		t.Fatalf("a 40000-character message comes back with %d characters, want %d", len(again.Message), 0x7FFE)
	}
}

func TestDescribe(t *testing.T) {
	for b, want := range map[string]string{
		string((&ChannelResponse{ErrorCode: EProxyRAPAccessDenied}).Marshal()): "PKT_TYPE_CHANNEL_RESPONSE: E_PROXY_RAP_ACCESSDENIED (0x800759DA)",
		string((&TunnelAuth{ClientName: "pc"}).Marshal()):                      `PKT_TYPE_TUNNEL_AUTH: client "pc"`,
		"\x0b\x00\x00\x00\x0d\x00\x00\x00\x03\x00O\x00K":                       "PKT_TYPE_SERVICE_MESSAGE (malformed)",
	} {
		if got := Describe([]byte(b)); got != want {
			t.Errorf("Describe = %q, want %q", got, want)
		}
	}
}
