//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rdpprobe/rdpprobe/exporter"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

// The exporter-load section measures what the exporter itself holds when
// Prometheus scrapes many targets through it. Three processes, so that
// each one's CPU and memory are its own:
//
//   - the exporter: this binary re-run as a child (childEnv=exporter), the
//     exporter package behind net/http on a loopback port, as rdpprobe
//     serve runs it, with one module like rdp_nla_info (depth ntlm_info,
//     no credentials); it writes a CPU profile of each load phase;
//   - the fleet: this binary re-run as a child (childEnv=fleet), rdptest
//     servers on 127.0.0.1, a third of them hostile in the second phase;
//   - this process, the load generator: Prometheus' scrape loop, one per
//     target, each on its own offset in a compressed interval, sending
//     X-Prometheus-Scrape-Timeout-Seconds, through a bounded pool of
//     scrapers.
//
// What the generator costs: one HTTP/1.1 request per scrape over
// connections kept alive (no gzip, no new TCP or TLS handshake), a scan of
// the answer's lines for three prefixes (no exposition-format parser), and
// one duration appended to a slice. Its CPU is measured (this process's
// rusage) and reported beside the exporter's and the fleet's: about
// 0.6 ms of CPU a scrape in the first runs (0.09 of a core at 150
// scrapes/s), against the exporter's 2-3 ms and the fleet's 1.4 ms.
const childEnv = "RDPPROBE_BENCH_CHILD"

// loadConfig is what the -load-* flags set.
type loadConfig struct {
	duration      time.Duration // of each load phase
	targets       int
	interval      time.Duration // each target is scraped this often
	scrapeTimeout time.Duration // X-Prometheus-Scrape-Timeout-Seconds
	scrapers      int           // scrapes in flight at once, at most
	slots         int           // the exporter's --probe.max-concurrent
	profiles      string        // where the CPU profiles go (default: the run's temporary directory)
}

// loadModule is the one module of the exporter under load: rdp_nla_info,
// the default module (depth ntlm_info, no credentials).
const loadModule = "modules:\n  rdp_nla_info:\n    depth: ntlm_info\n"

