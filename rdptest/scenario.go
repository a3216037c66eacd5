package rdptest

import (
	"crypto/tls"
	"io"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/negotiate/ntlm"
)

// Scenario is how a Server behaves: a plain value, so a table of scenarios
// reads like a list of servers. The zero value is a patched Windows Server
// 2019 member server with NLA required and no accounts.
type Scenario struct {
	// Addr to listen on; "" is 127.0.0.1:0. Only loopback is allowed
	// (127.0.0.2:3389 for impacket's rdp_check, which always dials 3389).
	Addr string

	Negotiation Negotiation
	TLS         TLSOptions

	// CredSSPVersion is the TSRequest version the server speaks (MS-CSSP
	// 2.2.1): 2 to 6, zero means 6. Below 5 the server behaves as one
	// without the CVE-2018-0886 fix: no clientNonce, the legacy public key
	// echo.
	CredSSPVersion int
	// Accounts maps "DOMAIN\user" (or a bare "user", any domain) to its
	// password; names compare case-insensitively, the DNS domain counts as
	// the NetBIOS one. The NT hashes are computed once by NewServer.
	Accounts map[string]string
	// NTLM is what the CHALLENGE advertises; the zero value advertises a
	// Windows Server 2019 member server (CORP\RDS01, corp.example.com,
	// 10.0.17763).
	NTLM *NTLMIdentity

	// NegotiateErrorCode, if not zero, answers the NTLM NEGOTIATE with a
	// TSRequest carrying this errorCode (MS-CSSP 2.2.1, version 3 and
	// later) instead of the CHALLENGE: before any credential, so it can
	// say nothing about an account (a hostile server faking a lockout
	// sends STATUS_ACCOUNT_LOCKED_OUT here).
	NegotiateErrorCode negotiate.NTStatus

	// Kerberos, if set, makes the server take Kerberos inside SPNEGO as
	// well as NTLM, as a domain member does (kerberos.go).
	Kerberos *KerberosAcceptor

	// AfterAuthenticate is the answer to an AUTHENTICATE with the RIGHT
	// password (a locked-out account still knows its password), or to a
	// Kerberos AP-REQ that verifies: the errorCode is sent in place of the
	// AP-REP.
	AfterAuthenticate Outcome
	// BadPassword is the answer to an AUTHENTICATE that does not verify.
	// The zero value is Windows': errorCode STATUS_LOGON_FAILURE. FreeRDP's
	// server closes instead: Outcome{Close: true}.
	BadPassword Outcome
	// TamperPubKeyAuth makes the server's pubKeyAuth prove the wrong key (a
	// man in the middle): a client must refuse it and send no credentials.
	TamperPubKeyAuth bool
	// EarlyUserAuth is the Early User Authorization Result (MS-RDPBCGR
	// 2.2.10.2) sent after the credentials when HYBRID_EX was selected.
	EarlyUserAuth negotiate.EarlyUserAuthResult

	// Session, when set, carries the connection past the security
	// exchange (TLS, or CredSSP with a good password): the server answers
	// the MCS Connect Initial, Erect Domain, Attach User and Channel Joins,
	// reads the Client Info PDU and plays Session (MS-RDPBCGR 2.2.1.3-
	// 2.2.1.13). Without it the server says nothing after the security
	// exchange.
	Session *Session

	// StandardRDP, if set, makes the server accept Standard RDP Security
	// (MS-RDPBCGR 5.3) and answer the Client MCS Connect Initial with
	// these security data (see standard.go). A zero Negotiation.Accept then
	// means standard RDP security only.
	StandardRDP *StandardRDPSecurity

	Fault Fault

	// Gateway, when set, puts an RD Gateway emulator in front of the
	// server (NewServer starts both; Server.Gateway is the emulator). Its
	// Accounts default to the server's.
	Gateway *GatewayScenario
}

// Negotiation is the X.224 policy (MS-RDPBCGR 2.2.1.2).
type Negotiation struct {
	// Accept is what the server supports; zero means HYBRID|HYBRID_EX (NLA
	// required, Windows' default). The server selects HYBRID_EX, HYBRID,
	// then SSL, the first one the client offered too.
	Accept negotiate.Protocol
	// Failure, if set, is the RDP_NEG_FAILURE code sent to every request.
	Failure negotiate.FailureCode
	// Select, if set, is selected whatever the client offered (xrdp
	// selects PROTOCOL_RDP for a HYBRID-only request: SelectRDP).
	Select    negotiate.Protocol
	SelectRDP bool
	// NoResponse sends a Connection Confirm without RDP_NEG_RSP, as servers
	// before RDP 5.2 do (standard RDP security).
	NoResponse bool
	// Disconnect answers with an X.224 Disconnect Request.
	Disconnect bool
	// Garbage is sent in a TPKT instead of a Connection Confirm.
	Garbage []byte
}

// TLSOptions is the server's TLS side.
type TLSOptions struct {
	Certificate *tls.Certificate // nil: DefaultCertificate (self-signed RSA 2048)
	// MinVersion/MaxVersion bound the versions; zero is TLS 1.0 to 1.3.
	// TLS 1.0 only: both tls.VersionTLS10.
	MinVersion, MaxVersion uint16
	// CipherSuites, if set, are the only TLS 1.0-1.2 suites the server
	// takes (an RC4-only server shares none with a current client).
	CipherSuites []uint16
	// KeyLogWriter receives the TLS secrets (for tshark).
	KeyLogWriter io.Writer
}

