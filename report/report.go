// Package report turns a probe's Result and its Verdict into what people and
// programs read: the JSON document (docs/result.schema.json) and the text
// form. One schema serves the command line, sweeps and the exporter's log.
package report

import (
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
)

// SchemaVersion changes only when a field changes meaning or goes away;
// adding fields does not bump it. See docs/result.schema.json.
const SchemaVersion = 1

// Report is the JSON form of one probe (--output json, and one line of a
// sweep's JSONL). Field names are stable API.
type Report struct {
	SchemaVersion  int              `json:"schema_version"`
	Class          string           `json:"class"`
	OK             bool             `json:"ok"`
	Group          string           `json:"group"`
	ExitCode       int              `json:"exit_code"`
	Title          string           `json:"title"`
	Detail         string           `json:"detail"`
	Phase          string           `json:"phase"`
	Target         string           `json:"target"`
	Host           string           `json:"host,omitempty"`
	Port           int              `json:"port,omitempty"`
	Addr           string           `json:"addr,omitempty"`
	User           string           `json:"user,omitempty"`
	LogonAttempted bool             `json:"logon_attempted"`
	Start          time.Time        `json:"start"`
	DurationMS     float64          `json:"duration_ms"`
	Phases         []PhaseReport    `json:"phases"`
	Error          string           `json:"error,omitempty"`
	Negotiation    *NegotiationJSON `json:"negotiation,omitempty"`
	TLS            *TLSJSON         `json:"tls,omitempty"`
	NTLMJSON       *NTLMJSON        `json:"ntlm,omitempty"`
	CredSSP        *CredSSPJSON     `json:"credssp,omitempty"`
	Auth           *AuthJSON        `json:"auth,omitempty"`
	Session        *SessionJSON     `json:"session,omitempty"`
	Gateway        *GatewayJSON     `json:"gateway,omitempty"`
	WindowsSays    string           `json:"windows_says,omitempty"`
	Cause          string           `json:"cause,omitempty"`
	Fix            string           `json:"fix,omitempty"`
	Findings       []FindingJSON    `json:"findings"`
	// Enumeration is set by rdpprobe --enumerate (see layers.go); its
	// fields sit at the top level of the JSON.
	*Enumeration
}

// AuthJSON is how the security package inside CredSSP was chosen
// (--auth) and what Kerberos saw.
type AuthJSON struct {
	Requested       string         `json:"requested"`
	Mechanism       string         `json:"mechanism"`
	Why             string         `json:"why,omitempty"`
	SPN             string         `json:"spn,omitempty"`
	Realm           string         `json:"realm,omitempty"`
	RealmSource     string         `json:"realm_source,omitempty"`
	KDCs            []string       `json:"kdcs,omitempty"`
	KDCSource       string         `json:"kdc_source,omitempty"`
	KDCTried        []string       `json:"kdc_tried,omitempty"`
	CCache          string         `json:"ccache,omitempty"`
	Exchanges       []ExchangeJSON `json:"kdc_exchanges,omitempty"`
	PreauthRequired bool           `json:"preauth_required,omitempty"`
	EType           string         `json:"etype,omitempty"`
	RC4Only         bool           `json:"rc4_only,omitempty"`
}

// ExchangeJSON is one KDC exchange.
type ExchangeJSON struct {
	Step  string  `json:"step"`
	KDC   string  `json:"kdc"`
	RTTMS float64 `json:"rtt_ms"`
}

type PhaseReport struct {
	Phase      string  `json:"phase"`
	DurationMS float64 `json:"duration_ms"`
	OK         bool    `json:"ok"`
}

type NegotiationJSON struct {
	Offered       []string `json:"offered"`
	Selected      string   `json:"selected,omitempty"`
	ResponseFlags []string `json:"response_flags,omitempty"`
	FailureCode   string   `json:"failure_code,omitempty"`
	NoNegotiation bool     `json:"no_negotiation_data,omitempty"`
}

type TLSJSON struct {
	Version     string    `json:"version"`
	CipherSuite string    `json:"cipher_suite"`
	Certificate *CertJSON `json:"certificate,omitempty"`
}

