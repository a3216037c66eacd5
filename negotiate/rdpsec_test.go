package negotiate

import (
	"bytes"
	"crypto/rsa"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"
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

// Standard RDP Security (MS-RDPBCGR 5.3). The keys and signatures are
// checked end to end against real peers elsewhere: xrdp in the lab (probe's
// lab tests, and TestStandardSecurityXrdpRecording below from one of its
// sessions) and xfreerdp against rdptest (rdptest's cross-checks). These
// tests pin the properties each side relies on.

var securityMethods = []EncryptionMethod{EncryptionMethod40Bit, EncryptionMethod56Bit, EncryptionMethod128Bit, EncryptionMethodFIPS}

func randoms(seed byte) (cr, sr []byte) {
	cr, sr = make([]byte, RandomLen), make([]byte, RandomLen)
	for i := range cr {
		cr[i], sr[i] = seed+byte(i), seed^byte(3*i+1)
	}
	return cr, sr
}

func securityPair(t testing.TB, m EncryptionMethod) (client, server *StandardSecurity) {
	t.Helper()
	cr, sr := randoms(7)
	client, err := NewClientSecurity(m, cr, sr)
	if err != nil {
		t.Fatal(err)
	}
	server, err = NewServerSecurity(m, cr, sr)
	if err != nil {
		t.Fatal(err)
	}
	return client, server
}

// Each direction is a stream: the server opens what the client sealed and
// the other way round, PDU after PDU, past the RC4 key update after 4096
// (5.3.7), with lengths that are and are not multiples of the DES block.
func TestStandardSecurityRoundTrip(t *testing.T) {
	for _, m := range securityMethods {
		t.Run(m.String(), func(t *testing.T) {
			client, server := securityPair(t, m)
			for i := range 4100 + 3 {
				body := bytes.Repeat([]byte{byte(i)}, i%37)
				for _, dir := range []struct {
					name     string
					from, to *StandardSecurity
				}{{"client to server", client, server}, {"server to client", server, client}} {
					ud := dir.from.Seal(SecInfoPkt, body)
					if len(ud) < dir.from.HeaderLen() || (len(body) > 0 && bytes.Contains(ud, body) && len(body) > 8) {
						t.Fatalf("%s PDU %d: %x does not look encrypted", dir.name, i, ud)
					}
					flags, got, err := dir.to.Open(ud)
					if err != nil || !bytes.Equal(got, body) || flags&(SecEncrypt|SecInfoPkt) != SecEncrypt|SecInfoPkt {
						t.Fatalf("%s PDU %d: flags %v, %x, %v; want %x", dir.name, i, flags, got, err, body)
					}
				}
			}
			want := 0
			if m != EncryptionMethodFIPS {
				want = 2 // one update of each direction after 4096 PDUs
			}
			if client.KeyUpdates() != want || server.KeyUpdates() != want {
				t.Errorf("key updates %d and %d, want %d", client.KeyUpdates(), server.KeyUpdates(), want)
			}
		})
	}
}

// The key update really changes the key: PDU 4097 is not encrypted with
// the first key's stream continued.
func TestStandardSecurityKeyUpdateChangesKey(t *testing.T) {
	client, _ := securityPair(t, EncryptionMethod128Bit)
	first := slices.Clone(client.enc.current)
	for range 4097 {
		client.Seal(0, []byte{0})
	}
	if bytes.Equal(first, client.enc.current) {
		t.Fatal("the key after 4096 PDUs is the first key")
	}
}

// The salted MAC (5.3.6.1.1) is used when SaltedMAC is set, says so with
// SEC_SECURE_CHECKSUM, differs from the plain one, and the receiver follows
// the flag.
func TestStandardSecuritySaltedMAC(t *testing.T) {
	client, server := securityPair(t, EncryptionMethod128Bit)
	plain := client.macSignature([]byte("data"), false, 5)
	if bytes.Equal(plain, client.macSignature([]byte("data"), true, 5)) {
		t.Fatal("the salted MAC equals the plain one")
	}
	server.SaltedMAC = true
	for i := range 3 {
		ud := server.Seal(0, []byte("salted"))
		if SecurityFlags(binary.LittleEndian.Uint16(ud))&SecSecureChecksum == 0 {
			t.Fatalf("PDU %d: flags % x without SEC_SECURE_CHECKSUM", i, ud[:2])
		}
		if _, got, err := client.Open(ud); err != nil || string(got) != "salted" {
			t.Fatalf("PDU %d: %q, %v", i, got, err)
		}
	}
}

// A signature that does not verify is a *MACError, and the stream stays in
// step: the next PDU opens.
func TestStandardSecurityWrongMAC(t *testing.T) {
	for _, m := range securityMethods {
		t.Run(m.String(), func(t *testing.T) {
			client, server := securityPair(t, m)
			ud := server.Seal(0, []byte("Demand Active"))
			ud[server.HeaderLen()-1] ^= 0x55 // the signature's last byte
			var mac *MACError
			if _, _, err := client.Open(ud); !errors.As(err, &mac) || mac.FIPS != (m == EncryptionMethodFIPS) {
				t.Fatalf("tampered signature: %v", err)
			}
			ud = server.Seal(0, []byte("next"))
			if _, got, err := client.Open(ud); err != nil || string(got) != "next" {
				t.Fatalf("the PDU after: %q, %v", got, err)
			}
			// Tampered ciphertext fails the same way.
			ud = server.Seal(0, []byte("ciphertext altered"))
			ud[len(ud)-1] ^= 1
			if _, _, err := client.Open(ud); !errors.As(err, &mac) {
				t.Fatalf("tampered data: %v", err)
			}
		})
	}
}

// Keys differ by method, by direction and by random; 40- and 56-bit keys
// carry the salt of 5.3.5.1.
func TestStandardSecurityKeys(t *testing.T) {
	k := map[EncryptionMethod]*StandardSecurity{}
	for _, m := range securityMethods[:3] {
		c, s := securityPair(t, m)
		if !bytes.Equal(c.enc.current, s.dec.current) || !bytes.Equal(c.dec.current, s.enc.current) || bytes.Equal(c.enc.current, c.dec.current) {
			t.Errorf("%v: client and server keys are not each other's", m)
		}
		k[m] = c
	}
	if c := k[EncryptionMethod40Bit]; len(c.enc.current) != 8 || !bytes.HasPrefix(c.enc.current, []byte{0xD1, 0x26, 0x9E}) || !bytes.HasPrefix(c.macKey, []byte{0xD1, 0x26, 0x9E}) {
		t.Errorf("40-bit keys % x, MAC key % x", c.enc.current, c.macKey)
	}
	if c := k[EncryptionMethod56Bit]; len(c.enc.current) != 8 || c.enc.current[0] != 0xD1 || bytes.HasPrefix(c.enc.current, []byte{0xD1, 0x26}) {
		t.Errorf("56-bit key % x", c.enc.current)
	}
	if c := k[EncryptionMethod128Bit]; len(c.enc.current) != 16 || len(c.macKey) != 16 {
		t.Errorf("128-bit key % x, MAC key % x", c.enc.current, c.macKey)
	}
	// The same bytes after the salt: 40 and 56 bits come from the 128-bit key.
	if !bytes.Equal(k[EncryptionMethod40Bit].enc.current[3:], k[EncryptionMethod128Bit].enc.current[3:8]) {
		t.Errorf("40-bit key is not the 128-bit key's first 64 bits salted")
	}
	cr, sr := randoms(8)
	other, _ := NewClientSecurity(EncryptionMethod128Bit, cr, sr)
	if bytes.Equal(other.enc.current, k[EncryptionMethod128Bit].enc.current) {
		t.Error("other randoms, same key")
	}
	if _, err := NewClientSecurity(EncryptionMethodNone, cr, sr); err == nil {
		t.Error("keys for ENCRYPTION_METHOD_NONE")
	}
	if _, err := NewClientSecurity(EncryptionMethod128Bit, cr[:31], sr); err == nil {
		t.Error("keys from a 31-byte random")
	}
}

// fipsExpandKey spreads 168 bits over 24 bytes, seven per byte, each byte
// with odd parity in its low bit (5.3.5.2). As in FreeRDP and xrdp, the
// parity lands on the first bit of each group of seven, so 144 input bits
// reach the key: the expansion peers agree on, not the one a reader of
// the spec would write.
func TestFIPSExpandKey(t *testing.T) {
	in := make([]byte, 21)
	for i := range in {
		in[i] = byte(0x5A + 13*i)
	}
	out := fipsExpandKey(in)
	if len(out) != 24 {
		t.Fatalf("%d bytes", len(out))
	}
	for i, b := range out {
		if n := 0; true {
			for v := b; v != 0; v &= v - 1 {
				n++
			}
			if n%2 != 1 {
				t.Errorf("byte %d 0x%02x has even parity", i, b)
			}
		}
	}
	// Which input bits reach the key: all but the first of each group.
	for bit := range 168 {
		flipped := slices.Clone(in)
		flipped[bit/8] ^= 1 << (bit % 8)
		if reaches, want := !bytes.Equal(fipsExpandKey(flipped), out), bit%7 != 0; reaches != want {
			t.Errorf("input bit %d reaches the key: %v, want %v", bit, reaches, want)
		}
	}
}

// Open refuses what cannot be a PDU without touching the stream.
func TestStandardSecurityOpenMalformed(t *testing.T) {
	for _, m := range securityMethods {
		c, _ := securityPair(t, m)
		for _, b := range [][]byte{nil, {8}, {8, 0, 0, 0, 1, 2, 3}, append([]byte{8, 0, 0, 0, 0x10, 0, 1, 9}, make([]byte, 8)...),
			append([]byte{8, 0, 0, 0, 0x10, 0, 1, 0}, make([]byte, 13)...)} {
			if _, _, err := c.Open(b); !errors.Is(err, ErrMalformed) && !(m != EncryptionMethodFIPS && len(b) >= 12) {
				t.Errorf("%v: Open(% x) = %v, want malformed", m, b, err)
			}
		}
	}
	// Without SEC_ENCRYPT, a Basic Security Header and the rest as it is.
	c, _ := securityPair(t, EncryptionMethod128Bit)
	flags, body, err := c.Open([]byte{0x80, 0, 0, 0, 'l', 'i', 'c'})
	if err != nil || flags != SecLicensePkt || string(body) != "lic" {
		t.Errorf("basic header: %v %q %v", flags, body, err)
	}
}

// oddKey is an RSA key whose modulus has bits bits: a multiple of neither
// 8 nor 1024 (xrdp's 512-bit key has a 511-bit modulus).
func oddKey(t testing.TB, bits int) *rsa.PrivateKey {
	t.Helper()
	e := big.NewInt(65537)
	for seed := int64(1); ; seed++ {
		p := nextPrime(new(big.Int).Lsh(big.NewInt(seed*7919+3), uint(bits/2-14)))
		q := nextPrime(new(big.Int).Lsh(big.NewInt(seed*104729+11), uint(bits-bits/2-18)))
		n := new(big.Int).Mul(p, q)
		if n.BitLen() != bits {
			continue
		}
		phi := new(big.Int).Mul(new(big.Int).Sub(p, big.NewInt(1)), new(big.Int).Sub(q, big.NewInt(1)))
		d := new(big.Int).ModInverse(e, phi)
		if d == nil {
			continue
		}
		return &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: 65537}, D: d, Primes: []*big.Int{p, q}}
	}
}

