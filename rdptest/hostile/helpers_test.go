package hostile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/fixture"
	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
	"github.com/rdpprobe/rdpprobe/report"
)

// The bounds every hostile run must keep.
const (
	// grace is how far past its Timeout a probe may end: the Disconnect
	// Provider Ultimatum's own 500ms, and a loaded machine's scheduling.
	grace = time.Second
	// maxReportBytes bounds one JSON report and one text report. A sweep's
	// --resume refuses lines over 1 MiB; a healthy report is a few KiB.
	maxReportBytes = 256 << 10
	// maxHeapGrowth bounds the heap a finished probe leaves behind (its
	// Result included), after a GC.
	maxHeapGrowth = 8 << 20
	// maxFixtureBytes bounds a recording of one probe: 256 messages or
	// 1 MiB of them (probe/conn.go), written as hex with notes.
	maxFixtureBytes = 3 << 20
	// maxPeakRSS bounds the test process's peak resident set over the
	// whole suite (VmHWM): a flood must not make a probe hold gigabytes.
	maxPeakRSS = 512 << 20
)

// Short deadlines: a hostile server answers at once or never (but a CI
// machine's two loaded cores need some room for the TLS handshakes).
const (
	timeout      = 4 * time.Second
	phaseTimeout = 2 * time.Second
)

// TestMain makes rdptest's RSA keys before any test runs, so that no
// probe's deadline pays for their generation.
func TestMain(m *testing.M) {
	rdptest.LicenseKey()
	if _, err := rdptest.DefaultCertificate(); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

func creds() *probe.Credentials {
	return &probe.Credentials{User: rdptest.TestUser, Domain: rdptest.TestDomain, Password: rdptest.TestPassword}
}

// run is one hostile probe and everything made from it.
type run struct {
	r     *probe.Result
	v     classify.Verdict
	took  time.Duration
	json  []byte
	text  []byte
	color []byte
	nag   string
	fx    []byte // the recording, written
}

// probeIt starts srv (closed at the end of the test), probes it with opt
// under a recorder, and checks every bound on the run and its outputs.
func probeIt(t *testing.T, sc rdptest.Scenario, opt probe.Options) (*run, *rdptest.Server) {
	t.Helper()
	srv, err := rdptest.NewServer(sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if opt.Timeout == 0 {
		opt.Timeout = timeout
	}
	if opt.PhaseTimeout == 0 {
		opt.PhaseTimeout = phaseTimeout
	}
	rec := &fixture.Recorder{}
	opt.Recorder = rec

	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	start := time.Now()
	r := probe.Run(context.Background(), srv.Addr, opt)
	took := time.Since(start)
	v := classify.Classify(r)
	ru := &run{r: r, v: v, took: took}
	runtime.GC()
	runtime.ReadMemStats(&ms1)

	if took > opt.Timeout+grace {
		t.Errorf("the probe took %v, past its %v deadline and the %v grace", took, opt.Timeout, grace)
	}
	if grew := int64(ms1.HeapAlloc) - int64(ms0.HeapAlloc); grew > maxHeapGrowth {
		t.Errorf("the probe left %d bytes more on the heap, more than %d", grew, maxHeapGrowth)
	}
	runtime.KeepAlive(r)
	ru.check(t)

	var fx bytes.Buffer
	if err := rec.Fixture(map[string]string{"source": "rdptest hostile"}).Write(&fx); err != nil {
		t.Errorf("the recording does not write: %v", err)
	}
	if ru.fx = fx.Bytes(); len(ru.fx) > maxFixtureBytes {
		t.Errorf("the recording is %d bytes, more than %d", len(ru.fx), maxFixtureBytes)
	}
	checkPeakRSS(t)
	return ru, srv
}

// check renders the run every way the command does and holds each form to
// its rules.
func (ru *run) check(t *testing.T) {
	t.Helper()
	rep := report.New(ru.r, ru.v)
	j, err := json.Marshal(rep)
	if err != nil {
		t.Fatalf("the report does not encode as JSON: %v", err)
	}
	var back report.Report
	if err := json.Unmarshal(j, &back); err != nil || back.Class != string(ru.v.Class.ID) {
		t.Errorf("the JSON report does not parse back (%v): %.300s", err, j)
	}
	ru.json = j
	var text, color bytes.Buffer
	report.WriteSecurityLayers(&text, rep, false)
	report.WriteText(&text, rep, false)
	report.WriteText(&color, rep, true)
	ru.text, ru.color = text.Bytes(), color.Bytes()
	ru.nag, _ = report.Nagios(rep, ru.v.NagiosCode(), report.NagiosOptions{})
	for what, n := range map[string]int{"JSON report": len(j), "text report": text.Len()} {
		if n > maxReportBytes {
			t.Errorf("the %s is %d bytes, more than %d", what, n, maxReportBytes)
		}
	}
	if bad := unsafeText(ru.text, true); bad != "" {
		t.Errorf("the text output holds %s:\n%s", bad, ru.text)
	}
	// With colour, the only escapes are the report's own SGR sequences.
	if bad := unsafeText(stripSGR(ru.color), true); bad != "" {
		t.Errorf("the coloured text output holds %s", bad)
	}
	if bad := unsafeText([]byte(ru.nag), false); bad != "" || strings.Count(ru.nag, "|") != 1 {
		t.Errorf("the Nagios line holds %s or is not one status with one perfdata '|': %q", bad, ru.nag)
	}
}

// unsafeText names the first byte or rune a terminal would act on: a C0
// control (newline allowed when lines is true), DEL, a C1 control, a
// bidi, line or paragraph control, or invalid UTF-8; "" if none.
func unsafeText(b []byte, lines bool) string {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			return "invalid UTF-8 at byte " + strconv.Itoa(i)
		case r == '\n' && lines:
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
			return "control " + strconv.QuoteRune(r) + " at byte " + strconv.Itoa(i)
		case r == 0x061c, r == 0x200e, r == 0x200f, r == 0x2028, r == 0x2029,
			r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return "bidi or line control " + strconv.QuoteRune(r) + " at byte " + strconv.Itoa(i)
		}
		i += n
	}
	return ""
}

