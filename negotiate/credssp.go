package negotiate

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"io"

	"github.com/rdpprobe/rdpprobe/internal/utf16le"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// credTypePassword is TSCredentials.credType for TSPasswordCreds (MS-CSSP 2.2.1.2).
const credTypePassword = 1

func ctxTag(n uint8) cbasn1.Tag { return cbasn1.Tag(n).ContextSpecific().Constructed() }

// TSRequest is the CredSSP message (MS-CSSP 2.2.1):
//
//	TSRequest ::= SEQUENCE {
//	    version     [0] INTEGER,
//	    negoTokens  [1] NegoData    OPTIONAL,
//	    authInfo    [2] OCTET STRING OPTIONAL,
//	    pubKeyAuth  [3] OCTET STRING OPTIONAL,
//	    errorCode   [4] INTEGER     OPTIONAL,
//	    clientNonce [5] OCTET STRING OPTIONAL }
//
// Marshal omits nil or empty fields; Unmarshal copies what it keeps.
type TSRequest struct {
	Version     int
	NegoTokens  [][]byte
	AuthInfo    []byte
	PubKeyAuth  []byte
	ErrorCode   *NTStatus
	ClientNonce []byte
}

// Marshal encodes m as DER. ErrorCode is written as the INTEGER of its
// int32 reading (0xC000006D becomes C0 00 00 6D), as Windows does.
func (m *TSRequest) Marshal() ([]byte, error) {
	if m.Version < 0 {
		return nil, fmt.Errorf("credssp: TSRequest version %d is negative", m.Version)
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(ctxTag(0), func(b *cryptobyte.Builder) { b.AddASN1Int64(int64(m.Version)) })
		if len(m.NegoTokens) > 0 {
			b.AddASN1(ctxTag(1), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					for _, t := range m.NegoTokens {
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							addExplicitOctets(b, 0, t)
						})
					}
				})
			})
		}
		if len(m.AuthInfo) > 0 {
			addExplicitOctets(b, 2, m.AuthInfo)
		}
		if len(m.PubKeyAuth) > 0 {
			addExplicitOctets(b, 3, m.PubKeyAuth)
		}
		if m.ErrorCode != nil {
			b.AddASN1(ctxTag(4), func(b *cryptobyte.Builder) { b.AddASN1Int64(int64(int32(*m.ErrorCode))) })
		}
		if len(m.ClientNonce) > 0 {
			addExplicitOctets(b, 5, m.ClientNonce)
		}
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("credssp: encode TSRequest: %w", err)
	}
	return out, nil
}

func addExplicitOctets(b *cryptobyte.Builder, n uint8, v []byte) {
	b.AddASN1(ctxTag(n), func(b *cryptobyte.Builder) { b.AddASN1OctetString(v) })
}

// Unmarshal parses a TSRequest. It reads BER leniently: definite lengths in
// short or long form (up to 4 length octets, not necessarily minimal) and
// fields in any order; unknown context tags [6] and up are skipped.
func (m *TSRequest) Unmarshal(b []byte) error {
	*m = TSRequest{}
	in := cryptobyte.String(b)
	seq, err := expectTLV(&in, berSequence, "TSRequest")
	if err != nil {
		return err
	}
	if !in.Empty() {
		return fmt.Errorf("credssp: %w: %d bytes after TSRequest", ErrMalformed, len(in))
	}
	var seen uint8
	for !seq.Empty() {
		tag, field, err := readTLV(&seq, "TSRequest field")
		if err != nil {
			return err
		}
		if tag&0xC0 != berContext {
			return fmt.Errorf("credssp: %w: TSRequest field tag 0x%02x is not context-specific", ErrMalformed, tag)
		}
		n := tag & 0x1F
		if n > 5 {
			continue // a newer version's field
		}
		what := tsRequestFields[n]
		if tag&berConstructed == 0 {
			return fmt.Errorf("credssp: %w: TSRequest %s is not an explicit (constructed) tag", ErrMalformed, what)
		}
		if seen&(1<<n) != 0 {
			return fmt.Errorf("credssp: %w: TSRequest %s repeated", ErrMalformed, what)
		}
		seen |= 1 << n
		switch n {
		case 0:
			v, err := readInteger(&field, what)
			if err != nil {
				return err
			}
			if v < 0 || int64(int(v)) != v {
				return fmt.Errorf("credssp: %w: TSRequest version %d", ErrMalformed, v)
			}
			m.Version = int(v)
		case 1:
			if m.NegoTokens, err = readNegoData(&field); err != nil {
				return err
			}
		case 2:
			m.AuthInfo, err = readOctets(&field, what)
		case 3:
			m.PubKeyAuth, err = readOctets(&field, what)
		case 4:
			var v int64
			if v, err = readInteger(&field, what); err == nil {
				if v < -1<<31 || v > 1<<32-1 {
					return fmt.Errorf("credssp: %w: TSRequest errorCode %d does not fit 32 bits", ErrMalformed, v)
				}
				s := NTStatus(uint32(v))
				m.ErrorCode = &s
			}
		case 5:
			m.ClientNonce, err = readOctets(&field, what)
		}
		if err != nil {
			return err
		}
		if !field.Empty() {
			return fmt.Errorf("credssp: %w: %d extra bytes in TSRequest %s", ErrMalformed, len(field), what)
		}
	}
	if seen&1 == 0 {
		return fmt.Errorf("credssp: %w: TSRequest without [0] version", ErrMalformed)
	}
	return nil
}

