package classify_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
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
//     and must give a different and better answer (a lower exit code); a
//     flag suggested inside a finding must make that finding go away
//     without a worse answer. A flag named without a value is run with the
//     value the scenario supplies (its certificate as the root, its
//     fingerprint, a name it holds). A flag the run itself used, with the
//     value it used, is a fact of the run and not a suggestion
//     ("--require-trusted-cert makes that a failure").
//
// A class's Cause and Fix are the same for every run of the class, so they
// name no flag that would not help each of them: they say what the probe
// was told ("told to pin a certificate") in words, not flags.
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

// flagRE finds a flag and the word after it in a sentence: "--protocols
// tls,nla", "--cert-sha256)", "--require-trusted-cert makes". Whether the
// word is the flag's value is the flag's to say (flagSpec.value).
var flagRE = regexp.MustCompile(`--([a-z][a-z0-9.-]*[a-z0-9])(?: ([A-Za-z0-9][A-Za-z0-9.,_/:-]*))?`)

// notHints are flags a verdict may name without promising a better answer.
var notHints = map[string]string{
	"record": "asks for a recording of the same run, to report it: the answer stays the same by design",
}

// flagSpec is what the walk knows of a flag it can run.
type flagSpec struct {
	// value: the flag takes a value, so the word after it is that value.
	value bool
	// used: the run itself was made with the flag (with this value, when
	// one is named), so naming it states what the run did.
	used func(o probe.Options, value string) bool
	// set returns the change that runs the flag with value; "" asks for
	// the value the scenario supplies (scenarioValue), where there is one.
	set func(t *testing.T, rn run, value string) (func(*probe.Options), error)
}

var flags = map[string]flagSpec{
	"protocols": {value: true,
		used: func(o probe.Options, v string) bool {
			p, rdp, err := probe.ParseOffer(v)
			return err == nil && p == o.Protocols && rdp == o.AllowStandardRDP
		},
		set: func(t *testing.T, rn run, v string) (func(*probe.Options), error) {
			p, rdp, err := probe.ParseOffer(v)
			return func(o *probe.Options) { o.Protocols, o.AllowStandardRDP = p, rdp }, err
		}},
	"depth": {value: true,
		used: func(o probe.Options, v string) bool {
			ph, err := probe.ParsePhase(v)
			return err == nil && ph == o.Depth
		},
		set: func(t *testing.T, rn run, v string) (func(*probe.Options), error) {
			ph, err := probe.ParsePhase(v)
			return func(o *probe.Options) { o.Depth = ph }, err
		}},
	"auth": {value: true,
		used: func(o probe.Options, v string) bool {
			m, err := probe.ParseAuthMode(v)
			return err == nil && o.Auth != "" && (v == "" || m == o.Auth)
		},
		set: func(t *testing.T, rn run, v string) (func(*probe.Options), error) {
			if v == "" {
				return nil, errors.New("names no mode")
			}
			m, err := probe.ParseAuthMode(v)
			return func(o *probe.Options) { o.Auth = m }, err
		}},
	"autologon-without-nla": {
		used: func(o probe.Options, _ string) bool { return o.AutologonWithoutNLA },
		set: func(t *testing.T, rn run, _ string) (func(*probe.Options), error) {
			return func(o *probe.Options) { o.AutologonWithoutNLA = true }, nil
		}},
	"require-trusted-cert": {
		used: func(o probe.Options, _ string) bool { return o.RequireTrustedCert },
		set: func(t *testing.T, rn run, _ string) (func(*probe.Options), error) {
			return func(o *probe.Options) { o.RequireTrustedCert = true }, nil
		}},
	"cert-sha256": {value: true,
		used: func(o probe.Options, v string) bool {
			pin, err := probe.ParseFingerprint(v)
			return o.Cert.SHA256 != "" && (v == "" || err == nil && pin == o.Cert.SHA256)
		},
		set: func(t *testing.T, rn run, v string) (func(*probe.Options), error) {
			if v == "" {
				c := leafOf(rn.r)
				if c == nil {
					return nil, errors.New("names no fingerprint, and the run saw no certificate to take it from")
				}
				v = c.SHA256 // the scenario's: the certificate the server presented
			}
			pin, err := probe.ParseFingerprint(v)
			return func(o *probe.Options) { o.Cert.SHA256 = pin }, err
		}},
	"ca-file": {value: true,
		used: func(o probe.Options, _ string) bool { return o.Cert.Roots != nil },
		set: func(t *testing.T, rn run, v string) (func(*probe.Options), error) {
			if v != "" {
				return nil, errors.New("names a file this test does not have: only the scenario's own root can be supplied")
			}
			return func(o *probe.Options) {
				pool := x509.NewCertPool()
				pool.AddCert(rn.root(t))
				o.Cert.Roots = pool
			}, nil
		}},
	"tls-server-name": {value: true,
		used: func(o probe.Options, v string) bool {
			return o.Cert.ServerName != "" && (v == "" || strings.EqualFold(v, o.Cert.ServerName))
		},
		set: func(t *testing.T, rn run, v string) (func(*probe.Options), error) {
			if v == "" {
				c := leafOf(rn.r)
				switch {
				case c != nil && len(c.DNSNames) > 0:
					v = c.DNSNames[0]
				case c != nil && c.CommonName != "":
					v = c.CommonName
				default:
					return nil, errors.New("names no name, and the run saw no certificate name to take")
				}
			}
			return func(o *probe.Options) { o.Cert.ServerName = v }, nil
		}},
	// The RD Gateway's account: the scenario's, which its gateway takes.
	"gateway-user": {value: true,
		used: func(o probe.Options, v string) bool { return o.Gateway != nil && o.Gateway.Credentials != nil },
		set: func(t *testing.T, rn run, v string) (func(*probe.Options), error) {
			if v != "" {
				return nil, errors.New("names an account this test has no password for")
			}
			return func(o *probe.Options) {
				g := *o.Gateway
				g.Credentials = &probe.Credentials{User: rdptest.TestUser, Domain: rdptest.TestDomain, Password: rdptest.TestPassword}
				o.Gateway = &g
			}, nil
		}},
	// Kerberos: where it finds its realm, KDC and service principal.
	"kdc": {value: true,
		used: func(o probe.Options, v string) bool {
			return len(o.Kerberos.KDCs) > 0 && (v == "" || slices.Contains(o.Kerberos.KDCs, v))
		},
		set: func(t *testing.T, rn run, v string) (func(*probe.Options), error) {
			if v == "" {
				return nil, errors.New("names no KDC")
			}
			return func(o *probe.Options) { o.Kerberos.KDCs = []string{v} }, nil
		}},
	"realm": {value: true,
		used: func(o probe.Options, v string) bool {
			return o.Kerberos.Realm != "" && (v == "" || strings.EqualFold(v, o.Kerberos.Realm))
		},
		set: func(t *testing.T, rn run, v string) (func(*probe.Options), error) {
			if v == "" {
				return nil, errors.New("names no realm")
			}
			return func(o *probe.Options) { o.Kerberos.Realm = v }, nil
		}},
	"spn": {value: true,
		used: func(o probe.Options, v string) bool {
			return o.Kerberos.SPN != "" && (v == "" || strings.EqualFold(v, o.Kerberos.SPN))
		},
		set: func(t *testing.T, rn run, v string) (func(*probe.Options), error) {
			if v == "" || strings.Contains(v, "<") {
				return nil, errors.New("names no principal")
			}
			return func(o *probe.Options) { o.Kerberos.SPN = v }, nil
		}},
}

