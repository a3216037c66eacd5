package sweep

import (
	"bytes"
	"crypto/tls"
	"encoding/csv"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/report"
)

// certResults are three servers probed by address: Remote Desktop's
// self-signed certificate (named after the host, not the address), an
// enterprise one for another name, and a trusted one that is not the
// pinned one.
func certResults() []*probe.Result {
	run := func(host string, c probe.CertInfo, err error) *probe.Result {
		r := &probe.Result{Target: host + ":3389", Host: host, Port: 3389, Start: testNow, Reached: probe.PhaseTLS,
			Offered:     negotiate.ProtocolSSL | negotiate.ProtocolHybrid,
			Negotiation: &probe.Negotiation{Offered: negotiate.ProtocolSSL | negotiate.ProtocolHybrid, Response: &negotiate.NegotiationResponse{SelectedProtocol: negotiate.ProtocolHybrid}},
			TLS:         &probe.TLSInfo{Version: tls.VersionTLS12, Certificate: &c}}
		c.NotBefore, c.NotAfter = testNow.AddDate(-1, 0, 0), testNow.AddDate(1, 0, 0)
		c.Trust.Chain = []probe.ChainCert{{Subject: c.Subject, NotBefore: c.NotBefore, NotAfter: c.NotAfter, SHA256: c.SHA256}}
		if err != nil {
			r.Reached, r.Failed, r.Err = probe.PhaseNegotiate, probe.PhaseTLS, err
		}
		return r
	}
	sha := func(b string) string { return strings.Repeat(b, 32) }
	return []*probe.Result{
		run("10.0.0.7", probe.CertInfo{Subject: "CN=RDS07", Issuer: "CN=RDS07", CommonName: "RDS07", SelfSigned: true, SHA256: sha("07"),
			Trust: &probe.CertTrust{Error: probe.TrustUnknownAuthority, ChainError: probe.TrustUnknownAuthority, Name: "10.0.0.7", PurposeOK: true}}, nil),
		run("10.0.0.8", probe.CertInfo{Subject: "CN=RDS08", Issuer: "CN=Corp CA", DNSNames: []string{"rds08.corp.example"}, SHA256: sha("08"),
			Trust: &probe.CertTrust{Error: probe.TrustNameMismatch, Name: "10.0.0.8", PurposeOK: true}}, nil),
		run("10.0.0.9", probe.CertInfo{Subject: "CN=RDS09", Issuer: "CN=Corp CA", DNSNames: []string{"10.0.0.9"}, SHA256: sha("09"),
			Trust: &probe.CertTrust{Trusted: true, Name: "10.0.0.9", NameMatches: true, PurposeOK: true, Pinned: sha("ff")}},
			&probe.CertNotTrustedError{Pinned: sha("ff"), Got: sha("09")}),
	}
}

func certReports() []*report.Report {
	var reps []*report.Report
	for _, r := range certResults() {
		reps = append(reps, report.New(r, classify.Classify(r)))
	}
	return reps
}

func TestCSVCertificateColumns(t *testing.T) {
	var buf bytes.Buffer
	w := NewCSV(&buf, func() time.Time { return testNow })
	for _, r := range append(certReports(), sampleReports(t)[1]) {
		if err := w.Write(r, LogonNone); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := func(row []string, name string) string { return row[slices.Index(CSVHeader, name)] }
	for i, want := range [][3]string{
		{"false", "unknown_authority", strings.Repeat("07", 32)},
		{"false", "name_mismatch", strings.Repeat("08", 32)},
		{"true", "", strings.Repeat("09", 32)},
		{"", "", ""}, // refused: no certificate
	} {
		r := rows[i+1]
		if got := [3]string{col(r, "cert_trusted"), col(r, "cert_trust_error"), col(r, "cert_sha256")}; got != want {
			t.Errorf("row %d (%s): %q, want %q", i+1, col(r, "target"), got, want)
		}
	}
}

func TestHTMLCertificateGroups(t *testing.T) {
	page := renderHTML(t, certReports(), &Summary{Total: 3, Stats: Stats{Done: 3, Classes: map[string]int{"ok": 2, "cert_not_trusted": 1}}})
	for _, want := range []string{
		`<details id="finding-cert_untrusted" open><summary>Certificate not trusted (2)</summary>`,
		`<details id="finding-cert_name_mismatch" open><summary>Certificate name mismatch (2)</summary>`,
		`<details id="finding-cert_self_signed"><summary>Self-signed certificate (1)</summary>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	group := func(id string) string {
		i := strings.Index(page, `id="finding-`+id+`"`)
		j := strings.Index(page[i:], "</details>")
		return page[i : i+j]
	}
	if g := group("cert_untrusted"); !strings.Contains(g, "10.0.0.7:3389") || !strings.Contains(g, "10.0.0.9:3389") || strings.Contains(g, "10.0.0.8") {
		t.Errorf("not-trusted group: %s", g)
	}
	if g := group("cert_name_mismatch"); !strings.Contains(g, "10.0.0.7:3389") || !strings.Contains(g, "10.0.0.8:3389") || strings.Contains(g, "10.0.0.9") {
		t.Errorf("name-mismatch group: %s", g)
	}
}
