package ntlm

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// ErrLogonFailure is wrapped when the server refuses the AUTHENTICATE: unknown
// user, NTProofStr or MIC that does not verify, no NTLMv2 response
// (STATUS_LOGON_FAILURE on Windows).
var ErrLogonFailure = errors.New("ntlm: logon failure")

func logonFailure(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrLogonFailure, fmt.Sprintf(format, a...))
}

// serverFlags is what the server supports; the CHALLENGE offers the subset
// the client asked for (MS-NLMP 3.2.5.1.1).
const serverFlags = NegotiateUnicode | RequestTarget | NegotiateSign | NegotiateSeal | NegotiateNTLM |
	NegotiateAlwaysSign | NegotiateExtendedSessionSecurity | NegotiateVersion | Negotiate128 |
	NegotiateKeyExch | Negotiate56

// Server is the NTLMv2 server side, for test servers that answer like
// Windows. One Server handles one exchange: Challenge, then Authenticate.
// Not safe for concurrent use.
type Server struct {
	TargetName string                                             // e.g. the NetBIOS domain
	TargetInfo TargetInfo                                         // names to advertise; Timestamp zero → Now(); Raw ignored
	Version    *Version                                           // advertised OS version; nil → none
	Lookup     func(user, domain string) (ntHash []byte, ok bool) // NT hash = MD4(UTF16LE(password)), see NTHash
	Rand       io.Reader                                          // nil: crypto/rand
	Now        func() time.Time                                   // nil: time.Now
	// ChannelBindings, if set, is the MsvAvChannelBindings the client
	// must send (Extended Protection "Required"): ChannelBindingHash of
	// the server's TLS channel. A client that sends another, or none,
	// fails the logon.
	ChannelBindings []byte

	negotiate, challenge []byte
	serverChallenge      [8]byte
	flags                NegotiateFlags
}

// Challenge parses the client's NEGOTIATE_MESSAGE and returns the
// CHALLENGE_MESSAGE (MS-NLMP 3.2.5.1.1).
func (s *Server) Challenge(negotiate []byte) ([]byte, error) {
	var neg NegotiateMessage
	if err := neg.Unmarshal(negotiate); err != nil {
		return nil, err
	}
	r := s.Rand
	if r == nil {
		r = rand.Reader
	}
	var sc [8]byte
	if _, err := io.ReadFull(r, sc[:]); err != nil {
		return nil, fmt.Errorf("ntlm: read random: %w", err)
	}
	flags := neg.Flags&serverFlags | NegotiateUnicode | NegotiateTargetInfo
	if s.Version == nil {
		flags &^= NegotiateVersion
	}
	ti := s.TargetInfo
	if strings.EqualFold(s.TargetName, ti.NbDomainName) && !strings.EqualFold(s.TargetName, ti.NbComputerName) {
		flags |= TargetTypeDomain
	} else {
		flags |= TargetTypeServer
	}
	if ti.Timestamp.IsZero() {
		now := time.Now
		if s.Now != nil {
			now = s.Now
		}
		ti.Timestamp = now()
	}
	ti.Raw = ti.AVPairs().Marshal()
	ch := ChallengeMessage{Flags: flags, TargetName: s.TargetName, ServerChallenge: sc, TargetInfo: ti, Version: s.Version}
	s.negotiate = append([]byte(nil), negotiate...)
	s.challenge = ch.Marshal()
	s.serverChallenge, s.flags = sc, flags
	return append([]byte(nil), s.challenge...), nil
}

// Authenticate verifies the client's AUTHENTICATE_MESSAGE (MS-NLMP
// 3.2.5.1.2, 3.3.2): NTProofStr from the client's own blob, the session key
// and, when the client's MsvAvFlags announce it, the MIC. It returns the
// server's Session and the parsed message. Errors wrap ErrLogonFailure
// when the credentials do not verify, ErrMalformed when the message does
// not parse.
func (s *Server) Authenticate(authenticate []byte) (*Session, *AuthenticateMessage, error) {
	if s.challenge == nil {
		return nil, nil, errors.New("ntlm: Authenticate called before Challenge")
	}
	var m AuthenticateMessage
	if err := m.Unmarshal(authenticate); err != nil {
		return nil, nil, err
	}
	nt := m.NtChallengeResponse
	if len(nt) < 16+blobHeaderLen+4 {
		return nil, &m, logonFailure("no NTLMv2 response (NtChallengeResponse of %d bytes)", len(nt))
	}
	if s.Lookup == nil {
		return nil, &m, logonFailure("unknown user %q in domain %q", m.UserName, m.DomainName)
	}
	ntHash, ok := s.Lookup(m.UserName, m.DomainName)
	if !ok || len(ntHash) != 16 {
		return nil, &m, logonFailure("unknown user %q in domain %q", m.UserName, m.DomainName)
	}
	ntowf := NTOWFv2(ntHash, m.UserName, m.DomainName)
	proof, temp := nt[:16], nt[16:]
	if subtle.ConstantTimeCompare(ntProofStr(ntowf, s.serverChallenge, temp), proof) != 1 {
		return nil, &m, logonFailure("NTProofStr does not verify for %q (wrong password?)", m.UserName)
	}
	flags := m.Flags & s.flags
	keyExchangeKey := sessionBaseKey(ntowf, proof)
	exported := keyExchangeKey
	if flags.Has(NegotiateKeyExch) {
		if len(m.EncryptedRandomSessionKey) != 16 {
			return nil, &m, logonFailure("EncryptedRandomSessionKey of %d bytes with NTLMSSP_NEGOTIATE_KEY_EXCH", len(m.EncryptedRandomSessionKey))
		}
		exported = rc4K(keyExchangeKey, m.EncryptedRandomSessionKey)
	}
	pairs, err := ParseAVPairs(temp[blobHeaderLen:])
	if err != nil {
		return nil, &m, logonFailure("client AV pairs: %v", err)
	}
	if v, ok := pairs.Get(MsvAvFlags); ok && len(v) == 4 && binary.LittleEndian.Uint32(v)&AvFlagMICPresent != 0 {
		if m.MIC == nil {
			return nil, &m, logonFailure("MsvAvFlags announces a MIC but the message has none")
		}
		if subtle.ConstantTimeCompare(computeMIC(exported, s.negotiate, s.challenge, authenticate), m.MIC) != 1 {
			return nil, &m, logonFailure("MIC does not verify")
		}
	}
	if s.ChannelBindings != nil {
		if v, _ := pairs.Get(MsvAvChannelBindings); subtle.ConstantTimeCompare(v, s.ChannelBindings) != 1 {
			return nil, &m, logonFailure("MsvAvChannelBindings %x does not bind this TLS channel (%x)", v, s.ChannelBindings)
		}
	}
	return newSession(exported, flags, false), &m, nil
}
