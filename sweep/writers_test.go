package sweep

import (
	"bytes"
	"crypto/tls"
	"encoding/csv"
	"encoding/json"
	"html"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/report"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// hostile is a server whose NTLM names try to run script in the HTML
// report and a formula in a spreadsheet.
func sampleResults() []*probe.Result {
	nla := &probe.Result{
		Target: "10.0.0.5:3389", Host: "10.0.0.5", Port: 3389, Addr: "10.0.0.5:3389", Start: testNow,
		Offered: negotiate.ProtocolSSL | negotiate.ProtocolHybrid, Reached: probe.PhaseNTLMInfo,
		Timings: []probe.PhaseTiming{{Phase: probe.PhaseConnect, Duration: time.Millisecond}, {Phase: probe.PhaseNegotiate, Duration: time.Millisecond},
			{Phase: probe.PhaseTLS, Duration: 3 * time.Millisecond}, {Phase: probe.PhaseNTLMInfo, Duration: 2 * time.Millisecond}},
		Negotiation: &probe.Negotiation{Offered: negotiate.ProtocolSSL | negotiate.ProtocolHybrid,
			Response: &negotiate.NegotiationResponse{SelectedProtocol: negotiate.ProtocolHybrid}},
		TLS: &probe.TLSInfo{Version: tls.VersionTLS10, CipherSuite: tls.TLS_RSA_WITH_AES_128_CBC_SHA,
			Certificate: &probe.CertInfo{Subject: "CN=<b>rds01</b>", Issuer: "CN=<b>rds01</b>", NotBefore: testNow.AddDate(-1, 0, 0),
				NotAfter: testNow.AddDate(0, 0, 12), SelfSigned: true, KeyType: "RSA", KeyBits: 2048, SHA256: "ab", SignatureAlg: "SHA256-RSA"}},
		NTLM: &probe.NTLMInfo{NetBIOSDomain: "CORP", NetBIOSComputer: "<script>alert(1)</script>", DNSDomain: "=cmd|' /C calc'!A0",
			DNSComputer: "rds01.corp.example", OSVersion: "10.0.17763"},
		CredSSP: &probe.CredSSPInfo{ClientVersion: 6, ServerVersion: 6},
	}
	refused := &probe.Result{Target: "10.0.0.6:3389", Host: "10.0.0.6", Port: 3389, Start: testNow, Failed: probe.PhaseConnect,
		Timings: []probe.PhaseTiming{{Phase: probe.PhaseConnect, Duration: time.Millisecond}},
		Err:     &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}}
	return []*probe.Result{nla, refused}
}

func sampleReports(testing.TB) []*report.Report {
	var reps []*report.Report
	for _, r := range sampleResults() {
		reps = append(reps, report.New(r, classify.Classify(r)))
	}
	return reps
}