// runChild is main for a re-run of this binary as one of the section's
// children; it never returns.
func runChild(role string) {
	var err error
	switch role {
	case "exporter":
		err = exporterChild()
	case "fleet":
		err = fleetChild()
	default:
		err = fmt.Errorf("unknown child role %q", role)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench %s child: %v\n", role, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// exporterChild serves the exporter on a loopback port, prints "addr
// HOST:PORT", and then obeys stdin: "profile PATH" starts a CPU profile,
// "stop" ends it and answers "stopped"; end of input ends the process, so
// it never outlives the bench.
func exporterChild() error {
	slots, _ := strconv.Atoi(os.Getenv("RDPPROBE_BENCH_SLOTS"))
	cfg, err := exporter.Parse([]byte(loadModule), ".", func(string) (string, bool) { return "", false })
	if err != nil {
		return err
	}
	e := exporter.New(cfg, exporter.Options{MaxConcurrent: slots, Version: "bench"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: e.Handler(), ReadHeaderTimeout: 10 * time.Second} // as rdpprobe serve
	go srv.Serve(ln)
	fmt.Printf("addr %s\n", ln.Addr())
	sc := bufio.NewScanner(os.Stdin)
	var prof *os.File
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(sc.Text(), " ")
		switch cmd {
		case "profile":
			if prof, err = os.Create(arg); err != nil {
				return err
			}
			if err := pprof.StartCPUProfile(prof); err != nil {
				return err
			}
		case "stop":
			if prof != nil {
				pprof.StopCPUProfile()
				prof.Close()
				prof = nil
			}
			fmt.Println("stopped")
		}
	}
	return nil
}

// fleetChild starts RDPPROBE_BENCH_FLEET="HEALTHY HOSTILE" rdptest
// servers, prints "healthy ADDR" or "KIND ADDR" for each and "ready", and
// ends at the end of stdin.
func fleetChild() error {
	var healthy, hostile int
	if _, err := fmt.Sscanf(os.Getenv("RDPPROBE_BENCH_FLEET"), "%d %d", &healthy, &hostile); err != nil {
		return fmt.Errorf("RDPPROBE_BENCH_FLEET: %w", err)
	}
	// One ECDSA certificate for all: the servers' TLS work, on the same
	// cores as the exporter, is as small as it can be (as in the sweep's
	// fleet).
	cert, err := rdptest.NewCertificate(rdptest.CertOptions{CommonName: "fleet", ECDSA: true})
	if err != nil {
		return err
	}
	out := bufio.NewWriter(os.Stdout)
	var servers []*rdptest.Server
	defer func() {
		for _, s := range servers {
			s.Close()
		}
	}()
	for i := range healthy + hostile {
		kind, sc := "healthy", rdptest.Scenario{TLS: rdptest.TLSOptions{Certificate: &cert}}
		if i >= healthy {
			kind = hostileKinds[(i-healthy)%len(hostileKinds)]
			sc.Fault = hostileFaults[kind]
		}
		s, err := rdptest.NewServer(sc)
		if err != nil {
			return err
		}
		servers = append(servers, s)
		fmt.Fprintf(out, "%s %s\n", kind, s.Addr)
	}
	fmt.Fprintln(out, "ready")
	out.Flush()
	io.Copy(io.Discard, os.Stdin)
	return nil
}

// The hostile third of the fleet: servers that stall (a probe there holds
// its slot until the scrape's deadline) and servers that flood (TLS
// records without end, in the handshake and after it).
var (
	hostileKinds  = []string{"stall", "flood-tls", "stall", "flood-ntlm"}
	hostileFaults = map[string]rdptest.Fault{
		"stall":      {At: probe.PhaseNegotiate, Kind: rdptest.FaultStall},
		"flood-tls":  {At: probe.PhaseTLS, Kind: rdptest.FaultEndlessTLS},
		"flood-ntlm": {At: probe.PhaseNTLMInfo, Kind: rdptest.FaultEndlessTLS},
	}
)

// child is a running re-run of this binary.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
}

func startChild(role string, env ...string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(append(os.Environ(), childEnv+"="+role), env...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(outp)
	return &child{cmd: cmd, stdin: in, out: sc}, nil
}

// line is the child's next line of output.
func (c *child) line() (string, error) {
	if c.out.Scan() {
		return c.out.Text(), nil
	}
	if err := c.out.Err(); err != nil {
		return "", err
	}
	return "", io.ErrUnexpectedEOF
}

func (c *child) stop() {
	c.stdin.Close()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}

// cpu is the child's user+sys time so far (Linux /proc/PID/stat).
func (c *child) cpu() time.Duration { return procCPU(c.cmd.Process.Pid) }

func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: count from after it.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// scrapeResult is what the generator reads of one /probe answer.
type scrapeResult struct {
	success    bool
	overloaded bool
	class      string // of probe_rdp_result; empty when no probe ran
}

var (
	prefixSuccess    = []byte("probe_success ")
	prefixOverloaded = []byte("probe_rdp_overloaded ")
	prefixClass      = []byte(`probe_rdp_result{class="`)
)

// parseScrape reads the three lines of a /probe answer (text exposition
// format) the section judges by, and nothing else.
func parseScrape(r io.Reader) (scrapeResult, error) {
	var res scrapeResult
	var seen int
	br := bufio.NewReaderSize(r, 4096)
	for {
		l, err := br.ReadSlice('\n')
		switch {
		case bytes.HasPrefix(l, prefixSuccess):
			res.success = bytes.Equal(bytes.TrimSpace(l[len(prefixSuccess):]), []byte("1"))
			seen++
		case bytes.HasPrefix(l, prefixOverloaded):
			res.overloaded = bytes.Equal(bytes.TrimSpace(l[len(prefixOverloaded):]), []byte("1"))
			seen++
		case bytes.HasPrefix(l, prefixClass):
			rest := l[len(prefixClass):]
			if i := bytes.IndexByte(rest, '"'); i >= 0 {
				res.class = string(rest[:i])
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return res, err
		}
	}
	if seen != 2 {
		return res, errors.New("no probe_success or probe_rdp_overloaded in the answer")
	}
	return res, nil
}

// misattributed says whether a scrape of a healthy target was answered
// wrongly: a probe ran (not overloaded) but did not end in class ok with
// probe_success 1, or it says overloaded and a class at once.
func (r scrapeResult) misattributed() bool {
	if r.overloaded {
		return r.class != "" || r.success
	}
	return !r.success || r.class != "ok"
}

// loadTarget is one target of a load phase.
type loadTarget struct {
	addr    string
	healthy bool
	url     string
}

// loadStats is what one load phase measured.
type loadStats struct {
	mu        sync.Mutex
	latencies []time.Duration // of answered scrapes that ran a probe on a healthy target
	lags      []time.Duration // request start minus the scrape's scheduled time
	classes   map[string]int  // healthy targets' answers by class ("overloaded" when no probe ran)
	hostile   map[string]int  // the same for the hostile targets

	started, probed, overloaded, misattributed, httpFailed, missed atomic.Int64
	examples                                                       []string // a few misattributed answers
}

// exporterSample is the exporter's size at one moment.
type exporterSample struct {
	rss        int64
	goroutines int
	rejected   float64 // rdpprobe_probes_rejected_total, all reasons
}

// sampleExporter reads the exporter's RSS (/proc) and, from its /metrics,
// its goroutines and rejected scrapes.
func sampleExporter(client *http.Client, base string, pid int) exporterSample {
	s := exporterSample{rss: vmRSS(pid), goroutines: -1}
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		return s
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if v, ok := strings.CutPrefix(l, "go_goroutines "); ok {
			s.goroutines, _ = strconv.Atoi(strings.TrimSpace(v))
		} else if strings.HasPrefix(l, "rdpprobe_probes_rejected_total{") {
			f, _ := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
			s.rejected += f
		}
	}
	return s
}

// scrapeOnce is one Prometheus scrape of u.
func scrapeOnce(ctx context.Context, client *http.Client, u, timeoutHeader string) (scrapeResult, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return scrapeResult{}, err
	}
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", timeoutHeader)
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := client.Do(req)
	if err != nil {
		return scrapeResult{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return scrapeResult{}, fmt.Errorf("HTTP %s", resp.Status)
	}
	r, err := parseScrape(resp.Body)
	io.Copy(io.Discard, resp.Body) // so the connection is reused
	return r, err
}

// loadPhase is one run of the exporter under load.
type loadPhase struct {
	name      string
	targets   []loadTarget
	single    time.Duration // one probe alone, median
	stats     *loadStats
	elapsed   time.Duration
	samples   [3]exporterSample // start, middle, end
	drained   exporterSample    // a second after the last answer, the generator's connections closed
	cpu       struct{ exporter, fleet, generator time.Duration }
	profile   string // the exporter's CPU profile of the phase
	loadAvg   string
	maxStarts int64
}

// runLoad starts a fresh exporter, measures one probe alone, then scrapes
// every target each interval for c.duration, bounded in time and count.
func runLoad(lc loadConfig, name string, targets []loadTarget, fleet *child, dir string) (*loadPhase, error) {
	ex, err := startChild("exporter", "RDPPROBE_BENCH_SLOTS="+strconv.Itoa(lc.slots))
	if err != nil {
		return nil, err
	}
	defer ex.stop()
	l, err := ex.line()
	addr, ok := strings.CutPrefix(l, "addr ")
	if err != nil || !ok {
		return nil, fmt.Errorf("exporter child: %q, %v", l, err)
	}
	base := "http://" + addr
	client := &http.Client{
		Transport: &http.Transport{
			MaxIdleConns: lc.scrapers + 4, MaxIdleConnsPerHost: lc.scrapers + 4, MaxConnsPerHost: lc.scrapers + 4,
			DisableCompression: true, IdleConnTimeout: time.Minute,
		},
		Timeout: lc.scrapeTimeout + 5*time.Second, // the exporter answers by the header's deadline; this only ends a hung one
	}
	defer client.CloseIdleConnections()
	header := strconv.FormatFloat(lc.scrapeTimeout.Seconds(), 'f', -1, 64)
	for i := range targets {
		targets[i].url = base + "/probe?module=rdp_nla_info&target=" + url.QueryEscape(targets[i].addr)
	}
	p := &loadPhase{name: name, targets: targets, stats: &loadStats{classes: map[string]int{}, hostile: map[string]int{}}}

	// One probe alone, through the exporter, before any load: the figure
	// a scrape under load is compared with. The first warms up.
	var first *loadTarget
	for i := range targets {
		if targets[i].healthy {
			first = &targets[i]
			break
		}
	}
	var alone []time.Duration
	for i := range 21 {
		t0 := time.Now()
		r, err := scrapeOnce(context.Background(), client, first.url, header)
		if err != nil || r.misattributed() || r.overloaded {
			return nil, fmt.Errorf("a single scrape of %s alone: %+v, %v", first.addr, r, err)
		}
		if i > 0 {
			alone = append(alone, time.Since(t0))
		}
	}
	p.single = median(alone)

	if lc.profiles != "" {
		dir = lc.profiles
	}
	p.profile = filepath.Join(dir, "exporter-"+name+".pprof")
	fmt.Fprintf(ex.stdin, "profile %s\n", p.profile)
	runtime.GC()
	p.samples[0] = sampleExporter(client, base, ex.cmd.Process.Pid)
	cpu0 := [3]time.Duration{ex.cpu(), fleet.cpu(), selfCPU()}

	ctx, cancel := context.WithTimeout(context.Background(), lc.duration)
	defer cancel()
	// The count bound: every target every interval, and a tenth more.
	p.maxStarts = int64(float64(len(targets))*lc.duration.Seconds()/lc.interval.Seconds()*1.1) + int64(len(targets))
	scrapers := make(chan struct{}, lc.scrapers)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range targets {
		t := &targets[i]
		offset := time.Duration(int64(lc.interval) * int64(i) / int64(len(targets)))
		wg.Go(func() { p.scrapeLoop(ctx, client, t, start.Add(offset), lc.interval, header, scrapers) })
	}
	midTimer := time.AfterFunc(lc.duration/2, func() { p.samples[1] = sampleExporter(client, base, ex.cmd.Process.Pid) })
	<-ctx.Done()
	p.samples[2] = sampleExporter(client, base, ex.cmd.Process.Pid)
	wg.Wait()
	midTimer.Stop()
	p.elapsed = time.Since(start)
	p.cpu.exporter, p.cpu.fleet, p.cpu.generator = ex.cpu()-cpu0[0], fleet.cpu()-cpu0[1], selfCPU()-cpu0[2]
	p.loadAvg = loadavg()
	fmt.Fprintln(ex.stdin, "stop")
	if l, err := ex.line(); err != nil || l != "stopped" {
		return p, fmt.Errorf("exporter child did not stop its profile: %q, %v", l, err)
	}
	// What is left once the load is gone: the idle keep-alive connections
	// closed, every probe over. More goroutines than at the start is a leak.
	client.CloseIdleConnections()
	time.Sleep(time.Second)
	p.drained = sampleExporter(client, base, ex.cmd.Process.Pid)
	return p, nil
}

// scrapeLoop is Prometheus' loop for one target: a scrape at each tick,
// never two at once; a tick that comes while the last scrape still runs
// is skipped (counted as missed), as Prometheus does.
func (p *loadPhase) scrapeLoop(ctx context.Context, client *http.Client, t *loadTarget, next time.Time, interval time.Duration,
	header string, scrapers chan struct{}) {
	st := p.stats
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if st.started.Add(1) > p.maxStarts {
			return
		}
		select {
		case scrapers <- struct{}{}:
		case <-ctx.Done():
			return
		}
		t0 := time.Now()
		lag := t0.Sub(next)
		r, err := scrapeOnce(context.WithoutCancel(ctx), client, t.url, header)
		took := time.Since(t0)
		<-scrapers
		st.record(t, r, err, took, lag)
		next = next.Add(interval)
		for now := time.Now(); next.Before(now); next = next.Add(interval) {
			st.missed.Add(1)
		}
		timer.Reset(time.Until(next))
	}
}

func (st *loadStats) record(t *loadTarget, r scrapeResult, err error, took, lag time.Duration) {
	if err != nil {
		st.httpFailed.Add(1)
		st.note(fmt.Sprintf("%s: %v", t.addr, err))
		return
	}
	if r.overloaded {
		st.overloaded.Add(1)
	} else {
		st.probed.Add(1)
	}
	key := r.class
	if r.overloaded {
		key = "overloaded"
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.lags = append(st.lags, lag)
	if !t.healthy {
		st.hostile[key]++
		return
	}
	st.classes[key]++
	if !r.overloaded {
		st.latencies = append(st.latencies, took)
	}
	if r.misattributed() {
		st.misattributed.Add(1)
		if len(st.examples) < 5 {
			st.examples = append(st.examples, fmt.Sprintf("%s: %+v", t.addr, r))
		}
	}
}

func (st *loadStats) note(s string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.examples) < 5 {
		st.examples = append(st.examples, s)
	}
}

// percentile is the p-th percentile (0-100) of d, sorted in place.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(float64(len(d)-1) * p / 100)
	return d[i]
}

