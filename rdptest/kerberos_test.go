package rdptest_test

// The Kerberos acceptor, driven by the library's client side: krb5.Client
// gets a real ticket for TERMSRV/localhost from the lab's MIT KDC,
// krb5.SPNEGOInitiator makes the tokens, and cssp below speaks TSRequests
// over TLS to the rdptest server. The probe is not used: these tests are
// about the server (probe is imported for its phase names only).

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/rdpprobe/rdpprobe/internal/labtest"
	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/negotiate/krb5"
	"github.com/rdpprobe/rdpprobe/negotiate/ntlm"
	"github.com/rdpprobe/rdpprobe/negotiate/spnego"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

// cssp is the client end of a CredSSP connection: X.224, TLS, TSRequests.
type cssp struct {
	net.Conn
	spk      []byte
	selected negotiate.Protocol
}

func dialCredSSP(t *testing.T, addr string, offer negotiate.Protocol) *cssp {
	t.Helper()
	raw, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	cr := negotiate.ConnectionRequest{Cookie: "rdptest", RequestedProtocols: offer}
	if _, err := raw.Write(cr.Marshal()); err != nil {
		t.Fatal(err)
	}
	pdu, err := negotiate.ReadTPKT(raw, 1024)
	if err != nil {
		t.Fatal(err)
	}
	var cc negotiate.ConnectionConfirm
	if err := cc.Unmarshal(pdu); err != nil {
		t.Fatal(err)
	}
	if cc.Response == nil {
		t.Fatalf("Connection Confirm without RDP_NEG_RSP: %+v", cc)
	}
	// The certificate is self-signed: CredSSP's pubKeyAuth is what proves
	// the server, and the tests check exactly that.
	tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	leaf := tc.ConnectionState().PeerCertificates[0]
	spk, err := negotiate.SubjectPublicKey(leaf)
	if err != nil {
		t.Fatal(err)
	}
	return &cssp{Conn: tc, spk: spk, selected: cc.Response.SelectedProtocol}
}

func (c *cssp) send(ts *negotiate.TSRequest) error {
	b, err := ts.Marshal()
	if err != nil {
		return err
	}
	_, err = c.Write(b)
	return err
}

func (c *cssp) recv() (*negotiate.TSRequest, error) {
	b, err := negotiate.ReadTSRequest(c, 64<<10)
	if err != nil {
		return nil, err
	}
	ts := new(negotiate.TSRequest)
	return ts, ts.Unmarshal(b)
}

// mech is the client's security package inside CredSSP.
type mech interface {
	initial() ([]byte, error)
	// answer reads the server's negoToken and returns the client's next
	// one (nil when there is none): the context is then established.
	answer(server []byte) ([]byte, error)
	wrap(plain []byte) ([]byte, error)
	unwrap(tok []byte) ([]byte, error)
}

type ntlmMech struct {
	c    ntlm.Client
	sess *ntlm.Session
}

func (m *ntlmMech) initial() ([]byte, error) { return m.c.Negotiate(), nil }
func (m *ntlmMech) answer(challenge []byte) ([]byte, error) {
	auth, sess, err := m.c.Authenticate(challenge)
	m.sess = sess
	return auth, err
}
func (m *ntlmMech) wrap(b []byte) ([]byte, error)   { return m.sess.Seal(b), nil }
func (m *ntlmMech) unwrap(b []byte) ([]byte, error) { return m.sess.Unseal(b) }

// krbMech is krb5.SPNEGOInitiator as CredSSP drives it.
type krbMech struct {
	ini krb5.SPNEGOInitiator
	// sendMIC sends our mechListMIC with pubKeyAuth although the server
	// did not ask for it; badMIC spoils it.
	sendMIC, badMIC bool
	resp            spnego.NegTokenResp // the server's answer, as parsed
}

func newKrbMech(st *krb5.Credential) *krbMech {
	return &krbMech{ini: krb5.SPNEGOInitiator{Initiator: krb5.Initiator{Ticket: st}}}
}

