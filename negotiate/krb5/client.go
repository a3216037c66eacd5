package krb5

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Message types and key usages of RFC 4120 (5.10, 7.5.1, 7.5.7).
const (
	msgASReq  = 10
	msgASRep  = 11
	msgTGSReq = 12
	msgTGSRep = 13
	msgAPReq  = 14
	msgAPRep  = 15
	msgError  = 30

	usagePAEncTimestamp = 1
	usageKDCRepTicket   = 2
	usageASRepEncPart   = 3
	usageTGSReqCksum    = 6
	usageTGSReqAuth     = 7
	usageTGSRepEncPart  = 8
	usageAPReqCksum     = 10
	usageAPReqAuth      = 11
	usageAPRepEncPart   = 12

	nameTypePrincipal = 1 // KRB_NT_PRINCIPAL
	nameTypeSrvInst   = 2 // KRB_NT_SRV_INST

	kdcOptForwardable = 1 // KDCOptions bits (RFC 4120 5.4.1)
)

// ticketLifetime is the end time we ask for; the KDC shortens it to its policy.
const ticketLifetime = 10 * time.Hour

// ErrPreauthOnce is returned by a second ASWithPreauth on one Client: a
// PA-ENC-TIMESTAMP is a logon attempt, and a wrong one is a bad-password
// count at the KDC that must never be repeated behind the caller's back.
var ErrPreauthOnce = errors.New("krb5: PA-ENC-TIMESTAMP already sent once by this client; refusing to send it again")

// ErrWrongPassword is wrapped when an AS-REP does not decrypt under the
// password's key (a KDC that does not require pre-authentication answers
// anyone; only the client can tell the password was wrong).
var ErrWrongPassword = errors.New("krb5: AS-REP does not decrypt with the password's key")

// ErrNoCommonEType is returned when the KDC's PA-ETYPE-INFO2 offers no etype
// this client supports (AES256, AES128, RC4-HMAC): nothing was sent.
var ErrNoCommonEType = errors.New("krb5: the KDC offers no encryption type we support")

// Credential is a ticket and its session key, from a KDC or a ccache.
type Credential struct {
	CName      types.PrincipalName
	CRealm     string
	SName      types.PrincipalName
	SRealm     string
	Ticket     messages.Ticket
	SessionKey types.EncryptionKey `json:"-"`
	AuthTime   time.Time
	StartTime  time.Time
	EndTime    time.Time
	// KeyExpiration is when the password expires, when the KDC said (AS only).
	KeyExpiration time.Time
}

// Zero overwrites the session key.
func (c *Credential) Zero() {
	if c != nil {
		zero(&c.SessionKey)
	}
}

// PreauthInfo is what the AS-REQ without pre-authentication taught.
type PreauthInfo struct {
	// Required is true when the KDC answered KDC_ERR_PREAUTH_REQUIRED (as
	// Active Directory does); false when it sent an AS-REP straight away.
	Required bool
	Offered  []ETypeInfo2Entry // the KDC's PA-ETYPE-INFO2, in its order
	Chosen   ETypeInfo2Entry   // what the key is derived with
	// RC4Only: the KDC offered no AES key for the account, so the logon
	// uses RC4-HMAC (a finding: the account or the domain lacks AES keys).
	RC4Only bool

	asRep   []byte // the AS-REP when pre-authentication was not required
	asNonce int    // and the nonce of the AS-REQ it answers
}

