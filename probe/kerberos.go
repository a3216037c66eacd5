package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/rdpprobe/rdpprobe/internal/krb5conf"
	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/negotiate/krb5"
)

// AuthMode chooses the security package CredSSP carries.
type AuthMode string

const (
	// AuthNegotiate is mstsc's: Kerberos when a realm, a KDC and a ticket
	// for the SPN can be had, else NTLM.
	AuthNegotiate AuthMode = "negotiate"
	AuthKerberos  AuthMode = "kerberos" // Kerberos or fail: what an NTLM-restricted domain allows
	AuthNTLM      AuthMode = "ntlm"     // NTLM only: what a client without Kerberos meets
)

// ParseAuthMode reads "negotiate", "kerberos" or "ntlm" ("" is negotiate).
func ParseAuthMode(s string) (AuthMode, error) {
	switch m := AuthMode(strings.ToLower(strings.TrimSpace(s))); m {
	case "":
		return AuthNegotiate, nil
	case AuthNegotiate, AuthKerberos, AuthNTLM:
		return m, nil
	}
	return "", fmt.Errorf("unknown mechanism %q (use negotiate, kerberos or ntlm)", s)
}

// KerberosOptions says where Kerberos finds its realm, KDCs and ticket.
type KerberosOptions struct {
	Realm  string   // --realm; "" to choose (ChooseRealm)
	KDCs   []string // --kdc HOST[:PORT]; none to locate (LocateKDCs)
	SPN    string   // --spn; "" is TERMSRV/<host as typed>
	CCache string   // a ccache with a TGT ("FILE:path" or a path): no password needed
	// Config is krb5.conf as the entry point loaded it; nil for none.
	Config *krb5conf.Config
	// LookupSRV answers DNS SRV queries; nil uses the system resolver.
	LookupSRV LookupSRV
}

// Mechanisms, as the Result names them.
const (
	MechNTLM     = "NTLM"
	MechKerberos = "Kerberos"
)

// AuthInfo is how the security package inside CredSSP was chosen and what
// the Kerberos side of it saw. Facts only.
type AuthInfo struct {
	Requested AuthMode
	Mechanism string // MechNTLM or MechKerberos: what CredSSP carried
	// Why says why Mechanism, when the request alone does not (a fallback
	// to NTLM, as mstsc's Negotiate makes it).
	Why string

	SPN         string
	Realm       string
	RealmSource KDCSource
	KDCs        []string // network/host:port, in the order tried
	KDCSource   KDCSource
	KDCTried    []string // what each source said when none gave a KDC
	CCache      string   // the ccache whose TGT was used
	// Exchanges are the KDC exchanges made, with their round trips.
	Exchanges []KDCExchange
	// PreauthRequired: the KDC asked for PA-ENC-TIMESTAMP (as AD does).
	PreauthRequired bool
	// EType is the encryption type the password's key was derived with
	// (e.g. "aes256-cts-hmac-sha1-96"); RC4Only says the KDC offered nothing
	// else for the account.
	EType   string
	RC4Only bool
	// FallbackError is the Kerberos failure that made negotiate use NTLM.
	FallbackError error `json:"-"`
	// KerberosTimings are the phases of the connection Kerberos was
	// tried on, when the server could not read it and NTLM ran on a new
	// one (Result.Timings are that one's).
	KerberosTimings []PhaseTiming
}

// KDCExchange is one request and reply with a KDC.
type KDCExchange struct {
	Step string // "AS-REQ", "AS-REQ+PA-ENC-TIMESTAMP", "TGS-REQ"
	KDC  string
	RTT  time.Duration
}

// KerberosUnavailableError: Kerberos could not even start (no realm, no
// KDC, an address without an SPN) and it was required. NoSPN says the
// target has no SPN to ask a ticket for (an IP address).
type KerberosUnavailableError struct {
	Why   string
	NoSPN bool
}

func (e *KerberosUnavailableError) Error() string { return "kerberos: " + e.Why }