func msf(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// exporterLoad is the section: the healthy fleet, then the same number of
// targets with a third of them hostile.
func exporterLoad(c *config, t *table, dir string) {
	lc := c.load
	hostile := lc.targets / 3
	fleet, err := startChild("fleet", fmt.Sprintf("RDPPROBE_BENCH_FLEET=%d %d", lc.targets, hostile))
	if err != nil {
		t.fail("exporter load", err.Error())
		return
	}
	defer fleet.stop()
	var healthy, bad []loadTarget
	for {
		l, err := fleet.line()
		if err != nil {
			t.fail("exporter load", "fleet child: "+err.Error())
			return
		}
		if l == "ready" {
			break
		}
		kind, addr, _ := strings.Cut(l, " ")
		if kind == "healthy" {
			healthy = append(healthy, loadTarget{addr: addr, healthy: true})
		} else {
			bad = append(bad, loadTarget{addr: addr})
		}
	}
	t.note("exporter load: %d rdptest servers on 127.0.0.1 (ECDSA P-256) in a child process, the exporter in another (module rdp_nla_info: depth ntlm_info, no credentials; --probe.max-concurrent %d, queue 4×), each target scraped every %v with X-Prometheus-Scrape-Timeout-Seconds %v by at most %d scrapers at once, %v per phase",
		len(healthy)+len(bad), lc.slots, lc.interval, lc.scrapeTimeout.Seconds(), lc.scrapers, lc.duration)

	all := slices.Clone(healthy)
	p, err := runLoad(lc, "healthy", all, fleet, dir)
	if err != nil {
		t.fail("exporter load (healthy fleet)", err.Error())
		return
	}
	reportLoad(t, p, lc, true)

	mixed := append(slices.Clone(healthy[:lc.targets-hostile]), bad...)
	p, err = runLoad(lc, "hostile", mixed, fleet, dir)
	if err != nil {
		t.fail("exporter load (a third hostile)", err.Error())
		return
	}
	reportLoad(t, p, lc, false)
}

func reportLoad(t *table, p *loadPhase, lc loadConfig, full bool) {
	st := p.stats
	what := fmt.Sprintf("%d targets", len(p.targets))
	if !full {
		what = fmt.Sprintf("%d targets, %d hostile", len(p.targets), len(p.targets)-countHealthy(p.targets))
	}
	rate := float64(st.probed.Load()) / p.elapsed.Seconds()
	offered := float64(len(p.targets)) / lc.interval.Seconds()
	p50, p99 := percentile(st.latencies, 50), percentile(st.latencies, 99)
	s := p.samples
	rejected := s[2].rejected - s[0].rejected
	if full {
		t.add(row{metric: fmt.Sprintf("exporter: sustained probes/s, rdp_nla_info, %s every %v", what, lc.interval),
			ours: fmt.Sprintf("%.0f", rate), peer: fmt.Sprintf("offered: %.0f", offered), ratio: "–", goal: "≥ 500", met: rate >= 500})
		t.add(row{metric: "exporter: scrape latency p50 / p99 vs one probe alone",
			ours: msf(p50) + " / " + msf(p99), peer: "alone: " + msf(p.single), ratio: fmt.Sprintf("%.1f×", float64(p99)/float64(p.single)),
			goal: "p99 ≤ 2× alone", met: p99 <= 2*p.single})
		t.add(row{metric: "exporter: RSS at start / middle / end", ours: mb(s[0].rss) + " / " + mb(s[1].rss) + " / " + mb(s[2].rss),
			peer: "–", ratio: ratio(float64(s[2].rss), float64(s[1].rss)), goal: "end ≤ 1.2× middle", met: float64(s[2].rss) <= 1.2*float64(s[1].rss)})
		t.add(row{metric: "exporter: goroutines at start / middle / end", ours: fmt.Sprintf("%d / %d / %d", s[0].goroutines, s[1].goroutines, s[2].goroutines),
			peer: "–", ratio: ratio(float64(s[2].goroutines), float64(s[1].goroutines)), goal: "end ≤ 1.2× middle",
			met: s[1].goroutines > 0 && float64(s[2].goroutines) <= 1.2*float64(s[1].goroutines)})
		t.add(row{metric: "exporter: scrapes answered as overloaded (of all answered)",
			ours: fmt.Sprintf("%d of %d", st.overloaded.Load(), st.overloaded.Load()+st.probed.Load()),
			peer: fmt.Sprintf("rejected_total: %.0f", rejected), ratio: "–", goal: "each one counted in rdpprobe_probes_rejected_total",
			met: float64(st.overloaded.Load()) <= rejected})
		t.add(row{metric: "exporter: healthy scrapes misattributed (not ok, or overloaded with a class)",
			ours: strconv.FormatInt(st.misattributed.Load(), 10), peer: "answers: " + classCounts(st.classes), ratio: "–", goal: "0",
			met: st.misattributed.Load() == 0})
	} else {
		t.add(row{metric: fmt.Sprintf("exporter, a third hostile: healthy targets' answers (%s)", what),
			ours: classCounts(st.classes), peer: "hostile: " + classCounts(st.hostile), ratio: "–",
			goal: "ok, or overloaded; never another class", met: st.misattributed.Load() == 0})
		t.add(row{metric: "exporter, a third hostile: probes/s; healthy p50 / p99", ours: fmt.Sprintf("%.0f; %s / %s", rate, msf(p50), msf(p99)),
			peer: "alone: " + msf(p.single), ratio: fmt.Sprintf("%.1f×", float64(p99)/float64(p.single)), goal: "(recorded)", met: true})
		t.add(row{metric: "exporter, a third hostile: RSS / goroutines at start, middle, end",
			ours: fmt.Sprintf("%s, %s, %s / %d, %d, %d", mb(s[0].rss), mb(s[1].rss), mb(s[2].rss), s[0].goroutines, s[1].goroutines, s[2].goroutines),
			peer: "–", ratio: ratio(float64(s[2].rss), float64(s[1].rss)), goal: "RSS end ≤ 1.2× middle", met: float64(s[2].rss) <= 1.2*float64(s[1].rss)})
	}
	if st.httpFailed.Load() > 0 {
		t.add(row{metric: fmt.Sprintf("exporter (%s): scrapes with no answer (HTTP error or client timeout)", p.name),
			ours: strconv.FormatInt(st.httpFailed.Load(), 10), peer: "–", ratio: "–", goal: "0", met: false})
	}
	cores := func(d time.Duration) string { return fmt.Sprintf("%.2f cores", d.Seconds()/p.elapsed.Seconds()) }
	perProbe := func(d time.Duration) string {
		if n := st.probed.Load() + st.overloaded.Load(); n > 0 {
			return msf(d / time.Duration(n))
		}
		return "–"
	}
	t.note("exporter load, %s phase (%s, %v): %d scrapes started, %d ran a probe, %d overloaded, %d without an answer, %d ticks missed (scrape still running); scheduling lag p99 %s; load average at the end %s",
		p.name, what, p.elapsed.Round(time.Second), st.started.Load(), st.probed.Load(), st.overloaded.Load(), st.httpFailed.Load(), st.missed.Load(),
		msf(percentile(st.lags, 99)), p.loadAvg)
	t.note("exporter load, %s phase, once drained (load over, connections closed): RSS %s, %d goroutines (%d at the start)",
		p.name, mb(p.drained.rss), p.drained.goroutines, s[0].goroutines)
	t.note("exporter load, %s phase, CPU: exporter %s (%s a scrape), fleet %s, load generator %s (%s a scrape)",
		p.name, cores(p.cpu.exporter), perProbe(p.cpu.exporter), cores(p.cpu.fleet), cores(p.cpu.generator), perProbe(p.cpu.generator))
	if len(st.examples) > 0 {
		t.note("exporter load, %s phase, first wrong answers: %s", p.name, strings.Join(st.examples, "; "))
	}
	if top := pprofTop(p.profile, 12); top != "" {
		t.note("exporter load, %s phase, the exporter's CPU profile (`go tool pprof -top`):\n\n```\n%s\n```", p.name, top)
	}
}

func countHealthy(ts []loadTarget) int {
	n := 0
	for _, t := range ts {
		if t.healthy {
			n++
		}
	}
	return n
}

// pprofTop is the head of `go tool pprof -top` of a profile: its summary
// and the n functions with the most flat time.
func pprofTop(path string, n int) string {
	out, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount="+strconv.Itoa(n), path).Output()
	if err != nil {
		return ""
	}
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(l, "File:") || strings.HasPrefix(l, "Build ID:") || strings.HasPrefix(l, "Type:") || strings.HasPrefix(l, "Time:") {
			continue
		}
		keep = append(keep, "  "+l)
	}
	return strings.Join(keep, "\n")
}