// Client is the Kerberos client side (RFC 4120 3.1, 3.3) as explicit steps:
// ASWithoutPreauth, ASWithPreauth (at most once), TGS. No step is repeated
// or retried behind the caller's back; ServiceTicket runs them in order.
// With a CCache, AS is skipped and no password is needed. Not safe for
// concurrent use.
type Client struct {
	Realm    string // e.g. "CORP.EXAMPLE.COM"; from the ccache when empty
	User     string // the principal without realm: "alice", or "host/name"
	Password string `json:"-"`
	CCache   *CCache

	Transport Transport
	Now       func() time.Time // nil: time.Now
	Rand      io.Reader        // nil: crypto/rand
	ETypes    []int32          // nil: AES256, AES128, RC4-HMAC (RC4 only if nothing else is offered)

	// Exchanges lists every KDC exchange made, in order.
	Exchanges []Exchange
	// Preauth is what the first AS-REQ learnt.
	Preauth *PreauthInfo

	preauthSent bool
	tgt         *Credential
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) rand() io.Reader {
	if c.Rand != nil {
		return c.Rand
	}
	return rand.Reader
}

func (c *Client) etypes() []int32 {
	if len(c.ETypes) > 0 {
		return c.ETypes
	}
	return defaultETypes
}

func (c *Client) nonce() (int, error) {
	var b [4]byte
	if _, err := io.ReadFull(c.rand(), b[:]); err != nil {
		return 0, fmt.Errorf("krb5: read random: %w", err)
	}
	return int(binary.BigEndian.Uint32(b[:]) & 0x7fffffff), nil
}

// principal splits "a/b" into a PrincipalName of the given type.
func principal(nameType int32, name string) types.PrincipalName {
	return types.PrincipalName{NameType: nameType, NameString: strings.Split(name, "/")}
}

func (c *Client) cname() types.PrincipalName { return principal(nameTypePrincipal, c.User) }

// kerberosTime is the time as KerberosTime can carry it: UTC, whole seconds.
func kerberosTime(t time.Time) (time.Time, int) {
	t = t.UTC()
	return t.Truncate(time.Second), t.Nanosecond() / 1000
}

func (c *Client) asReq(pa []types.PAData) (messages.ASReq, error) {
	nonce, err := c.nonce()
	if err != nil {
		return messages.ASReq{}, err
	}
	now, _ := kerberosTime(c.now())
	opts := types.NewKrbFlags()
	types.SetFlag(&opts, kdcOptForwardable)
	return messages.ASReq{KDCReqFields: messages.KDCReqFields{
		PVNO: 5, MsgType: msgASReq, PAData: pa,
		ReqBody: messages.KDCReqBody{
			KDCOptions: opts,
			CName:      c.cname(),
			Realm:      c.Realm,
			SName:      principal(nameTypeSrvInst, "krbtgt/"+c.Realm),
			Till:       now.Add(ticketLifetime),
			Nonce:      nonce,
			EType:      c.etypes(),
		},
	}}, nil
}

// exchange sends a request and sorts the reply: the expected message, or a
// KRB-ERROR as *KDCError.
func (c *Client) exchange(ctx context.Context, step Step, req []byte, once bool, want int) ([]byte, Exchange, error) {
	reply, ex, err := c.Transport.roundTrip(ctx, step, req, once)
	if err != nil {
		return nil, ex, err
	}
	c.Exchanges = append(c.Exchanges, ex)
	switch {
	case len(reply) > 0 && reply[0] == 0x60|0x20|msgError:
		ke, err := ParseKRBError(reply, c.now())
		if err != nil {
			return nil, ex, fmt.Errorf("krb5: %s to KDC %s: %w", step, ex.KDC, err)
		}
		return nil, ex, &KDCError{Step: step, KDC: ex.KDC, KRBError: *ke}
	case len(reply) > 0 && reply[0] == byte(0x60|0x20|want):
		return reply, ex, nil
	}
	return nil, ex, fmt.Errorf("krb5: %s to KDC %s: %w", step, ex.KDC, errMalformed("KDC reply", "neither the reply nor a KRB-ERROR (first octet %#02x)", firstOctet(reply)))
}