// stripSGR removes the colour sequences report.WriteText writes itself.
func stripSGR(b []byte) []byte {
	for _, sgr := range []string{"\x1b[32m", "\x1b[33m", "\x1b[31m", "\x1b[1m", "\x1b[0m"} {
		b = bytes.ReplaceAll(b, []byte(sgr), nil)
	}
	return b
}

// checkPeakRSS holds the process's peak resident set (VmHWM) to its bound.
func checkPeakRSS(t *testing.T) {
	t.Helper()
	if hwm := peakRSS(); hwm > maxPeakRSS {
		t.Errorf("peak RSS %d bytes, more than %d", hwm, maxPeakRSS)
	}
}

// peakRSS is VmHWM of /proc/self/status in bytes, 0 where there is none.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// noPasswordLeak: the server never received a password it was not owed.
// A server got the password only if it proved its TLS key in CredSSP
// (rdptest then notes "received credentials"), or optIn says the probe
// was told to send it for autologon.
func noPasswordLeak(t *testing.T, srv *rdptest.Server, optIn bool) {
	t.Helper()
	srv.WaitConns(1, 2*time.Second)
	for _, e := range srv.Events() {
		switch {
		case e.Kind == rdptest.EventClientInfo && strings.Contains(e.Detail, "with a password") && !optIn:
			t.Errorf("a server nothing authenticated got the password in the Client Info: %v", e)
		case e.Kind == rdptest.EventCredentials && !srv.Saw(rdptest.EventPubKeyAuth, "verified"):
			t.Errorf("the server got TSCredentials without proving its key: %v", e)
		}
	}
}

// tlsSession is a TLS-only server that plays s after the Client Info.
func tlsSession(s rdptest.Session) rdptest.Scenario {
	return rdptest.Scenario{Negotiation: rdptest.Negotiation{Accept: negotiate.ProtocolSSL}, Session: &s}
}
