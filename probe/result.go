package probe

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rdpprobe/rdpprobe/negotiate"
)

// Phase names one step of a probe, in wire order. The names are stable API:
// they appear in JSON, in metrics labels and in module configs.
type Phase string

const (
	// The gateway phases run first when the probe goes through an RD
	// Gateway (Options.Gateway, MS-TSGU HTTP transport); the target's
	// phases then run unchanged inside the tunnel.
	PhaseGatewayConnect Phase = "gateway_connect" // the gateway's name and TCP connect (both channels' for the HTTP transport)
	PhaseGatewayTLS     Phase = "gateway_tls"     // TLS to the gateway and the trust decision on its certificate
	PhaseGatewayAuth    Phase = "gateway_auth"    // HTTP authentication of the channels, or the WebSocket upgrade (MS-TSGU 3.3.5.1)
	PhaseGatewayTunnel  Phase = "gateway_tunnel"  // handshake, tunnel creation and authorization: the CAP (MS-TSGU 3.3.5.2-3.3.5.4)
	PhaseGatewayChannel Phase = "gateway_channel" // the channel to the target: the RAP, and the gateway reaching the target (3.3.5.5)

	PhaseConnect   Phase = "connect"   // name resolution and TCP connect
	PhaseNegotiate Phase = "negotiate" // X.224 Connection Request/Confirm (MS-RDPBCGR 2.2.1.1-2)
	PhaseTLS       Phase = "tls"       // TLS handshake (MS-RDPBCGR 5.4.5.1)
	PhaseKerberos  Phase = "kerberos"  // the KDC exchanges for a TERMSRV ticket (RFC 4120 3.1, 3.3), when Kerberos is tried
	PhaseNTLMInfo  Phase = "ntlm_info" // CredSSP up to the NTLM CHALLENGE (MS-CSSP 3.1.5 steps 1-2)
	PhaseLogon     Phase = "logon"     // NTLM AUTHENTICATE or Kerberos AP-REQ, pubKeyAuth, TSCredentials, Early User Authorization
	// PhaseSession opens the session up to licensing and the server's
	// first verdict (MS-RDPBCGR 2.2.1.3-2.2.1.13.1), then disconnects. It
	// runs only when asked for (Options.Depth == PhaseSession).
	PhaseSession Phase = "session"
)

// Phases lists every phase in wire order.
var Phases = []Phase{PhaseGatewayConnect, PhaseGatewayTLS, PhaseGatewayAuth, PhaseGatewayTunnel, PhaseGatewayChannel,
	PhaseConnect, PhaseNegotiate, PhaseTLS, PhaseKerberos, PhaseNTLMInfo, PhaseLogon, PhaseSession}

// ParsePhase returns the phase named s. It is the one parser of phase
// names (--depth, sweep --phases, a module's phases:, a fixture's depth:);
// its error names no flag, the caller adds its own.
func ParsePhase(s string) (Phase, error) {
	if s == "gateway" {
		return PhaseGatewayChannel, nil // --depth gateway: the gateway alone
	}
	for _, p := range Phases {
		if string(p) == s {
			return p, nil
		}
	}
	var direct, gateway []string
	for _, p := range Phases {
		if strings.HasPrefix(string(p), "gateway_") {
			gateway = append(gateway, string(p))
		} else {
			direct = append(direct, string(p))
		}
	}
	return "", fmt.Errorf("unknown phase %q (use %s; through a gateway also %s, or gateway for %s)",
		s, strings.Join(direct, ", "), strings.Join(gateway, ", "), PhaseGatewayChannel)
}

// Deepest returns the phase furthest along the wire among phases, or ""
// when there is none (a list of phases to run stops after its deepest).
func Deepest(phases ...Phase) Phase {
	deepest, rank := Phase(""), -1
	for _, p := range phases {
		if i := slices.Index(Phases, p); i > rank {
			deepest, rank = p, i
		}
	}
	return deepest
}