func firstOctet(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// ASWithoutPreauth sends an AS-REQ without pre-authentication (RFC 4120
// 3.1.1). Its only purpose is to learn the salt and etypes from
// KDC_ERR_PREAUTH_REQUIRED's PA-ETYPE-INFO2: no secret is sent, so it is
// not a logon attempt and the KDC counts no failure. A KDC that does not
// require pre-authentication answers with an AS-REP, kept for
// ASWithPreauth to decrypt. Any other KRB-ERROR (unknown principal,
// revoked, expired) is returned as *KDCError.
func (c *Client) ASWithoutPreauth(ctx context.Context) (*PreauthInfo, error) {
	if c.User == "" || c.Realm == "" {
		return nil, errors.New("krb5: AS-REQ needs a user and a realm")
	}
	req, err := c.asReq(nil)
	if err != nil {
		return nil, err
	}
	b, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("krb5: encode AS-REQ: %w", err)
	}
	reply, _, err := c.exchange(ctx, StepASNoPreauth, b, false, msgASRep)
	var ke *KDCError
	switch {
	case err == nil:
		var rep messages.ASRep
		if err := unmarshalASRep(&rep, reply); err != nil {
			return nil, err
		}
		info := &PreauthInfo{asRep: reply, asNonce: req.ReqBody.Nonce}
		info.Offered = etypeInfoOf(rep.PAData)
		chosen, ok := chooseEType(info.Offered, rep.EncPart.EType)
		if !ok {
			chosen = ETypeInfo2Entry{EType: rep.EncPart.EType}
		}
		info.Chosen = c.withDefaultSalt(chosen)
		info.RC4Only = info.Chosen.EType == ETypeRC4
		c.Preauth = info
		return info, nil
	case errors.As(err, &ke) && ke.Code == KDCErrPreauthRequired:
		info := &PreauthInfo{Required: true, Offered: ke.EData.ETypeInfo2}
		chosen, ok := chooseEType(info.Offered, 0)
		if !ok {
			// MIT says so with an empty PA-ETYPE-INFO2 (Windows with
			// KDC_ERR_ETYPE_NOSUPP): the KDC's error stays reachable.
			return nil, fmt.Errorf("%w (offered: %s): %w", ErrNoCommonEType, etypeList(info.Offered), ke)
		}
		info.Chosen = c.withDefaultSalt(chosen)
		info.RC4Only = info.Chosen.EType == ETypeRC4
		c.Preauth = info
		return info, nil
	}
	return nil, err
}

func etypeList(es []ETypeInfo2Entry) string {
	if len(es) == 0 {
		return "none"
	}
	names := make([]string, len(es))
	for i, e := range es {
		names[i] = ETypeName(e.EType)
	}
	return strings.Join(names, ", ")
}

// chooseEType takes the KDC's first AES offer, and RC4-HMAC only if it
// offered nothing else. want, when set, is the etype of an AS-REP already
// received.
func chooseEType(offered []ETypeInfo2Entry, want int32) (ETypeInfo2Entry, bool) {
	var rc4 *ETypeInfo2Entry
	for i, e := range offered {
		if want != 0 && e.EType != want {
			continue
		}
		switch e.EType {
		case ETypeAES256, ETypeAES128:
			return e, true
		case ETypeRC4:
			if rc4 == nil {
				rc4 = &offered[i]
			}
		}
	}
	if rc4 != nil {
		return *rc4, true
	}
	return ETypeInfo2Entry{}, false
}

// withDefaultSalt fills the salt RFC 4120 4 defines when the KDC sent none:
// the realm, then the name's components.
func (c *Client) withDefaultSalt(e ETypeInfo2Entry) ETypeInfo2Entry {
	if !e.HasSalt {
		e.Salt = c.Realm + strings.Join(c.cname().NameString, "")
	}
	return e
}

func etypeInfoOf(pas []types.PAData) []ETypeInfo2Entry {
	for _, pa := range pas {
		if pa.PADataType == PAETypeInfo2 {
			if info, err := ParseETypeInfo2(pa.PADataValue); err == nil {
				return info
			}
		}
	}
	return nil
}

