package krb5

import (
	"crypto/rand"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	gasn1 "github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/negotiate/spnego"
)

// DefaultMaxSkew is the clock skew an acceptor allows (RFC 4120 1.6; the
// Windows default "Maximum tolerance for computer clock synchronization").
const DefaultMaxSkew = 5 * time.Minute

// maxKeytab caps a keytab read.
const maxKeytab = 1 << 20

// LoadKeytab reads a keytab file (MIT format, as ktadd writes it).
func LoadKeytab(path string) (*keytab.Keytab, error) {
	b, err := readCapped(path, "keytab", maxKeytab)
	if err != nil {
		return nil, err
	}
	kt, err := parseKeytab(b)
	clear(b)
	if err != nil {
		return nil, fmt.Errorf("krb5: keytab %s: %w", path, err)
	}
	return kt, nil
}

func parseKeytab(b []byte) (kt *keytab.Keytab, err error) {
	defer recoverMalformed("keytab", &err)
	kt = keytab.New()
	if err := kt.Unmarshal(b); err != nil {
		return nil, errMalformed("keytab", "%v", err)
	}
	return kt, nil
}

// Acceptor is the server side of a Kerberos logon, as a Windows RDP server
// answers it (for the test server): it verifies an AP-REQ with the service
// keys of a keytab and answers with an AP-REP carrying an acceptor subkey,
// or with the KRB-ERROR Windows would send. It keeps no replay cache.
type Acceptor struct {
	Keytab *keytab.Keytab
	// SPN, when set, is the only service principal accepted
	// ("TERMSRV/localhost"); a ticket for another is KRB_AP_ERR_NOT_US.
	SPN     string
	Now     func() time.Time // nil: time.Now
	Rand    io.Reader        // nil: crypto/rand
	MaxSkew time.Duration    // 0: DefaultMaxSkew
}

// Accepted is what a verified AP-REQ told.
type Accepted struct {
	Client  string // user@REALM, from the ticket
	CName   types.PrincipalName
	CRealm  string
	Service string // the ticket's sname@realm
	Flags   GSSFlags
	// Reply is the framed AP-REP (nil when mutual authentication was not
	// asked for).
	Reply   []byte
	Context *Context
}

func (a *Acceptor) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Acceptor) rand() io.Reader {
	if a.Rand != nil {
		return a.Rand
	}
	return rand.Reader
}

// refuse builds the *APError for code; ErrorToken frames it.
func (a *Acceptor) refuse(code ErrorCode, sname types.PrincipalName, realm, text string) *APError {
	t := a.now()
	return &APError{KRBError: KRBError{Code: code, EText: text, ServerTime: t, LocalTime: t,
		Realm: realm, SName: sname.PrincipalNameString()}}
}

// ErrorToken is the framed KRB-ERROR (TOK_ID 03 00) for an error of
// Accept: what the server sends back in place of an AP-REP. Windows puts
// no NTSTATUS in AP errors; status, when non-zero, is added as a
// KERB-ERROR-DATA.
func (a *Acceptor) ErrorToken(e *APError, status negotiate.NTStatus) ([]byte, error) {
	st, usec := kerberosTime(e.ServerTime)
	m := messages.KRBError{PVNO: 5, MsgType: msgError, STime: st, Susec: usec, ErrorCode: int32(e.Code),
		Realm: e.Realm, SName: principal(nameTypeSrvInst, e.SName), EText: e.EText}
	if e.SName == "" {
		m.SName = principal(nameTypeSrvInst, "unknown")
	}
	if m.Realm == "" {
		m.Realm = "UNKNOWN"
	}
	if status != 0 {
		m.EData = marshalKerbErrorData(status)
	}
	b, err := m.Marshal()
	if err != nil {
		return nil, fmt.Errorf("krb5: encode KRB-ERROR: %w", err)
	}
	return frameGSS(tokKRBError, b), nil
}

