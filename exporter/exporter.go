// Package exporter is rdpprobe's Prometheus multi-target exporter: the
// blackbox_exporter conventions (/probe?target=…&module=…, a registry per
// scrape, modules in YAML) with probe_success meaning "a user could log on",
// and rules that keep scrapes from locking the probe's account.
package exporter

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/report"
)

// Options configure an Exporter. Zero values take the defaults.
type Options struct {
	// MaxConcurrent bounds the probes running at once (default 64).
	MaxConcurrent int
	// MaxQueue bounds the scrapes waiting for a probe slot; one more fails
	// at once (default 4 × MaxConcurrent).
	MaxQueue int
	// TimeoutOffset is taken off Prometheus' scrape timeout so the answer
	// arrives in time (default 0.5s).
	TimeoutOffset time.Duration
	// History is how many recent probes the / page and /logs keep (default 100).
	History int
	// ConfigFile is what Reload reads.
	ConfigFile string
	// Version goes into rdpprobe_build_info.
	Version string
	Logger  *slog.Logger

	// Run and Classify default to probe.Run and classify.Classify; tests
	// replace them.
	Run      func(ctx context.Context, target string, opt probe.Options) *probe.Result
	Classify func(*probe.Result) classify.Verdict
	// Now defaults to time.Now.
	Now func() time.Time
}

// fallbackScrapeTimeout is the deadline when a request carries no
// X-Prometheus-Scrape-Timeout-Seconds (curl, say): the module's timeout then
// decides, as it is shorter.
const fallbackScrapeTimeout = 120 * time.Second

// Exporter runs probes for scrapes. It is safe for concurrent use.
type Exporter struct {
	// slowSchedules is slowSchedules; tests make the machine look starved.
	slowSchedules func(time.Duration) uint64

	opt    Options
	log    *slog.Logger
	config atomic.Pointer[Config]

	sem     chan struct{}
	waiting atomic.Int64

	mu      sync.Mutex
	flights map[key]*flight
	logons  map[key]*logonEntry
	history *history

	registry *prometheus.Registry
	m        exporterMetrics

	// onJoin, when set, is called as a scrape joins a probe in flight, so
	// that tests can wait for it rather than sleep.
	onJoin func()
}

// key names what a probe is for. Targets are normalised to host:port, so
// "h" and "h:3389" share a cache and a lockout block.
type key struct{ module, target string }

// gatewayKey is the target of a module's gateway logon block: no target
// is spelled so.
const gatewayKey = "(the module's RD Gateway)"

func gatewayLogonAttempted(r *probe.Result) bool { return r.Gateway != nil && r.Gateway.LogonAttempted }

// flight is one probe in progress; scrapes of the same key wait for it.
type flight struct {
	done chan struct{}
	out  *outcome
}

// logonEntry is the last logon of a module against a target.
type logonEntry struct {
	fingerprint string // of the module that made it
	out         *outcome
	blocked     bool // it failed in a way that can lock the account
}

// outcome is what one probe run produced, shared by every scrape it answers.
type outcome struct {
	res      *probe.Result // nil when the probe did not run (exporter overloaded)
	verdict  classify.Verdict
	report   *report.Report // nil when res is
	start    time.Time
	end      time.Time
	log      []byte // the probe's own log, no secrets
	rejected string // "queue_full", "queue_timeout" or "cpu_starved" when the probe did not run or its timeout was ours
}

type exporterMetrics struct {
	probes        *prometheus.CounterVec // module, class
	scrapes       *prometheus.CounterVec // module, source
	logons        *prometheus.CounterVec // module
	rejected      *prometheus.CounterVec // reason
	inFlight      prometheus.Gauge
	queued        prometheus.GaugeFunc
	reloadOK      prometheus.Gauge
	reloadSuccess prometheus.Gauge
	blocked       prometheus.GaugeFunc
}

