package ntlm

// CONTRACT STUB — the NTLM helper replaces this file (same exported names and signatures).

import (
	"errors"
	"io"
	"time"
)

var errTODO = errors.New("ntlm: not implemented")

type NegotiateFlags uint32

// Version is the VERSION structure (MS-NLMP 2.2.2.10).
type Version struct {
	Major, Minor uint8
	Build        uint16
	Revision     uint8
}

func (v Version) String() string { return "" } // "10.0.17763"

// TargetInfo holds the AV pairs of a CHALLENGE (MS-NLMP 2.2.2.1).
type TargetInfo struct {
	NbComputerName, NbDomainName, DNSComputerName, DNSDomainName, DNSTreeName string
	Timestamp                                                                 time.Time // zero if MsvAvTimestamp absent
	Flags                                                                     uint32
	Raw                                                                       []byte // the AV pair list as sent
}

type ChallengeMessage struct {
	Flags           NegotiateFlags
	TargetName      string
	ServerChallenge [8]byte
	TargetInfo      TargetInfo
	Version         *Version
}

func (m *ChallengeMessage) Unmarshal(b []byte) error { return errTODO }
func (m *ChallengeMessage) Marshal() []byte          { return nil }

// Client is the NTLMv2 client side.
type Client struct {
	User, Domain, Password, Workstation string
	SPN                                 string
	Rand                                io.Reader        // nil: crypto/rand
	Now                                 func() time.Time // nil: time.Now
}

func (c *Client) Negotiate() []byte { return nil }
func (c *Client) Authenticate(challenge []byte) ([]byte, *Session, error) {
	return nil, nil, errTODO
}

// Session is NTLM session security after a successful exchange (MS-NLMP 3.4).
type Session struct{}

func (s *Session) Seal(msg []byte) []byte          { return nil }
func (s *Session) Unseal(b []byte) ([]byte, error) { return nil, errTODO }
