package rdptest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/rdpprobe/rdpprobe/negotiate"
)

// StandardRDPSecurity is the server side of Standard RDP Security
// (MS-RDPBCGR 5.3): the level the server enforces, the encryption methods
// it allows, and the key it proves nothing with. Without a Scenario.Session
// the server answers the Client MCS Connect Initial and waits for the
// client to leave (what --enumerate needs); with one it plays the whole
// session start over the layer: the Security Exchange, the encrypted Client
// Info, licensing and the Session's answer.
type StandardRDPSecurity struct {
	Level negotiate.EncryptionLevel
	// Methods allowed, a set of ENCRYPTION_METHOD_* bits; zero means the
	// methods of Level (MethodsForLevel).
	Methods negotiate.EncryptionMethod

	// X509 sends the key in an X.509 certificate chain (2.2.1.4.3.1.2)
	// instead of a proprietary certificate (2.2.1.4.3.1.1).
	X509 bool
	// KeyBits is the size of the server's RSA modulus; zero means 2048
	// (LicenseKey). Any size from 500 to 4096 works, a multiple of 8 or not
	// (xrdp's 512-bit key has a 511-bit modulus). X509 needs 1024 or more.
	KeyBits int
	// WrongMAC makes every signature the server sends wrong.
	WrongMAC bool
	// SaltedMAC makes the server sign with the salted MAC
	// (SEC_SECURE_CHECKSUM, 5.3.6.1.1).
	SaltedMAC bool
	// EncryptLicensing makes the server say it reads encrypted licensing
	// PDUs (SEC_LICENSE_ENCRYPT_CS) and encrypt its own when the client's
	// Security Exchange said it reads them (SEC_LICENSE_ENCRYPT_SC). Without
	// it licensing goes in the clear, as xrdp does.
	EncryptLicensing bool
	// Flood is a number of harmless PDUs (Set Error Info ERRINFO_NONE) the
	// server sends before licensing: past 4096 the RC4 key is updated
	// (5.3.7).
	Flood int
}

// MethodsForLevel is what Windows allows at each encryption level
// (MS-RDPBCGR 5.3.1): Low and Client Compatible take any RC4 key size,
// High only 128-bit, FIPS only FIPS; None encrypts nothing.
func MethodsForLevel(l negotiate.EncryptionLevel) negotiate.EncryptionMethod {
	switch l {
	case negotiate.EncryptionLevelLow, negotiate.EncryptionLevelClientCompatible:
		return negotiate.EncryptionMethod40Bit | negotiate.EncryptionMethod56Bit | negotiate.EncryptionMethod128Bit
	case negotiate.EncryptionLevelHigh:
		return negotiate.EncryptionMethod128Bit
	case negotiate.EncryptionLevelFIPS:
		return negotiate.EncryptionMethodFIPS
	}
	return negotiate.EncryptionMethodNone
}

// choose returns the method the server selects for the client's
// CS_SECURITY.encryptionMethods: the strongest both allow, NONE at level
// None, and false when they share none (the server then hangs up).
func (sec *StandardRDPSecurity) choose(client uint32) (negotiate.EncryptionMethod, bool) {
	if sec.Level == negotiate.EncryptionLevelNone {
		return negotiate.EncryptionMethodNone, true
	}
	allowed := sec.Methods
	if allowed == 0 {
		allowed = MethodsForLevel(sec.Level)
	}
	for _, m := range []negotiate.EncryptionMethod{negotiate.EncryptionMethodFIPS, negotiate.EncryptionMethod128Bit,
		negotiate.EncryptionMethod56Bit, negotiate.EncryptionMethod40Bit} {
		if allowed&m != 0 && negotiate.EncryptionMethod(client)&m != 0 {
			return m, true
		}
	}
	return 0, false
}

// stdConn is a connection's Standard RDP Security state.
type stdConn struct {
	cfg    *StandardRDPSecurity
	method negotiate.EncryptionMethod
	key    *rsa.PrivateKey
	random []byte
	sec    *negotiate.StandardSecurity // after the Security Exchange
	// clientLicenseSC: the client's Security Exchange had SEC_LICENSE_ENCRYPT_SC.
	clientLicenseSC bool
}