type CertJSON struct {
	Subject      string    `json:"subject"`
	Issuer       string    `json:"issuer"`
	DNSNames     []string  `json:"dns_names,omitempty"`
	IPAddresses  []string  `json:"ip_addresses,omitempty"`
	NamesNotKept int       `json:"names_not_kept,omitempty"`
	NotBefore    time.Time `json:"not_before"`
	NotAfter     time.Time `json:"not_after"`
	SelfSigned   bool      `json:"self_signed"`
	KeyType      string    `json:"key_type"`
	KeyBits      int       `json:"key_bits"`
	SHA256       string    `json:"sha256"`
	SignatureAlg string    `json:"signature_algorithm"`
	// ExtKeyUsage lists the OIDs of its extended key usages; absent: none
	// (no restriction of purpose).
	ExtKeyUsage []string `json:"ext_key_usage,omitempty"`
	// The certificate check (probe.VerifyCertificate); absent when it was
	// not judged. Trusted: a chain to a trusted root, the name, the
	// purpose and every validity period pass; revocation is not checked.
	Trusted     *bool  `json:"trusted,omitempty"`
	TrustError  string `json:"trust_error,omitempty"` // the first check that failed
	NameChecked string `json:"name_checked,omitempty"`
	NameMatches *bool  `json:"name_matches,omitempty"`
	// Chain is the chain checked, leaf first: the one that verified, up
	// to its root, or else what the server sent; ChainNotAfter its
	// earliest expiry.
	Chain         []ChainCertJSON `json:"chain,omitempty"`
	ChainNotAfter *time.Time      `json:"chain_not_after,omitempty"`
	// PinnedSHA256 is the pin given (--cert-sha256), PinMatches whether
	// the certificate is the pinned one.
	PinnedSHA256 string `json:"pinned_sha256,omitempty"`
	PinMatches   *bool  `json:"pin_matches,omitempty"`
}

// ChainCertJSON is one certificate of the chain checked.
type ChainCertJSON struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	SHA256    string    `json:"sha256"`
}

type NTLMJSON struct {
	TargetName      string     `json:"target_name,omitempty"`
	NetBIOSDomain   string     `json:"netbios_domain,omitempty"`
	NetBIOSComputer string     `json:"netbios_computer,omitempty"`
	DNSDomain       string     `json:"dns_domain,omitempty"`
	DNSComputer     string     `json:"dns_computer,omitempty"`
	DNSTree         string     `json:"dns_tree,omitempty"`
	OSVersion       string     `json:"os_version,omitempty"`
	ServerTime      *time.Time `json:"server_time,omitempty"`
	ClockSkewS      *float64   `json:"clock_skew_seconds,omitempty"`
	// ServerTimeInvalid is a clock field centuries off, as the server sent it.
	ServerTimeInvalid string `json:"server_time_invalid,omitempty"`
}

type CredSSPJSON struct {
	ClientVersion      int        `json:"client_version"`
	ServerVersion      int        `json:"server_version"`
	ErrorCode          *NTStatusJ `json:"error_code,omitempty"`
	ClosedAfterAuth    bool       `json:"closed_after_authenticate,omitempty"`
	PubKeyAuthVerified bool       `json:"pubkey_auth_verified"`
	CredentialsSent    bool       `json:"credentials_sent"`
	EarlyUserAuth      string     `json:"early_user_authorization,omitempty"`
}

// CredentialsUsed is probe.Result.CredentialsUsed read back from a report
// (a resumed sweep's lines): a logon was attempted, or the password went
// in the Client Info for autologon, or the RD Gateway was given its
// credentials.
func (r *Report) CredentialsUsed() bool {
	return r.LogonAttempted || r.Session != nil && r.Session.Autologon || r.Gateway != nil && r.Gateway.LogonAttempted
}

