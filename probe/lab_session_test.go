package probe_test

// The session phase against the lab's real servers: what each one really
// answers once the Client Info PDU is in (observed, then asserted).

import (
	"fmt"
	"testing"

	"github.com/rdpprobe/rdpprobe/internal/labtest"
	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
)

// sessionOK checks the facts every clean session phase shares: it ran to
// the end, joined the user and I/O channels, sent the Client Info under
// ENCRYPTION_METHOD_NONE (TLS protects it) and disconnected.
func sessionOK(t *testing.T, r *probe.Result) *probe.SessionInfo {
	t.Helper()
	return sessionOKWith(t, r, negotiate.EncryptionMethodNone)
}

// sessionOKWith is sessionOK for a session whose server selected method.
func sessionOKWith(t *testing.T, r *probe.Result, method negotiate.EncryptionMethod) *probe.SessionInfo {
	t.Helper()
	if r.Err != nil || r.Reached != probe.PhaseSession {
		t.Fatalf("want to reach the session phase cleanly, got reached %q err %v", r.Reached, r.Err)
	}
	s := r.Session
	if s == nil || s.Skipped != "" {
		t.Fatalf("session facts missing or skipped: %+v", s)
	}
	if !s.ClientInfoSent || !s.DisconnectSent {
		t.Errorf("Client Info sent %v, Disconnect Provider Ultimatum sent %v", s.ClientInfoSent, s.DisconnectSent)
	}
	if s.EncryptionMethod != method || s.IOChannel == 0 || s.UserChannel == 0 {
		t.Errorf("MCS facts: %+v", s)
	}
	if len(s.Channels) < 2 || s.Channels[0] != s.UserChannel || s.Channels[1] != s.IOChannel {
		t.Errorf("joined %v, want the user channel %d then the I/O channel %d first", s.Channels, s.UserChannel, s.IOChannel)
	}
	if len(r.Timings) == 0 || r.Timings[len(r.Timings)-1].Phase != probe.PhaseSession {
		t.Errorf("no timing for the session phase: %+v", r.Timings)
	}
	return s
}

// FreeRDP's shadow server (TLS only) ends licensing with STATUS_VALID_CLIENT
// and goes on to the Demand Active, whatever password the Client Info
// carries: it does not check it there.
func TestLabSessionFreeRDPTLS(t *testing.T) {
	addr := labtest.Peer(t, "tls")
	_, dom, pw := labtest.Account()
	for _, tc := range []struct {
		name      string
		creds     *probe.Credentials
		autologon bool
	}{
		{"no credentials", nil, false},
		{"good password", labCreds(true), true},
		{"wrong password", &probe.Credentials{User: "labuser", Domain: dom, Password: pw + "x"}, true},
		{"password withheld", labCreds(true), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runProbe(t, addr, probe.Options{Depth: probe.PhaseSession, Credentials: tc.creds, AutologonWithoutNLA: tc.autologon})
			s := sessionOK(t, r)
			if l := s.License; l == nil || l.Outcome != probe.LicenseValidClient || l.ErrorCode != negotiate.StatusValidClient {
				t.Errorf("licensing %+v, want STATUS_VALID_CLIENT", l)
			}
			if !s.DemandActive {
				t.Error("no Demand Active after licensing")
			}
			if s.Autologon != tc.autologon || (tc.creds != nil && !tc.autologon) != (s.PasswordWithheld != "") {
				t.Errorf("autologon %v, withheld %q; want autologon %v", s.Autologon, s.PasswordWithheld, tc.autologon)
			}
			if r.LogonAttempted {
				t.Error("LogonAttempted on a server without NLA: the Client Info is not an NTLM logon")
			}
		})
	}
}

// xrdp (TLS) answers the Client Info with a LICENSE_REQUEST naming
// "Microsoft Corporation", product "236", with a proprietary certificate
// of a 512-bit key (its modulus has 511 bits). The probe answers with a
// NEW_LICENSE_REQUEST; xrdp then ends licensing with STATUS_VALID_CLIENT
// and sends the Demand Active.
func TestLabSessionXrdpTLS(t *testing.T) {
	r := runProbe(t, labtest.Peer(t, "xrdp"), probe.Options{Depth: probe.PhaseSession, Protocols: negotiate.ProtocolSSL, Credentials: labCreds(true)})
	s := sessionOK(t, r)
	l := s.License
	if l == nil || l.Outcome != probe.LicenseValidClient || l.ErrorCode != negotiate.StatusValidClient || !l.NewLicenseRequestSent {
		t.Fatalf("licensing %+v, want STATUS_VALID_CLIENT after our NEW_LICENSE_REQUEST", l)
	}
	if l.CompanyName != "Microsoft Corporation" || l.ProductID != "236" || l.ServerKey != "proprietary" || l.ServerKeyBits != 511 {
		t.Errorf("product info %q / %q, key %s of %d bits", l.CompanyName, l.ProductID, l.ServerKey, l.ServerKeyBits)
	}
	if !s.DemandActive || len(s.ErrorInfo) > 0 {
		t.Errorf("no Demand Active after licensing: %+v", s)
	}
}

// FreeRDP's shadow server with NLA: after the CredSSP logon, valid client
// and Demand Active.
func TestLabSessionFreeRDPNLA(t *testing.T) {
	r := runProbe(t, labtest.Peer(t, "nla"), probe.Options{Depth: probe.PhaseSession, Credentials: labCreds(true)})
	s := sessionOK(t, r)
	if !r.CredSSP.CredentialsSent {
		t.Error("the session ran without the NLA logon")
	}
	if l := s.License; l == nil || l.Outcome != probe.LicenseValidClient {
		t.Errorf("licensing %+v, want STATUS_VALID_CLIENT", l)
	}
	if !s.DemandActive {
		t.Error("no Demand Active")
	}
	if s.Autologon {
		t.Error("the password went into the Client Info although NLA already delivered it")
	}
}

