package rdptest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"math/big"
	"slices"
	"sync"

	"github.com/rdpprobe/rdpprobe/negotiate"
)

// LicenseKey is the RSA key of the proprietary certificate rdptest's
// LICENSE_REQUEST carries: 2048 bits, made once per process.
var LicenseKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("rdptest: licensing key: " + err.Error())
	}
	return k
})

// licenseRequest plays the start of the licence exchange (MS-RDPELE
// 2.2.2.1-2.2.2.4): LICENSE_REQUEST, the client's NEW_LICENSE_REQUEST,
// and a PLATFORM_CHALLENGE if the scenario says so. done means the
// connection is over (the client stopped, or the challenge was sent and
// the client left); otherwise the caller sends the rest of the answer.
func (c *conn) licenseRequest(ss *Session, user uint16, send func(string, []byte) error) (done bool, err error) {
	key := LicenseKey()
	company, product := "Microsoft Corporation", "A02"
	if ss.LicenseCompany != "" || ss.LicenseProduct != "" {
		company, product = ss.LicenseCompany, ss.LicenseProduct
	}
	req := negotiate.LicenseRequest{Version: 0x00060000, CompanyName: company, ProductID: product,
		KeyExchangeAlgs: []uint32{negotiate.KeyExchangeAlgRSA}, Scopes: []string{"microsoft.com"}}
	rand.Read(req.ServerRandom[:])
	what := "LICENSE_REQUEST without certificate"
	if !ss.NoLicenseCertificate {
		req.Certificate = negotiate.NewProprietaryCertificate(&key.PublicKey).Marshal()
		what = fmt.Sprintf("LICENSE_REQUEST with a %d-bit proprietary certificate", key.N.BitLen())
	}
	if err := send(what, req.Marshal()); err != nil {
		return true, err
	}
	mcs, err := c.readMCS()
	if err != nil {
		return true, nil // the client hung up
	}
	if t, _ := negotiate.PeekMCSPDUType(mcs); t == negotiate.MCSPDUDisconnectProviderUltimatum {
		var u negotiate.DisconnectProviderUltimatum
		if err := u.Unmarshal(mcs); err != nil {
			return true, err
		}
		c.event(EventDisconnect, u.Reason.String())
		return true, nil
	}
	var sd negotiate.SendData
	if err := sd.Unmarshal(mcs); err != nil {
		return true, fmt.Errorf("NEW_LICENSE_REQUEST: %w", err)
	}
	u := sd.UserData
	if sd.Indication || sd.Initiator != user || sd.ChannelID != ioChannel {
		return true, fmt.Errorf("NEW_LICENSE_REQUEST: not from user %d on the I/O channel", user)
	}
	flags, msg, encrypted, err := c.openClient(u)
	// The client's licensing PDU: SEC_LICENSE_PKT, and SEC_ENCRYPT (with
	// its signature) only under Standard RDP Security; flagsHi 0.
	if err != nil || flags&^(negotiate.SecEncrypt|negotiate.SecSecureChecksum|negotiate.SecLicenseEncryptCS) != negotiate.SecLicensePkt || u[2] != 0 || u[3] != 0 {
		return true, fmt.Errorf("NEW_LICENSE_REQUEST: not a SEC_LICENSE_PKT (% x): %v", u[:min(len(u), 4)], err)
	}
	var m negotiate.NewLicenseRequest
	if err := m.Unmarshal(msg); err != nil {
		return true, fmt.Errorf("NEW_LICENSE_REQUEST: %w", err)
	}
	if m.KeyExchangeAlg != negotiate.KeyExchangeAlgRSA || m.PlatformID != negotiate.DefaultPlatformID || msg[1] != 0x83 {
		return true, fmt.Errorf("NEW_LICENSE_REQUEST: key exchange %d, platform 0x%08X, preamble flags 0x%02X", m.KeyExchangeAlg, m.PlatformID, msg[1])
	}
	if ss.NoLicenseCertificate && c.std != nil && c.std.key != nil {
		key = c.std.key // the client answers with the key of the security data (MS-RDPELE 2.2.2.1)
	}
	n, err := premasterLen(key, m.EncryptedPremasterSecret)
	if err != nil {
		return true, fmt.Errorf("NEW_LICENSE_REQUEST: %w", err)
	}
	how := "in the clear"
	if encrypted {
		how = "encrypted"
	}
	c.event(EventLicense, fmt.Sprintf("NEW_LICENSE_REQUEST from user %q on machine %q, premaster secret decrypted: %d bytes (%s)", m.UserName, m.MachineName, n, how))
	if !ss.PlatformChallenge {
		return false, nil
	}
	ch := negotiate.PlatformChallenge{EncryptedChallenge: negotiate.LicenseBinaryBlob{Type: negotiate.BBEncDataBlob, Data: make([]byte, 10)}}
	rand.Read(ch.EncryptedChallenge.Data)
	rand.Read(ch.MAC[:])
	if err := send("PLATFORM_CHALLENGE", ch.Marshal()); err != nil {
		return true, err
	}
	return true, c.awaitDisconnect()
}

// premasterLen decrypts an EncryptedPreMasterSecret (MS-RDPELE 2.2.2.2):
// little-endian, the modulus' length then 8 zero bytes, textbook RSA.
// The secret is 48 bytes: the decrypted integer must fit in them (a wrong
// byte order or padding yields a number as long as the modulus).
func premasterLen(key *rsa.PrivateKey, enc []byte) (int, error) {
	k := key.Size()
	if len(enc) != k+8 || !bytes.Equal(enc[k:], make([]byte, 8)) {
		return 0, fmt.Errorf("EncryptedPreMasterSecret of %d bytes, want %d ending in 8 zero bytes", len(enc), k+8)
	}
	c := slices.Clone(enc[:k])
	slices.Reverse(c)
	m := new(big.Int).Exp(new(big.Int).SetBytes(c), key.D, key.N)
	if m.BitLen() > 8*negotiate.LicensePremasterSecretLen {
		return 0, fmt.Errorf("the premaster secret decrypts to %d bits, not 48 bytes", m.BitLen())
	}
	return negotiate.LicensePremasterSecretLen, nil
}
