package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	flag "github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/rdpprobe/rdpprobe/internal/cli"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/report"
	"github.com/rdpprobe/rdpprobe/sweep"
)

func init() {
	register(&command{doc: sweepDoc, flags: func() *flag.FlagSet { return new(sweepConfig).flags() }, run: sweepMain, order: 2})
}

// Exit codes of rdpprobe sweep (the classes of the hosts do not set it:
// a sweep that ran is a success, whatever it found).
const (
	sweepExitOK          = 0
	sweepExitFailed      = 1 // a report could not be written
	sweepExitInterrupted = 130
)

// sweepDoc is rdpprobe sweep's help.
var sweepDoc = cli.Command{
	Name:    "rdpprobe sweep",
	Summary: "probe many hosts (CIDRs, ranges, lists) into JSONL, CSV and HTML",
	Usage:   []string{"rdpprobe sweep [flags] TARGET|FILE|- ..."},
	Doc: `Targets: an address, a name, host:port, [v6]:port, a CIDR (10.0.0.0/24,
2001:db8::/112 at most), a range (10.0.0.1-10.0.0.50, 10.0.0.1-50), several
joined by commas; an argument that names an existing file, or "-" for standard
input, is a list: targets separated by white space, "#" comments, or CSV with
a target/host/address column (and optionally a port column). Targets without
a port get every --ports. The list streams: a /8 is not built in memory.

--shard K/N probes every N-th target of the list (or of the --shuffle order,
the same --seed on every shard) starting with the K-th, as masscan's --shard:
N machines with the same list and K = 1..N cover it once together. rdpprobe
report merges their JSONL into one report.

Logons (only with -u) are lockout-aware: one attempt per host, never retried;
after --max-logon-failures failed logons (or at once if the account is locked
out, disabled or expired) the remaining hosts are probed without credentials
and the reports say why. Credentialed probes in flight never exceed the
failures still allowed, so the cap cannot be overshot.

Output: JSONL (one --output json document per line) on standard output unless
-o FILE is given; -o picks the format from the extension (.jsonl, .csv,
.html) unless --output says it, and may be repeated. Progress goes to
standard error when it is a terminal. Ctrl-C stops starting probes and lets
those running finish (a second Ctrl-C cuts them off); every report stays
valid, the HTML one marked partial.`,
	Examples: []cli.Example{
		{Command: "rdpprobe sweep 10.1.0.0/22 10.2.5.7 hosts.txt --ports 3389,3390 --concurrency 200 --rate 500/s -o report.html"},
		{Command: "rdpprobe sweep --targets-file servers.csv --depth ntlm_info --output jsonl > inventory.jsonl"},
		{Command: "rdpprobe sweep 10.0.0.0/16 -o sweep.jsonl -o sweep.html", Comment: "interrupted? run again with:"},
		{Command: "rdpprobe sweep 10.0.0.0/16 --resume sweep.jsonl -o sweep.html"},
		{Command: "rdpprobe sweep 10.0.0.0/12 --shard 2/4 -o shard2.jsonl", Comment: "the second of four machines"},
		{Command: `RDPPROBE_PASSWORD=... rdpprobe sweep hosts.txt -u 'CORP\svc-rdptest' -o logon.html`},
	},
	Sections: []cli.Section{
		{Title: "Exit codes", Body: `0 the sweep ran (whatever it found), 1 a report could not be written, 2 usage
error, 130 interrupted.`},
	},
	Args: cli.Args{Hosts: true, Files: true},
}

type sweepConfig struct {
	targetsFiles     []string
	ports            string
	maxTargets       uint64
	shuffle          bool
	shard            string
	seed             uint64
	concurrency      int
	rate             string
	timeout          time.Duration
	phaseTimeout     time.Duration
	depth            string
	phases           string // deprecated spelling of depth
	protocols        string
	user             string
	passwordFile     string
	maxLogonFailures int
	autologon        bool
	resume           string
	outs             []string
	output           string
	progress         string
	krb              kerberosFlags
	caFile           string
}

