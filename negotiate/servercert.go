package negotiate

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// The server's certificate (MS-RDPBCGR 2.2.1.4.3.1): in TS_UD_SC_SEC1
// under Standard RDP Security, and in the LICENSE_REQUEST's
// ServerCertificate (MS-RDPELE 2.2.2.1). rdpprobe uses it for one thing:
// the RSA key that encrypts the licensing premaster secret. Signatures are
// not checked: the probe learns nothing from the key but must not send a
// secret, and the premaster is random and thrown away.

// CertChainVersion is SERVER_CERTIFICATE.dwVersion without its "t" bit.
type CertChainVersion uint32

const (
	CertChainVersion1 CertChainVersion = 1 // CERT_CHAIN_VERSION_1: proprietary certificate
	CertChainVersion2 CertChainVersion = 2 // CERT_CHAIN_VERSION_2: X.509 certificate chain

	certTemporary      = 0x80000000 // the "t" bit of dwVersion: a temporary certificate
	signatureAlgRSA    = 1          // SIGNATURE_ALG_RSA
	KeyExchangeAlgRSA  = 1          // KEY_EXCHANGE_ALG_RSA (also MS-RDPELE 2.2.2.1, 2.2.2.2)
	bbRSAKeyBlob       = 0x0006     // BB_RSA_KEY_BLOB
	bbRSASignatureBlob = 0x0008     // BB_RSA_SIGNATURE_BLOB
	rsaMagic           = 0x31415352 // "RSA1"
	rsaKeyHeaderLen    = 20
	rsaModulusPadding  = 8 // zero bytes after the modulus (2.2.1.4.3.1.1.1)

	// Keys the probe accepts: big enough that a 48-byte secret is below
	// the modulus (xrdp's 512-bit key has a 511-bit modulus), small enough
	// to keep the work bounded.
	minRSAKeyBits = 400
	maxRSAKeyBits = 16384
	maxCertBlobs  = 16 // X.509 chain length the parser accepts
)

// RSAPublicKeyBlob is RSA_PUBLIC_KEY (MS-RDPBCGR 2.2.1.4.3.1.1.1).
// Modulus is little-endian, KeyLen bytes including the 8 zero bytes of
// padding.
type RSAPublicKeyBlob struct {
	KeyLen  uint32
	BitLen  uint32
	DataLen uint32
	PubExp  uint32
	Modulus []byte
}

// ProprietaryCertificate is PROPRIETARYSERVERCERTIFICATE (MS-RDPBCGR
// 2.2.1.4.3.1.1).
type ProprietaryCertificate struct {
	SigAlgID  uint32 // SIGNATURE_ALG_RSA
	KeyAlgID  uint32 // KEY_EXCHANGE_ALG_RSA
	PublicKey RSAPublicKeyBlob
	Signature []byte // SignatureBlob
}

// ServerCertificate is SERVER_CERTIFICATE (MS-RDPBCGR 2.2.1.4.3.1): a
// proprietary certificate or an X.509 chain (MS-RDPELE 2.2.1.4.2), whose
// last certificate is the server's.
type ServerCertificate struct {
	Version     CertChainVersion
	Temporary   bool // the "t" bit of dwVersion
	Proprietary *ProprietaryCertificate
	X509Chain   [][]byte // DER, aliasing the parsed bytes
}

// NewProprietaryCertificate wraps pub in a proprietary certificate whose
// signature is zeros (for tests and fakes: nothing checks it).
func NewProprietaryCertificate(pub *rsa.PublicKey) *ServerCertificate {
	k := (pub.N.BitLen() + 7) / 8
	mod := make([]byte, k+rsaModulusPadding)
	pub.N.FillBytes(mod[:k])
	slices.Reverse(mod[:k])
	return &ServerCertificate{Version: CertChainVersion1, Proprietary: &ProprietaryCertificate{
		SigAlgID: signatureAlgRSA, KeyAlgID: KeyExchangeAlgRSA,
		PublicKey: RSAPublicKeyBlob{KeyLen: uint32(len(mod)), BitLen: uint32(8 * k), DataLen: uint32(k - 1),
			PubExp: uint32(pub.E), Modulus: mod},
		Signature: make([]byte, 64+rsaModulusPadding),
	}}
}