// SessionJSON is the session phase (--depth session): how far the session
// start got and what the server answered.
type SessionJSON struct {
	Skipped          string `json:"skipped,omitempty"`
	ServerVersion    string `json:"server_rdp_version,omitempty"` // "0x00080004"
	EncryptionMethod string `json:"encryption_method,omitempty"`
	EncryptionLevel  string `json:"encryption_level,omitempty"`
	IOChannel        int    `json:"io_channel,omitempty"`
	UserChannel      int    `json:"user_channel,omitempty"`
	Channels         []int  `json:"channels_joined,omitempty"`
	MCSFailure       string `json:"mcs_failure,omitempty"` // "Connect-Response: rt-user-rejected"
	// StandardSecurity is set under standard RDP security (PROTOCOL_RDP).
	StandardSecurity *StandardSecurityJSON `json:"standard_security,omitempty"`
	ClientInfoSent   bool                  `json:"client_info_sent"`
	Autologon        bool                  `json:"autologon"`
	PasswordWithheld string                `json:"password_withheld,omitempty"`
	License          *LicenseJSON          `json:"license,omitempty"`
	ErrorInfo        []ErrorInfoJSON       `json:"error_info,omitempty"`
	LogonErrors      []LogonJSON           `json:"logon_errors,omitempty"`
	// NotKept counts harmless server PDUs past the cap of their kind.
	NotKept          int    `json:"pdus_not_kept,omitempty"`
	LoggedOn         bool   `json:"logged_on"`
	DemandActive     bool   `json:"demand_active"`
	ServerDisconnect string `json:"server_disconnect,omitempty"` // MCS reason, "rn-provider-initiated"
	DisconnectSent   bool   `json:"disconnect_sent"`
}

// StandardSecurityJSON is standard RDP security in the session phase
// (MS-RDPBCGR 5.3): the server's key and what went encrypted. Nothing in
// it authenticates the server.
type StandardSecurityJSON struct {
	ServerCertificate       string `json:"server_certificate,omitempty"` // proprietary, x509; absent at ENCRYPTION_METHOD_NONE
	ServerKeyBits           int    `json:"server_key_bits,omitempty"`
	SecurityExchangeSent    bool   `json:"security_exchange_sent"`
	EncryptedPDUs           int    `json:"encrypted_pdus_received"`
	KeyUpdates              int    `json:"key_updates,omitempty"`
	SaltedMAC               bool   `json:"salted_mac,omitempty"`
	LicensingEncrypted      bool   `json:"licensing_encrypted,omitempty"`
	LicenseRequestEncrypted bool   `json:"license_request_encrypted,omitempty"`
}

// LicenseJSON is the licensing message that settled the outcome.
type LicenseJSON struct {
	Outcome         string `json:"outcome"` // valid_client, requested, challenged, error
	Message         string `json:"message"` // bMsgType: ERROR_ALERT, LICENSE_REQUEST, ...
	ErrorCode       string `json:"error_code,omitempty"`
	StateTransition string `json:"state_transition,omitempty"`
	CompanyName     string `json:"company_name,omitempty"`
	ProductID       string `json:"product_id,omitempty"`
	// The LICENSE_REQUEST's key, and the probe's answer to it.
	ServerKey             string `json:"server_key,omitempty"` // proprietary, x509
	ServerKeyBits         int    `json:"server_key_bits,omitempty"`
	NewLicenseRequestSent bool   `json:"new_license_request_sent,omitempty"`
	NoNewLicenseRequest   string `json:"no_new_license_request,omitempty"`
}

// ErrorInfoJSON is one Set Error Info code.
type ErrorInfoJSON struct {
	Value string `json:"value"` // "0x00000101"
	Name  string `json:"name,omitempty"`
}

// LogonJSON is one TS_LOGON_ERRORS_INFO of a Save Session Info PDU.
type LogonJSON struct {
	Type string `json:"type"` // LOGON_MSG_* name, ERROR_CODE_ACCESS_DENIED or an NTSTATUS
	Data string `json:"data"` // LOGON_FAILED_* name, or "session N"
}

type NTStatusJ struct {
	Value string `json:"value"` // "0xC000006D"
	Name  string `json:"name,omitempty"`
}

type FindingJSON struct {
	ID       string `json:"id"`
	Severity string `json:"severity,omitempty"` // "info" or "warning"
	Text     string `json:"text"`
}

func protocolNames(p negotiate.Protocol, allowRDP bool) []string {
	var out []string
	if allowRDP {
		out = append(out, negotiate.ProtocolRDP.String())
	}
	for bit := negotiate.Protocol(1); bit != 0 && bit <= p; bit <<= 1 {
		if p&bit != 0 {
			out = append(out, bit.String())
		}
	}
	return out
}

