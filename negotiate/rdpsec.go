package negotiate

import (
	"bytes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"math/bits"
)

// Standard RDP Security (MS-RDPBCGR 5.3): the security layer of servers that
// do not negotiate TLS. The client sends a random of its own encrypted under
// the server's RSA key (the Security Exchange PDU, 2.2.1.10); both sides
// derive session keys from the two randoms (5.3.5) and from then on each
// PDU carries a MAC signature and is encrypted with RC4 (5.3.6.1) or, when
// the server selects FIPS, with Triple DES and an HMAC-SHA1 signature
// (5.3.6.2). Nothing in it authenticates the server: the RSA key comes
// without a certificate any client can check, so whoever sits in between
// can substitute its own. rdpprobe speaks it to reach old servers' licensing
// and logon, and says so.
//
// RC4, MD5, SHA-1 and Triple DES are what the protocol fixes; crypto/rc4 and
// crypto/des are used for interoperability, never chosen for new designs.

// Sizes of Standard RDP Security (MS-RDPBCGR 2.2.1.4.3, 2.2.8.1.1.2).
const (
	// RandomLen is the length of the client and the server random.
	RandomLen = 32

	signatureLen      = 8  // dataSignature
	nonFIPSHeaderLen  = 12 // flags, flagsHi, dataSignature (2.2.8.1.1.2.2)
	fipsHeaderLen     = 16 // flags, flagsHi, length, version, padlen, dataSignature (2.2.8.1.1.2.3)
	fipsHeaderLength  = 0x10
	tsFIPSVersion1    = 0x01
	keyUpdateInterval = 4096 // packets per RC4 key (5.3.7)
)

// SecLicenseEncryptSC is SEC_LICENSE_ENCRYPT_SC, the client's half of the
// bit SEC_LICENSE_ENCRYPT_CS is the server's (MS-RDPBCGR 2.2.8.1.1.2.1):
// in the Security Exchange PDU it says the client reads encrypted
// licensing PDUs.
const SecLicenseEncryptSC = SecLicenseEncryptCS

// AllEncryptionMethods is what rdpprobe offers in TS_UD_CS_SEC under
// standard RDP security: every method, so the server's choice shows what it
// is set to (MS-RDPBCGR 2.2.1.3.3, 5.3.2).
const AllEncryptionMethods = EncryptionMethod40Bit | EncryptionMethod56Bit | EncryptionMethod128Bit | EncryptionMethodFIPS

// MACError reports a PDU whose MAC signature does not match its content
// under the session keys (MS-RDPBCGR 5.3.6.1, 5.3.6.2): it was altered on
// the way, or its sender derives or signs differently.
type MACError struct {
	FIPS   bool // the HMAC-SHA1 of 5.3.6.2
	Salted bool // the salted MAC of 5.3.6.1.1 (SEC_SECURE_CHECKSUM)
	Count  uint32
}

func (e *MACError) Error() string {
	kind := "MAC"
	switch {
	case e.FIPS:
		kind = "FIPS HMAC"
	case e.Salted:
		kind = "salted MAC"
	}
	return fmt.Sprintf("rdpsec: the %s signature of encrypted PDU %d does not verify under the session keys", kind, e.Count+1)
}

// ServerRandomAndCertificate reads what follows encryptionMethod and
// encryptionLevel in TS_UD_SC_SEC1 (MS-RDPBCGR 2.2.1.4.3): serverRandomLen
// (32), serverCertLen, the server random and its certificate. Under
// ENCRYPTION_METHOD_NONE there is nothing, and it returns nils.
func (d *ServerSecurityData) ServerRandomAndCertificate() ([]byte, *ServerCertificate, error) {
	if len(d.Rest) == 0 {
		if d.Method != EncryptionMethodNone {
			return nil, nil, fmt.Errorf("gcc: %w: SC_SECURITY selects %s without a server random", ErrMalformed, d.Method)
		}
		return nil, nil, nil
	}
	r := leReader{b: d.Rest}
	rl, cl := r.u32(), r.u32()
	if r.err == nil && rl != RandomLen {
		return nil, nil, fmt.Errorf("gcc: %w: SC_SECURITY serverRandomLen %d, want %d", ErrMalformed, rl, RandomLen)
	}
	random := r.bytes(int(rl), "serverRandom")
	der := r.bytes(int(min(cl, uint32(len(d.Rest)))), "serverCertificate")
	if r.err != nil {
		// Bytes after the certificate are ignored: old servers pad the block.
		return nil, nil, fmt.Errorf("gcc: %w: SC_SECURITY: %s", ErrMalformed, r.err)
	}
	cert := &ServerCertificate{}
	if err := cert.Unmarshal(der); err != nil {
		return nil, nil, err
	}
	return random, cert, nil
}

