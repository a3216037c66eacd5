package ntlm

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rdpprobe/rdpprobe/internal/utf16le"
)

// clientFlags is what Negotiate offers (MS-NLMP 3.1.5.1.1): NTLMv2 with
// extended session security, 128-bit sealing and key exchange, 0xE2088235.
const clientFlags = NegotiateUnicode | RequestTarget | NegotiateSign | NegotiateSeal | NegotiateNTLM |
	NegotiateAlwaysSign | NegotiateExtendedSessionSecurity | NegotiateVersion | Negotiate128 |
	NegotiateKeyExch | Negotiate56

// clientVersion is the VERSION the client announces (Windows Server 2022).
var clientVersion = Version{Major: 10, Minor: 0, Build: 20348, Revision: 15}

// Client is the NTLMv2 client side.
type Client struct {
	User, Domain, Password, Workstation string
	SPN                                 string // sent as MsvAvTargetName when set, e.g. "TERMSRV/host"
	// ChannelBindings, if 16 bytes, is sent as MsvAvChannelBindings: the
	// hash ChannelBindingHash makes of the TLS channel the logon rides on
	// (HTTP authentication under Extended Protection). Otherwise zeros
	// (unspecified) are sent, as CredSSP does: it binds TLS itself.
	ChannelBindings []byte
	Rand            io.Reader        // nil: crypto/rand
	Now             func() time.Time // nil: time.Now

	negotiate []byte // NEGOTIATE as sent, for the MIC
}

// Negotiate returns the NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1) and keeps its
// bytes for the MIC.
func (c *Client) Negotiate() []byte {
	v := clientVersion
	m := NegotiateMessage{Flags: clientFlags, Version: &v}
	c.negotiate = m.Marshal()
	return append([]byte(nil), c.negotiate...)
}

func (c *Client) random(n int) ([]byte, error) {
	r := c.Rand
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("ntlm: read random: %w", err)
	}
	return b, nil
}

// ErrNoExtendedSessionSecurity is returned when the CHALLENGE does not offer
// extended session security: that would mean NTLMv1 or LM, which we refuse.
var ErrNoExtendedSessionSecurity = errors.New("ntlm: server does not offer NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY (NTLMv1/LM only), refusing")

// Authenticate answers the CHALLENGE_MESSAGE with an NTLMv2
// AUTHENTICATE_MESSAGE (MS-NLMP 3.1.5.1.2, 3.3.2) and returns the client's
// Session.
func (c *Client) Authenticate(challenge []byte) ([]byte, *Session, error) {
	var ch ChallengeMessage
	if err := ch.Unmarshal(challenge); err != nil {
		return nil, nil, err
	}
	if !ch.Flags.Has(NegotiateExtendedSessionSecurity) {
		return nil, nil, fmt.Errorf("%w (flags %#08x)", ErrNoExtendedSessionSecurity, uint32(ch.Flags))
	}
	if c.negotiate == nil {
		c.Negotiate()
	}
	// Negotiated flags, as the spec's example (4.2.4.3) and Windows send them:
	// our offer ∩ the server's, plus UNICODE and REQUEST_TARGET, which are
	// ours to ask, and TARGET_INFO when the server sent target info.
	flags := clientFlags&ch.Flags | NegotiateUnicode | RequestTarget | ch.Flags&NegotiateTargetInfo

	pairs, err := ParseAVPairs(ch.TargetInfo.Raw)
	if err != nil {
		return nil, nil, err
	}
	var ts [8]byte
	serverTime, haveTime := pairs.Get(MsvAvTimestamp)
	haveTime = haveTime && len(serverTime) == 8
	if haveTime {
		copy(ts[:], serverTime)
	} else {
		now := time.Now
		if c.Now != nil {
			now = c.Now
		}
		binary.LittleEndian.PutUint64(ts[:], TimeToFileTime(now()))
	}
	// The target info we answer with (MS-NLMP 3.1.5.1.2): MIC announced when
	// the server sent a timestamp, unspecified channel bindings (CredSSP binds
	// to TLS itself), and the SPN.
	if haveTime {
		var avFlags uint32
		if v, ok := pairs.Get(MsvAvFlags); ok && len(v) == 4 {
			avFlags = binary.LittleEndian.Uint32(v)
		}
		pairs.Set(MsvAvFlags, binary.LittleEndian.AppendUint32(nil, avFlags|AvFlagMICPresent))
	}
	cbt := make([]byte, 16)
	if len(c.ChannelBindings) == 16 {
		copy(cbt, c.ChannelBindings)
	}
	pairs.Set(MsvAvChannelBindings, cbt)
	if c.SPN != "" {
		pairs.Set(MsvAvTargetName, utf16le.Encode(c.SPN))
	}

	rnd, err := c.random(8 + 16)
	if err != nil {
		return nil, nil, err
	}
	var cc [8]byte
	copy(cc[:], rnd)

	ntowf := NTOWFv2(NTHash(c.Password), c.User, c.Domain)
	temp := clientChallengeBlob(ts, cc, pairs.Marshal())
	proof := ntProofStr(ntowf, ch.ServerChallenge, temp)
	auth := AuthenticateMessage{
		NtChallengeResponse: append(proof, temp...),
		DomainName:          c.Domain,
		UserName:            c.User,
		Workstation:         c.Workstation,
		Flags:               flags,
	}
	if haveTime {
		auth.LmChallengeResponse = make([]byte, 24)
	} else {
		auth.LmChallengeResponse = lmv2Response(ntowf, ch.ServerChallenge, cc)
	}
	if flags.Has(NegotiateVersion) {
		v := clientVersion
		auth.Version = &v
	}
	keyExchangeKey := sessionBaseKey(ntowf, proof)
	exported := keyExchangeKey
	if flags.Has(NegotiateKeyExch) {
		exported = rnd[8:24]
		auth.EncryptedRandomSessionKey = rc4K(keyExchangeKey, exported)
	}
	for _, s := range []string{c.Domain, c.User, c.Workstation} {
		if len(utf16le.Encode(s)) > 0xFFFF {
			return nil, nil, errors.New("ntlm: domain, user or workstation name longer than an NTLM field")
		}
	}
	if len(auth.NtChallengeResponse) > 0xFFFF {
		return nil, nil, errors.New("ntlm: target info too long for an NTLMv2 response")
	}
	out := auth.Marshal()
	if haveTime {
		copy(out[micOffset:], computeMIC(exported, c.negotiate, challenge, out))
	}
	return out, newSession(exported, flags, true), nil
}
