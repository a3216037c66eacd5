package sweep

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/probe"
)

// fakeClass carries the class a fake probe wants through the Result.
type fakeClass struct{ id string }

func (f fakeClass) Error() string { return f.id }

// judge classifies fake results: the class named by Err, else ok.
func judge(r *probe.Result) classify.Verdict {
	id := "ok"
	var fc fakeClass
	if errors.As(r.Err, &fc) {
		id = fc.id
	}
	c, ok := classify.Lookup(classify.ID(id))
	if !ok {
		c = classify.Class{ID: classify.ID(id), Group: classify.GroupProtocol}
	}
	return classify.Verdict{Class: c, OK: id == "ok"}
}

// result is what a fake server says: class, and whether a logon happened.
func result(target string, opt probe.Options, class string) *probe.Result {
	r := &probe.Result{Target: target, Credentials: opt.Credentials != nil}
	r.Host, r.Port, _ = probe.SplitTarget(target, probe.DefaultPort)
	r.LogonAttempted = opt.Credentials != nil
	if class != "ok" {
		r.Err = fakeClass{class}
	}
	return r
}

func list(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("10.0.%d.%d:3389", i/256, i%256)
	}
	return out
}

type recorder struct {
	mu  sync.Mutex
	out []*Outcome
}

func (r *recorder) emit(o *Outcome) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.out = append(r.out, o)
	return nil
}

func (r *recorder) targets() []string {
	var t []string
	for _, o := range r.out {
		t = append(t, o.Result.Target)
	}
	slices.Sort(t)
	return t
}

func TestRunnerProbesEachTargetOnceWithinConcurrency(t *testing.T) {
	const n, conc = 500, 16
	var inflight, peak atomic.Int32
	var calls sync.Map
	barrier := make(chan struct{})
	var once sync.Once
	r := &Runner{
		Concurrency: conc,
		Classify:    judge,
		Probe: func(ctx context.Context, target string, opt probe.Options) *probe.Result {
			if _, dup := calls.LoadOrStore(target, true); dup {
				t.Errorf("%s probed twice", target)
			}
			cur := inflight.Add(1)
			for p := peak.Load(); cur > p && !peak.CompareAndSwap(p, cur); p = peak.Load() {
			}
			// The first probes wait until the pool is full: the pool must
			// really run conc at once, and never more.
			if cur == conc {
				once.Do(func() { close(barrier) })
			}
			<-barrier
			inflight.Add(-1)
			return result(target, opt, "tcp_refused")
		},
	}
	var rec recorder
	st, err := r.Run(context.Background(), slices.Values(list(n)), rec.emit)
	if err != nil {
		t.Fatal(err)
	}
	if peak.Load() != conc {
		t.Fatalf("peak concurrency %d, want %d", peak.Load(), conc)
	}
	if st.Done != n || len(rec.out) != n || st.Classes["tcp_refused"] != n || st.Interrupted {
		t.Fatalf("stats %+v, %d outcomes", st, len(rec.out))
	}
	if got := rec.targets(); !slices.Equal(got, slices.Sorted(slices.Values(list(n)))) {
		t.Fatal("outcomes are not the targets")
	}
	if rec.out[0].Report == nil || rec.out[0].Report.Class != "tcp_refused" || rec.out[0].Logon != LogonNone {
		t.Fatalf("outcome %+v", rec.out[0])
	}
}

func TestRunnerSkipsResumedTargets(t *testing.T) {
	all := list(10)
	done := map[string]struct{}{all[1]: {}, all[5]: {}}
	var probed atomic.Int32
	r := &Runner{Classify: judge, Skip: func(s string) bool { _, ok := done[s]; return ok },
		Probe: func(ctx context.Context, target string, opt probe.Options) *probe.Result {
			probed.Add(1)
			if _, ok := done[target]; ok {
				t.Errorf("%s was done and ran again", target)
			}
			return result(target, opt, "ok")
		}}
	var rec recorder
	st, _ := r.Run(context.Background(), slices.Values(all), rec.emit)
	if st.Done != 8 || st.Skipped != 2 || probed.Load() != 8 || st.Interrupted {
		t.Fatalf("stats %+v, probed %d", st, probed.Load())
	}
}

// lockoutRun sweeps n hosts with credentials where every logon fails with
// class and returns the probes' options and the outcomes.
func lockoutRun(t *testing.T, n, conc, max, prior int, class string) (Stats, []probe.Options, *recorder) {
	t.Helper()
	var mu sync.Mutex
	var opts []probe.Options
	r := &Runner{
		Concurrency: conc, Classify: judge, MaxLogonFailures: max, PriorLogonFailures: prior,
		Options: probe.Options{Credentials: &probe.Credentials{User: "u", Domain: "D", Password: "p"}},
		Probe: func(ctx context.Context, target string, opt probe.Options) *probe.Result {
			mu.Lock()
			opts = append(opts, opt)
			mu.Unlock()
			if opt.Credentials == nil {
				return result(target, opt, "ok")
			}
			return result(target, opt, class)
		},
	}
	var rec recorder
	st, err := r.Run(context.Background(), slices.Values(list(n)), rec.emit)
	if err != nil {
		t.Fatal(err)
	}
	return st, opts, &rec
}