func nextPrime(n *big.Int) *big.Int {
	n = new(big.Int).SetBit(n, 0, 1)
	for !n.ProbablyPrime(20) {
		n.Add(n, big.NewInt(2))
	}
	return n
}

// decryptLE is the server's half of EncryptLE (5.3.4.1): little-endian,
// textbook RSA, the modulus' length then 8 zero bytes.
func decryptLE(key *rsa.PrivateKey, enc []byte) []byte {
	c := slices.Clone(enc[:len(enc)-rsaModulusPadding])
	slices.Reverse(c)
	m := new(big.Int).Exp(new(big.Int).SetBytes(c), key.D, key.N).Bytes()
	slices.Reverse(m)
	return append(m, make([]byte, RandomLen-len(m))...)
}

// The Security Exchange carries the client random under the server's key,
// proprietary or X.509, of any size the probe accepts, and parses back.
func TestSecurityExchange(t *testing.T) {
	key := testKey(t)
	proprietary := func(k *rsa.PrivateKey) *ServerCertificate { return NewProprietaryCertificate(&k.PublicKey) }
	for _, tc := range []struct {
		name string
		key  *rsa.PrivateKey
		cert func(*rsa.PrivateKey) *ServerCertificate
	}{
		{"proprietary 2048", key, proprietary},
		{"x509 2048", key, func(k *rsa.PrivateKey) *ServerCertificate {
			return &ServerCertificate{Version: CertChainVersion2, X509Chain: [][]byte{testCertDER(t, k, "ca"), testCertDER(t, k, "leaf")}}
		}},
		{"proprietary 511-bit modulus", oddKey(t, 511), proprietary},
		{"proprietary 1021-bit modulus", oddKey(t, 1021), proprietary},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert := tc.cert(tc.key)
			var parsed ServerCertificate
			if err := parsed.Unmarshal(cert.Marshal()); err != nil {
				t.Fatal(err)
			}
			cr, _ := randoms(1)
			m, err := NewSecurityExchange(&parsed, cr)
			if err != nil {
				t.Fatal(err)
			}
			if want := parsed.ModulusLen() + 8; len(m.EncryptedClientRandom) != want {
				t.Errorf("encrypted random of %d bytes, want %d", len(m.EncryptedClientRandom), want)
			}
			pdu := ClientSecurityExchangePDU(1007, 1003, m)
			mcs, err := ParseDataTPDU(pdu[4:])
			if err != nil {
				t.Fatal(err)
			}
			var sd SendData
			if err := sd.Unmarshal(mcs); err != nil || sd.ChannelID != 1003 || sd.Initiator != 1007 {
				t.Fatalf("%+v %v", sd, err)
			}
			var back SecurityExchange
			if err := back.Unmarshal(sd.UserData); err != nil || back.Flags != SecExchangePkt|SecLicenseEncryptSC {
				t.Fatalf("%v %v", back.Flags, err)
			}
			if got := decryptLE(tc.key, back.EncryptedClientRandom); !bytes.Equal(got, cr) {
				t.Errorf("decrypts to % x, want % x", got, cr)
			}
		})
	}
}

