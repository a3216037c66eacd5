package classify_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/fixture"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

const fixtureGlob = "../testdata/fixtures/*.fixture"

func loadFixtures(t *testing.T) map[string]*fixture.Fixture {
	t.Helper()
	paths, err := filepath.Glob(fixtureGlob)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no fixtures match %s", fixtureGlob)
	}
	out := map[string]*fixture.Fixture{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		fx, err := fixture.Parse(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out[strings.TrimSuffix(filepath.Base(p), ".fixture")] = fx
	}
	return out
}

// TestFixtures replays every recorded conversation in testdata/fixtures to
// the probe and checks the class and phase its header names. Adding a
// failure case is adding a file.
func TestFixtures(t *testing.T) {
	for name, fx := range loadFixtures(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, k := range []string{"source", "class", "phase"} {
				if fx.Header[k] == "" {
					t.Fatalf("header %q missing", k)
				}
			}
			if !strings.Contains(fx.Header["source"], "(recorded") && !strings.Contains(fx.Header["source"], "built from") {
				t.Errorf("source %q says neither \"(recorded...)\" nor \"built from <spec section>\"", fx.Header["source"])
			}
			opt, err := rdptest.ReplayOptions(fx)
			if err != nil {
				t.Fatal(err)
			}
			rp, err := rdptest.NewReplay(fx)
			if err != nil {
				t.Fatal(err)
			}
			defer rp.Close()
			r := probe.Run(context.Background(), rp.Addr, opt)
			v := classify.Classify(r)
			if string(v.Class.ID) != fx.Header["class"] || string(v.Phase) != fx.Header["phase"] {
				t.Errorf("replay gives %s at %s, fixture says %s at %s (err %v)", v.Class.ID, v.Phase, fx.Header["class"], fx.Header["phase"], r.Err)
			}
		})
	}
}

// noFixture lists the classes that cannot have a replayable fixture, and
// why. Each is covered by a scenario in rdptest.Catalog instead (or, for the
// connect classes, by probe's own tests and the lab's closed port).
var noFixture = map[string]string{
	"dns_failure":     "the name does not resolve: no server ever speaks, so there is no conversation to record",
	"tcp_refused":     "no TCP connection: no conversation to record",
	"tcp_timeout":     "no TCP connection: no conversation to record",
	"tcp_unreachable": "no TCP connection: no conversation to record",
	"pubkey_auth_mismatch": "a replayed pubKeyAuth never matches the new session, so such a fixture would pass without proving anything; " +
		"rdptest scenario pubkeyauth-tampered covers it with a live server",
	"no_rdp_signin_right": "the Early User Authorization Result comes only after a pubKeyAuth that depends on this run's keys; " +
		"rdptest scenario early-user-auth-denied covers it",
	// The Kerberos classes arise at the KDC, whose conversation a fixture
	// does not hold (its AS-REP is under the password's key and is never
	// recorded), or at the server after a ticket only a KDC can issue.
	"account_revoked":            kdcOnly,
	"kdc_unreachable":            kdcOnly,
	"kerberos_spn_unknown":       kdcOnly,
	"kerberos_clock_skew":        kdcOnly,
	"kerberos_etype_unsupported": kdcOnly,
	"kerberos_ticket_rejected": "the AP-REQ carries a ticket the lab KDC issues for this run, under keys no replay holds; " +
		"probe's TestLabKerberosServer covers it with the real KDC and rdptest's Kerberos acceptor",
}

const kdcOnly = "the KDC's answer is not part of the RDP conversation a fixture records; probe's lab tests cover it " +
	"against the lab's MIT KDC, and kinit's verdict on the same account is checked beside it"

// noScenario lists the classes no rdptest server can cause.
var noScenario = map[string]string{
	"dns_failure":     "name resolution fails before any server is involved",
	"tcp_refused":     "nothing listens: there is no server to play",
	"tcp_timeout":     "a listening server always completes the TCP handshake",
	"tcp_unreachable": "a loopback server is always reachable",
	// The KDC decides these; probe's lab tests run them against the lab's
	// MIT KDC with an rdptest server behind it.
	"account_revoked":            kdcScenario,
	"kdc_unreachable":            kdcScenario,
	"kerberos_spn_unknown":       kdcScenario,
	"kerberos_clock_skew":        kdcScenario,
	"kerberos_etype_unsupported": kdcScenario,
	"kerberos_ticket_rejected": "rdptest's Kerberos acceptor refuses the ticket, but only with one the lab KDC issued for the run: " +
		"probe's TestLabKerberosServer runs rdptest.KerberosTicketRejected and KerberosWrongHost",
}

const kdcScenario = "the KDC, not the RDP server, gives this answer: probe's TestLabKerberosClasses runs it against the lab's MIT KDC"

// TestEveryClassHasFixtureAndScenario: each class in the table has at least
// one fixture and one rdptest scenario, or is listed above with the reason.
func TestEveryClassHasFixtureAndScenario(t *testing.T) {
	fixtures := map[string][]string{}
	for name, fx := range loadFixtures(t) {
		fixtures[fx.Header["class"]] = append(fixtures[fx.Header["class"]], name)
	}
	scenarios := map[string][]string{}
	for _, e := range rdptest.Catalog() {
		scenarios[e.Class] = append(scenarios[e.Class], e.Name)
	}
	known := map[string]bool{}
	for _, c := range classify.Classes {
		id := string(c.ID)
		known[id] = true
		check := func(what string, have map[string][]string, impossible map[string]string) {
			why, listed := impossible[id]
			switch {
			case listed && len(have[id]) > 0:
				t.Errorf("class %s is listed as having no %s (%s) but has %v: take it off the list", id, what, why, have[id])
			case !listed && len(have[id]) == 0:
				t.Errorf("class %s has no %s", id, what)
			}
		}
		check("fixture", fixtures, noFixture)
		check("rdptest scenario", scenarios, noScenario)
	}
	var unknown []string
	for id := range fixtures {
		if !known[id] {
			unknown = append(unknown, id)
		}
	}
	for id := range scenarios {
		if !known[id] {
			unknown = append(unknown, id)
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		t.Errorf("fixtures or scenarios name classes the table does not have: %v", unknown)
	}
}
