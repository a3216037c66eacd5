package krb5

import (
	"crypto/subtle"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jcmturner/gokrb5/v8/types"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// OIDKerberos is the Kerberos V5 GSS-API mechanism (RFC 1964, 4121); the
// inner tokens carry it even when SPNEGO chose Microsoft's OID.
var OIDKerberos = asn1.ObjectIdentifier{1, 2, 840, 113554, 1, 2, 2}

// TOK_ID values (RFC 4121 4.1, 4.2.6).
const (
	tokAPReq    uint16 = 0x0100
	tokAPRep    uint16 = 0x0200
	tokKRBError uint16 = 0x0300
	tokMIC      uint16 = 0x0404
	tokWrap     uint16 = 0x0504
)

// GSSFlags are the context flags of the authenticator checksum (RFC 4121
// 4.1.1.1).
type GSSFlags uint32

// The flags.
const (
	GSSDeleg    GSSFlags = 1
	GSSMutual   GSSFlags = 2
	GSSReplay   GSSFlags = 4
	GSSSequence GSSFlags = 8
	GSSConf     GSSFlags = 16
	GSSInteg    GSSFlags = 32
)

// DefaultGSSFlags is what CredSSP asks: mutual authentication, replay and
// sequence detection, confidentiality, integrity; no delegation.
const DefaultGSSFlags = GSSMutual | GSSReplay | GSSSequence | GSSConf | GSSInteg

// gssChecksumType is the authenticator checksum type of RFC 4121 4.1.1.
const gssChecksumType = 0x8003

// frameGSS wraps a Kerberos message as an InitialContextToken-style token
// (RFC 2743 3.1, RFC 4121 4.1): 60 len OID TOK_ID message.
func frameGSS(tokID uint16, msg []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.Tag(0x60), func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(OIDKerberos)
		b.AddUint16(tokID)
		b.AddBytes(msg)
	})
	return b.BytesOrPanic()
}

// UnframeGSS reads a framed Kerberos token: its TOK_ID and message. A bare
// Kerberos message (an AP-REP or KRB-ERROR without the wrapper, as some
// servers send) is given the TOK_ID its APPLICATION tag implies.
func UnframeGSS(b []byte) (tokID uint16, msg []byte, err error) {
	in := cryptobyte.String(b)
	if len(b) > 0 {
		switch b[0] {
		case 0x60 | 0x20 | msgAPReq:
			return tokAPReq, b, nil
		case 0x60 | 0x20 | msgAPRep:
			return tokAPRep, b, nil
		case 0x60 | 0x20 | msgError:
			return tokKRBError, b, nil
		}
	}
	var w cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !in.ReadASN1(&w, cbasn1.Tag(0x60)) || !in.Empty() || !w.ReadASN1ObjectIdentifier(&oid) || !w.ReadUint16(&tokID) {
		return 0, nil, errMalformed("GSS token", "not a framed Kerberos token")
	}
	if !oid.Equal(OIDKerberos) {
		return 0, nil, errMalformed("GSS token", "mechanism %s is not Kerberos", oid)
	}
	return tokID, []byte(w), nil
}

// gssChecksum is the authenticator checksum of RFC 4121 4.1.1: Lgth 16,
// Bnd (no channel bindings: zeros; CredSSP binds to TLS itself), Flags.
func gssChecksum(flags GSSFlags) types.Checksum {
	v := make([]byte, 24)
	binary.LittleEndian.PutUint32(v, 16)
	binary.LittleEndian.PutUint32(v[20:], uint32(flags&^GSSDeleg))
	return types.Checksum{CksumType: gssChecksumType, Checksum: v}
}

// parseGSSChecksum reads the flags of an 0x8003 checksum.
func parseGSSChecksum(c types.Checksum) (GSSFlags, error) {
	if c.CksumType != gssChecksumType {
		return 0, fmt.Errorf("checksum type %d, want %#x", c.CksumType, gssChecksumType)
	}
	if len(c.Checksum) < 24 || binary.LittleEndian.Uint32(c.Checksum) != 16 {
		return 0, fmt.Errorf("GSS checksum of %d bytes", len(c.Checksum))
	}
	return GSSFlags(binary.LittleEndian.Uint32(c.Checksum[20:])), nil
}

// Wrap and MIC token flags (RFC 4121 4.2.2).
const (
	flagSentByAcceptor = 0x01
	flagSealed         = 0x02
	flagAcceptorSubkey = 0x04
)

// Key usages of RFC 4121 2.
const (
	usageAcceptorSeal  = 22
	usageAcceptorSign  = 23
	usageInitiatorSeal = 24
	usageInitiatorSign = 25
)

// WindowsRRC is the Right Rotation Count Windows CredSSP sends with AES
// (MS-KILE 3.4.5.4.1: 28 with confidentiality = the 16-octet encrypted
// header copy and the 12-octet HMAC, so that the data can be decrypted in
// place).
const WindowsRRC = 28

