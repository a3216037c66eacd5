package sweep

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/rdpprobe/rdpprobe/report"
)

// Writer is one report of a sweep. Write is called once per target, from
// one goroutine; Close once at the end, even after an interrupt.
type Writer interface {
	Write(rep *report.Report, logon string) error
	Close(sum *Summary) error
}

// Summary is the end of a sweep, for the reports that have one.
type Summary struct {
	Stats
	// Total is the number of targets in the list (skipped ones included).
	Total uint64
	// Targets describes the list as the user gave it.
	Targets string
	// Credentials: a logon was requested (-u).
	Credentials bool
	// User is the account of the logons (never a password).
	User string
	// MaxLogonFailures is the cap in force.
	MaxLogonFailures int
	// Resumed counts rows carried over from a resumed sweep's file.
	Resumed int
	// Merged is the number of sweeps' files rdpprobe report merged (0
	// for a sweep), Replaced the older results of a target it dropped.
	Merged, Replaced int
}

// Formats are the report formats a sweep writes.
var Formats = []string{"jsonl", "csv", "html"}

// FormatOf is the format a file name's extension asks for, or "".
func FormatOf(name string) string {
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, ".jsonl"), strings.HasSuffix(n, ".ndjson"), strings.HasSuffix(n, ".json"):
		return "jsonl"
	case strings.HasSuffix(n, ".csv"):
		return "csv"
	case strings.HasSuffix(n, ".html"), strings.HasSuffix(n, ".htm"):
		return "html"
	}
	return ""
}

// NewWriter returns the writer of format on w.
func NewWriter(format string, w io.Writer, now func() time.Time) (Writer, error) {
	switch format {
	case "jsonl":
		return NewJSONL(w), nil
	case "csv":
		return NewCSV(w, now), nil
	case "html":
		return NewHTML(w, now), nil
	}
	return nil, fmt.Errorf("unknown format %q (use %s)", format, strings.Join(Formats, ", "))
}

// JSONL writes one report.Report per line (docs/result.schema.json), each
// line in one Write so that a reader (or a crash) never sees half of one.
type JSONL struct {
	w   io.Writer
	buf bytes.Buffer
	enc *json.Encoder
}

// NewJSONL returns a JSONL writer on w; w should be unbuffered (a file):
// each line reaches it whole.
func NewJSONL(w io.Writer) *JSONL {
	j := &JSONL{w: w}
	j.enc = json.NewEncoder(&j.buf)
	return j
}

func (j *JSONL) Write(rep *report.Report, _ string) error {
	j.buf.Reset()
	if err := j.enc.Encode(rep); err != nil { // Encode ends the line
		return err
	}
	_, err := j.w.Write(j.buf.Bytes())
	return err
}

func (j *JSONL) Close(*Summary) error { return nil }

// CSVHeader is the CSV report's header; the columns are stable.
var CSVHeader = []string{
	"target", "host", "port", "addr", "class", "group", "ok", "phase", "detail",
	"selected_protocol", "tls_version", "cert_subject", "cert_not_after", "cert_days_left", "cert_self_signed",
	"credssp_server_version", "netbios_domain", "netbios_computer", "dns_domain", "dns_computer",
	"os_version", "clock_skew_s", "user", "logon", "findings", "error", "start", "duration_ms",
	"cert_trusted", "cert_trust_error", "cert_sha256",
}

// CSV writes one row per target, flushed at once. Text a server chose
// (names, certificate subject, errors) may start with "=", "+", "-" or
// "@", which spreadsheets run as a formula: such cells get a leading "'".
type CSV struct {
	w      *csv.Writer
	now    func() time.Time
	header bool
	rec    []string
}

func NewCSV(w io.Writer, now func() time.Time) *CSV {
	if now == nil {
		now = time.Now
	}
	return &CSV{w: csv.NewWriter(w), now: now}
}

