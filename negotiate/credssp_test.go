package negotiate

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func status(s NTStatus) *NTStatus { return &s }

func equalTS(a, b *TSRequest) bool {
	if a.Version != b.Version || len(a.NegoTokens) != len(b.NegoTokens) ||
		!bytes.Equal(a.AuthInfo, b.AuthInfo) || !bytes.Equal(a.PubKeyAuth, b.PubKeyAuth) ||
		!bytes.Equal(a.ClientNonce, b.ClientNonce) || (a.ErrorCode == nil) != (b.ErrorCode == nil) {
		return false
	}
	for i := range a.NegoTokens {
		if !bytes.Equal(a.NegoTokens[i], b.NegoTokens[i]) {
			return false
		}
	}
	return a.ErrorCode == nil || *a.ErrorCode == *b.ErrorCode
}

func tsString(m *TSRequest) string {
	e := "nil"
	if m.ErrorCode != nil {
		e = m.ErrorCode.String()
	}
	return fmt.Sprintf("{v%d tokens=%x auth=%x pub=%x err=%s nonce=%x}", m.Version, m.NegoTokens, m.AuthInfo, m.PubKeyAuth, e, m.ClientNonce)
}

func TestTSRequestRealServer(t *testing.T) {
	// FreeRDP's NLA server answering our NTLM NEGOTIATE (see the .hex comment).
	raw := loadHex(t, "tsrequest-freerdp-ntlm-challenge")
	b, err := ReadTSRequest(bytes.NewReader(raw), 4096)
	if err != nil || !bytes.Equal(b, raw) {
		t.Fatalf("ReadTSRequest = %x, %v", b, err)
	}
	var m TSRequest
	if err := m.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	if m.Version != 6 || len(m.NegoTokens) != 1 || !bytes.HasPrefix(m.NegoTokens[0], []byte("NTLMSSP\x00\x02\x00\x00\x00")) ||
		len(m.NegoTokens[0]) != 0x6c || len(m.ClientNonce) != 32 || m.ErrorCode != nil || m.AuthInfo != nil || m.PubKeyAuth != nil {
		t.Fatalf("got %s", tsString(&m))
	}
	out, err := m.Marshal()
	if err != nil || !bytes.Equal(out, raw) {
		t.Errorf("Marshal = %x, %v\nserver sent   %x", out, err, raw)
	}
	m.NegoTokens[0][0] = 'X'
	if raw[18] != 'N' {
		t.Error("Unmarshal aliases its input")
	}
}

