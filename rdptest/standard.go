package rdptest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"fmt"
	"math/big"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
)

// StandardRDPSecurity is the server side of Standard RDP Security's
// cryptographic negotiation (MS-RDPBCGR 5.3.2): the level the server
// enforces and the encryption methods it allows.
type StandardRDPSecurity struct {
	Level negotiate.EncryptionLevel
	// Methods allowed, a set of ENCRYPTION_METHOD_* bits; zero means the
	// methods of Level (MethodsForLevel).
	Methods negotiate.EncryptionMethod
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

// standardRDP answers the Client MCS Connect Initial under Standard RDP
// Security with a Server MCS Connect Response whose SC_SECURITY carries the
// selected method and level (MS-RDPBCGR 2.2.1.4, 2.2.1.4.3), then waits for
// the client to leave: the security exchange and what follows are not
// played.
func (c *conn) standardRDP(sec *StandardRDPSecurity) error {
	cd, err := c.readConnectInitial()
	if err != nil {
		return err
	}
	method, ok := sec.choose(cd.EncryptionMethods)
	if !ok {
		c.event(EventError, fmt.Sprintf("no encryption method in common: client offers 0x%08X", cd.EncryptionMethods))
		return nil // hang up, as Windows does
	}
	c.event(EventSelected, method.String()+" at "+sec.Level.String())
	sd := &negotiate.ServerSecurityData{Method: method, Level: sec.Level}
	if method != negotiate.EncryptionMethodNone {
		sd.Rest = serverRandomAndCertificate()
	}
	cr := negotiate.ConnectResponse{
		MCS: negotiate.MCSConnectResponse{
			Result: negotiate.MCSResultSuccessful,
			Parameters: negotiate.DomainParameters{MaxChannelIDs: 34, MaxUserIDs: 3,
				NumPriorities: 1, MaxHeight: 1, MaxMCSPDUSize: 65528, ProtocolVersion: 2},
		},
		GCC: &negotiate.GCCConferenceCreateResponse{NodeID: 1001, Tag: 1},
		Server: &negotiate.ServerData{
			Core:     &negotiate.ServerCoreData{Version: negotiate.RDPVersion5Plus, HasClientRequestedProtocols: true},
			Security: sd,
			Network:  &negotiate.ServerNetworkData{IOChannel: 1003},
		},
	}
	if err := c.write(probe.PhaseNegotiate, cr.Marshal()); err != nil {
		return err
	}
	return c.drain()
}

// serverRandomAndCertificate is what follows encryptionMethod and
// encryptionLevel in TS_UD_SC_SEC1 when encryption is on: serverRandomLen
// (32), serverCertLen, the random, and a Proprietary Certificate
// (MS-RDPBCGR 2.2.1.4.3.1.1) whose 512-bit modulus is random bytes:
// nothing in rdpprobe goes as far as using the key under standard RDP
// security, so no key pair is worth generating.
func serverRandomAndCertificate() []byte {
	random := make([]byte, 32)
	rand.Read(random)
	n := make([]byte, 64)
	rand.Read(n)
	n[0] |= 0x80 // a full 512 bits
	n[63] |= 1   // odd, as a modulus is
	cert := negotiate.NewProprietaryCertificate(&rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}).Marshal()

	out := binary.LittleEndian.AppendUint32(nil, uint32(len(random)))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(cert)))
	out = append(out, random...)
	return append(out, cert...)
}