func sweepMain(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	var c sweepConfig
	fs := c.flags()
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "rdpprobe sweep: "+format+"\n", a...)
		fmt.Fprintln(stderr, "Run 'rdpprobe sweep --help' for usage.")
		return exitUsage
	}
	if help, err := parseFlags("rdpprobe sweep", fs, args, stdout, stderr); help {
		return 0
	} else if err != nil {
		return usageErr("%v", err)
	}
	return c.sweep(fs, stdin, stdout, stderr, usageErr)
}

// flags defines the sweep's flags on a new FlagSet, bound to c.
func (c *sweepConfig) flags() *flag.FlagSet {
	fs := flag.NewFlagSet("rdpprobe sweep", flag.ContinueOnError)
	fs.SortFlags = false
	fs.StringArrayVar(&c.targetsFiles, "targets-file", nil, "read targets from this `FILE` (\"-\": standard input); repeatable")
	fs.StringVar(&c.ports, "ports", "3389", "`PORTS` for targets that name none, e.g. 3389,3390 or 3389-3391")
	fs.Uint64Var(&c.maxTargets, "max-targets", sweep.DefaultMaxTargets, "refuse a list that expands to more targets (addresses × ports)")
	fs.BoolVar(&c.shuffle, "shuffle", false, "probe in a random order (spreads the load over subnets)")
	fs.Uint64Var(&c.seed, "seed", 0, "seed of --shuffle (0: random); the same seed gives the same order")
	fs.StringVar(&c.shard, "shard", "", "probe only share `K/N` of the targets (masscan's --shard): N machines, each with its own K, split one sweep")
	fs.IntVarP(&c.concurrency, "concurrency", "c", 64, "probes at once")
	fs.StringVar(&c.rate, "rate", "200/s", "connection starts at most this fast, a `RATE`: N/s, N/m, N/h, or 0 for no limit")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "deadline for each probe")
	fs.DurationVar(&c.phaseTimeout, "phase-timeout", 5*time.Second, "deadline for each phase of a probe")
	fs.StringVar(&c.depth, "depth", "", "stop after this `PHASE`: connect, negotiate, tls, ntlm_info or logon (default: as deep as possible)")
	fs.StringVar(&c.phases, "phases", "", "old name of --depth (also takes a comma list: the probe stops after the deepest)")
	fs.MarkDeprecated("phases", deprecatedPhases)
	fs.StringVar(&c.protocols, "protocols", probe.DefaultOffer, "security protocols to offer, a comma-separated `LIST` of rdp, tls, nla, nla-ext")
	fs.StringVarP(&c.user, "user", "u", "", "log on as this `ACCOUNT`, once per host (DOMAIN\\user, .\\user, user@upn); off without it")
	fs.StringVar(&c.passwordFile, "password-file", "", "read the password from the first line of this `FILE` (else $RDPPROBE_PASSWORD, else a prompt)")
	addKerberosFlags(fs, &c.krb)
	fs.StringVar(&c.caFile, "ca-file", "", "also trust the CA certificates of this PEM `FILE` (an enterprise root) when judging servers' certificates")
	fs.BoolVar(&c.autologon, "autologon-without-nla", false, autologonHelp)
	fs.IntVar(&c.maxLogonFailures, "max-logon-failures", sweep.DefaultMaxLogonFailures, "stop logging on after this many failed logons (authentication group)")
	fs.StringVar(&c.resume, "resume", "", "skip the targets this JSONL `FILE` of an earlier sweep has, and append to it")
	fs.StringArrayVarP(&c.outs, "out", "o", nil, "write a report to `FILE` (.jsonl, .csv or .html); repeatable; default JSONL on standard output")
	fs.StringVar(&c.output, "output", "", "`FORMAT` of every report: jsonl, csv or html (default: from -o's extension, else jsonl)")
	fs.StringVar(&c.progress, "progress", "auto", "`WHEN` to draw a progress line on standard error: auto (when it is a terminal), always, never")
	cli.SetValues(fs, "output", sweep.Formats...)
	cli.SetValues(fs, "progress", "auto", "always", "never")
	return fs
}

