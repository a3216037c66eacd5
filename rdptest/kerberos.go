package rdptest

import (
	"crypto/rand"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/negotiate/krb5"
	"github.com/rdpprobe/rdpprobe/negotiate/spnego"
	"github.com/rdpprobe/rdpprobe/probe"
)

// Event kinds of a Kerberos logon (with EventLogon, EventPubKeyAuth and
// EventCredentials, as for NTLM).
const (
	EventSPNEGO = "spnego"          // the client's NegTokenInit (what it offers); its mechListMIC
	EventAPReq  = "kerberos_ap_req" // the AP-REQ: client, service, mechanism; or why it was refused
)

// KerberosAcceptor makes the server a domain member for Kerberos: its
// CredSSP then takes both kinds of negoTokens Windows' Negotiate package
// takes (MS-CSSP 2.2.1, 3.1.5): a raw NTLMSSP NEGOTIATE as before, or an SPNEGO
// NegTokenInit (RFC 4178 4.2.1) whose optimistic mechToken is a Kerberos
// AP-REQ, verified with the keytab's service keys.
//
// What it answers, as a Windows RDP server does:
//   - a good AP-REQ: NegTokenResp{accept-completed, supportedMech = the
//     Kerberos OID the client listed first (MS-KRB5 for a Windows client),
//     responseToken = the AP-REP with an acceptor subkey, mechListMIC} (RFC
//     4178 4.2.2 and 5; Windows always sends the MIC once AES keys are in
//     use: Microsoft Open Specifications blog, "mechListMIC token",
//     2009). The client's next TSRequest carries pubKeyAuth, clientNonce
//     and, if it sends one, its own mechListMIC in a NegTokenResp; both are
//     checked, then the rest of MS-CSSP 3.1.5 runs as with NTLM, every
//     token an RFC 4121 sealed Wrap under the acceptor subkey.
//   - a refused AP-REQ: NegTokenResp{reject, supportedMech, responseToken =
//     the KRB-ERROR framed as an RFC 4121 4.1 token} (RFC 4178 4.2.2), and
//     the connection ends. A KRB_AP_ERR_SKEW carries the KERB-ERROR-DATA of
//     clock skew recovery (MS-KILE 3.4.5, 2.2.2). MS-CSSP 2.2.1 says a
//     server SHOULD also put the failure in TSRequest.errorCode, but which
//     NTSTATUS Windows pairs with each KRB_AP_ERR is not documented, while
//     the KRB-ERROR is what Windows clients act on (the skew retry of
//     MS-KILE 3.2.5.8; the client's System log event "The Kerberos client
//     received a KRB_AP_ERR_MODIFIED error from the server", Microsoft's
//     article kerberos-client-krb-ap-err-modified-error): so errorCode is
//     sent only when APErrorCode names one.
//   - a good AP-REQ whose logon the server then refuses (no logon right, a
//     broken trust, a restriction): Scenario.AfterAuthenticate, in
//     TSRequest.errorCode in place of the AP-REP, as for NTLM. An account
//     without the Remote Desktop right: Scenario.EarlyUserAuth.
type KerberosAcceptor struct {
	// Keytab holds the service keys; when nil, NewServer loads KeytabPath
	// (the lab's is RDPLAB_KEYTAB, see labtest.Kerberos).
	Keytab     *keytab.Keytab
	KeytabPath string
	// SPN, when set, is the only service principal accepted
	// ("TERMSRV/localhost"); "" accepts every principal of the keytab.
	SPN string
	// Now is the server's clock (nil: time.Now), ClockOffset is added to
	// it; MaxSkew is the skew allowed (0: 5 minutes, Windows' default).
	Now         func() time.Time
	ClockOffset time.Duration
	MaxSkew     time.Duration
	// Failure, if set, refuses every AP-REQ the way a misconfigured
	// server does.
	Failure KerberosFailure
	// APErrorCode, if set, is sent in TSRequest.errorCode (CredSSP 3 and
	// later) along with the KRB-ERROR of a refused AP-REQ.
	APErrorCode negotiate.NTStatus
}