// NewServerSecurityData is TS_UD_SC_SEC1 with a server random and
// certificate (for tests and fakes).
func NewServerSecurityData(method EncryptionMethod, level EncryptionLevel, random []byte, cert *ServerCertificate) *ServerSecurityData {
	c := cert.Marshal()
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(random)))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(c)))
	b = append(append(b, random...), c...)
	return &ServerSecurityData{Method: method, Level: level, Rest: b}
}

// SecurityExchange is the userData of the Client Security Exchange PDU
// (MS-RDPBCGR 2.2.1.10): a Basic Security Header with SEC_EXCHANGE_PKT
// and TS_SECURITY_PACKET, the client random encrypted under the server's
// RSA key as EncryptLE writes it (the modulus' length, then 8 zero bytes).
type SecurityExchange struct {
	Flags                 SecurityFlags // SEC_EXCHANGE_PKT, optionally SEC_LICENSE_ENCRYPT_SC
	EncryptedClientRandom []byte
}

// maxEncryptedRandom bounds TS_SECURITY_PACKET.length by the largest key
// the probe accepts.
const maxEncryptedRandom = maxRSAKeyBits/8 + rsaModulusPadding

// NewSecurityExchange encrypts clientRandom (RandomLen bytes) under the key
// of cert. SEC_LICENSE_ENCRYPT_SC tells the server the client can read
// encrypted licensing PDUs (2.2.8.1.1.2.1).
func NewSecurityExchange(cert *ServerCertificate, clientRandom []byte) (*SecurityExchange, error) {
	if len(clientRandom) != RandomLen {
		return nil, fmt.Errorf("rdpsec: client random of %d bytes", len(clientRandom))
	}
	pub, err := cert.PublicKey()
	if err != nil {
		return nil, err
	}
	enc, err := EncryptLE(pub, cert.ModulusLen(), clientRandom)
	if err != nil {
		return nil, err
	}
	return &SecurityExchange{Flags: SecExchangePkt | SecLicenseEncryptSC, EncryptedClientRandom: enc}, nil
}

// Marshal returns the userData: security header, length, encrypted random.
func (m *SecurityExchange) Marshal() []byte {
	b := BasicSecurityHeader(m.Flags, nil)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(m.EncryptedClientRandom)))
	return append(b, m.EncryptedClientRandom...)
}

// Unmarshal parses the userData of a Security Exchange PDU.
// EncryptedClientRandom aliases b.
func (m *SecurityExchange) Unmarshal(b []byte) error {
	*m = SecurityExchange{}
	r := leReader{b: b}
	m.Flags = SecurityFlags(r.u16())
	r.u16() // flagsHi
	n := r.u32()
	if r.err == nil && m.Flags&SecExchangePkt == 0 {
		return fmt.Errorf("rdpsec: %w: security header %v without SEC_EXCHANGE_PKT", ErrMalformed, m.Flags)
	}
	if r.err == nil && (n <= rsaModulusPadding || n > maxEncryptedRandom) {
		return fmt.Errorf("rdpsec: %w: TS_SECURITY_PACKET length %d", ErrMalformed, n)
	}
	m.EncryptedClientRandom = r.bytes(int(n), "encryptedClientRandom")
	return r.done("rdpsec", "TS_SECURITY_PACKET")
}

// ClientSecurityExchangePDU returns the whole TPKT of the Client Security
// Exchange PDU: a Send Data Request from the user channel to the I/O
// channel (MS-RDPBCGR 2.2.1.10).
func ClientSecurityExchangePDU(user, ioChannel uint16, m *SecurityExchange) []byte {
	return clientSendData(user, ioChannel, m.Marshal())
}