// standardSecurityData picks the method for the client's offer and builds
// TS_UD_SC_SEC1: method and level, and above level None a server random
// and the certificate of the scenario's key. ok is false when the client
// offers no method the server allows.
func (c *conn) standardSecurityData(cfg *StandardRDPSecurity, cd *negotiate.ClientData) (*negotiate.ServerSecurityData, bool, error) {
	method, ok := cfg.choose(cd.EncryptionMethods)
	if !ok {
		c.event(EventError, fmt.Sprintf("no encryption method in common: client offers 0x%08X", cd.EncryptionMethods))
		return nil, false, nil
	}
	c.event(EventSelected, method.String()+" at "+cfg.Level.String())
	c.std = &stdConn{cfg: cfg, method: method}
	if method == negotiate.EncryptionMethodNone {
		return &negotiate.ServerSecurityData{Level: cfg.Level}, true, nil
	}
	key, err := serverKey(cfg.KeyBits)
	if err != nil {
		return nil, false, err
	}
	cert := negotiate.NewProprietaryCertificate(&key.PublicKey)
	if cfg.X509 {
		if cert, err = x509Chain(key); err != nil {
			return nil, false, err
		}
	}
	c.std.key, c.std.random = key, make([]byte, negotiate.RandomLen)
	rand.Read(c.std.random)
	return negotiate.NewServerSecurityData(method, cfg.Level, c.std.random, cert), true, nil
}

// readSecurityExchange reads the client's Security Exchange PDU (2.2.1.10)
// from the I/O channel, decrypts the client random with the server's key
// and derives the server's session keys (5.3.5).
func (c *conn) readSecurityExchange(mcs []byte) error {
	var sd negotiate.SendData
	if err := sd.Unmarshal(mcs); err != nil {
		return fmt.Errorf("Security Exchange PDU: %w", err)
	}
	var m negotiate.SecurityExchange
	if sd.Indication || sd.ChannelID != ioChannel {
		return fmt.Errorf("Security Exchange PDU: not a Send Data Request on the I/O channel")
	}
	if err := m.Unmarshal(sd.UserData); err != nil {
		return fmt.Errorf("Security Exchange PDU: %w", err)
	}
	k := c.std.key.Size()
	if len(m.EncryptedClientRandom) != k+8 || !bytes.Equal(m.EncryptedClientRandom[k:], make([]byte, 8)) {
		return fmt.Errorf("Security Exchange PDU: encrypted client random of %d bytes, want %d ending in 8 zero bytes", len(m.EncryptedClientRandom), k+8)
	}
	random, err := decryptLE(c.std.key, m.EncryptedClientRandom[:k], negotiate.RandomLen)
	if err != nil {
		return fmt.Errorf("Security Exchange PDU: %w", err)
	}
	c.std.clientLicenseSC = m.Flags&negotiate.SecLicenseEncryptSC != 0
	if c.std.sec, err = negotiate.NewServerSecurity(c.std.method, random, c.std.random); err != nil {
		return err
	}
	c.std.sec.SaltedMAC = c.std.cfg.SaltedMAC
	c.event(EventSecurityExchange, fmt.Sprintf("client random decrypted under the %d-bit key; %s keys derived; client reads encrypted licensing: %v",
		c.std.key.N.BitLen(), c.std.method, c.std.clientLicenseSC))
	return nil
}

// openClient reads the security header of a client PDU's userData:
// decrypting and checking the signature under the session keys when it
// says SEC_ENCRYPT. A signature that does not verify is an error (an event
// says so): the client's keys are not the server's.
func (c *conn) openClient(userData []byte) (negotiate.SecurityFlags, []byte, bool, error) {
	if len(userData) < 4 {
		return 0, nil, false, fmt.Errorf("%d bytes, want a security header", len(userData))
	}
	flags := negotiate.SecurityFlags(uint16(userData[0]) | uint16(userData[1])<<8)
	if c.std == nil || c.std.sec == nil || flags&negotiate.SecEncrypt == 0 {
		return flags, userData[4:], false, nil
	}
	flags, body, err := c.std.sec.Open(userData)
	var mac *negotiate.MACError
	if errors.As(err, &mac) {
		c.event(EventError, "the client's signature does not verify: "+err.Error())
	}
	return flags, body, true, err
}

// encryptsToClient says whether the server encrypts what it sends: at
// every level above Low (5.3.1).
func (c *conn) encryptsToClient() bool {
	return c.std != nil && c.std.sec != nil && c.std.cfg.Level > negotiate.EncryptionLevelLow
}

// serverUserData is the userData of a server PDU: body after the security
// header the level calls for. share is a Share Control PDU, which carries
// no header at all where nothing is encrypted (level None, TLS).
func (c *conn) serverUserData(flags negotiate.SecurityFlags, body []byte, share bool) []byte {
	switch {
	case c.encryptsToClient():
		ud := c.std.sec.Seal(flags, body)
		if c.std.cfg.WrongMAC {
			ud[c.std.sec.HeaderLen()-1] ^= 0x55
		}
		return ud
	case share && (c.std == nil || c.std.method == negotiate.EncryptionMethodNone):
		return body
	}
	return negotiate.BasicSecurityHeader(flags, body)
}