// Marshal returns SERVER_CERTIFICATE: a proprietary certificate if
// Proprietary is set, else the X.509 chain with its padding.
func (c *ServerCertificate) Marshal() []byte {
	v := uint32(c.Version)
	if c.Temporary {
		v |= certTemporary
	}
	b := binary.LittleEndian.AppendUint32(nil, v)
	if p := c.Proprietary; p != nil {
		b = binary.LittleEndian.AppendUint32(b, p.SigAlgID)
		b = binary.LittleEndian.AppendUint32(b, p.KeyAlgID)
		k := &p.PublicKey
		b = binary.LittleEndian.AppendUint16(b, bbRSAKeyBlob)
		b = binary.LittleEndian.AppendUint16(b, uint16(rsaKeyHeaderLen+len(k.Modulus)))
		b = binary.LittleEndian.AppendUint32(b, rsaMagic)
		for _, f := range []uint32{k.KeyLen, k.BitLen, k.DataLen, k.PubExp} {
			b = binary.LittleEndian.AppendUint32(b, f)
		}
		b = append(b, k.Modulus...)
		b = binary.LittleEndian.AppendUint16(b, bbRSASignatureBlob)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(p.Signature)))
		return append(b, p.Signature...)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(c.X509Chain)))
	for _, der := range c.X509Chain {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(der)))
		b = append(b, der...)
	}
	return append(b, make([]byte, 8+4*len(c.X509Chain))...) // Padding
}

// Unmarshal parses SERVER_CERTIFICATE. The byte slices alias b. An X.509
// chain may be followed by its padding; a proprietary certificate must
// fill b.
func (c *ServerCertificate) Unmarshal(b []byte) error {
	*c = ServerCertificate{}
	r := leReader{b: b}
	v := r.u32()
	c.Version, c.Temporary = CertChainVersion(v&^certTemporary), v&certTemporary != 0
	if r.err != nil {
		return fmt.Errorf("cert: %w: SERVER_CERTIFICATE: %s", ErrMalformed, r.err)
	}
	switch c.Version {
	case CertChainVersion1:
		p := &ProprietaryCertificate{SigAlgID: r.u32(), KeyAlgID: r.u32()}
		if t := r.u16(); r.err == nil && t != bbRSAKeyBlob {
			return fmt.Errorf("cert: %w: wPublicKeyBlobType 0x%04X, want BB_RSA_KEY_BLOB", ErrMalformed, t)
		}
		key := r.bytes(int(r.u16()), "PublicKeyBlob")
		if t := r.u16(); r.err == nil && t != bbRSASignatureBlob {
			return fmt.Errorf("cert: %w: wSignatureBlobType 0x%04X, want BB_RSA_SIGNATURE_BLOB", ErrMalformed, t)
		}
		p.Signature = r.bytes(int(r.u16()), "SignatureBlob")
		if err := r.done("cert", "PROPRIETARYSERVERCERTIFICATE"); err != nil {
			return err
		}
		if err := p.PublicKey.unmarshal(key); err != nil {
			return err
		}
		c.Proprietary = p
	case CertChainVersion2:
		n := r.u32()
		if r.err == nil && n > maxCertBlobs {
			return fmt.Errorf("cert: %w: NumCertBlobs %d, at most %d", ErrMalformed, n, maxCertBlobs)
		}
		for range n {
			der := r.bytes(int(r.u32()), "abCert")
			if r.err != nil {
				break
			}
			c.X509Chain = append(c.X509Chain, der)
		}
		if r.err != nil {
			return fmt.Errorf("cert: %w: X.509 certificate chain: %s", ErrMalformed, r.err)
		}
		if n == 0 {
			return fmt.Errorf("cert: %w: X.509 certificate chain of no certificate", ErrMalformed)
		}
	default:
		return fmt.Errorf("cert: %w: dwVersion 0x%08X", ErrMalformed, v)
	}
	return nil
}

