package rdptest

import (
	"encoding/asn1"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/rdpprobe/rdpprobe/negotiate/krb5"
	"github.com/rdpprobe/rdpprobe/negotiate/ntlm"
	"github.com/rdpprobe/rdpprobe/negotiate/spnego"
)

var fuzzNow = time.Date(2026, 3, 1, 12, 0, 0, 250000000, time.UTC)

func fixedClock() time.Time { return fuzzNow }

// fuzzAcceptor verifies tickets for TERMSRV/localhost@LAB.TEST with keys
// made from a password; fuzzTicket is one such ticket.
func fuzzAcceptor(tb testing.TB) (*krb5.Acceptor, *krb5.Credential) {
	tb.Helper()
	kt := keytab.New()
	if err := kt.AddEntry("TERMSRV/localhost", "LAB.TEST", "rdptest-fuzz", fuzzNow, 2, krb5.ETypeAES256); err != nil {
		tb.Fatal(err)
	}
	cname, sname := types.NewPrincipalName(1, "alice"), types.NewPrincipalName(2, "TERMSRV/localhost")
	tkt, key, err := messages.NewTicket(cname, "LAB.TEST", sname, "LAB.TEST", types.NewKrbFlags(), kt, krb5.ETypeAES256, 2,
		fuzzNow, fuzzNow, fuzzNow.Add(10*time.Hour), fuzzNow.Add(10*time.Hour))
	if err != nil {
		tb.Fatal(err)
	}
	st := &krb5.Credential{CName: cname, CRealm: "LAB.TEST", SName: sname, SRealm: "LAB.TEST", Ticket: tkt, SessionKey: key}
	return &krb5.Acceptor{Keytab: kt, SPN: "TERMSRV/localhost", Now: fixedClock}, st
}

// The KRB-ERROR the server sends is one the client library reads back
// whole, with Windows' skew-recovery e-data on KRB_AP_ERR_SKEW alone.
func TestKRBErrorToken(t *testing.T) {
	at := time.Date(2026, 3, 1, 13, 0, 0, 123456000, time.UTC)
	for _, tt := range []struct {
		code         krb5.ErrorCode
		sname, realm string
		wantSName    string
		wantRealm    string
	}{
		{krb5.KRBAPErrModified, "TERMSRV/localhost", "LAB.TEST", "TERMSRV/localhost", "LAB.TEST"},
		{krb5.KRBAPErrSkew, "TERMSRV/localhost", "LAB.TEST", "TERMSRV/localhost", "LAB.TEST"},
		{krb5.KRBAPErrNotUs, "", "", "unknown", "UNKNOWN"},
	} {
		t.Run(tt.code.String(), func(t *testing.T) {
			e := &krb5.APError{KRBError: krb5.KRBError{Code: tt.code, ServerTime: at, SName: tt.sname, Realm: tt.realm}}
			tok, err := krbErrorToken(e)
			if err != nil {
				t.Fatal(err)
			}
			id, msg, err := krb5.UnframeGSS(tok)
			if err != nil || id != 0x0300 {
				t.Fatalf("TOK_ID %04x, %v", id, err)
			}
			ke, err := krb5.ParseKRBError(msg, at)
			if err != nil {
				t.Fatal(err)
			}
			if ke.Code != tt.code || ke.SName != tt.wantSName || ke.Realm != tt.wantRealm || !ke.ServerTime.Equal(at) {
				t.Errorf("read back %s %s@%s at %s", ke.Code, ke.SName, ke.Realm, ke.ServerTime)
			}
			skew := ke.EData.Form == "KERB-ERROR-DATA" && len(ke.EData.TypedData) == 1 && ke.EData.TypedData[0].Type == kerbAPErrTypeSkewRecovery
			if skew != (tt.code == krb5.KRBAPErrSkew) || (tt.code != krb5.KRBAPErrSkew && ke.EData.Form != "") {
				t.Errorf("e-data %+v", ke.EData)
			}
		})
	}
}

