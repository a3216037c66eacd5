package negotiate

// CONTRACT STUB — the wire helper replaces this file with x224.go, credssp.go,
// ntstatus.go, eua.go, sniff.go (same exported names and signatures).

import (
	"errors"
	"io"
)

var errTODO = errors.New("negotiate: not implemented")

// Protocol is a set of RDP security protocols (MS-RDPBCGR 2.2.1.1.1 requestedProtocols).
type Protocol uint32

const (
	ProtocolRDP      Protocol = 0x00000000 // PROTOCOL_RDP: standard RDP security
	ProtocolSSL      Protocol = 0x00000001 // PROTOCOL_SSL: TLS
	ProtocolHybrid   Protocol = 0x00000002 // PROTOCOL_HYBRID: CredSSP (NLA)
	ProtocolRDSTLS   Protocol = 0x00000004 // PROTOCOL_RDSTLS
	ProtocolHybridEx Protocol = 0x00000008 // PROTOCOL_HYBRID_EX: CredSSP + Early User Authorization Result
	ProtocolRDSAAD   Protocol = 0x00000010 // PROTOCOL_RDSAAD
)

func (p Protocol) String() string { return "" }

// FailureCode is RDP_NEG_FAILURE.failureCode (MS-RDPBCGR 2.2.1.2.2).
type FailureCode uint32

const (
	SSLRequiredByServer             FailureCode = 1
	SSLNotAllowedByServer           FailureCode = 2
	SSLCertNotOnServer              FailureCode = 3
	InconsistentFlags               FailureCode = 4
	HybridRequiredByServer          FailureCode = 5
	SSLWithUserAuthRequiredByServer FailureCode = 6
)

func (c FailureCode) String() string { return "" }

type NegotiationResponseFlags uint8

type NegotiationResponse struct {
	Flags            NegotiationResponseFlags
	SelectedProtocol Protocol
}

type NegotiationFailure struct{ Code FailureCode }

func (f *NegotiationFailure) Error() string { return "" }

type ConnectionRequest struct {
	Cookie             string
	RequestedProtocols Protocol
	Flags              uint8
	NoNegotiation      bool
}

func (m *ConnectionRequest) Marshal() []byte             { return nil }
func (m *ConnectionRequest) Unmarshal(x224 []byte) error { return errTODO }

type ConnectionConfirm struct {
	Response *NegotiationResponse
	Failure  *NegotiationFailure
}

func (m *ConnectionConfirm) Marshal() []byte             { return nil }
func (m *ConnectionConfirm) Unmarshal(x224 []byte) error { return errTODO }

type NotTPKTError struct{ First []byte }

func (e *NotTPKTError) Error() string { return "" }
func (e *NotTPKTError) Looks() string { return "" }

func ReadTPKT(r io.Reader, max int) ([]byte, error) { return nil, errTODO }

type NTStatus uint32

func (s NTStatus) String() string { return "" }
func (s NTStatus) Name() string   { return "" }

type EarlyUserAuthResult uint32

func (r EarlyUserAuthResult) String() string { return "" }

const (
	EarlyUserAuthSuccess      EarlyUserAuthResult = 0
	EarlyUserAuthAccessDenied EarlyUserAuthResult = 5
)

type TSRequest struct {
	Version     int
	NegoTokens  [][]byte
	AuthInfo    []byte
	PubKeyAuth  []byte
	ErrorCode   *NTStatus
	ClientNonce []byte
}

func (m *TSRequest) Marshal() ([]byte, error)            { return nil, errTODO }
func (m *TSRequest) Unmarshal(b []byte) error            { return errTODO }
func ReadTSRequest(r io.Reader, max int) ([]byte, error) { return nil, errTODO }

type TSCredentials struct{ Domain, User, Password string }

func (c *TSCredentials) Marshal() ([]byte, error) { return nil, errTODO }
func (c *TSCredentials) Unmarshal(b []byte) error { return errTODO }

func ClientServerHash(nonce, subjectPublicKey []byte) []byte { return nil }
func ServerClientHash(nonce, subjectPublicKey []byte) []byte { return nil }
