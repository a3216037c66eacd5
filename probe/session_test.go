package probe_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/fixture"
	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

const (
	sessUser = "alice"
	sessDom  = "CORP"
	sessPass = "session-Passw0rd"
)

func tlsOnly(s *rdptest.Session) rdptest.Scenario {
	return rdptest.Scenario{Negotiation: rdptest.Negotiation{Accept: negotiate.ProtocolSSL}, Session: s}
}

// runSession probes srv with --depth session and the test account.
func runSession(t *testing.T, sc rdptest.Scenario, creds bool) (*probe.Result, *rdptest.Server, *fixture.Recorder) {
	t.Helper()
	srv, err := rdptest.NewServer(sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	rec := &fixture.Recorder{}
	opt := probe.Options{Depth: probe.PhaseSession, PhaseTimeout: 2 * time.Second, Timeout: 8 * time.Second, Recorder: rec}
	if creds {
		opt.Credentials = &probe.Credentials{User: sessUser, Domain: sessDom, Password: sessPass}
		opt.AutologonWithoutNLA = true // these tests are about what autologon meets
	}
	r := probe.Run(context.Background(), srv.Addr, opt)
	srv.WaitConns(1, 2*time.Second)
	return r, srv, rec
}

// Every answer the server can give after the Client Info ends the phase
// with the right facts and error, and the probe always says goodbye with a
// Disconnect Provider Ultimatum unless the server hung up first.
func TestSessionAnswers(t *testing.T) {
	logonErr := func(typ negotiate.LogonErrorType, f negotiate.LogonFailure) *negotiate.LogonErrorsInfo {
		return &negotiate.LogonErrorsInfo{Type: typ, Data: uint32(f)}
	}
	for _, tc := range []struct {
		name    string
		s       rdptest.Session
		check   func(*probe.SessionInfo) bool
		wantErr func(error) bool
		// serverHangsUp: the server ends the connection itself, so no
		// Disconnect Provider Ultimatum reaches it.
		serverHangsUp bool
	}{
		{"valid client and demand active", rdptest.Session{}, func(s *probe.SessionInfo) bool {
			return s.License.Outcome == probe.LicenseValidClient && s.DemandActive
		}, nil, false},
		{"license request, platform challenge", rdptest.Session{LicenseRequest: true, PlatformChallenge: true}, func(s *probe.SessionInfo) bool {
			l := s.License
			return l.Outcome == probe.LicenseChallenged && l.MsgType == negotiate.PlatformChallengeMsg && l.NewLicenseRequestSent &&
				l.CompanyName == "Microsoft Corporation" && l.ServerKey == "proprietary" && l.ServerKeyBits == 2048 && !s.DemandActive
		}, nil, false},
		{"license request without certificate", rdptest.Session{LicenseRequest: true, NoLicenseCertificate: true}, func(s *probe.SessionInfo) bool {
			l := s.License
			return l.Outcome == probe.LicenseRequested && l.MsgType == negotiate.LicenseRequestMsg && !l.NewLicenseRequestSent &&
				strings.Contains(l.NoNewLicenseRequest, "no server certificate") && l.CompanyName == "Microsoft Corporation" && !s.DemandActive
		}, nil, false},
		{"license request, valid client", rdptest.Session{LicenseRequest: true}, func(s *probe.SessionInfo) bool {
			l := s.License
			return l.Outcome == probe.LicenseValidClient && l.NewLicenseRequestSent && l.CompanyName == "Microsoft Corporation" && s.DemandActive
		}, nil, false},
		{"license request, no license server", rdptest.Session{LicenseRequest: true, LicenseError: negotiate.ErrNoLicenseServer}, func(s *probe.SessionInfo) bool {
			l := s.License
			return l.Outcome == probe.LicenseError && l.ErrorCode == negotiate.ErrNoLicenseServer && l.NewLicenseRequestSent
		}, func(err error) bool {
			var le *negotiate.LicenseErrorMessage
			return errors.As(err, &le) && le.ErrorCode == negotiate.ErrNoLicenseServer
		}, true},
		{"license request, errinfo no license server", rdptest.Session{LicenseRequest: true, ErrorInfo: negotiate.ErrInfoLicenseNoLicenseServer},
			func(s *probe.SessionInfo) bool {
				l := s.License
				return l.Outcome == probe.LicenseRequested && l.NewLicenseRequestSent && len(s.ErrorInfo) == 1
			}, errInfoIs(negotiate.ErrInfoLicenseNoLicenseServer), true},
		{"logged on", rdptest.Session{LoggedOn: true}, func(s *probe.SessionInfo) bool {
			return s.LoggedOn && !s.DemandActive
		}, nil, false},
		{"license error no license server", rdptest.Session{LicenseError: negotiate.ErrNoLicenseServer}, func(s *probe.SessionInfo) bool {
			return s.License.Outcome == probe.LicenseError && s.License.ErrorCode == negotiate.ErrNoLicenseServer &&
				s.License.StateTransition == negotiate.StTotalAbort
		}, func(err error) bool {
			var le *negotiate.LicenseErrorMessage
			return errors.As(err, &le) && le.ErrorCode == negotiate.ErrNoLicenseServer
		}, true},
		{"errinfo no license server", rdptest.Session{ErrorInfo: negotiate.ErrInfoLicenseNoLicenseServer}, func(s *probe.SessionInfo) bool {
			return s.License.Outcome == probe.LicenseValidClient && len(s.ErrorInfo) == 1 && s.ErrorInfo[0] == negotiate.ErrInfoLicenseNoLicenseServer
		}, errInfoIs(negotiate.ErrInfoLicenseNoLicenseServer), true},
		{"errinfo insufficient privileges", rdptest.Session{ErrorInfo: negotiate.ErrInfoServerInsufficientPrivileges}, nil,
			errInfoIs(negotiate.ErrInfoServerInsufficientPrivileges), true},
		{"errinfo denied", rdptest.Session{ErrorInfo: negotiate.ErrInfoServerDeniedConnection}, nil,
			errInfoIs(negotiate.ErrInfoServerDeniedConnection), true},
		{"errinfo fresh credentials", rdptest.Session{ErrorInfo: negotiate.ErrInfoServerFreshCredentialsRequired}, nil,
			errInfoIs(negotiate.ErrInfoServerFreshCredentialsRequired), true},
		{"logon error bad password", rdptest.Session{LogonError: logonErr(negotiate.LogonErrorType(negotiate.StatusLogonFailure), negotiate.LogonFailedBadPassword)},
			func(s *probe.SessionInfo) bool { return len(s.LogonErrors) == 1 && !s.DemandActive },
			func(err error) bool {
				var le *probe.SessionLogonError
				return errors.As(err, &le) && le.Info.Failure() == negotiate.LogonFailedBadPassword
			}, false},
		{"logon notification then demand active", rdptest.Session{LogonError: logonErr(negotiate.LogonMsgSessionContinue, 0)},
			func(s *probe.SessionInfo) bool { return len(s.LogonErrors) == 1 && s.DemandActive }, nil, false},
		{"mcs connect refused", rdptest.Session{ConnectResult: negotiate.MCSResultUserRejected},
			func(s *probe.SessionInfo) bool {
				return s.MCSFailure != nil && s.MCSFailure.Result == negotiate.MCSResultUserRejected && !s.ClientInfoSent
			},
			func(err error) bool {
				var me *negotiate.MCSResultError
				return errors.As(err, &me)
			}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, srv, _ := runSession(t, tlsOnly(&tc.s), true)
			s := r.Session
			if s == nil {
				t.Fatalf("no session facts; reached %q err %v", r.Reached, r.Err)
			}
			if tc.wantErr == nil {
				if r.Err != nil || r.Reached != probe.PhaseSession {
					t.Fatalf("want a clean session phase, got reached %q err %v", r.Reached, r.Err)
				}
			} else if r.Failed != probe.PhaseSession || !tc.wantErr(r.Err) {
				t.Fatalf("failed %q err %v (%T)", r.Failed, r.Err, r.Err)
			}
			if tc.check != nil && !tc.check(s) {
				t.Errorf("session facts: %+v license %+v", s, s.License)
			}
			if tc.s.ConnectResult == 0 && (!s.Autologon || !srv.Saw(rdptest.EventClientInfo, `autologon true, account "CORP\\alice" with a password`)) {
				t.Errorf("autologon %v; server saw:\n%v", s.Autologon, srv.Events())
			}
			if saw := srv.Saw(rdptest.EventDisconnect, "rn-user-requested"); saw == tc.serverHangsUp {
				t.Errorf("server saw our Disconnect Provider Ultimatum: %v (server hangs up: %v)\n%v", saw, tc.serverHangsUp, srv.Events())
			}
			if !tc.serverHangsUp && !s.DisconnectSent {
				t.Error("DisconnectSent not set")
			}
			for _, e := range srv.Events() {
				if strings.Contains(e.Detail, sessPass) {
					t.Errorf("the password reached an event: %v", e)
				}
			}
		})
	}
}

