package probe_test

// Integration tests against the real third-party servers of the lab
// (`make lab-up`). Each asserts the facts the probe records; the classes
// built on them are asserted in cmd/rdpprobe.

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/internal/labtest"
	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
)

func runProbe(t *testing.T, target string, opt probe.Options) *probe.Result {
	t.Helper()
	if opt.Timeout == 0 {
		opt.Timeout = 10 * time.Second
	}
	r := probe.Run(context.Background(), target, opt)
	t.Logf("%s: reached %q failed %q err %v", target, r.Reached, r.Failed, r.Err)
	return r
}

func labCreds(domain bool) *probe.Credentials {
	user, dom, pw := labtest.Account()
	if !domain {
		return &probe.Credentials{User: "alice", Password: pw}
	}
	return &probe.Credentials{User: user, Domain: dom, Password: pw}
}

func TestLabNLANoCredentials(t *testing.T) {
	for _, peer := range []string{"nla", "nla6"} {
		t.Run(peer, func(t *testing.T) {
			r := runProbe(t, labtest.Peer(t, peer), probe.Options{})
			if r.Err != nil || r.Reached != probe.PhaseNTLMInfo {
				t.Fatalf("want to reach ntlm_info cleanly, got reached %q err %v", r.Reached, r.Err)
			}
			if got := r.Negotiation.Selected(); got != negotiate.ProtocolHybrid {
				t.Errorf("selected %v, want PROTOCOL_HYBRID", got)
			}
			if r.LogonAttempted {
				t.Error("a logon was attempted without credentials")
			}
			n := r.NTLM
			if n == nil || n.NetBIOSComputer == "" || n.NetBIOSDomain == "" {
				t.Fatalf("NTLM info missing names: %+v", n)
			}
			// FreeRDP's server advertises Windows 7 SP1's version.
			if n.OSVersion != "6.1.7601" {
				t.Errorf("OS version %q, want 6.1.7601", n.OSVersion)
			}
			if r.TLS == nil || r.TLS.Certificate == nil || r.TLS.Certificate.KeyType == "" {
				t.Errorf("TLS facts missing: %+v", r.TLS)
			}
			if r.CredSSP == nil || r.CredSSP.ServerVersion < 2 {
				t.Errorf("CredSSP server version not recorded: %+v", r.CredSSP)
			}
			if len(r.Timings) != 4 {
				t.Errorf("timings for %d phases, want 4", len(r.Timings))
			}
		})
	}
}

func TestLabNLALogon(t *testing.T) {
	addr := labtest.Peer(t, "nla")
	for _, tc := range []struct {
		name  string
		creds *probe.Credentials
	}{
		{"domain account", labCreds(true)},
		{"domain-less account", labCreds(false)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runProbe(t, addr, probe.Options{Credentials: tc.creds})
			if r.Err != nil || r.Reached != probe.PhaseLogon {
				t.Fatalf("want a clean logon, got reached %q err %v", r.Reached, r.Err)
			}
			cs := r.CredSSP
			if !r.LogonAttempted || !cs.PubKeyAuthVerified || !cs.CredentialsSent {
				t.Errorf("logon facts: attempted %v, pubKeyAuth verified %v, credentials sent %v",
					r.LogonAttempted, cs.PubKeyAuthVerified, cs.CredentialsSent)
			}
		})
	}
}

func TestLabNLARejected(t *testing.T) {
	addr := labtest.Peer(t, "nla")
	_, dom, pw := labtest.Account()
	for _, tc := range []struct {
		name  string
		creds *probe.Credentials
	}{
		{"wrong password", &probe.Credentials{User: "labuser", Domain: dom, Password: pw + "x"}},
		{"unknown user", &probe.Credentials{User: "nobody", Domain: dom, Password: pw}},
		{"wrong domain", &probe.Credentials{User: "labuser", Domain: "OTHER", Password: pw}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runProbe(t, addr, probe.Options{Credentials: tc.creds})
			var closed *probe.ClosedAfterAuthenticateError
			if r.Failed != probe.PhaseLogon || !errors.As(r.Err, &closed) {
				t.Fatalf("want the server to close after AUTHENTICATE, got failed %q err %v", r.Failed, r.Err)
			}
			if r.CredSSP.CredentialsSent || r.CredSSP.PubKeyAuthVerified {
				t.Error("credentials went out to a server that rejected the logon")
			}
			if !r.LogonAttempted {
				t.Error("LogonAttempted not set")
			}
		})
	}
}