var tsRequestFields = [...]string{"[0] version", "[1] negoTokens", "[2] authInfo", "[3] pubKeyAuth", "[4] errorCode", "[5] clientNonce"}

// readNegoData reads NegoData ::= SEQUENCE OF SEQUENCE { negoToken [0] OCTET STRING }.
func readNegoData(s *cryptobyte.String) ([][]byte, error) {
	seq, err := expectTLV(s, berSequence, "NegoData")
	if err != nil {
		return nil, err
	}
	var tokens [][]byte
	for !seq.Empty() {
		item, err := expectTLV(&seq, berSequence, "NegoDataItem")
		if err != nil {
			return nil, err
		}
		tok, err := expectTLV(&item, berContext|berConstructed|0, "NegoDataItem [0] negoToken")
		if err != nil {
			return nil, err
		}
		t, err := readOctets(&tok, "negoToken")
		if err != nil {
			return nil, err
		}
		if !tok.Empty() || !item.Empty() {
			return nil, fmt.Errorf("credssp: %w: extra bytes in NegoDataItem", ErrMalformed)
		}
		tokens = append(tokens, t)
	}
	return tokens, nil
}

// readTLV reads one BER TLV with a definite length (X.690 8.1.3) of at
// most 4 length octets, minimal or not, that fits in s.
func readTLV(s *cryptobyte.String, what string) (tag uint8, body cryptobyte.String, err error) {
	var l0 uint8
	if !s.ReadUint8(&tag) || !s.ReadUint8(&l0) {
		return 0, nil, fmt.Errorf("credssp: %w: %s: truncated header", ErrMalformed, what)
	}
	if tag&0x1F == 0x1F {
		return 0, nil, fmt.Errorf("credssp: %w: %s: multi-byte tag 0x%02x", ErrMalformed, what, tag)
	}
	n := uint64(l0)
	if l0 >= 0x80 {
		k := int(l0 & 0x7F)
		if k == 0 {
			return 0, nil, fmt.Errorf("credssp: %w: %s: indefinite length", ErrMalformed, what)
		}
		var lb []byte
		if k > 4 || !s.ReadBytes(&lb, k) {
			return 0, nil, fmt.Errorf("credssp: %w: %s: bad long-form length 0x%02x", ErrMalformed, what, l0)
		}
		n = 0
		for _, c := range lb {
			n = n<<8 | uint64(c)
		}
	}
	if n > uint64(len(*s)) {
		return 0, nil, fmt.Errorf("credssp: %w: %s: length %d exceeds the %d bytes left", ErrMalformed, what, n, len(*s))
	}
	var v []byte
	s.ReadBytes(&v, int(n))
	return tag, cryptobyte.String(v), nil
}

func expectTLV(s *cryptobyte.String, want uint8, what string) (cryptobyte.String, error) {
	tag, body, err := readTLV(s, what)
	if err != nil {
		return nil, err
	}
	if tag != want {
		return nil, fmt.Errorf("credssp: %w: %s: tag 0x%02x, want 0x%02x", ErrMalformed, what, tag, want)
	}
	return body, nil
}

// readOctets reads a primitive OCTET STRING and returns a copy of it.
func readOctets(s *cryptobyte.String, what string) ([]byte, error) {
	v, err := expectTLV(s, berOctetString, what)
	if err != nil {
		return nil, err
	}
	return bytes.Clone([]byte(v)), nil
}