// Accept verifies a framed (or bare) AP-REQ (RFC 4120 3.2.3): the ticket
// decrypts with a keytab key (else KRB_AP_ERR_MODIFIED, as Windows says for
// a stale or duplicate key), is valid now, the authenticator decrypts with
// its session key, names the ticket's client and is within MaxSkew of our
// clock (else KRB_AP_ERR_SKEW). Errors are *APError unless the token does
// not parse.
func (a *Acceptor) Accept(token []byte) (*Accepted, error) {
	if a.Keytab == nil {
		return nil, errors.New("krb5: acceptor without a keytab")
	}
	tokID, msg, err := UnframeGSS(token)
	if err != nil {
		return nil, err
	}
	if tokID != tokAPReq {
		return nil, errMalformed("AP-REQ", "TOK_ID %04x", tokID)
	}
	ap, err := ParseAPReq(msg)
	if err != nil {
		return nil, err
	}
	tkt := ap.Ticket
	if len(tkt.SName.NameString) == 0 {
		return nil, errMalformed("AP-REQ", "ticket without sname")
	}
	if a.SPN != "" && !samePrincipal(tkt.SName, principal(nameTypeSrvInst, a.SPN)) {
		return nil, a.refuse(KRBAPErrNotUs, tkt.SName, tkt.Realm, "ticket is for another service")
	}
	key, _, err := a.Keytab.GetEncryptionKey(tkt.SName, tkt.Realm, tkt.EncPart.KVNO, tkt.EncPart.EType)
	if err != nil {
		// A kvno we do not have: Windows tries its current key anyway.
		key, _, err = a.Keytab.GetEncryptionKey(tkt.SName, tkt.Realm, 0, tkt.EncPart.EType)
	}
	if err != nil {
		return nil, a.refuse(KRBAPErrModified, tkt.SName, tkt.Realm, "")
	}
	plain, err := decrypt(key, usageKDCRepTicket, tkt.EncPart.Cipher, "ticket")
	if err != nil {
		return nil, a.refuse(KRBAPErrModified, tkt.SName, tkt.Realm, "")
	}
	var etp messages.EncTicketPart
	err = unmarshalEncTicketPart(&etp, plain)
	clear(plain)
	if err != nil {
		return nil, a.refuse(KRBAPErrModified, tkt.SName, tkt.Realm, "")
	}
	defer zero(&etp.Key)
	now := a.now()
	skew := a.MaxSkew
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	if !etp.EndTime.IsZero() && now.After(etp.EndTime.Add(skew)) {
		return nil, a.refuse(KRBAPErrTktExpired, tkt.SName, tkt.Realm, "")
	}
	start := etp.StartTime
	if start.IsZero() {
		start = etp.AuthTime
	}
	if start.After(now.Add(skew)) {
		return nil, a.refuse(KRBAPErrTktNYV, tkt.SName, tkt.Realm, "")
	}
	if _, err := getEType(etp.Key.KeyType); err != nil {
		return nil, a.refuse(KRBAPErrModified, tkt.SName, tkt.Realm, "")
	}
	ab, err := decrypt(etp.Key, usageAPReqAuth, ap.EncryptedAuthenticator.Cipher, "authenticator")
	if err != nil {
		return nil, a.refuse(KRBAPErrBadIntegrity, tkt.SName, tkt.Realm, "")
	}
	var auth types.Authenticator
	err = unmarshalAuthenticator(&auth, ab)
	clear(ab)
	if err != nil {
		return nil, a.refuse(KRBAPErrBadIntegrity, tkt.SName, tkt.Realm, "")
	}
	defer zero(&auth.SubKey)
	if !samePrincipal(auth.CName, etp.CName) || !strings.EqualFold(auth.CRealm, etp.CRealm) {
		return nil, a.refuse(KRBAPErrBadMatch, tkt.SName, tkt.Realm, "")
	}
	ctime := auth.CTime.Add(time.Duration(clampUsec(auth.Cusec)) * time.Microsecond)
	if d := now.Sub(ctime); d > skew || d < -skew {
		return nil, a.refuse(KRBAPErrSkew, tkt.SName, tkt.Realm, "")
	}
	flags, err := parseGSSChecksum(auth.Cksum)
	if err != nil {
		return nil, a.refuse(KRBAPErrInappCksum, tkt.SName, tkt.Realm, "")
	}
	acc := &Accepted{
		CName: etp.CName, CRealm: etp.CRealm, Flags: flags,
		Client:  strings.Join(etp.CName.NameString, "/") + "@" + etp.CRealm,
		Service: tkt.SName.PrincipalNameString() + "@" + tkt.Realm,
	}
	initKey := etp.Key
	if len(auth.SubKey.KeyValue) > 0 {
		if _, err := getEType(auth.SubKey.KeyType); err != nil {
			return nil, a.refuse(KRBAPErrBadIntegrity, tkt.SName, tkt.Realm, "")
		}
		initKey = auth.SubKey
	}
	recvSeq := uint64(uint32(auth.SeqNumber))
	if !types.IsFlagSet(&ap.APOptions, apOptMutualRequired) {
		acc.Context = newContext(false, initKey, false, recvSeq, recvSeq)
		acc.Context.Flags, acc.Context.ClientName = flags, acc.Client
		return acc, nil
	}
	// Mutual authentication: an AP-REP with an acceptor subkey of the
	// initiator key's etype, and our own sequence number.
	sub, err := randomKey(a.rand(), initKey.KeyType)
	if err != nil {
		return nil, err
	}
	defer zero(&sub)
	var sb [4]byte
	if _, err := io.ReadFull(a.rand(), sb[:]); err != nil {
		return nil, fmt.Errorf("krb5: read random: %w", err)
	}
	seq := binary.BigEndian.Uint32(sb[:]) & 0x3fffffff
	reply, err := marshalAPRep(etp.Key, messages.EncAPRepPart{CTime: auth.CTime, Cusec: auth.Cusec, Subkey: sub, SequenceNumber: int64(seq)})
	if err != nil {
		return nil, err
	}
	acc.Reply = frameGSS(tokAPRep, reply)
	acc.Context = newContext(false, sub, true, uint64(seq), recvSeq)
	acc.Context.Flags, acc.Context.ClientName = flags, acc.Client
	return acc, nil
}