func (m *krbMech) initial() ([]byte, error) { return m.ini.InitialToken() }
func (m *krbMech) answer(tok []byte) ([]byte, error) {
	m.resp.Unmarshal(tok)
	if err := m.ini.Accept(tok); err != nil {
		return nil, err
	}
	fin, err := m.ini.FinalToken()
	if err != nil || fin != nil || !m.sendMIC {
		return fin, err
	}
	mt, err := spnego.MarshalMechTypes(spnego.WindowsMechTypes())
	if err != nil {
		return nil, err
	}
	mic, err := m.ini.Context().MIC(mt)
	if err != nil {
		return nil, err
	}
	if m.badMIC {
		mic[len(mic)-1] ^= 1
	}
	return (&spnego.NegTokenResp{State: spnego.NoState, MechListMIC: mic}).Marshal()
}
func (m *krbMech) wrap(b []byte) ([]byte, error)   { return m.ini.Context().Wrap(b) }
func (m *krbMech) unwrap(b []byte) ([]byte, error) { return m.ini.Context().Unwrap(b) }

// statusError is a TSRequest.errorCode from the server.
type statusError struct{ code negotiate.NTStatus }

func (e *statusError) Error() string { return "server errorCode " + e.code.String() }

var errServerProof = errors.New("the server's pubKeyAuth does not prove the TLS key: credentials withheld")

// logonResult is what a client learnt from one CredSSP logon.
type logonResult struct {
	err        error               // what the client concluded (nil: credentials sent)
	status     *negotiate.NTStatus // the errorCode the server sent, if any
	serverWrap []byte              // the server's sealed pubKeyAuth
	eua        negotiate.EarlyUserAuthResult
	euaRead    bool
}

// logon runs MS-CSSP 3.1.5 as a client with m and sends creds once the
// server has proved the TLS key.
func logon(t *testing.T, addr string, offer negotiate.Protocol, m mech, creds negotiate.TSCredentials) logonResult {
	t.Helper()
	c := dialCredSSP(t, addr, offer)
	defer c.Close()
	var res logonResult
	fail := func(err error) logonResult { res.err = err; return res }
	tok, err := m.initial()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.send(&negotiate.TSRequest{Version: 6, NegoTokens: [][]byte{tok}}); err != nil {
		t.Fatal(err)
	}
	ts, err := c.recv()
	if err != nil {
		return fail(err)
	}
	res.status = ts.ErrorCode
	if len(ts.NegoTokens) == 0 {
		if ts.ErrorCode != nil {
			return fail(&statusError{*ts.ErrorCode})
		}
		return fail(errors.New("no negoTokens in the server's answer"))
	}
	next, err := m.answer(ts.NegoTokens[0])
	if err != nil {
		return fail(err)
	}
	if ts.ErrorCode != nil {
		return fail(&statusError{*ts.ErrorCode})
	}
	legacy := ts.Version < 5
	nonce := make([]byte, 32)
	rand.Read(nonce)
	proof, want := negotiate.ClientServerHash(nonce, c.spk), negotiate.ServerClientHash(nonce, c.spk)
	if legacy {
		proof, want = c.spk, append([]byte(nil), c.spk...)
		want[0]++
	}
	pka, err := m.wrap(proof)
	if err != nil {
		t.Fatal(err)
	}
	req := &negotiate.TSRequest{Version: 6, PubKeyAuth: pka}
	if !legacy {
		req.ClientNonce = nonce
	}
	if next != nil {
		req.NegoTokens = [][]byte{next}
	}
	if err := c.send(req); err != nil {
		t.Fatal(err)
	}
	if ts, err = c.recv(); err != nil {
		return fail(err)
	}
	if ts.ErrorCode != nil {
		res.status = ts.ErrorCode
		return fail(&statusError{*ts.ErrorCode})
	}
	res.serverWrap = ts.PubKeyAuth
	got, err := m.unwrap(ts.PubKeyAuth)
	if err != nil {
		return fail(err)
	}
	if !bytes.Equal(got, want) {
		return fail(errServerProof)
	}
	plain, err := creds.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ai, err := m.wrap(plain)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.send(&negotiate.TSRequest{Version: 6, AuthInfo: ai}); err != nil {
		t.Fatal(err)
	}
	if c.selected == negotiate.ProtocolHybridEx {
		b := make([]byte, 4)
		if _, err := io.ReadFull(c, b); err != nil {
			return fail(fmt.Errorf("Early User Authorization Result: %w", err))
		}
		if res.eua, err = negotiate.ParseEarlyUserAuthResult(b); err != nil {
			return fail(err)
		}
		res.euaRead = true
	}
	return res
}