func clientSendData(user, channel uint16, userData []byte) []byte {
	sd := &SendData{Initiator: user, ChannelID: channel, Priority: 1, Segmentation: SegmentBegin | SegmentEnd, UserData: userData}
	return DataTPDU(sd.Marshal())
}

// StandardSecurity is one side's state of Standard RDP Security after the
// Security Exchange: the session keys of MS-RDPBCGR 5.3.5 and the ciphers,
// signatures and counters of 5.3.6 and 5.3.7. Each direction is a stream:
// Seal and Open must see every encrypted PDU, in order. It is not safe for
// concurrent use.
type StandardSecurity struct {
	method EncryptionMethod

	// Non-FIPS: the MAC key and one RC4 state per direction.
	macKey   []byte
	enc, dec *rc4Stream

	// FIPS: the HMAC key and one Triple DES CBC chain per direction.
	hmacKey          []byte
	fipsEnc, fipsDec cipher.BlockMode

	// sealed and opened count the encrypted PDUs so far (the salted MAC's
	// and the FIPS HMAC's encryptionCount).
	sealed, opened uint32

	// SaltedMAC makes Seal sign with the salted MAC and set
	// SEC_SECURE_CHECKSUM (5.3.6.1.1). Open follows each PDU's flag.
	SaltedMAC bool
}

// rc4Stream is one direction's RC4 key: the first key (which each update
// starts from, 5.3.7), the current one, and how many PDUs it encrypted.
type rc4Stream struct {
	initial, current []byte
	c                *rc4.Cipher
	uses             int
	updates          int
}

// The salts that reduce a key to 40 or 56 bits (5.3.5.1).
var salt40, salt56 = []byte{0xD1, 0x26, 0x9E}, []byte{0xD1}

// Pads of the MAC and the key update (5.3.6.1, 5.3.7).
var (
	pad1 = bytes.Repeat([]byte{0x36}, 40)
	pad2 = bytes.Repeat([]byte{0x5C}, 48)
)

// NewClientSecurity derives the client's keys for method from the two
// randoms (5.3.5); NewServerSecurity the server's, which are the client's
// with encryption and decryption swapped.
func NewClientSecurity(method EncryptionMethod, clientRandom, serverRandom []byte) (*StandardSecurity, error) {
	return newStandardSecurity(method, clientRandom, serverRandom, false)
}

// NewServerSecurity derives the server's keys; see NewClientSecurity.
func NewServerSecurity(method EncryptionMethod, clientRandom, serverRandom []byte) (*StandardSecurity, error) {
	return newStandardSecurity(method, clientRandom, serverRandom, true)
}

func newStandardSecurity(method EncryptionMethod, cr, sr []byte, server bool) (*StandardSecurity, error) {
	if len(cr) != RandomLen || len(sr) != RandomLen {
		return nil, fmt.Errorf("rdpsec: randoms of %d and %d bytes, want %d", len(cr), len(sr), RandomLen)
	}
	s := &StandardSecurity{method: method}
	switch method {
	case EncryptionMethodFIPS:
		return s, s.fipsKeys(cr, sr, server)
	case EncryptionMethod40Bit, EncryptionMethod56Bit, EncryptionMethod128Bit:
	default:
		return nil, fmt.Errorf("rdpsec: no session keys for %s", method)
	}

	// 5.3.5.1: PreMasterSecret, MasterSecret, SessionKeyBlob.
	pre := append(append([]byte{}, cr[:24]...), sr[:24]...)
	master := saltedHashes(pre, cr, sr, "A", "BB", "CCC")
	blob := saltedHashes(master, cr, sr, "X", "YY", "ZZZ")
	mac := blob[:16]
	decrypt := finalHash(blob[16:32], cr, sr) // the client's decryption key
	encrypt := finalHash(blob[32:48], cr, sr)
	if server {
		decrypt, encrypt = encrypt, decrypt
	}
	keyLen := 16
	switch method {
	case EncryptionMethod40Bit:
		keyLen = 8
		for _, k := range [][]byte{mac, decrypt, encrypt} {
			copy(k, salt40)
		}
	case EncryptionMethod56Bit:
		keyLen = 8
		for _, k := range [][]byte{mac, decrypt, encrypt} {
			copy(k, salt56)
		}
	}
	s.macKey = mac[:keyLen]
	var err error
	if s.enc, err = newRC4Stream(encrypt[:keyLen]); err != nil {
		return nil, err
	}
	if s.dec, err = newRC4Stream(decrypt[:keyLen]); err != nil {
		return nil, err
	}
	return s, nil
}

