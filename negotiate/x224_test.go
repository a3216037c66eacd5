package negotiate

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// loadHex reads testdata/<name>.hex: hex digits, '#' lines are comments.
func loadHex(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name+".hex"))
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			sb.WriteString(strings.Join(strings.Fields(line), ""))
		}
	}
	b, err := hex.DecodeString(sb.String())
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

func TestConnectionConfirmRealServers(t *testing.T) {
	rsp := func(f NegotiationResponseFlags, p Protocol) ConnectionConfirm {
		return ConnectionConfirm{Response: &NegotiationResponse{Flags: f, SelectedProtocol: p}}
	}
	fail := func(c FailureCode) ConnectionConfirm { return ConnectionConfirm{Failure: &NegotiationFailure{Code: c}} }
	tests := []struct {
		file      string
		want      ConnectionConfirm
		identical bool // Marshal reproduces the server's bytes
	}{
		{"cc-freerdp-nla-rsp-hybrid", rsp(ExtendedClientDataSupported|DynVCGFXProtocolSupported, ProtocolHybrid), true},
		{"cc-freerdp-nla-fail-hybrid-required", fail(HybridRequiredByServer), true},
		{"cc-freerdp-tls-rsp-ssl", rsp(ExtendedClientDataSupported|DynVCGFXProtocolSupported, ProtocolSSL), true},
		{"cc-freerdp-tls-fail-ssl-required", fail(SSLRequiredByServer), true},
		{"cc-freerdp-rdp-rsp-rdp", rsp(ExtendedClientDataSupported|DynVCGFXProtocolSupported, ProtocolRDP), true},
		{"cc-freerdp-rdp-fail-ssl-not-allowed", fail(SSLNotAllowedByServer), true},
		{"cc-xrdp-rsp-rdp-for-hybrid", rsp(ExtendedClientDataSupported, ProtocolRDP), false}, // xrdp SRC-REF 0x1234
		{"cc-xrdp-rsp-ssl", rsp(ExtendedClientDataSupported, ProtocolSSL), false},
		{"cc-xrdp-no-negotiation", ConnectionConfirm{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw := loadHex(t, tt.file)
			pdu, err := ReadTPKT(bytes.NewReader(raw), 1024)
			if err != nil {
				t.Fatal(err)
			}
			var got ConnectionConfirm
			if err := got.Unmarshal(pdu); err != nil {
				t.Fatal(err)
			}
			if !equalCC(&got, &tt.want) {
				t.Fatalf("got %s, want %s", ccString(&got), ccString(&tt.want))
			}
			out := got.Marshal()
			if tt.identical && !bytes.Equal(out, raw) {
				t.Errorf("Marshal = %x, server sent %x", out, raw)
			}
			var again ConnectionConfirm
			if err := again.Unmarshal(out[4:]); err != nil || !equalCC(&again, &got) {
				t.Errorf("round trip: %v, %s", err, ccString(&again))
			}
		})
	}
}

func equalCC(a, b *ConnectionConfirm) bool {
	if (a.Response == nil) != (b.Response == nil) || (a.Failure == nil) != (b.Failure == nil) {
		return false
	}
	return (a.Response == nil || *a.Response == *b.Response) && (a.Failure == nil || *a.Failure == *b.Failure)
}

func ccString(c *ConnectionConfirm) string {
	switch {
	case c.Failure != nil:
		return "failure " + c.Failure.Code.String()
	case c.Response != nil:
		return "response " + c.Response.Flags.String() + " " + c.Response.SelectedProtocol.String()
	}
	return "no negotiation"
}