func unmarshalASRep(rep *messages.ASRep, b []byte) (err error) {
	defer recoverMalformed("AS-REP", &err)
	if err := rep.Unmarshal(b); err != nil {
		return errMalformed("AS-REP", "%v", err)
	}
	return nil
}

func unmarshalTGSRep(rep *messages.TGSRep, b []byte) (err error) {
	defer recoverMalformed("TGS-REP", &err)
	if err := rep.Unmarshal(b); err != nil {
		return errMalformed("TGS-REP", "%v", err)
	}
	return nil
}

func unmarshalEncKDCRepPart(p *messages.EncKDCRepPart, b []byte) (err error) {
	defer recoverMalformed("EncKDCRepPart", &err)
	if err := p.Unmarshal(b); err != nil {
		return errMalformed("EncKDCRepPart", "%v", err)
	}
	return nil
}

// ASWithPreauth sends the AS-REQ with PA-ENC-TIMESTAMP (RFC 4120 5.2.7.2)
// under the key ASWithoutPreauth's salt gives, and takes the TGT. It is
// the logon attempt: at most once per Client (ErrPreauthOnce), and only to
// the first KDC that may have received it. A wrong password is a
// KDC_ERR_PREAUTH_FAILED *KDCError.
func (c *Client) ASWithPreauth(ctx context.Context) error {
	if c.Preauth == nil {
		return errors.New("krb5: ASWithPreauth before ASWithoutPreauth: the salt and etype are not known")
	}
	if c.tgt != nil {
		return nil
	}
	key, err := stringToKey(c.Password, c.Preauth.Chosen)
	if err != nil {
		return err
	}
	defer zero(&key)
	if !c.Preauth.Required {
		// The KDC already answered; nothing more is sent.
		var rep messages.ASRep
		if err := unmarshalASRep(&rep, c.Preauth.asRep); err != nil {
			return err
		}
		return c.takeASRep(&rep, key, c.Preauth.asNonce)
	}
	if c.preauthSent {
		return ErrPreauthOnce
	}
	ts, usec := kerberosTime(c.now())
	tsEnc, err := asn1.Marshal(types.PAEncTSEnc{PATimestamp: ts, PAUSec: usec})
	if err != nil {
		return fmt.Errorf("krb5: encode PA-ENC-TS-ENC: %w", err)
	}
	ed, err := encrypt(key, usagePAEncTimestamp, tsEnc, 0)
	if err != nil {
		return err
	}
	edb, err := ed.Marshal()
	if err != nil {
		return fmt.Errorf("krb5: encode PA-ENC-TIMESTAMP: %w", err)
	}
	req, err := c.asReq([]types.PAData{{PADataType: PAEncTimestamp, PADataValue: edb}})
	if err != nil {
		return err
	}
	b, err := req.Marshal()
	if err != nil {
		return fmt.Errorf("krb5: encode AS-REQ: %w", err)
	}
	c.preauthSent = true // before the send: a failed send may still have been counted
	reply, _, err := c.exchange(ctx, StepASPreauth, b, true, msgASRep)
	if err != nil {
		return err
	}
	var rep messages.ASRep
	if err := unmarshalASRep(&rep, reply); err != nil {
		return err
	}
	return c.takeASRep(&rep, key, req.ReqBody.Nonce)
}

