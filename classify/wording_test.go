package classify_test

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/fixture"
	"github.com/rdpprobe/rdpprobe/internal/labtest"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

// A verdict's every sentence follows from the facts (issue 17). For every
// rdptest catalog scenario and every fixture recorded from the lab's real
// servers, the words the verdict gives (title, detail, cause, fix,
// findings; what Windows says is a quote of the client and not checked):
//
//  1. name no server product as what the server is: the facts identify none
//     (a Connection Confirm's source reference, a CHALLENGE's version, a
//     self-signed certificate all look alike across xrdp, FreeRDP and
//     Windows). Clients (mstsc, FreeRDP's tools), conditions ("on
//     Windows, ...") and settings paths are fine;
//  2. name no domain or computer the run's facts do not hold;
//  3. suggest no flag that does not help: every flag a verdict suggests is
//     run, exactly that flag on the same scenario or the same lab server,
//     and must give a different and better answer (a lower exit code).
//
// The "likely cause" rules are checked against both kinds of server as
// well: TestLikelyCauseEvidence.

// productClaims say what the server is. Each is a pattern that only a
// claim about the server matches.
var productClaims = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\bxrdp\b`), // xrdp is only ever a server
	regexp.MustCompile(`(?i)\bfreerdp('s)? (shadow )?server`),
	regexp.MustCompile(`(?i)\b(old|older)\s+windows\b`),
	regexp.MustCompile(`(?i)\bnon-windows (server|setting)`),
	regexp.MustCompile(`(?i)\bwindows( server)? (answers|sends|closes|does|selects)\b`),
}

// flagRE finds a flag and its value in a sentence: "--protocols tls,nla".
var flagRE = regexp.MustCompile(`--([a-z][a-z.-]*)(?: ([a-z0-9][a-z0-9,_-]*))?`)

// notHints are flags a verdict may name without promising a better answer.
var notHints = map[string]string{
	"record": "asks for a recording of the same run, to report it: the answer stays the same by design",
}

// run is one verdict of the walk, with how to run it again.
type run struct {
	name string
	r    *probe.Result
	v    classify.Verdict
	// again probes the same server with opt changed by change; nil when
	// that cannot be done (a lab fixture under -short).
	again func(t *testing.T, change func(*probe.Options)) classify.Verdict
}

// texts are a verdict's sentences by where they come from.
func texts(v classify.Verdict) map[string]string {
	m := map[string]string{"title": v.Class.Title, "detail": v.Detail, "cause": v.Class.Cause, "fix": v.Class.Fix}
	for _, f := range v.Findings {
		m["finding "+f.ID] = f.Text
	}
	return m
}

func TestVerdictWordsFollowFromFacts(t *testing.T) {
	runs := catalogRuns(t)
	runs = append(runs, labFixtureRuns(t)...)

	// The names any run knows (user names' domain parts, the NTLM names of
	// rdptest's identities and of the lab's servers), less those the class
	// table's own prose uses as words ("a cloud VM"): those cannot be told
	// apart from the word.
	names := map[string]bool{}
	for _, rn := range runs {
		for _, n := range factNames(rn.r) {
			names[n] = true
		}
	}
	for _, c := range classify.Classes {
		for _, w := range regexp.MustCompile(`[\w.-]+`).FindAllString(c.Title+" "+c.Cause+" "+c.Fix+" "+c.WindowsSays, -1) {
			delete(names, w)
		}
	}

	for _, rn := range runs {
		t.Run(rn.name, func(t *testing.T) {
			facts := factNames(rn.r)
			for where, s := range texts(rn.v) {
				for _, re := range productClaims {
					if m := re.FindString(s); m != "" {
						t.Errorf("%s %s names a product (%q) the facts do not identify: %q", rn.v.Class.ID, where, m, s)
					}
				}
				for n := range names {
					if regexp.MustCompile(`\b`+regexp.QuoteMeta(n)+`\b`).MatchString(s) && !slices.Contains(facts, n) {
						t.Errorf("%s %s names %q, which is none of this run's facts %v: %q", rn.v.Class.ID, where, n, facts, s)
					}
				}
				for _, m := range flagRE.FindAllStringSubmatch(s, -1) {
					hint(t, rn, where, m[1], strings.TrimRight(m[2], ".,"))
				}
			}
		})
	}
}

