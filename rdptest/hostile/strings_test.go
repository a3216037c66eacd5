package hostile

import (
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rdpprobe/rdpprobe/negotiate/ntlm"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
	"github.com/rdpprobe/rdpprobe/report"
)

// payloads are the bytes a server can put in a name to clear a screen,
// forge a line or a Nagios status, or reorder text.
var payloads = map[string]string{
	"clear-screen": "\x1b[2J\x1b[H",
	"carriage":     "evil\rOK ok",
	"forged-line":  "a\nRDP OK - ok: forged | time=0s",
	"bell-nul-del": "bell\x07nul\x00del\x7f",
	"rlo":          "\u202eexe.txt",
	"isolate":      "\u2066isolate\u2069",
	"c1-csi":       "c1\u009b31m",
	"ls-ps":        "ls\u2028ps\u2029",
	"bad-utf8":     "bad\xffutf8",
	"pipe":         "pipe|perf=1",
	"osc-title":    "\x1b]0;owned\x07",
}

// shows checks that the payload reached the text output, escaped: the
// test proves nothing if the server's string never got there.
func shows(t *testing.T, ru *run, payload string) {
	t.Helper()
	if !utf8.ValidString(payload) {
		return // the wire form (UTF-16, UTF8String) changed it on the way
	}
	if e := report.Escape(payload); !strings.Contains(string(ru.text), e) {
		t.Errorf("the text output does not show the payload %q (escaped %q):\n%s", payload, e, ru.text)
	}
}

// ascii reports whether s can go in an IA5String (a certificate's DNS SAN).
func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] > 0x7f {
			return false
		}
	}
	return true
}

// TestInjectedNTLMNames: every name of the NTLM CHALLENGE carries the
// payload, with and without a logon (a logon's detail quotes the names:
// domain mismatch).
func TestInjectedNTLMNames(t *testing.T) {
	fields := map[string]func(*rdptest.NTLMIdentity, string){
		"target-name":     func(id *rdptest.NTLMIdentity, s string) { id.TargetName = s },
		"netbios-domain":  func(id *rdptest.NTLMIdentity, s string) { id.TargetInfo.NbDomainName = s },
		"netbios-name":    func(id *rdptest.NTLMIdentity, s string) { id.TargetInfo.NbComputerName = s },
		"dns-domain":      func(id *rdptest.NTLMIdentity, s string) { id.TargetInfo.DNSDomainName = s },
		"dns-computer":    func(id *rdptest.NTLMIdentity, s string) { id.TargetInfo.DNSComputerName = s },
		"dns-tree":        func(id *rdptest.NTLMIdentity, s string) { id.TargetInfo.DNSTreeName = s },
		"every-name-long": nil,
	}
	for field, set := range fields {
		for pname, payload := range payloads {
			for _, withCreds := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/creds=%v", field, pname, withCreds), func(t *testing.T) {
					id := rdptest.DefaultNTLMIdentity()
					if set != nil {
						set(&id, payload)
					} else {
						// As long as a CHALLENGE can carry: each name a few KiB.
						long := strings.Repeat(payload, 4096/len(payload)+1)
						id.TargetName = long
						id.TargetInfo = ntlm.TargetInfo{NbDomainName: long, NbComputerName: long, DNSDomainName: long, DNSComputerName: long, DNSTreeName: long}
					}
					opt := probe.Options{}
					if withCreds {
						opt.Credentials = creds() // no such account: the logon fails, and its detail names the server
					}
					ru, srv := probeIt(t, rdptest.Scenario{NTLM: &id}, opt)
					if ru.r.NTLM == nil {
						t.Fatalf("no NTLM facts: %v", ru.r.Err)
					}
					if field != "target-name" {
						shows(t, ru, payload)
					}
					noPasswordLeak(t, srv, false)
				})
			}
		}
	}
}

