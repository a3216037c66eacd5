package krb5

import (
	"crypto/rand"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/rdpprobe/rdpprobe/negotiate/spnego"
)

// apOptMutualRequired is the AP-OPTIONS bit (RFC 4120 5.5.1).
const apOptMutualRequired = 2

// ErrMutualAuth is wrapped when the server's AP-REP does not prove that it
// holds the service key: nothing secret may go to it then.
var ErrMutualAuth = errors.New("krb5: AP-REP does not prove the server's identity")

// Initiator builds the AP-REQ for a service ticket and verifies the AP-REP
// (RFC 4120 3.2, RFC 4121 4.1). Use once.
type Initiator struct {
	Ticket *Credential
	Flags  GSSFlags         // 0: DefaultGSSFlags
	Now    func() time.Time // nil: time.Now
	Rand   io.Reader        // nil: crypto/rand

	ctime  time.Time
	cusec  int
	subkey types.EncryptionKey
	seq    uint32
	sent   bool
}

func (i *Initiator) now() time.Time {
	if i.Now != nil {
		return i.Now()
	}
	return time.Now()
}

// APReq returns the framed AP-REQ (TOK_ID 01 00) with mutual authentication
// required, the GSS checksum with the flags, a random sequence number and a
// random subkey (so that the acceptor may answer with its own).
func (i *Initiator) APReq() ([]byte, error) {
	if i.Ticket == nil {
		return nil, errors.New("krb5: AP-REQ without a service ticket")
	}
	if i.sent {
		return nil, errors.New("krb5: AP-REQ already built")
	}
	r := i.Rand
	if r == nil {
		r = rand.Reader
	}
	flags := i.Flags
	if flags == 0 {
		flags = DefaultGSSFlags
	}
	var sb [4]byte
	if _, err := io.ReadFull(r, sb[:]); err != nil {
		return nil, fmt.Errorf("krb5: read random: %w", err)
	}
	i.seq = binary.BigEndian.Uint32(sb[:]) & 0x3fffffff
	// The subkey has the session key's etype, except that an RC4 session
	// key gets an AES256 subkey: the context then speaks RFC 4121 tokens.
	subType := i.Ticket.SessionKey.KeyType
	if subType == ETypeRC4 {
		subType = ETypeAES256
	}
	sk, err := randomKey(r, subType)
	if err != nil {
		return nil, err
	}
	i.subkey = sk
	i.ctime, i.cusec = kerberosTime(i.now())
	auth := types.Authenticator{AVNO: 5, CRealm: i.Ticket.CRealm, CName: i.Ticket.CName, Cksum: gssChecksum(flags),
		Cusec: i.cusec, CTime: i.ctime, SubKey: sk, SeqNumber: int64(i.seq)}
	ab, err := auth.Marshal()
	if err != nil {
		return nil, fmt.Errorf("krb5: encode authenticator: %w", err)
	}
	ed, err := encrypt(i.Ticket.SessionKey, usageAPReqAuth, ab, 0)
	clear(ab)
	if err != nil {
		return nil, err
	}
	opts := types.NewKrbFlags()
	types.SetFlag(&opts, apOptMutualRequired)
	ap := messages.APReq{PVNO: 5, MsgType: msgAPReq, APOptions: opts, Ticket: i.Ticket.Ticket, EncryptedAuthenticator: ed}
	b, err := ap.Marshal()
	if err != nil {
		return nil, fmt.Errorf("krb5: encode AP-REQ: %w", err)
	}
	i.sent = true
	return frameGSS(tokAPReq, b), nil
}

// APRep verifies the server's answer (RFC 4120 3.2.5): an AP-REP whose
// EncAPRepPart decrypts under the session key and echoes our ctime and
// cusec. It returns the established Context, protected by the acceptor's
// subkey when it sent one. A KRB-ERROR comes back as *APError.
func (i *Initiator) APRep(token []byte) (*Context, error) {
	if !i.sent {
		return nil, errors.New("krb5: AP-REP before the AP-REQ")
	}
	tokID, msg, err := UnframeGSS(token)
	if err != nil {
		return nil, err
	}
	switch tokID {
	case tokKRBError:
		ke, err := ParseKRBError(msg, i.now())
		if err != nil {
			return nil, err
		}
		return nil, &APError{KRBError: *ke}
	case tokAPRep:
	default:
		return nil, errMalformed("AP-REP", "TOK_ID %04x", tokID)
	}
	rep, err := parseAPRep(msg)
	if err != nil {
		return nil, err
	}
	plain, err := decrypt(i.Ticket.SessionKey, usageAPRepEncPart, rep.EncPart.Cipher, "EncAPRepPart")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMutualAuth, err)
	}
	var enc messages.EncAPRepPart
	if err := unmarshalEncAPRepPart(&enc, plain); err != nil {
		return nil, err
	}
	clear(plain)
	if !enc.CTime.Equal(i.ctime) || enc.Cusec != i.cusec {
		return nil, fmt.Errorf("%w: EncAPRepPart has ctime %s.%06d, the authenticator had %s.%06d", ErrMutualAuth,
			enc.CTime.UTC().Format(time.RFC3339), enc.Cusec, i.ctime.Format(time.RFC3339), i.cusec)
	}
	key, acceptorSubkey := i.subkey, false
	if len(enc.Subkey.KeyValue) > 0 {
		if _, err := getEType(enc.Subkey.KeyType); err != nil {
			return nil, fmt.Errorf("krb5: acceptor subkey: %w", err)
		}
		key, acceptorSubkey = enc.Subkey, true
	}
	ctx := newContext(true, key, acceptorSubkey, uint64(i.seq), uint64(uint32(enc.SequenceNumber)))
	ctx.Flags = i.Flags
	if ctx.Flags == 0 {
		ctx.Flags = DefaultGSSFlags
	}
	ctx.ClientName = strings.Join(i.Ticket.CName.NameString, "/") + "@" + i.Ticket.CRealm
	zero(&enc.Subkey)
	zero(&i.subkey)
	return ctx, nil
}

