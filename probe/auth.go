package probe

import (
	"errors"
	"fmt"
	"time"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/negotiate/ntlm"
)

// authenticator is the security package CredSSP carries in its negoTokens
// (MS-CSSP 3.1.5): NTLM today; SPNEGO with Kerberos beside it. The CredSSP
// phases drive it and never look inside a token.
type authenticator interface {
	// next returns the token to send. established says that with it our
	// side of the context is complete, so pubKeyAuth goes in the same
	// TSRequest. It needs the credentials once the context requires them.
	next() (token []byte, established bool, err error)
	// accept takes the server's token and learns what it says.
	accept(token []byte) error
	// wrap and unwrap protect pubKeyAuth and authInfo with the context's
	// keys (MS-CSSP 3.1.5 steps 3-5).
	wrap(plain []byte) ([]byte, error)
	unwrap(wrapped []byte) ([]byte, error)
	// account is the domain and user the TSCredentials name, as resolved
	// against what the server said (".\user" becomes its computer name).
	account() (domain, user string)
	// describe records what the server's tokens told about it.
	describe(r *Result)
	// note names the token next just returned, for a recording.
	note() string
}

// ntlmAuth is NTLMv2 inside CredSSP (MS-NLMP): NEGOTIATE, the server's
// CHALLENGE, then AUTHENTICATE with pubKeyAuth.
type ntlmAuth struct {
	client    *ntlm.Client
	now       func() time.Time
	creds     bool
	challenge []byte
	session   *ntlm.Session
	info      *NTLMInfo
}

func newNTLMAuth(spn string, c *Credentials, now func() time.Time) *ntlmAuth {
	a := &ntlmAuth{client: &ntlm.Client{SPN: spn}, now: now, creds: c != nil}
	if c != nil {
		a.client.User, a.client.Domain, a.client.Password = c.User, c.Domain, c.Password
	}
	return a
}

func (a *ntlmAuth) next() ([]byte, bool, error) {
	if a.challenge == nil {
		return a.client.Negotiate(), false, nil
	}
	if !a.creds {
		return nil, false, errors.New("ntlm: AUTHENTICATE needs credentials")
	}
	auth, sess, err := a.client.Authenticate(a.challenge)
	if err != nil {
		return nil, false, err
	}
	a.session = sess
	return auth, true, nil
}

// accept reads the CHALLENGE: it names the server, its domain, its OS
// build and its clock (MS-NLMP 2.2.1.2, 2.2.2.1).
func (a *ntlmAuth) accept(token []byte) error {
	if a.challenge != nil {
		return fmt.Errorf("ntlm: %w: a second server token after the CHALLENGE", negotiate.ErrMalformed)
	}
	received := a.now()
	var ch ntlm.ChallengeMessage
	if err := ch.Unmarshal(token); err != nil {
		return err
	}
	a.challenge = token
	ti := ch.TargetInfo
	a.info = &NTLMInfo{
		TargetName:      ch.TargetName,
		NetBIOSDomain:   ti.NbDomainName,
		NetBIOSComputer: ti.NbComputerName,
		DNSDomain:       ti.DNSDomainName,
		DNSComputer:     ti.DNSComputerName,
		DNSTree:         ti.DNSTreeName,
		NegotiateFlags:  uint32(ch.Flags),
	}
	if ch.Version != nil {
		a.info.OSVersion = ch.Version.String()
	}
	a.info.ServerTime, a.info.ClockSkew, a.info.ServerTimeInvalid = serverClock(ti.Timestamp, received)
	// ".\user" names a local account of the target: NTLM wants the target's
	// own name as the domain, which only the CHALLENGE tells us.
	if a.client.Domain == "." {
		a.client.Domain = ti.NbComputerName
	}
	return nil
}

func (a *ntlmAuth) wrap(plain []byte) ([]byte, error) {
	if a.session == nil {
		return nil, errors.New("ntlm: no session key before AUTHENTICATE")
	}
	return a.session.Seal(plain), nil
}

func (a *ntlmAuth) unwrap(b []byte) ([]byte, error) {
	if a.session == nil {
		return nil, errors.New("ntlm: no session key before AUTHENTICATE")
	}
	return a.session.Unseal(b)
}

func (a *ntlmAuth) account() (string, string) { return a.client.Domain, a.client.User }

func (a *ntlmAuth) describe(r *Result) { r.NTLM = a.info }

func (a *ntlmAuth) note() string {
	if a.session == nil {
		return "NTLM NEGOTIATE"
	}
	return "NTLM AUTHENTICATE"
}

// maxServerClockSkew bounds a server clock worth reporting: a time is a
// claim, and one centuries away (FILETIME 0 is 1601, its maximum is in
// the year 60056) is no clock at all, overflows a time.Duration and
// cannot be written as JSON.
const maxServerClockSkew = 100 * 365 * 24 * time.Hour

// serverClock checks the server's MsvAvTimestamp against our clock at
// receipt: a sane one gives its time and skew, any other the words for
// what it said instead.
func serverClock(t, received time.Time) (time.Time, time.Duration, string) {
	if t.IsZero() {
		return time.Time{}, 0, ""
	}
	lo, hi := received.Add(-maxServerClockSkew), received.Add(maxServerClockSkew)
	if t.Before(lo) || t.After(hi) {
		return time.Time{}, 0, t.UTC().Format("2006-01-02T15:04:05Z")
	}
	return t, t.Sub(received), ""
}