// New returns an Exporter running cfg.
func New(cfg *Config, opt Options) *Exporter {
	if opt.MaxConcurrent <= 0 {
		opt.MaxConcurrent = 64
	}
	if opt.MaxQueue <= 0 {
		opt.MaxQueue = 4 * opt.MaxConcurrent
	}
	if opt.TimeoutOffset <= 0 {
		opt.TimeoutOffset = 500 * time.Millisecond
	}
	if opt.History <= 0 {
		opt.History = 100
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Run == nil {
		opt.Run = probe.Run
	}
	if opt.Classify == nil {
		opt.Classify = classify.Classify
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Version == "" {
		opt.Version = "dev"
	}
	e := &Exporter{
		slowSchedules: slowSchedules,
		opt:           opt,
		log:           opt.Logger,
		sem:           make(chan struct{}, opt.MaxConcurrent),
		flights:       map[key]*flight{},
		logons:        map[key]*logonEntry{},
		history:       newHistory(opt.History),
	}
	e.config.Store(cfg)
	e.registry = prometheus.NewRegistry()
	e.m = exporterMetrics{
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rdpprobe_probes_total", Help: "Probes run, by module and resulting class (cached answers and rejected scrapes not included).",
		}, []string{"module", "class"}),
		scrapes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rdpprobe_scrapes_total", Help: "Scrapes of /probe by module and how they were answered: probe (ran one), shared (joined one in flight), cache (logon result still fresh), blocked (logon stopped after a failure that can lock the account), rejected (exporter overloaded).",
		}, []string{"module", "source"}),
		logons: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rdpprobe_logon_attempts_total", Help: "Logon attempts sent to servers, by module.",
		}, []string{"module"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rdpprobe_probes_rejected_total", Help: "Scrapes answered without probing because the exporter was at --probe.max-concurrent: queue_full (more than --probe.max-queue waiting) or queue_timeout (no slot while enough of the scrape's deadline was left for a probe: min(1s, the module's phase_timeout); or the probe in flight it joined outlasted it), or cpu_starved (the probe timed out while the exporter's goroutines waited over 100 ms for a core: the machine's overload, not the target's).",
		}, []string{"reason"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rdpprobe_probes_in_flight", Help: "Probes running now.",
		}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rdpprobe_config_last_reload_successful", Help: "Whether the last configuration reload succeeded.",
		}),
		reloadSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rdpprobe_config_last_reload_success_timestamp_seconds", Help: "Timestamp of the last successful configuration load.",
		}),
	}
	e.m.queued = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "rdpprobe_probes_queued", Help: "Scrapes waiting for a probe slot.",
	}, func() float64 { return float64(e.waiting.Load()) })
	e.m.blocked = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "rdpprobe_logon_blocked", Help: "(module, target) pairs whose logons are stopped after a failure that can lock the account; POST /-/reset?module=… or a config change lifts it.",
	}, func() float64 { return float64(e.blockedCount()) })
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "rdpprobe_build_info", Help: "rdpprobe's version; the value is 1.", ConstLabels: prometheus.Labels{"version": opt.Version},
	})
	build.Set(1)
	e.m.reloadOK.Set(1)
	e.m.reloadSuccess.Set(float64(opt.Now().Unix()))
	e.registry.MustRegister(
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
		collectors.NewBuildInfoCollector(),
		build, e.m.probes, e.m.scrapes, e.m.logons, e.m.rejected, e.m.inFlight, e.m.queued,
		e.m.reloadOK, e.m.reloadSuccess, e.m.blocked,
	)
	return e
}

// Config is the configuration in use.
func (e *Exporter) Config() *Config { return e.config.Load() }

// Registry holds the exporter's own metrics (/metrics).
func (e *Exporter) Registry() *prometheus.Registry { return e.registry }