func TestLockoutCapHoldsUnderConcurrency(t *testing.T) {
	for _, conc := range []int{1, 8, 64} {
		t.Run(fmt.Sprint(conc), func(t *testing.T) {
			st, opts, rec := lockoutRun(t, 200, conc, 3, 0, "logon_failed")
			with := 0
			for _, o := range opts {
				if o.Credentials != nil {
					with++
				} else if o.Depth != probe.PhaseNTLMInfo {
					t.Fatalf("a probe without credentials went to depth %q, want ntlm_info", o.Depth)
				}
			}
			if with != 3 || st.LogonAttempts != 3 || st.LogonFailures != 3 {
				t.Fatalf("%d credentialed probes, stats %+v; want exactly 3", with, st)
			}
			if !strings.Contains(st.LogonsStopped, "3 failed logons reached --max-logon-failures 3") {
				t.Fatalf("LogonsStopped %q", st.LogonsStopped)
			}
			if st.Done != 200 || st.Classes["logon_failed"] != 3 || st.Classes["ok"] != 197 {
				t.Fatalf("stats %+v", st)
			}
			skipped := 0
			for _, o := range rec.out {
				if strings.HasPrefix(o.Logon, "skipped: logons stopped: 3 failed logons") {
					skipped++
				}
			}
			if skipped != 197 {
				t.Fatalf("%d outcomes say why logons stopped, want 197", skipped)
			}
		})
	}
}

func TestLockedOutAccountStopsAtOnce(t *testing.T) {
	st, opts, _ := lockoutRun(t, 50, 1, 3, 0, "account_locked_out")
	if st.LogonAttempts != 1 || !strings.Contains(st.LogonsStopped, "the account is locked out") {
		t.Fatalf("stats %+v", st)
	}
	if opts[1].Credentials != nil {
		t.Fatal("a second logon followed a lockout")
	}
}

func TestPriorFailuresCount(t *testing.T) {
	st, opts, _ := lockoutRun(t, 20, 4, 3, 2, "logon_failed")
	if st.LogonAttempts != 1 || st.LogonFailures != 3 {
		t.Fatalf("with 2 earlier failures and a cap of 3, stats %+v", st)
	}
	st, opts, _ = lockoutRun(t, 5, 4, 3, 3, "logon_failed")
	for _, o := range opts {
		if o.Credentials != nil {
			t.Fatal("a logon ran although the resumed sweep had reached the cap")
		}
	}
	if st.LogonAttempts != 0 || !strings.Contains(st.LogonsStopped, "already had 3 failed logons") {
		t.Fatalf("stats %+v", st)
	}
}

func TestSuccessfulLogonsGoOn(t *testing.T) {
	st, opts, rec := lockoutRun(t, 40, 8, 3, 0, "ok")
	with := 0
	for _, o := range opts {
		if o.Credentials != nil {
			with++
		}
	}
	if with != 40 || st.LogonAttempts != 40 || st.LogonsStopped != "" {
		t.Fatalf("%d logons, stats %+v", with, st)
	}
	for _, o := range rec.out {
		if o.Logon != LogonAttempted {
			t.Fatalf("logon note %q", o.Logon)
		}
	}
}

func TestOneLogonPerHost(t *testing.T) {
	targets := []string{"10.0.0.1:3389", "10.0.0.1:3390", "[::1]:1", "[::1]:2", "h:1", "H:2"}
	var mu sync.Mutex
	logons := map[string]int{}
	r := &Runner{
		Concurrency: 4, Classify: judge,
		Options: probe.Options{Credentials: &probe.Credentials{User: "u", Password: "p"}},
		Probe: func(ctx context.Context, target string, opt probe.Options) *probe.Result {
			if opt.Credentials != nil {
				mu.Lock()
				logons[hostKey(target)]++
				mu.Unlock()
			}
			return result(target, opt, "ok")
		},
	}
	var rec recorder
	r.Run(context.Background(), slices.Values(targets), rec.emit)
	if len(logons) != 3 || logons["10.0.0.1"] != 1 || logons["::1"] != 1 || logons["h"] != 1 {
		t.Fatalf("logons per host %v", logons)
	}
	skipped := 0
	for _, o := range rec.out {
		if o.Logon == logonSkippedHost {
			skipped++
		}
	}
	if skipped != 3 {
		t.Fatalf("%d outcomes say the host had its logon, want 3", skipped)
	}
}