func TestLabNegotiationFailures(t *testing.T) {
	for _, tc := range []struct {
		peer      string
		protocols negotiate.Protocol
		rdp       bool
		want      negotiate.FailureCode
	}{
		{"nla", negotiate.ProtocolSSL, false, negotiate.HybridRequiredByServer},
		{"nla", 0, true, negotiate.HybridRequiredByServer},
		{"tls", negotiate.ProtocolHybrid, false, negotiate.SSLRequiredByServer},
		{"rdp", negotiate.ProtocolSSL | negotiate.ProtocolHybrid, false, negotiate.SSLNotAllowedByServer},
		// A real misconfigured server: refuses even a request that offers SSL.
		{"nla-ext", negotiate.ProtocolSSL | negotiate.ProtocolHybrid | negotiate.ProtocolHybridEx, false, negotiate.SSLRequiredByServer},
	} {
		t.Run(tc.peer+"/"+tc.want.String(), func(t *testing.T) {
			r := runProbe(t, labtest.Peer(t, tc.peer), probe.Options{Protocols: tc.protocols, AllowStandardRDP: tc.rdp})
			var f *negotiate.NegotiationFailure
			if r.Failed != probe.PhaseNegotiate || !errors.As(r.Err, &f) || f.Code != tc.want {
				t.Fatalf("want RDP_NEG_FAILURE %v, got failed %q err %v", tc.want, r.Failed, r.Err)
			}
		})
	}
}

func TestLabWithoutNLA(t *testing.T) {
	for _, tc := range []struct {
		peer      string
		protocols negotiate.Protocol
		rdp       bool
		reached   probe.Phase
		selected  negotiate.Protocol
	}{
		{"tls", negotiate.ProtocolSSL | negotiate.ProtocolHybrid, false, probe.PhaseTLS, negotiate.ProtocolSSL},
		{"rdp", 0, true, probe.PhaseNegotiate, negotiate.ProtocolRDP},
		{"xrdp", negotiate.ProtocolSSL | negotiate.ProtocolHybrid, false, probe.PhaseTLS, negotiate.ProtocolSSL},
		{"xrdp-rdp", 0, true, probe.PhaseNegotiate, negotiate.ProtocolRDP},
	} {
		t.Run(tc.peer, func(t *testing.T) {
			r := runProbe(t, labtest.Peer(t, tc.peer), probe.Options{Protocols: tc.protocols, AllowStandardRDP: tc.rdp, Credentials: labCreds(true)})
			if r.Err != nil || r.Reached != tc.reached {
				t.Fatalf("want to reach %q cleanly, got reached %q err %v", tc.reached, r.Reached, r.Err)
			}
			if got := r.Negotiation.Selected(); got != tc.selected {
				t.Errorf("selected %v, want %v", got, tc.selected)
			}
			if r.LogonAttempted {
				t.Error("a logon was attempted on a server without NLA")
			}
		})
	}
}

// xrdp answers a HYBRID-only request by selecting PROTOCOL_RDP: it has not
// accepted NLA, whatever it answered.
func TestLabXrdpSelectsUnofferedProtocol(t *testing.T) {
	r := runProbe(t, labtest.Peer(t, "xrdp"), probe.Options{Protocols: negotiate.ProtocolHybrid})
	var m *probe.ProtocolMismatchError
	if r.Failed != probe.PhaseNegotiate || !errors.As(r.Err, &m) {
		t.Fatalf("want ProtocolMismatchError, got failed %q err %v", r.Failed, r.Err)
	}
	if m.Selected != negotiate.ProtocolRDP || m.Offered != negotiate.ProtocolHybrid {
		t.Errorf("mismatch %+v", m)
	}
}

func TestLabClosedPort(t *testing.T) {
	r := runProbe(t, labtest.Peer(t, "closed"), probe.Options{})
	if r.Failed != probe.PhaseConnect || !errors.Is(r.Err, syscall.ECONNREFUSED) {
		t.Fatalf("want ECONNREFUSED at connect, got failed %q err %v", r.Failed, r.Err)
	}
	if r.Host == "" || r.Port == 0 || !strings.Contains(labtest.Peer(t, "closed"), r.Host) {
		t.Errorf("target not split: host %q port %d", r.Host, r.Port)
	}
}

// The lab's FreeRDP certificate (CN=vm) and xrdp's snakeoil one
// (CN=localhost) are self-signed without a CA basic constraint, as Windows'
// own RDP certificates are (`openssl verify -CAfile c.pem c.pem` says OK).
func TestLabCertificatesSelfSigned(t *testing.T) {
	for _, peer := range []string{"nla", "tls", "xrdp"} {
		t.Run(peer, func(t *testing.T) {
			r := runProbe(t, labtest.Peer(t, peer), probe.Options{Depth: probe.PhaseTLS})
			if r.TLS == nil || r.TLS.Certificate == nil {
				t.Fatalf("no certificate: %v", r.Err)
			}
			if c := r.TLS.Certificate; !c.SelfSigned {
				t.Errorf("%s: certificate %q issued by %q not reported self-signed", peer, c.Subject, c.Issuer)
			}
			// By address, none of them is trusted: FreeRDP's chains to no
			// root, and neither holds an IP address. (Debian links xrdp's
			// snakeoil certificate into /etc/ssl/certs, so on a lab machine
			// it may be a system root; its name still fails.)
			if tr := r.TLS.Certificate.Trust; tr == nil || tr.Trusted || tr.NameMatches || tr.Name != r.Host ||
				tr.Error != probe.TrustUnknownAuthority && tr.Error != probe.TrustNameMismatch {
				t.Errorf("%s: trust %+v", peer, tr)
			}
		})
	}
}