// Result is what one probe saw: facts and timings, never prose (words for
// humans live in package classify).
type Result struct {
	Target string // as the user gave it
	Host   string // host part, without brackets
	Port   int    // port dialled
	Addr   string // resolved address actually connected to (ip:port)
	User   string // account as given to -u; never the password
	Start  time.Time

	// Offered is what the client put in RDP_NEG_REQ.requestedProtocols.
	Offered negotiate.Protocol
	// AllowStandardRDP: PROTOCOL_RDP (standard RDP security, no bit of its
	// own) was offered too, so a server selecting it did what was asked.
	AllowStandardRDP bool
	// Depth is the last phase the probe was asked to run ("" for as deep
	// as the server allows, short of PhaseSession).
	Depth Phase
	// Credentials: the user supplied an account and password, so a logon
	// was wanted (whether or not the server let us try one).
	Credentials bool
	// CertWarnWithin: a certificate expiring sooner is worth a finding
	// (Options.CertWarnWithin, else DefaultCertWarnWithin).
	CertWarnWithin time.Duration
	// LogonAttempted is true once an NTLM AUTHENTICATE carrying the
	// user's credentials has been sent: the one attempt of this run.
	LogonAttempted bool

	// Timings holds one entry per phase that started, in order.
	Timings []PhaseTiming
	// Reached is the deepest phase that completed; empty if none did.
	Reached Phase
	// Failed is the phase that ended the run with an error; empty on success.
	Failed Phase
	// Err is the raw error of the failed phase. Typed causes stay reachable
	// with errors.As (*net.DNSError, *negotiate.NegotiationFailure,
	// *negotiate.NotTPKTError, *ProtocolMismatchError, ...).
	Err error

	Negotiation *Negotiation
	TLS         *TLSInfo
	NTLM        *NTLMInfo
	CredSSP     *CredSSPInfo
	// Auth is how the security package inside CredSSP was chosen; nil
	// when the probe did not get as far as CredSSP.
	Auth *AuthInfo
	// Session is what the session phase saw; nil when it was not asked for.
	Session *SessionInfo
	// Gateway is what the RD Gateway said; nil when the probe went direct.
	Gateway *GatewayInfo
}

// CredentialsUsed reports whether the server was given the user's
// credentials, so that its answer may count toward the account's lockout:
// a logon was attempted (LogonAttempted: an NTLM AUTHENTICATE, a Kerberos
// pre-authentication), or the password went in the Client Info for
// autologon, or an RD Gateway was given its credentials (the gateway's
// logon: its account may lock out too). Every lockout rule (the sweep's cap and
// one logon per host, the exporter's cache and block) counts only these
// runs: an error a server sends before either says nothing about the
// account.
func (r *Result) CredentialsUsed() bool {
	return r.LogonAttempted || r.Session != nil && r.Session.Autologon || r.Gateway != nil && r.Gateway.LogonAttempted
}

// PhaseTiming is the duration of one phase.
type PhaseTiming struct {
	Phase    Phase
	Duration time.Duration
}

// Negotiation is what the X.224 exchange established.
type Negotiation struct {
	Offered negotiate.Protocol
	// Exactly one of Response and Failure is set when the server sent
	// negotiation data; both are nil when its Connection Confirm had none
	// (a pre-RDP 5.2 server: standard RDP security only).
	Response *negotiate.NegotiationResponse
	Failure  *negotiate.NegotiationFailure
}

// Selected is the protocol the server chose (PROTOCOL_RDP when it sent no
// negotiation response).
func (n *Negotiation) Selected() negotiate.Protocol {
	if n == nil || n.Response == nil {
		return negotiate.ProtocolRDP
	}
	return n.Response.SelectedProtocol
}

// TLSInfo describes the TLS session and the server's certificate.
type TLSInfo struct {
	Version     uint16 // tls.VersionTLS12 ...
	CipherSuite uint16
	Certificate *CertInfo // nil if the server sent none
}

// CertInfo holds the facts of the server's leaf certificate.
type CertInfo struct {
	Subject     string
	CommonName  string // the subject's CN, which names a certificate without DNS names
	Issuer      string
	DNSNames    []string
	IPAddresses []string
	// NamesNotKept counts the SANs past the first 32 DNS names and 32 IP
	// addresses, and the extended key usages past the first 32: seen, not
	// kept (see bounds.go).
	NamesNotKept int
	NotBefore    time.Time
	NotAfter     time.Time
	SelfSigned   bool
	KeyType      string // "RSA", "ECDSA", "Ed25519"
	KeyBits      int
	SHA256       string // hex fingerprint of the DER certificate
	SignatureAlg string
	// ExtKeyUsage lists the OIDs of its extended key usages; nil when it
	// has none (no restriction of purpose).
	ExtKeyUsage []string
	// Trust is how the certificate and its chain fared (VerifyCertificate);
	// nil when it was not judged.
	Trust *CertTrust
}