// takeASRep decrypts and checks an AS-REP (RFC 4120 3.1.5) and keeps its TGT.
func (c *Client) takeASRep(rep *messages.ASRep, key types.EncryptionKey, nonce int) error {
	if rep.EncPart.EType != key.KeyType {
		return fmt.Errorf("krb5: AS-REP encrypted with %s, our key is %s", ETypeName(rep.EncPart.EType), ETypeName(key.KeyType))
	}
	plain, err := decrypt(key, usageASRepEncPart, rep.EncPart.Cipher, "AS-REP enc-part")
	if err != nil {
		if errors.Is(err, errIntegrity) {
			return ErrWrongPassword
		}
		return err
	}
	var enc messages.EncKDCRepPart
	if err := unmarshalEncKDCRepPart(&enc, plain); err != nil {
		return err
	}
	clear(plain)
	if enc.Nonce != nonce {
		return errors.New("krb5: AS-REP nonce differs from the AS-REQ's: not an answer to our request")
	}
	if !strings.EqualFold(rep.CRealm, c.Realm) || !samePrincipal(rep.CName, c.cname()) {
		return fmt.Errorf("krb5: AS-REP is for %s@%s, not %s@%s", rep.CName.PrincipalNameString(), rep.CRealm, c.User, c.Realm)
	}
	if len(enc.SName.NameString) != 2 || !strings.EqualFold(enc.SName.NameString[0], "krbtgt") {
		return fmt.Errorf("krb5: AS-REP ticket is for %s, not krbtgt", enc.SName.PrincipalNameString())
	}
	if _, err := getEType(enc.Key.KeyType); err != nil {
		return fmt.Errorf("krb5: TGT session key: %w", err)
	}
	c.tgt = &Credential{CName: rep.CName, CRealm: rep.CRealm, SName: enc.SName, SRealm: enc.SRealm,
		Ticket: rep.Ticket, SessionKey: enc.Key, AuthTime: enc.AuthTime, StartTime: enc.StartTime,
		EndTime: enc.EndTime, KeyExpiration: enc.KeyExpiration}
	return nil
}

func samePrincipal(a, b types.PrincipalName) bool {
	if len(a.NameString) != len(b.NameString) {
		return false
	}
	for i := range a.NameString {
		if !strings.EqualFold(a.NameString[i], b.NameString[i]) {
			return false
		}
	}
	return true
}

// TGT is the ticket-granting ticket from the AS exchange or the ccache.
func (c *Client) TGT() *Credential { return c.tgt }

