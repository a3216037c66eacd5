package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/fixture"
	"github.com/rdpprobe/rdpprobe/internal/labtest"
	"github.com/rdpprobe/rdpprobe/internal/textwrap"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
	"github.com/rdpprobe/rdpprobe/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from what the code writes now")

// newReport is the one place the tests build a Report.
func newReport(r *probe.Result, v classify.Verdict, opt probe.Options) *report.Report {
	return report.New(r, v)
}

// stableAddr stands for the loopback address a test server happened to get.
const stableAddr = "127.0.0.1:3389"

// stabilize replaces what changes from run to run (the clock, durations,
// the replay's fresh certificate, the negotiated cipher suite, the clock
// skew measured against this machine) with fixed values, before the
// Result is classified, so that the verdict and the report are the same
// on every run. The server's own words are left alone.
func stabilize(r *probe.Result) {
	r.Start = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if r.NTLM != nil && !r.NTLM.ServerTime.IsZero() {
		r.Start, r.NTLM.ClockSkew = r.NTLM.ServerTime, 0
	}
	for i := range r.Timings {
		r.Timings[i].Duration = time.Duration(i+1) * 1500 * time.Microsecond
	}
	r.Port = 3389
	stableTLS := func(t *probe.TLSInfo) {
		if t == nil {
			return
		}
		t.CipherSuite = 0x1301 // TLS_AES_128_GCM_SHA256: Go's choice depends on the CPU's AES support
		if c := t.Certificate; c != nil {
			c.NotBefore, c.NotAfter = r.Start.Add(-time.Hour), r.Start.Add(365*24*time.Hour)
			c.SHA256 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
			if t := c.Trust; t != nil {
				for i := range t.Chain {
					t.Chain[i].NotBefore, t.Chain[i].NotAfter, t.Chain[i].SHA256 = c.NotBefore, c.NotAfter, c.SHA256
				}
			}
		}
	}
	stableTLS(r.TLS)
	if g := r.Gateway; g != nil {
		// The replay's gateway listens on a port of the moment.
		g.Address, g.Host, g.Port, g.Addr = "gw.corp.example.com", "gw.corp.example.com", 443, "192.0.2.1:443"
		stableTLS(g.TLS)
		if t := g.TLS; t != nil && t.Certificate != nil && t.Certificate.Trust != nil {
			t.Certificate.Trust.Name = g.Host // the replay's gateway is dialled by its loopback address
		}
	}
}

// daysLeft is the one part of the text form that counts from today.
var daysLeft = regexp.MustCompile(`\(-?\d+ days left\)`)

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what the code writes now (go test ./report -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// writeBoth renders rep in its JSON and text forms, with the server's
// address replaced by stableAddr.
func writeBoth(t *testing.T, rep *report.Report, addr string) (jsonForm, textForm []byte) {
	t.Helper()
	var j bytes.Buffer
	enc := json.NewEncoder(&j)
	enc.SetIndent("", "  ") // as rdpprobe --output json
	if err := enc.Encode(rep); err != nil {
		t.Fatal(err)
	}
	var txt bytes.Buffer
	report.WriteText(&txt, rep, false)
	fix := func(b []byte) []byte {
		if addr == "" {
			return b
		}
		return bytes.ReplaceAll(b, []byte(addr), []byte(stableAddr))
	}
	return fix(j.Bytes()), daysLeft.ReplaceAll(fix(txt.Bytes()), []byte("(N days left)"))
}

// writeBrief renders rep's brief text form at 80 columns, as a terminal
// of that width would show it.
func writeBrief(t *testing.T, rep *report.Report, addr string) []byte {
	t.Helper()
	var txt bytes.Buffer
	tw := textwrap.NewWriter(&txt, 80)
	report.WriteBrief(tw, rep, false, 80)
	tw.Flush()
	b := txt.Bytes()
	if addr != "" {
		b = bytes.ReplaceAll(b, []byte(addr), []byte(stableAddr))
	}
	return daysLeft.ReplaceAll(b, []byte("(N days left)"))
}

// TestGolden writes one Report per group of classes, from a recorded
// fixture replayed to the probe (or, for unreachable, the lab's "closed"
// address, where nothing listens, lab or no lab), in all three forms, and
// compares them with testdata/NAME.json, NAME.txt and NAME.brief.txt (NAME
// is the group's, unless the case names its own).
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		group, class string
		fixture      string // testdata/fixtures name; "" probes labtest's "closed"
		name         string // the golden files' name when not the group's
	}{
		{"ok", "ok", "rdptest-session-logged-on", ""},
		{"ok", "ok", "rdptest-std-level-none", "ok-standard-rdp"},
		{"unverified", "credentials_not_verified", "rdptest-tls-only-credentials-not-verified", ""},
		{"unreachable", "tcp_refused", "", ""},
		{"negotiation", "nla_required", "rdptest-nla-required", ""},
		{"authentication", "account_locked_out", "rdptest-account-locked-out", ""},
		{"server", "no_license_server", "rdptest-session-errinfo-no-license-server", ""},
		{"protocol", "protocol_error", "rdptest-garbage-confirm", ""},
		// Through an RD Gateway, whose part has lines of its own.
		{"authentication", "gateway_cap_denied", "rdptest-gateway-cap-denied", "gateway-authentication"},
	} {
		if tc.name == "" {
			tc.name = tc.group
		}
		t.Run(tc.name, func(t *testing.T) {
			var (
				r   *probe.Result
				opt probe.Options
			)
			if tc.fixture == "" {
				opt = probe.Options{PhaseTimeout: time.Second, Timeout: 5 * time.Second}
				r = probe.Run(context.Background(), labtest.Peer(t, "closed"), opt)
			} else {
				fx, err := fixture.ReadFile(filepath.Join("..", "testdata", "fixtures", tc.fixture+".fixture"))
				if err != nil {
					t.Fatal(err)
				}
				if r, opt, err = rdptest.ProbeReplay(context.Background(), fx); err != nil {
					t.Fatal(err)
				}
			}
			addr := "" // no address to replace when the run ended before the target (a gateway's refusal)
			if r.Host != "" {
				addr = net.JoinHostPort(r.Host, strconv.Itoa(r.Port))
			}
			stabilize(r)
			v := classify.Classify(r)
			if string(v.Class.ID) != tc.class || string(v.Class.Group) != tc.group {
				t.Fatalf("class %s (group %s), want %s (group %s): %v", v.Class.ID, v.Class.Group, tc.class, tc.group, r.Err)
			}
			rep := newReport(r, v, opt)
			j, txt := writeBoth(t, rep, addr)
			golden(t, tc.name+".json", j)
			golden(t, tc.name+".txt", txt)
			brief := writeBrief(t, rep, addr)
			golden(t, tc.name+".brief.txt", brief)
			// The brief form fits a screen of 80 columns, and its first
			// line is the verdict.
			lines := strings.Split(strings.TrimSuffix(string(brief), "\n"), "\n")
			if len(lines) > 24 || !strings.Contains(lines[0], tc.class) {
				t.Errorf("the brief form is %d lines, starting %q", len(lines), lines[0])
			}
			for _, l := range lines {
				if n := utf8.RuneCountInString(l); n > 80 {
					t.Errorf("a brief line of %d columns: %q", n, l)
				}
			}
		})
	}
}