// hint checks one flag a verdict suggests by running exactly it.
func hint(t *testing.T, rn run, where, flag, value string) {
	t.Helper()
	if why, ok := notHints[flag]; ok {
		t.Logf("--%s in the %s: %s", flag, where, why)
		return
	}
	var change func(*probe.Options)
	switch flag {
	case "protocols":
		p, rdp, err := probe.ParseOffer(value)
		if err != nil {
			t.Errorf("%s %s suggests --protocols %q, which does not parse: %v", rn.v.Class.ID, where, value, err)
			return
		}
		change = func(o *probe.Options) { o.Protocols, o.AllowStandardRDP = p, rdp }
	case "depth":
		ph, err := probe.ParsePhase(value)
		if err != nil {
			t.Errorf("%s %s suggests --depth %q: %v", rn.v.Class.ID, where, value, err)
			return
		}
		change = func(o *probe.Options) { o.Depth = ph }
	default:
		t.Errorf("%s %s suggests --%s %s, which this test cannot run: teach it the flag, or drop the hint", rn.v.Class.ID, where, flag, value)
		return
	}
	if rn.again == nil {
		t.Logf("--%s %s in the %s: the lab is needed to run it", flag, value, where)
		return
	}
	v := rn.again(t, change)
	t.Logf("--%s %s in the %s: %s (exit %d) becomes %s (exit %d)", flag, value, where, rn.v.Class.ID, rn.v.ExitCode(), v.Class.ID, v.ExitCode())
	if v.Class.ID == rn.v.Class.ID || v.ExitCode() >= rn.v.ExitCode() {
		t.Errorf("%s %s suggests --%s %s, but that gives %s (exit %d) where the run gave %s (exit %d): %s",
			rn.v.Class.ID, where, flag, value, v.Class.ID, v.ExitCode(), rn.v.Class.ID, rn.v.ExitCode(), v.Detail)
	}
}