// KerberosFailure is a way for a server to refuse a good ticket.
type KerberosFailure int

// The failures.
const (
	KerberosAccept KerberosFailure = iota
	// KerberosModified: the ticket does not decrypt with the server's keys,
	// which are those of another password (a stale machine password after
	// a snapshot restore, or the SPN registered on a second account, so
	// the KDC encrypts with that account's key): KRB_AP_ERR_MODIFIED.
	KerberosModified
	// KerberosSkew: the server's clock is ClockOffset ahead (1 hour when
	// ClockOffset is zero): KRB_AP_ERR_SKEW, with the server's time.
	KerberosSkew
	// KerberosNotUs: the server holds the keys but answers to another SPN
	// only (the name typed is an alias of another host): KRB_AP_ERR_NOT_US.
	KerberosNotUs
)

func (f KerberosFailure) String() string {
	switch f {
	case KerberosAccept:
		return "accept"
	case KerberosModified:
		return "KRB_AP_ERR_MODIFIED"
	case KerberosSkew:
		return "KRB_AP_ERR_SKEW"
	case KerberosNotUs:
		return "KRB_AP_ERR_NOT_US"
	}
	return fmt.Sprintf("KerberosFailure(%d)", int(f))
}

// defaultSkewOffset is how far ahead a KerberosSkew server's clock runs.
const defaultSkewOffset = time.Hour

// notUsHost is the host a KerberosNotUs server answers to.
const notUsHost = "rds02.corp.example.com"

// acceptor builds the krb5.Acceptor the scenario describes.
func (k *KerberosAcceptor) acceptor() (*krb5.Acceptor, error) {
	kt := k.Keytab
	if kt == nil {
		if k.KeytabPath == "" {
			return nil, errors.New("rdptest: KerberosAcceptor without a keytab")
		}
		var err error
		if kt, err = krb5.LoadKeytab(k.KeytabPath); err != nil {
			return nil, fmt.Errorf("rdptest: %w", err)
		}
	}
	if len(kt.Entries) == 0 {
		return nil, errors.New("rdptest: KerberosAcceptor keytab has no keys")
	}
	a := &krb5.Acceptor{Keytab: kt, SPN: k.SPN, MaxSkew: k.MaxSkew}
	clock, offset := k.Now, k.ClockOffset
	if clock == nil {
		clock = time.Now
	}
	switch k.Failure {
	case KerberosAccept:
	case KerberosModified:
		stale, err := staleKeys(kt)
		if err != nil {
			return nil, err
		}
		a.Keytab = stale
	case KerberosSkew:
		if offset == 0 {
			offset = defaultSkewOffset
		}
	case KerberosNotUs:
		service, _, _ := strings.Cut(k.SPN, "/")
		if service == "" {
			service = "TERMSRV"
		}
		a.SPN = service + "/" + notUsHost
	default:
		return nil, fmt.Errorf("rdptest: unknown %v", k.Failure)
	}
	a.Now = func() time.Time { return clock().Add(offset) }
	return a, nil
}

// staleKeys is kt with every key replaced by random bytes of the same
// etype, principal and kvno: the keys of a password the KDC no longer has.
func staleKeys(kt *keytab.Keytab) (*keytab.Keytab, error) {
	stale := keytab.New()
	stale.Entries = append(stale.Entries, kt.Entries...)
	for i := range stale.Entries {
		k := make([]byte, len(stale.Entries[i].Key.KeyValue))
		if _, err := rand.Read(k); err != nil {
			return nil, fmt.Errorf("rdptest: stale keys: %w", err)
		}
		stale.Entries[i].Key.KeyValue = k
	}
	return stale, nil
}

// isSPNEGO tells an SPNEGO InitialContextToken (RFC 2743 3.1: [APPLICATION
// 0]) from the raw NTLMSSP message a Windows client sends when only NTLM can
// work.
func isSPNEGO(tok []byte) bool { return len(tok) > 0 && tok[0] == 0x60 }