// The text form says how the certificate check went, in words from the
// JSON's facts: the verdict, the name, the chain, the pin.
func TestCertificateText(t *testing.T) {
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	chain := []probe.ChainCert{
		{Subject: "CN=RDS01", Issuer: "CN=Corp Issuing CA", NotAfter: start.AddDate(1, 0, 0), SHA256: strings.Repeat("11", 32)},
		{Subject: "CN=Corp Issuing CA", Issuer: "CN=Corp Root CA", NotAfter: start.AddDate(5, 0, 0), SHA256: strings.Repeat("22", 32)},
		{Subject: "CN=Corp Root CA", Issuer: "CN=Corp Root CA", NotAfter: start.AddDate(10, 0, 0), SHA256: strings.Repeat("33", 32)},
	}
	for _, tc := range []struct {
		name  string
		trust probe.CertTrust
		want  []string
	}{
		{"trusted, pinned", probe.CertTrust{Trusted: true, Name: "rds01.corp.example.com", NameMatches: true, PurposeOK: true, Chain: chain,
			Pinned: strings.Repeat("11", 32), PinMatches: true},
			[]string{"trusted; name rds01.corp.example.com in the certificate; revocation not checked",
				"chain CN=RDS01 < CN=Corp Issuing CA < CN=Corp Root CA", "sha256 " + strings.Repeat("11", 32) + " (the pinned one)"}},
		{"wrong name, another pin", probe.CertTrust{Error: probe.TrustNameMismatch, Name: "10.0.0.5", PurposeOK: true, Chain: chain,
			Pinned: strings.Repeat("ab", 32)},
			[]string{"not trusted: name mismatch; name 10.0.0.5 not in the certificate", ", not the pinned " + strings.Repeat("ab", 32)}},
	} {
		trust := tc.trust
		r := &probe.Result{Target: "rds01.corp.example.com", Start: start, TLS: &probe.TLSInfo{Certificate: &probe.CertInfo{
			Subject: "CN=RDS01", Issuer: "CN=Corp Issuing CA", NotBefore: start, NotAfter: start.AddDate(1, 0, 0),
			SHA256: strings.Repeat("11", 32), Trust: &trust}}}
		rep := report.New(r, classify.Classify(r))
		if c := rep.TLS.Certificate; *c.Trusted != trust.Trusted || c.ChainNotAfter == nil || !c.ChainNotAfter.Equal(chain[0].NotAfter) || len(c.Chain) != 3 {
			t.Errorf("%s: JSON %+v", tc.name, c)
		}
		var b bytes.Buffer
		report.WriteText(&b, rep, false)
		for _, w := range tc.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s: text lacks %q:\n%s", tc.name, w, b.String())
			}
		}
	}
}