// Reload reads Options.ConfigFile again. A file that does not load leaves the
// running config in place; the error says why.
func (e *Exporter) Reload() error {
	cfg, err := LoadFile(e.opt.ConfigFile)
	if err != nil {
		e.m.reloadOK.Set(0)
		e.log.Error("config reload failed; keeping the running config", "err", err)
		return err
	}
	e.config.Store(cfg)
	e.m.reloadOK.Set(1)
	e.m.reloadSuccess.Set(float64(e.opt.Now().Unix()))
	// Drop logon state the new config made stale: a changed module (or
	// password) gets a fresh logon, a removed one is forgotten.
	e.mu.Lock()
	for k, ent := range e.logons {
		if m := cfg.Modules[k.module]; m == nil || m.fingerprint != ent.fingerprint {
			delete(e.logons, k)
		}
	}
	e.mu.Unlock()
	for _, w := range cfg.Warnings {
		e.log.Warn("config: "+w, "file", e.opt.ConfigFile)
	}
	e.log.Info("config reloaded", "file", e.opt.ConfigFile, "modules", len(cfg.Modules))
	return nil
}

// Reset forgets the logon results of a module (for one target, or all when
// target is empty), lifting any block. It returns how many were forgotten.
func (e *Exporter) Reset(module, target string) int {
	if target != "" {
		target = normalizeTarget(target)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for k := range e.logons {
		if k.module == module && (target == "" || k.target == target) {
			delete(e.logons, k)
			n++
		}
	}
	e.log.Info("logon state reset", "module", module, "target", target, "entries", n)
	return n
}

func (e *Exporter) blockedCount() int {
	cfg := e.Config()
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for k, ent := range e.logons {
		if m := cfg.Modules[k.module]; ent.blocked && m != nil && m.fingerprint == ent.fingerprint {
			n++
		}
	}
	return n
}

// Source says how a scrape was answered.
type Source string

const (
	SourceProbe    Source = "probe"    // this scrape ran the probe
	SourceShared   Source = "shared"   // joined a probe of the same target and module in flight
	SourceCache    Source = "cache"    // a logon result younger than logon_cache_ttl
	SourceBlocked  Source = "blocked"  // logons stopped after a failure that can lock the account
	SourceRejected Source = "rejected" // exporter overloaded; no probe ran
)

// answer is what a scrape reports.
type answer struct {
	out      *outcome
	source   Source
	cacheAge time.Duration
	blocked  bool
}

// scrape answers one /probe request for target with module m, within ctx.
func (e *Exporter) scrape(ctx context.Context, target string, m *Module) answer {
	k := key{m.name, normalizeTarget(target)}
	gk := key{m.name, gatewayKey}
	now := e.opt.Now()
	e.mu.Lock()
	if m.gatewayLogon() {
		// A failed gateway logon stops the module's logons for every
		// target: they all go through that gateway, with that account.
		if ent := e.logons[gk]; ent != nil && ent.blocked && ent.fingerprint == m.fingerprint {
			e.mu.Unlock()
			return answer{out: ent.out, source: SourceBlocked, cacheAge: now.Sub(ent.out.end), blocked: true}
		}
	}
	if m.Logon() {
		if ent := e.logons[k]; ent != nil && ent.fingerprint == m.fingerprint {
			age := now.Sub(ent.out.end)
			switch {
			case ent.blocked:
				e.mu.Unlock()
				return answer{out: ent.out, source: SourceBlocked, cacheAge: age, blocked: true}
			case age < m.LogonCacheTTL:
				e.mu.Unlock()
				return answer{out: ent.out, source: SourceCache, cacheAge: age}
			}
		}
	}
	if f := e.flights[k]; f != nil {
		e.mu.Unlock()
		if e.onJoin != nil {
			e.onJoin()
		}
		select {
		case <-f.done:
			a := answer{out: f.out, source: SourceShared}
			if m.Logon() {
				a.blocked = e.isBlocked(k, m)
			}
			return a
		case <-ctx.Done():
			var buf bytes.Buffer
			buf.WriteString("no answer from the probe in flight before the scrape's deadline\n")
			e.reject(errQueueTimeout.Error(), slog.New(slog.NewTextHandler(&buf, nil)), m, target)
			return answer{out: &outcome{start: now, end: e.opt.Now(), rejected: errQueueTimeout.Error(), log: buf.Bytes()}, source: SourceRejected}
		}
	}
	f := &flight{done: make(chan struct{})}
	e.flights[k] = f
	e.mu.Unlock()

	// The probe belongs to every scrape waiting for it, not only to this
	// one: the requester going away must not cut it short. The deadline
	// still bounds it.
	pctx := context.WithoutCancel(ctx)
	if d, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		pctx, cancel = context.WithDeadline(pctx, d)
		defer cancel()
	}
	out := e.run(pctx, target, m)

	e.mu.Lock()
	blocked := false
	if m.Logon() && out.res != nil && out.res.CredentialsUsed() {
		blocked = out.verdict.Class.LocksAccount
		e.logons[k] = &logonEntry{fingerprint: m.fingerprint, out: out, blocked: blocked}
		if blocked && strings.HasPrefix(string(out.res.Failed), "gateway_") {
			e.logons[gk] = &logonEntry{fingerprint: m.fingerprint, out: out, blocked: true}
		}
		e.pruneLocked(now)
	}
	f.out = out
	delete(e.flights, k)
	close(f.done)
	e.mu.Unlock()

	src := SourceProbe
	if out.rejected != "" {
		src = SourceRejected
	}
	if blocked {
		e.log.Warn("logon failed in a way that can lock the account: no more logons for this module and target until the config changes or POST /-/reset",
			"module", m.name, "target", target, "class", out.verdict.Class.ID)
	}
	return answer{out: out, source: src, blocked: blocked}
}