func TestConnectionConfirmMalformed(t *testing.T) {
	tests := []struct {
		name, x224 string
		want       error
	}{
		{"empty", "", ErrMalformed},
		{"short header", "06d00000", ErrMalformed},
		{"LI too big", "0fd000000000000203080002000000", ErrMalformed},
		{"LI too small", "0dd000000000000203080002000000", ErrMalformed},
		{"connection request code", "0ee000000000000203080002000000", ErrMalformed},
		{"7 negotiation bytes", "0dd0000000000002030800020000", ErrMalformed},
		{"9 negotiation bytes", "0fd00000000000020308000200000000", ErrMalformed},
		{"RDP_NEG_RSP length 9", "0ed000000000000203090002000000", ErrMalformed},
		{"RDP_NEG_FAILURE length 4", "0ed000000000000300040005000000", ErrMalformed},
		{"RDP_NEG_REQ in confirm", "0ed000000000000100080003000000", ErrMalformed},
		{"unknown type", "0ed000000000000400080003000000", ErrMalformed},
		{"disconnect request", "06800000123401", ErrDisconnectRequest},
		{"disconnect request truncated", "0480000012", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cc ConnectionConfirm
			err := cc.Unmarshal(unhex(t, tt.x224))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "x224: ") {
				t.Errorf("error %q does not name the step", err)
			}
			if cc.Response != nil || cc.Failure != nil {
				t.Errorf("fields set on error: %s", ccString(&cc))
			}
		})
	}
}

func TestConnectionRequestRealClient(t *testing.T) {
	tests := []struct {
		file string
		want ConnectionRequest
	}{
		{"cr-xfreerdp-nla", ConnectionRequest{Cookie: "alice", RequestedProtocols: ProtocolSSL | ProtocolHybrid}},
		{"cr-xfreerdp-tls", ConnectionRequest{Cookie: "bob", RequestedProtocols: ProtocolSSL}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw := loadHex(t, tt.file)
			var got ConnectionRequest
			if err := got.Unmarshal(raw[4:]); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			if out := tt.want.Marshal(); !bytes.Equal(out, raw) {
				t.Errorf("Marshal = %x\nclient sent %x", out, raw)
			}
		})
	}
}