// planKerberos decides, before any packet, whether Kerberos is worth a
// try, and fills what it knows of p.r.Auth. When it is not, it says why
// (nil without credentials: there is no logon to make).
func (p *prober) planKerberos(ctx context.Context) (bool, *KerberosUnavailableError, error) {
	a := p.r.Auth
	ko := &p.opt.Kerberos
	creds := p.opt.Credentials
	if creds == nil && ko.CCache == "" {
		return false, nil, nil // no logon: NTLM's CHALLENGE tells about the server without one
	}
	a.SPN = ko.SPN
	if a.SPN == "" {
		if net.ParseIP(p.r.Host) != nil {
			return false, &KerberosUnavailableError{NoSPN: true,
				Why: fmt.Sprintf("the target is an IP address: there is no TERMSRV/%s SPN, so mstsc does not use Kerberos for it", p.r.Host)}, nil
		}
		a.SPN = "TERMSRV/" + p.r.Host
	}
	account := ""
	if creds != nil {
		account = creds.User
		if creds.Domain != "" {
			account = creds.Domain + `\` + creds.User
		}
	}
	realm, ok := ChooseRealm(account, ko.Realm, ko.Config, p.r.Host)
	if !ok && ko.CCache == "" {
		return false, &KerberosUnavailableError{Why: "no Kerberos realm: none in the account (user@REALM), --realm or krb5.conf"}, nil
	}
	a.Realm, a.RealmSource = realm.Name, realm.Source
	if realm.Name == "" {
		return true, nil, nil // the ccache names it; its KDCs must then come from --kdc
	}
	l, err := LocateKDCs(ctx, realm.Name, ko.KDCs, ko.Config, ko.LookupSRV)
	if err != nil {
		return false, nil, err
	}
	a.KDCSource, a.KDCTried = l.Source, l.Tried
	for _, k := range l.KDCs {
		a.KDCs = append(a.KDCs, k.Network+"/"+k.Addr)
	}
	if len(l.KDCs) == 0 {
		return false, &KerberosUnavailableError{Why: fmt.Sprintf("no KDC for %s (%s)", realm.Name, strings.Join(l.Tried, ", "))}, nil
	}
	p.kdcs = l.KDCs
	return true, nil, nil
}

// kerberos is the phase that gets a service ticket: AS without and with
// pre-authentication (at most once) and TGS, or TGS alone with a ccache's
// TGT (RFC 4120 3.1, 3.3). Under AuthNegotiate a failure that leaves the
// account untouched (nothing answered before a secret went out, no SPN)
// falls back to NTLM, as mstsc's Negotiate does; one after the password
// proof never does: that would be a second logon.
func (p *prober) kerberos(ctx context.Context) error {
	a := p.r.Auth
	c := &krb5.Client{Realm: a.Realm, Now: p.now,
		Transport: krb5.Transport{KDCs: p.kdcs, DialContext: dialer(&p.opt)}}
	if cr := p.opt.Credentials; cr != nil {
		c.User, c.Password = cr.User, cr.Password
		if user, _, ok := strings.Cut(cr.User, "@"); ok && cr.Domain == "" {
			c.User = user // alice@CORP.EXAMPLE.COM: principal alice, realm from the UPN
		}
	}
	defer c.Zero()
	if cc := p.opt.Kerberos.CCache; cc != "" {
		ccache, err := krb5.LoadCCache(cc)
		if err != nil {
			return fmt.Errorf("kerberos: ccache %s: %w", cc, err)
		}
		c.CCache, a.CCache = ccache, cc
		if p.opt.Credentials == nil {
			c.User = ""
		}
	}
	st, err := c.ServiceTicket(ctx, a.SPN)
	for _, x := range c.Exchanges {
		a.Exchanges = append(a.Exchanges, KDCExchange{Step: string(x.Step), KDC: x.Network + "/" + x.KDC, RTT: x.RTT})
	}
	if pi := c.Preauth; pi != nil {
		a.PreauthRequired, a.RC4Only = pi.Required, pi.RC4Only
		a.EType = krb5.ETypeName(pi.Chosen.EType)
	}
	if c.Realm != "" && a.Realm == "" {
		a.Realm, a.RealmSource = c.Realm, "the ticket cache"
	}
	if preauthSent(c, err) {
		p.r.LogonAttempted = true // the KDC counts a wrong password here
	}
	if err != nil {
		// A pre-authentication that succeeded before the TGS failed judged
		// the account fine: NTLM after it is no second try.
		if p.opt.Auth == AuthNegotiate && fallsBackToNTLM(err) {
			a.Mechanism, a.Why, a.FallbackError = MechNTLM, fallbackWhy(err, a.SPN)+"; used NTLM, as mstsc would", err
			return nil
		}
		return err
	}
	a.Mechanism = MechKerberos
	p.auth = &kerberosAuth{spnego: &krb5.SPNEGOInitiator{Initiator: krb5.Initiator{Ticket: st, Now: p.now}},
		ticket: st, creds: p.opt.Credentials}
	return nil
}

// preauthSent: the AS-REQ with PA-ENC-TIMESTAMP went out (it answered, or
// failed after the send), so this run's one logon attempt is spent.
func preauthSent(c *krb5.Client, err error) bool {
	for _, x := range c.Exchanges {
		if x.Step == krb5.StepASPreauth {
			return true
		}
	}
	var (
		kdcErr *krb5.KDCError
		unr    *krb5.KDCUnreachableError
	)
	switch {
	case errors.As(err, &kdcErr):
		return kdcErr.Step == krb5.StepASPreauth
	case errors.As(err, &unr):
		return unr.Step == krb5.StepASPreauth
	}
	return errors.Is(err, krb5.ErrWrongPassword)
}

// fallsBackToNTLM: Negotiate gives up on Kerberos for these and uses NTLM
// (no KDC answered the first request; the KDC has no such SPN).
func fallsBackToNTLM(err error) bool {
	var (
		kdcErr *krb5.KDCError
		unr    *krb5.KDCUnreachableError
	)
	switch {
	case errors.As(err, &unr):
		return unr.Step == krb5.StepASNoPreauth || unr.Step == krb5.StepTGS // not after a password proof went unanswered
	case errors.As(err, &kdcErr):
		return kdcErr.Code == krb5.KDCErrSPrincipalUnknown
	}
	return false
}

// fallbackWhy says what made Negotiate give up on Kerberos.
func fallbackWhy(err error, spn string) string {
	var unr *krb5.KDCUnreachableError
	if errors.As(err, &unr) {
		return "no KDC answered the " + string(unr.Step) + " (" + err.Error() + ")"
	}
	return "the KDC has no service principal " + spn + " (KDC_ERR_S_PRINCIPAL_UNKNOWN)"
}

// kerberosAuth is Kerberos inside SPNEGO inside CredSSP: NegTokenInit with
// the AP-REQ, the server's NegTokenResp with its AP-REP (checked before
// anything secret is sent), then pubKeyAuth and authInfo as RFC 4121
// sealed Wrap tokens (MS-CSSP 3.1.5).
type kerberosAuth struct {
	spnego   *krb5.SPNEGOInitiator
	ticket   *krb5.Credential
	creds    *Credentials
	accepted bool
	sent     bool
}

func (k *kerberosAuth) next() ([]byte, bool, error) {
	if !k.sent {
		k.sent = true
		tok, err := k.spnego.InitialToken()
		return tok, false, err
	}
	if !k.accepted {
		return nil, false, errors.New("kerberos: no AP-REP yet")
	}
	tok, err := k.spnego.FinalToken()
	return tok, true, err
}

func (k *kerberosAuth) accept(token []byte) error {
	if err := k.spnego.Accept(token); err != nil {
		return err
	}
	k.accepted = true
	return nil
}

func (k *kerberosAuth) wrap(plain []byte) ([]byte, error) {
	if c := k.spnego.Context(); c != nil {
		return c.Wrap(plain)
	}
	return nil, errors.New("kerberos: no security context")
}

func (k *kerberosAuth) unwrap(b []byte) ([]byte, error) {
	if c := k.spnego.Context(); c != nil {
		return c.Unwrap(b)
	}
	return nil, errors.New("kerberos: no security context")
}

// account: TSCredentials name the account as the user typed it; with a
// ccache alone, the ticket's client principal.
func (k *kerberosAuth) account() (string, string) {
	if c := k.creds; c != nil {
		if c.Domain == "" && !strings.Contains(c.User, "@") {
			return k.ticket.CRealm, c.User // "alice" in a realm from --realm or krb5.conf
		}
		return c.Domain, c.User
	}
	return k.ticket.CRealm, strings.Join(k.ticket.CName.NameString, "/")
}

func (k *kerberosAuth) describe(*Result) {}

func (k *kerberosAuth) note() string {
	if !k.accepted {
		return "SPNEGO NegTokenInit (Kerberos AP-REQ)"
	}
	return "SPNEGO mechListMIC"
}

func (k *kerberosAuth) zero() {
	if c := k.spnego.Context(); c != nil {
		c.Zero()
	}
	k.ticket.Zero()
}

// accountStatuses are the errorCodes by which a server judges the account:
// after one, trying NTLM would be a second logon.
var accountStatuses = map[negotiate.NTStatus]bool{
	negotiate.StatusLogonFailure: true, negotiate.StatusWrongPassword: true, negotiate.StatusNoSuchUser: true,
	negotiate.StatusAccountLockedOut: true, negotiate.StatusAccountDisabled: true, negotiate.StatusAccountExpired: true,
	negotiate.StatusPasswordExpired: true, negotiate.StatusPasswordMustChange: true, negotiate.StatusAccountRestriction: true,
	negotiate.StatusInvalidLogonHours: true, negotiate.StatusInvalidWorkstation: true, negotiate.StatusLogonTypeNotGranted: true,
	negotiate.SecELogonDenied: true,
}

// ntlmRetry says whether Negotiate falls back to NTLM on a new connection:
// Kerberos got a ticket, and the server answered the SPNEGO NegTokenInit
// with an errorCode that does not judge the account, or hung up on it,
// before any AP-REP: it does not speak SPNEGO (FreeRDP's server reads raw
// NTLM only). Only with a password, which NTLM needs.
func (p *prober) ntlmRetry() (string, bool) {
	a, k := p.r.Auth, p.auth
	ka, isKerberos := k.(*kerberosAuth)
	if p.opt.Auth != AuthNegotiate || a == nil || a.Mechanism != MechKerberos || !isKerberos || ka.accepted ||
		p.r.Failed != PhaseLogon || p.opt.Credentials == nil {
		return "", false
	}
	var status *ServerErrorCode
	switch {
	case errors.As(p.r.Err, &status) && !accountStatuses[status.Status]:
		return fmt.Sprintf("Kerberos got a ticket for %s, but the server answered its SPNEGO token with %v before judging the "+
			"account: it does not accept Kerberos; used NTLM on a new connection, as a Negotiate client would", a.SPN, status.Status), true
	case errors.As(p.r.Err, new(*ClosedAfterAuthenticateError)):
		return fmt.Sprintf("Kerberos got a ticket for %s, but the server closed the connection on its SPNEGO token: it does "+
			"not accept Kerberos; used NTLM on a new connection, as a Negotiate client would", a.SPN), true
	}
	return "", false
}
