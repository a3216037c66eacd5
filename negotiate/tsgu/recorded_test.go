package tsgu

import (
	"bytes"
	"reflect"
	"testing"
)

// TestParseRecorded parses packets recorded on the wire: xfreerdp 2.11's
// requests through rdptest's gateway emulator, each a file in testdata.
// (The responses' bytes are the emulator's own, so the table test in
// tsgu_test.go builds them by hand from the spec instead.)
func TestParseRecorded(t *testing.T) {
	for _, tc := range []struct {
		file string
		want Packet
	}{
		{"xfreerdp-handshake-request", &HandshakeRequest{VersionMajor: 1}},
		{"xfreerdp-tunnel-create", &TunnelCreate{Capabilities: CapQuarSOH | CapMessagingConsentSign | CapMessagingServiceMsg}},
		{"xfreerdp-tunnel-auth", &TunnelAuth{ClientName: "vm"}},
		{"xfreerdp-channel-create", &ChannelCreate{Resources: []string{"127.0.0.1"}, Port: 33891, Protocol: ProtocolRDP}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b := loadHex(t, tc.file)
			p, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p, tc.want) {
				t.Fatalf("got %+v, want %+v", p, tc.want)
			}
			if m := p.Marshal(); !bytes.Equal(m, b) {
				t.Errorf("Marshal = %x, recorded %x", m, b)
			}
		})
	}
}