// NTLMIdentity is what the NTLM CHALLENGE says about the server.
type NTLMIdentity struct {
	TargetName string
	TargetInfo ntlm.TargetInfo
	Version    *ntlm.Version // nil: no VERSION field
}

// Outcome is the server's answer to an AUTHENTICATE.
type Outcome struct {
	// ErrorCode, if not zero, is sent in TSRequest.errorCode.
	ErrorCode negotiate.NTStatus
	// Close ends the connection without a word.
	Close bool
}

// Session is what the server answers once the Client Info PDU is in, in
// this order: the licensing PDU; then a Save Session Info PDU if LoggedOn
// or LogonError; then either Set Error Info (ErrorInfo) followed by a
// Disconnect Provider Ultimatum, or the Demand Active PDU. The zero value
// is Windows with licensing sorted: STATUS_VALID_CLIENT, then Demand
// Active.
type Session struct {
	// ConnectResult, if not rt-successful, fails the MCS Connect Response
	// and ends the connection.
	ConnectResult negotiate.MCSResult
	// LicenseError, if set, replaces the Valid Client message with a
	// License Error PDU of this code (MS-RDPBCGR 2.2.1.12.1.3);
	// StateTransition defaults to ST_TOTAL_ABORT. Nothing but ErrorInfo
	// (and the disconnect) follows.
	LicenseError    negotiate.LicenseErrorCode
	StateTransition negotiate.LicenseStateTransition
	// LicenseRequest opens the licence exchange with a
	// SERVER_LICENSE_REQUEST (MS-RDPELE 2.2.2.1), as a server with the
	// Session Host role does (and xrdp), carrying a proprietary
	// certificate of rdptest's RSA key (LicenseKey). The client's
	// CLIENT_NEW_LICENSE_REQUEST (2.2.2.2) is read and its premaster
	// secret decrypted: it must be 48 bytes. The answer is then
	// PlatformChallenge, or LicenseError, or ErrorInfo alone (no Valid
	// Client), or STATUS_VALID_CLIENT and what follows it.
	LicenseRequest bool
	// LicenseCompany and LicenseProduct name the LICENSE_REQUEST's product
	// (ProductInfo, MS-RDPELE 2.2.2.1); both empty: Windows'
	// "Microsoft Corporation", "A02".
	LicenseCompany, LicenseProduct string
	// NoLicenseCertificate sends the LICENSE_REQUEST with an empty
	// certificate: a client has no key to answer with.
	NoLicenseCertificate bool
	// PlatformChallenge answers the NEW_LICENSE_REQUEST with a
	// SERVER_PLATFORM_CHALLENGE (MS-RDPELE 2.2.2.4), then waits for the
	// client's answer, which would get it a licence.
	PlatformChallenge bool
	// LoggedOn sends a Save Session Info logon notification
	// (INFOTYPE_LOGON_LONG, MS-RDPBCGR 2.2.10.1.1.2) for the Client Info's
	// account.
	LoggedOn bool
	// LogonError sends a Save Session Info PDU with LOGON_EX_LOGONERRORS
	// (MS-RDPBCGR 2.2.10.1.1.4.1.1).
	LogonError *negotiate.LogonErrorsInfo
	// ErrorInfo, if not ERRINFO_NONE, is sent in a Set Error Info PDU
	// (MS-RDPBCGR 2.2.5.1) before the server disconnects.
	ErrorInfo negotiate.ErrorInfo
	// Flood, if its Kind is set, is played first, right after the Client
	// Info: a hostile server streaming harmless PDUs. They go in the
	// clear, as over TLS; under standard RDP security's keys the kind is
	// StandardRDPSecurity.Flood.
	Flood Flood
}

// FloodKind is a PDU a flooding server repeats.
type FloodKind string

const (
	FloodErrorInfoNone      FloodKind = "errinfo-none"       // Set Error Info ERRINFO_NONE (MS-RDPBCGR 2.2.5.1)
	FloodLogonNotification  FloodKind = "logon-notification" // Save Session Info LOGON_MSG_SESSION_CONTINUE (2.2.10.1.1.4.1.1)
	FloodLogonWarning       FloodKind = "logon-warning"      // Save Session Info logon error with LOGON_WARNING
	FloodLicenseValidClient FloodKind = "valid-client"       // License Error PDU STATUS_VALID_CLIENT (2.2.1.12.1.3)
	FloodUpdate             FloodKind = "update"             // a Share Data PDUTYPE2_UPDATE of Flood.Size bytes (2.2.9.1.1.3)
	FloodMCS                FloodKind = "mcs"                // an MCS PDU other than Send Data (another Attach User Confirm)
)

// Flood is a stream of one harmless PDU after the Client Info.
type Flood struct {
	Kind FloodKind
	// Count PDUs, then the scenario goes on; zero floods until the
	// client hangs up (or the server closes).
	Count int
	// Size is the body of a FloodUpdate PDU (default 16 KiB, at most
	// 60 KiB: a TPKT carries at most 64 KiB).
	Size int
}

// DefaultNTLMIdentity is a Windows Server 2019 member of CORP.
func DefaultNTLMIdentity() NTLMIdentity {
	return NTLMIdentity{
		TargetName: "CORP",
		TargetInfo: ntlm.TargetInfo{
			NbDomainName:    "CORP",
			NbComputerName:  "RDS01",
			DNSDomainName:   "corp.example.com",
			DNSComputerName: "RDS01.corp.example.com",
			DNSTreeName:     "corp.example.com",
		},
		Version: &ntlm.Version{Major: 10, Minor: 0, Build: 17763, Revision: 15},
	}
}