// factNames are the names a run's facts hold: the user name's domain part,
// the server's NTLM names, the host.
func factNames(r *probe.Result) []string {
	var out []string
	if i := strings.IndexByte(r.User, '\\'); i > 0 {
		out = append(out, r.User[:i])
	}
	if n := r.NTLM; n != nil {
		for _, s := range []string{n.TargetName, n.NetBIOSDomain, n.NetBIOSComputer, n.DNSDomain, n.DNSComputer, n.DNSTree} {
			if s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// catalogRuns probes every catalog scenario once.
func catalogRuns(t *testing.T) []run {
	var runs []run
	for _, e := range rdptest.Catalog() {
		opt, err := e.ProbeOptions()
		if err != nil {
			t.Fatal(err)
		}
		probeIt := func(t *testing.T, opt probe.Options) *probe.Result {
			srv, err := rdptest.NewServer(e.Scenario)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			return probe.Run(context.Background(), srv.Addr, opt)
		}
		r := probeIt(t, opt)
		runs = append(runs, run{name: "rdptest-" + e.Name, r: r, v: classify.Classify(r),
			again: func(t *testing.T, change func(*probe.Options)) classify.Verdict {
				o := opt
				change(&o)
				return classify.Classify(probeIt(t, o))
			}})
	}
	return runs
}

// labPeers names the lab peer a fixture's source was recorded from.
var labPeers = []struct{ source, peer string }{
	{"/sec:nla", "nla"}, {"/sec:ext", "nla-ext"}, {"/sec:tls", "tls"}, {"/sec:rdp", "rdp"},
	{"security_layer=negotiate", "xrdp"}, {"security_layer=rdp", "xrdp-rdp"},
}

// labFixtureRuns replays every fixture recorded from the lab; a flag is run
// against the live lab peer it came from (skipped under -short).
func labFixtureRuns(t *testing.T) []run {
	var runs []run
	for name, fx := range loadFixtures(t) {
		if !strings.HasPrefix(name, "lab-") {
			continue // the catalog's own runs cover the rdptest fixtures
		}
		r, opt, err := rdptest.ProbeReplay(context.Background(), fx)
		if err != nil {
			t.Fatal(err)
		}
		rn := run{name: name, r: r, v: classify.Classify(r)}
		if peer := peerOf(fx); peer != "" && !testing.Short() {
			rn.again = func(t *testing.T, change func(*probe.Options)) classify.Verdict {
				o := opt
				o.PhaseTimeout, o.Timeout = 5e9, 15e9
				if o.Credentials != nil {
					user, domain, pw := labtest.Account()
					o.Credentials = &probe.Credentials{User: user, Domain: domain, Password: pw}
				}
				change(&o)
				return classify.Classify(probe.Run(context.Background(), labtest.Peer(t, peer), o))
			}
		}
		runs = append(runs, rn)
	}
	slices.SortFunc(runs, func(a, b run) int { return strings.Compare(a.name, b.name) })
	return runs
}

func peerOf(fx *fixture.Fixture) string {
	for _, p := range labPeers {
		if strings.Contains(fx.Header["source"], p.source) {
			return p.peer
		}
	}
	return ""
}

// TestLikelyCauseEvidence: a "likely cause" is named only where its evidence
// holds, on the lab's real servers and on rdptest's Windows behaviour alike.
// The user name's domain part is the likely cause only when the server's own
// answer blames the authority for it (the class no_logon_servers) and the
// part names none of the server's names:
//   - rdptest answers STATUS_NO_SUCH_DOMAIN for EVIL\alice: named; the same
//     server's STATUS_LOGON_FAILURE for EVIL\alice (an account it does not
//     have) and STATUS_NO_LOGON_SERVERS for CORP\alice (its own domain): not;
//   - the lab's FreeRDP server logs LAB\labuser on though its CHALLENGE says
//     VM: a wrong password for it is not blamed on LAB, and the logon that
//     works leaves no domain_mismatch finding.
func TestLikelyCauseEvidence(t *testing.T) {
	for _, tc := range []struct {
		scenario string
		named    bool
	}{
		{"no-such-domain-foreign-domain", true},
		{"bad-password-foreign-domain", false},
		{"no-logon-servers", false},
		{"bad-password-windows", false},
	} {
		t.Run("rdptest-"+tc.scenario, func(t *testing.T) {
			i := slices.IndexFunc(rdptest.Catalog(), func(e rdptest.Entry) bool { return e.Name == tc.scenario })
			e := rdptest.Catalog()[i]
			opt, err := e.ProbeOptions()
			if err != nil {
				t.Fatal(err)
			}
			srv, err := rdptest.NewServer(e.Scenario)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			v := classify.Classify(probe.Run(context.Background(), srv.Addr, opt))
			if got := strings.Contains(v.Detail, "likely cause"); got != tc.named {
				t.Errorf("%s: likely cause named %v, want %v: %q", v.Class.ID, got, tc.named, v.Detail)
			}
		})
	}
	t.Run("lab-freerdp", func(t *testing.T) {
		addr := labtest.Peer(t, "nla")
		user, domain, pw := labtest.Account()
		for _, p := range []string{pw + "-wrong", pw} {
			r := probe.Run(context.Background(), addr, probe.Options{Credentials: &probe.Credentials{User: user, Domain: domain, Password: p}})
			v := classify.Classify(r)
			if r.NTLM == nil || strings.EqualFold(r.NTLM.NetBIOSDomain, domain) {
				t.Fatalf("the lab's CHALLENGE names domain %v: this test needs one other than %s", r.NTLM, domain)
			}
			if strings.Contains(v.Detail, "likely cause") {
				t.Errorf("%s: %q blames the domain, which works on this server", v.Class.ID, v.Detail)
			}
			if found := slices.ContainsFunc(v.Findings, func(f classify.Finding) bool { return f.ID == classify.FindingDomainMismatch }); found && v.OK {
				t.Errorf("a logon with %s worked, yet the verdict finds a domain mismatch", r.User)
			}
			if p == pw && !v.OK {
				t.Errorf("the right password gives %s: %s", v.Class.ID, v.Detail)
			}
		}
	})
}
