package krb5

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/rdpprobe/rdpprobe/negotiate/spnego"
)

const (
	testRealm = "CORP.TEST"
	testSPN   = "TERMSRV/rds01.corp.test"
)

// testKeytab is a service keytab as ktadd would write it, with AES256 and AES128 keys.
func testKeytab(tb testing.TB, password string) *keytab.Keytab {
	tb.Helper()
	kt := keytab.New()
	for _, et := range []int32{ETypeAES256, ETypeAES128} {
		if err := kt.AddEntry(testSPN, testRealm, password, fixedNow(), 3, et); err != nil {
			tb.Fatal(err)
		}
	}
	return kt
}

// testTicket is what a KDC would hand alice for testSPN.
func testTicket(tb testing.TB, kt *keytab.Keytab, etype int32) *Credential {
	tb.Helper()
	cname := principal(nameTypePrincipal, "alice")
	sname := principal(nameTypeSrvInst, testSPN)
	now := fixedNow()
	tkt, key, err := messages.NewTicket(cname, testRealm, sname, testRealm, types.NewKrbFlags(), kt, etype, 3,
		now, now, now.Add(10*time.Hour), now.Add(10*time.Hour))
	if err != nil {
		tb.Fatal(err)
	}
	return &Credential{CName: cname, CRealm: testRealm, SName: sname, SRealm: testRealm, Ticket: tkt, SessionKey: key}
}

// contexts is an established initiator/acceptor pair.
func contexts(tb testing.TB) (client, server *Context) {
	tb.Helper()
	kt := testKeytab(tb, "service-secret")
	ini := &Initiator{Ticket: testTicket(tb, kt, ETypeAES256), Now: fixedNow}
	ap, err := ini.APReq()
	if err != nil {
		tb.Fatal(err)
	}
	res, err := (&Acceptor{Keytab: kt, Now: fixedNow}).Accept(ap)
	if err != nil {
		tb.Fatal(err)
	}
	cctx, err := ini.APRep(res.Reply)
	if err != nil {
		tb.Fatal(err)
	}
	return cctx, res.Context
}

func TestSPNEGOOffline(t *testing.T) {
	kt := testKeytab(t, "service-secret")
	for _, et := range []int32{ETypeAES256, ETypeAES128, ETypeRC4} {
		t.Run(ETypeName(et), func(t *testing.T) {
			kt := kt
			if et == ETypeRC4 {
				kt = testKeytab(t, "service-secret")
				if err := kt.AddEntry(testSPN, testRealm, "service-secret", fixedNow(), 3, ETypeRC4); err != nil {
					t.Fatal(err)
				}
			}
			runSPNEGOOffline(t, testTicket(t, kt, et), &Acceptor{Keytab: kt, SPN: testSPN, Now: fixedNow})
		})
	}
}

func runSPNEGOOffline(t *testing.T, st *Credential, acc *Acceptor) {
	ini := &SPNEGOInitiator{Initiator: Initiator{Ticket: st, Now: fixedNow}}
	init, err := ini.InitialToken()
	if err != nil {
		t.Fatal(err)
	}
	// Windows' NegTokenInit: the wrapper, SPNEGO, then MS-KRB5, KRB5, NTLM.
	want := []byte{0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02}
	if init[0] != 0x60 || !bytes.Contains(init, want) || !bytes.Contains(init, windowsMechTypes) {
		t.Fatalf("NegTokenInit % x", init[:48])
	}
	reply, res, err := acc.AcceptSPNEGO(init)
	if err != nil {
		t.Fatal(err)
	}
	var resp spnego.NegTokenResp
	if err := resp.Unmarshal(reply); err != nil || resp.State != spnego.AcceptCompleted || !resp.SupportedMech.Equal(spnego.OIDMSKerberos) || len(resp.MechListMIC) == 0 {
		t.Fatalf("NegTokenResp %+v, %v", resp, err)
	}
	if err := ini.Accept(reply); err != nil {
		t.Fatal(err)
	}
	c, s := ini.Context(), res.Context
	if c.KeyEType == ETypeRC4 || s.KeyEType != c.KeyEType {
		t.Fatalf("context etypes %s / %s: an RC4 ticket still gets an AES subkey", ETypeName(c.KeyEType), ETypeName(s.KeyEType))
	}
	roundTrips(t, c, s)
}