func (e *Exporter) isBlocked(k key, m *Module) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	ent := e.logons[k]
	return ent != nil && ent.blocked && ent.fingerprint == m.fingerprint
}

// pruneLocked drops logon results that can no longer answer a scrape, so
// that the map does not grow with every target ever probed.
func (e *Exporter) pruneLocked(now time.Time) {
	if len(e.logons) < 256 {
		return
	}
	cfg := e.Config()
	for k, ent := range e.logons {
		m := cfg.Modules[k.module]
		if m == nil || m.fingerprint != ent.fingerprint || !ent.blocked && now.Sub(ent.out.end) >= m.LogonCacheTTL {
			delete(e.logons, k)
		}
	}
}

// errQueueFull and errQueueTimeout say why a probe did not run.
var (
	errQueueFull    = errors.New("queue_full")
	errQueueTimeout = errors.New("queue_timeout")
)

// minProbeTime is the least time a probe that had to wait for a slot must
// still have: the connect phase's minimum, one round of name resolution
// and TCP handshake with room to spare. A scrape that would get a slot with
// less left is answered as overloaded: a probe with a few milliseconds
// would blame the target ("no answer within 0s") for the exporter's own
// queue. A module whose phase_timeout is shorter needs only that.
const minProbeTime = time.Second

// needs is how much of its deadline a queued scrape of m must have left
// when it gets a slot.
func (m *Module) needs() time.Duration {
	pt := m.PhaseTimeout
	if pt <= 0 {
		pt = probe.DefaultPhaseTimeout
	}
	return min(minProbeTime, pt)
}

// acquire takes a probe slot: at once if one is free, whatever time is
// left; otherwise it waits, not at all when MaxQueue scrapes wait already,
// and only while at least need of ctx's deadline would be left (so a
// scrape whose whole deadline is shorter than need runs only when a slot
// is free at once).
func (e *Exporter) acquire(ctx context.Context, need time.Duration) error {
	select {
	case e.sem <- struct{}{}:
		return nil
	default:
	}
	if e.waiting.Add(1) > int64(e.opt.MaxQueue) {
		e.waiting.Add(-1)
		return errQueueFull
	}
	defer e.waiting.Add(-1)
	wait := ctx
	d, hasDeadline := ctx.Deadline()
	if hasDeadline {
		var cancel context.CancelFunc
		wait, cancel = context.WithDeadline(ctx, d.Add(-need))
		defer cancel()
	}
	select {
	case e.sem <- struct{}{}:
		if hasDeadline && time.Until(d) < need {
			<-e.sem // it came too late to be of use
			return errQueueTimeout
		}
		return nil
	case <-wait.Done():
		return errQueueTimeout
	}
}