// sweep runs the sweep the flags in c and the arguments of fs describe.
func (c *sweepConfig) sweep(fs *flag.FlagSet, stdin *os.File, stdout, stderr io.Writer, usageErr func(string, ...any) int) int {

	// Everything about the probes first: a bad flag must not cost a
	// password prompt or a read of standard input.
	opt := probe.Options{Timeout: c.timeout, PhaseTimeout: c.phaseTimeout}
	var err error
	if opt.Protocols, opt.AllowStandardRDP, err = probe.ParseOffer(c.protocols); err != nil {
		return usageErr("--protocols: %v", err)
	}
	switch {
	case c.depth != "" && c.phases != "":
		return usageErr("--phases is the old name of --depth: give --depth only")
	case c.depth != "":
		if opt.Depth, err = probe.ParsePhase(c.depth); err != nil {
			return usageErr("--depth: %v", err)
		}
	case c.phases != "":
		if opt.Depth, err = parsePhases(c.phases); err != nil {
			return usageErr("--phases: %v", err)
		}
	}
	if opt.Auth, opt.Kerberos, err = c.krb.options(c.user); err != nil {
		return usageErr("%v", err)
	}
	if c.caFile != "" {
		if opt.Cert.Roots, err = probe.LoadRoots(c.caFile); err != nil {
			return usageErr("--ca-file: %v", err)
		}
	}
	if c.concurrency < 1 {
		return usageErr("--concurrency must be at least 1")
	}
	if c.maxLogonFailures < 1 {
		return usageErr("--max-logon-failures must be at least 1")
	}
	if c.timeout <= 0 || c.phaseTimeout <= 0 {
		return usageErr("--timeout and --phase-timeout must be positive")
	}
	perSecond, err := sweep.ParseRate(c.rate)
	if err != nil {
		return usageErr("--rate: %v", err)
	}
	ports, err := sweep.ParsePorts(c.ports)
	if err != nil {
		return usageErr("--ports: %v", err)
	}
	if c.output != "" && sweep.FormatOf("."+c.output) == "" {
		return usageErr("--output must be jsonl, csv or html, not %q", c.output)
	}
	if c.progress != "auto" && c.progress != "always" && c.progress != "never" {
		return usageErr("--progress must be auto, always or never")
	}
	shard := sweep.Whole
	if c.shard != "" {
		if shard, err = sweep.ParseShard(c.shard); err != nil {
			return usageErr("--shard: %v", err)
		}
	}
	if shard.N > 1 && c.shuffle && c.seed == 0 {
		return usageErr("--shard with --shuffle needs a --seed, the same on every shard: shards of different orders overlap")
	}
	if c.user == "" && c.passwordFile != "" {
		return usageErr("--password-file needs -u")
	}
	if c.user == "" && opt.Depth == probe.PhaseLogon {
		return usageErr("--depth logon needs -u")
	}
	if c.autologon && (c.user == "" || opt.Depth != probe.PhaseSession) {
		return usageErr("--autologon-without-nla needs -u and --phases session")
	}
	opt.AutologonWithoutNLA = c.autologon
	if fs.NArg() == 0 && len(c.targetsFiles) == 0 {
		return usageErr("no targets: give CIDRs, ranges, names, files or - (standard input)")
	}

	// The outputs, opened before anything is probed.
	outs, err := openSweepOutputs(*c, stdout)
	if err != nil {
		return usageErr("%v", err)
	}
	defer outs.closeFiles()

	var resume *sweep.Resume
	resumed := 0
	if c.resume != "" {
		var werr error
		resume, err = outs.openResume(c.resume, func(rep *report.Report) {
			resumed++
			for _, w := range outs.others {
				werr = errors.Join(werr, w.Write(rep, resumedLogonNote(rep)))
			}
		})
		if err != nil {
			return usageErr("--resume: %v", err)
		}
		if werr != nil {
			fmt.Fprintf(stderr, "rdpprobe sweep: copying the resumed results: %v\n", werr)
			return sweepExitFailed
		}
	}

	targets, err := sweep.ParseTargets(fs.Args(), c.targetsFiles, stdin, sweep.TargetOptions{Ports: ports, MaxTargets: c.maxTargets})
	if err != nil {
		return usageErr("%v", err)
	}

	if c.user != "" {
		// stdin was a target list: the prompt needs a terminal of its own.
		if opt.Credentials, err = credentials(c.user, c.passwordFile, stdin, stderr); err != nil {
			return usageErr("%v", err)
		}
		defer func() { opt.Credentials.Password = "" }()
	}

	runner := &sweep.Runner{
		Options:          opt,
		Concurrency:      c.concurrency,
		Limiter:          sweep.NewLimiter(perSecond, sweep.DefaultBurst(perSecond)),
		MaxLogonFailures: c.maxLogonFailures,
	}
	if resume != nil {
		runner.Skip = resume.Skip
		runner.PriorLogonFailures = resume.LogonFailures
		runner.PriorLogonHosts = resume.LogonHosts
	}

	seed := c.seed
	if c.shuffle && seed == 0 {
		var b [8]byte
		rand.Read(b[:])
		seed = binary.LittleEndian.Uint64(b[:])
	}
	order := targets.Sharded(shard, c.shuffle, seed)
	total := shard.Len(targets.Len())
	if shard.N > 1 && opt.Credentials != nil {
		fmt.Fprintf(stderr, "rdpprobe sweep: shard %s: --max-logon-failures caps this shard only; %d shards may fail up to %d logons of one account in all\n",
			shard, shard.N, uint64(c.maxLogonFailures)*shard.N)
	}

	// Ctrl-C once: start nothing new, let the running probes finish.
	// Twice: cut them off.
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	abort, cut := context.WithCancel(context.Background())
	defer cut()
	runner.Abort = abort
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		n := 0
		for range sigs {
			n++
			if n == 1 {
				fmt.Fprintln(stderr, "\nrdpprobe sweep: interrupted: finishing the probes in flight (Ctrl-C again to cut them off)")
				stop()
			} else {
				cut()
				return
			}
		}
	}()

	var prog *sweep.Progress
	if c.progress == "always" || c.progress == "auto" && escapesWork(stderr) {
		prog = &sweep.Progress{W: stderr, Total: total, Stats: runner.Stats, Width: func() int { return termWidth(stderr) }}
		prog.Start()
	}
	stats, runErr := runner.Run(ctx, order, func(o *sweep.Outcome) error {
		return outs.write(o.Report, o.Logon)
	})
	if prog != nil {
		prog.Stop()
	}

	sum := &sweep.Summary{
		Stats:            stats,
		Total:            total,
		Targets:          strings.Join(append(append([]string{}, fs.Args()...), c.targetsFiles...), " ") + shardNote(shard),
		Credentials:      opt.Credentials != nil,
		User:             c.user,
		MaxLogonFailures: c.maxLogonFailures,
		Resumed:          resumed,
	}
	closeErr := outs.close(sum)
	fmt.Fprintln(stderr, sweepSummaryLine(sum))
	if stats.LogonsStopped != "" {
		fmt.Fprintf(stderr, "rdpprobe sweep: logons stopped: %s\n", stats.LogonsStopped)
	}
	switch {
	case runErr != nil || closeErr != nil:
		fmt.Fprintf(stderr, "rdpprobe sweep: writing a report: %v\n", errors.Join(runErr, closeErr))
		return sweepExitFailed
	case stats.Interrupted:
		return sweepExitInterrupted
	}
	return sweepExitOK
}

