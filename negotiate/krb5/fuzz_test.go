package krb5

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/messages"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/negotiate/spnego"
)

// Seeds shared by f.Add; testdata/fuzz/<FuzzName>/ holds the same and any
// findings. KRB5_WRITE_SEEDS=1 go test -run TestWriteFuzzSeeds rewrites them.

func krbErrorSeeds(tb testing.TB) [][]byte {
	return [][]byte{loadHex(tb, "mit-preauth-required"), loadHex(tb, "mit-preauth-failed"),
		loadHex(tb, "mit-client-revoked"), loadHex(tb, "mit-s-principal-unknown")}
}

func edataSeeds(tb testing.TB) [][]byte {
	out := [][]byte{marshalExtErrorMethodData(negotiate.StatusAccountLockedOut), marshalKerbErrorData(negotiate.StatusAccountDisabled), {0x30, 0x00}}
	for _, b := range krbErrorSeeds(tb) {
		if ke, err := ParseKRBError(b, fixedNow()); err == nil && len(ke.EData.PAData) > 0 {
			for _, pa := range ke.EData.PAData {
				if pa.Type == PAETypeInfo2 {
					out = append(out, pa.Value)
				}
			}
		}
	}
	return out
}

// fuzzPair is a fixed keytab and an initiator whose AP-REQ was sent.
type fuzzPair struct {
	acc   *Acceptor
	ini   *Initiator
	apReq []byte
	apRep []byte
}

func newFuzzPair(tb testing.TB) *fuzzPair {
	kt := testKeytab(tb, "service-secret")
	p := &fuzzPair{acc: &Acceptor{Keytab: kt, Now: fixedNow}, ini: &Initiator{Ticket: testTicket(tb, kt, ETypeAES256), Now: fixedNow}}
	var err error
	if p.apReq, err = p.ini.APReq(); err != nil {
		tb.Fatal(err)
	}
	res, err := p.acc.Accept(p.apReq)
	if err != nil {
		tb.Fatal(err)
	}
	p.apRep = res.Reply
	return p
}

func wrapSeeds(tb testing.TB) (c, s *Context, seeds [][]byte) {
	c, s = contexts(tb)
	w1, _ := c.Wrap([]byte("pubKeyAuth"))
	w2, _ := c.Wrap(nil)
	mic, _ := c.MIC(windowsMechTypes)
	return c, s, [][]byte{w1, w2, mic, w1[:16]}
}

func addAll(f *testing.F, seeds [][]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
}

func wantMalformed(t *testing.T, err error, also ...error) {
	t.Helper()
	if err == nil || errors.Is(err, ErrMalformed) {
		return
	}
	for _, e := range also {
		if errors.Is(err, e) {
			return
		}
	}
	var ae *APError
	if errors.As(err, &ae) {
		return
	}
	t.Fatalf("error is not ErrMalformed: %v", err)
}

func FuzzKRBError(f *testing.F) {
	addAll(f, krbErrorSeeds(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		ke, err := ParseKRBError(b, fixedNow())
		wantMalformed(t, err)
		if err != nil {
			return
		}
		if len(ke.EText) > maxEText {
			t.Fatalf("e-text of %d bytes kept", len(ke.EText))
		}
		_ = (&KDCError{KRBError: *ke}).Error()
		if !ke.ServerTime.IsZero() && (ke.ServerTime.Sub(fixedNow()) > maxPeerClock || fixedNow().Sub(ke.ServerTime) > maxPeerClock) {
			t.Fatalf("server time %v kept", ke.ServerTime)
		}
	})
}

func FuzzEData(f *testing.F) {
	addAll(f, edataSeeds(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		ed, err := ParseEData(b)
		wantMalformed(t, err)
		if err == nil && len(ed.PAData)+len(ed.TypedData) > maxEDataEntries {
			t.Fatalf("%d entries kept", len(ed.PAData)+len(ed.TypedData))
		}
	})
}

func FuzzETypeInfo2(f *testing.F) {
	addAll(f, edataSeeds(f)[3:])
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := ParseETypeInfo2(b)
		wantMalformed(t, err)
		for _, e := range info {
			if len(e.Salt) > maxSalt {
				t.Fatal("salt too long kept")
			}
			// Whatever the KDC offers must not make string-to-key spin or panic.
			if supportedEType(e.EType) && len(e.S2KParams) == 4 && binary.BigEndian.Uint32(e.S2KParams) > 1<<20 {
				if _, err := stringToKey("pw", e); err == nil {
					t.Fatal("huge iteration count accepted")
				}
			}
		}
	})
}

