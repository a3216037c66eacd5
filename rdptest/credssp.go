package rdptest

import (
	"crypto/subtle"
	"fmt"
	"strings"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/negotiate/ntlm"
	"github.com/rdpprobe/rdpprobe/probe"
)

// credSSP is the server side of MS-CSSP 3.1.5 with NTLM, or with Kerberos
// inside SPNEGO when the scenario has a KerberosAcceptor (kerberos.go).
func (c *conn) credSSP(selected negotiate.Protocol) error {
	sc := &c.s.scenario
	v := sc.CredSSPVersion
	ts, err := c.readTS()
	if err != nil {
		return fmt.Errorf("read NEGOTIATE: %w", err)
	}
	if len(ts.NegoTokens) != 1 {
		return fmt.Errorf("first TSRequest has %d negoTokens, want 1", len(ts.NegoTokens))
	}
	if c.s.krb != nil && isSPNEGO(ts.NegoTokens[0]) {
		return c.kerberos(selected, ts)
	}
	c.event(EventNegotiate, fmt.Sprintf("client CredSSP version %d", ts.Version))
	if code := sc.NegotiateErrorCode; code != 0 {
		c.event(EventLogon, "refused before the CHALLENGE: errorCode "+code.String())
		if err := c.writeTS(probe.PhaseNTLMInfo, &negotiate.TSRequest{Version: v, ErrorCode: &code}); err != nil {
			return err
		}
		return c.drain()
	}
	id := c.s.ntlmID
	srv := &ntlm.Server{
		TargetName: id.TargetName,
		TargetInfo: id.TargetInfo,
		Version:    id.Version,
		Lookup:     c.s.lookup,
	}
	challenge, err := srv.Challenge(ts.NegoTokens[0])
	if err != nil {
		return err
	}
	if done, err := c.misbehave(probe.PhaseNTLMInfo); done {
		return err
	}
	if err := c.writeTS(probe.PhaseNTLMInfo, &negotiate.TSRequest{Version: v, NegoTokens: [][]byte{challenge}}); err != nil {
		return err
	}

	// AUTHENTICATE with pubKeyAuth (and clientNonce from version 5).
	ts, err = c.readTS()
	if err != nil {
		return fmt.Errorf("read AUTHENTICATE: %w", err)
	}
	if len(ts.NegoTokens) != 1 {
		return fmt.Errorf("second TSRequest has %d negoTokens, want the AUTHENTICATE", len(ts.NegoTokens))
	}
	sess, msg, err := srv.Authenticate(ts.NegoTokens[0])
	if msg != nil {
		c.event(EventAuthenticate, msg.DomainName+`\`+msg.UserName)
	}
	if done, ferr := c.misbehave(probe.PhaseLogon); done {
		return ferr
	}
	if err != nil {
		c.event(EventLogon, "failed: "+err.Error())
		out := sc.BadPassword
		if out.ErrorCode == 0 && !out.Close {
			out.ErrorCode = negotiate.StatusLogonFailure
		}
		return c.answer(out, v)
	}
	c.event(EventLogon, "ok")
	if sc.AfterAuthenticate.ErrorCode != 0 || sc.AfterAuthenticate.Close {
		return c.answer(sc.AfterAuthenticate, v)
	}

	return c.delegate(selected, ts, ntlmSealer{sess})
}

// sealer protects pubKeyAuth and authInfo with the context the negoTokens
// established (MS-CSSP 2.2.1: "encrypted under the encryption key that is
// negotiated under the SPNEGO package"): NTLM's SEAL (MS-NLMP 3.4.3) or a
// Kerberos Wrap token (RFC 4121 4.2.6.2).
type sealer interface {
	seal(plain []byte) ([]byte, error)
	unseal(token []byte) ([]byte, error)
}

type ntlmSealer struct{ s *ntlm.Session }

func (n ntlmSealer) seal(b []byte) ([]byte, error)   { return n.s.Seal(b), nil }
func (n ntlmSealer) unseal(b []byte) ([]byte, error) { return n.s.Unseal(b) }

// delegate plays MS-CSSP 3.1.5 steps 3 to 5 once the mechanism is done,
// whichever it was: the client's pubKeyAuth (in ts) checked, ours sent,
// the TSCredentials unsealed and recorded (never the password); then the
// Early User Authorization Result for HYBRID_EX and the session.
func (c *conn) delegate(selected negotiate.Protocol, ts *negotiate.TSRequest, sess sealer) error {
	sc := &c.s.scenario
	v := sc.CredSSPVersion

	// The client's proof of the TLS key, and ours (steps 3-4).
	proof, err := sess.unseal(ts.PubKeyAuth)
	if err != nil {
		c.event(EventPubKeyAuth, "does not unseal: "+err.Error())
		return errStop
	}
	useHash := v >= 5 && ts.Version >= 5
	var want, echo []byte
	if useHash {
		want = negotiate.ClientServerHash(ts.ClientNonce, c.s.spk)
		echo = negotiate.ServerClientHash(ts.ClientNonce, c.s.spk)
	} else {
		// Before version 5 the client seals the SubjectPublicKey itself and
		// the server answers with its first byte plus one.
		want = c.s.spk
		echo = append([]byte(nil), c.s.spk...)
		echo[0]++
	}
	if subtle.ConstantTimeCompare(proof, want) != 1 {
		c.event(EventPubKeyAuth, "mismatch")
		return errStop
	}
	c.event(EventPubKeyAuth, fmt.Sprintf("verified (%s)", map[bool]string{true: "SHA-256 binding hash", false: "legacy public key echo"}[useHash]))
	if sc.TamperPubKeyAuth {
		echo[len(echo)-1] ^= 0x55
		c.event(EventFault, "tampered pubKeyAuth")
	}
	sealed, err := sess.seal(echo)
	if err != nil {
		return fmt.Errorf("seal pubKeyAuth: %w", err)
	}
	if err := c.writeTS(probe.PhaseLogon, &negotiate.TSRequest{Version: v, PubKeyAuth: sealed}); err != nil {
		return err
	}

	// authInfo: the sealed TSCredentials (step 5).
	ts, err = c.readTS()
	if err != nil {
		return fmt.Errorf("read authInfo: %w", err)
	}
	plain, err := sess.unseal(ts.AuthInfo)
	if err != nil {
		return fmt.Errorf("authInfo does not unseal: %w", err)
	}
	var creds negotiate.TSCredentials
	err = creds.Unmarshal(plain)
	clear(plain)
	if err != nil {
		return fmt.Errorf("TSCredentials: %w", err)
	}
	who := creds.User
	if creds.Domain != "" {
		who = creds.Domain + `\` + creds.User
	}
	creds.Password = ""
	c.event(EventCredentials, "received credentials for "+who)

	if selected == negotiate.ProtocolHybridEx {
		res := sc.EarlyUserAuth
		c.event(EventEarlyUserAuth, res.String())
		if _, err := c.rw.Write(res.Marshal()); err != nil {
			return err
		}
		if res != negotiate.EarlyUserAuthSuccess {
			return errStop
		}
	}
	return c.session(selected)
}

// answer sends an Outcome: errorCode (version 3 and later), or close.
func (c *conn) answer(o Outcome, v int) error {
	if o.Close || v < 3 {
		return errStop
	}
	code := o.ErrorCode
	return c.writeTS(probe.PhaseLogon, &negotiate.TSRequest{Version: v, ErrorCode: &code})
}

// lookup finds an account's NT hash: "DOMAIN\user" or a bare "user",
// case-insensitively; the DNS domain and the computer name count as the
// NetBIOS domain for the account's domain part.
func (s *Server) lookup(user, domain string) ([]byte, bool) {
	ti := s.ntlmID.TargetInfo
	cands := []string{domain}
	if strings.EqualFold(domain, ti.DNSDomainName) {
		cands = append(cands, ti.NbDomainName)
	}
	for _, d := range cands {
		if h, ok := s.hashes[strings.ToUpper(d+`\`+user)]; ok {
			return h, true
		}
	}
	h, ok := s.hashes[strings.ToUpper(user)]
	return h, ok
}

func (c *conn) readTS() (*negotiate.TSRequest, error) {
	b, err := negotiate.ReadTSRequest(c.rw, 64<<10)
	if err != nil {
		return nil, err
	}
	ts := new(negotiate.TSRequest)
	if err := ts.Unmarshal(b); err != nil {
		return nil, err
	}
	return ts, nil
}

func (c *conn) writeTS(at probe.Phase, ts *negotiate.TSRequest) error {
	b, err := ts.Marshal()
	if err != nil {
		return err
	}
	return c.write(at, b)
}