// krbEnv is where a Kerberos test gets its keytab and ticket: forged
// offline with a keytab made from a password (so that -short covers the
// acceptor), or from the lab's real MIT KDC for the lab's keytab.
type krbEnv struct {
	keytabPath string         // the lab's keytab
	kt         *keytab.Keytab // or this one
	spn, realm string
	user       string
	password   string // what goes in TSCredentials
	st         *krb5.Credential
}

// scenario is a constructor's scenario with this environment's keys.
func (e krbEnv) scenario(ctor func(keytabPath, spn string) rdptest.Scenario) rdptest.Scenario {
	sc := ctor(e.keytabPath, e.spn)
	if e.kt != nil {
		sc.Kerberos.Keytab = e.kt
	}
	return sc
}

func (e krbEnv) creds() negotiate.TSCredentials {
	return negotiate.TSCredentials{Domain: e.realm, User: e.user, Password: e.password}
}

// forEachKDC runs f offline, then against the lab's KDC (skipped under
// -short or without the lab; a failure under CI=true).
func forEachKDC(t *testing.T, f func(t *testing.T, e krbEnv)) {
	t.Run("offline", func(t *testing.T) { f(t, offlineEnv(t)) })
	t.Run("lab KDC", func(t *testing.T) { f(t, labEnv(t)) })
}

const (
	offlineRealm = "LAB.TEST"
	offlineSPN   = "TERMSRV/localhost"
)

// offlineKeytab is a keytab for TERMSRV/localhost@LAB.TEST made from a
// password.
func offlineKeytab(t testing.TB) *keytab.Keytab {
	t.Helper()
	kt := keytab.New()
	for _, et := range []int32{krb5.ETypeAES256, krb5.ETypeAES128} {
		if err := kt.AddEntry(offlineSPN, offlineRealm, "rdptest-machine-password", time.Now(), 2, et); err != nil {
			t.Fatal(err)
		}
	}
	return kt
}