func parseAPRep(b []byte) (rep *messages.APRep, err error) {
	defer recoverMalformed("AP-REP", &err)
	rep = new(messages.APRep)
	if err := rep.Unmarshal(b); err != nil {
		return nil, errMalformed("AP-REP", "%v", err)
	}
	return rep, nil
}

// ParseAPRep reads a framed or bare AP-REP without decrypting it (for the
// fuzzer and for recordings).
func ParseAPRep(token []byte) (*messages.APRep, error) {
	tokID, msg, err := UnframeGSS(token)
	if err != nil {
		return nil, err
	}
	if tokID != tokAPRep {
		return nil, errMalformed("AP-REP", "TOK_ID %04x", tokID)
	}
	return parseAPRep(msg)
}

func unmarshalEncAPRepPart(p *messages.EncAPRepPart, b []byte) (err error) {
	defer recoverMalformed("EncAPRepPart", &err)
	if err := p.Unmarshal(b); err != nil {
		return errMalformed("EncAPRepPart", "%v", err)
	}
	return nil
}

// ErrNotKerberos is returned when the server's NegTokenResp selects a
// mechanism other than Kerberos (NTLM, say): the caller may start over with
// NTLM, as mstsc does.
var ErrNotKerberos = errors.New("krb5: the server selected a mechanism other than Kerberos")

// errRejected: negState reject without a KRB-ERROR to say why.
var errRejected = errors.New("krb5: the server rejected the SPNEGO negotiation")

// SPNEGOInitiator is Kerberos inside SPNEGO (RFC 4178) the way a Windows
// client sends it in CredSSP: NegTokenInit offering MS-KRB5, KRB5 and NTLM
// with the AP-REQ as the optimistic mechToken; then the server's
// NegTokenResp with the AP-REP, and its mechListMIC checked when sent.
type SPNEGOInitiator struct {
	Initiator

	mechTypes   []byte
	ctx         *Context
	state       spnego.NegState
	selected    asn1.ObjectIdentifier
	sendMIC     bool
	finalIssued bool
}

// InitialToken is the NegTokenInit in its GSS wrapper.
func (s *SPNEGOInitiator) InitialToken() ([]byte, error) {
	ap, err := s.APReq()
	if err != nil {
		return nil, err
	}
	mechs := spnego.WindowsMechTypes()
	if s.mechTypes, err = spnego.MarshalMechTypes(mechs); err != nil {
		return nil, err
	}
	t := spnego.NegTokenInit{MechTypes: mechs, MechToken: ap}
	return t.Marshal()
}

// Accept reads the server's NegTokenResp. reject (with a KRB-ERROR inside,
// as Windows sends it) is an *APError; a non-Kerberos selection is
// ErrNotKerberos. On success the context is established.
func (s *SPNEGOInitiator) Accept(token []byte) error {
	if s.ctx != nil {
		return fmt.Errorf("%w: a server token after the context was established", ErrMalformed)
	}
	var resp spnego.NegTokenResp
	if err := resp.Unmarshal(token); err != nil {
		return err
	}
	s.state = resp.State
	if len(resp.SupportedMech) > 0 {
		s.selected = resp.SupportedMech
		if !spnego.IsKerberos(resp.SupportedMech) {
			return fmt.Errorf("%w: %s", ErrNotKerberos, spnego.MechName(resp.SupportedMech))
		}
	}
	if resp.State == spnego.Reject {
		if len(resp.ResponseToken) > 0 {
			if _, err := s.APRep(resp.ResponseToken); err != nil {
				return err
			}
		}
		return errRejected
	}
	if len(resp.ResponseToken) == 0 {
		return errMalformed("NegTokenResp", "negState %s without the AP-REP", resp.State)
	}
	ctx, err := s.APRep(resp.ResponseToken)
	if err != nil {
		return err
	}
	if len(resp.MechListMIC) > 0 {
		if err := ctx.VerifyMIC(s.mechTypes, resp.MechListMIC); err != nil {
			ctx.Zero()
			return fmt.Errorf("krb5: the server's mechListMIC: %w", err)
		}
	}
	// RFC 4178 5: the initiator sends its MIC when the acceptor asks for it
	// (request-mic) or has not completed; with accept-completed and MS-KRB5,
	// the initiator's first choice, it is optional and Windows sends none.
	s.sendMIC = resp.State == spnego.RequestMIC || resp.State == spnego.AcceptIncomplete
	s.ctx = ctx
	return nil
}

// FinalToken is what goes with pubKeyAuth once the context is established:
// a NegTokenResp with our mechListMIC when the server asked for one, else
// nil.
func (s *SPNEGOInitiator) FinalToken() ([]byte, error) {
	if s.ctx == nil || !s.sendMIC || s.finalIssued {
		return nil, nil
	}
	mic, err := s.ctx.MIC(s.mechTypes)
	if err != nil {
		return nil, err
	}
	s.finalIssued = true
	t := spnego.NegTokenResp{State: spnego.NoState, MechListMIC: mic}
	return t.Marshal()
}

// Context is the established context, nil before.
func (s *SPNEGOInitiator) Context() *Context { return s.ctx }

// Selected is the mechanism the server named in its NegTokenResp.
func (s *SPNEGOInitiator) Selected() asn1.ObjectIdentifier { return s.selected }

// State is the server's last negState.
func (s *SPNEGOInitiator) State() spnego.NegState { return s.state }