// leafOf is the server certificate the run saw, nil for none.
func leafOf(r *probe.Result) *probe.CertInfo {
	if r.TLS == nil {
		return nil
	}
	return r.TLS.Certificate
}

// run is one verdict of the walk, with how to run it again.
type run struct {
	name string
	r    *probe.Result
	v    classify.Verdict
	opt  probe.Options // what the run was made with
	// again probes the same server with opt changed by change; nil when
	// that cannot be done (a lab fixture under -short).
	again func(t *testing.T, change func(*probe.Options)) classify.Verdict
	// root is the root certificate of the chain the server that again
	// probes presents, for a --ca-file named without a file; set wherever
	// again is.
	root func(t *testing.T) *x509.Certificate
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
					hint(t, rn, where, m[1], strings.TrimRight(m[2], ".,:;"))
				}
			}
		})
	}
}

// hint checks one flag a verdict names: a fact when the run used it, else a
// suggestion, run exactly as named (or with the value the scenario
// supplies) and held to a better answer.
func hint(t *testing.T, rn run, where, flag, word string) {
	t.Helper()
	if why, ok := notHints[flag]; ok {
		t.Logf("--%s in the %s: %s", flag, where, why)
		return
	}
	spec, ok := flags[flag]
	if !ok {
		t.Errorf("%s %s suggests --%s %s, which this test cannot run: teach it the flag, or drop the hint", rn.v.Class.ID, where, flag, word)
		return
	}
	value := ""
	if spec.value {
		value = word
	}
	named := strings.TrimSpace("--" + flag + " " + value)
	if spec.used(rn.opt, value) {
		t.Logf("%s in the %s: the run was made with it, so it states a fact", named, where)
		return
	}
	change, err := spec.set(t, rn, value)
	if err != nil {
		t.Errorf("%s %s suggests %s, which this test cannot run: %v", rn.v.Class.ID, where, named, err)
		return
	}
	if rn.again == nil {
		t.Logf("%s in the %s: the lab is needed to run it", named, where)
		return
	}
	v := rn.again(t, change)
	t.Logf("%s in the %s: %s (exit %d) becomes %s (exit %d)", named, where, rn.v.Class.ID, rn.v.ExitCode(), v.Class.ID, v.ExitCode())
	if id, ok := strings.CutPrefix(where, "finding "); ok {
		// A finding's hint is about the finding: it must go, and the
		// verdict must not get worse for it.
		if slices.ContainsFunc(v.Findings, func(f classify.Finding) bool { return f.ID == id }) || v.ExitCode() > rn.v.ExitCode() {
			t.Errorf("%s %s suggests %s, but that gives %s (exit %d) with findings %v where the run gave %s (exit %d)",
				rn.v.Class.ID, where, named, v.Class.ID, v.ExitCode(), findingIDs(v), rn.v.Class.ID, rn.v.ExitCode())
		}
		return
	}
	if v.Class.ID == rn.v.Class.ID || v.ExitCode() >= rn.v.ExitCode() {
		t.Errorf("%s %s suggests %s, but that gives %s (exit %d) where the run gave %s (exit %d): %s",
			rn.v.Class.ID, where, named, v.Class.ID, v.ExitCode(), rn.v.Class.ID, rn.v.ExitCode(), v.Detail)
	}
}