// offlineTicket is what a KDC would hand alice for TERMSRV/localhost.
func offlineTicket(t testing.TB, kt *keytab.Keytab) *krb5.Credential {
	t.Helper()
	cname := types.NewPrincipalName(1, rdptest.TestUser)
	sname := types.NewPrincipalName(2, offlineSPN)
	now := time.Now()
	tkt, key, err := messages.NewTicket(cname, offlineRealm, sname, offlineRealm, types.NewKrbFlags(), kt, krb5.ETypeAES256, 2,
		now, now, now.Add(10*time.Hour), now.Add(10*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return &krb5.Credential{CName: cname, CRealm: offlineRealm, SName: sname, SRealm: offlineRealm, Ticket: tkt, SessionKey: key,
		AuthTime: now, StartTime: now, EndTime: now.Add(10 * time.Hour)}
}

func offlineEnv(t *testing.T) krbEnv {
	kt := offlineKeytab(t)
	return krbEnv{kt: kt, spn: offlineSPN, realm: offlineRealm, user: rdptest.TestUser, password: rdptest.TestPassword, st: offlineTicket(t, kt)}
}

// labEnv gets one service ticket for the lab's SPN from the real KDC,
// shared by every test of the run (the acceptor keeps no replay cache, as
// the library's does not): three KDC exchanges in all.
func labEnv(t *testing.T) krbEnv {
	t.Helper()
	k := labtest.Kerberos(t)
	labTicket.once.Do(func() {
		c := &krb5.Client{Realm: k.Realm, User: k.Users["good"], Password: k.Password,
			Transport: krb5.Transport{KDCs: []krb5.KDC{{Addr: k.KDC}}}}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		labTicket.st, labTicket.err = c.ServiceTicket(ctx, k.SPN)
	})
	if labTicket.err != nil {
		t.Fatalf("ticket for %s from the lab KDC %s: %v", k.SPN, k.KDC, labTicket.err)
	}
	return krbEnv{keytabPath: k.Keytab, spn: k.SPN, realm: k.Realm, user: k.Users["good"], password: k.Password, st: labTicket.st}
}

var labTicket struct {
	once sync.Once
	st   *krb5.Credential
	err  error
}

func startServer(t *testing.T, sc rdptest.Scenario) *rdptest.Server {
	t.Helper()
	srv, err := rdptest.NewServer(sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// finish waits for the connection to end and checks that no event holds
// a password.
func finish(t *testing.T, srv *rdptest.Server, passwords ...string) {
	t.Helper()
	srv.WaitConns(1, 3*time.Second)
	for _, ev := range srv.Events() {
		for _, pw := range passwords {
			if strings.Contains(ev.Detail, pw) {
				t.Errorf("an event holds the password: %v", ev)
			}
		}
	}
}

const hybrid = negotiate.ProtocolHybrid

// A whole Kerberos logon: SPNEGO as Windows answers it, sealed wraps both
// ways, the credentials delegated.
func TestKerberosLogon(t *testing.T) {
	forEachKDC(t, func(t *testing.T, e krbEnv) {
		for _, tt := range []struct {
			name    string
			version int // the server's CredSSP version
			offer   negotiate.Protocol
			sendMIC bool
		}{
			{name: "hybrid", offer: hybrid},
			{name: "hybrid_ex", offer: hybrid | negotiate.ProtocolHybridEx},
			{name: "client mechListMIC", offer: hybrid, sendMIC: true},
			{name: "credssp v4 public key echo", offer: hybrid, version: 4},
		} {
			t.Run(tt.name, func(t *testing.T) {
				sc := e.scenario(rdptest.KerberosLogon)
				sc.CredSSPVersion = tt.version
				srv := startServer(t, sc)
				m := newKrbMech(e.st)
				m.sendMIC = tt.sendMIC
				res := logon(t, srv.Addr, tt.offer, m, e.creds())
				finish(t, srv, e.password)
				if res.err != nil {
					t.Fatalf("logon: %v\n%s", res.err, events(srv))
				}
				// NegTokenResp as Windows sends it (RFC 4178 4.2.2):
				// accept-completed, the client's first OID, the AP-REP, a MIC.
				if m.resp.State != spnego.AcceptCompleted || !m.resp.SupportedMech.Equal(spnego.OIDMSKerberos) ||
					len(m.resp.ResponseToken) == 0 || len(m.resp.MechListMIC) == 0 {
					t.Errorf("NegTokenResp %s, supportedMech %v, AP-REP %d bytes, MIC %d bytes", m.resp.State, m.resp.SupportedMech,
						len(m.resp.ResponseToken), len(m.resp.MechListMIC))
				}
				ctx := m.ini.Context()
				if !ctx.AcceptorSubkey || ctx.KeyEType != krb5.ETypeAES256 {
					t.Errorf("context: acceptor subkey %v, etype %s", ctx.AcceptorSubkey, krb5.ETypeName(ctx.KeyEType))
				}
				// The server's Wrap: sent by the acceptor, sealed, under its
				// subkey (RFC 4121 4.2.2), RRC 28 (MS-KILE 3.4.5.4.1).
				if w := res.serverWrap; len(w) < 16 || w[2] != 0x07 || w[6] != 0 || w[7] != krb5.WindowsRRC {
					t.Errorf("server Wrap token header % x", w[:min(16, len(w))])
				}
				wantEUA := tt.offer&negotiate.ProtocolHybridEx != 0
				if res.euaRead != wantEUA || res.eua != negotiate.EarlyUserAuthSuccess {
					t.Errorf("Early User Authorization Result read %v (%s), want %v", res.euaRead, res.eua, wantEUA)
				}
				proof := "SHA-256 binding hash"
				if tt.version == 4 {
					proof = "legacy public key echo"
				}
				for kind, detail := range map[string]string{
					rdptest.EventSPNEGO:      "NegTokenInit offering MS-KRB5, KRB5, NTLMSSP, with a Kerberos AP-REQ",
					rdptest.EventAPReq:       e.user + "@" + e.realm + ", ticket for " + e.spn + "@" + e.realm + ", mechanism MS-KRB5",
					rdptest.EventLogon:       "ok",
					rdptest.EventPubKeyAuth:  "verified (" + proof + ")",
					rdptest.EventCredentials: "received credentials for " + e.realm + `\` + e.user,
				} {
					if !srv.Saw(kind, detail) {
						t.Errorf("server did not see %s %q:\n%s", kind, detail, events(srv))
					}
				}
				if got := srv.Saw(rdptest.EventSPNEGO, "client mechListMIC verified"); got != tt.sendMIC {
					t.Errorf("client mechListMIC verified: %v, want %v", got, tt.sendMIC)
				}
				if srv.Saw(rdptest.EventError, "") {
					t.Errorf("server error:\n%s", events(srv))
				}
			})
		}
	})
}

// A client that lists the standard KRB5 OID first gets it back as
// supportedMech, with a MIC over its own mechTypes.
func TestKerberosStandardOIDFirst(t *testing.T) {
	forEachKDC(t, func(t *testing.T, e krbEnv) {
		srv := startServer(t, e.scenario(rdptest.KerberosLogon))
		c := dialCredSSP(t, srv.Addr, hybrid)
		defer c.Close()
		ini := &krb5.Initiator{Ticket: e.st}
		ap, err := ini.APReq()
		if err != nil {
			t.Fatal(err)
		}
		mechs := []asn1.ObjectIdentifier{spnego.OIDKerberos, spnego.OIDNTLM}
		init, err := (&spnego.NegTokenInit{MechTypes: mechs, MechToken: ap}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.send(&negotiate.TSRequest{Version: 6, NegoTokens: [][]byte{init}}); err != nil {
			t.Fatal(err)
		}
		ts, err := c.recv()
		if err != nil || len(ts.NegoTokens) != 1 {
			t.Fatalf("answer %+v, %v", ts, err)
		}
		var resp spnego.NegTokenResp
		if err := resp.Unmarshal(ts.NegoTokens[0]); err != nil {
			t.Fatal(err)
		}
		if resp.State != spnego.AcceptCompleted || !resp.SupportedMech.Equal(spnego.OIDKerberos) {
			t.Fatalf("NegTokenResp %s, supportedMech %v, want accept-completed, KRB5", resp.State, resp.SupportedMech)
		}
		ctx, err := ini.APRep(resp.ResponseToken)
		if err != nil {
			t.Fatal(err)
		}
		mt, _ := spnego.MarshalMechTypes(mechs)
		if err := ctx.VerifyMIC(mt, resp.MechListMIC); err != nil {
			t.Fatalf("server mechListMIC: %v", err)
		}
		if !srv.Saw(rdptest.EventAPReq, "mechanism KRB5,") {
			t.Errorf("events:\n%s", events(srv))
		}
	})
}

// Every failure on demand, as the client library surfaces it; none of them
// lets the credentials go but the missing Remote Desktop right, which
// Windows finds only once they are in.
func TestKerberosFailures(t *testing.T) {
	withStatus := func(s negotiate.NTStatus) func(string, string) rdptest.Scenario {
		return func(path, spn string) rdptest.Scenario { return rdptest.KerberosStatus(path, spn, s) }
	}
	forEachKDC(t, func(t *testing.T, e krbEnv) {
		for _, tt := range []struct {
			name   string
			sc     func(keytabPath, spn string) rdptest.Scenario
			edit   func(*rdptest.Scenario)
			offer  negotiate.Protocol
			code   krb5.ErrorCode     // the *krb5.APError the client surfaces
			status negotiate.NTStatus // the errorCode it got
			creds  bool               // the credentials were sent all the same
			eua    negotiate.EarlyUserAuthResult
			fault  string // the server's fault event: the client only sees the connection break
			check  func(t *testing.T, ae *krb5.APError)
		}{
			{name: "ticket rejected", sc: rdptest.KerberosTicketRejected, code: krb5.KRBAPErrModified,
				check: func(t *testing.T, ae *krb5.APError) {
					if ae.SName != e.spn || ae.Realm != e.realm {
						t.Errorf("KRB-ERROR names %s@%s, want the ticket's service", ae.SName, ae.Realm)
					}
				}},
			{name: "clock skew", sc: rdptest.KerberosClockSkew, code: krb5.KRBAPErrSkew,
				check: func(t *testing.T, ae *krb5.APError) {
					if d, ok := ae.Skew(); !ok || d < 59*time.Minute || d > 61*time.Minute {
						t.Errorf("skew %v (%v), want the server an hour ahead", d, ok)
					}
					// MS-KILE 3.4.5: KERB-ERROR-DATA, clock skew recovery.
					if ed := ae.EData; ed.Form != "KERB-ERROR-DATA" || len(ed.TypedData) != 1 || ed.TypedData[0].Type != 2 {
						t.Errorf("e-data %+v, want KERB_AP_ERR_TYPE_SKEW_RECOVERY", ed)
					}
				}},
			{name: "clock skew, 10 minutes", sc: rdptest.KerberosClockSkew, code: krb5.KRBAPErrSkew,
				edit: func(s *rdptest.Scenario) { s.Kerberos.ClockOffset = 10 * time.Minute },
				check: func(t *testing.T, ae *krb5.APError) {
					if d, _ := ae.Skew(); d < 9*time.Minute || d > 11*time.Minute {
						t.Errorf("skew %v, want 10 minutes", d)
					}
				}},
			{name: "not us", sc: rdptest.KerberosWrongHost, code: krb5.KRBAPErrNotUs},
			{name: "KRB-ERROR with errorCode", sc: rdptest.KerberosTicketRejected, code: krb5.KRBAPErrModified, status: negotiate.SecELogonDenied,
				edit: func(s *rdptest.Scenario) { s.Kerberos.APErrorCode = negotiate.SecELogonDenied }},
			{name: "logon failure after a good AP-REQ", sc: withStatus(negotiate.StatusLogonFailure),
				status: negotiate.StatusLogonFailure},
			{name: "SEC_E after a good AP-REQ", sc: withStatus(negotiate.SecEWrongPrincipal),
				status: negotiate.SecEWrongPrincipal},
			{name: "trust relationship", sc: withStatus(negotiate.StatusTrustedRelationshipFailure),
				status: negotiate.StatusTrustedRelationshipFailure},
			{name: "no remote desktop right", sc: rdptest.KerberosNoSignInRight, offer: negotiate.ProtocolHybridEx,
				creds: true, eua: negotiate.EarlyUserAuthAccessDenied},
			{name: "reset instead of the AP-REP", sc: rdptest.KerberosLogon, fault: "reset at logon",
				edit: func(s *rdptest.Scenario) { s.Fault = rdptest.Fault{At: probe.PhaseLogon, Kind: rdptest.FaultReset} }},
		} {
			t.Run(tt.name, func(t *testing.T) {
				sc := e.scenario(tt.sc)
				if tt.edit != nil {
					tt.edit(&sc)
				}
				srv := startServer(t, sc)
				offer := tt.offer
				if offer == 0 {
					offer = hybrid
				}
				res := logon(t, srv.Addr, offer, newKrbMech(e.st), e.creds())
				finish(t, srv, e.password)
				var ae *krb5.APError
				switch {
				case tt.code != 0:
					if !errors.As(res.err, &ae) || ae.Code != tt.code {
						t.Fatalf("client error %v (%T), want a *krb5.APError %s\n%s", res.err, res.err, tt.code, events(srv))
					}
					if tt.check != nil {
						tt.check(t, ae)
					}
					if !srv.Saw(rdptest.EventAPReq, "refused: "+tt.code.String()) {
						t.Errorf("events:\n%s", events(srv))
					}
				case tt.status != 0:
					var se *statusError
					if !errors.As(res.err, &se) || se.code != tt.status {
						t.Fatalf("client error %v, want errorCode %s", res.err, tt.status)
					}
				case tt.creds:
					if res.err != nil || !res.euaRead || res.eua != tt.eua {
						t.Fatalf("client error %v, Early User Authorization %s (read %v), want %s", res.err, res.eua, res.euaRead, tt.eua)
					}
				case tt.fault != "":
					if res.err == nil || errors.As(res.err, &ae) || !srv.Saw(rdptest.EventFault, tt.fault) {
						t.Fatalf("client error %v\n%s", res.err, events(srv))
					}
				}
				if tt.status == 0 && res.status != nil {
					t.Errorf("errorCode %s, want none", *res.status)
				} else if tt.status != 0 && (res.status == nil || *res.status != tt.status) {
					t.Errorf("errorCode %v, want %s", res.status, tt.status)
				}
				if got := srv.Saw(rdptest.EventCredentials, ""); got != tt.creds {
					t.Errorf("server received credentials: %v, want %v\n%s", got, tt.creds, events(srv))
				}
			})
		}
	})
}

// A server that cannot prove the TLS key (TamperPubKeyAuth): the client's
// check of the Kerberos-sealed pubKeyAuth fails and no credentials leave.
// A client MIC that does not verify stops the server the same way.
func TestKerberosTamperedPubKeyAuth(t *testing.T) {
	forEachKDC(t, func(t *testing.T, e krbEnv) {
		t.Run("pubKeyAuth", func(t *testing.T) {
			sc := e.scenario(rdptest.KerberosLogon)
			sc.TamperPubKeyAuth = true
			srv := startServer(t, sc)
			res := logon(t, srv.Addr, hybrid, newKrbMech(e.st), e.creds())
			finish(t, srv, e.password)
			if !errors.Is(res.err, errServerProof) {
				t.Fatalf("client: %v, want the server's proof refused", res.err)
			}
			if !srv.Saw(rdptest.EventPubKeyAuth, "verified") || !srv.Saw(rdptest.EventFault, "tampered pubKeyAuth") || srv.Saw(rdptest.EventCredentials, "") {
				t.Errorf("events:\n%s", events(srv))
			}
		})
		t.Run("client mechListMIC", func(t *testing.T) {
			srv := startServer(t, e.scenario(rdptest.KerberosLogon))
			m := newKrbMech(e.st)
			m.sendMIC, m.badMIC = true, true
			res := logon(t, srv.Addr, hybrid, m, e.creds())
			finish(t, srv, e.password)
			if res.err == nil || !srv.Saw(rdptest.EventSPNEGO, "client mechListMIC: ") || srv.Saw(rdptest.EventPubKeyAuth, "") {
				t.Errorf("client: %v\n%s", res.err, events(srv))
			}
		})
	})
}

// One server takes both, as Windows' Negotiate does: a client without
// Kerberos logs on with raw NTLM as before, then one with Kerberos.
func TestKerberosScenarioTakesNTLM(t *testing.T) {
	forEachKDC(t, func(t *testing.T, e krbEnv) {
		srv := startServer(t, e.scenario(rdptest.KerberosLogon))
		m := &ntlmMech{c: ntlm.Client{User: rdptest.TestUser, Domain: rdptest.TestDomain, Password: rdptest.TestPassword}}
		res := logon(t, srv.Addr, hybrid, m, negotiate.TSCredentials{Domain: rdptest.TestDomain, User: rdptest.TestUser, Password: rdptest.TestPassword})
		if res.err != nil {
			t.Fatalf("NTLM logon: %v\n%s", res.err, events(srv))
		}
		if res := logon(t, srv.Addr, hybrid, newKrbMech(e.st), e.creds()); res.err != nil {
			t.Fatalf("Kerberos logon: %v\n%s", res.err, events(srv))
		}
		srv.WaitConns(2, 3*time.Second)
		want := []string{"#1 ntlm_negotiate", "#1 credentials: received credentials for CORP\\alice",
			"#2 spnego", "#2 credentials: received credentials for " + e.realm + `\` + e.user}
		got := events(srv)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("no %q in\n%s", w, got)
			}
		}
		if strings.Contains(got, "#1 spnego") || strings.Contains(got, "#1 kerberos") || srv.Saw(rdptest.EventError, "") {
			t.Errorf("events:\n%s", got)
		}
	})
}

// An SPNEGO offer that does not lead with a Kerberos AP-REQ (NTLM inside
// SPNEGO) is refused with a reject, and the server says why: rdptest does
// not emulate Negotiate's NTLM-in-SPNEGO.
func TestKerberosSPNEGOWithoutKerberos(t *testing.T) {
	sc := rdptest.KerberosLogon("", "TERMSRV/localhost")
	sc.Kerberos.Keytab = offlineKeytab(t)
	srv := startServer(t, sc)
	nc := ntlm.Client{User: rdptest.TestUser, Domain: rdptest.TestDomain, Password: rdptest.TestPassword}
	init, err := (&spnego.NegTokenInit{MechTypes: []asn1.ObjectIdentifier{spnego.OIDNTLM}, MechToken: nc.Negotiate()}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	c := dialCredSSP(t, srv.Addr, hybrid)
	defer c.Close()
	if err := c.send(&negotiate.TSRequest{Version: 6, NegoTokens: [][]byte{init}}); err != nil {
		t.Fatal(err)
	}
	ts, err := c.recv()
	if err != nil || len(ts.NegoTokens) != 1 {
		t.Fatalf("answer %+v, %v", ts, err)
	}
	var resp spnego.NegTokenResp
	if err := resp.Unmarshal(ts.NegoTokens[0]); err != nil || resp.State != spnego.Reject {
		t.Fatalf("NegTokenResp %+v, %v: want reject", resp, err)
	}
	finish(t, srv)
	if !srv.Saw(rdptest.EventSPNEGO, "NegTokenInit offering NTLMSSP") || !srv.Saw(rdptest.EventError, "not emulated") {
		t.Errorf("events:\n%s", events(srv))
	}
}

func TestKerberosAcceptorNeedsKeys(t *testing.T) {
	for name, k := range map[string]*rdptest.KerberosAcceptor{
		"no keytab":       {SPN: "TERMSRV/localhost"},
		"missing file":    {KeytabPath: "testdata/no-such.keytab"},
		"empty keytab":    {Keytab: keytab.New()},
		"unknown failure": {Keytab: offlineKeytab(t), Failure: 99},
	} {
		if srv, err := rdptest.NewServer(rdptest.Scenario{Kerberos: k}); err == nil {
			srv.Close()
			t.Errorf("%s: NewServer took it", name)
		}
	}
}
