package hostile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
	"github.com/rdpprobe/rdpprobe/report"
	"github.com/rdpprobe/rdpprobe/sweep"
)

// hostileFleet starts one hostile server of each kind, each on its own
// loopback address (a sweep logs on once per host), and returns their
// targets by name.
func hostileFleet(t *testing.T) (map[string]string, []*rdptest.Server) {
	t.Helper()
	accounts := map[string]string{rdptest.TestDomain + `\` + rdptest.TestUser: rdptest.TestPassword}
	withNames := func(mod func(*rdptest.NTLMIdentity)) *rdptest.NTLMIdentity {
		id := rdptest.DefaultNTLMIdentity()
		mod(&id)
		return &id
	}
	cert := func(o rdptest.CertOptions) rdptest.TLSOptions {
		c, err := rdptest.NewCertificate(o)
		if err != nil {
			t.Fatal(err)
		}
		return rdptest.TLSOptions{Certificate: &c}
	}
	var sans []string
	for i := range 5000 {
		sans = append(sans, fmt.Sprintf("\x07\x1b[2J%d", i))
	}
	withTLS := func(sc rdptest.Scenario, tl rdptest.TLSOptions) rdptest.Scenario { sc.TLS = tl; return sc }
	long := strings.Repeat("\x1b[2J\u202e", 600)
	fleet := map[string]rdptest.Scenario{
		"flood-endless":    tlsSession(rdptest.Session{Flood: rdptest.Flood{Kind: rdptest.FloodErrorInfoNone}}),
		"flood-big":        tlsSession(rdptest.Session{Flood: rdptest.Flood{Kind: rdptest.FloodUpdate, Count: 20000, Size: 60 << 10}}),
		"flood-notices":    tlsSession(rdptest.Session{Flood: rdptest.Flood{Kind: rdptest.FloodLogonNotification, Count: 50000}}),
		"ntlm-names":       {Accounts: accounts, NTLM: withNames(func(id *rdptest.NTLMIdentity) { id.TargetInfo.NbComputerName, id.TargetInfo.DNSTreeName = long, long })},
		"ntlm-year-30000":  {Accounts: accounts, NTLM: withNames(func(id *rdptest.NTLMIdentity) { id.TargetInfo.Timestamp = time.Date(30000, 1, 1, 0, 0, 0, 0, time.UTC) })},
		"ntlm-1601":        {Accounts: accounts, NTLM: withNames(func(id *rdptest.NTLMIdentity) { id.TargetInfo.Timestamp = time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC) })},
		"cert-many-sans":   withTLS(tlsSession(rdptest.Session{}), cert(rdptest.CertOptions{CommonName: "\u202eRDS", DNSNames: sans})),
		"cert-huge-key":    withTLS(rdptest.Scenario{}, cert(rdptest.CertOptions{HugeRSAKeyBits: 16384})),
		"cert-not-yet":     withTLS(tlsSession(rdptest.Session{}), cert(rdptest.CertOptions{NotBefore: time.Now().Add(48 * time.Hour)})),
		"licence":          tlsSession(rdptest.Session{LicenseRequest: true, PlatformChallenge: true, LicenseCompany: "a\r\nRDP OK - ok | x", LicenseProduct: long}),
		"lockout-faked":    {NegotiateErrorCode: negotiate.StatusAccountLockedOut},
		"disabled-faked":   {NegotiateErrorCode: negotiate.StatusAccountDisabled},
		"nonsense-code":    {NegotiateErrorCode: 0xDEADBEEF},
		"stall":            {Fault: rdptest.Fault{At: probe.PhaseNegotiate, Kind: rdptest.FaultStall}},
		"huge-tpkt":        {Fault: rdptest.Fault{At: probe.PhaseNegotiate, Kind: rdptest.FaultHugeTPKT}},
		"http":             {Fault: rdptest.Fault{At: probe.PhaseNegotiate, Kind: rdptest.FaultHTTP}},
		"endless-records":  {Fault: rdptest.Fault{At: probe.PhaseNTLMInfo, Kind: rdptest.FaultEndlessTLS}},
		"trickle-tls":      {Fault: rdptest.Fault{At: probe.PhaseTLS, Kind: rdptest.FaultTrickle}},
		"tampered-pubkey":  {Accounts: accounts, TamperPubKeyAuth: true},
		"good-nla-session": {Accounts: accounts, Session: &rdptest.Session{}},
	}
	names := make([]string, 0, len(fleet))
	for name := range fleet {
		names = append(names, name)
	}
	slices.Sort(names)
	targets := map[string]string{}
	var servers []*rdptest.Server
	for i, name := range names {
		sc := fleet[name]
		sc.Addr = fmt.Sprintf("127.0.0.%d:0", 10+i)
		srv, err := rdptest.NewServer(sc)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Cleanup(func() { srv.Close() })
		targets[name] = srv.Addr
		servers = append(servers, srv)
	}
	return targets, servers
}

// TestSweepOverHostileTargets: a sweep with credentials over the hostile
// fleet finishes every target within its deadlines, writes JSONL, CSV and
// HTML that stay valid and bounded, stops no logons (nothing there can lock
// the account: the password never went to a server that did not prove its
// key), and --resume reads its JSONL back and has nothing left to do.
func TestSweepOverHostileTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("a sweep of 20 hostile servers with 4s deadlines")
	}
	targets, servers := hostileFleet(t)
	list := make([]string, 0, len(targets))
	for _, addr := range targets {
		list = append(list, addr)
	}
	slices.Sort(list)
	dir := t.TempDir()
	jsonlPath := filepath.Join(dir, "sweep.jsonl")
	jf, err := os.Create(jsonlPath)
	if err != nil {
		t.Fatal(err)
	}
	var csvBuf, htmlBuf bytes.Buffer
	writers := []sweep.Writer{sweep.NewJSONL(jf), sweep.NewCSV(&csvBuf, time.Now), sweep.NewHTML(&htmlBuf, time.Now)}
	opt := probe.Options{Depth: probe.PhaseSession, Credentials: creds(), Timeout: timeout, PhaseTimeout: phaseTimeout}
	runner := &sweep.Runner{Options: opt, Concurrency: 8, MaxLogonFailures: 3}
	start := time.Now()
	st, err := runner.Run(context.Background(), slices.Values(list), func(o *sweep.Outcome) error {
		for _, w := range writers {
			if err := w.Write(o.Report, o.Logon); err != nil {
				return err
			}
		}
		return nil
	})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	sum := &sweep.Summary{Stats: st, Total: uint64(len(list)), Targets: "hostile fleet", Credentials: true, User: `CORP\alice`, MaxLogonFailures: 3}
	for _, w := range writers {
		if err := w.Close(sum); err != nil {
			t.Fatal(err)
		}
	}
	jf.Close()
	// Every probe ends by its deadline: at most ceil(n/8) rounds of one.
	rounds := (len(list) + 7) / 8
	if limit := time.Duration(rounds) * (timeout + grace) * 2; took > limit {
		t.Errorf("the sweep took %v, more than %v for %d rounds of %v probes", took, limit, rounds, timeout)
	}
	if st.Done != uint64(len(list)) || st.Interrupted || st.Dropped != 0 {
		t.Fatalf("stats %+v: not every target finished", st)
	}
	if st.LogonsStopped != "" || st.LogonFailures != 0 {
		t.Errorf("logons stopped (%q) after %d failures: a hostile server faked a lockout", st.LogonsStopped, st.LogonFailures)
	}

	// JSONL: one line per target, each parses and is small enough for --resume.
	b, err := os.ReadFile(jsonlPath)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 4<<20)
	lines := 0
	for sc.Scan() {
		lines++
		if n := len(sc.Bytes()); n > maxReportBytes {
			t.Errorf("a JSONL line is %d bytes, more than %d", n, maxReportBytes)
		}
	}
	if lines != len(list) {
		t.Errorf("%d JSONL lines for %d targets", lines, len(list))
	}
	res, err := sweep.ReadResume(bytes.NewReader(b), func(rep *report.Report) {})
	if err != nil {
		t.Fatalf("--resume refuses the sweep's own JSONL: %v", err)
	}
	if len(res.Done) != len(list) || res.LogonFailures != 0 {
		t.Errorf("resume: %d done of %d, %d logon failures", len(res.Done), len(list), res.LogonFailures)
	}
	again := &sweep.Runner{Options: opt, Concurrency: 8, MaxLogonFailures: 3, Skip: res.Skip,
		PriorLogonFailures: res.LogonFailures, PriorLogonHosts: res.LogonHosts}
	st2, err := again.Run(context.Background(), slices.Values(list), func(*sweep.Outcome) error {
		t.Error("the resumed sweep probed a target the first one had done")
		return nil
	})
	if err != nil || st2.Skipped != uint64(len(list)) || st2.Done != 0 {
		t.Errorf("resumed sweep: %+v, %v", st2, err)
	}

	// CSV: parses, one row per target, as many cells in each.
	rows, err := csv.NewReader(bytes.NewReader(csvBuf.Bytes())).ReadAll()
	if err != nil || len(rows) != len(list)+1 {
		t.Errorf("CSV: %d rows, %v", len(rows), err)
	}
	// HTML: the server's bytes are escaped, never raw.
	for _, raw := range []string{"\x1b", "\x07", "\u202e", "\x00"} {
		if bytes.Contains(htmlBuf.Bytes(), []byte(raw)) {
			t.Errorf("the HTML report holds a raw %q", raw)
		}
	}
	if htmlBuf.Len() > 4<<20 {
		t.Errorf("the HTML report is %d bytes for %d hosts", htmlBuf.Len(), len(list))
	}
	for _, srv := range servers {
		noPasswordLeak(t, srv, false)
	}
	checkPeakRSS(t)
	t.Logf("%d hostile targets in %v; classes %v; peak RSS %d MiB", len(list), took.Round(time.Millisecond), st.Classes, peakRSS()>>20)
}
