package negotiate

import (
	"encoding/binary"
	"errors"
	"testing"
)

// TestStandardRDPSecurityConnectResponses reads the server security data of
// real servers running Standard RDP Security (MS-RDPBCGR 2.2.1.4.3): what
// rdpprobe --enumerate reports as the encryption level and method.
func TestStandardRDPSecurityConnectResponses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method EncryptionMethod
		level  EncryptionLevel
		random bool // serverRandom and serverCertificate follow
	}{
		{"mcs-xrdp-rdp-security-connect-response", EncryptionMethod128Bit, EncryptionLevelHigh, true},
		{"mcs-freerdp-rdp-security-connect-response", EncryptionMethodNone, EncryptionLevelNone, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr, err := ParseMCSConnectResponse(loadHex(t, tc.name)[4:])
			if err != nil {
				t.Fatal(err)
			}
			sec := cr.Server.Security
			if sec.Method != tc.method || sec.Level != tc.level {
				t.Errorf("method %v level %v, want %v %v", sec.Method, sec.Level, tc.method, tc.level)
			}
			if !tc.random {
				if len(sec.Rest) != 0 {
					t.Errorf("%d bytes after level at level None", len(sec.Rest))
				}
				return
			}
			// serverRandomLen is 32; serverCertLen counts what follows the random.
			if len(sec.Rest) < 8 {
				t.Fatalf("%d bytes after level", len(sec.Rest))
			}
			rl, cl := binary.LittleEndian.Uint32(sec.Rest), binary.LittleEndian.Uint32(sec.Rest[4:])
			if rl != 32 || int(8+rl+cl) != len(sec.Rest) {
				t.Errorf("serverRandomLen %d, serverCertLen %d in %d bytes", rl, cl, len(sec.Rest))
			}
			if cr.Server.Core == nil || cr.Server.Core.Version != RDPVersion5Plus {
				t.Errorf("SC_CORE %+v", cr.Server.Core)
			}
		})
	}
}

// TestUltimatumInsteadOfConfirm: xrdp answers a Connection Request for
// PROTOCOL_RDSAAD with an MCS Disconnect Provider Ultimatum in a Data TPDU.
// The Connection Confirm parser calls it malformed; the Data TPDU and
// ultimatum parsers read it (probe.Enumerate reports it as a hang-up).
func TestUltimatumInsteadOfConfirm(t *testing.T) {
	b := []byte{0x02, 0xf0, 0x80, 0x21, 0x80}
	var cc ConnectionConfirm
	if err := cc.Unmarshal(b); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Connection Confirm parser: %v, want malformed", err)
	}
	mcs, err := ParseDataTPDU(b)
	if err != nil {
		t.Fatal(err)
	}
	var u DisconnectProviderUltimatum
	if err := u.Unmarshal(mcs); err != nil || u.Reason != MCSReasonUserRequested {
		t.Fatalf("ultimatum %+v, %v", u, err)
	}
}

func TestEncryptionNames(t *testing.T) {
	// Values from MS-RDPBCGR 2.2.1.4.3 (encryptionMethod, encryptionLevel),
	// not the constants.
	for _, tt := range []struct{ got, want string }{
		{EncryptionMethod(0x00).String(), "ENCRYPTION_METHOD_NONE"},
		{EncryptionMethod(0x01).String(), "ENCRYPTION_METHOD_40BIT"},
		{EncryptionMethod(0x02).String(), "ENCRYPTION_METHOD_128BIT"},
		{EncryptionMethod(0x08).String(), "ENCRYPTION_METHOD_56BIT"},
		{EncryptionMethod(0x10).String(), "ENCRYPTION_METHOD_FIPS"},
		{EncryptionMethod(0x04).String(), "ENCRYPTION_METHOD_0x00000004"},
		{EncryptionLevel(0).String(), "ENCRYPTION_LEVEL_NONE"},
		{EncryptionLevel(1).String(), "ENCRYPTION_LEVEL_LOW"},
		{EncryptionLevel(2).String(), "ENCRYPTION_LEVEL_CLIENT_COMPATIBLE"},
		{EncryptionLevel(3).String(), "ENCRYPTION_LEVEL_HIGH"},
		{EncryptionLevel(4).String(), "ENCRYPTION_LEVEL_FIPS"},
		{EncryptionLevel(5).String(), "ENCRYPTION_LEVEL_0x00000005"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
