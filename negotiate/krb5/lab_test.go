package krb5

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/internal/labtest"
)

// labClient is a Client for an account of the lab's KDC.
func labClient(k labtest.KerberosLab, user string) *Client {
	return &Client{Realm: k.Realm, User: user, Password: k.Password, Transport: Transport{KDCs: []KDC{{Addr: k.KDC}}}}
}

// failedAttempts is MIT's count of failed pre-authentications of a principal
// ("Failed password attempts" of kadmin.local getprinc).
func failedAttempts(t *testing.T, k labtest.KerberosLab, user string) int {
	t.Helper()
	kadmin := labtest.Tool(t, "kadmin.local")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kadmin, "-r", k.Realm, "-q", "getprinc "+user)
	cmd.Env = k.Env(filepath.Join(t.TempDir(), "cc"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kadmin.local getprinc %s: %v\n%s", user, err, out)
	}
	m := regexp.MustCompile(`Failed password attempts: (\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("kadmin.local getprinc %s: no failure count in\n%s", user, out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// Every account state of the lab against the real MIT KDC: the KRB-ERROR
// code, the step it came at, and how many KDC exchanges it took.
func TestLabAccountStates(t *testing.T) {
	k := labtest.Kerberos(t)
	tests := []struct {
		state     string
		name      string
		etypes    []int32
		is        error
		user      string // overrides the state's account
		password  string
		spn       string
		code      ErrorCode // 0: success
		step      Step
		exchanges int
	}{
		{state: "good", code: 0, exchanges: 3},
		{state: "badpw", password: "not-the-password", code: KDCErrPreauthFailed, step: StepASPreauth, exchanges: 2},
		{state: "locked", code: KDCErrClientRevoked, step: StepASNoPreauth, exchanges: 1},
		{state: "disabled", code: KDCErrClientRevoked, step: StepASNoPreauth, exchanges: 1},
		{state: "pwexpired", code: KDCErrKeyExpired, step: StepASNoPreauth, exchanges: 1},
		{state: "mustchange", code: KDCErrKeyExpired, step: StepASNoPreauth, exchanges: 1},
		{state: "expired", code: KDCErrNameExp, step: StepASNoPreauth, exchanges: 1},
		{state: "rc4", code: 0, exchanges: 3},
		{state: "unknown", user: "no-such-user", code: KDCErrCPrincipalUnknown, step: StepASNoPreauth, exchanges: 1},
		{state: "nospn", user: k.Users["good"], spn: "TERMSRV/" + k.NoSPNHost, code: KDCErrSPrincipalUnknown, step: StepTGS, exchanges: 3},
		// AES enforced on the client, an account with an RC4 key only.
		// MIT answers KDC_ERR_PREAUTH_REQUIRED with an empty PA-ETYPE-INFO2
		// (Windows: KDC_ERR_ETYPE_NOSUPP); nothing secret is sent.
		{state: "rc4", name: "rc4 with AES only", etypes: []int32{ETypeAES256, ETypeAES128}, code: KDCErrPreauthRequired, is: ErrNoCommonEType, step: StepASNoPreauth, exchanges: 1},
		// No pre-authentication required: the KDC answers the first AS-REQ.
		{state: "nopreauth", code: 0, exchanges: 2},
	}
	for _, tt := range tests {
		name := tt.state
		if tt.name != "" {
			name = tt.name
		}
		t.Run(name, func(t *testing.T) {
			user := tt.user
			if user == "" {
				user = k.Users[tt.state]
			}
			c := labClient(k, user)
			c.ETypes = tt.etypes
			if tt.password != "" {
				c.Password = tt.password
			}
			spn := tt.spn
			if spn == "" {
				spn = k.SPN
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			st, err := c.ServiceTicket(ctx, spn)
			if len(c.Exchanges) != tt.exchanges {
				t.Errorf("%d KDC exchanges, want %d: %+v", len(c.Exchanges), tt.exchanges, c.Exchanges)
			}
			for _, ex := range c.Exchanges {
				if ex.KDC != k.KDC || ex.RTT <= 0 {
					t.Errorf("exchange %+v: want KDC %s and a round trip", ex, k.KDC)
				}
			}
			if tt.code == 0 {
				if err != nil {
					t.Fatalf("logon: %v", err)
				}
				if got := st.SName.PrincipalNameString(); got != spn {
					t.Errorf("ticket for %s, want %s", got, spn)
				}
				if wantRC4 := tt.state == "rc4"; c.Preauth.RC4Only != wantRC4 {
					t.Errorf("RC4Only = %v, want %v (offered %s)", c.Preauth.RC4Only, wantRC4, etypeList(c.Preauth.Offered))
				}
				if wantPreauth := tt.state != "nopreauth"; c.Preauth.Required != wantPreauth || len(c.Preauth.Offered) == 0 {
					t.Errorf("pre-auth info %+v: want required=%v and MIT's PA-ETYPE-INFO2", c.Preauth, wantPreauth)
				}
				return
			}
			var ke *KDCError
			if !errors.As(err, &ke) {
				t.Fatalf("error %v (%T), want a *KDCError", err, err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("error %v, want %v", err, tt.is)
			}
			if ke.Code != tt.code || ke.Step != tt.step || ke.KDC != k.KDC {
				t.Errorf("got %s at %s from %s, want %s at %s", ke.Code, ke.Step, ke.KDC, tt.code, tt.step)
			}
			if ke.ServerTime.IsZero() {
				t.Error("no stime in the KRB-ERROR")
			}
			// MIT says nothing of the NTSTATUS kind: "revoked" stays revoked.
			if _, ok := ke.Status(); ok {
				t.Errorf("MIT sent an NTSTATUS? %+v", ke.EData)
			}
			if tt.code == KDCErrPreauthFailed && len(ke.EData.ETypeInfo2) == 0 {
				t.Errorf("MIT's PREAUTH_FAILED e-data: %+v, want its PA-ETYPE-INFO2", ke.EData)
			}
			t.Logf("%s", err)
		})
	}
}

// A wrong password costs exactly one failed pre-authentication at the KDC:
// the AS-REQ without pre-auth counts nothing and the PA-ENC-TIMESTAMP is
// never repeated, not even when the caller asks again.
func TestLabWrongPasswordCountsOnce(t *testing.T) {
	k := labtest.Kerberos(t)
	user := k.Users["badpw"]
	before := failedAttempts(t, k, user)
	c := labClient(k, user)
	c.Password = "not-the-password"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.ASWithoutPreauth(ctx); err != nil {
		t.Fatal(err)
	}
	if got := failedAttempts(t, k, user); got != before {
		t.Fatalf("the AS-REQ without pre-auth changed the failure count %d → %d", before, got)
	}
	err := c.ASWithPreauth(ctx)
	var ke *KDCError
	if !errors.As(err, &ke) || ke.Code != KDCErrPreauthFailed {
		t.Fatalf("got %v, want KDC_ERR_PREAUTH_FAILED", err)
	}
	if err := c.ASWithPreauth(ctx); !errors.Is(err, ErrPreauthOnce) {
		t.Fatalf("second ASWithPreauth: %v, want ErrPreauthOnce", err)
	}
	if _, err := c.ServiceTicket(ctx, k.SPN); !errors.Is(err, ErrPreauthOnce) {
		t.Fatalf("ServiceTicket after a failure: %v, want ErrPreauthOnce", err)
	}
	if got := failedAttempts(t, k, user); got != before+1 {
		t.Fatalf("failed password attempts %d → %d, want exactly one more", before, got)
	}
	if len(c.Exchanges) != 2 {
		t.Errorf("%d exchanges, want 2", len(c.Exchanges))
	}
}

// Without pre-authentication the KDC answers anyone; a wrong password shows
// only at the client, which cannot decrypt the AS-REP. No failure is counted
// and nothing more is sent.
func TestLabNoPreauthWrongPassword(t *testing.T) {
	k := labtest.Kerberos(t)
	c := labClient(k, k.Users["nopreauth"])
	c.Password = "not-the-password"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.ServiceTicket(ctx, k.SPN); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("got %v, want ErrWrongPassword", err)
	}
	if len(c.Exchanges) != 1 {
		t.Fatalf("%d exchanges, want the one AS-REQ", len(c.Exchanges))
	}
}

// A client clock an hour ahead: the KDC refuses the PA-ENC-TIMESTAMP with
// KRB_AP_ERR_SKEW and says its own time, so both clocks are known.
func TestLabClockSkew(t *testing.T) {
	k := labtest.Kerberos(t)
	c := labClient(k, k.Users["good"])
	c.Now = func() time.Time { return time.Now().Add(time.Hour) }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.ServiceTicket(ctx, k.SPN)
	var ke *KDCError
	if !errors.As(err, &ke) || ke.Code != KRBAPErrSkew || ke.Step != StepASPreauth {
		t.Fatalf("got %v, want KRB_AP_ERR_SKEW at the pre-auth step", err)
	}
	skew, ok := ke.Skew()
	if !ok || skew > -59*time.Minute || skew < -61*time.Minute {
		t.Fatalf("skew %v (known %v), want about -1h", skew, ok)
	}
	t.Log(err)
}

// The whole Kerberos logon of CredSSP against the real KDC and our
// acceptor with the lab's keytab: SPNEGO NegTokenInit with the AP-REQ, the
// acceptor's NegTokenResp with AP-REP and mechListMIC, then sealed wraps
// both ways. Over UDP too.
func TestLabSPNEGOLogon(t *testing.T) {
	k := labtest.Kerberos(t)
	kt, err := LoadKeytab(k.Keytab)
	if err != nil {
		t.Fatal(err)
	}
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			c := labClient(k, k.Users["good"])
			c.Transport.KDCs[0].Network = network
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			st, err := c.ServiceTicket(ctx, k.SPN)
			if err != nil {
				t.Fatal(err)
			}
			for _, ex := range c.Exchanges {
				if ex.Network != network {
					t.Errorf("exchange over %s, want %s", ex.Network, network)
				}
			}
			runSPNEGO(t, st, &Acceptor{Keytab: kt, SPN: k.SPN}, c.User+"@"+k.Realm)
		})
	}
}

// runSPNEGO drives an SPNEGOInitiator against an Acceptor and checks the
// established contexts both ways.
func runSPNEGO(t *testing.T, st *Credential, acc *Acceptor, client string) {
	t.Helper()
	ini := &SPNEGOInitiator{Initiator: Initiator{Ticket: st}}
	init, err := ini.InitialToken()
	if err != nil {
		t.Fatal(err)
	}
	reply, res, err := acc.AcceptSPNEGO(init)
	if err != nil {
		t.Fatalf("acceptor: %v", err)
	}
	if res.Client != client {
		t.Errorf("acceptor saw client %q, want %q", res.Client, client)
	}
	if res.Flags != DefaultGSSFlags {
		t.Errorf("GSS flags %#x, want %#x", res.Flags, DefaultGSSFlags)
	}
	if err := ini.Accept(reply); err != nil {
		t.Fatalf("initiator: %v", err)
	}
	final, err := ini.FinalToken()
	if err != nil || final != nil {
		t.Fatalf("final token %x, %v: none is due after accept-completed", final, err)
	}
	cctx, sctx := ini.Context(), res.Context
	if !cctx.AcceptorSubkey || cctx.KeyEType != ETypeAES256 {
		t.Errorf("client context: acceptor subkey %v, etype %s", cctx.AcceptorSubkey, ETypeName(cctx.KeyEType))
	}
	for i := range 3 {
		msg := []byte("pubKeyAuth " + strconv.Itoa(i))
		w, err := cctx.Wrap(msg)
		if err != nil {
			t.Fatal(err)
		}
		if w[2] != flagSealed|flagAcceptorSubkey || w[6] != 0 || w[7] != WindowsRRC {
			t.Errorf("client wrap header % x: want flags 06, RRC 28", w[:16])
		}
		got, err := sctx.Unwrap(w)
		if err != nil || string(got) != string(msg) {
			t.Fatalf("server unwrap: %q, %v", got, err)
		}
		w, err = sctx.Wrap(append(msg, '!'))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := cctx.Unwrap(w); err != nil || string(got) != string(msg)+"!" {
			t.Fatalf("client unwrap: %q, %v", got, err)
		}
	}
}

// A TGT from MIT's kinit in a ccache: one KDC exchange (TGS), no password.
func TestLabCCache(t *testing.T) {
	k := labtest.Kerberos(t)
	cc := filepath.Join(t.TempDir(), "krb5cc")
	if out, err := k.Kinit(t, k.Users["good"], k.Password, cc); err != nil {
		t.Fatalf("kinit: %v\n%s", err, out)
	}
	ccache, err := LoadCCache("FILE:" + cc)
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{CCache: ccache, Transport: Transport{KDCs: []KDC{{Addr: k.KDC}}}}
	st, err := c.ServiceTicket(context.Background(), k.SPN)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Exchanges) != 1 || c.Exchanges[0].Step != StepTGS {
		t.Fatalf("exchanges %+v, want the TGS-REQ alone", c.Exchanges)
	}
	if c.User != k.Users["good"] || c.Realm != k.Realm {
		t.Errorf("principal from the ccache %s@%s", c.User, c.Realm)
	}
	kt, err := LoadKeytab(k.Keytab)
	if err != nil {
		t.Fatal(err)
	}
	runSPNEGO(t, st, &Acceptor{Keytab: kt}, k.Users["good"]+"@"+k.Realm)
	// A ccache is not a password: no AS exchange may be made from it.
	if c.Preauth != nil {
		t.Error("an AS exchange was made with a ccache")
	}
}

// MIT's own client agrees with ours on every account state: kinit's words
// for each code our client reports.
func TestLabKinitAgrees(t *testing.T) {
	k := labtest.Kerberos(t)
	kinit := labtest.Tool(t, "kinit")
	want := map[string]string{
		"good":       "",
		"locked":     "Client's credentials have been revoked",
		"disabled":   "Client's credentials have been revoked",
		"pwexpired":  "Password expired",
		"mustchange": "Password expired",
		"expired":    "Client's entry in database has expired",
		"rc4":        "",
	}
	for state, words := range want {
		t.Run(state, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, kinit, k.Users[state])
			cmd.Env = k.Env(filepath.Join(t.TempDir(), "cc"))
			cmd.Stdin = strings.NewReader(k.Password + "\n")
			out, err := cmd.CombinedOutput()
			if words == "" {
				if err != nil {
					t.Fatalf("kinit: %v\n%s", err, out)
				}
			} else if !strings.Contains(string(out), words) {
				t.Fatalf("kinit said %q, want %q", out, words)
			}
			_, ourErr := labClient(k, k.Users[state]).ServiceTicket(ctx, k.SPN)
			if (ourErr == nil) != (words == "") {
				t.Fatalf("kinit %q but our client: %v", out, ourErr)
			}
		})
	}
	// kvno for a host without an SPN, as our TGS-REQ.
	cc := filepath.Join(t.TempDir(), "cc")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kinit, k.Users["good"])
	cmd.Env, cmd.Stdin = k.Env(cc), strings.NewReader(k.Password+"\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kinit: %v\n%s", err, out)
	}
	cmd = exec.CommandContext(ctx, labtest.Tool(t, "kvno"), "TERMSRV/"+k.NoSPNHost)
	cmd.Env = k.Env(cc)
	if out, _ := cmd.CombinedOutput(); !strings.Contains(string(out), "not found in Kerberos database") {
		t.Fatalf("kvno said %q", out)
	}
}

// Record real KDC replies as fixtures: KRB5_WRITE_TESTDATA=1 go test -run TestLabWriteTestdata.
func TestLabWriteTestdata(t *testing.T) {
	if os.Getenv("KRB5_WRITE_TESTDATA") == "" {
		t.Skip("KRB5_WRITE_TESTDATA not set")
	}
	k := labtest.Kerberos(t)
	ctx := context.Background()
	for _, tt := range []struct {
		user, password, name, note string
		first                      bool
	}{
		{k.Users["good"], "", "mit-preauth-required", "MIT krb5 1.20 KDC_ERR_PREAUTH_REQUIRED to an AS-REQ without pre-auth", true},
		{k.Users["badpw"], "not-the-password", "mit-preauth-failed", "MIT krb5 1.20 KDC_ERR_PREAUTH_FAILED", false},
		{k.Users["locked"], "", "mit-client-revoked", "MIT krb5 1.20 KDC_ERR_CLIENT_REVOKED for a locked account", false},
	} {
		var rec recorder
		c := labClient(k, tt.user)
		c.Transport.DialContext = rec.dial
		if tt.password != "" {
			c.Password = tt.password
		}
		c.ServiceTicket(ctx, k.SPN)
		r := rec.replies[len(rec.replies)-1]
		if tt.first {
			r = rec.replies[0]
		}
		writeHex(t, tt.name, tt.note, r)
	}
	var rec recorder
	c := labClient(k, k.Users["good"])
	c.Transport.DialContext = rec.dial
	c.ServiceTicket(ctx, "TERMSRV/"+k.NoSPNHost)
	writeHex(t, "mit-s-principal-unknown", "MIT krb5 1.20 KDC_ERR_S_PRINCIPAL_UNKNOWN to a TGS-REQ for TERMSRV/nospn.lab.test", rec.replies[len(rec.replies)-1])
}