// licenseUserData is the userData of a server licensing PDU: encrypted
// when the scenario encrypts licensing and the client reads it, always
// with SEC_LICENSE_ENCRYPT_CS when the scenario reads encrypted licensing.
func (c *conn) licenseUserData(msg []byte) []byte {
	flags := negotiate.SecLicensePkt
	if c.std == nil || !c.std.cfg.EncryptLicensing || c.std.sec == nil {
		return negotiate.BasicSecurityHeader(flags, msg)
	}
	flags |= negotiate.SecLicenseEncryptCS
	if !c.std.clientLicenseSC || !c.encryptsToClient() {
		return negotiate.BasicSecurityHeader(flags, msg)
	}
	return c.serverUserData(flags, msg, false)
}

// standardFlood sends StandardRDPSecurity.Flood's harmless PDUs before
// licensing, each encrypted and signed under the session keys.
func (c *conn) standardFlood() error {
	if c.std == nil || c.std.cfg.Flood == 0 {
		return nil
	}
	pdu := negotiate.ShareDataPDU(serverSource, shareID, negotiate.PDUType2SetErrorInfo, negotiate.ErrInfoNone.Marshal())
	for i := range c.std.cfg.Flood {
		if _, err := c.rw.Write(negotiate.ServerSendData(serverSource, ioChannel, c.serverUserData(0, pdu, true))); err != nil {
			return fmt.Errorf("flood PDU %d: %w", i, err)
		}
	}
	c.event(EventSession, fmt.Sprintf("%d Set Error Info ERRINFO_NONE PDUs (%d RC4 key updates so far)", c.std.cfg.Flood, c.std.sec.KeyUpdates()))
	return nil
}

// serverKeys holds the odd-sized keys made so far, by size: a prime search
// per size and process.
var serverKeys sync.Map

// serverKey is the server's RSA key of bits bits: LicenseKey for 0 or
// 2048, otherwise a key of exactly that modulus size, made once. Keys below
// crypto/rsa's minimum are built from primes here; only their public half
// and textbook decryption are ever used.
func serverKey(bits int) (*rsa.PrivateKey, error) {
	if bits == 0 || bits == 2048 {
		return LicenseKey(), nil
	}
	if bits < 500 || bits > 4096 {
		return nil, fmt.Errorf("rdptest: RSA key of %d bits, want 500 to 4096", bits)
	}
	if k, ok := serverKeys.Load(bits); ok {
		return k.(*rsa.PrivateKey), nil
	}
	e := big.NewInt(65537)
	one := big.NewInt(1)
	for {
		// rand.Prime sets each prime's top two bits, so the product has
		// exactly bits bits.
		p, err := rand.Prime(rand.Reader, bits/2)
		if err != nil {
			return nil, err
		}
		q, err := rand.Prime(rand.Reader, bits-bits/2)
		if err != nil {
			return nil, err
		}
		n := new(big.Int).Mul(p, q)
		phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
		d := new(big.Int).ModInverse(e, phi)
		if n.BitLen() != bits || d == nil {
			continue
		}
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: 65537}, D: d, Primes: []*big.Int{p, q}}
		actual, _ := serverKeys.LoadOrStore(bits, k)
		return actual.(*rsa.PrivateKey), nil
	}
}

// decryptLE undoes negotiate.EncryptLE: the little-endian ciphertext (the
// modulus' length, padding removed) raised to d, a secret of n bytes.
func decryptLE(key *rsa.PrivateKey, enc []byte, n int) ([]byte, error) {
	c := slices.Clone(enc)
	slices.Reverse(c)
	m := new(big.Int).Exp(new(big.Int).SetBytes(c), key.D, key.N)
	if m.BitLen() > 8*n {
		return nil, fmt.Errorf("the secret decrypts to %d bits, not %d bytes (byte order or padding wrong)", m.BitLen(), n)
	}
	out := make([]byte, n)
	m.FillBytes(out)
	slices.Reverse(out)
	return out, nil
}

// x509Chain is a two-certificate chain for key (a CA, then the server's
// certificate it signed), as a SERVER_CERTIFICATE of CERT_CHAIN_VERSION_2.
func x509Chain(key *rsa.PrivateKey) (*negotiate.ServerCertificate, error) {
	if key.N.BitLen() < 1024 {
		return nil, fmt.Errorf("rdptest: an X.509 chain needs a key of 1024 bits or more, not %d", key.N.BitLen())
	}
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rdptest licensing CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "RDS01"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return &negotiate.ServerCertificate{Version: negotiate.CertChainVersion2, X509Chain: [][]byte{caDER, leafDER}}, nil
}