// deprecatedPhases is pflag's note for --phases, the sweep's name of
// --depth until one name served the command, the sweep and the exporter.
const deprecatedPhases = "use --depth, the name rdpprobe and the exporter's depth: use too; --phases goes away in the next release"

// parsePhases takes a phase, or a comma list of phases (--phases): the probe stops
// after the deepest.
func parsePhases(s string) (probe.Phase, error) {
	var phases []probe.Phase
	for name := range strings.SplitSeq(s, ",") {
		p, err := probe.ParsePhase(strings.TrimSpace(name))
		if err != nil {
			return "", err
		}
		phases = append(phases, p)
	}
	return probe.Deepest(phases...), nil
}

// shardNote says which shard a sweep's reports cover.
func shardNote(sh sweep.Shard) string {
	if sh.N <= 1 {
		return ""
	}
	return " (shard " + sh.String() + ")"
}

func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if width, _, err := term.GetSize(int(f.Fd())); err == nil {
			return width
		}
	}
	return 0
}

func resumedLogonNote(rep *report.Report) string {
	if rep.CredentialsUsed() {
		return sweep.LogonAttempted
	}
	return ""
}

func sweepSummaryLine(s *sweep.Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "rdpprobe sweep: %d probed", s.Done)
	if s.Skipped > 0 {
		fmt.Fprintf(&b, ", %d done before (resumed)", s.Skipped)
	}
	fmt.Fprintf(&b, " of %d targets", s.Total)
	if !s.Start.IsZero() {
		fmt.Fprintf(&b, " in %s", s.End.Sub(s.Start).Round(10*time.Millisecond))
	}
	if s.Interrupted {
		b.WriteString(" (interrupted)")
	}
	if s.Dropped > 0 {
		fmt.Fprintf(&b, ", %d cut off", s.Dropped)
	}
	if s.Credentials {
		fmt.Fprintf(&b, "; logons: %d tried, %d failed", s.LogonAttempts, s.LogonFailures)
	}
	if len(s.Classes) > 0 {
		b.WriteString(": ")
		b.WriteString(sweep.ClassCounts(s.Classes))
	}
	return b.String()
}