// marshalAPRep encrypts an EncAPRepPart under the ticket's session key
// (usage 12) and wraps it in an AP-REP (RFC 4120 5.5.2). gokrb5 parses
// these but cannot write them.
func marshalAPRep(sessionKey types.EncryptionKey, part messages.EncAPRepPart) ([]byte, error) {
	pb, err := gasn1.Marshal(part)
	if err != nil {
		return nil, fmt.Errorf("krb5: encode EncAPRepPart: %w", err)
	}
	pb = asn1tools.AddASNAppTag(pb, 27)
	ed, err := encrypt(sessionKey, usageAPRepEncPart, pb, 0)
	clear(pb)
	if err != nil {
		return nil, err
	}
	b, err := gasn1.Marshal(messages.APRep{PVNO: 5, MsgType: msgAPRep, EncPart: ed})
	if err != nil {
		return nil, fmt.Errorf("krb5: encode AP-REP: %w", err)
	}
	return asn1tools.AddASNAppTag(b, msgAPRep), nil
}

// ParseAPReq reads a bare AP-REQ ([APPLICATION 14]).
func ParseAPReq(b []byte) (ap *messages.APReq, err error) {
	defer recoverMalformed("AP-REQ", &err)
	ap = new(messages.APReq)
	if err := ap.Unmarshal(b); err != nil {
		return nil, errMalformed("AP-REQ", "%v", err)
	}
	return ap, nil
}

func unmarshalEncTicketPart(p *messages.EncTicketPart, b []byte) (err error) {
	defer recoverMalformed("EncTicketPart", &err)
	return p.Unmarshal(b)
}