// FuzzAcceptNegTokenInit feeds the server's SPNEGO step whatever a client
// may send first. It never panics; a refused AP-REQ always yields a reject
// carrying a KRB-ERROR the library reads; a verified one an
// accept-completed the library reads.
func FuzzAcceptNegTokenInit(f *testing.F) {
	a, st := fuzzAcceptor(f)
	ini := &krb5.SPNEGOInitiator{Initiator: krb5.Initiator{Ticket: st, Now: fixedClock}}
	good, err := ini.InitialToken()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	ap, err := (&krb5.Initiator{Ticket: st, Now: fixedClock}).APReq()
	if err != nil {
		f.Fatal(err)
	}
	for _, t := range []spnego.NegTokenInit{
		{MechTypes: []asn1.ObjectIdentifier{spnego.OIDKerberos}, MechToken: ap, MechListMIC: []byte{4, 4, 0, 0xff}},
		{MechTypes: []asn1.ObjectIdentifier{spnego.OIDNTLM, spnego.OIDKerberos}, MechToken: (&ntlm.Client{}).Negotiate()},
		{MechTypes: spnego.WindowsMechTypes()},
		{MechTypes: spnego.WindowsMechTypes(), MechToken: ap[:len(ap)/2]},
	} {
		b, err := t.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add((&ntlm.Client{}).Negotiate())
	f.Add([]byte{0x60, 0x80})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, tok []byte) {
		r, err := acceptNegTokenInit(a, tok)
		if err != nil {
			return
		}
		var resp spnego.NegTokenResp
		switch {
		case r.apErr != nil:
			if err := resp.Unmarshal(r.reply); err != nil || resp.State != spnego.Reject || !spnego.IsKerberos(resp.SupportedMech) {
				t.Fatalf("reject %x: %+v, %v", r.reply, resp, err)
			}
			id, msg, err := krb5.UnframeGSS(resp.ResponseToken)
			if err != nil || id != 0x0300 {
				t.Fatalf("responseToken TOK_ID %04x, %v", id, err)
			}
			if ke, err := krb5.ParseKRBError(msg, fuzzNow); err != nil || ke.Code != r.apErr.Code {
				t.Fatalf("KRB-ERROR %+v, %v; refused with %s", ke, err, r.apErr.Code)
			}
		case r.acc != nil:
			out, err := r.acceptCompleted()
			if err != nil {
				t.Fatal(err)
			}
			if err := resp.Unmarshal(out); err != nil || resp.State != spnego.AcceptCompleted || len(resp.MechListMIC) == 0 {
				t.Fatalf("accept-completed %x: %+v, %v", out, resp, err)
			}
		default:
			t.Fatalf("neither accepted nor refused: %+v", r)
		}
	})
}

// What the SPNEGO step makes of each kind of first token.
func TestAcceptNegTokenInit(t *testing.T) {
	a, st := fuzzAcceptor(t)
	marshal := func(n spnego.NegTokenInit) []byte {
		b, err := n.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	apReq := func(now func() time.Time) []byte {
		ap, err := (&krb5.Initiator{Ticket: st, Now: now}).APReq()
		if err != nil {
			t.Fatal(err)
		}
		return ap
	}
	good, err := (&krb5.SPNEGOInitiator{Initiator: krb5.Initiator{Ticket: st, Now: fixedClock}}).InitialToken()
	if err != nil {
		t.Fatal(err)
	}
	late := func() time.Time { return fuzzNow.Add(-time.Hour) }
	for _, tt := range []struct {
		name   string
		tok    []byte
		accept bool
		code   krb5.ErrorCode
		err    error // nil: any error when neither accepted nor refused
		offer  string
	}{
		{name: "windows offer", tok: good, accept: true, offer: "NegTokenInit offering MS-KRB5, KRB5, NTLMSSP, with a Kerberos AP-REQ"},
		{name: "authenticator an hour old", code: krb5.KRBAPErrSkew,
			tok: marshal(spnego.NegTokenInit{MechTypes: spnego.WindowsMechTypes(), MechToken: apReq(late)})},
		{name: "MIC that does not verify",
			tok: marshal(spnego.NegTokenInit{MechTypes: spnego.WindowsMechTypes(), MechToken: apReq(fixedClock), MechListMIC: make([]byte, 28)})},
		{name: "NTLM first", err: errNoKerberosFirst, offer: "NegTokenInit offering NTLMSSP, KRB5",
			tok: marshal(spnego.NegTokenInit{MechTypes: []asn1.ObjectIdentifier{spnego.OIDNTLM, spnego.OIDKerberos}, MechToken: (&ntlm.Client{}).Negotiate()})},
		{name: "no optimistic token", err: errNoKerberosFirst, offer: "NegTokenInit offering MS-KRB5, KRB5, NTLMSSP, no mechToken",
			tok: marshal(spnego.NegTokenInit{MechTypes: spnego.WindowsMechTypes()})},
		{name: "raw NTLMSSP", tok: (&ntlm.Client{}).Negotiate()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := acceptNegTokenInit(a, tt.tok)
			switch {
			case tt.accept:
				if err != nil || r.acc == nil || r.acc.Client != "alice@LAB.TEST" {
					t.Fatalf("%+v, %v: want accepted", r, err)
				}
			case tt.code != 0:
				if err != nil || r.apErr == nil || r.apErr.Code != tt.code || r.reply == nil {
					t.Fatalf("%+v, %v: want refused with %s", r, err, tt.code)
				}
			case tt.err != nil:
				if err != tt.err {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
			default:
				if err == nil {
					t.Fatalf("%+v: want an error", r)
				}
			}
			if tt.offer != "" && (r == nil || r.offer != tt.offer) {
				t.Errorf("offer %q, want %q", r.offer, tt.offer)
			}
		})
	}
}