// errNoKerberosFirst: a NegTokenInit that does not lead with Kerberos and an
// AP-REQ. Windows would go on with the mechanism it names (NTLM inside
// SPNEGO); rdptest does not emulate that and rejects it.
var errNoKerberosFirst = errors.New("the NegTokenInit does not lead with a Kerberos AP-REQ (SPNEGO-wrapped NTLM is not emulated)")

// spnegoAccept is the acceptor's reading of a client's NegTokenInit.
type spnegoAccept struct {
	offer     string                // the mechanisms offered, for the event
	mech      asn1.ObjectIdentifier // the client's first (Kerberos) OID
	mechTypes []byte                // the DER MechTypeList the MICs cover
	acc       *krb5.Accepted        // the AP-REQ verified
	apErr     *krb5.APError         // or refused
	reply     []byte                // the NegTokenResp reject, when refused
}

// acceptNegTokenInit verifies the AP-REQ of a client's first SPNEGO token
// (MS-CSSP 3.1.5 step 1 with Kerberos). It does no I/O. A refused AP-REQ is
// not an error: the result holds the *krb5.APError and the reject to send.
// Errors are for tokens that are not what a Windows client sends.
func acceptNegTokenInit(a *krb5.Acceptor, tok []byte) (*spnegoAccept, error) {
	var init spnego.NegTokenInit
	if err := init.Unmarshal(tok); err != nil {
		return nil, err
	}
	names := make([]string, len(init.MechTypes))
	for i, m := range init.MechTypes {
		names[i] = spnego.MechName(m)
	}
	r := &spnegoAccept{offer: "NegTokenInit offering " + strings.Join(names, ", ")}
	if len(init.MechToken) == 0 {
		r.offer += ", no mechToken"
		return r, errNoKerberosFirst
	}
	if !spnego.IsKerberos(init.MechTypes[0]) {
		return r, errNoKerberosFirst
	}
	r.offer += ", with a Kerberos AP-REQ"
	r.mech = init.MechTypes[0]
	mt, err := init.MechTypesDER()
	if err != nil {
		return r, err
	}
	r.mechTypes = mt
	acc, err := a.Accept(init.MechToken)
	var ae *krb5.APError
	if errors.As(err, &ae) {
		et, err := krbErrorToken(ae)
		if err != nil {
			return r, err
		}
		resp := spnego.NegTokenResp{State: spnego.Reject, SupportedMech: r.mech, ResponseToken: et}
		if r.reply, err = resp.Marshal(); err != nil {
			return r, err
		}
		r.apErr = ae
		return r, nil
	}
	if err != nil {
		return r, err
	}
	if len(init.MechListMIC) > 0 {
		// RFC 4178 5: a MIC in the NegTokenInit is checked like a later one.
		if err := acc.Context.VerifyMIC(mt, init.MechListMIC); err != nil {
			return r, fmt.Errorf("the NegTokenInit's mechListMIC: %w", err)
		}
	}
	r.acc = acc
	return r, nil
}

// acceptCompleted is the answer to a good AP-REQ: NegTokenResp{accept-
// completed, supportedMech, AP-REP, mechListMIC}.
func (r *spnegoAccept) acceptCompleted() ([]byte, error) {
	mic, err := r.acc.Context.MIC(r.mechTypes)
	if err != nil {
		return nil, err
	}
	resp := spnego.NegTokenResp{State: spnego.AcceptCompleted, SupportedMech: r.mech, ResponseToken: r.acc.Reply, MechListMIC: mic}
	return resp.Marshal()
}

// verifyClientMIC checks the NegTokenResp a client sends with pubKeyAuth:
// its mechListMIC over the mechTypes it offered (RFC 4178 5).
func (r *spnegoAccept) verifyClientMIC(tok []byte) error {
	var resp spnego.NegTokenResp
	if err := resp.Unmarshal(tok); err != nil {
		return err
	}
	if len(resp.MechListMIC) == 0 {
		return errors.New("the client's NegTokenResp has no mechListMIC")
	}
	return r.acc.Context.VerifyMIC(r.mechTypes, resp.MechListMIC)
}

// KERB-ERROR-DATA data-type of clock skew recovery (MS-KILE 2.2.2).
const kerbAPErrTypeSkewRecovery = 2