// sweepOutputs are the reports of a sweep.
type sweepOutputs struct {
	all    []sweep.Writer
	others []sweep.Writer // all but the resumed JSONL: they get the resumed rows too
	files  []*os.File
	paths  map[string]bool
}

func openSweepOutputs(c sweepConfig, stdout io.Writer) (*sweepOutputs, error) {
	o := &sweepOutputs{paths: map[string]bool{}}
	resumeAbs := ""
	if c.resume != "" {
		resumeAbs, _ = filepath.Abs(c.resume)
	}
	if len(c.outs) == 0 && c.resume == "" {
		format := c.output
		if format == "" {
			format = "jsonl"
		}
		w, err := sweep.NewWriter(format, stdout, nil)
		if err != nil {
			return nil, err
		}
		o.all, o.others = append(o.all, w), append(o.others, w)
		return o, nil
	}
	for _, name := range c.outs {
		abs, _ := filepath.Abs(name)
		if o.paths[abs] {
			return nil, fmt.Errorf("-o %s given twice", name)
		}
		o.paths[abs] = true
		format := c.output
		if format == "" {
			if format = sweep.FormatOf(name); format == "" {
				return nil, fmt.Errorf("-o %s: cannot tell the format from the name; use .jsonl, .csv or .html, or --output", name)
			}
		}
		if abs == resumeAbs {
			if format != "jsonl" {
				return nil, fmt.Errorf("-o %s is the --resume file, which is JSONL", name)
			}
			continue // openResume appends to it
		}
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			o.closeFiles()
			return nil, err
		}
		o.files = append(o.files, f)
		w, _ := sweep.NewWriter(format, f, nil)
		o.all, o.others = append(o.all, w), append(o.others, w)
	}
	return o, nil
}

// openResume reads the resume file, repairs a line cut off mid-write, and
// appends to it from now on.
func (o *sweepOutputs) openResume(name string, each func(*report.Report)) (*sweep.Resume, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	o.files = append(o.files, f)
	res, err := sweep.ReadResume(f, each)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if res.Partial > 0 {
		if err := f.Truncate(res.Valid); err != nil {
			return nil, err
		}
	}
	if _, err := f.Seek(res.Valid, io.SeekStart); err != nil {
		return nil, err
	}
	if res.NeedNewline {
		if _, err := f.Write([]byte("\n")); err != nil {
			return nil, err
		}
	}
	o.all = append(o.all, sweep.NewJSONL(f))
	return res, nil
}

func (o *sweepOutputs) write(rep *report.Report, logon string) error {
	var errs []error
	for _, w := range o.all {
		if err := w.Write(rep, logon); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (o *sweepOutputs) close(sum *sweep.Summary) error {
	var errs []error
	for _, w := range o.all {
		if err := w.Close(sum); err != nil {
			errs = append(errs, err)
		}
	}
	for _, f := range o.files {
		if err := f.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (o *sweepOutputs) closeFiles() {
	for _, f := range o.files {
		f.Close()
	}
	o.files = nil
}