// ErrBadToken is wrapped when a Wrap or MIC token does not verify.
var ErrBadToken = errors.New("krb5: GSS token does not verify")

// Context is an established Kerberos GSS context (RFC 4121): the key, the
// sequence numbers, and our role. Wrap seals (CredSSP's pubKeyAuth and
// authInfo), MIC signs (SPNEGO's mechListMIC). Not safe for concurrent use.
type Context struct {
	initiator      bool
	key            types.EncryptionKey
	acceptorSubkey bool
	sendSeq        uint64
	recvSeq        uint64
	// RRC is the rotation of the Wrap tokens we send (WindowsRRC by default).
	RRC uint16

	// Facts for the report.
	KeyEType       int32 // etype of the context key
	AcceptorSubkey bool  // the acceptor sent a subkey, which protects the tokens
	Flags          GSSFlags
	ClientName     string // user@REALM
}

func newContext(initiator bool, key types.EncryptionKey, acceptorSubkey bool, send, recv uint64) *Context {
	k := key
	k.KeyValue = append([]byte(nil), key.KeyValue...)
	return &Context{initiator: initiator, key: k, acceptorSubkey: acceptorSubkey, sendSeq: send, recvSeq: recv,
		RRC: WindowsRRC, KeyEType: key.KeyType, AcceptorSubkey: acceptorSubkey}
}

// Zero overwrites the context key.
func (c *Context) Zero() { zero(&c.key) }

func (c *Context) usages() (sealOut, sealIn, signOut, signIn uint32) {
	if c.initiator {
		return usageInitiatorSeal, usageAcceptorSeal, usageInitiatorSign, usageAcceptorSign
	}
	return usageAcceptorSeal, usageInitiatorSeal, usageAcceptorSign, usageInitiatorSign
}

func (c *Context) outFlags() byte {
	var f byte
	if !c.initiator {
		f |= flagSentByAcceptor
	}
	if c.acceptorSubkey {
		f |= flagAcceptorSubkey
	}
	return f
}

// checkInFlags checks the direction and key flags of a peer's token.
func (c *Context) checkInFlags(f byte) error {
	if (f&flagSentByAcceptor != 0) != c.initiator {
		return fmt.Errorf("%w: SentByAcceptor flag %v in a token from the %s", ErrBadToken, f&flagSentByAcceptor != 0, peerRole(c.initiator))
	}
	if (f&flagAcceptorSubkey != 0) != c.acceptorSubkey {
		return fmt.Errorf("%w: AcceptorSubkey flag %v, but the context %s an acceptor subkey", ErrBadToken,
			f&flagAcceptorSubkey != 0, map[bool]string{true: "has", false: "has no"}[c.acceptorSubkey])
	}
	return nil
}

func peerRole(initiator bool) string {
	if initiator {
		return "acceptor"
	}
	return "initiator"
}

// checkSeq refuses a replayed or reordered token: a sequence number below
// the next expected one. A gap is allowed (peers differ in whether a MIC
// consumes a number).
func (c *Context) checkSeq(seq uint64) error {
	if seq < c.recvSeq {
		return fmt.Errorf("%w: sequence number %d, expected %d or later", ErrBadToken, seq, c.recvSeq)
	}
	return nil
}

func rotateRight(b []byte, n int) []byte {
	if len(b) == 0 {
		return b
	}
	n %= len(b)
	return append(append([]byte{}, b[len(b)-n:]...), b[:len(b)-n]...)
}

func rotateLeft(b []byte, n int) []byte {
	if len(b) == 0 {
		return b
	}
	n %= len(b)
	return append(append([]byte{}, b[n:]...), b[:n]...)
}

func (c *Context) cfxEType() error {
	if c.key.KeyType == ETypeRC4 {
		return errors.New("krb5: RC4-HMAC context key: RFC 4757 GSS tokens are not implemented")
	}
	_, err := getEType(c.key.KeyType)
	return err
}

// Wrap seals plain in a Wrap token (RFC 4121 4.2.4, 4.2.6.2) as Windows
// CredSSP does: confidentiality, EC 0, RRC 28.
func (c *Context) Wrap(plain []byte) ([]byte, error) {
	if err := c.cfxEType(); err != nil {
		return nil, err
	}
	et, _ := getEType(c.key.KeyType)
	sealOut, _, _, _ := c.usages()
	hdr := make([]byte, 16)
	binary.BigEndian.PutUint16(hdr, tokWrap)
	hdr[2] = c.outFlags() | flagSealed
	hdr[3] = 0xFF
	binary.BigEndian.PutUint64(hdr[8:], c.sendSeq)
	// Encrypted: plain || filler (EC = 0) || the header with RRC 0.
	in := append(append(make([]byte, 0, len(plain)+16), plain...), hdr...)
	_, ct, err := et.EncryptMessage(c.key.KeyValue, in, sealOut)
	if err != nil {
		return nil, fmt.Errorf("krb5: wrap: %w", err)
	}
	binary.BigEndian.PutUint16(hdr[6:], c.RRC)
	c.sendSeq++
	return append(hdr, rotateRight(ct, int(c.RRC))...), nil
}