// New flattens a Result and its Verdict into the JSON form.
func New(r *probe.Result, v classify.Verdict) *Report {
	rep := &Report{
		SchemaVersion:  SchemaVersion,
		Class:          string(v.Class.ID),
		OK:             v.OK,
		Group:          string(v.Class.Group),
		ExitCode:       v.ExitCode(),
		Title:          v.Class.Title,
		Detail:         v.Detail,
		Phase:          string(v.Phase),
		Target:         r.Target,
		Host:           r.Host,
		Port:           r.Port,
		Addr:           r.Addr,
		User:           r.User,
		LogonAttempted: r.LogonAttempted,
		Start:          r.Start,
		Phases:         []PhaseReport{},
		Findings:       []FindingJSON{},
	}
	if !v.OK {
		rep.WindowsSays, rep.Cause, rep.Fix = v.Class.WindowsSays, v.Class.Cause, v.Class.Fix
	}
	var total time.Duration
	for _, t := range r.Timings {
		total += t.Duration
		rep.Phases = append(rep.Phases, PhaseReport{Phase: string(t.Phase), DurationMS: ms(t.Duration), OK: t.Phase != r.Failed})
	}
	rep.DurationMS = ms(total)
	if r.Err != nil {
		rep.Error = r.Err.Error()
	}
	if n := r.Negotiation; n != nil {
		nj := &NegotiationJSON{Offered: protocolNames(n.Offered, r.AllowStandardRDP)}
		switch {
		case n.Failure != nil:
			nj.FailureCode = n.Failure.Code.String()
		case n.Response != nil:
			nj.Selected = n.Response.SelectedProtocol.String()
			if f := n.Response.Flags; f != 0 {
				nj.ResponseFlags = strings.Split(f.String(), "|")
			}
		default:
			nj.Selected, nj.NoNegotiation = negotiate.ProtocolRDP.String(), true
		}
		rep.Negotiation = nj
	}
	if t := r.TLS; t != nil {
		rep.TLS = tlsJSON(t)
	}
	if n := r.NTLM; n != nil {
		nj := &NTLMJSON{TargetName: n.TargetName, NetBIOSDomain: n.NetBIOSDomain, NetBIOSComputer: n.NetBIOSComputer,
			DNSDomain: n.DNSDomain, DNSComputer: n.DNSComputer, DNSTree: n.DNSTree, OSVersion: n.OSVersion}
		if !n.ServerTime.IsZero() {
			st := n.ServerTime
			skew := n.ClockSkew.Seconds()
			nj.ServerTime, nj.ClockSkewS = &st, &skew
		}
		nj.ServerTimeInvalid = n.ServerTimeInvalid
		rep.NTLMJSON = nj
	}
	if c := r.CredSSP; c != nil {
		cj := &CredSSPJSON{ClientVersion: c.ClientVersion, ServerVersion: c.ServerVersion, ClosedAfterAuth: c.ClosedAfterAuthenticate,
			PubKeyAuthVerified: c.PubKeyAuthVerified, CredentialsSent: c.CredentialsSent}
		if c.ErrorCode != nil {
			cj.ErrorCode = &NTStatusJ{Value: fmt.Sprintf("0x%08X", uint32(*c.ErrorCode)), Name: c.ErrorCode.Name()}
		}
		if c.EarlyUserAuth != nil {
			cj.EarlyUserAuth = c.EarlyUserAuth.String()
		}
		rep.CredSSP = cj
	}
	if a := r.Auth; a != nil {
		aj := &AuthJSON{Requested: string(a.Requested), Mechanism: a.Mechanism, Why: a.Why, SPN: a.SPN, Realm: a.Realm,
			RealmSource: string(a.RealmSource), KDCs: a.KDCs, KDCSource: string(a.KDCSource), KDCTried: a.KDCTried,
			CCache: a.CCache, PreauthRequired: a.PreauthRequired, EType: a.EType, RC4Only: a.RC4Only}
		for _, x := range a.Exchanges {
			aj.Exchanges = append(aj.Exchanges, ExchangeJSON{Step: x.Step, KDC: x.KDC, RTTMS: ms(x.RTT)})
		}
		rep.Auth = aj
	}
	if s := r.Session; s != nil {
		rep.Session = sessionJSON(s)
	}
	if g := r.Gateway; g != nil {
		rep.Gateway = gatewayJSON(g)
	}
	for _, f := range v.Findings {
		rep.Findings = append(rep.Findings, FindingJSON{ID: f.ID, Severity: string(f.Severity), Text: f.Text})
	}
	return rep
}

func tlsJSON(t *probe.TLSInfo) *TLSJSON {
	tj := &TLSJSON{Version: tls.VersionName(t.Version), CipherSuite: tls.CipherSuiteName(t.CipherSuite)}
	if c := t.Certificate; c != nil {
		tj.Certificate = certJSON(c)
	}
	return tj
}

