package report

import (
	"context"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/probe"
)

// Outcome is one probe judged and reported: what the command prints, a
// sweep writes and the exporter's debug page shows.
type Outcome struct {
	Result  *probe.Result
	Verdict classify.Verdict
	Report  *Report
}

// Prober runs probe → classify → report: the one call site the command,
// the exporter and the sweep share. Its zero value uses probe.Run and
// classify.Classify; tests set fakes.
type Prober struct {
	Run      func(ctx context.Context, target string, opt probe.Options) *probe.Result
	Classify func(*probe.Result) classify.Verdict
}

// Probe runs one probe on target and judges it. The credentials stay the
// caller's: a sweep shares one account among its probes.
func (p Prober) Probe(ctx context.Context, target string, opt probe.Options) Outcome {
	run, judge := p.Run, p.Classify
	if run == nil {
		run = probe.Run
	}
	if judge == nil {
		judge = classify.Classify
	}
	res := run(ctx, target, opt)
	v := judge(res)
	return Outcome{Result: res, Verdict: v, Report: New(res, v)}
}
