package rdptest_test

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/fixture"
	"github.com/rdpprobe/rdpprobe/internal/labtest"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

var update = flag.Bool("update", false, "rewrite testdata/fixtures from rdptest scenarios and the lab's servers")

const fixtureDir = "../testdata/fixtures"

// TestGenerateFixtures records every replayable catalog scenario, and the
// lab's real servers, into ../testdata/fixtures. It writes only with
// -update:
//
//	go test ./rdptest -run TestGenerateFixtures -update
func TestGenerateFixtures(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite the fixtures")
	}
	if err := os.MkdirAll(fixtureDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range rdptest.Catalog() {
		if e.NoFixture != "" {
			continue
		}
		t.Run(e.Name, func(t *testing.T) {
			srv, err := rdptest.NewServer(e.Scenario)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			header := map[string]string{
				"source": fmt.Sprintf("rdptest scenario %q, built from %s", e.Name, e.Spec),
				"target": "rdptest",
			}
			if g := e.Scenario.Gateway; g != nil {
				header["gateway"] = string(cmp.Or(e.GatewayTransport, probe.GatewayAuto))
				header["gateway-credentials"] = map[bool]string{true: "yes", false: "no"}[e.Password != ""]
				if g.Certificate != nil {
					header["gateway-trust"] = "no"
				}
			}
			record(t, "rdptest-"+e.Name, srv.Addr, e.Offer, e.Password != "", probeOptions(t, e, srv), header, e.Class)
		})
	}
	lab := []struct {
		name, peer, source, offer string
		password                  string // "" none, "good", "wrong"
		depth                     probe.Phase
	}{
		{"freerdp-nla-ntlm-info", "nla", "lab FreeRDP shadow /sec:nla (recorded)", "", "", ""},
		{"freerdp-nla-wrong-password", "nla", "lab FreeRDP shadow /sec:nla (recorded)", "", "wrong", ""},
		{"freerdp-nla-tls-offer", "nla", "lab FreeRDP shadow /sec:nla (recorded)", "tls", "", ""},
		{"freerdp-ext-ssl-required", "nla-ext", "lab FreeRDP shadow /sec:ext (recorded)", "", "", ""},
		{"freerdp-tls-credentials", "tls", "lab FreeRDP shadow /sec:tls (recorded)", "", "good", ""},
		{"freerdp-rdp", "rdp", "lab FreeRDP shadow /sec:rdp (recorded)", "", "", ""},
		{"xrdp-nla-offer", "xrdp", "lab xrdp security_layer=negotiate (recorded)", "nla", "", ""},
		{"xrdp-tls", "xrdp", "lab xrdp security_layer=negotiate (recorded)", "", "good", ""},
		{"xrdp-rdp-only", "xrdp-rdp", "lab xrdp security_layer=rdp (recorded)", "", "", ""},
		{"freerdp-rdp-offer-rdp", "rdp", "lab FreeRDP shadow /sec:rdp (recorded)", "rdp", "", ""},
		{"xrdp-rdp-offer-rdp", "xrdp-rdp", "lab xrdp security_layer=rdp (recorded)", "rdp", "", ""},
		// ENCRYPTION_LEVEL_NONE: nothing encrypted, so it replays (xrdp's
		// encrypted session does not: probe's lab tests cover it).
		{"freerdp-rdp-session", "rdp", "lab FreeRDP shadow /sec:rdp (recorded)", "rdp", "good", probe.PhaseSession},
		{"freerdp-tls-session", "tls", "lab FreeRDP shadow /sec:tls (recorded)", "", "good", probe.PhaseSession},
		{"xrdp-tls-session", "xrdp", "lab xrdp security_layer=negotiate (recorded)", "tls", "good", probe.PhaseSession},
	}
	for _, l := range lab {
		t.Run("lab-"+l.name, func(t *testing.T) {
			addr := labtest.Peer(t, l.peer)
			opt := probe.Options{PhaseTimeout: 5 * time.Second, Timeout: 15 * time.Second, Depth: l.depth}
			setOffer(t, &opt, l.offer)
			if l.password != "" {
				user, domain, pw := labtest.Account()
				if l.password == "wrong" {
					pw = "wrong-" + pw
				}
				opt.Credentials = &probe.Credentials{User: user, Domain: domain, Password: pw}
			}
			header := map[string]string{"source": l.source, "target": addr, "recorded": time.Now().UTC().Format(time.RFC3339)}
			record(t, "lab-"+l.name, addr, l.offer, l.password != "", opt, header, "")
		})
	}
}

// record probes addr with a Recorder, checks the class, completes the
// recording where the probe could not note the server's part, checks that
// the fixture replays to the same class, and writes it.
func record(t *testing.T, name, addr, offer string, creds bool, opt probe.Options, header map[string]string, want string) {
	t.Helper()
	rec := &fixture.Recorder{}
	opt.Recorder = rec
	r := probe.Run(context.Background(), addr, opt)
	v := classify.Classify(r)
	if want != "" && string(v.Class.ID) != want {
		t.Fatalf("class %s, want %s (err %v)", v.Class.ID, want, r.Err)
	}
	if offer == "" {
		offer = probe.DefaultOffer
	}
	header["offer"] = offer
	header["credentials"] = map[bool]string{true: "yes", false: "no"}[creds]
	if opt.Depth != "" {
		header["depth"] = string(opt.Depth)
	}
	if opt.RequireTrustedCert {
		header["require-trusted-cert"] = "yes"
	}
	if opt.Cert.SHA256 != "" {
		header["cert-sha256"] = opt.Cert.SHA256
	}
	header["class"] = string(v.Class.ID)
	header["phase"] = string(v.Phase)
	fx := rec.Fixture(header)
	// The probe notes a close only when a read sees it; a TLS handshake
	// that ends in EOF or a reset is the server closing too.
	if n := len(fx.Steps); r.Err != nil && closedErr(r.Err) && (n == 0 || fx.Steps[n-1].Kind != fixture.KindClose) {
		fx.Steps = append(fx.Steps, fixture.Step{Kind: fixture.KindClose, Note: "the server ended the connection"})
	}
	got := replay(t, fx)
	if got.Class.ID != v.Class.ID || got.Phase != v.Phase {
		t.Fatalf("recorded %s at %s, but the recording replays to %s at %s (%s)", v.Class.ID, v.Phase, got.Class.ID, got.Phase, got.Detail)
	}
	f, err := os.Create(filepath.Join(fixtureDir, name+".fixture"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := fx.Write(f); err != nil {
		t.Fatal(err)
	}
}

func closedErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// replay plays fx to the probe and classifies what it saw.
func replay(t *testing.T, fx *fixture.Fixture) classify.Verdict {
	t.Helper()
	r, _, err := rdptest.ProbeReplay(context.Background(), fx)
	if err != nil {
		t.Fatal(err)
	}
	return classify.Classify(r)
}
