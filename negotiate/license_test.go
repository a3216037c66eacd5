package negotiate

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"math/big"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestLicenseErrorMessage(t *testing.T) {
	// The decrypted licensing packet of MS-RDPBCGR 4.1.11.
	spec := unhex(t, "ff031000070000000200000004000000")
	var m LicenseErrorMessage
	if err := m.Unmarshal(spec); err != nil {
		t.Fatal(err)
	}
	if !m.ValidClient() || m.ErrorInfo.Type != BBErrorBlob || len(m.ErrorInfo.Data) != 0 {
		t.Errorf("got %+v", m)
	}
	if got := m.Marshal(); !reflect.DeepEqual(got, spec) {
		t.Errorf("Marshal = %x", got)
	}
	if m.Error() != "license: server sent STATUS_VALID_CLIENT (7), ST_NO_TRANSITION" {
		t.Errorf("Error() = %q", m.Error())
	}
	for name, h := range map[string]string{
		"wMsgSize too big":    "ff031100070000000200000004000000",
		"wMsgSize too small":  "ff030f00070000000200000004000000",
		"blob overruns":       "ff031000070000000200000004000100",
		"trailing":            "ff03110007000000020000000400000000",
		"not an error alert":  "01031000070000000200000004000000",
		"short":               "ff0304",
		"missing blob header": "ff030c000700000002000000",
	} {
		if err := m.Unmarshal(unhex(t, name[:0]+h)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestLicenseRequestRoundTrip(t *testing.T) {
	key := testKey(t)
	r := LicenseRequest{Version: 0x00060000, CompanyName: "Microsoft Corporation", ProductID: "A02",
		KeyExchangeAlgs: []uint32{KeyExchangeAlgRSA}, Certificate: NewProprietaryCertificate(&key.PublicKey).Marshal(),
		Scopes: []string{"microsoft.com"}}
	r.ServerRandom[0] = 7
	b := r.Marshal()
	var got LicenseRequest
	if err := got.Unmarshal(b); err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("%v %+v", err, got)
	}
	c, err := got.ServerCertificate()
	if err != nil || c.Version != CertChainVersion1 || c.Proprietary == nil {
		t.Fatalf("certificate %+v, %v", c, err)
	}
	pub, err := c.PublicKey()
	if err != nil || !pub.Equal(&key.PublicKey) {
		t.Fatalf("key %v, %v", pub, err)
	}
	// Without certificate, key exchange list or scopes, as rdptest sent
	// before it had a key.
	empty := LicenseRequest{CompanyName: "x", ProductID: "y"}
	if err := got.Unmarshal(empty.Marshal()); err != nil || got.Certificate != nil || got.Scopes != nil {
		t.Fatalf("%v %+v", err, got)
	}
	if c, err := got.ServerCertificate(); c != nil || err != nil {
		t.Fatalf("no certificate: %v %v", c, err)
	}
	truncations(t, "LICENSE_REQUEST", b, func(b []byte) error { return new(LicenseRequest).Unmarshal(b) })
}

// TestLicenseRequestXrdp: xrdp's LICENSE_REQUEST carries a 512-bit
// proprietary certificate, KEY_EXCHANGE_ALG_RSA and one scope.
func TestLicenseRequestXrdp(t *testing.T) {
	var r LicenseRequest
	if err := r.Unmarshal(loadHex(t, "license-xrdp-license-request")[19:]); err != nil {
		t.Fatal(err)
	}
	if r.CompanyName != "Microsoft Corporation" || r.ProductID != "236" || !reflect.DeepEqual(r.KeyExchangeAlgs, []uint32{KeyExchangeAlgRSA}) ||
		!reflect.DeepEqual(r.Scopes, []string{"microsoft.com"}) {
		t.Errorf("%+v", r)
	}
	c, err := r.ServerCertificate()
	if err != nil {
		t.Fatal(err)
	}
	if c.Temporary || c.Proprietary == nil || c.Proprietary.PublicKey.KeyLen != 72 || c.Proprietary.PublicKey.BitLen != 512 {
		t.Fatalf("certificate %+v", c)
	}
	pub, err := c.PublicKey()
	if err != nil || pub.N.BitLen() != 511 || pub.E != 65537 || c.ModulusLen() != 64 {
		t.Fatalf("key %v, %v, modulus length %d", pub, err, c.ModulusLen())
	}
	if got := c.Marshal(); !bytes.Equal(got, r.Certificate) {
		t.Errorf("certificate Marshal\n%x\nwant\n%x", got, r.Certificate)
	}
}

// TestServerCertificateStandardRDP reads the proprietary certificate of
// xrdp's TS_UD_SC_SEC1 under Standard RDP Security with the same parser.
func TestServerCertificateStandardRDP(t *testing.T) {
	cr, err := ParseMCSConnectResponse(loadHex(t, "mcs-xrdp-rdp-security-connect-response")[4:])
	if err != nil {
		t.Fatal(err)
	}
	var c ServerCertificate
	if err := c.Unmarshal(cr.Server.Security.Rest[8+32:]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PublicKey(); err != nil {
		t.Fatal(err)
	}
}

func TestServerCertificateMalformed(t *testing.T) {
	key := testKey(t)
	good := NewProprietaryCertificate(&key.PublicKey).Marshal()
	edit := func(f func(b []byte)) []byte {
		b := bytes.Clone(good)
		f(b)
		return b
	}
	const keyAt = 4 + 4 + 4 + 2 + 2 // dwVersion, dwSigAlgId, dwKeyAlgId, wPublicKeyBlobType, wPublicKeyBlobLen
	for name, b := range map[string][]byte{
		"bad magic":           edit(func(b []byte) { b[keyAt] = 'X' }),
		"keylen too big":      edit(func(b []byte) { binary.LittleEndian.PutUint32(b[keyAt+4:], 1000) }),
		"keylen too small":    edit(func(b []byte) { binary.LittleEndian.PutUint32(b[keyAt+4:], 64) }),
		"bitlen over keylen":  edit(func(b []byte) { binary.LittleEndian.PutUint32(b[keyAt+8:], 8*2000) }),
		"bitlen zero":         edit(func(b []byte) { binary.LittleEndian.PutUint32(b[keyAt+8:], 0) }),
		"key blob overruns":   edit(func(b []byte) { binary.LittleEndian.PutUint16(b[keyAt-2:], 0xFFFF) }),
		"wrong key blob type": edit(func(b []byte) { b[keyAt-4] = 7 }),
		"signature overruns":  edit(func(b []byte) { binary.LittleEndian.PutUint16(b[len(b)-72-2:], 73) }),
		"trailing":            append(bytes.Clone(good), 0),
		"version 3":           edit(func(b []byte) { b[0] = 3 }),
		"x509 chain overruns": unhex(t, "0200000001000000ffff0000"),
		"x509 chain of none":  unhex(t, "0200000000000000"),
		"x509 chain too long": unhex(t, "02000000ff000000"),
	} {
		var c ServerCertificate
		if err := c.Unmarshal(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	truncations(t, "SERVER_CERTIFICATE", good, func(b []byte) error { return new(ServerCertificate).Unmarshal(b) })

	// Parses, but the key is unusable.
	for name, b := range map[string][]byte{
		"even modulus": edit(func(b []byte) { b[keyAt+20] &^= 1 }),
		"exponent 1":   edit(func(b []byte) { binary.LittleEndian.PutUint32(b[keyAt+16:], 1) }),
		"zero modulus": edit(func(b []byte) { clear(b[keyAt+20 : len(b)-76]) }),
		// Found by FuzzServerCertificate: a modulus longer than bitlen
		// would not fit the bitlen/8 bytes of ModulusLen.
		"modulus over bitlen": edit(func(b []byte) { binary.LittleEndian.PutUint32(b[keyAt+8:], uint32(8*(key.Size()-1))) }),
	} {
		var c ServerCertificate
		if err := c.Unmarshal(b); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if k, err := c.PublicKey(); err == nil {
			t.Errorf("%s: key %v accepted", name, k)
		}
	}
}

// TestServerCertificateX509 takes the key of an X.509 chain's last
// certificate, also when crypto/x509 does not know its key algorithm (as
// with some Windows licensing certificates).
func TestServerCertificateX509(t *testing.T) {
	key := testKey(t)
	ca := testCertDER(t, testKey(t), "CA")
	leaf := testCertDER(t, key, "licensing")
	c := ServerCertificate{Version: CertChainVersion2, Temporary: true, X509Chain: [][]byte{ca, leaf}}
	var got ServerCertificate
	if err := got.Unmarshal(c.Marshal()); err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("%v %+v", err, got)
	}
	pub, err := got.PublicKey()
	if err != nil || !pub.Equal(&key.PublicKey) {
		t.Fatalf("key %v, %v", pub, err)
	}
	rsaOID := unhex(t, "06092a864886f70d010101")
	if !bytes.Contains(leaf, rsaOID) {
		t.Fatal("no rsaEncryption OID in the certificate")
	}
	odd := bytes.Replace(leaf, rsaOID, unhex(t, "06092a864886f70d010163"), 1)
	if xc, err := x509.ParseCertificate(odd); err == nil && xc.PublicKey != nil {
		t.Fatalf("crypto/x509 still reads the key: %T", xc.PublicKey)
	}
	c.X509Chain[1] = odd
	pub, err = c.PublicKey()
	if err != nil || !pub.Equal(&key.PublicKey) {
		t.Fatalf("fallback key %v, %v", pub, err)
	}
	c.X509Chain[1] = leaf[:len(leaf)/2]
	if _, err := c.PublicKey(); err == nil {
		t.Error("a truncated certificate gave a key")
	}
	truncations(t, "SERVER_CERTIFICATE", c.Marshal(), func(b []byte) error {
		var c ServerCertificate
		if err := c.Unmarshal(b); err != nil {
			return err
		}
		c.PublicKey()               // must not panic
		return errors.New("parsed") // a prefix may parse: only padding went
	})
}

// TestEncryptLE decrypts with the private key: the secret comes back, so
// the byte order (little-endian in and out), the absence of padding and
// the 8 zero bytes are right (MS-RDPBCGR 5.3.4.1).
func TestEncryptLE(t *testing.T) {
	key := testKey(t)
	secret := make([]byte, LicensePremasterSecretLen)
	for i := range secret {
		secret[i] = byte(i + 1)
	}
	c, err := EncryptLE(&key.PublicKey, 0, secret)
	if err != nil {
		t.Fatal(err)
	}
	k := key.Size()
	if len(c) != k+8 || !bytes.Equal(c[k:], make([]byte, 8)) {
		t.Fatalf("%d bytes, padding %x", len(c), c[k:])
	}
	be := bytes.Clone(c[:k])
	slices.Reverse(be)
	m := new(big.Int).Exp(new(big.Int).SetBytes(be), key.D, key.N).FillBytes(make([]byte, k))
	slices.Reverse(m)
	if !bytes.Equal(m[:len(secret)], secret) || !bytes.Equal(m[len(secret):], make([]byte, k-len(secret))) {
		t.Fatalf("decrypted %x", m)
	}
	if _, err := EncryptLE(&key.PublicKey, 0, bytes.Repeat([]byte{0xFF}, k)); err == nil {
		t.Error("a secret above the modulus was encrypted")
	}
	// A proprietary key's bitlen may promise more bytes than the modulus
	// needs: the result fills them.
	if c, err := EncryptLE(&key.PublicKey, k+1, secret); err != nil || len(c) != k+9 || c[k] != 0 {
		t.Errorf("modLen k+1: %d bytes, %v", len(c), err)
	}
	if _, err := EncryptLE(&key.PublicKey, k-1, secret); err == nil {
		t.Error("modLen below the modulus' length accepted")
	}
}

func TestNewLicenseRequest(t *testing.T) {
	key := testKey(t)
	random, premaster := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 48)
	m, err := NewLicenseRequestFor(&key.PublicKey, 0, random, premaster, "labuser", "rdpprobe")
	if err != nil {
		t.Fatal(err)
	}
	b := m.Marshal()
	if b[0] != 0x13 || b[1] != 0x83 || int(binary.LittleEndian.Uint16(b[2:])) != len(b) ||
		binary.LittleEndian.Uint32(b[4:]) != 1 || binary.LittleEndian.Uint32(b[8:]) != 0x04010000 {
		t.Fatalf("preamble and fixed fields: %x", b[:12])
	}
	if !bytes.HasSuffix(b, []byte("\x10\x00\x09\x00rdpprobe\x00")) || !bytes.Contains(b, []byte("\x0f\x00\x08\x00labuser\x00")) {
		t.Errorf("name blobs: %x", b)
	}
	var got NewLicenseRequest
	if err := got.Unmarshal(b); err != nil || !reflect.DeepEqual(&got, m) {
		t.Fatalf("%v %+v", err, got)
	}
	if len(got.EncryptedPremasterSecret) != key.Size()+8 {
		t.Errorf("EncryptedPreMasterSecret of %d bytes", len(got.EncryptedPremasterSecret))
	}
	truncations(t, "NEW_LICENSE_REQUEST", b, func(b []byte) error { return new(NewLicenseRequest).Unmarshal(b) })
	if _, err := NewLicenseRequestFor(&key.PublicKey, 0, random[:31], premaster, "", ""); err == nil {
		t.Error("a short client random was accepted")
	}
}

func TestPlatformChallenge(t *testing.T) {
	m := PlatformChallenge{EncryptedChallenge: LicenseBinaryBlob{Type: BBEncDataBlob, Data: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}}
	m.MAC[15] = 0xAA
	b := m.Marshal()
	var got PlatformChallenge
	if err := got.Unmarshal(b); err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("%v %+v", err, got)
	}
	truncations(t, "PLATFORM_CHALLENGE", b, func(b []byte) error { return new(PlatformChallenge).Unmarshal(b) })
	over := bytes.Clone(b)
	binary.LittleEndian.PutUint16(over[10:], 11) // wBlobLen one more than there is before MACData
	if err := got.Unmarshal(over); !errors.Is(err, ErrMalformed) {
		t.Errorf("blob overrunning MACData: %v", err)
	}
	pdu, err := ParseServerPDU(ServerSendData(1002, 1003, BasicSecurityHeader(SecLicensePkt, b))[4:])
	if err != nil || pdu.Kind != ServerPDULicenseExchange || pdu.Challenge == nil || pdu.LicenseMsgType != PlatformChallengeMsg {
		t.Fatalf("ParseServerPDU %+v, %v", pdu, err)
	}
}

// TestLicenseLengthOverData: every length field of a LICENSE_REQUEST set
// past the end of the message is refused.
func TestLicenseLengthOverData(t *testing.T) {
	r := LicenseRequest{CompanyName: "Microsoft Corporation", ProductID: "A02", KeyExchangeAlgs: []uint32{1},
		Certificate: NewProprietaryCertificate(&testKey(t).PublicKey).Marshal(), Scopes: []string{"microsoft.com"}}
	b := r.Marshal()
	cn := 4 + 32 + 4
	pn := cn + 4 + 44
	kx := pn + 4 + 8
	cert := kx + 4 + 4
	sc := cert + 4 + len(r.Certificate)
	for name, f := range map[string]func(b []byte){
		"cbCompanyName":      func(b []byte) { binary.LittleEndian.PutUint32(b[cn:], 0xFFFFFFFF) },
		"cbProductId":        func(b []byte) { binary.LittleEndian.PutUint32(b[pn:], 1000) },
		"KeyExchangeList":    func(b []byte) { binary.LittleEndian.PutUint16(b[kx+2:], 1000) },
		"KeyExchangeList/4":  func(b []byte) { binary.LittleEndian.PutUint16(b[kx+2:], 3) },
		"ServerCertificate":  func(b []byte) { binary.LittleEndian.PutUint16(b[cert+2:], 0xFFFF) },
		"ScopeCount":         func(b []byte) { binary.LittleEndian.PutUint32(b[sc:], 2) },
		"ScopeCount huge":    func(b []byte) { binary.LittleEndian.PutUint32(b[sc:], 0xFFFFFFFF) },
		"scope blob overrun": func(b []byte) { binary.LittleEndian.PutUint16(b[sc+6:], 100) },
	} {
		c := bytes.Clone(b)
		f(c)
		if err := new(LicenseRequest).Unmarshal(c); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// truncations checks that every proper prefix of a licensing message, with
// wMsgSize as sent and with wMsgSize fixed to the prefix, is refused as
// malformed (parse may return another error for a prefix that parses).
func truncations(t *testing.T, what string, b []byte, parse func([]byte) error) {
	t.Helper()
	for n := range len(b) {
		for _, fix := range []bool{false, true} {
			c := bytes.Clone(b[:n])
			if fix && n >= 4 && c[0] != 2 && c[0] != 1|0x80 {
				binary.LittleEndian.PutUint16(c[2:], uint16(n))
			}
			if err := parse(c); err == nil || (!errors.Is(err, ErrMalformed) && err.Error() != "parsed") {
				t.Fatalf("%s cut to %d bytes (fixed %v): %v", what, n, fix, err)
			}
		}
	}
}

var testKeys = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 1024) })

// testKey is an RSA key shared by the tests (1024 bits: fast, and the
// smallest crypto/rsa generates).
func testKey(t testing.TB) *rsa.PrivateKey {
	k, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testCertDER(t testing.TB, key *rsa.PrivateKey, cn string) []byte {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestLicenseNames(t *testing.T) {
	// Values from MS-RDPBCGR 2.2.1.12.1.1 (bMsgType) and 2.2.1.12.1.3
	// (dwErrorCode, dwStateTransition), not the constants.
	for _, tt := range []struct{ got, want string }{
		{LicenseErrorCode(0x01).String(), "ERR_INVALID_SERVER_CERTIFICATE"},
		{LicenseErrorCode(0x02).String(), "ERR_NO_LICENSE"},
		{LicenseErrorCode(0x03).String(), "ERR_INVALID_MAC"},
		{LicenseErrorCode(0x04).String(), "ERR_INVALID_SCOPE"},
		{LicenseErrorCode(0x06).String(), "ERR_NO_LICENSE_SERVER"},
		{LicenseErrorCode(0x07).String(), "STATUS_VALID_CLIENT"},
		{LicenseErrorCode(0x08).String(), "ERR_INVALID_CLIENT"},
		{LicenseErrorCode(0x0B).String(), "ERR_INVALID_PRODUCTID"},
		{LicenseErrorCode(0x0C).String(), "ERR_INVALID_MESSAGE_LEN"},
		{LicenseErrorCode(5).String(), "LICENSE_ERROR_0x00000005"},
		{LicenseStateTransition(1).String(), "ST_TOTAL_ABORT"},
		{LicenseStateTransition(2).String(), "ST_NO_TRANSITION"},
		{LicenseStateTransition(3).String(), "ST_RESET_PHASE_TO_START"},
		{LicenseStateTransition(4).String(), "ST_RESEND_LAST_MESSAGE"},
		{LicenseStateTransition(0).String(), "ST_0x00000000"},
		{LicenseMsgType(0x01).String(), "LICENSE_REQUEST"},
		{LicenseMsgType(0x02).String(), "PLATFORM_CHALLENGE"},
		{LicenseMsgType(0x03).String(), "NEW_LICENSE"},
		{LicenseMsgType(0x04).String(), "UPGRADE_LICENSE"},
		{LicenseMsgType(0x12).String(), "LICENSE_INFO"},
		{LicenseMsgType(0x13).String(), "NEW_LICENSE_REQUEST"},
		{LicenseMsgType(0x15).String(), "PLATFORM_CHALLENGE_RESPONSE"},
		{LicenseMsgType(0xFF).String(), "ERROR_ALERT"},
		{LicenseMsgType(0x42).String(), "LICENSE_MSG_0x42"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func FuzzLicenseMessages(f *testing.F) {
	f.Add(unhex(f, "ff031000070000000200000004000000"))
	f.Add(loadHex(f, "license-xrdp-license-request")[19:])
	f.Add((&LicenseRequest{CompanyName: "x", ProductID: "y"}).Marshal())
	f.Add((&LicenseErrorMessage{ErrorCode: ErrNoLicenseServer, StateTransition: StTotalAbort, ErrorInfo: LicenseBinaryBlob{Type: BBErrorBlob, Data: []byte{1, 2}}}).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		var m, m2 LicenseErrorMessage
		if err := m.Unmarshal(b); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
		} else if err := m2.Unmarshal(m.Marshal()); err != nil || m2.ErrorCode != m.ErrorCode || m2.StateTransition != m.StateTransition || string(m2.ErrorInfo.Data) != string(m.ErrorInfo.Data) {
			t.Fatalf("round trip %v %+v %+v", err, m, m2)
		}
		var r LicenseRequest
		if err := r.Unmarshal(b); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error does not wrap ErrMalformed: %v", err)
		}
		if _, _, err := ParseLicensePreamble(b); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error does not wrap ErrMalformed: %v", err)
		}
	})
}