func TestSecurityExchangeMalformed(t *testing.T) {
	for _, b := range [][]byte{
		nil,
		{1, 0, 0, 0, 72, 0, 0, 0}, // length past the end
		append([]byte{0x40, 0, 0, 0, 9, 0, 0, 0}, make([]byte, 9)...), // no SEC_EXCHANGE_PKT
		append([]byte{1, 0, 0, 0, 8, 0, 0, 0}, make([]byte, 8)...),    // padding only
		append([]byte{1, 0, 0, 0, 9, 0, 0, 0}, make([]byte, 10)...),   // trailing byte
		{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff},
	} {
		var m SecurityExchange
		if err := m.Unmarshal(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("Unmarshal(% x) = %v, want malformed", b, err)
		}
	}
}

// xrdp's Connect Response at level High: a 32-byte random and a 2048-bit
// proprietary certificate.
func TestServerRandomAndCertificateXrdp(t *testing.T) {
	cr, err := ParseMCSConnectResponse(loadHex(t, "mcs-xrdp-rdp-security-connect-response")[4:])
	if err != nil {
		t.Fatal(err)
	}
	random, cert, err := cr.Server.Security.ServerRandomAndCertificate()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := cert.PublicKey()
	if len(random) != RandomLen || cert.Proprietary == nil || err != nil || pub.N.BitLen() != 2048 {
		t.Fatalf("random %d bytes, proprietary %v, key %v", len(random), cert.Proprietary != nil, err)
	}
	// Level None carries nothing; a method without a random is malformed.
	if r, c, err := (&ServerSecurityData{}).ServerRandomAndCertificate(); r != nil || c != nil || err != nil {
		t.Errorf("level None: %v %v %v", r, c, err)
	}
	if _, _, err := (&ServerSecurityData{Method: EncryptionMethod128Bit}).ServerRandomAndCertificate(); !errors.Is(err, ErrMalformed) {
		t.Errorf("128-bit without random: %v", err)
	}
	// Round trip through NewServerSecurityData.
	sd := NewServerSecurityData(EncryptionMethod56Bit, EncryptionLevelClientCompatible, random, cert)
	r2, c2, err := sd.ServerRandomAndCertificate()
	if err != nil || !bytes.Equal(r2, random) || !bytes.Equal(c2.Proprietary.PublicKey.Modulus, cert.Proprietary.PublicKey.Modulus) {
		t.Errorf("round trip: %v", err)
	}
}