// TGS asks the KDC for a service ticket for spn ("TERMSRV/host") with the
// TGT (RFC 4120 3.3). KDC_ERR_S_PRINCIPAL_UNKNOWN (no such SPN) comes back
// as *KDCError.
func (c *Client) TGS(ctx context.Context, spn string) (*Credential, error) {
	if c.tgt == nil {
		if err := c.loadCCache(); err != nil {
			return nil, err
		}
	}
	tgt := c.tgt
	if spn == "" || strings.Contains(spn, "@") {
		return nil, fmt.Errorf("krb5: SPN %q must be service/host, without a realm", spn)
	}
	nonce, err := c.nonce()
	if err != nil {
		return nil, err
	}
	now := c.now()
	kt, _ := kerberosTime(now)
	opts := types.NewKrbFlags()
	types.SetFlag(&opts, kdcOptForwardable)
	body := messages.KDCReqBody{
		KDCOptions: opts,
		Realm:      tgt.SRealm,
		SName:      principal(nameTypeSrvInst, spn),
		Till:       kt.Add(ticketLifetime),
		Nonce:      nonce,
		EType:      c.etypes(),
	}
	bodyBytes, err := body.Marshal()
	if err != nil {
		return nil, fmt.Errorf("krb5: encode TGS-REQ body: %w", err)
	}
	et, err := getEType(tgt.SessionKey.KeyType)
	if err != nil {
		return nil, err
	}
	sum, err := et.GetChecksumHash(tgt.SessionKey.KeyValue, bodyBytes, usageTGSReqCksum)
	if err != nil {
		return nil, fmt.Errorf("krb5: TGS-REQ checksum: %w", err)
	}
	ctime, cusec := kerberosTime(now)
	auth := types.Authenticator{AVNO: 5, CRealm: tgt.CRealm, CName: tgt.CName,
		Cksum: types.Checksum{CksumType: et.GetHashID(), Checksum: sum}, CTime: ctime, Cusec: cusec}
	ab, err := auth.Marshal()
	if err != nil {
		return nil, fmt.Errorf("krb5: encode authenticator: %w", err)
	}
	ed, err := encrypt(tgt.SessionKey, usageTGSReqAuth, ab, 0)
	if err != nil {
		return nil, err
	}
	ap := messages.APReq{PVNO: 5, MsgType: msgAPReq, APOptions: types.NewKrbFlags(), Ticket: tgt.Ticket, EncryptedAuthenticator: ed}
	apb, err := ap.Marshal()
	if err != nil {
		return nil, fmt.Errorf("krb5: encode PA-TGS-REQ: %w", err)
	}
	req := messages.TGSReq{KDCReqFields: messages.KDCReqFields{PVNO: 5, MsgType: msgTGSReq,
		PAData: types.PADataSequence{{PADataType: PATGSReq, PADataValue: apb}}, ReqBody: body}}
	b, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("krb5: encode TGS-REQ: %w", err)
	}
	reply, _, err := c.exchange(ctx, StepTGS, b, false, msgTGSRep)
	if err != nil {
		return nil, err
	}
	var rep messages.TGSRep
	if err := unmarshalTGSRep(&rep, reply); err != nil {
		return nil, err
	}
	plain, err := decrypt(tgt.SessionKey, usageTGSRepEncPart, rep.EncPart.Cipher, "TGS-REP enc-part")
	if err != nil {
		return nil, err
	}
	var enc messages.EncKDCRepPart
	if err := unmarshalEncKDCRepPart(&enc, plain); err != nil {
		return nil, err
	}
	clear(plain)
	if enc.Nonce != nonce {
		return nil, errors.New("krb5: TGS-REP nonce differs from the TGS-REQ's: not an answer to our request")
	}
	if !samePrincipal(enc.SName, body.SName) {
		return nil, fmt.Errorf("krb5: TGS-REP ticket is for %s, not %s", enc.SName.PrincipalNameString(), spn)
	}
	if _, err := getEType(enc.Key.KeyType); err != nil {
		return nil, fmt.Errorf("krb5: service ticket session key: %w", err)
	}
	return &Credential{CName: rep.CName, CRealm: rep.CRealm, SName: enc.SName, SRealm: enc.SRealm,
		Ticket: rep.Ticket, SessionKey: enc.Key, AuthTime: enc.AuthTime, StartTime: enc.StartTime, EndTime: enc.EndTime}, nil
}

// ServiceTicket runs the logon as a straight line: with a ccache, TGS only
// (one KDC exchange, no password); else AS without pre-authentication, AS
// with PA-ENC-TIMESTAMP (once), TGS: at most three exchanges.
func (c *Client) ServiceTicket(ctx context.Context, spn string) (*Credential, error) {
	if c.tgt == nil && c.CCache == nil {
		if c.Preauth == nil {
			if _, err := c.ASWithoutPreauth(ctx); err != nil {
				return nil, err
			}
		}
		if err := c.ASWithPreauth(ctx); err != nil {
			return nil, err
		}
	}
	return c.TGS(ctx, spn)
}

// Zero overwrites the password copy and the TGT's session key.
func (c *Client) Zero() {
	c.Password = ""
	c.tgt.Zero()
	if c.CCache != nil {
		c.CCache.Zero()
	}
}

func (c *Client) loadCCache() error {
	if c.CCache == nil {
		return errors.New("krb5: TGS-REQ without a TGT: run the AS exchange or give a ccache")
	}
	user, realm := c.CCache.Principal()
	if c.Realm == "" {
		c.Realm = realm
	}
	if c.User == "" {
		c.User = user
	}
	tgt, err := c.CCache.TGT(c.Realm, c.now())
	if err != nil {
		return err
	}
	c.tgt = tgt
	return nil
}