// FuzzAPRep: whatever the server answers to our AP-REQ, the initiator
// either establishes a context that proved itself or says no.
func FuzzAPRep(f *testing.F) {
	p := newFuzzPair(f)
	ae, _ := p.acc.ErrorToken(p.acc.refuse(KRBAPErrSkew, p.ini.Ticket.SName, testRealm, ""), negotiate.StatusTimeDifferenceAtDC)
	addAll(f, [][]byte{p.apRep, ae, krbErrorSeeds(f)[0]})
	f.Fuzz(func(t *testing.T, b []byte) {
		ini := *p.ini
		ctx, err := ini.APRep(b)
		wantMalformed(t, err, ErrMutualAuth)
		if err == nil && !bytes.Equal(b, p.apRep) {
			// Another encoding of the same AP-REP is fine; a forgery is not
			// possible without the session key.
			if _, perr := ParseAPRep(b); perr != nil {
				t.Fatal("a context from an AP-REP that does not parse")
			}
		}
		if ctx != nil {
			ctx.Zero()
		}
	})
}

// FuzzAcceptAPReq: the acceptor on any client token.
func FuzzAcceptAPReq(f *testing.F) {
	p := newFuzzPair(f)
	addAll(f, [][]byte{p.apReq, p.apReq[17:]})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := p.acc.Accept(b)
		wantMalformed(t, err)
	})
}

func FuzzUnwrap(f *testing.F) {
	_, _, seeds := wrapSeeds(f)
	addAll(f, seeds)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, s := contextsCached(t)
		before := s.recvSeq
		plain, err := s.Unwrap(b)
		wantMalformed(t, err, ErrBadToken)
		if err != nil && s.recvSeq != before {
			t.Fatal("a refused token moved the sequence number")
		}
		_ = plain
		s.recvSeq = before
	})
}

func FuzzVerifyMIC(f *testing.F) {
	_, _, seeds := wrapSeeds(f)
	addAll(f, seeds)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, s := contextsCached(t)
		before := s.recvSeq
		err := s.VerifyMIC(windowsMechTypes, b)
		wantMalformed(t, err, ErrBadToken)
		s.recvSeq = before
	})
}

var cachedC, cachedS *Context

// contextsCached is one context pair for a whole fuzzing process: making
// one costs a string-to-key.
func contextsCached(tb testing.TB) (*Context, *Context) {
	if cachedC == nil {
		cachedC, cachedS = contexts(tb)
	}
	return cachedC, cachedS
}

func FuzzUnframeGSS(f *testing.F) {
	p := newFuzzPair(f)
	addAll(f, [][]byte{p.apReq, p.apRep, {0x60, 0x00}})
	f.Fuzz(func(t *testing.T, b []byte) {
		id, msg, err := UnframeGSS(b)
		wantMalformed(t, err)
		if err == nil && len(msg) > len(b) {
			t.Fatalf("TOK_ID %04x with a message longer than the token", id)
		}
	})
}

// FuzzKDCReply: the client's parsing of AS-REP and TGS-REP.
func FuzzKDCReply(f *testing.F) {
	addAll(f, krbErrorSeeds(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		var as messages.ASRep
		wantMalformed(t, unmarshalASRep(&as, b))
		var tgs messages.TGSRep
		wantMalformed(t, unmarshalTGSRep(&tgs, b))
		var enc messages.EncKDCRepPart
		wantMalformed(t, unmarshalEncKDCRepPart(&enc, b))
	})
}

func FuzzReadFramed(f *testing.F) {
	addAll(f, [][]byte{framed([]byte{0x7e, 0x00}), {0x80, 0, 0, 1, 0}, {0, 0, 0, 5, 1}})
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := readFramed(bytes.NewReader(b), 1<<12)
		if err == nil && (len(out) == 0 || len(out) > 1<<12 || len(out) > len(b)) {
			t.Fatalf("%d octets read from %d", len(out), len(b))
		}
	})
}

func FuzzCCache(f *testing.F) {
	addAll(f, [][]byte{buildCCache(f, fixedNow().Add(time.Hour)), {5, 4, 0, 0}})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCCache(b)
		wantMalformed(t, err)
		if err == nil {
			c.Principal()
			if tgt, err := c.TGT(testRealm, fixedNow()); err == nil {
				tgt.Zero()
			}
		}
	})
}

// FuzzSPNEGOResp: the initiator on any server NegTokenResp.
func FuzzSPNEGOResp(f *testing.F) {
	p := newFuzzPair(f)
	good, _ := (&spnego.NegTokenResp{State: spnego.AcceptCompleted, SupportedMech: spnego.OIDMSKerberos, ResponseToken: p.apRep}).Marshal()
	ntlm, _ := (&spnego.NegTokenResp{State: spnego.AcceptIncomplete, SupportedMech: spnego.OIDNTLM, ResponseToken: []byte("NTLMSSP\x00")}).Marshal()
	addAll(f, [][]byte{good, ntlm})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := &SPNEGOInitiator{Initiator: *p.ini}
		s.mechTypes = windowsMechTypes[2:]
		err := s.Accept(b)
		wantMalformed(t, err, ErrMutualAuth, ErrNotKerberos, ErrBadToken, errRejected, spnego.ErrMalformed)
		if err == nil && s.Context() == nil {
			t.Fatal("accepted without a context")
		}
	})
}