// reject counts a scrape answered as overloaded and says so in both logs.
func (e *Exporter) reject(reason string, plog *slog.Logger, m *Module, target string) {
	e.m.rejected.WithLabelValues(reason).Inc()
	plog.Warn("probe not run: exporter overloaded", "reason", reason, "max_concurrent", e.opt.MaxConcurrent,
		"max_queue", e.opt.MaxQueue, "min_time_left", m.needs().String())
	e.log.Warn("probe not run: exporter overloaded", "reason", reason, "module", m.name, "target", target)
}

// run runs one probe in a slot and classifies it.
func (e *Exporter) run(ctx context.Context, target string, m *Module) *outcome {
	start := e.opt.Now()
	var buf bytes.Buffer
	plog := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if err := e.acquire(ctx, m.needs()); err != nil {
		reason := err.Error()
		e.reject(reason, plog, m, target)
		return &outcome{start: start, end: e.opt.Now(), rejected: reason, log: buf.Bytes()}
	}
	defer func() { <-e.sem }()
	e.m.inFlight.Inc()
	defer e.m.inFlight.Dec()

	opt := m.options()
	if d, ok := ctx.Deadline(); ok {
		if left := time.Until(d); left < opt.Timeout {
			opt.Timeout = left
		}
	}
	opt.Recorder = logRecorder{plog}
	plog.Info("beginning probe", "target", target, "module", m.name, "depth", string(m.depth), "offer", m.offer.String(),
		"timeout", opt.Timeout.String(), "logon", opt.Credentials != nil)
	slowBefore := e.slowSchedules(starvedAfter)
	judged := report.Prober{Run: e.opt.Run, Classify: e.opt.Classify}.Probe(ctx, target, opt)
	if opt.Credentials != nil {
		opt.Credentials.Password = ""
	}
	res, v := judged.Result, judged.Verdict
	end := e.opt.Now()
	if (v.Class.ID == classify.Timeout || v.Class.ID == classify.TCPTimeout) && !res.CredentialsUsed() &&
		e.slowSchedules(starvedAfter) > slowBefore {
		// The exporter could not run on time while the probe waited:
		// its overload, not the target's silence (no logon was made, so
		// nothing is lost by not reporting it).
		plog.Info("probe timed out while the exporter was starved of CPU", "class", string(v.Class.ID), "waited_over", starvedAfter.String())
		e.reject(reasonStarved, plog, m, target)
		return &outcome{start: start, end: end, rejected: reasonStarved, log: buf.Bytes()}
	}
	for _, t := range res.Timings {
		plog.Info("phase", "phase", string(t.Phase), "duration", t.Duration.String(), "ok", t.Phase != res.Failed)
	}
	if res.Err != nil {
		plog.Info("error", "phase", string(res.Failed), "err", res.Err.Error())
	}
	plog.Info("verdict", "class", v.Class.ID, "ok", v.OK, "phase", string(v.Phase), "detail", v.Detail,
		"logon_attempted", res.LogonAttempted, "success", m.expects(v.Class.ID))
	e.m.probes.WithLabelValues(m.name, string(v.Class.ID)).Inc()
	// The target's logon and the gateway's count one each.
	for _, used := range []bool{res.LogonAttempted || res.Session != nil && res.Session.Autologon, gatewayLogonAttempted(res)} {
		if used {
			e.m.logons.WithLabelValues(m.name).Inc()
		}
	}
	return &outcome{res: res, verdict: v, report: judged.Report, start: start, end: end, log: buf.Bytes()}
}

// logRecorder writes the conversation's outline (never its bytes) to the
// probe's log.
type logRecorder struct{ log *slog.Logger }

func (r logRecorder) Message(from probe.Side, layer probe.Layer, b []byte, note string, secret bool) {
	r.log.Debug("message", "from", string(from), "layer", string(layer), "bytes", len(b), "note", note)
}

func (r logRecorder) Event(kind, note string) {
	r.log.Debug("event", "kind", kind, "note", note)
}

// normalizeTarget makes the cache key of a target: host:port.
func normalizeTarget(target string) string {
	host, port, err := probe.SplitTarget(target, probe.DefaultPort)
	if err != nil {
		return target
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}