func (k *RSAPublicKeyBlob) unmarshal(b []byte) error {
	r := leReader{b: b}
	magic := r.u32()
	k.KeyLen, k.BitLen, k.DataLen, k.PubExp = r.u32(), r.u32(), r.u32(), r.u32()
	if r.err == nil && magic != rsaMagic {
		return fmt.Errorf("cert: %w: RSA_PUBLIC_KEY magic 0x%08X, want RSA1", ErrMalformed, magic)
	}
	if r.err == nil && uint64(k.KeyLen) != uint64(len(r.b)) {
		return fmt.Errorf("cert: %w: RSA_PUBLIC_KEY keylen %d, %d bytes of modulus", ErrMalformed, k.KeyLen, len(r.b))
	}
	if r.err == nil && (k.BitLen == 0 || k.BitLen%8 != 0 || uint64(k.BitLen/8) > uint64(k.KeyLen)) {
		return fmt.Errorf("cert: %w: RSA_PUBLIC_KEY bitlen %d with keylen %d", ErrMalformed, k.BitLen, k.KeyLen)
	}
	k.Modulus = r.bytes(len(r.b), "modulus")
	return r.done("cert", "RSA_PUBLIC_KEY")
}

// RSAPublicKey returns the key of a proprietary certificate.
func (k *RSAPublicKeyBlob) RSAPublicKey() (*rsa.PublicKey, error) {
	be := make([]byte, len(k.Modulus))
	copy(be, k.Modulus)
	slices.Reverse(be)
	n := new(big.Int).SetBytes(be)
	if n.BitLen() > int(k.BitLen) {
		return nil, fmt.Errorf("cert: RSA modulus of %d bits, bitlen says %d", n.BitLen(), k.BitLen)
	}
	return checkRSAKey(n, new(big.Int).SetUint64(uint64(k.PubExp)))
}

// ModulusLen is the length of the modulus the server expects an encrypted
// secret to fill (before the 8 zero bytes): bitlen/8 of a proprietary
// certificate, whose modulus may have leading zero bits; for X.509, the
// length of the modulus of PublicKey.
func (c *ServerCertificate) ModulusLen() int {
	if c.Proprietary != nil {
		return int(c.Proprietary.PublicKey.BitLen / 8)
	}
	if k, err := c.PublicKey(); err == nil {
		return (k.N.BitLen() + 7) / 8
	}
	return 0
}

// PublicKey returns the RSA key the client encrypts its secrets with: the
// proprietary certificate's, or that of the chain's last certificate.
// Windows' licensing certificates do not always pass crypto/x509's strict
// checks; then the key is taken from the SubjectPublicKeyInfo by hand.
func (c *ServerCertificate) PublicKey() (*rsa.PublicKey, error) {
	if c.Proprietary != nil {
		return c.Proprietary.PublicKey.RSAPublicKey()
	}
	if len(c.X509Chain) == 0 {
		return nil, errors.New("cert: no certificate")
	}
	der := c.X509Chain[len(c.X509Chain)-1]
	if xc, err := x509.ParseCertificate(der); err == nil {
		if k, ok := xc.PublicKey.(*rsa.PublicKey); ok {
			return checkRSAKey(k.N, big.NewInt(int64(k.E)))
		}
	}
	return rsaKeyFromCertificate(der)
}