// saltedHashes is SaltedHash(secret, I) for each I, concatenated:
// MD5(secret + SHA1(I + secret + ClientRandom + ServerRandom)) (5.3.5.1).
func saltedHashes(secret, cr, sr []byte, inputs ...string) []byte {
	var out []byte
	for _, in := range inputs {
		h := sha1.New()
		h.Write([]byte(in))
		h.Write(secret)
		h.Write(cr)
		h.Write(sr)
		m := md5.New()
		m.Write(secret)
		m.Write(h.Sum(nil))
		out = m.Sum(out)
	}
	return out
}

// finalHash is MD5(K + ClientRandom + ServerRandom) (5.3.5.1).
func finalHash(k, cr, sr []byte) []byte {
	m := md5.New()
	m.Write(k)
	m.Write(cr)
	m.Write(sr)
	return m.Sum(nil)
}

func newRC4Stream(key []byte) (*rc4Stream, error) {
	c, err := rc4.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return &rc4Stream{initial: append([]byte{}, key...), current: append([]byte{}, key...), c: c}, nil
}

// xor encrypts or decrypts one PDU in place, first updating the key after
// every 4096 PDUs (5.3.7).
func (r *rc4Stream) xor(b []byte, method EncryptionMethod) {
	if r.uses == keyUpdateInterval {
		r.update(method)
	}
	r.c.XORKeyStream(b, b)
	r.uses++
}

// update is 5.3.7: SHA1(initial + pad1 + current), MD5(initial + pad2 +
// that), RC4-encrypted with itself, reduced like the first key.
func (r *rc4Stream) update(method EncryptionMethod) {
	h := sha1.New()
	h.Write(r.initial)
	h.Write(pad1)
	h.Write(r.current)
	m := md5.New()
	m.Write(r.initial)
	m.Write(pad2)
	m.Write(h.Sum(nil))
	k := m.Sum(nil)[:len(r.current)]
	c, _ := rc4.NewCipher(k) // a 8- or 16-byte key is always valid
	c.XORKeyStream(k, k)
	switch method {
	case EncryptionMethod40Bit:
		copy(k, salt40)
	case EncryptionMethod56Bit:
		copy(k, salt56)
	}
	r.current = k
	r.c, _ = rc4.NewCipher(k)
	r.uses = 0
	r.updates++
}

// fipsIV is the Triple DES CBC chain's first IV (MS-RDPBCGR 5.3.6.2).
var fipsIV = []byte{0x12, 0x34, 0x56, 0x78, 0x90, 0xAB, 0xCD, 0xEF}

// fipsKeys is 5.3.5.2: the client's encryption key from the last 128 bits
// of both randoms, its decryption key from the first, each a SHA-1 of 160
// bits plus its own first byte, expanded to a 192-bit Triple DES key; the
// HMAC key is the SHA-1 of both.
func (s *StandardSecurity) fipsKeys(cr, sr []byte, server bool) error {
	t := func(a, b []byte) []byte {
		h := sha1.New()
		h.Write(a)
		h.Write(b)
		k := h.Sum(nil)
		return append(k, k[0])
	}
	encT, decT := t(cr[16:], sr[16:]), t(cr[:16], sr[:16])
	h := sha1.New()
	h.Write(decT[:20])
	h.Write(encT[:20])
	s.hmacKey = h.Sum(nil)
	if server {
		encT, decT = decT, encT
	}
	enc, err := des.NewTripleDESCipher(fipsExpandKey(encT))
	if err != nil {
		return err
	}
	dec, err := des.NewTripleDESCipher(fipsExpandKey(decT))
	if err != nil {
		return err
	}
	s.fipsEnc, s.fipsDec = cipher.NewCBCEncrypter(enc, fipsIV), cipher.NewCBCDecrypter(dec, fipsIV)
	return nil
}

