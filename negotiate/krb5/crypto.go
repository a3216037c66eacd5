package krb5

import (
	"encoding/hex"
	"fmt"
	"io"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/crypto/etype"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Encryption types (RFC 3961 8, RFC 3962, RFC 4757).
const (
	ETypeAES256 int32 = 18 // aes256-cts-hmac-sha1-96
	ETypeAES128 int32 = 17 // aes128-cts-hmac-sha1-96
	ETypeRC4    int32 = 23 // rc4-hmac
)

// ETypeName is the etype's RFC 3961 name.
func ETypeName(e int32) string {
	switch e {
	case ETypeAES256:
		return "aes256-cts-hmac-sha1-96"
	case ETypeAES128:
		return "aes128-cts-hmac-sha1-96"
	case ETypeRC4:
		return "rc4-hmac"
	case 19:
		return "aes128-cts-hmac-sha256-128"
	case 20:
		return "aes256-cts-hmac-sha384-192"
	case 16:
		return "des3-cbc-sha1-kd"
	case 1, 3:
		return "des-cbc"
	}
	return fmt.Sprintf("etype %d", e)
}

// defaultETypes is what we offer, strongest first; RC4 last, so the KDC
// picks it only when the account has no AES key.
var defaultETypes = []int32{ETypeAES256, ETypeAES128, ETypeRC4}

func supportedEType(e int32) bool { return e == ETypeAES256 || e == ETypeAES128 || e == ETypeRC4 }

// getEType is gokrb5's etype for the three we support, and nothing else.
func getEType(e int32) (etype.EType, error) {
	if !supportedEType(e) {
		return nil, fmt.Errorf("krb5: %s not supported", ETypeName(e))
	}
	return crypto.GetEtype(e)
}

// decrypt checks the ciphertext's length before gokrb5 sees it (its
// decryption slices without checking) and verifies its integrity.
func decrypt(key types.EncryptionKey, usage uint32, cipher []byte, what string) ([]byte, error) {
	et, err := getEType(key.KeyType)
	if err != nil {
		return nil, err
	}
	min := et.GetConfounderByteSize() + et.GetHMACBitLength()/8
	if len(cipher) < min {
		return nil, errMalformed(what, "ciphertext of %d bytes, need at least %d", len(cipher), min)
	}
	if len(key.KeyValue) != et.GetKeyByteSize() {
		return nil, fmt.Errorf("krb5: %s: key of %d bytes for %s", what, len(key.KeyValue), ETypeName(key.KeyType))
	}
	var plain []byte
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = errMalformed(what, "decryption failed: %v", r)
			}
		}()
		plain, err = et.DecryptMessage(key.KeyValue, cipher, usage)
	}()
	if err != nil {
		return nil, fmt.Errorf("%w: %s", errIntegrity, what)
	}
	return plain, nil
}

// errIntegrity: a ciphertext does not decrypt and verify under the key.
var errIntegrity = fmt.Errorf("krb5: decryption or integrity check failed")

func encrypt(key types.EncryptionKey, usage uint32, plain []byte, kvno int) (types.EncryptedData, error) {
	if _, err := getEType(key.KeyType); err != nil {
		return types.EncryptedData{}, err
	}
	return crypto.GetEncryptedData(plain, key, usage, kvno)
}

// stringToKey derives the long-term key of a password (RFC 3961 3, RFC
// 3962 4, RFC 4757) with the salt and parameters the KDC said.
func stringToKey(password string, e ETypeInfo2Entry) (types.EncryptionKey, error) {
	et, err := getEType(e.EType)
	if err != nil {
		return types.EncryptionKey{}, err
	}
	params := et.GetDefaultStringToKeyParams()
	if len(e.S2KParams) > 0 {
		if e.EType == ETypeRC4 || len(e.S2KParams) != 4 {
			return types.EncryptionKey{}, fmt.Errorf("krb5: s2kparams of %d bytes for %s", len(e.S2KParams), ETypeName(e.EType))
		}
		// AES: a 4-octet iteration count; refuse one that would make us spin.
		if n := uint32(e.S2KParams[0])<<24 | uint32(e.S2KParams[1])<<16 | uint32(e.S2KParams[2])<<8 | uint32(e.S2KParams[3]); n > 1<<20 || n == 0 {
			return types.EncryptionKey{}, fmt.Errorf("krb5: s2kparams iteration count %d refused", n)
		}
		params = hex.EncodeToString(e.S2KParams)
	}
	k, err := et.StringToKey(password, e.Salt, params)
	if err != nil {
		return types.EncryptionKey{}, fmt.Errorf("krb5: string-to-key: %w", err)
	}
	return types.EncryptionKey{KeyType: e.EType, KeyValue: k}, nil
}

// randomKey is a fresh key of the etype (a subkey).
func randomKey(r io.Reader, e int32) (types.EncryptionKey, error) {
	et, err := getEType(e)
	if err != nil {
		return types.EncryptionKey{}, err
	}
	b := make([]byte, et.GetKeyByteSize())
	if _, err := io.ReadFull(r, b); err != nil {
		return types.EncryptionKey{}, fmt.Errorf("krb5: read random: %w", err)
	}
	return types.EncryptionKey{KeyType: e, KeyValue: b}, nil
}

// zero overwrites key material we no longer need.
func zero(k *types.EncryptionKey) {
	clear(k.KeyValue)
	k.KeyValue = nil
}