func TestTSRequestUnmarshal(t *testing.T) {
	// Hand-built from MS-CSSP 2.2.1; comments show the structure.
	tests := []struct {
		name, in string
		want     TSRequest
		err      error
	}{
		{"version only", "3005 a003020102", TSRequest{Version: 2}, nil},
		{"errorCode C000006D as 4 bytes (Windows, DER)", "300d a003020106 a406 0204c000006d",
			TSRequest{Version: 6, ErrorCode: status(StatusLogonFailure)}, nil},
		{"errorCode C000006D as 5 bytes (positive INTEGER)", "300e a003020106 a407 020500c000006d",
			TSRequest{Version: 6, ErrorCode: status(StatusLogonFailure)}, nil},
		{"errorCode SEC_E_LOGON_DENIED", "300d a003020103 a406 02048009030c",
			TSRequest{Version: 3, ErrorCode: status(SecELogonDenied)}, nil},
		{"errorCode 0", "300a a003020106 a403 020100", TSRequest{Version: 6, ErrorCode: status(0)}, nil},
		{"non-minimal long form lengths", "3081 11 a08200 03 020106 a3820006 048103 010203",
			TSRequest{Version: 6, PubKeyAuth: []byte{1, 2, 3}}, nil},
		{"4-byte long form length", "308400000009 a003020104 a2020400", TSRequest{Version: 4, AuthInfo: []byte{}}, nil},
		{"all fields", "302d a003020105 a10c300a3008a0060404 4e544c4d a2030401aa a3030401bb a406020400000001 a5060404 01020304",
			TSRequest{Version: 5, NegoTokens: [][]byte{[]byte("NTLM")}, AuthInfo: []byte{0xaa}, PubKeyAuth: []byte{0xbb}, ErrorCode: status(1), ClientNonce: []byte{1, 2, 3, 4}}, nil},
		{"two negoTokens", "3017 a003020106 a110300e 3005a0030401aa 3005a0030401bb", TSRequest{Version: 6, NegoTokens: [][]byte{{0xaa}, {0xbb}}}, nil},
		{"unknown [6] skipped", "300b a003020106 a604020201ff", TSRequest{Version: 6}, nil},
		{"unknown primitive [9] skipped", "3008 a003020106 8901ff", TSRequest{Version: 6}, nil},
		{"fields out of order", "300a a3030401bb a003020106", TSRequest{Version: 6, PubKeyAuth: []byte{0xbb}}, nil},
		{"version with leading zero", "3006 a00402020006", TSRequest{Version: 6}, nil},

		{"empty", "", TSRequest{}, ErrMalformed},
		{"not a SEQUENCE", "3105a003020102", TSRequest{}, ErrMalformed},
		{"indefinite length", "3080a0030201020000", TSRequest{}, ErrMalformed},
		{"5 length octets", "30850000000005a003020102", TSRequest{}, ErrMalformed},
		{"length past buffer", "3006a003020102", TSRequest{}, ErrMalformed},
		{"huge length", "3084ffffffffa003020102", TSRequest{}, ErrMalformed},
		{"inner length past field", "3005a004020102", TSRequest{}, ErrMalformed},
		{"trailing bytes", "3005a00302010200", TSRequest{}, ErrMalformed},
		{"no version", "3005a203040100", TSRequest{}, ErrMalformed},
		{"negative version", "3005a0030201ff", TSRequest{}, ErrMalformed},
		{"version too big", "300da00b020900ffffffffffffffff", TSRequest{}, ErrMalformed},
		{"empty INTEGER", "3004a0020200", TSRequest{}, ErrMalformed},
		{"repeated version", "300aa003020102a003020103", TSRequest{}, ErrMalformed},
		{"primitive [0]", "30058003020102", TSRequest{}, ErrMalformed},
		{"universal field tag", "3008a003020102020100", TSRequest{}, ErrMalformed},
		{"errorCode over 32 bits", "300ea003020106a4070205010000006d", TSRequest{}, ErrMalformed},
		{"errorCode below int32", "300ea003020106a4070205ff7fffffff", TSRequest{}, ErrMalformed},
		{"extra bytes in [3]", "3009a003020106a3020400ff", TSRequest{}, ErrMalformed},
		{"constructed OCTET STRING", "3009a003020106a3022400", TSRequest{}, ErrMalformed},
		{"negoToken without [0]", "3011a003020106a10a30083006a1040402aaaa", TSRequest{}, ErrMalformed},
		{"multi-byte tag", "3007a003020106bf1f00", TSRequest{}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got TSRequest
			err := got.Unmarshal(unhex(t, tt.in))
			if tt.err != nil {
				if !errors.Is(err, tt.err) || !strings.HasPrefix(err.Error(), "credssp: ") {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equalTS(&got, &tt.want) {
				t.Fatalf("got %s\nwant %s", tsString(&got), tsString(&tt.want))
			}
		})
	}
}

func TestTSRequestMarshal(t *testing.T) {
	tests := []struct {
		name string
		in   TSRequest
		want string
	}{
		// Windows and FreeRDP read errorCode as a signed 32-bit INTEGER.
		{"errorCode", TSRequest{Version: 6, ErrorCode: status(StatusLogonFailure)}, "300da003020106a4060204c000006d"},
		{"positive errorCode", TSRequest{Version: 6, ErrorCode: status(1)}, "300aa003020106a403020101"},
		{"negoToken", TSRequest{Version: 6, NegoTokens: [][]byte{{0xaa}}}, "3010a003020106 a1093007 3005a0030401aa"},
		{"empty fields omitted", TSRequest{Version: 2, AuthInfo: []byte{}, NegoTokens: [][]byte{}}, "3005a003020102"},
		{"long form", TSRequest{Version: 6, PubKeyAuth: make([]byte, 200)}, "3081d3a003020106a381cb0481c8" + strings.Repeat("00", 200)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			want := unhex(t, tt.want)
			if !bytes.Equal(got, want) {
				t.Fatalf("Marshal = %x\nwant      %x", got, want)
			}
			var back TSRequest
			if err := back.Unmarshal(got); err != nil || !equalTS(&back, &tt.in) {
				t.Fatalf("round trip: %v %s", err, tsString(&back))
			}
		})
	}
	if _, err := (&TSRequest{Version: -1}).Marshal(); err == nil {
		t.Error("negative version marshaled")
	}
}

func TestReadTSRequest(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     string
		err      error
	}{
		{"short form", "3005a003020102ff", 64, "3005a003020102", nil},
		{"long form", "308105a003020102", 64, "308105a003020102", nil},
		{"non-minimal 2-byte length", "30820005a003020102", 64, "30820005a003020102", nil},
		{"exactly max", "3005a003020102", 7, "3005a003020102", nil},
		{"over max", "3005a003020102", 6, "", ErrMalformed},
		{"huge length rejected before reading", "3084ffffffff", 1 << 20, "", ErrMalformed},
		{"nothing", "", 64, "", io.EOF},
		{"EOF after tag", "30", 64, "", io.ErrUnexpectedEOF},
		{"EOF in long length", "308200", 64, "", io.ErrUnexpectedEOF},
		{"EOF at body", "3005", 64, "", io.ErrUnexpectedEOF},
		{"EOF in body", "3005a003", 64, "", io.ErrUnexpectedEOF},
		{"TPKT instead", "0300000b06d00000123400", 64, "", ErrMalformed},
		{"indefinite", "3080a0030201020000", 64, "", ErrMalformed},
		{"5 length octets", "30850000000005", 64, "", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadTSRequest(bytes.NewReader(unhex(t, tt.in)), tt.max)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || hex.EncodeToString(got) != tt.want {
				t.Fatalf("got %x, %v; want %s", got, err, tt.want)
			}
		})
	}
	_, err := ReadTSRequest(bytes.NewReader(unhex(t, "0300000b")), 64)
	if err == nil || !strings.Contains(err.Error(), "0x03") {
		t.Errorf("error does not say which byte came: %v", err)
	}
}