// fipsExpandKey turns 168 bits into a 24-byte Triple DES key (5.3.5.2):
// with each byte's bits reversed, the bits are cut into 24 groups of seven,
// each group becomes a byte with a zero low bit, and each byte is reversed
// again and given odd parity in its low bit, which overwrites the group's
// first bit: 144 of the 168 bits reach the key. This is the expansion
// FreeRDP and xrdp implement; the cross-checks against xfreerdp prove ours
// matches it.
func fipsExpandKey(in []byte) []byte {
	var buf [21]byte
	for i := range buf {
		buf[i] = bits.Reverse8(in[i])
	}
	out := make([]byte, 24)
	for i := range out {
		b := 7 * i
		p, r := b/8, uint(b%8)
		v := buf[p] << r
		if r > 1 {
			v |= buf[p+1] >> (8 - r)
		}
		out[i] = oddParity(bits.Reverse8(v & 0xFE))
	}
	return out
}

// oddParity sets the low bit so that the byte has an odd number of ones.
func oddParity(b byte) byte {
	b &= 0xFE
	if bits.OnesCount8(b)%2 == 0 {
		b |= 1
	}
	return b
}

// Method is the encryption method the keys are for.
func (s *StandardSecurity) Method() EncryptionMethod { return s.method }

// KeyUpdates counts the RC4 key updates so far, both directions together.
func (s *StandardSecurity) KeyUpdates() int {
	if s.enc == nil {
		return 0
	}
	return s.enc.updates + s.dec.updates
}

// HeaderLen is the length of the security header Seal writes: 12 bytes
// (2.2.8.1.1.2.2), 16 under FIPS (2.2.8.1.1.2.3).
func (s *StandardSecurity) HeaderLen() int {
	if s.method == EncryptionMethodFIPS {
		return fipsHeaderLen
	}
	return nonFIPSHeaderLen
}

// Seal returns body signed and encrypted after its security header, whose
// flags are flags with SEC_ENCRYPT (and SEC_SECURE_CHECKSUM when SaltedMAC).
func (s *StandardSecurity) Seal(flags SecurityFlags, body []byte) []byte {
	flags |= SecEncrypt
	if s.method == EncryptionMethodFIPS {
		pad := (8 - len(body)%8) % 8
		b := binary.LittleEndian.AppendUint16(nil, uint16(flags))
		b = binary.LittleEndian.AppendUint16(b, 0)
		b = binary.LittleEndian.AppendUint16(b, fipsHeaderLength)
		b = append(b, tsFIPSVersion1, byte(pad))
		b = append(b, s.fipsSignature(body, s.sealed)...)
		data := append(append(make([]byte, 0, len(body)+pad), body...), make([]byte, pad)...)
		s.fipsEnc.CryptBlocks(data, data)
		s.sealed++
		return append(b, data...)
	}
	if s.SaltedMAC {
		flags |= SecSecureChecksum
	}
	b := binary.LittleEndian.AppendUint16(nil, uint16(flags))
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = append(b, s.macSignature(body, s.SaltedMAC, s.sealed)...)
	n := len(b)
	b = append(b, body...)
	s.enc.xor(b[n:], s.method)
	s.sealed++
	return b
}

// Open reads the security header at the start of userData. With
// SEC_ENCRYPT it decrypts what follows (a copy) and checks its signature,
// returning *MACError when it does not verify; without, it returns the
// bytes after a Basic Security Header as they are.
func (s *StandardSecurity) Open(userData []byte) (SecurityFlags, []byte, error) {
	if len(userData) < basicSecurityHdrLen {
		return 0, nil, fmt.Errorf("rdpsec: %w: %d bytes, want a security header", ErrMalformed, len(userData))
	}
	flags := SecurityFlags(binary.LittleEndian.Uint16(userData))
	if flags&SecEncrypt == 0 {
		return flags, userData[basicSecurityHdrLen:], nil
	}
	if s.method == EncryptionMethodFIPS {
		return s.openFIPS(flags, userData)
	}
	if len(userData) < nonFIPSHeaderLen {
		return flags, nil, fmt.Errorf("rdpsec: %w: encrypted PDU of %d bytes, want a %d-byte security header", ErrMalformed, len(userData), nonFIPSHeaderLen)
	}
	sig := userData[4:nonFIPSHeaderLen]
	data := append([]byte{}, userData[nonFIPSHeaderLen:]...)
	s.dec.xor(data, s.method)
	n := s.opened
	s.opened++
	salted := flags&SecSecureChecksum != 0
	if subtle.ConstantTimeCompare(sig, s.macSignature(data, salted, n)) != 1 {
		return flags, data, &MACError{Salted: salted, Count: n}
	}
	return flags, data, nil
}