// NTLMInfo is what the server said about itself in its NTLM CHALLENGE
// (MS-NLMP 2.2.1.2, 2.2.2.1). Empty strings mean the AV pair was absent.
type NTLMInfo struct {
	TargetName      string
	NetBIOSDomain   string
	NetBIOSComputer string
	DNSDomain       string
	DNSComputer     string
	DNSTree         string
	OSVersion       string        // "major.minor.build", empty if no VERSION field
	ServerTime      time.Time     // MsvAvTimestamp; zero if absent or invalid
	ClockSkew       time.Duration // server time minus our time when the CHALLENGE arrived
	// ServerTimeInvalid is the MsvAvTimestamp when it lies more than a
	// century from our clock (no clock, or a forged one); "" otherwise.
	ServerTimeInvalid string
	NegotiateFlags    uint32
}

// CredSSPInfo records the CredSSP exchange (MS-CSSP 2.2.1).
type CredSSPInfo struct {
	ClientVersion int // version we sent
	ServerVersion int // version in the server's first TSRequest; 0 if none arrived
	// ErrorCode is the NTSTATUS the server put in TSRequest.errorCode (v3+),
	// nil when it sent none.
	ErrorCode *negotiate.NTStatus
	// ClosedAfterAuthenticate: the server ended the connection right after our
	// AUTHENTICATE without saying why (FreeRDP's server, old Windows).
	ClosedAfterAuthenticate bool
	// PubKeyAuthVerified: the server proved it holds the session key and the
	// TLS key we saw, so the password was right and no one sits in between.
	PubKeyAuthVerified bool
	// CredentialsSent: TSCredentials went out (only after PubKeyAuthVerified).
	CredentialsSent bool
	// EarlyUserAuth is the Early User Authorization Result (MS-RDPBCGR
	// 2.2.10.2) when HYBRID_EX was selected; nil otherwise.
	EarlyUserAuth *negotiate.EarlyUserAuthResult
}

// AutologonReason is why the password went in the Client Info PDU of a
// server that selected TLS without NLA, or standard RDP security:
// something proved who the server is, or the caller took the risk.
type AutologonReason string

const (
	AutologonTrustedCert AutologonReason = "trusted_certificate" // CertTrust.Trusted
	AutologonPinnedCert  AutologonReason = "pinned_certificate"  // CertTrust.PinMatches
	AutologonOptedIn     AutologonReason = "opted_in"            // Options.AutologonWithoutNLA
)

// LicenseOutcome is how the licensing phase (MS-RDPBCGR 2.2.1.12) ended.
type LicenseOutcome string

const (
	LicenseNotReached  LicenseOutcome = ""             // no licensing PDU arrived
	LicenseValidClient LicenseOutcome = "valid_client" // STATUS_VALID_CLIENT: licensing passed
	LicenseRequested   LicenseOutcome = "requested"    // LICENSE_REQUEST left unanswered (no usable server key), or another exchange message
	LicenseChallenged  LicenseOutcome = "challenged"   // PLATFORM_CHALLENGE after our NEW_LICENSE_REQUEST: the server would issue a licence, the probe stopped
	LicenseError       LicenseOutcome = "error"        // another LICENSE_ERROR_MESSAGE: licensing failed
)

// LicenseInfo is the licensing message that settled the outcome.
type LicenseInfo struct {
	Outcome         LicenseOutcome
	MsgType         negotiate.LicenseMsgType         // bMsgType of that message
	ErrorCode       negotiate.LicenseErrorCode       // ERROR_ALERT only
	StateTransition negotiate.LicenseStateTransition // ERROR_ALERT only
	CompanyName     string                           // from the LICENSE_REQUEST
	ProductID       string                           // from the LICENSE_REQUEST

	// ServerKey is where the LICENSE_REQUEST's RSA key came from:
	// "proprietary" or "x509" certificate; "" if no usable key.
	ServerKey     string
	ServerKeyBits int // its modulus' size
	// NewLicenseRequestSent: the probe answered the LICENSE_REQUEST with a
	// CLIENT_NEW_LICENSE_REQUEST (MS-RDPELE 2.2.2.2) naming the user, never
	// with a password; the outcome is what the server said next.
	NewLicenseRequestSent bool
	// NoNewLicenseRequest says why a LICENSE_REQUEST went unanswered (no
	// usable server key); "" otherwise.
	NoNewLicenseRequest string
}