// ParseSecureServerPDU decrypts what the server sealed and sorts it as in
// the clear: licensing, the Demand Active, a Set Error Info.
func TestParseSecureServerPDU(t *testing.T) {
	for _, m := range securityMethods {
		t.Run(m.String(), func(t *testing.T) {
			client, server := securityPair(t, m)
			valid := (&LicenseErrorMessage{ErrorCode: StatusValidClient, StateTransition: StNoTransition}).Marshal()
			da := DemandActivePDU(1002, &DemandActive{ShareID: 0x103EA, SourceDescriptor: "RDP"})
			for _, tc := range []struct {
				pdu  []byte
				kind ServerPDUKind
			}{
				{ServerSecurePDU(1002, 1003, SecLicensePkt, valid, server), ServerPDULicenseValidClient},
				{ServerSecurePDU(1002, 1003, 0, ShareDataPDU(1002, 0x103EA, PDUType2SetErrorInfo, ErrInfoServerDeniedConnection.Marshal()), server), ServerPDUSetErrorInfo},
				{ServerSecurePDU(1002, 1003, 0, da, server), ServerPDUDemandActive},
				{ServerSecurePDU(1002, 1003, 0, []byte("auto-detect"), server), ServerPDUOther},
				// Licensing in the clear under Standard RDP Security.
				{ServerSecurePDU(1002, 1003, SecLicensePkt, valid, nil), ServerPDULicenseValidClient},
			} {
				p, err := ParseSecureServerPDU(tc.pdu[4:], client)
				if err != nil || p.Kind != tc.kind {
					t.Fatalf("kind %v, %v; want %v", p.Kind, err, tc.kind)
				}
			}
			// The same PDU without the keys is other, not a misread.
			p, err := ParseServerPDU(ServerSecurePDU(1002, 1003, 0, da, server)[4:])
			if err != nil || p.Kind != ServerPDUOther || p.Encrypted {
				t.Fatalf("without keys: %v %v", p.Kind, err)
			}
		})
	}
}