func errInfoIs(code negotiate.ErrorInfo) func(error) bool {
	return func(err error) bool {
		var e *probe.SetErrorInfoError
		return errors.As(err, &e) && e.Code == code
	}
}

// Over TLS without credentials the Client Info asks for no autologon and
// carries no password.
func TestSessionWithoutCredentials(t *testing.T) {
	r, srv, _ := runSession(t, tlsOnly(&rdptest.Session{}), false)
	if r.Err != nil || !r.Session.DemandActive || r.Session.Autologon {
		t.Fatalf("reached %q err %v session %+v", r.Reached, r.Err, r.Session)
	}
	if !srv.Saw(rdptest.EventClientInfo, `autologon false, account "" without a password`) {
		t.Errorf("server saw:\n%v", srv.Events())
	}
}

// Under NLA the session follows the CredSSP logon, and the Client Info
// names the account without repeating the password.
func TestSessionAfterNLA(t *testing.T) {
	sc := rdptest.Scenario{Accounts: map[string]string{sessDom + `\` + sessUser: sessPass}, Session: &rdptest.Session{}}
	r, srv, _ := runSession(t, sc, true)
	if r.Err != nil || r.Reached != probe.PhaseSession || !r.Session.DemandActive || r.Session.Autologon {
		t.Fatalf("reached %q err %v session %+v", r.Reached, r.Err, r.Session)
	}
	if !srv.Saw(rdptest.EventClientInfo, `account "CORP\\alice" without a password`) {
		t.Errorf("server saw:\n%v", srv.Events())
	}
	if !srv.Saw(rdptest.EventDisconnect, "rn-user-requested") {
		t.Errorf("no Disconnect Provider Ultimatum:\n%v", srv.Events())
	}
}

// The Client Info carrying a password is never recorded.
func TestSessionRecordingRedactsClientInfo(t *testing.T) {
	_, _, rec := runSession(t, tlsOnly(&rdptest.Session{}), true)
	fx := rec.Fixture(map[string]string{})
	found := false
	for _, st := range fx.Steps {
		if strings.HasPrefix(st.Note, "Client Info") {
			found = true
			if !st.Redacted || st.Data != nil {
				t.Errorf("Client Info recorded in the clear: %+v", st)
			}
		}
		if strings.Contains(string(st.Data), sessPass) || strings.Contains(string(st.Data), string(utf16(sessPass))) {
			t.Errorf("the password is in step %q", st.Note)
		}
	}
	if !found {
		t.Error("no Client Info step recorded")
	}
}

func utf16(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r), 0)
	}
	return b
}

// Our NEW_LICENSE_REQUEST is recorded (it is no secret) and names the user
// without the password.
func TestSessionRecordsNewLicenseRequest(t *testing.T) {
	_, srv, rec := runSession(t, tlsOnly(&rdptest.Session{LicenseRequest: true, PlatformChallenge: true}), true)
	fx := rec.Fixture(map[string]string{})
	found := false
	for _, st := range fx.Steps {
		if !strings.Contains(st.Note, "NEW_LICENSE_REQUEST") || st.From != probe.Client {
			continue
		}
		found = true
		if st.Redacted || !strings.Contains(string(st.Data), "alice\x00") || !strings.Contains(string(st.Data), "rdpprobe\x00") {
			t.Errorf("NEW_LICENSE_REQUEST step %+v", st)
		}
		if strings.Contains(string(st.Data), sessPass) || strings.Contains(string(st.Data), string(utf16(sessPass))) {
			t.Error("the password is in the NEW_LICENSE_REQUEST")
		}
	}
	if !found {
		t.Errorf("no NEW_LICENSE_REQUEST recorded; server saw:\n%v", srv.Events())
	}
}

// A server that stops answering after the Client Info runs the phase into
// its deadline; the probe still says goodbye.
func TestSessionDeadline(t *testing.T) {
	sc := tlsOnly(&rdptest.Session{LicenseRequest: true})
	srv, err := rdptest.NewServer(rdptest.Scenario{Negotiation: sc.Negotiation}) // no Session: silence after TLS
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	r := probe.Run(context.Background(), srv.Addr, probe.Options{Depth: probe.PhaseSession, PhaseTimeout: 300 * time.Millisecond, Timeout: 5 * time.Second})
	var pt *probe.PhaseTimeoutError
	if r.Failed != probe.PhaseSession || !errors.As(r.Err, &pt) {
		t.Fatalf("failed %q err %v", r.Failed, r.Err)
	}
	if !r.Session.DisconnectSent {
		t.Error("no Disconnect Provider Ultimatum after the deadline")
	}
}

// Without the opt-in, a server that selected TLS without NLA gets the
// account name in the Client Info but never the password: nothing proved
// who it is.
func TestSessionWithholdsPasswordWithoutNLA(t *testing.T) {
	srv, err := rdptest.NewServer(tlsOnly(&rdptest.Session{}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	opt := probe.Options{Depth: probe.PhaseSession, PhaseTimeout: 2 * time.Second, Timeout: 8 * time.Second,
		Credentials: &probe.Credentials{User: sessUser, Domain: sessDom, Password: sessPass}}
	r := probe.Run(context.Background(), srv.Addr, opt)
	srv.WaitConns(1, 2*time.Second)
	s := r.Session
	if s == nil || !s.ClientInfoSent {
		t.Fatalf("no Client Info sent: reached %q err %v", r.Reached, r.Err)
	}
	if s.Autologon || s.PasswordWithheld == "" {
		t.Errorf("autologon %v, withheld %q: want the password withheld and said so", s.Autologon, s.PasswordWithheld)
	}
	if !srv.Saw(rdptest.EventClientInfo, "without a password") || srv.Saw(rdptest.EventClientInfo, "with a password") {
		t.Errorf("the server saw a password:\n%v", srv.Events())
	}
}

// A server that selected TLS without NLA gets the password in the Client
// Info only if its certificate is trusted or pinned, or the caller opted
// in; the session facts say which.
func TestSessionAutologonNeedsTrustedOrPinnedCertificate(t *testing.T) {
	p := certPKI(t)
	byIP := p.Entry("IP SAN")
	untrusted, err := rdptest.DefaultCertificate()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		cert   tls.Certificate
		policy func(*probe.Options, string) // sets the certificate policy, given the certificate's fingerprint
		optIn  bool
		reason probe.AutologonReason
	}{
		{"trusted", byIP.Cert, func(o *probe.Options, _ string) { o.Cert.Roots = p.Roots(byIP) }, false, probe.AutologonTrustedCert},
		{"trusted, opted in too", byIP.Cert, func(o *probe.Options, _ string) { o.Cert.Roots = p.Roots(byIP) }, true, probe.AutologonTrustedCert},
		{"pinned", untrusted, func(o *probe.Options, sha string) { o.Cert.SHA256 = sha }, false, probe.AutologonPinnedCert},
		{"opted in", untrusted, func(*probe.Options, string) {}, true, probe.AutologonOptedIn},
		{"neither", untrusted, func(*probe.Options, string) {}, false, ""},
		{"trusted CA, wrong name", byIP.Cert, func(o *probe.Options, _ string) {
			o.Cert.Roots, o.Cert.ServerName = p.Roots(byIP), "rds09.corp.example.com"
		}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := tlsOnly(&rdptest.Session{})
			sc.TLS.Certificate = &tc.cert
			srv, err := rdptest.NewServer(sc)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			opt := probe.Options{Depth: probe.PhaseSession, PhaseTimeout: 2 * time.Second, Timeout: 8 * time.Second,
				Credentials: &probe.Credentials{User: sessUser, Domain: sessDom, Password: sessPass}, AutologonWithoutNLA: tc.optIn}
			tc.policy(&opt, fingerprintOf(tc.cert))
			r := probe.Run(context.Background(), srv.Addr, opt)
			srv.WaitConns(1, 2*time.Second)
			s := r.Session
			if s == nil || !s.ClientInfoSent {
				t.Fatalf("no Client Info sent: reached %q err %v", r.Reached, r.Err)
			}
			sent := tc.reason != ""
			if s.Autologon != sent || s.AutologonReason != tc.reason || (s.PasswordWithheld != "") == sent {
				t.Errorf("autologon %v (%q), withheld %q; want autologon %v (%q)", s.Autologon, s.AutologonReason, s.PasswordWithheld, sent, tc.reason)
			}
			if srv.Saw(rdptest.EventClientInfo, "with a password") != sent {
				t.Errorf("password sent %v, want %v; server saw:\n%v", !sent, sent, srv.Events())
			}
		})
	}
}

func fingerprintOf(c tls.Certificate) string {
	return fmt.Sprintf("%x", sha256.Sum256(c.Certificate[0]))
}