// readInteger reads an INTEGER that fits int64, accepting redundant
// leading sign octets (00 C0 00 00 6D).
func readInteger(s *cryptobyte.String, what string) (int64, error) {
	v, err := expectTLV(s, berInteger, what)
	if err != nil {
		return 0, err
	}
	if len(v) == 0 {
		return 0, fmt.Errorf("credssp: %w: %s: empty INTEGER", ErrMalformed, what)
	}
	for len(v) > 1 && (v[0] == 0x00 && v[1]&0x80 == 0 || v[0] == 0xFF && v[1]&0x80 != 0) {
		v = v[1:]
	}
	if len(v) > 8 {
		return 0, fmt.Errorf("credssp: %w: %s: INTEGER of %d bytes", ErrMalformed, what, len(v))
	}
	var x int64
	if v[0]&0x80 != 0 {
		x = -1
	}
	for _, c := range v {
		x = x<<8 | int64(c)
	}
	return x, nil
}

// ReadTSRequest reads one BER-encoded TSRequest of at most max bytes
// (header included) and returns its bytes. It checks the length against
// max before allocating.
func ReadTSRequest(r io.Reader, max int) ([]byte, error) {
	var hdr [6]byte
	if _, err := io.ReadFull(r, hdr[:2]); err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("credssp: read TSRequest header: %w", err)
	}
	if hdr[0] != berSequence {
		return nil, fmt.Errorf("credssp: %w: TSRequest starts with 0x%02x, want SEQUENCE (0x30)", ErrMalformed, hdr[0])
	}
	hlen, n := 2, uint64(hdr[1])
	if hdr[1] >= 0x80 {
		k := int(hdr[1] & 0x7F)
		if k == 0 || k > 4 {
			return nil, fmt.Errorf("credssp: %w: TSRequest length octet 0x%02x", ErrMalformed, hdr[1])
		}
		if _, err := io.ReadFull(r, hdr[2:2+k]); err != nil {
			return nil, fmt.Errorf("credssp: read TSRequest header: %w", noEOF(err))
		}
		hlen, n = 2+k, 0
		for _, c := range hdr[2 : 2+k] {
			n = n<<8 | uint64(c)
		}
	}
	if n > uint64(max) || uint64(hlen)+n > uint64(max) {
		return nil, fmt.Errorf("credssp: %w: TSRequest of %d bytes exceeds limit %d", ErrMalformed, uint64(hlen)+n, max)
	}
	out := make([]byte, hlen+int(n))
	copy(out, hdr[:hlen])
	if _, err := io.ReadFull(r, out[hlen:]); err != nil {
		return nil, fmt.Errorf("credssp: read TSRequest body: %w", noEOF(err))
	}
	return out, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// TSCredentials carries a password logon (MS-CSSP 2.2.1.2, 2.2.1.2.1):
//
//	TSCredentials ::= SEQUENCE { credType [0] INTEGER, credentials [1] OCTET STRING }
//	TSPasswordCreds ::= SEQUENCE {
//	    domainName [0] OCTET STRING, userName [1] OCTET STRING, password [2] OCTET STRING }
//
// The strings travel as UTF-16LE. The password never appears in String or errors.
type TSCredentials struct{ Domain, User, Password string }

// String shows domain and user, and only whether a password is set.
func (c TSCredentials) String() string {
	pw := `""`
	if c.Password != "" {
		pw = "<redacted>"
	}
	return fmt.Sprintf("TSCredentials{Domain: %q, User: %q, Password: %s}", c.Domain, c.User, pw)
}

// GoString keeps %#v from printing the password.
func (c TSCredentials) GoString() string { return c.String() }

// Marshal encodes c as DER TSCredentials with credType 1 (password).
func (c *TSCredentials) Marshal() ([]byte, error) {
	dom, user, pw := utf16le.Encode(c.Domain), utf16le.Encode(c.User), utf16le.Encode(c.Password)
	defer clear(pw)
	var inner cryptobyte.Builder
	inner.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addExplicitOctets(b, 0, dom)
		addExplicitOctets(b, 1, user)
		addExplicitOctets(b, 2, pw)
	})
	creds, err := inner.Bytes()
	if err != nil {
		return nil, fmt.Errorf("credssp: encode TSPasswordCreds: %w", err)
	}
	defer clear(creds)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(ctxTag(0), func(b *cryptobyte.Builder) { b.AddASN1Int64(credTypePassword) })
		addExplicitOctets(b, 1, creds)
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("credssp: encode TSCredentials: %w", err)
	}
	return out, nil
}