// krbErrorToken frames the KRB-ERROR (RFC 4120 5.9.1) of a refused AP-REQ
// in the GSS token a Windows server puts in responseToken (RFC 4121 4.1,
// TOK_ID 03 00): the server's time and the ticket's service, and for
// KRB_AP_ERR_SKEW the e-data KERB-ERROR-DATA{KERB_AP_ERR_TYPE_SKEW_RECOVERY}
// (MS-KILE 3.4.5), by which a Windows client knows it may retry with the
// server's time (MS-KILE 3.2.5.8). krb5.Acceptor.ErrorToken sends no e-data
// for it.
func krbErrorToken(e *krb5.APError) ([]byte, error) {
	t := e.ServerTime.UTC()
	m := messages.KRBError{PVNO: 5, MsgType: 30, STime: t.Truncate(time.Second), Susec: t.Nanosecond() / 1000,
		ErrorCode: int32(e.Code), Realm: e.Realm, SName: types.NewPrincipalName(2, e.SName), EText: e.EText}
	if e.SName == "" {
		m.SName = types.NewPrincipalName(2, "unknown")
	}
	if m.Realm == "" {
		m.Realm = "UNKNOWN"
	}
	if e.Code == krb5.KRBAPErrSkew {
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.Tag(1).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1Int64(kerbAPErrTypeSkewRecovery)
			})
		})
		m.EData = b.BytesOrPanic()
	}
	msg, err := m.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode KRB-ERROR: %w", err)
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.Tag(0x60), func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(krb5.OIDKerberos)
		b.AddUint16(0x0300)
		b.AddBytes(msg)
	})
	return b.Bytes()
}

// krbSealer is CredSSP's sealing with an RFC 4121 context: Wrap tokens with
// confidentiality, RRC 28 and the acceptor subkey, as Windows sends them.
type krbSealer struct{ ctx *krb5.Context }

func (k krbSealer) seal(b []byte) ([]byte, error)   { return k.ctx.Wrap(b) }
func (k krbSealer) unseal(b []byte) ([]byte, error) { return k.ctx.Unwrap(b) }

// kerberos is the server side of MS-CSSP 3.1.5 with Kerberos in SPNEGO:
// ts is the client's first TSRequest, its NegTokenInit with the AP-REQ.
func (c *conn) kerberos(selected negotiate.Protocol, ts *negotiate.TSRequest) error {
	sc := &c.s.scenario
	v := sc.CredSSPVersion
	r, err := acceptNegTokenInit(c.s.krb, ts.NegoTokens[0])
	if r != nil {
		c.event(EventSPNEGO, fmt.Sprintf("client CredSSP version %d, %s", ts.Version, r.offer))
	}
	if errors.Is(err, errNoKerberosFirst) {
		if rej, merr := (&spnego.NegTokenResp{State: spnego.Reject}).Marshal(); merr == nil {
			c.writeTS(probe.PhaseLogon, &negotiate.TSRequest{Version: v, NegoTokens: [][]byte{rej}})
		}
	}
	if err != nil {
		return fmt.Errorf("SPNEGO: %w", err)
	}
	if done, ferr := c.misbehave(probe.PhaseLogon); done {
		return ferr
	}
	if r.apErr != nil {
		c.event(EventAPReq, "refused: "+r.apErr.Code.String())
		why := r.apErr.Code.String()
		if r.apErr.Code == krb5.KRBAPErrSkew {
			why += ", server clock " + r.apErr.ServerTime.UTC().Format(time.RFC3339)
		}
		c.event(EventLogon, "failed: "+why)
		out := &negotiate.TSRequest{Version: v, NegoTokens: [][]byte{r.reply}}
		if code := sc.Kerberos.APErrorCode; code != 0 && v >= 3 {
			out.ErrorCode = &code
		}
		return c.writeTS(probe.PhaseLogon, out)
	}
	acc := r.acc
	defer acc.Context.Zero()
	c.event(EventAPReq, fmt.Sprintf("%s, ticket for %s, mechanism %s, context key %s", acc.Client, acc.Service,
		spnego.MechName(r.mech), krb5.ETypeName(acc.Context.KeyEType)))
	c.event(EventLogon, "ok")
	if sc.AfterAuthenticate.ErrorCode != 0 || sc.AfterAuthenticate.Close {
		return c.answer(sc.AfterAuthenticate, v)
	}
	reply, err := r.acceptCompleted()
	if err != nil {
		return err
	}
	if err := c.writeTS(probe.PhaseLogon, &negotiate.TSRequest{Version: v, NegoTokens: [][]byte{reply}}); err != nil {
		return err
	}

	// pubKeyAuth and clientNonce, perhaps with the client's mechListMIC.
	ts, err = c.readTS()
	if err != nil {
		return fmt.Errorf("read pubKeyAuth: %w", err)
	}
	switch len(ts.NegoTokens) {
	case 0:
	case 1:
		// The MIC first: it was made before the Wrap, and sequence
		// numbers only go up.
		if err := r.verifyClientMIC(ts.NegoTokens[0]); err != nil {
			c.event(EventSPNEGO, "client mechListMIC: "+err.Error())
			return errStop
		}
		c.event(EventSPNEGO, "client mechListMIC verified")
	default:
		return fmt.Errorf("the pubKeyAuth TSRequest has %d negoTokens, want at most the client's mechListMIC", len(ts.NegoTokens))
	}
	return c.delegate(selected, ts, krbSealer{acc.Context})
}

