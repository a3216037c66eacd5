package exporter

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
)

const testPassword = "s3cret-Passw0rd"

// fakeServer stands in for probe.Run and classify.Classify: it counts
// probes, and answers with the class its password check gives.
type fakeServer struct {
	mu       sync.Mutex
	probes   int
	logons   int
	password string        // the right one
	gate     chan struct{} // if set, each probe waits for a value
	opts     []probe.Options
}

func (f *fakeServer) run(ctx context.Context, target string, opt probe.Options) *probe.Result {
	f.mu.Lock()
	f.probes++
	f.opts = append(f.opts, opt)
	if opt.Credentials != nil {
		f.logons++
	}
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
		}
	}
	r := &probe.Result{Target: target, Credentials: opt.Credentials != nil, Reached: probe.PhaseNTLMInfo,
		Timings:     []probe.PhaseTiming{{Phase: probe.PhaseConnect, Duration: time.Millisecond}, {Phase: probe.PhaseTLS, Duration: 2 * time.Millisecond}},
		Negotiation: &probe.Negotiation{Offered: opt.Protocols, Response: &negotiate.NegotiationResponse{SelectedProtocol: negotiate.ProtocolHybrid}},
		TLS: &probe.TLSInfo{Version: 0x0303, Certificate: &probe.CertInfo{Subject: "CN=SRV1", Issuer: "CN=SRV1", SelfSigned: true,
			SHA256: "ab01", NotAfter: time.Unix(2000000000, 0), Trust: &probe.CertTrust{Error: probe.TrustUnknownAuthority,
				Chain: []probe.ChainCert{{Subject: "CN=SRV1", NotAfter: time.Unix(2000000000, 0)}}}}},
		CredSSP: &probe.CredSSPInfo{ClientVersion: 6, ServerVersion: 6},
		NTLM:    &probe.NTLMInfo{NetBIOSDomain: "LAB", NetBIOSComputer: "SRV1", DNSDomain: "lab.example", OSVersion: "10.0.17763"},
	}
	if c := opt.Credentials; c != nil {
		r.LogonAttempted = true
		r.User = c.Domain + `\` + c.User
		if c.Password == f.password {
			r.Reached = probe.PhaseLogon
		} else {
			r.Failed = probe.PhaseLogon
			r.Err = &probe.ClosedAfterAuthenticateError{Err: io.EOF}
		}
	}
	return r
}

// fakeClassify gives the table's rows, whose LocksAccount the exporter reads.
func fakeClassify(r *probe.Result) classify.Verdict {
	switch {
	case r.Failed == probe.PhaseLogon:
		return classify.Verdict{Class: row(classify.CredentialsRejectedNoReason), Phase: probe.PhaseLogon}
	case r.Err != nil:
		return classify.Verdict{Class: row(classify.ProtocolError), Phase: r.Failed}
	}
	return classify.Verdict{Class: row(classify.OK), OK: true, Phase: r.Reached}
}

func row(id classify.ID) classify.Class {
	c, _ := classify.Lookup(id)
	return c
}

// clock is a settable time for cache ages.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type harness struct {
	t      *testing.T
	dir    string
	srv    *fakeServer
	clock  *clock
	exp    *Exporter
	server *httptest.Server
	joins  atomic.Int32 // scrapes that joined a probe in flight
}

const testConfig = `
modules:
  info:
    phases: [connect, negotiate, tls, ntlm_info]
  logon:
    phases: [connect, negotiate, tls, ntlm_info, logon]
    logon_cache_ttl: 5m
    credentials:
      user: 'LAB\labuser'
      password_file: pw
  other_logon:
    credentials:
      user: 'LAB\labuser'
      password_file: pw
`

func newHarness(t *testing.T, password string, opt Options) *harness {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "pw", password+"\n", 0o600)
	cfgPath := writeFile(t, dir, "rdpprobe.yml", testConfig, 0o600)
	cfg, err := LoadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dir: dir, srv: &fakeServer{password: testPassword}, clock: &clock{t: time.Unix(1700000000, 0)}}
	opt.Run, opt.Classify, opt.Now, opt.ConfigFile = h.srv.run, fakeClassify, h.clock.now, cfgPath
	h.exp = New(cfg, opt)
	h.exp.onJoin = func() { h.joins.Add(1) }
	h.server = httptest.NewServer(h.exp.Handler())
	t.Cleanup(h.server.Close)
	return h
}

// get returns the status and body of a GET.
func (h *harness) get(path string, header ...string) (int, string) {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.server.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (h *harness) post(path string) (int, string) {
	h.t.Helper()
	resp, err := http.Post(h.server.URL+path, "", nil)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// probe scrapes /probe and returns its samples, "name{labels}" → value.
func (h *harness) probe(target, module string) map[string]string {
	h.t.Helper()
	code, body := h.get("/probe?target=" + url.QueryEscape(target) + "&module=" + module)
	if code != 200 {
		h.t.Fatalf("/probe: %d %s", code, body)
	}
	return samples(body)
}

func samples(text string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		m[line[:i]] = line[i+1:]
	}
	return m
}

func wantSample(t *testing.T, m map[string]string, name, value string) {
	t.Helper()
	if got, ok := m[name]; !ok || got != value {
		t.Errorf("%s = %q (present %v), want %q; all: %v", name, got, ok, value, m)
	}
}

func TestProbeMetrics(t *testing.T) {
	h := newHarness(t, testPassword, Options{})
	m := h.probe("10.0.0.5", "info")
	wantSample(t, m, "probe_success", "1")
	wantSample(t, m, `probe_rdp_result{class="ok"}`, "1")
	wantSample(t, m, `probe_rdp_phase_duration_seconds{phase="connect"}`, "0.001")
	wantSample(t, m, `probe_rdp_phase_duration_seconds{phase="tls"}`, "0.002")
	wantSample(t, m, "probe_rdp_negotiated_protocol", "2")
	wantSample(t, m, "probe_rdp_credssp_version", "6")
	wantSample(t, m, `probe_tls_version_info{version="TLS 1.2"}`, "1")
	wantSample(t, m, "probe_ssl_earliest_cert_expiry", "2e+09")
	wantSample(t, m, "probe_ssl_last_chain_expiry_timestamp_seconds", "2e+09")
	wantSample(t, m, `probe_ssl_last_chain_info{fingerprint_sha256="ab01",issuer="CN=SRV1",subject="CN=SRV1",subjectalternative=""}`, "1")
	wantSample(t, m, "probe_rdp_cert_trusted", "0")
	wantSample(t, m, `probe_rdp_ntlm_info{dns_domain="lab.example",netbios_computer="SRV1",netbios_domain="LAB",os_version="10.0.17763"}`, "1")
	wantSample(t, m, "probe_rdp_overloaded", "0")
	if _, ok := m["probe_rdp_logon_blocked"]; ok {
		t.Error("a module without logon reports probe_rdp_logon_blocked")
	}
	if _, ok := m["probe_duration_seconds"]; !ok {
		t.Error("no probe_duration_seconds")
	}
	// Modules without logon probe on every scrape.
	h.probe("10.0.0.5", "info")
	if h.srv.probes != 2 {
		t.Errorf("2 scrapes of a no-logon module ran %d probes, want 2", h.srv.probes)
	}

	for _, tc := range []struct{ query, want string }{
		{"/probe?module=info", "Target parameter is missing"},
		{"/probe?target=h&module=nope", `Unknown module "nope": the modules are info, logon, other_logon`},
		{"/probe?target=h&module=infos", `did you mean info?`},
		{"/probe?target=h", "no module given and none named default or rdp_nla_info: add module=NAME, one of info, logon, other_logon"},
		{"/probe?target=h:99999&module=info", "port must be 1-65535"},
	} {
		if code, body := h.get(tc.query); code != 400 || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %q, want 400 %q", tc.query, code, body, tc.want)
		}
	}
}

// TestLockoutWrongPassword: a wrong password gives one logon attempt, no
// matter how many scrapes, concurrent or not, until a reset or a config change.
func TestLockoutWrongPassword(t *testing.T) {
	h := newHarness(t, "wrong-password", Options{})
	h.srv.gate = make(chan struct{})
	var wg sync.WaitGroup
	results := make([]map[string]string, 10)
	for i := range results {
		wg.Go(func() { results[i] = h.probe("10.0.0.5:3389", "logon") })
	}
	// Let every scrape join the probe in flight, then let it finish.
	waitFor(t, func() bool { return h.srv.count() == 1 && h.joins.Load() == int32(len(results)-1) })
	close(h.srv.gate)
	wg.Wait()
	for i := 0; i < 10; i++ {
		h.clock.add(time.Hour) // the cache TTL does not lift a block
		results = append(results, h.probe("10.0.0.5", "logon"))
	}
	if h.srv.logons != 1 {
		t.Fatalf("20 scrapes with a wrong password made %d logon attempts, want exactly 1", h.srv.logons)
	}
	for _, m := range results {
		wantSample(t, m, "probe_success", "0")
		wantSample(t, m, "probe_rdp_logon_blocked", "1")
		wantSample(t, m, `probe_rdp_result{class="credentials_rejected_no_reason"}`, "1")
	}
	wantSample(t, results[len(results)-1], "probe_rdp_logon_cache_age_seconds", "36000")
	if _, body := h.get("/metrics"); !strings.Contains(body, "rdpprobe_logon_blocked 1") || !strings.Contains(body, `rdpprobe_logon_attempts_total{module="logon"} 1`) {
		t.Errorf("/metrics does not show the block:\n%s", grep(body, "rdpprobe_"))
	}

	// Another module with the same account is its own (module, target) pair.
	h.probe("10.0.0.5", "other_logon")
	if h.srv.logons != 2 {
		t.Fatalf("other module: %d logons, want 2", h.srv.logons)
	}

	// A reset is one more attempt, which blocks again.
	if code, body := h.get("/-/reset?module=logon"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reset: %d %s", code, body)
	}
	if code, body := h.post("/-/reset?module=nope"); code != 404 {
		t.Errorf("reset of an unknown module: %d %s", code, body)
	}
	if code, body := h.post("/-/reset?module=logon"); code != 200 || !strings.Contains(body, "forgot 1") {
		t.Fatalf("reset: %d %s", code, body)
	}
	h.probe("10.0.0.5", "logon")
	h.probe("10.0.0.5", "logon")
	if h.srv.logons != 3 {
		t.Fatalf("after a reset: %d logons, want 3", h.srv.logons)
	}

	// Reloading the same file changes nothing: still blocked.
	if code, body := h.post("/-/reload"); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	h.probe("10.0.0.5", "logon")
	if h.srv.logons != 3 {
		t.Fatalf("a reload of an unchanged config lifted the block: %d logons", h.srv.logons)
	}

	// Fixing the password file and reloading lifts it.
	writeFile(t, h.dir, "pw", testPassword+"\n", 0o600)
	if code, body := h.post("/-/reload"); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	m := h.probe("10.0.0.5", "logon")
	if h.srv.logons != 4 {
		t.Fatalf("after fixing the password: %d logons, want 4", h.srv.logons)
	}
	wantSample(t, m, "probe_success", "1")
	wantSample(t, m, "probe_rdp_logon_blocked", "0")
}

// TestLogonCache: a good logon answers scrapes for logon_cache_ttl.
func TestLogonCache(t *testing.T) {
	h := newHarness(t, testPassword, Options{})
	m := h.probe("10.0.0.5", "logon")
	wantSample(t, m, "probe_success", "1")
	wantSample(t, m, "probe_rdp_logon_cache_age_seconds", "0")
	wantSample(t, m, "probe_rdp_logon_attempted", "1")
	h.clock.add(90 * time.Second)
	m = h.probe("10.0.0.5:3389", "logon") // same server, other spelling
	wantSample(t, m, "probe_success", "1")
	wantSample(t, m, "probe_rdp_logon_cache_age_seconds", "90")
	if h.srv.logons != 1 {
		t.Fatalf("%d logons within the cache TTL, want 1", h.srv.logons)
	}
	h.probe("10.0.0.6", "logon") // another target
	if h.srv.logons != 2 {
		t.Fatalf("another target: %d logons, want 2", h.srv.logons)
	}
	h.clock.add(5 * time.Minute)
	m = h.probe("10.0.0.5", "logon")
	wantSample(t, m, "probe_rdp_logon_cache_age_seconds", "0")
	if h.srv.logons != 3 {
		t.Fatalf("after the TTL: %d logons, want 3", h.srv.logons)
	}
	_, metrics := h.get("/metrics")
	for _, want := range []string{`rdpprobe_scrapes_total{module="logon",source="cache"} 1`, `rdpprobe_scrapes_total{module="logon",source="probe"} 3`,
		`rdpprobe_probes_total{class="ok",module="logon"} 3`, "rdpprobe_build_info{", "go_goroutines", "process_"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestSharedFlight: concurrent scrapes of one target and module share a probe.
func TestSharedFlight(t *testing.T) {
	h := newHarness(t, testPassword, Options{})
	h.srv.gate = make(chan struct{})
	var wg sync.WaitGroup
	var ok atomic.Int32
	for range 8 {
		wg.Go(func() {
			if h.probe("10.0.0.5", "info")["probe_success"] == "1" {
				ok.Add(1)
			}
		})
	}
	waitFor(t, func() bool { return h.srv.count() == 1 && h.joins.Load() == 7 })
	close(h.srv.gate)
	wg.Wait()
	if h.srv.count() != 1 || ok.Load() != 8 {
		t.Fatalf("8 concurrent scrapes: %d probes, %d successes; want 1 and 8", h.srv.count(), ok.Load())
	}
}

// TestOverload: beyond max-concurrent scrapes queue; beyond max-queue they
// fail at once with probe_rdp_overloaded.
func TestOverload(t *testing.T) {
	h := newHarness(t, testPassword, Options{MaxConcurrent: 1, MaxQueue: 1})
	h.srv.gate = make(chan struct{})
	var wg sync.WaitGroup
	first := make(chan map[string]string, 2)
	for _, target := range []string{"10.0.0.1", "10.0.0.2"} {
		wg.Go(func() { first <- h.probe(target, "info") })
		if target == "10.0.0.1" {
			waitFor(t, func() bool { return h.srv.count() == 1 })
		}
	}
	waitFor(t, func() bool { return h.exp.waiting.Load() == 1 })
	m := h.probe("10.0.0.3", "info")
	wantSample(t, m, "probe_success", "0")
	wantSample(t, m, "probe_rdp_overloaded", "1")
	close(h.srv.gate)
	wg.Wait()
	close(first)
	for m := range first {
		wantSample(t, m, "probe_success", "1")
	}
	if h.srv.count() != 2 {
		t.Errorf("%d probes ran, want 2", h.srv.count())
	}
	if _, body := h.get("/metrics"); !strings.Contains(body, `rdpprobe_probes_rejected_total{reason="queue_full"} 1`) {
		t.Errorf("/metrics:\n%s", grep(body, "rdpprobe_"))
	}
}

// TestScrapeTimeout: Prometheus' timeout minus the offset, capped by the module's.
func TestScrapeTimeout(t *testing.T) {
	h := newHarness(t, testPassword, Options{TimeoutOffset: 500 * time.Millisecond})
	for _, tc := range []struct {
		header  string
		max     time.Duration
		min     time.Duration
		wantErr bool
	}{
		{"", DefaultTimeout, DefaultTimeout - time.Second, false},
		{"5", 4500 * time.Millisecond, 4 * time.Second, false},
		{"60", DefaultTimeout, DefaultTimeout - time.Second, false},
		{"x", 0, 0, true},
	} {
		h.srv.opts = nil
		hdr := []string{}
		if tc.header != "" {
			hdr = []string{"X-Prometheus-Scrape-Timeout-Seconds", tc.header}
		}
		code, _ := h.get("/probe?target=h&module=info", hdr...)
		if tc.wantErr {
			if code != 400 {
				t.Errorf("header %q: status %d, want 400", tc.header, code)
			}
			continue
		}
		if len(h.srv.opts) != 1 {
			t.Fatalf("header %q: %d probes", tc.header, len(h.srv.opts))
		}
		if got := h.srv.opts[0].Timeout; got > tc.max || got < tc.min {
			t.Errorf("header %q: probe timeout %v, want in [%v, %v]", tc.header, got, tc.min, tc.max)
		}
	}
}

// TestDebugAndHistoryHoldNoSecrets: ?debug=true, / and /logs show the probe,
// never the password.
func TestDebugAndHistoryHoldNoSecrets(t *testing.T) {
	h := newHarness(t, testPassword, Options{})
	code, body := h.get("/probe?target=10.0.0.5&module=logon&debug=true")
	if code != 200 || !strings.Contains(body, "beginning probe") || !strings.Contains(body, `"class": "ok"`) || !strings.Contains(body, "probe_success 1") {
		t.Fatalf("debug: %d\n%s", code, body)
	}
	h.probe("10.0.0.5", "logon") // cached
	_, index := h.get("/")
	if !strings.Contains(index, "10.0.0.5") || !strings.Contains(index, "logs?id=1") || !strings.Contains(index, "cache") {
		t.Fatalf("index:\n%s", index)
	}
	_, log := h.get("/logs?id=1")
	if !strings.Contains(log, "answered by cache") || !strings.Contains(log, "beginning probe") {
		t.Fatalf("log:\n%s", log)
	}
	if code, _ := h.get("/logs?id=99"); code != 404 {
		t.Errorf("/logs of an unknown id: %d", code)
	}
	for name, text := range map[string]string{"debug": body, "index": index, "log": log} {
		if strings.Contains(text, testPassword) {
			t.Errorf("the password appears in %s", name)
		}
	}
}

// TestReloadKeepsConfigOnError: a bad file keeps the old config and says why.
func TestReloadKeepsConfigOnError(t *testing.T) {
	h := newHarness(t, testPassword, Options{})
	writeFile(t, h.dir, "rdpprobe.yml", testConfig+"    bogus: 1\n", 0o600)
	code, body := h.post("/-/reload")
	if code != 500 || !strings.Contains(body, `unknown key "bogus" in a module`) || !strings.Contains(body, "line ") {
		t.Fatalf("bad reload: %d %s", code, body)
	}
	if _, m := h.get("/metrics"); !strings.Contains(m, "rdpprobe_config_last_reload_successful 0") {
		t.Error("rdpprobe_config_last_reload_successful is not 0 after a failed reload")
	}
	wantSample(t, h.probe("h", "info"), "probe_success", "1")
	writeFile(t, h.dir, "rdpprobe.yml", "modules:\n  only: {}\n", 0o600)
	if code, body := h.post("/-/reload"); code != 200 {
		t.Fatalf("good reload: %d %s", code, body)
	}
	if code, _ := h.get("/probe?target=h&module=info"); code != 400 {
		t.Errorf("module removed by reload still answers: %d", code)
	}
	if _, m := h.get("/metrics"); !strings.Contains(m, "rdpprobe_config_last_reload_successful 1") {
		t.Error("rdpprobe_config_last_reload_successful is not 1 after a good reload")
	}
}

func (f *fakeServer) count() int { f.mu.Lock(); defer f.mu.Unlock(); return f.probes }

// waitFor polls cond; the bound is generous, only a hang reaches it.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func grep(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestSuccessSaysWhy: the debug page and / say which classes a module
// expects and why probe_success is 0; times on / carry their zone.
func TestSuccessSaysWhy(t *testing.T) {
	h := newHarness(t, testPassword, Options{})
	writeFile(t, h.dir, "rdpprobe.yml", testConfig+"  enforced:\n    depth: negotiate\n    expect_class: [nla_required]\n", 0o600)
	if err := h.exp.Reload(); err != nil {
		t.Fatal(err)
	}
	_, debug := h.get("/probe?target=tls-only&module=enforced&debug=true")
	for _, want := range []string{"with module enforced (expects class nla_required)",
		"probe_success 0: class ok is not one module enforced expects (nla_required)", "probe_success 0"} {
		if !strings.Contains(debug, want) {
			t.Errorf("debug page lacks %q:\n%s", want, debug)
		}
	}
	_, debug = h.get("/probe?target=h&module=info&debug=true")
	if !strings.Contains(debug, "probe_success 1: class ok is one module info expects (ok)") {
		t.Errorf("debug page of a success:\n%.400s", debug)
	}
	_, page := h.get("/")
	for _, want := range []string{"<th>expects class</th>", "<td>nla_required</td>", "class ok is not one module enforced expects (nla_required)",
		// html/template writes the offset's "+" as &#43;.
		strings.ReplaceAll(h.clock.now().Format("15:04:05.000 -07:00 MST"), "+", "&#43;")} {
		if !strings.Contains(page, want) {
			t.Errorf("/ lacks %q:\n%s", want, page)
		}
	}
}
