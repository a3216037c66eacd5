package sweep

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/report"
)

// DefaultMaxLogonFailures is how many failed logons (results whose class
// LocksAccount) a sweep tolerates before it stops logging on.
const DefaultMaxLogonFailures = 3

// Logon notes: what a sweep did about the logon of one target. They are
// the "logon" column of the CSV and HTML reports.
const (
	LogonNone      = ""              // no credentials given
	LogonAttempted = "attempted"     // the probe gave the server the credentials once (AUTHENTICATE or autologon)
	LogonNotTried  = "not attempted" // credentials given, the server never asked (unreachable, no NLA...)
	// Skipped notes start with "skipped: ".
	logonSkippedHost = "skipped: a logon was already attempted on this host"
	logonSkippedStop = "skipped: logons stopped"
)

// Runner runs a sweep: a pool of Concurrency workers, each taking the next
// target, a token from Limiter, and running Probe once. It never runs a
// target twice.
//
// With Options.Credentials set it keeps logons lockout-aware: at most one
// logon attempt per host; logons stop after MaxLogonFailures failures whose
// class LocksAccount, counted over the whole sweep (a resumed one
// included), or at once after one whose class is AccountLevel; the
// remaining targets are then probed without credentials to depth
// ntlm_info. To make overshooting the cap impossible, credentialed probes
// in flight never exceed the failures still allowed: a sweep with -u runs
// at most MaxLogonFailures of them at once.
type Runner struct {
	// Probe runs one probe; nil means probe.Run. Tests inject fakes.
	Probe func(ctx context.Context, target string, opt probe.Options) *probe.Result
	// Classify judges a result; nil means classify.Classify.
	Classify func(*probe.Result) classify.Verdict
	// Options for every probe.
	Options probe.Options
	// Concurrency is the number of probes at once (default 64).
	Concurrency int
	// Limiter paces connection starts; nil means no limit.
	Limiter *Limiter
	// MaxLogonFailures: see the type's comment (default
	// DefaultMaxLogonFailures).
	MaxLogonFailures int
	// PriorLogonFailures and PriorLogonHosts come from a resumed sweep:
	// failures already counted and hosts already logged on to.
	PriorLogonFailures int
	PriorLogonHosts    []string
	// Skip reports targets already done (a resumed sweep); nil skips none.
	Skip func(target string) bool
	// Abort cancels the probes in flight (a second Ctrl-C). Run's own
	// context only stops new probes from starting: those running finish
	// within their timeout and are recorded. A probe cut off by Abort is
	// dropped (a resumed sweep will run it) unless it attempted a logon.
	Abort context.Context
	// Now is the clock of the summary; nil means time.Now.
	Now func() time.Time

	mu  sync.Mutex
	cur *sweep // the sweep running, for Stats
}

// Outcome is one probed target.
type Outcome struct {
	Result  *probe.Result
	Verdict classify.Verdict
	Report  *report.Report
	Logon   string // a Logon* note, or "skipped: ..."
}

// Stats is the state of a sweep: live while it runs, final when Run
// returns.
type Stats struct {
	Start, End time.Time
	Done       uint64         // targets probed and recorded
	Skipped    uint64         // targets a resumed sweep had already done
	Dropped    uint64         // probes cut off by Abort, not recorded
	Classes    map[string]int // class ID → targets
	// LogonAttempts and LogonFailures count this run's logons; failures
	// include PriorLogonFailures.
	LogonAttempts int
	LogonFailures int
	// LogonsStopped says why logons stopped ("" while they go on).
	LogonsStopped string
	// Interrupted: the sweep ended before every target was probed.
	Interrupted bool
}

// sweep is the state of one Run.
type sweep struct {
	r     *Runner
	gate  *logonGate
	mu    sync.Mutex
	stats Stats
}