// SessionInfo records the session phase: the MCS/GCC connection, the
// Client Info PDU, and what the server answered until its first verdict
// (MS-RDPBCGR 1.3.1.1, 3.2.5.3).
type SessionInfo struct {
	// Skipped says why the phase did not run although it was asked for
	// (standard RDP security; NLA without credentials); "" when it ran.
	Skipped string

	// From the MCS Connect Response (2.2.1.4).
	ServerVersion    uint32 // TS_UD_SC_CORE.version
	EncryptionMethod negotiate.EncryptionMethod
	EncryptionLevel  negotiate.EncryptionLevel
	IOChannel        uint16
	UserChannel      uint16   // from the Attach User Confirm (2.2.1.7)
	Channels         []uint16 // channels joined (2.2.1.9)
	// MCSFailure is an MCS confirm whose result was not rt-successful.
	MCSFailure *negotiate.MCSResultError
	// StandardSecurity is set when the server selected standard RDP
	// security (PROTOCOL_RDP), which authenticates nothing; nil otherwise.
	StandardSecurity *StandardSecurityInfo

	// ClientInfoSent: the Client Info PDU (2.2.1.11) went out.
	ClientInfoSent bool
	// Autologon: it carried the user's password with INFO_AUTOLOGON (TLS
	// without NLA); under NLA it names the account without the password.
	Autologon bool
	// AutologonReason says why the password went in the Client Info of a
	// server without NLA; "" when it did not.
	AutologonReason AutologonReason
	// PasswordWithheld says why the Client Info named the account but
	// carried no password although credentials were given; "" otherwise.
	PasswordWithheld string

	License *LicenseInfo // nil when no licensing PDU arrived
	// ErrorInfo lists the Set Error Info codes (2.2.5.1) received, in order.
	ErrorInfo []negotiate.ErrorInfo
	// LogonErrors lists the logon errors and notifications of Save Session
	// Info PDUs (2.2.10.1.1.4.1.1), in order.
	LogonErrors []negotiate.LogonErrorsInfo
	// NotKept counts the harmless PDUs past maxKeptPDUs of their kind:
	// seen and counted, not kept.
	NotKept int
	// LoggedOn: a Save Session Info logon notification arrived: the server
	// logged the user on.
	LoggedOn bool
	// DemandActive: the Demand Active PDU (2.2.1.13.1) arrived: the
	// capabilities exchange, the last step before graphics.
	DemandActive bool
	// ServerDisconnect is the reason of a Disconnect Provider Ultimatum the
	// server sent (2.2.2.3); nil if none.
	ServerDisconnect *negotiate.MCSReason
	// DisconnectSent: our Disconnect Provider Ultimatum went out.
	DisconnectSent bool
}

// StandardSecurityInfo records Standard RDP Security (MS-RDPBCGR 5.3) in the
// session phase. The method and level are SessionInfo's EncryptionMethod
// and EncryptionLevel; at ENCRYPTION_METHOD_NONE nothing else is set.
type StandardSecurityInfo struct {
	// ServerCertificate is where the server's RSA key came from:
	// "proprietary" or "x509" (2.2.1.4.3.1); ServerKeyBits its modulus'
	// size. No one vouches for either.
	ServerCertificate string
	ServerKeyBits     int
	// SecurityExchangeSent: the client random went to the server under
	// that key (2.2.1.10) and the session keys were derived (5.3.5).
	SecurityExchangeSent bool
	// EncryptedPDUs counts the server PDUs decrypted whose signatures
	// verified; KeyUpdates the RC4 key updates of both directions (5.3.7).
	EncryptedPDUs int
	KeyUpdates    int
	// SaltedMAC: the server signed with the salted MAC (SEC_SECURE_CHECKSUM,
	// 5.3.6.1.1), and so did the probe from then on.
	SaltedMAC bool
	// LicensingEncrypted: the server's licensing PDUs came encrypted;
	// LicenseRequestEncrypted: the probe's NEW_LICENSE_REQUEST went
	// encrypted, because the server said it reads encrypted licensing PDUs
	// (SEC_LICENSE_ENCRYPT_CS).
	LicensingEncrypted      bool
	LicenseRequestEncrypted bool
}