// A host whose probe never reached the logon (unreachable) keeps its right
// to one on another port.
func TestUnattemptedLogonFreesTheHost(t *testing.T) {
	r := &Runner{
		Concurrency: 1, Classify: judge,
		Options: probe.Options{Credentials: &probe.Credentials{User: "u", Password: "p"}},
		Probe: func(ctx context.Context, target string, opt probe.Options) *probe.Result {
			if strings.HasSuffix(target, ":1") {
				res := result(target, opt, "tcp_refused")
				res.LogonAttempted = false
				return res
			}
			return result(target, opt, "ok")
		},
	}
	var rec recorder
	st, _ := r.Run(context.Background(), slices.Values([]string{"h:1", "h:2"}), rec.emit)
	if st.LogonAttempts != 1 || rec.out[0].Logon != LogonNotTried || rec.out[1].Logon != LogonAttempted {
		t.Fatalf("stats %+v, notes %q %q", st, rec.out[0].Logon, rec.out[1].Logon)
	}
}

// Stopping (one Ctrl-C) lets the probes in flight finish and be recorded,
// starts no more, and marks the sweep interrupted.
func TestStopFinishesInFlight(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	var started atomic.Int32
	release := make(chan struct{})
	r := &Runner{Concurrency: 4, Classify: judge,
		Probe: func(pctx context.Context, target string, opt probe.Options) *probe.Result {
			if started.Add(1) == 4 {
				stop()
				close(release)
			}
			<-release
			if pctx.Err() != nil {
				t.Error("stopping cancelled a probe in flight")
			}
			return result(target, opt, "ok")
		}}
	var rec recorder
	st, err := r.Run(ctx, slices.Values(list(100)), rec.emit)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Interrupted || st.Done != uint64(started.Load()) || st.Done < 4 || st.Done > 8 {
		t.Fatalf("stats %+v, started %d", st, started.Load())
	}
}

// Aborting (a second Ctrl-C) cuts the probes off; their results are not
// recorded, unless a logon was attempted.
func TestAbortDropsCutOffProbes(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	abort, cut := context.WithCancel(context.Background())
	var started atomic.Int32
	r := &Runner{Concurrency: 3, Classify: judge, Abort: abort,
		Probe: func(pctx context.Context, target string, opt probe.Options) *probe.Result {
			if started.Add(1) == 3 {
				stop()
				cut()
			}
			<-pctx.Done()
			res := result(target, opt, "timeout")
			res.LogonAttempted = target == list(3)[0]
			return res
		}}
	var rec recorder
	st, _ := r.Run(ctx, slices.Values(list(3)), rec.emit)
	if st.Dropped != 2 || st.Done != 1 || !st.Interrupted || rec.out[0].Result.Target != list(3)[0] {
		t.Fatalf("stats %+v", st)
	}
}

func TestEmitErrorStops(t *testing.T) {
	var calls atomic.Int32
	r := &Runner{Concurrency: 2, Classify: judge,
		Probe: func(ctx context.Context, target string, opt probe.Options) *probe.Result {
			calls.Add(1)
			return result(target, opt, "ok")
		}}
	full := errors.New("disk full")
	n := 0
	st, err := r.Run(context.Background(), slices.Values(list(1000)), func(*Outcome) error {
		if n++; n == 3 {
			return full
		}
		return nil
	})
	if !errors.Is(err, full) || !st.Interrupted || st.Done != 2 || calls.Load() > 10 {
		t.Fatalf("err %v, stats %+v, %d probes", err, st, calls.Load())
	}
}

// A server that answers the NTLM NEGOTIATE with an error code has been
// given no credential: whatever class that gets (credssp_refused now; an
// account_locked_out from a Result that says no logon was attempted), it
// neither counts toward the cap nor stops the sweep's logons.
func TestFakeLockoutDoesNotStopLogons(t *testing.T) {
	for _, class := range []string{"credssp_refused", "account_locked_out"} {
		t.Run(class, func(t *testing.T) {
			r := &Runner{
				Concurrency: 4, Classify: judge, MaxLogonFailures: 1,
				Options: probe.Options{Credentials: &probe.Credentials{User: "u", Domain: "D", Password: "p"}},
				Probe: func(ctx context.Context, target string, opt probe.Options) *probe.Result {
					if opt.Credentials == nil {
						return result(target, opt, "ok")
					}
					r := result(target, opt, class)
					r.LogonAttempted = false // refused at ntlm_info, before the AUTHENTICATE
					return r
				},
			}
			var rec recorder
			st, err := r.Run(context.Background(), slices.Values(list(20)), rec.emit)
			if err != nil {
				t.Fatal(err)
			}
			if st.LogonFailures != 0 || st.LogonsStopped != "" || st.LogonAttempts != 0 {
				t.Fatalf("stats %+v: a refusal before any credential counted as a failed logon", st)
			}
			for _, o := range rec.out {
				if o.Logon != LogonNotTried {
					t.Fatalf("logon note %q, want %q", o.Logon, LogonNotTried)
				}
			}
		})
	}
}