// A wrong password under NLA never reaches the session phase, and the
// probe does not try a second logon there.
func TestLabSessionFreeRDPNLAWrongPassword(t *testing.T) {
	_, dom, pw := labtest.Account()
	r := runProbe(t, labtest.Peer(t, "nla"), probe.Options{Depth: probe.PhaseSession,
		Credentials: &probe.Credentials{User: "labuser", Domain: dom, Password: pw + "x"}})
	if r.Failed != probe.PhaseLogon {
		t.Fatalf("want the logon to fail, got failed %q err %v", r.Failed, r.Err)
	}
	if r.Session != nil && r.Session.ClientInfoSent {
		t.Error("a Client Info went out after a failed logon")
	}
}

// Standard RDP security all the way to the Demand Active: FreeRDP's shadow
// server at ENCRYPTION_LEVEL_NONE (no Security Exchange, nothing
// encrypted), xrdp with security_layer=rdp and security_layer=negotiate
// at level High (128-bit RC4 under its 2048-bit proprietary key, licensing
// in the clear, the Demand Active encrypted). The password goes into the
// Client Info only when the caller opted in, and never at level None.
func TestLabSessionStandardRDP(t *testing.T) {
	for _, tc := range []struct {
		peer      string
		method    negotiate.EncryptionMethod
		level     negotiate.EncryptionLevel
		optIn     bool
		autologon bool
	}{
		{"rdp", negotiate.EncryptionMethodNone, negotiate.EncryptionLevelNone, false, false},
		{"rdp", negotiate.EncryptionMethodNone, negotiate.EncryptionLevelNone, true, false},
		{"xrdp-rdp", negotiate.EncryptionMethod128Bit, negotiate.EncryptionLevelHigh, false, false},
		{"xrdp-rdp", negotiate.EncryptionMethod128Bit, negotiate.EncryptionLevelHigh, true, true},
		{"xrdp", negotiate.EncryptionMethod128Bit, negotiate.EncryptionLevelHigh, true, true},
	} {
		t.Run(fmt.Sprintf("%s/opt-in=%v", tc.peer, tc.optIn), func(t *testing.T) {
			r := runProbe(t, labtest.Peer(t, tc.peer), probe.Options{Depth: probe.PhaseSession, AllowStandardRDP: true,
				Credentials: labCreds(true), AutologonWithoutNLA: tc.optIn})
			s := sessionOKWith(t, r, tc.method)
			if r.Negotiation.Selected() != negotiate.ProtocolRDP || s.EncryptionLevel != tc.level {
				t.Errorf("selected %v at %v", r.Negotiation.Selected(), s.EncryptionLevel)
			}
			if l := s.License; l == nil || l.Outcome != probe.LicenseValidClient || !s.DemandActive {
				t.Fatalf("licensing %+v, Demand Active %v: want STATUS_VALID_CLIENT and the Demand Active", l, s.DemandActive)
			}
			std := s.StandardSecurity
			if std == nil {
				t.Fatal("no standard security facts")
			}
			encrypted := tc.method != negotiate.EncryptionMethodNone
			if std.SecurityExchangeSent != encrypted || (std.EncryptedPDUs > 0) != encrypted {
				t.Errorf("Security Exchange sent %v, %d PDUs decrypted; want encryption %v", std.SecurityExchangeSent, std.EncryptedPDUs, encrypted)
			}
			if encrypted && (std.ServerCertificate != "proprietary" || std.ServerKeyBits != 2048) {
				t.Errorf("server key: %s, %d bits", std.ServerCertificate, std.ServerKeyBits)
			}
			if s.Autologon != tc.autologon || (s.PasswordWithheld == "") != tc.autologon {
				t.Errorf("autologon %v, withheld %q; want autologon %v", s.Autologon, s.PasswordWithheld, tc.autologon)
			}
		})
	}
}

// The default depth never opens a session.
func TestLabSessionNotByDefault(t *testing.T) {
	r := runProbe(t, labtest.Peer(t, "tls"), probe.Options{Credentials: labCreds(true)})
	if r.Reached != probe.PhaseTLS || r.Session != nil {
		t.Fatalf("a default probe reached %q with session %+v", r.Reached, r.Session)
	}
}

// FreeRDP's TLS server gets the password in the Client Info once its
// self-signed certificate is pinned, and only then: nothing else vouches
// for it.
func TestLabSessionPinnedCertificate(t *testing.T) {
	addr := labtest.Peer(t, "tls")
	first := runProbe(t, addr, probe.Options{Depth: probe.PhaseTLS})
	if first.TLS == nil || first.TLS.Certificate == nil || first.TLS.Certificate.Trust.Trusted {
		t.Fatalf("want FreeRDP's untrusted certificate, got %+v", first.TLS)
	}
	pin := first.TLS.Certificate.SHA256
	r := runProbe(t, addr, probe.Options{Depth: probe.PhaseSession, Credentials: labCreds(true), Cert: probe.CertPolicy{SHA256: pin}})
	if s := sessionOK(t, r); !s.Autologon || s.AutologonReason != probe.AutologonPinnedCert || s.PasswordWithheld != "" {
		t.Errorf("pinned: autologon %v (%q), withheld %q", s.Autologon, s.AutologonReason, s.PasswordWithheld)
	}
	r = runProbe(t, addr, probe.Options{Depth: probe.PhaseSession, Credentials: labCreds(true)})
	if s := sessionOK(t, r); s.Autologon || s.PasswordWithheld == "" {
		t.Errorf("not pinned: autologon %v (%q), withheld %q", s.Autologon, s.AutologonReason, s.PasswordWithheld)
	}
}
