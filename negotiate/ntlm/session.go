package ntlm

import (
	"crypto/md5"
	"crypto/rc4"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
)

// Key derivation magic constants, NUL included (MS-NLMP 3.4.5.2, 3.4.5.3).
const (
	clientSignMagic = "session key to client-to-server signing key magic constant\x00"
	serverSignMagic = "session key to server-to-client signing key magic constant\x00"
	clientSealMagic = "session key to client-to-server sealing key magic constant\x00"
	serverSealMagic = "session key to server-to-client sealing key magic constant\x00"
)

const signatureLen = 16 // NTLMSSP_MESSAGE_SIGNATURE (MS-NLMP 2.2.2.9.1)

// ErrBadSignature is wrapped when Unseal finds a message that does not verify.
var ErrBadSignature = errors.New("ntlm: message signature does not verify")

// Session is NTLM session security after a successful exchange (MS-NLMP 3.4):
// NTLMv2 with extended session security, one persistent RC4 handle and
// sequence number per direction. Not safe for concurrent use.
type Session struct {
	keyExch bool

	sendSign, recvSign []byte
	sendSeal, recvSeal *rc4.Cipher
	sendSeq, recvSeq   uint32
}

// signKey is SIGNKEY (MS-NLMP 3.4.5.2) with extended session security.
func signKey(exportedSessionKey []byte, magic string) []byte {
	h := md5.New()
	h.Write(exportedSessionKey)
	h.Write([]byte(magic))
	return h.Sum(nil)
}

// sealKey is SEALKEY (MS-NLMP 3.4.5.3) with extended session security.
func sealKey(exportedSessionKey []byte, flags NegotiateFlags, magic string) []byte {
	k := exportedSessionKey
	switch {
	case flags.Has(Negotiate128):
	case flags.Has(Negotiate56):
		k = k[:7]
	default:
		k = k[:5]
	}
	return signKey(k, magic)
}

// newSession derives the four keys (MS-NLMP 3.4.5.2-3.4.5.3) and the RC4
// handles (3.4.5.4 with 3.1.5.1.2) for the client or the server role.
func newSession(exportedSessionKey []byte, flags NegotiateFlags, client bool) *Session {
	cSign, sSign := signKey(exportedSessionKey, clientSignMagic), signKey(exportedSessionKey, serverSignMagic)
	cSeal, sSeal := sealKey(exportedSessionKey, flags, clientSealMagic), sealKey(exportedSessionKey, flags, serverSealMagic)
	s := &Session{keyExch: flags.Has(NegotiateKeyExch)}
	if client {
		s.sendSign, s.recvSign = cSign, sSign
		s.sendSeal, s.recvSeal = mustRC4(cSeal), mustRC4(sSeal)
	} else {
		s.sendSign, s.recvSign = sSign, cSign
		s.sendSeal, s.recvSeal = mustRC4(sSeal), mustRC4(cSeal)
	}
	return s
}

func mustRC4(key []byte) *rc4.Cipher {
	c, err := rc4.NewCipher(key)
	if err != nil { // keys are always 16 bytes here
		panic("ntlm: rc4: " + err.Error())
	}
	return c
}

// checksum is the first 8 bytes of HMAC_MD5(SigningKey, SeqNum || Message)
// (MS-NLMP 3.4.4.2).
func checksum(key []byte, seq uint32, msg []byte) []byte {
	return hmacMD5(key, binary.LittleEndian.AppendUint32(nil, seq), msg)[:8]
}

// Seal encrypts and signs msg (MS-NLMP 3.4.3, GSS_WrapEx 3.4.6) and returns
// Signature(16) || RC4(SealingKey, msg), the layout CredSSP's pubKeyAuth and
// authInfo use.
func (s *Session) Seal(msg []byte) []byte {
	out := make([]byte, signatureLen+len(msg))
	s.sendSeal.XORKeyStream(out[signatureLen:], msg)
	sum := checksum(s.sendSign, s.sendSeq, msg)
	if s.keyExch {
		s.sendSeal.XORKeyStream(sum, sum)
	}
	binary.LittleEndian.PutUint32(out, 1)
	copy(out[4:12], sum)
	binary.LittleEndian.PutUint32(out[12:], s.sendSeq)
	s.sendSeq++
	return out
}

// Unseal checks and decrypts Signature(16) || sealed message from the peer.
// On error the receive state is left as it was.
func (s *Session) Unseal(b []byte) ([]byte, error) {
	if len(b) < signatureLen {
		return nil, fmt.Errorf("ntlm: sealed message of %d bytes is shorter than its %d-byte signature", len(b), signatureLen)
	}
	if v := binary.LittleEndian.Uint32(b); v != 1 {
		return nil, fmt.Errorf("%w: signature version %d, want 1", ErrBadSignature, v)
	}
	if seq := binary.LittleEndian.Uint32(b[12:]); seq != s.recvSeq {
		return nil, fmt.Errorf("%w: sequence number %d, want %d", ErrBadSignature, seq, s.recvSeq)
	}
	saved := *s.recvSeal
	plain := make([]byte, len(b)-signatureLen)
	s.recvSeal.XORKeyStream(plain, b[signatureLen:])
	sum := checksum(s.recvSign, s.recvSeq, plain)
	if s.keyExch {
		s.recvSeal.XORKeyStream(sum, sum)
	}
	if subtle.ConstantTimeCompare(sum, b[4:12]) != 1 {
		*s.recvSeal = saved
		return nil, fmt.Errorf("%w: checksum differs", ErrBadSignature)
	}
	s.recvSeq++
	return plain, nil
}