func TestTSCredentials(t *testing.T) {
	// Hand-built DER: credType 1, TSPasswordCreds{"D", "u", "p"} in UTF-16LE.
	known := "301d a003020101 a116 0414 3012 a0040402 4400 a1040402 7500 a2040402 7000"
	tests := []struct {
		name string
		in   TSCredentials
		want string
	}{
		{"ascii", TSCredentials{Domain: "D", User: "u", Password: "p"}, known},
		{"empty domain", TSCredentials{User: "alice", Password: "s3cret!"}, ""},
		{"non-BMP and accents", TSCredentials{Domain: "ÉCOLE", User: "𝔘ser", Password: "pässwörd🔑"}, ""},
		{"long password", TSCredentials{Domain: "CORP", User: "bob", Password: strings.Repeat("x", 300)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.in.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != "" && !bytes.Equal(b, unhex(t, tt.want)) {
				t.Fatalf("Marshal = %x\nwant      %s", b, tt.want)
			}
			var got TSCredentials
			if err := got.Unmarshal(b); err != nil {
				t.Fatal(err)
			}
			if got != tt.in {
				t.Fatalf("round trip = %v, want %v", got, tt.in)
			}
		})
	}

	bad := []struct{ name, in, says string }{
		{"credType 2 (smart card)", strings.Replace(strings.ReplaceAll(known, " ", ""), "a003020101", "a003020102", 1), "credType 2"},
		{"odd UTF-16 password", "301c a003020101 a115 0413 3011 a00404024400 a10404027500 a203040170", "[2] password has odd"},
		{"missing password", "3017 a003020101 a110 040e 300c a00404024400 a10404027500", "[2] password: truncated"},
		{"trailing byte", strings.ReplaceAll(known, " ", "") + "00", "after TSCredentials"},
		{"empty", "", "TSCredentials: truncated"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			var c TSCredentials
			if err := c.Unmarshal(unhex(t, tt.in)); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestTSCredentialsNeverShowsPassword(t *testing.T) {
	const pw = "Hunter2-Sekrit"
	c := TSCredentials{Domain: "CORP", User: "alice", Password: pw}
	for _, s := range []string{c.String(), fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s %q %x", c, c, c, c, c, c), fmt.Sprintf("%v %+v %#v", &c, &c, &c)} {
		if strings.Contains(s, pw) || strings.Contains(s, fmt.Sprintf("%x", pw)) {
			t.Errorf("password shown: %s", s)
		}
	}
	b, _ := c.Marshal()
	for i := range b { // every truncation fails without echoing the password
		var d TSCredentials
		if err := d.Unmarshal(b[:i]); err == nil || strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), "H\x00u") {
			t.Fatalf("truncated at %d: %v", i, err)
		}
	}
}

func TestBindingHashes(t *testing.T) {
	// Expected values computed independently (Python hashlib) from MS-CSSP 3.1.5.
	nonce := make([]byte, 32)
	for i := range nonce {
		nonce[i] = byte(i + 1)
	}
	spk := []byte("\x30\x0d\x06\x09spk")
	if got := hex.EncodeToString(ClientServerHash(nonce, spk)); got != "a73cb3e5ed3709e27c3650f2b59409f12680f9cceeee37576fd89fe2b72266b1" {
		t.Errorf("ClientServerHash = %s", got)
	}
	if got := hex.EncodeToString(ServerClientHash(nonce, spk)); got != "69fbf05a298429cf2aa3fd5103417ad18982072ac024ee72cbc8c4b42fdacd37" {
		t.Errorf("ServerClientHash = %s", got)
	}
}

func TestSubjectPublicKey(t *testing.T) {
	// For RSA the binding covers the RSAPublicKey DER (PKCS #1), not the
	// whole SubjectPublicKeyInfo (MS-CSSP 3.1.5).
	key := testKey(t)
	c, err := x509.ParseCertificate(testCertDER(t, key, "spk"))
	if err != nil {
		t.Fatal(err)
	}
	spk, err := SubjectPublicKey(c)
	if err != nil || !bytes.Equal(spk, x509.MarshalPKCS1PublicKey(&key.PublicKey)) {
		t.Errorf("SubjectPublicKey = %x, %v", spk, err)
	}
	c.RawSubjectPublicKeyInfo = c.RawSubjectPublicKeyInfo[:10]
	if _, err := SubjectPublicKey(c); err == nil || !strings.HasPrefix(err.Error(), "unreadable public key: ") {
		t.Errorf("truncated SubjectPublicKeyInfo: %v", err)
	}
}