// TestClientInfoEncrypted: the Client Info under Standard RDP Security is
// SEC_INFO_PKT|SEC_ENCRYPT and holds no plaintext password.
func TestClientInfoEncrypted(t *testing.T) {
	for _, m := range securityMethods {
		client, server := securityPair(t, m)
		info := ClientInfo{Domain: "CORP", UserName: "alice", Password: "Secret-Passw0rd"}
		pdu, err := SecureClientInfoPDU(1007, 1003, &info, client)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"alice", "Secret"} {
			if bytes.Contains(pdu, []byte(s)) || bytes.Contains(pdu, utf16(s)) {
				t.Fatalf("%v: %q in the clear", m, s)
			}
		}
		mcs, _ := ParseDataTPDU(pdu[4:])
		var sd SendData
		if err := sd.Unmarshal(mcs); err != nil {
			t.Fatal(err)
		}
		flags, body, err := server.Open(sd.UserData)
		if err != nil || flags&(SecInfoPkt|SecEncrypt) != SecInfoPkt|SecEncrypt {
			t.Fatalf("%v: %v %v", m, flags, err)
		}
		var got ClientInfo
		if err := got.Unmarshal(body); err != nil || got.UserName != "alice" || got.Password != info.Password {
			t.Fatalf("%v: %v %v", m, got, err)
		}
	}
}

func utf16(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r), 0)
	}
	return b
}

func TestMACErrorText(t *testing.T) {
	for _, e := range []*MACError{{Count: 0}, {Salted: true, Count: 4}, {FIPS: true, Count: 9}} {
		if s := e.Error(); !bytes.Contains([]byte(s), []byte(fmt.Sprint(e.Count+1))) {
			t.Errorf("%q does not count the PDU", s)
		}
	}
}

// TestStandardSecurityXrdpRecording replays one 128-bit session with xrdp,
// an implementation not ours: from the two randoms, the client's keys
// encrypt the Client Info to exactly the bytes xrdp accepted, the server's
// keys open them, and xrdp's encrypted Demand Active opens under the
// client's keys with a signature that verifies.
func TestStandardSecurityXrdpRecording(t *testing.T) {
	cr, sr := loadHex(t, "rdpsec-xrdp-client-random"), loadHex(t, "rdpsec-xrdp-server-random")
	client, err := NewClientSecurity(EncryptionMethod128Bit, cr, sr)
	if err != nil {
		t.Fatal(err)
	}
	info := ClientInfo{Flags: DefaultInfoFlags &^ InfoAutologon, PerformanceFlags: DefaultPerformanceFlags, UserName: "kat", ClientAddress: "127.0.0.1"}
	pdu, err := SecureClientInfoPDU(1004, 1003, &info, client)
	if err != nil {
		t.Fatal(err)
	}
	recorded := loadHex(t, "rdpsec-xrdp-client-info")
	if !bytes.Equal(pdu, recorded) {
		t.Fatalf("Client Info\n got % x\nwant % x", pdu, recorded)
	}
	server, err := NewServerSecurity(EncryptionMethod128Bit, cr, sr)
	if err != nil {
		t.Fatal(err)
	}
	mcs, _ := ParseDataTPDU(recorded[4:])
	var sd SendData
	if err := sd.Unmarshal(mcs); err != nil {
		t.Fatal(err)
	}
	if _, body, err := server.Open(sd.UserData); err != nil || !bytes.Contains(body, []byte{'k', 0, 'a', 0, 't', 0}) {
		t.Fatalf("the server side does not open the Client Info: %v", err)
	}
	p, err := ParseSecureServerPDU(loadHex(t, "rdpsec-xrdp-demand-active")[4:], client)
	if err != nil || p.Kind != ServerPDUDemandActive || !p.Encrypted || p.DemandActive.SourceDescriptor != "RDP" {
		t.Fatalf("xrdp's Demand Active: %+v, %v", p, err)
	}
}