// The scenarios of a Kerberos catalog, one constructor each: a Windows
// member server that takes Kerberos with the keytab at keytabPath for spn
// (the lab's: labtest.Kerberos(t).Keytab and .SPN) and NTLM for the
// catalog's CORP\alice.
func kerberosScenario(keytabPath, spn string, f KerberosFailure) Scenario {
	return Scenario{Accounts: accounts(), Kerberos: &KerberosAcceptor{KeytabPath: keytabPath, SPN: spn, Failure: f}}
}

// KerberosLogon: the AP-REQ verifies and the logon succeeds.
func KerberosLogon(keytabPath, spn string) Scenario {
	return kerberosScenario(keytabPath, spn, KerberosAccept)
}

// KerberosTicketRejected: the ticket does not decrypt with the server's
// keys (a stale machine password, a duplicate SPN): KRB_AP_ERR_MODIFIED.
func KerberosTicketRejected(keytabPath, spn string) Scenario {
	return kerberosScenario(keytabPath, spn, KerberosModified)
}

// KerberosClockSkew: the server's clock runs an hour ahead:
// KRB_AP_ERR_SKEW with the server's time.
func KerberosClockSkew(keytabPath, spn string) Scenario {
	return kerberosScenario(keytabPath, spn, KerberosSkew)
}

// KerberosWrongHost: the server answers to another SPN only (the name typed
// is an alias of another host): KRB_AP_ERR_NOT_US.
func KerberosWrongHost(keytabPath, spn string) Scenario {
	return kerberosScenario(keytabPath, spn, KerberosNotUs)
}

// KerberosStatus: the AP-REQ verifies, then the server refuses the logon
// with errorCode s in place of the AP-REP (STATUS_LOGON_TYPE_NOT_GRANTED,
// STATUS_TRUSTED_RELATIONSHIP_FAILURE, a SEC_E_ code...).
func KerberosStatus(keytabPath, spn string, s negotiate.NTStatus) Scenario {
	sc := kerberosScenario(keytabPath, spn, KerberosAccept)
	sc.AfterAuthenticate = Outcome{ErrorCode: s}
	return sc
}

// KerberosNoSignInRight: the Kerberos logon succeeds and the credentials
// arrive, then the Early User Authorization Result says ACCESS_DENIED (an
// account outside Remote Desktop Users; offer HYBRID_EX).
func KerberosNoSignInRight(keytabPath, spn string) Scenario {
	sc := kerberosScenario(keytabPath, spn, KerberosAccept)
	sc.EarlyUserAuth = negotiate.EarlyUserAuthAccessDenied
	return sc
}