func unmarshalAuthenticator(p *types.Authenticator, b []byte) (err error) {
	defer recoverMalformed("Authenticator", &err)
	return p.Unmarshal(b)
}

// AcceptedSPNEGO is the outcome of AcceptSPNEGO.
type AcceptedSPNEGO struct {
	*Accepted
	Mech      asn1.ObjectIdentifier // the Kerberos OID the client offered first
	mechTypes []byte
}

// ErrNoKerberosOffered is returned by AcceptSPNEGO when the client's
// NegTokenInit does not lead with Kerberos and an AP-REQ (a client that
// offers NTLM first, or no optimistic token): the caller goes on with NTLM.
var ErrNoKerberosOffered = errors.New("krb5: the client's NegTokenInit does not start with a Kerberos AP-REQ")

// AcceptSPNEGO answers a client's NegTokenInit as Windows does: on success
// NegTokenResp{accept-completed, supportedMech = the client's Kerberos OID,
// responseToken = AP-REP, mechListMIC}; on an AP error NegTokenResp{reject,
// responseToken = KRB-ERROR} together with the *APError.
func (a *Acceptor) AcceptSPNEGO(token []byte) (reply []byte, acc *AcceptedSPNEGO, err error) {
	var init spnego.NegTokenInit
	if err := init.Unmarshal(token); err != nil {
		return nil, nil, err
	}
	if !spnego.IsKerberos(init.MechTypes[0]) || len(init.MechToken) == 0 {
		return nil, nil, ErrNoKerberosOffered
	}
	mech := init.MechTypes[0]
	mechTypes, err := init.MechTypesDER()
	if err != nil {
		return nil, nil, err
	}
	res, err := a.Accept(init.MechToken)
	var ae *APError
	if errors.As(err, &ae) {
		et, terr := a.ErrorToken(ae, 0)
		if terr != nil {
			return nil, nil, terr
		}
		resp := spnego.NegTokenResp{State: spnego.Reject, SupportedMech: mech, ResponseToken: et}
		out, merr := resp.Marshal()
		if merr != nil {
			return nil, nil, merr
		}
		return out, nil, err
	}
	if err != nil {
		return nil, nil, err
	}
	if len(init.MechListMIC) > 0 {
		if err := res.Context.VerifyMIC(mechTypes, init.MechListMIC); err != nil {
			return nil, nil, fmt.Errorf("krb5: the client's mechListMIC: %w", err)
		}
	}
	mic, err := res.Context.MIC(mechTypes)
	if err != nil {
		return nil, nil, err
	}
	resp := spnego.NegTokenResp{State: spnego.AcceptCompleted, SupportedMech: mech, ResponseToken: res.Reply, MechListMIC: mic}
	out, err := resp.Marshal()
	if err != nil {
		return nil, nil, err
	}
	return out, &AcceptedSPNEGO{Accepted: res, Mech: mech, mechTypes: mechTypes}, nil
}

// VerifyClientMIC checks a client's NegTokenResp carrying its mechListMIC
// (sent when the acceptor asked for it).
func (s *AcceptedSPNEGO) VerifyClientMIC(token []byte) error {
	var resp spnego.NegTokenResp
	if err := resp.Unmarshal(token); err != nil {
		return err
	}
	if len(resp.MechListMIC) == 0 {
		return errMalformed("NegTokenResp", "no mechListMIC")
	}
	return s.Context.VerifyMIC(s.mechTypes, resp.MechListMIC)
}

// readCapped reads a whole file of at most max bytes: a keytab or ccache
// is small, and a larger one is refused rather than read.
func readCapped(path, what string, max int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("krb5: %s: %w", what, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("krb5: %s: %w", what, err)
	}
	if len(b) > max {
		clear(b)
		return nil, fmt.Errorf("krb5: %s %s is larger than %d bytes", what, path, max)
	}
	return b, nil
}
