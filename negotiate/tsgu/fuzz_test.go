package tsgu

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

func addPacketSeeds(f *testing.F) {
	for _, p := range []Packet{
		&HandshakeRequest{VersionMajor: 1}, &HandshakeResponse{VersionMajor: 1, ErrorCode: EProxyCapabilityMismatch},
		&TunnelCreate{Capabilities: 0x0d, FieldsPresent: 3, ReauthContext: 7, PAACookie: []byte("cookie")},
		&TunnelResponse{FieldsPresent: 0x17, TunnelID: 1, Capabilities: 2, Nonce: make([]byte, 20), ServerCert: "c", ConsentMessage: "m"},
		&TunnelAuth{FieldsPresent: 1, ClientName: "pc", SOH: []byte{1}},
		&TunnelAuthResponse{FieldsPresent: 7, RedirFlags: 1, IdleTimeout: 2, SOHResponse: []byte{3}},
		&ChannelCreate{Resources: []string{"rds01"}, AltResources: []string{"10.0.0.5"}, Port: 3389, Protocol: 3},
		&ChannelResponse{FieldsPresent: 7, ChannelID: 1, UDPPort: 3391, AuthnCookie: []byte{1, 2}},
		&Data{Data: []byte{3, 0, 0, 19}}, &ServiceMessage{Message: "hello"}, &ReauthMessage{Context: 1},
		&Keepalive{}, &Close{StatusCode: EProxySessionTimeout}, &Close{Response: true},
		&ExtendedAuthMsg{Blob: []byte("NTLMSSP")}, &Unknown{Type: 0x99, Body: []byte{1}},
	} {
		f.Add(p.Marshal())
	}
}

// FuzzParse: any bytes parse to a packet or an error wrapping
// ErrMalformed, never a panic; a packet survives a round trip.
func FuzzParse(f *testing.F) {
	addPacketSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		_ = Describe(b)
		again, err := Parse(p.Marshal())
		if err != nil {
			t.Fatalf("re-parse of %x: %v", p.Marshal(), err)
		}
		if !reflect.DeepEqual(p, again) {
			t.Fatalf("round trip:\n%#v\n%#v", p, again)
		}
	})
}

// FuzzReadPacket: the stream reader never reads past its cap nor panics.
func FuzzReadPacket(f *testing.F) {
	addPacketSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for {
			p, err := ReadPacket(r, 4096)
			if err != nil {
				if err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrMalformed) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if len(p) > 4096 {
				t.Fatalf("a packet of %d bytes past the cap", len(p))
			}
		}
	})
}
