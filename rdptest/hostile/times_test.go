package hostile

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

// TestClockFields: the NTLM CHALLENGE's MsvAvTimestamp at and past the ends
// of what FILETIME, time.Duration and JSON can hold. A time more than a
// century off is a fact ("the server's clock field is invalid"), not a
// clock; every output stays valid and no skew overflows.
func TestClockFields(t *testing.T) {
	now := time.Now().UTC()
	for _, tc := range []struct {
		name    string
		ts      time.Time
		invalid bool
	}{
		{"filetime-0-1601", time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"filetime-1", time.Date(1601, 1, 1, 0, 0, 0, 100, time.UTC), true},
		{"year-1900", time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"101-years-behind", now.AddDate(-101, 0, 0), true},
		{"99-years-behind", now.AddDate(-99, 0, 0), false},
		{"an-hour-ahead", now.Add(time.Hour), false},
		{"99-years-ahead", now.AddDate(99, 0, 0), false},
		{"101-years-ahead", now.AddDate(101, 0, 0), true},
		{"year-9999", time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), true},
		{"year-10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"year-30000", time.Date(30000, 6, 1, 0, 0, 0, 0, time.UTC), true},
		{"near-filetime-max", time.Date(60000, 1, 1, 0, 0, 0, 0, time.UTC), true},
	} {
		for _, withCreds := range []bool{false, true} {
			name := tc.name
			if withCreds {
				name += "/logon"
			}
			t.Run(name, func(t *testing.T) {
				id := rdptest.DefaultNTLMIdentity()
				id.TargetInfo.Timestamp = tc.ts
				opt := probe.Options{}
				if withCreds {
					opt.Credentials = creds()
				}
				ru, srv := probeIt(t, rdptest.Scenario{NTLM: &id}, opt)
				n := ru.r.NTLM
				if n == nil {
					t.Fatalf("no NTLM facts: %v", ru.r.Err)
				}
				if got := n.ServerTimeInvalid != ""; got != tc.invalid {
					t.Errorf("ServerTimeInvalid %q, ServerTime %v: want invalid %v", n.ServerTimeInvalid, n.ServerTime, tc.invalid)
				}
				if tc.invalid && (!n.ServerTime.IsZero() || n.ClockSkew != 0) {
					t.Errorf("an invalid clock field still gave a time %v and a skew %v", n.ServerTime, n.ClockSkew)
				}
				for _, out := range [][]byte{ru.json, ru.text} {
					if bytes.Contains(out, []byte("2562047h")) {
						t.Errorf("an overflowed duration reached the output:\n%s", out)
					}
				}
				if tc.invalid && !strings.Contains(string(ru.text), "server clock field invalid") {
					t.Errorf("the text does not say the clock field is invalid:\n%s", ru.text)
				}
				noPasswordLeak(t, srv, false)
			})
		}
	}
}

// TestCertificateDates: a certificate not valid yet, one valid only from
// the last day GeneralizedTime can write, one from before UTCTime's range
// ended: a finding says so where it matters, and every output is valid.
func TestCertificateDates(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name        string
		o           rdptest.CertOptions
		notYetValid bool
	}{
		{"tomorrow", rdptest.CertOptions{NotBefore: now.Add(24 * time.Hour)}, true},
		{"year-9999", rdptest.CertOptions{NotBefore: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), Validity: 300 * 24 * time.Hour}, true},
		{"from-1950", rdptest.CertOptions{NotBefore: time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC), Validity: 200 * 365 * 24 * time.Hour}, false},
		{"expired", rdptest.CertOptions{Validity: -48 * time.Hour}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert, err := rdptest.NewCertificate(tc.o)
			if err != nil {
				t.Fatal(err)
			}
			sc := rdptest.Scenario{TLS: rdptest.TLSOptions{Certificate: &cert}}
			ru, srv := probeIt(t, sc, probe.Options{})
			found := false
			for _, f := range ru.v.Findings {
				found = found || f.ID == "cert_not_yet_valid"
			}
			if found != tc.notYetValid {
				t.Errorf("cert_not_yet_valid %v, want %v (findings %v)", found, tc.notYetValid, ru.v.Findings)
			}
			noPasswordLeak(t, srv, false)
		})
	}
}