// buildCCache writes an MIT ccache (version 4) holding a TGT for alice:
// the format of MIT's ccache_file_format, for tests only.
func buildCCache(tb testing.TB, end time.Time) []byte {
	kt := testKeytab(tb, "service-secret")
	st := testTicket(tb, kt, ETypeAES256)
	tkt, err := st.Ticket.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	var b []byte
	u16 := func(v uint16) { b = binary.BigEndian.AppendUint16(b, v) }
	u32 := func(v uint32) { b = binary.BigEndian.AppendUint32(b, v) }
	data := func(d []byte) { u32(uint32(len(d))); b = append(b, d...) }
	princ := func(nameType uint32, realm string, comps ...string) {
		u32(nameType)
		u32(uint32(len(comps)))
		data([]byte(realm))
		for _, c := range comps {
			data([]byte(c))
		}
	}
	u16(0x0504)
	u16(12) // header: one field, tag 1 (KDC offset), 8 octets
	u16(1)
	u16(8)
	u32(0)
	u32(0)
	princ(1, testRealm, "alice")
	princ(1, testRealm, "alice")
	princ(2, testRealm, "krbtgt", testRealm)
	u16(uint16(ETypeAES256))
	data(bytes.Repeat([]byte{0x42}, 32)) // a dummy key: never a real one in a fixture
	now := uint32(fixedNow().Unix())
	u32(now)
	u32(now)
	u32(uint32(end.Unix()))
	u32(0)
	b = append(b, 0)
	u32(0x40e10000)
	u32(0) // addresses
	u32(0) // authdata
	data(tkt)
	data(nil)
	return b
}

func TestCCacheTGT(t *testing.T) {
	c, err := ParseCCache(buildCCache(t, fixedNow().Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if u, r := c.Principal(); u != "alice" || r != testRealm {
		t.Fatalf("principal %s@%s", u, r)
	}
	if tgt, err := c.TGT(testRealm, fixedNow()); err != nil || tgt.SessionKey.KeyType != ETypeAES256 {
		t.Fatalf("%+v, %v", tgt, err)
	}
	if _, err := c.TGT(testRealm, fixedNow().Add(2*time.Hour)); !errors.Is(err, ErrCCacheNoTGT) {
		t.Fatalf("expired TGT: %v", err)
	}
	if _, err := c.TGT("OTHER.TEST", fixedNow()); !errors.Is(err, ErrCCacheNoTGT) {
		t.Fatalf("other realm: %v", err)
	}
	path := filepath.Join(t.TempDir(), "cc")
	os.WriteFile(path, buildCCache(t, fixedNow().Add(time.Hour)), 0o600)
	if _, err := LoadCCache("FILE:" + path); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCCache("KEYRING:persistent:0"); err == nil {
		t.Fatal("KEYRING: accepted")
	}
}

// TestWriteFuzzSeeds writes the f.Add seeds as corpus files.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("KRB5_WRITE_SEEDS") == "" {
		t.Skip("set KRB5_WRITE_SEEDS=1 to rewrite testdata/fuzz seeds")
	}
	p := newFuzzPair(t)
	_, _, ws := wrapSeeds(t)
	good, _ := (&spnego.NegTokenResp{State: spnego.AcceptCompleted, SupportedMech: spnego.OIDMSKerberos, ResponseToken: p.apRep}).Marshal()
	sets := map[string][][]byte{
		"FuzzKRBError":    krbErrorSeeds(t),
		"FuzzEData":       edataSeeds(t),
		"FuzzETypeInfo2":  edataSeeds(t)[3:],
		"FuzzAPRep":       {p.apRep},
		"FuzzAcceptAPReq": {p.apReq},
		"FuzzUnwrap":      ws,
		"FuzzVerifyMIC":   ws,
		"FuzzUnframeGSS":  {p.apReq, p.apRep},
		"FuzzKDCReply":    krbErrorSeeds(t),
		"FuzzReadFramed":  {framed([]byte{0x7e, 0x00})},
		"FuzzCCache":      {buildCCache(t, fixedNow().Add(time.Hour))},
		"FuzzSPNEGOResp":  {good},
	}
	for name, seeds := range sets {
		dir := filepath.Join("testdata", "fuzz", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, s := range seeds {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%d", i)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