func certJSON(c *probe.CertInfo) *CertJSON {
	cj := &CertJSON{Subject: c.Subject, Issuer: c.Issuer, DNSNames: c.DNSNames, IPAddresses: c.IPAddresses, NamesNotKept: c.NamesNotKept,
		NotBefore: c.NotBefore, NotAfter: c.NotAfter, SelfSigned: c.SelfSigned, KeyType: c.KeyType, KeyBits: c.KeyBits,
		SHA256: c.SHA256, SignatureAlg: c.SignatureAlg, ExtKeyUsage: c.ExtKeyUsage}
	t := c.Trust
	if t == nil {
		return cj
	}
	trusted, matches := t.Trusted, t.NameMatches
	cj.Trusted, cj.TrustError, cj.NameChecked, cj.NameMatches = &trusted, string(t.Error), t.Name, &matches
	for _, cc := range t.Chain {
		cj.Chain = append(cj.Chain, ChainCertJSON{Subject: cc.Subject, Issuer: cc.Issuer, NotBefore: cc.NotBefore, NotAfter: cc.NotAfter, SHA256: cc.SHA256})
	}
	if end := t.ChainNotAfter(); !end.IsZero() {
		cj.ChainNotAfter = &end
	}
	if t.Pinned != "" {
		pin := t.PinMatches
		cj.PinnedSHA256, cj.PinMatches = t.Pinned, &pin
	}
	return cj
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func sessionJSON(s *probe.SessionInfo) *SessionJSON {
	sj := &SessionJSON{Skipped: s.Skipped, ClientInfoSent: s.ClientInfoSent, Autologon: s.Autologon, PasswordWithheld: s.PasswordWithheld,
		LoggedOn: s.LoggedOn, DemandActive: s.DemandActive, DisconnectSent: s.DisconnectSent,
		IOChannel: int(s.IOChannel), UserChannel: int(s.UserChannel)}
	if s.ServerVersion != 0 {
		sj.ServerVersion = fmt.Sprintf("0x%08X", s.ServerVersion)
	}
	if s.IOChannel != 0 {
		sj.EncryptionMethod, sj.EncryptionLevel = s.EncryptionMethod.String(), s.EncryptionLevel.String()
	}
	for _, ch := range s.Channels {
		sj.Channels = append(sj.Channels, int(ch))
	}
	if m := s.MCSFailure; m != nil {
		sj.MCSFailure = m.PDU + ": " + m.Result.String()
	}
	if std := s.StandardSecurity; std != nil {
		sj.StandardSecurity = &StandardSecurityJSON{ServerCertificate: std.ServerCertificate, ServerKeyBits: std.ServerKeyBits,
			SecurityExchangeSent: std.SecurityExchangeSent, EncryptedPDUs: std.EncryptedPDUs, KeyUpdates: std.KeyUpdates,
			SaltedMAC: std.SaltedMAC, LicensingEncrypted: std.LicensingEncrypted, LicenseRequestEncrypted: std.LicenseRequestEncrypted}
	}
	if l := s.License; l != nil {
		lj := &LicenseJSON{Outcome: string(l.Outcome), Message: l.MsgType.String(), CompanyName: l.CompanyName, ProductID: l.ProductID,
			ServerKey: l.ServerKey, ServerKeyBits: l.ServerKeyBits, NewLicenseRequestSent: l.NewLicenseRequestSent,
			NoNewLicenseRequest: l.NoNewLicenseRequest}
		if l.MsgType == negotiate.ErrorAlertMsg {
			lj.ErrorCode, lj.StateTransition = l.ErrorCode.String(), l.StateTransition.String()
		}
		sj.License = lj
	}
	for _, e := range s.ErrorInfo {
		sj.ErrorInfo = append(sj.ErrorInfo, ErrorInfoJSON{Value: fmt.Sprintf("0x%08X", uint32(e)), Name: e.Name()})
	}
	for _, le := range s.LogonErrors {
		data := le.Failure().String()
		if le.Type.IsLogonMsg() {
			data = fmt.Sprintf("session %d", le.Data)
		}
		sj.LogonErrors = append(sj.LogonErrors, LogonJSON{Type: le.Type.String(), Data: data})
	}
	if d := s.ServerDisconnect; d != nil {
		sj.ServerDisconnect = d.String()
	}
	sj.NotKept = s.NotKept
	return sj
}