// rsaKeyFromCertificate walks an X.509 Certificate (RFC 5280 4.1) to its
// subjectPublicKeyInfo and reads it as an RSAPublicKey (RFC 8017 A.1.1),
// whatever the algorithm identifier says, and takes the integers as
// unsigned (a licensing certificate may omit a modulus' leading zero).
func rsaKeyFromCertificate(der []byte) (*rsa.PublicKey, error) {
	s := cryptobyte.String(der)
	var cert, tbs, spki, bits, key cryptobyte.String
	var n, e []byte
	ok := s.ReadASN1(&cert, cbasn1.SEQUENCE) &&
		cert.ReadASN1(&tbs, cbasn1.SEQUENCE) &&
		tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) &&
		tbs.SkipASN1(cbasn1.INTEGER) && // serialNumber
		tbs.SkipASN1(cbasn1.SEQUENCE) && // signature
		tbs.SkipASN1(cbasn1.SEQUENCE) && // issuer
		tbs.SkipASN1(cbasn1.SEQUENCE) && // validity
		tbs.SkipASN1(cbasn1.SEQUENCE) && // subject
		tbs.ReadASN1(&spki, cbasn1.SEQUENCE) &&
		spki.SkipASN1(cbasn1.SEQUENCE) && // algorithm
		spki.ReadASN1(&bits, cbasn1.BIT_STRING) &&
		len(bits) > 1 && bits[0] == 0 // no unused bits
	if ok {
		bits = bits[1:]
		ok = bits.ReadASN1(&key, cbasn1.SEQUENCE) &&
			key.ReadASN1Bytes(&n, cbasn1.INTEGER) && key.ReadASN1Bytes(&e, cbasn1.INTEGER)
	}
	if !ok {
		return nil, fmt.Errorf("cert: %w: no RSA SubjectPublicKeyInfo in the X.509 certificate", ErrMalformed)
	}
	return checkRSAKey(new(big.Int).SetBytes(n), new(big.Int).SetBytes(e))
}

// checkRSAKey accepts keys of minRSAKeyBits to maxRSAKeyBits with an odd
// exponent above 1 that fits an int.
func checkRSAKey(n, e *big.Int) (*rsa.PublicKey, error) {
	if b := n.BitLen(); b < minRSAKeyBits || b > maxRSAKeyBits || n.Bit(0) == 0 {
		return nil, fmt.Errorf("cert: unusable RSA modulus of %d bits", b)
	}
	if e.BitLen() > 31 || e.Cmp(big.NewInt(3)) < 0 || e.Bit(0) == 0 {
		return nil, fmt.Errorf("cert: unusable RSA exponent %v", e)
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}

// EncryptLE is RDP's RSA encryption of a client secret (MS-RDPBCGR 5.3.4.1,
// MS-RDPELE 5.1.2): msg taken as a little-endian integer m, c = m^e mod
// n with no padding scheme, c written little-endian in modLen bytes (the
// modulus' length, ModulusLen; 0 for the length of n) followed by 8 zero
// bytes. crypto/rsa offers no such raw operation.
func EncryptLE(pub *rsa.PublicKey, modLen int, msg []byte) ([]byte, error) {
	be := make([]byte, len(msg))
	copy(be, msg)
	slices.Reverse(be)
	m := new(big.Int).SetBytes(be)
	if m.Cmp(pub.N) >= 0 {
		return nil, fmt.Errorf("rsa: %d-byte secret does not fit a %d-bit modulus", len(msg), pub.N.BitLen())
	}
	c := new(big.Int).Exp(m, big.NewInt(int64(pub.E)), pub.N)
	k := (pub.N.BitLen() + 7) / 8
	if modLen != 0 {
		if modLen < k || modLen > maxRSAKeyBits/8 {
			return nil, fmt.Errorf("rsa: modulus length %d for a %d-bit modulus", modLen, pub.N.BitLen())
		}
		k = modLen
	}
	out := make([]byte, k+rsaModulusPadding)
	c.FillBytes(out[:k])
	slices.Reverse(out[:k])
	return out, nil
}
