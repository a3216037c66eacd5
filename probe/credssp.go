package probe

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/negotiate/krb5"
)

// errNothingToDelegate: a ccache's ticket logged on, and there is no
// password to put in TSCredentials.
var errNothingToDelegate = errors.New("credssp: no password to delegate")

// credSSPVersion is the TSRequest version we speak: 6 carries clientNonce
// and the SHA-256 public key binding (MS-CSSP 2.2.1, the CVE-2018-0886 fix).
const credSSPVersion = 6

// ntlmInfo opens CredSSP with NTLM's NEGOTIATE and reads the server's
// CHALLENGE, which names the server, its domain, its OS build and its
// clock (MS-CSSP 3.1.5 steps 1-2). No credential goes out.
func (p *prober) ntlmInfo(ctx context.Context) error {
	p.auth = newNTLMAuth("TERMSRV/"+p.r.Host, p.opt.Credentials, p.now)
	return p.openCredSSP()
}

// openCredSSP sends the security package's first token and reads the
// server's answer to it: its CredSSP version, an errorCode, or its token.
func (p *prober) openCredSSP() error {
	cs := &CredSSPInfo{ClientVersion: credSSPVersion}
	p.r.CredSSP = cs
	token, _, err := p.auth.next()
	if err != nil {
		return err
	}
	// A Kerberos AP-REQ carries a ticket and an authenticator a thief
	// could replay at the server within minutes: a recording keeps none.
	secret := p.r.LogonAttempted
	if err := p.conn.writeTSRequest(&negotiate.TSRequest{Version: credSSPVersion, NegoTokens: [][]byte{token}}, "TSRequest: "+p.auth.note(), secret); err != nil {
		return err
	}
	ts, err := p.conn.readTSRequest()
	if err != nil {
		if closed(err) && p.r.LogonAttempted {
			cs.ClosedAfterAuthenticate = true
			return &ClosedAfterAuthenticateError{Err: err}
		}
		return err
	}
	cs.ServerVersion = ts.Version
	p.version = min(credSSPVersion, ts.Version)
	if ts.ErrorCode != nil {
		cs.ErrorCode = ts.ErrorCode
		// A KRB-ERROR beside the errorCode says more (KRB_AP_ERR_MODIFIED
		// beside a generic SEC_E_LOGON_DENIED): the token wins.
		if len(ts.NegoTokens) == 1 {
			if err := p.auth.accept(ts.NegoTokens[0]); err != nil {
				var apErr *krb5.APError
				if errors.As(err, &apErr) {
					return err
				}
			}
		}
		return &ServerErrorCode{Status: *ts.ErrorCode}
	}
	if len(ts.NegoTokens) != 1 {
		return fmt.Errorf("credssp: %w: expected one negoToken, got %d", negotiate.ErrMalformed, len(ts.NegoTokens))
	}
	if err := p.auth.accept(ts.NegoTokens[0]); err != nil {
		return err
	}
	p.auth.describe(p.r)
	// Before the CVE-2018-0886 fix (version 5) there is no binding hash: a
	// patched client refuses the server, and so do we, before any logon.
	if ts.Version < 5 {
		return &CredSSPVersionError{Server: ts.Version}
	}
	return nil
}

// logon sends the security package's last token with pubKeyAuth, checks the
// server's proof of the TLS key, then delegates the credentials (MS-CSSP
// 3.1.5 steps 3-5) and, under HYBRID_EX, reads the Early User Authorization
// Result.
func (p *prober) logon(ctx context.Context) error {
	if p.spk == nil {
		return errors.New("credssp: the server sent no certificate to bind the logon to")
	}
	if p.r.CredSSP == nil {
		// Kerberos: the AP-REQ opens CredSSP, and the server's AP-REP
		// proves who it is before pubKeyAuth goes out.
		p.r.LogonAttempted = true
		if err := p.openCredSSP(); err != nil {
			return err
		}
	}
	token, established, err := p.auth.next()
	if err != nil {
		return err
	}
	if !established {
		return errors.New("credssp: the security context is not established after its last token")
	}
	nonce := make([]byte, 32)
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	pubKeyAuth, err := p.auth.wrap(negotiate.ClientServerHash(nonce, p.spk))
	if err != nil {
		return err
	}
	cs := p.r.CredSSP
	p.r.LogonAttempted = true
	req := &negotiate.TSRequest{Version: p.version, PubKeyAuth: pubKeyAuth, ClientNonce: nonce}
	note := "TSRequest: pubKeyAuth, clientNonce"
	if token != nil {
		req.NegoTokens, note = [][]byte{token}, "TSRequest: "+p.auth.note()+", pubKeyAuth, clientNonce"
	}
	if err := p.conn.writeTSRequest(req, note, true); err != nil {
		return err
	}
	ts, err := p.conn.readTSRequest()
	if err != nil {
		if closed(err) {
			cs.ClosedAfterAuthenticate = true
			return &ClosedAfterAuthenticateError{Err: err}
		}
		return err
	}
	if ts.ErrorCode != nil {
		cs.ErrorCode = ts.ErrorCode
		return &ServerErrorCode{Status: *ts.ErrorCode}
	}
	if len(ts.PubKeyAuth) == 0 {
		return fmt.Errorf("credssp: %w: server answered AUTHENTICATE without pubKeyAuth or errorCode", negotiate.ErrMalformed)
	}
	echo, err := p.auth.unwrap(ts.PubKeyAuth)
	if err != nil {
		return &PubKeyAuthError{Reason: err.Error()}
	}
	if subtle.ConstantTimeCompare(echo, negotiate.ServerClientHash(nonce, p.spk)) != 1 {
		return &PubKeyAuthError{Reason: "hash differs"}
	}
	cs.PubKeyAuthVerified = true

	switch err := p.delegate(); {
	case errors.Is(err, errNothingToDelegate):
		return nil
	case err != nil:
		return err
	}
	cs.CredentialsSent = true

	if p.r.Negotiation.Selected() != negotiate.ProtocolHybridEx {
		return nil
	}
	// MS-RDPBCGR 2.2.10.2: four bytes, in the clear of the TLS channel.
	buf, err := p.conn.readFixed(4, "Early User Authorization Result")
	if err != nil {
		return fmt.Errorf("early user authorization: %w", err)
	}
	res, err := negotiate.ParseEarlyUserAuthResult(buf)
	if err != nil {
		return err
	}
	cs.EarlyUserAuth = &res
	if res != negotiate.EarlyUserAuthSuccess {
		return &EarlyUserAuthError{Result: res}
	}
	return nil
}

// delegate sends the password credentials, wrapped (MS-CSSP 2.2.1.2.1):
// only ever after the server proved it holds the TLS key. A Kerberos
// ticket from a ccache comes without a password: then nothing is
// delegated, and the logon stands proven by the AP exchange.
func (p *prober) delegate() error {
	if p.opt.Credentials == nil {
		return errNothingToDelegate
	}
	domain, user := p.auth.account()
	creds := negotiate.TSCredentials{Domain: domain, User: user, Password: p.opt.Credentials.Password}
	plain, err := creds.Marshal()
	if err != nil {
		return err
	}
	defer clear(plain)
	authInfo, err := p.auth.wrap(plain)
	if err != nil {
		return err
	}
	return p.conn.writeTSRequest(&negotiate.TSRequest{Version: p.version, AuthInfo: authInfo}, "TSRequest: authInfo (sealed TSCredentials)", true)
}