// Unmarshal parses TSCredentials holding TSPasswordCreds.
func (c *TSCredentials) Unmarshal(b []byte) error {
	*c = TSCredentials{}
	in := cryptobyte.String(b)
	seq, err := expectTLV(&in, berSequence, "TSCredentials")
	if err != nil {
		return err
	}
	if !in.Empty() {
		return fmt.Errorf("credssp: %w: %d bytes after TSCredentials", ErrMalformed, len(in))
	}
	f0, err := expectTLV(&seq, berContext|berConstructed|0, "TSCredentials [0] credType")
	if err != nil {
		return err
	}
	typ, err := readInteger(&f0, "TSCredentials credType")
	if err != nil {
		return err
	}
	if !f0.Empty() {
		return fmt.Errorf("credssp: %w: extra bytes in TSCredentials [0] credType", ErrMalformed)
	}
	if typ != credTypePassword {
		return fmt.Errorf("credssp: %w: TSCredentials credType %d, only 1 (password) is supported", ErrMalformed, typ)
	}
	f1, err := expectTLV(&seq, berContext|berConstructed|1, "TSCredentials [1] credentials")
	if err != nil {
		return err
	}
	inner, err := expectTLV(&f1, berOctetString, "TSCredentials credentials")
	if err != nil {
		return err
	}
	if !f1.Empty() || !seq.Empty() {
		return fmt.Errorf("credssp: %w: extra bytes in TSCredentials", ErrMalformed)
	}
	pc, err := expectTLV(&inner, berSequence, "TSPasswordCreds")
	if err != nil {
		return err
	}
	if !inner.Empty() {
		return fmt.Errorf("credssp: %w: %d bytes after TSPasswordCreds", ErrMalformed, len(inner))
	}
	var out [3]string
	for i, what := range [3]string{"TSPasswordCreds [0] domainName", "TSPasswordCreds [1] userName", "TSPasswordCreds [2] password"} {
		f, err := expectTLV(&pc, berContext|berConstructed|uint8(i), what)
		if err != nil {
			return err
		}
		v, err := expectTLV(&f, berOctetString, what)
		if err != nil {
			return err
		}
		if !f.Empty() {
			return fmt.Errorf("credssp: %w: extra bytes in %s", ErrMalformed, what)
		}
		if len(v)%2 != 0 {
			return fmt.Errorf("credssp: %w: %s has odd UTF-16LE length", ErrMalformed, what)
		}
		out[i] = utf16le.Decode(v)
	}
	if !pc.Empty() {
		return fmt.Errorf("credssp: %w: extra bytes in TSPasswordCreds", ErrMalformed)
	}
	c.Domain, c.User, c.Password = out[0], out[1], out[2]
	return nil
}

// SubjectPublicKey returns the subjectPublicKey BIT STRING contents of the
// certificate: what MS-CSSP 3.1.5 binds the logon to (for RSA, the
// RSAPublicKey DER, not the whole SubjectPublicKeyInfo). The error names no
// layer ("unreadable public key: ..."): the caller says whose certificate it
// read.
func SubjectPublicKey(c *x509.Certificate) ([]byte, error) {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	rest, err := asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &spki)
	if err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("unreadable public key: %v", err)
	}
	return spki.PublicKey.Bytes, nil
}

// Binding hash magics (MS-CSSP 3.1.5), NUL included.
const (
	clientServerMagic = "CredSSP Client-To-Server Binding Hash\x00"
	serverClientMagic = "CredSSP Server-To-Client Binding Hash\x00"
)

// ClientServerHash is the pubKeyAuth the client sends for CredSSP v5+:
// SHA-256(magic || nonce || subjectPublicKey) (MS-CSSP 3.1.5).
func ClientServerHash(nonce, subjectPublicKey []byte) []byte {
	return bindingHash(clientServerMagic, nonce, subjectPublicKey)
}

// ServerClientHash is the pubKeyAuth the server answers with for CredSSP v5+.
func ServerClientHash(nonce, subjectPublicKey []byte) []byte {
	return bindingHash(serverClientMagic, nonce, subjectPublicKey)
}

func bindingHash(magic string, nonce, spk []byte) []byte {
	h := sha256.New()
	h.Write([]byte(magic))
	h.Write(nonce)
	h.Write(spk)
	return h.Sum(nil)
}