// Unwrap checks and opens a peer's Wrap token, sealed or not, whatever its
// RRC. On error the context is unchanged.
func (c *Context) Unwrap(tok []byte) ([]byte, error) {
	if err := c.cfxEType(); err != nil {
		return nil, err
	}
	et, _ := getEType(c.key.KeyType)
	_, sealIn, _, _ := c.usages()
	if len(tok) < 16 || binary.BigEndian.Uint16(tok) != tokWrap || tok[3] != 0xFF {
		return nil, errMalformed("Wrap token", "not a Wrap token header (%d bytes)", len(tok))
	}
	flags := tok[2]
	if err := c.checkInFlags(flags); err != nil {
		return nil, err
	}
	ec := int(binary.BigEndian.Uint16(tok[4:]))
	rrc := int(binary.BigEndian.Uint16(tok[6:]))
	seq := binary.BigEndian.Uint64(tok[8:])
	if err := c.checkSeq(seq); err != nil {
		return nil, err
	}
	body := tok[16:]
	hdr0 := append([]byte{}, tok[:16]...)
	binary.BigEndian.PutUint16(hdr0[6:], 0)
	var plain []byte
	if flags&flagSealed != 0 {
		p, err := decrypt(c.key, sealIn, rotateLeft(body, rrc), "Wrap token")
		if err != nil && ec != 0 {
			// Windows rotates by RRC+EC (MS-KILE 3.4.5.4.1).
			p, err = decrypt(c.key, sealIn, rotateLeft(body, rrc+ec), "Wrap token")
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadToken, err)
		}
		if len(p) < 16+ec {
			return nil, errMalformed("Wrap token", "%d octets decrypted, EC %d", len(p), ec)
		}
		if subtle.ConstantTimeCompare(p[len(p)-16:], hdr0) != 1 {
			return nil, fmt.Errorf("%w: the encrypted header differs from the token's", ErrBadToken)
		}
		plain = p[:len(p)-16-ec]
	} else {
		n := et.GetHMACBitLength() / 8
		if ec != n || len(body) < n {
			return nil, errMalformed("Wrap token", "integrity-only token with EC %d, %d octets", ec, len(body))
		}
		r := rotateLeft(body, rrc)
		data, sum := r[:len(r)-n], r[len(r)-n:]
		binary.BigEndian.PutUint16(hdr0[4:], 0)
		want, err := et.GetChecksumHash(c.key.KeyValue, append(append([]byte{}, data...), hdr0...), sealIn)
		if err != nil || subtle.ConstantTimeCompare(want[:n], sum) != 1 {
			return nil, fmt.Errorf("%w: checksum differs", ErrBadToken)
		}
		plain = data
	}
	c.recvSeq = seq + 1
	return plain, nil
}

// MIC returns a MIC token over msg (RFC 4121 4.2.6.1): SPNEGO's
// mechListMIC over the DER mechTypes.
func (c *Context) MIC(msg []byte) ([]byte, error) {
	if err := c.cfxEType(); err != nil {
		return nil, err
	}
	et, _ := getEType(c.key.KeyType)
	_, _, signOut, _ := c.usages()
	hdr := []byte{0x04, 0x04, c.outFlags(), 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint64(hdr[8:], c.sendSeq)
	sum, err := et.GetChecksumHash(c.key.KeyValue, append(append([]byte{}, msg...), hdr...), signOut)
	if err != nil {
		return nil, fmt.Errorf("krb5: MIC: %w", err)
	}
	c.sendSeq++
	return append(hdr, sum[:et.GetHMACBitLength()/8]...), nil
}

// VerifyMIC checks a peer's MIC token over msg.
func (c *Context) VerifyMIC(msg, tok []byte) error {
	if err := c.cfxEType(); err != nil {
		return err
	}
	et, _ := getEType(c.key.KeyType)
	_, _, _, signIn := c.usages()
	n := et.GetHMACBitLength() / 8
	if len(tok) != 16+n || binary.BigEndian.Uint16(tok) != tokMIC ||
		subtle.ConstantTimeCompare(tok[3:8], []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF}) != 1 {
		return errMalformed("MIC token", "not a MIC token (%d bytes)", len(tok))
	}
	if tok[2]&flagSealed != 0 {
		return errMalformed("MIC token", "Sealed flag set")
	}
	if err := c.checkInFlags(tok[2]); err != nil {
		return err
	}
	seq := binary.BigEndian.Uint64(tok[8:])
	if err := c.checkSeq(seq); err != nil {
		return err
	}
	want, err := et.GetChecksumHash(c.key.KeyValue, append(append([]byte{}, msg...), tok[:16]...), signIn)
	if err != nil || subtle.ConstantTimeCompare(want[:n], tok[16:]) != 1 {
		return fmt.Errorf("%w: MIC differs", ErrBadToken)
	}
	c.recvSeq = seq + 1
	return nil
}