func TestConnectionRequestRoundTrip(t *testing.T) {
	long := strings.Repeat("u", 300)
	tests := []struct {
		name       string
		in, want   ConnectionRequest
		wantPacket string // whole TPKT packet, if checked
	}{
		{"no cookie", ConnectionRequest{RequestedProtocols: ProtocolHybrid | ProtocolHybridEx}, ConnectionRequest{RequestedProtocols: ProtocolHybrid | ProtocolHybridEx},
			"030000130ee00000000000010008000a000000"},
		{"no negotiation", ConnectionRequest{NoNegotiation: true}, ConnectionRequest{NoNegotiation: true}, "0300000b06e00000000000"},
		{"cookie no negotiation", ConnectionRequest{Cookie: "x", NoNegotiation: true}, ConnectionRequest{Cookie: "x", NoNegotiation: true}, ""},
		{"cookie cut at CRLF", ConnectionRequest{Cookie: "eve\r\nX: y", RequestedProtocols: ProtocolSSL}, ConnectionRequest{Cookie: "eve", RequestedProtocols: ProtocolSSL}, ""},
		{"restricted admin", ConnectionRequest{Flags: RestrictedAdminModeRequired, RequestedProtocols: ProtocolHybrid}, ConnectionRequest{Flags: RestrictedAdminModeRequired, RequestedProtocols: ProtocolHybrid}, ""},
		{"correlation info", ConnectionRequest{Flags: CorrelationInfoPresent, RequestedProtocols: ProtocolSSL, CorrelationID: [16]byte{1, 2, 3, 15: 16}},
			ConnectionRequest{Flags: CorrelationInfoPresent, RequestedProtocols: ProtocolSSL, CorrelationID: [16]byte{1, 2, 3, 15: 16}}, ""},
		{"long cookie truncated", ConnectionRequest{Cookie: long, RequestedProtocols: ProtocolSSL}, ConnectionRequest{Cookie: long[:221], RequestedProtocols: ProtocolSSL}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := tt.in.Marshal()
			if tt.wantPacket != "" && hex.EncodeToString(out) != tt.wantPacket {
				t.Errorf("Marshal = %x, want %s", out, tt.wantPacket)
			}
			pdu, err := ReadTPKT(bytes.NewReader(out), 1024)
			if err != nil {
				t.Fatal(err)
			}
			var got ConnectionRequest
			if err := got.Unmarshal(pdu); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestConnectionRequestUnmarshal(t *testing.T) {
	tests := []struct {
		name, x224 string
		want       ConnectionRequest
		err        error
	}{
		// A routing token (MS-RDPBCGR 2.2.1.1 routingToken) is a cookie line without mstshash.
		{"routing token", "20e00000000000" + hex.EncodeToString([]byte("Cookie: msts=1.2\r\n")) + "0100080001000000",
			ConnectionRequest{RequestedProtocols: ProtocolSSL}, nil},
		{"correlation info skipped", "32e00000000000" + "0108080003000000" + "06002400" + strings.Repeat("ab", 16) + strings.Repeat("00", 16),
			ConnectionRequest{Flags: CorrelationInfoPresent, RequestedProtocols: ProtocolSSL | ProtocolHybrid, CorrelationID: [16]byte{0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab}}, nil},
		{"cookie without CRLF", "0ee00000000000" + hex.EncodeToString([]byte("Cookie: a")), ConnectionRequest{}, ErrMalformed},
		{"flag without correlation info", "0ee000000000000108080003000000", ConnectionRequest{}, ErrMalformed},
		{"trailing byte", "0fe00000000000010008000300000000", ConnectionRequest{}, ErrMalformed},
		{"RDP_NEG_REQ length 12", "0ee0000000000001000c0003000000", ConnectionRequest{}, ErrMalformed},
		{"garbage instead of RDP_NEG_REQ", "0ae0000000000041424344", ConnectionRequest{}, ErrMalformed},
		{"confirm code", "0ed000000000000100080003000000", ConnectionRequest{}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got ConnectionRequest
			err := got.Unmarshal(unhex(t, tt.x224))
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == nil && got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestReadTPKT(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		max     int
		payload string
		err     error  // errors.Is target
		looks   string // when a *NotTPKTError is expected
	}{
		{"ok", "0300000b06d00000123400", 64, "06d00000123400", nil, ""},
		{"ok, followed by more", "0300000506" + "0300", 64, "06", nil, ""},
		{"nothing", "", 64, "", io.EOF, ""},
		{"EOF in header", "030000", 64, "", io.ErrUnexpectedEOF, ""},
		{"EOF in payload", "0300000b06d000", 64, "", io.ErrUnexpectedEOF, ""},
		{"EOF at payload", "0300000b", 64, "", io.ErrUnexpectedEOF, ""},
		{"reserved byte", "0301000b06d00000123400", 64, "", ErrMalformed, ""},
		{"length 4", "03000004", 64, "", ErrMalformed, ""},
		{"length over max", "0300004100", 64, "", ErrMalformed, ""},
		{"length at max", "03000008" + "01020304", 8, "01020304", nil, ""},
		{"HTTP", hex.EncodeToString([]byte("HTTP/1.1 400 Bad Request\r\n")), 64, "", ErrMalformed, "an HTTP response"},
		{"SSH", hex.EncodeToString([]byte("SSH-2.0-OpenSSH_9.6\r\n")), 64, "", ErrMalformed, "an SSH banner"},
		{"TLS alert", "150301000202", 64, "", ErrMalformed, "a TLS alert"},
		{"TLS handshake", "160303007a02", 64, "", ErrMalformed, "a TLS handshake record"},
		{"SMB2", "fe534d4240", 64, "", ErrMalformed, "SMB"},
		{"SMTP", hex.EncodeToString([]byte("220 mail ESMTP")), 64, "", ErrMalformed, `printable text "220 "`},
		{"binary", "00000000", 64, "", ErrMalformed, "binary 00000000"},
		{"one byte then EOF", "48", 64, "", ErrMalformed, `printable text "H"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadTPKT(bytes.NewReader(unhex(t, tt.in)), tt.max)
			if tt.err == nil {
				if err != nil || hex.EncodeToString(got) != tt.payload {
					t.Fatalf("got %x, %v; want %s", got, err, tt.payload)
				}
				return
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			var nt *NotTPKTError
			if errors.As(err, &nt) != (tt.looks != "") {
				t.Fatalf("NotTPKTError = %v, want looks %q", err, tt.looks)
			}
			if nt != nil {
				if got := nt.Looks(); got != tt.looks {
					t.Errorf("Looks() = %q, want %q", got, tt.looks)
				}
				if len(nt.First) == 0 || len(nt.First) > 4 {
					t.Errorf("First = %x", nt.First)
				}
				if !strings.Contains(nt.Error(), tt.looks) {
					t.Errorf("Error() = %q lacks %q", nt.Error(), tt.looks)
				}
			}
		})
	}
	if _, err := ReadTPKT(bytes.NewReader(nil), 64); err != io.EOF {
		t.Errorf("empty reader: err = %v, want io.EOF itself", err)
	}
}

func TestAppendTPKT(t *testing.T) {
	if got := hex.EncodeToString(AppendTPKT([]byte{0xff}, []byte{1, 2})); got != "ff030000060102" {
		t.Errorf("AppendTPKT = %s", got)
	}
}

func TestProtocolString(t *testing.T) {
	tests := []struct {
		p    Protocol
		want string
	}{
		// requestedProtocols bits of MS-RDPBCGR 2.2.1.1.1, not the constants.
		{0x00, "PROTOCOL_RDP"},
		{0x01, "PROTOCOL_SSL"},
		{0x02, "PROTOCOL_HYBRID"},
		{0x03, "PROTOCOL_SSL|PROTOCOL_HYBRID"},
		{0x0B, "PROTOCOL_SSL|PROTOCOL_HYBRID|PROTOCOL_HYBRID_EX"},
		{0x14, "PROTOCOL_RDSTLS|PROTOCOL_RDSAAD"},
		{0x101, "PROTOCOL_SSL|0x00000100"},
		{0x80000000, "0x80000000"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("Protocol(%#x).String() = %q, want %q", uint32(tt.p), got, tt.want)
		}
	}
}

func TestFailureCodeString(t *testing.T) {
	// Keyed by the numbers of MS-RDPBCGR 2.2.1.2.2, not the package's
	// constants: a constant with the wrong value must fail here.
	for v, want := range map[uint32]string{
		1:          "SSL_REQUIRED_BY_SERVER",
		2:          "SSL_NOT_ALLOWED_BY_SERVER",
		3:          "SSL_CERT_NOT_ON_SERVER",
		4:          "INCONSISTENT_FLAGS",
		5:          "HYBRID_REQUIRED_BY_SERVER",
		6:          "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER",
		0:          "FAILURE_CODE_0x00000000",
		0xdeadbeef: "FAILURE_CODE_0xDEADBEEF",
	} {
		if got := FailureCode(v).String(); got != want {
			t.Errorf("FailureCode(%d) = %q, want %q", v, got, want)
		}
	}
	f := &NegotiationFailure{Code: FailureCode(5)}
	if got, want := f.Error(), "x224: server refused negotiation: HYBRID_REQUIRED_BY_SERVER (5)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestNegotiationResponseFlagsString(t *testing.T) {
	for f, want := range map[NegotiationResponseFlags]string{
		0:    "0",
		0x03: "EXTENDED_CLIENT_DATA_SUPPORTED|DYNVC_GFX_PROTOCOL_SUPPORTED",
		0x1c: "NEGRSP_FLAG_RESERVED|RESTRICTED_ADMIN_MODE_SUPPORTED|REDIRECTED_AUTHENTICATION_MODE_SUPPORTED",
		0x81: "EXTENDED_CLIENT_DATA_SUPPORTED|0x80",
	} {
		if got := f.String(); got != want {
			t.Errorf("flags %#x = %q, want %q", uint8(f), got, want)
		}
	}
}