func TestJSONLLinesAreReports(t *testing.T) {
	var buf bytes.Buffer
	w := NewJSONL(&buf)
	reps := sampleReports(t)
	for _, r := range reps {
		if err := w.Write(r, ""); err != nil {
			t.Fatal(err)
		}
	}
	schema := loadSchema(t)
	required := schema["required"].([]any)
	props := schema["properties"].(map[string]any)
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(reps) {
		t.Fatalf("%d lines for %d reports", len(lines), len(reps))
	}
	for i, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v", i+1, err)
		}
		for _, k := range required {
			if _, ok := m[k.(string)]; !ok {
				t.Errorf("line %d lacks required %q", i+1, k)
			}
		}
		for k := range m {
			if _, ok := props[k]; !ok {
				t.Errorf("line %d has %q, which the schema does not", i+1, k)
			}
		}
		if m["target"] != reps[i].Target {
			t.Errorf("line %d is target %v", i+1, m["target"])
		}
		// The same document as --output json: the same bytes compacted.
		want, _ := json.Marshal(reps[i])
		if line != string(want) {
			t.Errorf("line %d differs from the report's JSON", i+1)
		}
	}
}

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../docs/result.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCSV(t *testing.T) {
	var buf bytes.Buffer
	w := NewCSV(&buf, func() time.Time { return testNow })
	for _, r := range sampleReports(t) {
		if err := w.Write(r, LogonNone); err != nil {
			t.Fatal(err)
		}
	}
	// Flushed per row: the rows are there before Close.
	rows, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || !slices.Equal(rows[0], CSVHeader) {
		t.Fatalf("rows %q", rows)
	}
	col := func(row []string, name string) string { return row[slices.Index(CSVHeader, name)] }
	r := rows[1]
	for name, want := range map[string]string{
		"target": "10.0.0.5:3389", "class": "ok", "selected_protocol": "HYBRID", "tls_version": "TLS 1.0",
		"cert_not_after": "2026-03-13", "cert_days_left": "12", "credssp_server_version": "6",
		"netbios_domain": "CORP", "netbios_computer": "<script>alert(1)</script>", "dns_domain": "'=cmd|' /C calc'!A0",
		"os_version": "10.0.17763",
	} {
		if got := col(r, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if f := col(r, "findings"); !strings.Contains(f, "tls_weak_version") || !strings.Contains(f, "cert_expiring") {
		t.Errorf("findings %q", f)
	}
	if got := col(rows[2], "class"); got != "tcp_refused" {
		t.Errorf("second row class %q", got)
	}
	var empty bytes.Buffer
	NewCSV(&empty, nil).Close(nil)
	if strings.TrimSpace(empty.String()) != strings.Join(CSVHeader, ",") {
		t.Errorf("an empty sweep's CSV is %q", empty.String())
	}
}

func renderHTML(t *testing.T, reps []*report.Report, sum *Summary) string {
	t.Helper()
	var buf bytes.Buffer
	h := NewHTML(&buf, func() time.Time { return testNow })
	for _, r := range reps {
		if err := h.Write(r, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Close(sum); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestHTML(t *testing.T) {
	reps := sampleReports(t)
	sum := &Summary{Total: 3, Stats: Stats{Done: 2, Classes: map[string]int{"ok": 1, "tcp_refused": 1}, Interrupted: true,
		LogonsStopped: "3 failed logons <b>reached</b>"}, Credentials: true, User: `CORP\alice`, MaxLogonFailures: 3}
	page := renderHTML(t, reps, sum)
	for _, want := range []string{
		`data-class="ok" data-count="1"`, `data-class="tcp_refused" data-count="1"`,
		`id="partial"`, `id="logons-stopped"`, `3 failed logons &lt;b&gt;reached&lt;/b&gt;`,
		`&lt;script&gt;alert(1)&lt;/script&gt;`, `CN=&lt;b&gt;rds01&lt;/b&gt;`,
		`id="finding-cert_expiring"`, `id="finding-tls_weak_version"`, `<table id="hosts" data-rows="2">`,
		`data-target="10.0.0.5:3389"`, `class="nw soon"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	plain := html.UnescapeString(page)
	if c, ok := classify.Lookup("tcp_refused"); ok && c.Fix != "" && !strings.Contains(plain, c.Fix) {
		t.Errorf("page lacks the fix of tcp_refused")
	}
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<b>rds01") || strings.Contains(page, "<b>reached") {
		t.Error("server text reached the page unescaped")
	}
	if n := strings.Count(page, "<script"); n != 1 {
		t.Errorf("%d script elements, want 1 (the page's own)", n)
	}
	if regexp.MustCompile(`(?i)(src|href)=["']?(https?:)?//`).MatchString(page) {
		t.Error("the page refers to an external URL")
	}
	// The CSP's hashes must match the style and script actually written,
	// or a browser runs neither.
	for _, tag := range []string{"style", "script"} {
		m := regexp.MustCompile(`(?s)<` + tag + `>(.*?)</` + tag + `>`).FindStringSubmatch(page)
		if m == nil || !strings.Contains(plain, cspHash(m[1])) {
			t.Errorf("the %s's hash is not in the CSP", tag)
		}
	}
	// CredSSP 6 is no problem: no "unpatched" group for it.
	if strings.Contains(page, `id="finding-credssp_unpatched"`) {
		t.Error("a CredSSP 6 server is listed as unpatched")
	}
}

func TestHTMLCapsUnreachableRows(t *testing.T) {
	var buf bytes.Buffer
	h := NewHTML(&buf, func() time.Time { return testNow })
	h.maxUnrch = 5
	refused := sampleReports(t)[1]
	for i := range 12 {
		r := *refused
		r.Target = list(12)[i]
		h.Write(&r, "")
	}
	h.Write(sampleReports(t)[0], "")
	h.Close(&Summary{Stats: Stats{Classes: map[string]int{"tcp_refused": 12, "ok": 1}}})
	page := buf.String()
	if !strings.Contains(page, `data-rows="6"`) || !strings.Contains(page, "7 unreachable targets are not listed") {
		t.Fatal("the unreachable rows were not capped with a note")
	}
}

// TestHTMLEscapesControls: html/template escapes markup, not the controls
// and bidi overrides a server can put in its names; the page shows them as
// the text form does (\x1b, \u202e), so no row is reordered or garbled.
func TestHTMLEscapesControls(t *testing.T) {
	r := sampleResults()[0]
	r.NTLM.NetBIOSDomain, r.NTLM.NetBIOSComputer, r.NTLM.OSVersion = "CORP\x1b[2J", "\u202eexe.txt", "10\x07"
	r.User = `CORP\alice` // a domain mismatch finding quotes the names
	rep := report.New(r, classify.Classify(r))
	page := renderHTML(t, []*report.Report{rep}, &Summary{Total: 1, Stats: Stats{Done: 1}})
	for _, raw := range []string{"\x1b", "\u202e", "\x07"} {
		if strings.Contains(page, raw) {
			t.Errorf("the page holds a raw %q", raw)
		}
	}
	for _, want := range []string{`CORP\x1b[2J`, `\u202eexe.txt`, `10\x07`} {
		if !strings.Contains(html.UnescapeString(page), want) {
			t.Errorf("the page does not show %s", want)
		}
	}
}

// TestHTMLStandardRDPAndBars: servers with standard RDP security only are
// a finding group of their own and are listed as NLA not enforced; each
// class's bar has its group's colour class and a width for its count.
func TestHTMLStandardRDPAndBars(t *testing.T) {
	rdpOnly := &report.Report{Target: "10.0.0.7:3389", Class: "tls_not_allowed", Group: "negotiation",
		Negotiation: &report.NegotiationJSON{Offered: []string{"PROTOCOL_SSL", "PROTOCOL_HYBRID"}, FailureCode: "SSL_NOT_ALLOWED_BY_SERVER"}}
	xrdp := &report.Report{Target: "10.0.0.8:3389", Class: "security_layer_mismatch", Group: "negotiation",
		Negotiation: &report.NegotiationJSON{Offered: []string{"PROTOCOL_HYBRID"}, Selected: "PROTOCOL_RDP"}}
	reps := append(sampleReports(t), rdpOnly, xrdp)
	page := renderHTML(t, reps, &Summary{Total: 4, Stats: Stats{Done: 4, Classes: map[string]int{"ok": 1, "tcp_refused": 1, "tls_not_allowed": 1, "security_layer_mismatch": 1}}})
	for _, id := range []string{"standard_rdp_only", "nla_not_enforced"} {
		group := regexp.MustCompile(`(?s)<details id="finding-` + id + `"[^>]*>.*?</details>`).FindString(page)
		for _, target := range []string{"10.0.0.7:3389", "10.0.0.8:3389"} {
			if !strings.Contains(group, target) {
				t.Errorf("group %s lacks %s:\n%s", id, target, group)
			}
		}
	}
	for _, want := range []string{`<rect class="fill b-unreachable" width="140"`, `<rect class="fill b-negotiation" width="140"`, `.b-unreachable{fill:#6b7280}`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(page, "<meter") || strings.Contains(page, "overflow-wrap:anywhere") {
		t.Error("a meter (always green) or a mid-word break is back")
	}
}