// windowsMechTypes is mechTypes [0] as a Windows client sends it.
var windowsMechTypes = []byte{0xa0, 0x24, 0x30, 0x22,
	0x06, 0x09, 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02,
	0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02,
	0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a}

func roundTrips(t *testing.T, c, s *Context) {
	t.Helper()
	for _, msg := range [][]byte{[]byte("pubKeyAuth"), nil, bytes.Repeat([]byte{7}, 600)} {
		w, err := c.Wrap(msg)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.Unwrap(w); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("acceptor unwrap %q, %v", got, err)
		}
		w, err = s.Wrap(msg)
		if err != nil {
			t.Fatal(err)
		}
		if w[2] != flagSentByAcceptor|flagSealed|flagAcceptorSubkey {
			t.Errorf("acceptor wrap flags %#x", w[2])
		}
		if got, err := c.Unwrap(w); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("initiator unwrap %q, %v", got, err)
		}
	}
}

// Any RRC from the peer is accepted (Windows sends 28, MIT 0 for the
// acceptor; RFC 4121 allows any), and so is Windows' rotation by RRC+EC.
func TestUnwrapAnyRRC(t *testing.T) {
	c, s := contexts(t)
	for _, rrc := range []uint16{0, 12, 28, 29, 1000} {
		s.RRC = rrc
		w, err := s.Wrap([]byte("hello"))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := c.Unwrap(w); err != nil || string(got) != "hello" {
			t.Fatalf("RRC %d: %q, %v", rrc, got, err)
		}
	}
}

func TestUnwrapRefuses(t *testing.T) {
	c, s := contexts(t)
	w, err := c.Wrap([]byte("pubKeyAuth"))
	if err != nil {
		t.Fatal(err)
	}
	mutate := func(f func(b []byte)) []byte {
		b := append([]byte{}, w...)
		f(b)
		return b
	}
	tests := map[string][]byte{
		"flipped ciphertext":    mutate(func(b []byte) { b[len(b)-1] ^= 1 }),
		"flipped sequence":      mutate(func(b []byte) { b[15] ^= 1 }),
		"acceptor flag":         mutate(func(b []byte) { b[2] |= flagSentByAcceptor }),
		"no acceptor subkey":    mutate(func(b []byte) { b[2] &^= flagAcceptorSubkey }),
		"wrong RRC":             mutate(func(b []byte) { b[7] = 27 }),
		"not a wrap":            mutate(func(b []byte) { b[0] = 4 }),
		"short":                 w[:20],
		"header only":           w[:16],
		"integrity with no sum": mutate(func(b []byte) { b[2] &^= flagSealed }),
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := s.Unwrap(tok); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	// Our own token back to us: the direction flag says no.
	if _, err := c.Unwrap(w); err == nil {
		t.Fatal("the initiator accepted its own token")
	}
	if _, err := s.Unwrap(w); err != nil {
		t.Fatalf("the good token after the refusals: %v", err)
	}
	if _, err := s.Unwrap(w); err == nil {
		t.Fatal("a replayed token was accepted")
	}
}

func TestMIC(t *testing.T) {
	c, s := contexts(t)
	mic, err := c.MIC(windowsMechTypes)
	if err != nil {
		t.Fatal(err)
	}
	if len(mic) != 28 || mic[0] != 4 || mic[1] != 4 {
		t.Fatalf("MIC token % x", mic)
	}
	if err := s.VerifyMIC(windowsMechTypes[1:], mic); !errors.Is(err, ErrBadToken) {
		t.Fatalf("MIC over other text: %v", err)
	}
	if err := s.VerifyMIC(windowsMechTypes, mic); err != nil {
		t.Fatal(err)
	}
}

func TestAcceptorRefuses(t *testing.T) {
	kt := testKeytab(t, "service-secret")
	st := testTicket(t, kt, ETypeAES256)
	tests := []struct {
		name string
		acc  *Acceptor
		now  func() time.Time
		code ErrorCode
	}{
		// A keytab with another password: a stale machine password, or the SPN on two accounts.
		{"stale key", &Acceptor{Keytab: testKeytab(t, "other-secret")}, fixedNow, KRBAPErrModified},
		{"another SPN", &Acceptor{Keytab: kt, SPN: "TERMSRV/other"}, fixedNow, KRBAPErrNotUs},
		{"client clock 10 min late", &Acceptor{Keytab: kt}, func() time.Time { return fixedNow().Add(-10 * time.Minute) }, KRBAPErrSkew},
		{"ticket expired", &Acceptor{Keytab: kt, Now: func() time.Time { return fixedNow().Add(11 * time.Hour) }},
			func() time.Time { return fixedNow().Add(11 * time.Hour) }, KRBAPErrTktExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.acc.Now == nil {
				tt.acc.Now = fixedNow
			}
			ini := &SPNEGOInitiator{Initiator: Initiator{Ticket: st, Now: tt.now}}
			init, err := ini.InitialToken()
			if err != nil {
				t.Fatal(err)
			}
			reply, _, err := tt.acc.AcceptSPNEGO(init)
			var ae *APError
			if !errors.As(err, &ae) || ae.Code != tt.code {
				t.Fatalf("acceptor: %v, want %s", err, tt.code)
			}
			// The client reads the reject and the KRB-ERROR inside it.
			err = ini.Accept(reply)
			if !errors.As(err, &ae) || ae.Code != tt.code {
				t.Fatalf("initiator: %v, want *APError %s", err, tt.code)
			}
			if tt.code == KRBAPErrSkew {
				if d, ok := ae.Skew(); !ok || d < 9*time.Minute || d > 11*time.Minute {
					t.Errorf("skew %v, %v: want the server's clock 10 min ahead", d, ok)
				}
			}
		})
	}
}