func (c *CSV) Write(rep *report.Report, logon string) error {
	if !c.header {
		c.header = true
		if err := c.w.Write(CSVHeader); err != nil {
			return err
		}
	}
	f := facts(rep, c.now())
	t := safeCell
	port := ""
	if rep.Port != 0 {
		port = strconv.Itoa(rep.Port)
	}
	days := ""
	if f.certDays != nil {
		days = strconv.Itoa(*f.certDays)
	}
	credssp := ""
	if f.credssp > 0 {
		credssp = strconv.Itoa(f.credssp)
	}
	skew := ""
	if n := rep.NTLMJSON; n != nil && n.ClockSkewS != nil {
		skew = strconv.FormatFloat(math.Round(*n.ClockSkewS*1000)/1000, 'f', -1, 64)
	}
	var dnsDomain, dnsComputer string
	if n := rep.NTLMJSON; n != nil {
		dnsDomain, dnsComputer = n.DNSDomain, n.DNSComputer
	}
	c.rec = append(c.rec[:0],
		t(rep.Target), t(rep.Host), port, t(rep.Addr), rep.Class, rep.Group, strconv.FormatBool(rep.OK), rep.Phase, t(rep.Detail),
		f.selected, f.tlsVersion, t(f.certSubject), f.certNotAfter, days, f.certSelfSigned,
		credssp, t(f.nbDomain), t(f.nbComputer), t(dnsDomain), t(dnsComputer),
		t(f.osVersion), skew, t(rep.User), logon, strings.Join(f.findingIDs, ";"), t(rep.Error),
		rep.Start.UTC().Format(time.RFC3339Nano), strconv.FormatFloat(rep.DurationMS, 'f', -1, 64),
		f.certTrusted, f.certTrustError, f.certSHA256,
	)
	if err := c.w.Write(c.rec); err != nil {
		return err
	}
	c.w.Flush()
	return c.w.Error()
}

func (c *CSV) Close(*Summary) error {
	if !c.header { // an empty sweep still gets its header
		c.header = true
		c.w.Write(CSVHeader)
	}
	c.w.Flush()
	return c.w.Error()
}

// safeCell defuses spreadsheet formulas (OWASP "CSV injection").
func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// rowFacts are the columns the CSV and HTML reports derive from a report.
type rowFacts struct {
	selected       string
	tlsVersion     string
	certSubject    string
	certNotAfter   string // YYYY-MM-DD
	certDays       *int   // days until expiry (negative: expired)
	certSelfSigned string
	certTrusted    string // "true", "false", or "" when not judged
	certTrustError string
	certSHA256     string
	credssp        int
	nbDomain       string
	nbComputer     string
	osVersion      string
	findingIDs     []string
}

func facts(rep *report.Report, now time.Time) rowFacts {
	var f rowFacts
	if n := rep.Negotiation; n != nil {
		f.selected = strings.TrimPrefix(n.Selected, "PROTOCOL_")
		if n.FailureCode != "" {
			f.selected = "refused: " + n.FailureCode
		}
	}
	if t := rep.TLS; t != nil {
		f.tlsVersion = t.Version
		if c := t.Certificate; c != nil {
			f.certSubject = c.Subject
			f.certNotAfter = c.NotAfter.UTC().Format("2006-01-02")
			d := int(math.Floor(c.NotAfter.Sub(now).Hours() / 24))
			f.certDays = &d
			f.certSelfSigned = strconv.FormatBool(c.SelfSigned)
			if c.Trusted != nil {
				f.certTrusted = strconv.FormatBool(*c.Trusted)
			}
			f.certTrustError, f.certSHA256 = c.TrustError, c.SHA256
		}
	}
	if c := rep.CredSSP; c != nil {
		f.credssp = c.ServerVersion
	}
	if n := rep.NTLMJSON; n != nil {
		f.nbDomain, f.nbComputer, f.osVersion = n.NetBIOSDomain, n.NetBIOSComputer, n.OSVersion
	}
	for _, fi := range rep.Findings {
		f.findingIDs = append(f.findingIDs, fi.ID)
	}
	return f
}