func findingIDs(v classify.Verdict) []string {
	var ids []string
	for _, f := range v.Findings {
		ids = append(ids, f.ID)
	}
	return ids
}

// factNames are the names a run's facts hold: the user name's domain part,
// the server's NTLM names, the host.
func factNames(r *probe.Result) []string {
	var out []string
	if i := strings.IndexByte(r.User, '\\'); i > 0 {
		out = append(out, r.User[:i])
	}
	ntlm := []*probe.NTLMInfo{r.NTLM}
	if g := r.Gateway; g != nil {
		// Through a gateway: its account and its NTLM CHALLENGE's names.
		if i := strings.IndexByte(g.User, '\\'); i > 0 {
			out = append(out, g.User[:i])
		}
		ntlm = append(ntlm, g.NTLM)
	}
	for _, n := range ntlm {
		if n == nil {
			continue
		}
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
			e.ThroughGateway(&opt, srv)
			return probe.Run(context.Background(), srv.Addr, opt)
		}
		r := probeIt(t, opt)
		runs = append(runs, run{name: "rdptest-" + e.Name, r: r, v: classify.Classify(r), opt: opt,
			again: func(t *testing.T, change func(*probe.Options)) classify.Verdict {
				o := opt
				change(&o)
				return classify.Classify(probeIt(t, o))
			},
			root: func(t *testing.T) *x509.Certificate { return scenarioRoot(t, e.Scenario) }})
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
		rn := run{name: name, r: r, v: classify.Classify(r), opt: opt}
		if peer := peerOf(fx); peer != "" && !testing.Short() {
			rn.root = func(t *testing.T) *x509.Certificate { return rootOf(t, labtest.PeerCertificates(t, peer)) }
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

// scenarioRoot is the root of the chain an rdptest scenario serves: its
// own certificate's, else rdptest's default one.
func scenarioRoot(t *testing.T, sc rdptest.Scenario) *x509.Certificate {
	t.Helper()
	c := sc.TLS.Certificate
	if c == nil {
		def, err := rdptest.DefaultCertificate()
		if err != nil {
			t.Fatal(err)
		}
		c = &def
	}
	var chain []*x509.Certificate
	for _, der := range c.Certificate {
		x, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, x)
	}
	return rootOf(t, chain)
}

// rootOf is the last certificate of a chain as a server sends it, which
// must be self-signed to serve as its root.
func rootOf(t *testing.T, chain []*x509.Certificate) *x509.Certificate {
	t.Helper()
	if len(chain) == 0 {
		t.Fatal("no certificate to take a root from")
	}
	root := chain[len(chain)-1]
	// CheckSignature, not CheckSignatureFrom: an RDP server's self-signed
	// certificate is no CA certificate, yet the root it chains to.
	if err := root.CheckSignature(root.SignatureAlgorithm, root.RawTBSCertificate, root.Signature); err != nil ||
		!bytes.Equal(root.RawIssuer, root.RawSubject) {
		t.Fatalf("the chain served ends at %s, which is not self-signed, so this test has no root to give --ca-file: %v", root.Subject, err)
	}
	return root
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