// An AP-REP that does not echo the authenticator's time is no proof.
func TestAPRepMutualFailure(t *testing.T) {
	kt := testKeytab(t, "service-secret")
	st := testTicket(t, kt, ETypeAES256)
	ini := &Initiator{Ticket: st, Now: fixedNow}
	if _, err := ini.APReq(); err != nil {
		t.Fatal(err)
	}
	sub, _ := randomKey(&countRand{}, ETypeAES256)
	rep, err := marshalAPRep(st.SessionKey, messages.EncAPRepPart{CTime: fixedNow().Add(time.Second).Truncate(time.Second), Cusec: 1, Subkey: sub, SequenceNumber: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ini.APRep(frameGSS(tokAPRep, rep)); !errors.Is(err, ErrMutualAuth) {
		t.Fatalf("got %v, want ErrMutualAuth", err)
	}
	// Under another key: no proof either.
	other, _ := randomKey(&countRand{}, ETypeAES256)
	rep, _ = marshalAPRep(other, messages.EncAPRepPart{CTime: ini.ctime, Cusec: ini.cusec})
	if _, err := ini.APRep(rep); !errors.Is(err, ErrMutualAuth) {
		t.Fatalf("got %v, want ErrMutualAuth", err)
	}
}

// The authenticator checksum of RFC 4121 4.1.1 as Windows writes it.
func TestGSSChecksum(t *testing.T) {
	c := gssChecksum(DefaultGSSFlags | GSSDeleg)
	if c.CksumType != 0x8003 || len(c.Checksum) != 24 || binary.LittleEndian.Uint32(c.Checksum) != 16 ||
		binary.LittleEndian.Uint32(c.Checksum[20:]) != 0x3e {
		t.Fatalf("checksum %d % x", c.CksumType, c.Checksum)
	}
	if f, err := parseGSSChecksum(c); err != nil || f != DefaultGSSFlags {
		t.Fatalf("flags %#x, %v", f, err)
	}
}
