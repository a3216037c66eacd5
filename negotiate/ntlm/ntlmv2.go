package ntlm

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"strings"

	"github.com/rdpprobe/rdpprobe/internal/utf16le"
	"golang.org/x/crypto/md4"
)

// NTHash is NTOWFv1, MD4(UNICODE(password)) (MS-NLMP 3.3.1): the NT hash a
// directory stores.
func NTHash(password string) []byte {
	h := md4.New()
	h.Write(utf16le.Encode(password))
	return h.Sum(nil)
}

// NTOWFv2 is HMAC_MD5(ntHash, UNICODE(Uppercase(user) + domain))
// (MS-NLMP 3.3.2), ResponseKeyNT and ResponseKeyLM.
func NTOWFv2(ntHash []byte, user, domain string) []byte {
	return hmacMD5(ntHash, utf16le.Encode(strings.ToUpper(user)+domain))
}

func hmacMD5(key []byte, data ...[]byte) []byte {
	h := hmac.New(md5.New, key)
	for _, d := range data {
		h.Write(d)
	}
	return h.Sum(nil)
}

// clientChallengeBlob is temp of MS-NLMP 3.3.2, the NTLMv2_CLIENT_CHALLENGE
// (2.2.2.7): 01 01 Z(6) Time ClientChallenge Z(4) AvPairs Z(4).
func clientChallengeBlob(timestamp [8]byte, clientChallenge [8]byte, avPairs []byte) []byte {
	b := make([]byte, 0, 28+len(avPairs)+4)
	b = append(b, 1, 1, 0, 0, 0, 0, 0, 0)
	b = append(b, timestamp[:]...)
	b = append(b, clientChallenge[:]...)
	b = append(b, 0, 0, 0, 0)
	b = append(b, avPairs...)
	return append(b, 0, 0, 0, 0)
}

// blobHeaderLen is the fixed part of NTLMv2_CLIENT_CHALLENGE before AvPairs.
const blobHeaderLen = 28

// ntProofStr is HMAC_MD5(ResponseKeyNT, ServerChallenge || temp) (MS-NLMP 3.3.2).
func ntProofStr(ntowf []byte, serverChallenge [8]byte, temp []byte) []byte {
	return hmacMD5(ntowf, serverChallenge[:], temp)
}

// lmv2Response is HMAC_MD5(ResponseKeyLM, ServerChallenge || ClientChallenge)
// || ClientChallenge (MS-NLMP 3.3.2).
func lmv2Response(ntowf []byte, serverChallenge, clientChallenge [8]byte) []byte {
	return append(hmacMD5(ntowf, serverChallenge[:], clientChallenge[:]), clientChallenge[:]...)
}

// sessionBaseKey is HMAC_MD5(ResponseKeyNT, NTProofStr) (MS-NLMP 3.3.2); with
// NTLMv2 it is also the KeyExchangeKey (3.4.5.1).
func sessionBaseKey(ntowf, proof []byte) []byte { return hmacMD5(ntowf, proof) }

// rc4K is RC4K(key, data), a one-shot RC4 (MS-NLMP 6).
func rc4K(key, data []byte) []byte {
	c, err := rc4.NewCipher(key)
	if err != nil { // only for keys of 0 or >256 bytes, never ours
		panic("ntlm: rc4: " + err.Error())
	}
	out := make([]byte, len(data))
	c.XORKeyStream(out, data)
	return out
}

// computeMIC is HMAC_MD5(ExportedSessionKey, NEGOTIATE || CHALLENGE ||
// AUTHENTICATE) with the MIC field zeroed (MS-NLMP 3.1.5.1.2).
func computeMIC(exportedSessionKey, negotiate, challenge, authenticate []byte) []byte {
	auth := authenticate
	if len(auth) >= authenticateHeaderMICLen {
		auth = append([]byte(nil), authenticate...)
		clear(auth[micOffset:authenticateHeaderMICLen])
	}
	return hmacMD5(exportedSessionKey, negotiate, challenge, auth)
}