// TestInjectedCertificate: the certificate's subject, issuer and SANs
// carry the payload; the TLS-only server then plays a session, so the
// text shows every certificate line.
func TestInjectedCertificate(t *testing.T) {
	for pname, payload := range payloads {
		for _, field := range []string{"subject", "issuer", "san", "many-sans"} {
			t.Run(field+"/"+pname, func(t *testing.T) {
				o := rdptest.CertOptions{CommonName: "RDS01"}
				if !utf8.ValidString(payload) && (field == "subject" || field == "issuer") {
					t.Skip("a certificate's UTF8String must be UTF-8 (asn1 refuses to write it otherwise)")
				}
				switch field {
				case "subject":
					o.CommonName = payload
				case "issuer":
					ca, err := rdptest.NewCA(rdptest.CAOptions{Name: payload})
					if err != nil {
						t.Fatal(err)
					}
					o.Issuer = ca
				case "san", "many-sans":
					if !ascii(payload) {
						t.Skip("a DNS SAN is an IA5String: ASCII only")
					}
					o.DNSNames = []string{payload, "rds01.corp.example"}
					if field == "many-sans" {
						// As many as the 256 KiB a TLS client takes of a
						// Certificate message.
						o.DNSNames = nil
						for i := 0; len(o.DNSNames)*(len(payload)+8) < 200<<10; i++ {
							o.DNSNames = append(o.DNSNames, fmt.Sprintf("%s%d", payload, i))
						}
					}
				}
				cert, err := rdptest.NewCertificate(o)
				if err != nil {
					t.Fatal(err)
				}
				sc := tlsSession(rdptest.Session{})
				sc.TLS = rdptest.TLSOptions{Certificate: &cert, MinVersion: tls.VersionTLS12}
				ru, srv := probeIt(t, sc, probe.Options{Depth: probe.PhaseSession, Credentials: creds()})
				if ru.r.TLS == nil || ru.r.TLS.Certificate == nil {
					t.Fatalf("no certificate facts: %v", ru.r.Err)
				}
				shown := payload
				if field == "subject" || field == "issuer" {
					shown = strings.ReplaceAll(payload, ";", `\;`) // RFC 2253 escapes it in a distinguished name
				}
				shows(t, ru, shown)
				if field == "many-sans" && ru.r.TLS.Certificate.NamesNotKept == 0 {
					t.Errorf("%d SANs kept, none counted as not kept", len(ru.r.TLS.Certificate.DNSNames))
				}
				noPasswordLeak(t, srv, false)
			})
		}
	}
}

// TestInjectedLicence: the LICENSE_REQUEST's company and product carry
// the payload.
func TestInjectedLicence(t *testing.T) {
	for pname, payload := range payloads {
		for _, field := range []string{"company", "product", "both-long"} {
			t.Run(field+"/"+pname, func(t *testing.T) {
				s := rdptest.Session{LicenseRequest: true, PlatformChallenge: true}
				switch field {
				case "company":
					s.LicenseCompany, s.LicenseProduct = payload, "A02"
				case "product":
					s.LicenseCompany, s.LicenseProduct = "Microsoft Corporation", payload
				default:
					// As long as one unfragmented MCS PDU carries (16 KiB) in
					// UTF-16: about 3,500 characters each.
					long := strings.Repeat(payload, 3500/len(payload)+1)[:3500]
					s.LicenseCompany, s.LicenseProduct = strings.ToValidUTF8(long, "?"), strings.ToValidUTF8(long, "?")
				}
				ru, srv := probeIt(t, tlsSession(s), probe.Options{Depth: probe.PhaseSession, Credentials: creds()})
				if l := ru.r.Session.License; l == nil || l.CompanyName == "" {
					t.Fatalf("no licence facts: %+v, err %v", ru.r.Session, ru.r.Err)
				}
				if field != "both-long" {
					shown, _, _ := strings.Cut(payload, "\x00") // a licence string ends at its NUL
					shows(t, ru, shown)
				}
				noPasswordLeak(t, srv, false)
			})
		}
	}
}
