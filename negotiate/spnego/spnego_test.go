package spnego

import (
	"bytes"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The mechTypes of a Windows client's NegTokenInit, as on the wire.
const windowsMechTypesHex = "3022" + "06092a864882f712010202" + "06092a864886f712010202" + "060a2b06010401823702020a"

func TestMechTypesDER(t *testing.T) {
	b, err := MarshalMechTypes(WindowsMechTypes())
	if err != nil || hex.EncodeToString(b) != windowsMechTypesHex {
		t.Fatalf("%x, %v", b, err)
	}
}

func TestNegTokenInitRoundTrip(t *testing.T) {
	in := NegTokenInit{MechTypes: WindowsMechTypes(), MechToken: []byte("AP-REQ"), MechListMIC: []byte("mic")}
	b, err := in.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte{0x60}) || !bytes.Contains(b, unhex(t, "a024"+windowsMechTypesHex)) ||
		!bytes.Contains(b, unhex(t, "06062b0601050502a0")) {
		t.Fatalf("% x", b)
	}
	var out NegTokenInit
	if err := out.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	der, _ := out.MechTypesDER()
	if len(out.MechTypes) != 3 || !out.MechTypes[0].Equal(OIDMSKerberos) || string(out.MechToken) != "AP-REQ" ||
		string(out.MechListMIC) != "mic" || hex.EncodeToString(der) != windowsMechTypesHex {
		t.Fatalf("%+v", out)
	}
}

// A server's NegTokenInit2 (MS-SPNG 2.2.1): negHints at [3].
func TestNegTokenInit2(t *testing.T) {
	b := unhex(t, "6028"+"06062b0601050502"+"a01e301ca00e300c060a2b06010401823702020a"+"a30a3008a0061b046e6f6e65")
	var tok NegTokenInit
	if err := tok.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	if !tok.HasNegHints || !tok.MechTypes[0].Equal(OIDNTLM) {
		t.Fatalf("%+v", tok)
	}
}

func TestNegTokenResp(t *testing.T) {
	for _, in := range []NegTokenResp{
		{State: AcceptCompleted, SupportedMech: OIDMSKerberos, ResponseToken: []byte("AP-REP"), MechListMIC: []byte("mic")},
		{State: Reject, ResponseToken: []byte("KRB-ERROR")},
		{State: NoState, MechListMIC: []byte("mic")},
		{State: RequestMIC, SupportedMech: OIDKerberos},
	} {
		b, err := in.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var out NegTokenResp
		if err := out.Unmarshal(b); err != nil {
			t.Fatal(err)
		}
		if out.State != in.State || !out.SupportedMech.Equal(in.SupportedMech) || !bytes.Equal(out.ResponseToken, in.ResponseToken) ||
			!bytes.Equal(out.MechListMIC, in.MechListMIC) {
			t.Fatalf("%+v != %+v", out, in)
		}
	}
	// Windows' accept-completed for MS-KRB5 starts so.
	b, _ := (&NegTokenResp{State: AcceptCompleted, SupportedMech: OIDMSKerberos}).Marshal()
	if hex.EncodeToString(b) != "a1143012a0030a0100a10b06092a864882f712010202" {
		t.Fatalf("%x", b)
	}
}

func TestMalformed(t *testing.T) {
	for name, b := range map[string]string{
		"empty":          "",
		"wrong wrapper":  "600b06092a864886f712010202",
		"no mechTypes":   "6008" + "06062b0601050502",
		"resp negState9": "a1073005a0030a0109",
		"resp trailing":  "a1023000" + "00",
		"init as resp":   "a0023000",
	} {
		t.Run(name, func(t *testing.T) {
			var i NegTokenInit
			var r NegTokenResp
			if err := i.Unmarshal(unhex(t, b)); !errors.Is(err, ErrMalformed) {
				t.Errorf("NegTokenInit: %v", err)
			}
			if err := r.Unmarshal(unhex(t, b)); !errors.Is(err, ErrMalformed) {
				t.Errorf("NegTokenResp: %v", err)
			}
		})
	}
}

func TestMechName(t *testing.T) {
	if MechName(OIDMSKerberos) != "MS-KRB5" || MechName(asn1.ObjectIdentifier{1, 2, 3}) != "1.2.3" || !IsKerberos(OIDKerberos) || IsKerberos(OIDNTLM) {
		t.Fatal()
	}
}