// Run probes every target of targets not skipped, calling emit for each
// outcome, one at a time, from the calling goroutine. Cancelling ctx stops
// dispatch; the probes in flight finish (see Runner.Abort). If emit fails
// (a full disk), the sweep stops and Run returns that error. Stats are
// final when Run returns; Stats() gives a live copy while it runs.
func (r *Runner) Run(ctx context.Context, targets iter.Seq[string], emit func(*Outcome) error) (Stats, error) {
	s := r.start()
	return s.run(ctx, targets, emit)
}

func (r *Runner) start() *sweep {
	now := r.now()
	max := r.MaxLogonFailures
	if max <= 0 {
		max = DefaultMaxLogonFailures
	}
	s := &sweep{r: r, stats: Stats{Start: now, Classes: map[string]int{}, LogonFailures: r.PriorLogonFailures}}
	s.gate = newLogonGate(max, r.PriorLogonFailures, r.PriorLogonHosts)
	r.mu.Lock()
	r.cur = s
	r.mu.Unlock()
	return s
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (s *sweep) run(ctx context.Context, targets iter.Seq[string], emit func(*Outcome) error) (Stats, error) {
	r := s.r
	workers := r.Concurrency
	if workers <= 0 {
		workers = 64
	}
	abort := r.Abort
	if abort == nil {
		abort = context.Background()
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()

	jobs := make(chan string)
	results := make(chan *Outcome, workers)
	exhausted := make(chan bool, 1)
	go func() { // the dispatcher
		defer close(jobs)
		for t := range targets {
			if ctx.Err() != nil {
				exhausted <- false
				return
			}
			if r.Skip != nil && r.Skip(t) {
				s.mu.Lock()
				s.stats.Skipped++
				s.mu.Unlock()
				continue
			}
			select {
			case jobs <- t:
			case <-ctx.Done():
				exhausted <- false
				return
			}
		}
		exhausted <- true
	}()
	var wg sync.WaitGroup
	var lost sync.Mutex
	lostJobs := false
	for range workers {
		wg.Go(func() {
			for t := range jobs {
				o, ok := s.probeOne(ctx, abort, t)
				if !ok {
					lost.Lock()
					lostJobs = true
					lost.Unlock()
					continue
				}
				results <- o
			}
		})
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	var emitErr error
	for o := range results {
		if emitErr != nil {
			continue // draining
		}
		if err := emit(o); err != nil {
			emitErr = err
			stop()
			continue
		}
		s.mu.Lock()
		s.stats.Done++
		s.stats.Classes[string(o.Verdict.Class.ID)]++
		s.mu.Unlock()
	}
	complete := <-exhausted
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.End = r.now()
	s.stats.Interrupted = !complete || lostJobs || emitErr != nil
	g := s.gate.snapshot()
	s.stats.LogonAttempts, s.stats.LogonFailures, s.stats.LogonsStopped = g.attempts, g.failures, g.stopped
	st := s.stats
	st.Classes = maps.Clone(s.stats.Classes)
	return st, emitErr
}

// probeOne runs one target; ok is false when it was not probed or was cut
// off (it is then not recorded, and a resumed sweep will run it).
func (s *sweep) probeOne(ctx, abort context.Context, target string) (*Outcome, bool) {
	r := s.r
	opt := r.Options
	note := LogonNone
	host := hostKey(target)
	reserved := false
	if opt.Credentials != nil {
		use, why, err := s.gate.acquire(ctx, host)
		if err != nil {
			return nil, false
		}
		if use {
			reserved = true
		} else {
			note = why
			opt.Credentials = nil
			if opt.Depth == "" || opt.Depth == probe.PhaseLogon {
				opt.Depth = probe.PhaseNTLMInfo
			}
		}
	}
	if err := r.Limiter.Wait(ctx); err != nil {
		if reserved {
			s.gate.release(host, false, classify.Class{})
		}
		return nil, false
	}
	out := report.Prober{Run: r.Probe, Classify: r.Classify}.Probe(abort, target, opt)
	res, v := out.Result, out.Verdict
	if reserved {
		s.gate.release(host, res.CredentialsUsed(), v.Class)
		note = LogonNotTried
		if res.CredentialsUsed() {
			note = LogonAttempted
		}
	}
	if abort.Err() != nil && res.Err != nil && !res.CredentialsUsed() {
		s.mu.Lock()
		s.stats.Dropped++
		s.mu.Unlock()
		return nil, false
	}
	return &Outcome{Result: res, Verdict: v, Report: out.Report, Logon: note}, true
}

// Stats returns a copy of the running sweep's counters (for progress).
func (r *Runner) Stats() Stats {
	r.mu.Lock()
	s := r.cur
	r.mu.Unlock()
	if s == nil {
		return Stats{}
	}
	s.mu.Lock()
	st := s.stats
	st.Classes = maps.Clone(s.stats.Classes)
	s.mu.Unlock()
	g := s.gate.snapshot()
	st.LogonAttempts, st.LogonFailures, st.LogonsStopped = g.attempts, g.failures, g.stopped
	return st
}

// hostKey is the host a target names, for the one-logon-per-host rule.
func hostKey(target string) string {
	h, _, err := probe.SplitTarget(target, probe.DefaultPort)
	if err != nil {
		return target
	}
	return strings.ToLower(h)
}

// logonGate enforces the logon rules across workers.
type logonGate struct {
	mu       sync.Mutex
	max      int
	failures int
	inflight int
	attempts int
	stopped  string
	hosts    map[string]bool // hosts with a logon reserved or attempted
	wake     chan struct{}   // closed (and replaced) when a slot frees or logons stop
}

type gateState struct {
	attempts, failures int
	stopped            string
}

func newLogonGate(max, prior int, hosts []string) *logonGate {
	g := &logonGate{max: max, failures: prior, hosts: map[string]bool{}, wake: make(chan struct{})}
	for _, h := range hosts {
		g.hosts[strings.ToLower(h)] = true
	}
	if prior >= max {
		g.stopped = fmt.Sprintf("the resumed sweep already had %d failed logons, the --max-logon-failures cap of %d", prior, max)
	}
	return g
}

// acquire decides whether host's probe carries credentials. It waits while
// the failures so far plus the credentialed probes in flight reach the cap,
// so that even if every one of them fails the cap holds.
func (g *logonGate) acquire(ctx context.Context, host string) (use bool, note string, err error) {
	for {
		g.mu.Lock()
		switch {
		case g.stopped != "":
			g.mu.Unlock()
			return false, logonSkippedStop + ": " + g.stopped, nil
		case g.hosts[host]:
			g.mu.Unlock()
			return false, logonSkippedHost, nil
		case g.failures+g.inflight < g.max:
			g.inflight++
			g.hosts[host] = true
			g.mu.Unlock()
			return true, "", nil
		}
		wake := g.wake
		g.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return false, "", ctx.Err()
		}
	}
}

// release ends a credentialed probe: attempted says whether the server was
// given the credentials (probe.Result.CredentialsUsed), class is its
// verdict's (the zero Class when it did not run). Only an attempt can count
// toward the cap: a server's error before any credential went out says
// nothing about the account, whatever class it got.
func (g *logonGate) release(host string, attempted bool, class classify.Class) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inflight--
	if attempted {
		g.attempts++
	} else {
		delete(g.hosts, host) // no logon happened: the host may get one later
	}
	if attempted && class.LocksAccount {
		g.failures++
		if g.stopped == "" {
			if class.AccountLevel {
				g.stopped = fmt.Sprintf("%s (%s from %s): further logons cannot succeed and could keep it locked",
					lowerFirst(class.Title), class.ID, host)
			} else if g.failures >= g.max {
				g.stopped = fmt.Sprintf("%d failed logons reached --max-logon-failures %d (last: %s from %s); more could lock the account out",
					g.failures, g.max, class.ID, host)
			}
		}
	}
	close(g.wake)
	g.wake = make(chan struct{})
}

func (g *logonGate) snapshot() gateState {
	g.mu.Lock()
	defer g.mu.Unlock()
	return gateState{attempts: g.attempts, failures: g.failures, stopped: g.stopped}
}

// lowerFirst puts a class's Title ("The account is locked out") inside a
// sentence.
func lowerFirst(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}