func (s *StandardSecurity) openFIPS(flags SecurityFlags, userData []byte) (SecurityFlags, []byte, error) {
	if len(userData) < fipsHeaderLen {
		return flags, nil, fmt.Errorf("rdpsec: %w: FIPS PDU of %d bytes, want a %d-byte security header", ErrMalformed, len(userData), fipsHeaderLen)
	}
	length, version, pad := binary.LittleEndian.Uint16(userData[4:]), userData[6], int(userData[7])
	data := append([]byte{}, userData[fipsHeaderLen:]...)
	switch {
	case length != fipsHeaderLength || version != tsFIPSVersion1:
		return flags, nil, fmt.Errorf("rdpsec: %w: FIPS security header length 0x%04X version %d", ErrMalformed, length, version)
	case len(data)%8 != 0 || pad > 7 || pad > len(data):
		return flags, nil, fmt.Errorf("rdpsec: %w: FIPS PDU of %d bytes with %d bytes of padding", ErrMalformed, len(data), pad)
	}
	s.fipsDec.CryptBlocks(data, data)
	data = data[:len(data)-pad]
	n := s.opened
	s.opened++
	if subtle.ConstantTimeCompare(userData[8:fipsHeaderLen], s.fipsSignature(data, n)) != 1 {
		return flags, data, &MACError{FIPS: true, Count: n}
	}
	return flags, data, nil
}

// macSignature is 5.3.6.1: First64Bits(MD5(MACKey + pad2 + SHA1(MACKey +
// pad1 + length + data [+ encryptionCount]))), the count only for the
// salted MAC (5.3.6.1.1).
func (s *StandardSecurity) macSignature(data []byte, salted bool, count uint32) []byte {
	h := sha1.New()
	h.Write(s.macKey)
	h.Write(pad1)
	h.Write(le32(uint32(len(data))))
	h.Write(data)
	if salted {
		h.Write(le32(count))
	}
	m := md5.New()
	m.Write(s.macKey)
	m.Write(pad2)
	m.Write(h.Sum(nil))
	return m.Sum(nil)[:signatureLen]
}

// fipsSignature is 5.3.6.2.1: First64Bits(HMAC-SHA1(HMACKey, data +
// encryptionCount)).
func (s *StandardSecurity) fipsSignature(data []byte, count uint32) []byte {
	h := hmac.New(sha1.New, s.hmacKey)
	h.Write(data)
	h.Write(le32(count))
	return h.Sum(nil)[:signatureLen]
}

// ClientSecurePDU returns the whole TPKT of a Send Data Request from the
// user channel to channel whose userData is body after a security header
// with flags: sealed by sec when sec is set, else a Basic Security Header.
func ClientSecurePDU(user, channel uint16, flags SecurityFlags, body []byte, sec *StandardSecurity) []byte {
	if sec == nil {
		return clientSendData(user, channel, BasicSecurityHeader(flags, body))
	}
	return clientSendData(user, channel, sec.Seal(flags, body))
}

// ServerSecurePDU is ClientSecurePDU for the server: a Send Data
// Indication from initiator (for tests and fakes).
func ServerSecurePDU(initiator, channel uint16, flags SecurityFlags, body []byte, sec *StandardSecurity) []byte {
	if sec == nil {
		return ServerSendData(initiator, channel, BasicSecurityHeader(flags, body))
	}
	return ServerSendData(initiator, channel, sec.Seal(flags, body))
}
