package probe

import (
	"crypto/rand"
	"fmt"

	"github.com/rdpprobe/rdpprobe/negotiate"
)

// Standard RDP Security (MS-RDPBCGR 5.3) in the session phase: when the
// server selected PROTOCOL_RDP, its MCS Connect Response carries a server
// random and an RSA key (2.2.1.4.3); the probe answers with a Security
// Exchange PDU (2.2.1.10) after the channel joins, and from then on the
// Client Info, licensing and every server PDU go through the session keys.
// At ENCRYPTION_LEVEL_NONE there is no exchange and nothing is encrypted.
// Nothing here authenticates the server.

// stdSecurity is the prober's side of Standard RDP Security.
type stdSecurity struct {
	method       negotiate.EncryptionMethod
	serverRandom []byte
	cert         *negotiate.ServerCertificate
	sec          *negotiate.StandardSecurity // nil until the Security Exchange, and at level None
	// licenseEncrypt: a server licensing PDU carried SEC_LICENSE_ENCRYPT_CS,
	// so the server reads encrypted licensing PDUs (2.2.8.1.1.2.1).
	licenseEncrypt bool
}

// keys is the session's StandardSecurity, nil when nothing is encrypted.
func (p *prober) keys() *negotiate.StandardSecurity {
	if p.std == nil {
		return nil
	}
	return p.std.sec
}

// standardSecurityData reads the server's security data of the MCS Connect
// Response under PROTOCOL_RDP: the method and level it selected, its
// random and its certificate.
func (p *prober) standardSecurityData(s *SessionInfo, sd *negotiate.ServerData) error {
	if p.r.Negotiation.Selected() != negotiate.ProtocolRDP {
		return nil
	}
	sec := sd.Security
	info := &StandardSecurityInfo{}
	s.StandardSecurity = info
	p.std = &stdSecurity{method: sec.Method}
	switch sec.Method {
	case negotiate.EncryptionMethodNone:
		return nil // ENCRYPTION_LEVEL_NONE: the session goes in the clear
	case negotiate.EncryptionMethod40Bit, negotiate.EncryptionMethod56Bit, negotiate.EncryptionMethod128Bit, negotiate.EncryptionMethodFIPS:
	default:
		return fmt.Errorf("mcs: %w: the server selected %s, which the probe did not offer", negotiate.ErrMalformed, sec.Method)
	}
	random, cert, err := sec.ServerRandomAndCertificate()
	if err != nil {
		return fmt.Errorf("mcs: server security data: %w", err)
	}
	pub, err := cert.PublicKey()
	if err != nil {
		return fmt.Errorf("mcs: server security data: %w", err)
	}
	info.ServerCertificate, info.ServerKeyBits = "x509", pub.N.BitLen()
	if cert.Proprietary != nil {
		info.ServerCertificate = "proprietary"
	}
	p.std.serverRandom, p.std.cert = random, cert
	return nil
}

// securityExchange sends the Security Exchange PDU with a fresh client
// random under the server's key and derives the session keys (5.3.4,
// 5.3.5). It does nothing when the server selected no encryption.
func (p *prober) securityExchange(s *SessionInfo) error {
	if p.std == nil || p.std.cert == nil {
		return nil
	}
	random := make([]byte, negotiate.RandomLen)
	defer clear(random)
	if _, err := rand.Read(random); err != nil {
		return err
	}
	m, err := negotiate.NewSecurityExchange(p.std.cert, random)
	if err != nil {
		return fmt.Errorf("rdpsec: %w", err)
	}
	info := s.StandardSecurity
	note := fmt.Sprintf("Security Exchange PDU (client random under the server's %d-bit %s key)", info.ServerKeyBits, info.ServerCertificate)
	if err := p.sendX224(negotiate.ClientSecurityExchangePDU(s.UserChannel, s.IOChannel, m), note, false); err != nil {
		return err
	}
	info.SecurityExchangeSent = true
	if p.std.sec, err = negotiate.NewClientSecurity(p.std.method, random, p.std.serverRandom); err != nil {
		return fmt.Errorf("rdpsec: %w", err)
	}
	return nil
}

// clientInfoPDU builds the Client Info PDU, encrypted under Standard RDP
// Security.
func (p *prober) clientInfoPDU(user, io uint16, info *negotiate.ClientInfo) ([]byte, error) {
	return negotiate.SecureClientInfoPDU(user, io, info, p.keys())
}

// sawServerPDU notes what a server PDU's security header says: whether it
// was encrypted, signed with the salted MAC (then the probe signs so too,
// 5.3.6.1.1) or, for licensing, tells that the server reads encrypted
// licensing PDUs.
func (p *prober) sawServerPDU(s *SessionInfo, pdu *negotiate.ServerPDU) {
	if pdu == nil || p.std == nil || s.StandardSecurity == nil {
		return
	}
	info := s.StandardSecurity
	if pdu.Encrypted {
		info.EncryptedPDUs++
		if pdu.LicenseMsgType != 0 {
			info.LicensingEncrypted = true
		}
	}
	if pdu.SecurityFlags&negotiate.SecSecureChecksum != 0 && p.std.sec != nil {
		info.SaltedMAC, p.std.sec.SaltedMAC = true, true
	}
	if pdu.SecurityFlags&negotiate.SecLicensePkt != 0 && pdu.SecurityFlags&negotiate.SecLicenseEncryptCS != 0 {
		p.std.licenseEncrypt = true
	}
	if sec := p.std.sec; sec != nil {
		info.KeyUpdates = sec.KeyUpdates()
	}
}

// licensePDU wraps a client licensing message: encrypted when the server
// said it reads encrypted licensing PDUs, in the clear otherwise (as always
// under TLS).
func (p *prober) licensePDU(s *SessionInfo, msg []byte) []byte {
	if sec := p.keys(); sec != nil && p.std.licenseEncrypt {
		s.StandardSecurity.LicenseRequestEncrypted = true
		return negotiate.ClientSecurePDU(s.UserChannel, s.IOChannel, negotiate.SecLicensePkt, msg, sec)
	}
	return negotiate.ClientLicensePDU(s.UserChannel, s.IOChannel, msg)
}

// licenseCertificate is the certificate to answer a LICENSE_REQUEST with
// when it carries none: under Standard RDP Security the server sent it in
// its security data already (MS-RDPELE 2.2.2.1).
func (p *prober) licenseCertificate() *negotiate.ServerCertificate {
	if p.std == nil {
		return nil
	}
	return p.std.cert
}
