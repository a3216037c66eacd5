package rdptest_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/internal/labtest"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

// xfreerdpGateway runs `xfreerdp +auth-only` to target through the gateway
// gw with the given transport (/gt:...), as user in domain, and returns its
// output and exit code. The passwords are the test accounts' (a throwaway
// test password, or the lab's): xfreerdp takes them no other way.
func xfreerdpGateway(t *testing.T, gw, target, domain, user, password, gt string, extra ...string) (string, int) {
	t.Helper()
	bin := labtest.Tool(t, "xfreerdp")
	host, port, _ := net.SplitHostPort(target)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := []string{"/v:" + host, "/port:" + port, "/u:" + user, "/d:" + domain, "/p:" + password,
		"/g:" + gw, "/gu:" + user, "/gd:" + domain, "/gp:" + password, "/gt:" + gt, "+auth-only", "/log-level:INFO"}
	if !slices.ContainsFunc(extra, func(a string) bool { return strings.HasPrefix(a, "/cert") }) {
		args = append(args, "/cert:ignore")
	}
	cmd := exec.CommandContext(ctx, bin, append(args, extra...)...)
	display := os.Getenv("RDPLAB_DISPLAY")
	if display == "" {
		display = ":91"
	}
	if !strings.HasPrefix(display, ":") {
		display = ":" + display
	}
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Run()
	code := -1
	if cmd.ProcessState != nil {
		code = cmd.ProcessState.ExitCode()
	}
	return out.String(), code
}

// TestXFreeRDPThroughGateway: xfreerdp gets through rdptest's gateway to
// a scenario server, over both transports and with the gateway's options
// it must cope with, and the server receives its credentials: the
// emulator is a gateway an independent client takes. (A channel binding
// the gateway requires is FreeRDP's, computed on its side: the two agree.)
func TestXFreeRDPThroughGateway(t *testing.T) {
	labtest.Tool(t, "xfreerdp")
	for _, tc := range []struct {
		name string
		gw   rdptest.GatewayScenario
		gt   string
	}{
		{"http", rdptest.GatewayScenario{}, "http,no-websockets"},
		{"websocket", rdptest.GatewayScenario{}, "http"},
		{"keepalives", rdptest.GatewayScenario{Keepalive: true}, "http,no-websockets"},
		{"chunked out channel", rdptest.GatewayScenario{ChunkedOut: true}, "http,no-websockets"},
		{"service message", rdptest.GatewayScenario{ServiceMessage: "Maintenance tonight"}, "http"},
		{"channel binding required", rdptest.GatewayScenario{RequireChannelBinding: true}, "http,no-websockets"},
		{"old gateway declines websocket", rdptest.GatewayScenario{NoWebSocket: true}, "http"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := tc.gw
			srv, err := rdptest.NewServer(rdptest.Scenario{Accounts: accountsMap(), Gateway: &g})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			out, _ := xfreerdpGateway(t, srv.Gateway.Addr, srv.Addr, rdptest.TestDomain, rdptest.TestUser, rdptest.TestPassword, tc.gt)
			if !srv.Saw(rdptest.EventCredentials, `received credentials for CORP\alice`) {
				t.Errorf("xfreerdp did not get through the gateway:\n%s\n%s", tail(out), events(srv))
			}
			if srv.Gateway.Saw(rdptest.EventError, "") {
				t.Errorf("the gateway saw an error:\n%s", events(srv))
			}
		})
	}
}

// TestXFreeRDPGatewayStrictKey: FreeRDP 2's Sec-WebSocket-Key is not RFC
// 6455's, so a strict gateway refuses xfreerdp's WebSocket, while the
// probe's key passes (the catalog's gateway-ok-logon-websocket runs the
// probe against the same strict gateway). The lenient default is what lets
// xfreerdp in.
func TestXFreeRDPGatewayStrictKey(t *testing.T) {
	labtest.Tool(t, "xfreerdp")
	srv, err := rdptest.NewServer(rdptest.Scenario{Accounts: accountsMap(), Gateway: &rdptest.GatewayScenario{StrictWebSocketKey: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	out, _ := xfreerdpGateway(t, srv.Gateway.Addr, srv.Addr, rdptest.TestDomain, rdptest.TestUser, rdptest.TestPassword, "http")
	if !srv.Gateway.Saw(rdptest.EventGatewayWS, "standard=false") || srv.Saw(rdptest.EventCredentials, "") {
		t.Errorf("want xfreerdp's non-standard key refused:\n%s\n%s", tail(out), events(srv))
	}
}

// TestXFreeRDPGatewayRefusals: for each refusal scenario of the catalog,
// xfreerdp says the matching thing, and the probe's class is the one the
// catalog names (TestCatalog checks that half on the same scenarios).
func TestXFreeRDPGatewayRefusals(t *testing.T) {
	labtest.Tool(t, "xfreerdp")
	want := map[string]string{
		// FreeRDP 2.11 reports a gateway it cannot reach as its TLS failing,
		// from rdg_tls_connect; the probe tells the two apart.
		"gateway-unreachable":                "rdg_tls_connect:freerdp_set_last_error_ex ERRCONNECT_TLS_CONNECT_FAILED",
		"gateway-tls-reset":                  "ERRCONNECT_TLS_CONNECT_FAILED",
		"gateway-cert-self-signed":           "ERRCONNECT_TLS_CONNECT_FAILED", // with /cert:deny, as mstsc refuses
		"gateway-not-rdg-iis-404":            "RD Gateway does not support HTTP transport",
		"gateway-auth-wrong-password":        "ERRCONNECT_ACCESS_DENIED",
		"gateway-cap-denied":                 "Tunnel authorization error E_PROXY_NAP_ACCESSDENIED",
		"gateway-quarantine":                 "Tunnel authorization error E_PROXY_QUARANTINE_ACCESSDENIED",
		"gateway-max-connections":            "Tunnel creation error E_PROXY_MAXCONNECTIONSREACHED",
		"gateway-capability-mismatch":        "Handshake error E_PROXY_CAPABILITYMISMATCH",
		"gateway-rap-denied":                 "channel response errorCode=E_PROXY_RAP_ACCESSDENIED",
		"gateway-target-unreachable":         "channel response errorCode=E_PROXY_TS_CONNECTFAILED",
		"gateway-internal-error-closed-port": "channel response errorCode=E_PROXY_INTERNALERROR",
		"gateway-target-logon-failed":        "ERRCONNECT_LOGON_FAILURE",
		// FreeRDP 2.11 takes a positive code for success (FAILED()), so it
		// goes on past 0x000059DD and fails only when the gateway hangs
		// up; the probe names the code (gateway_target_unreachable).
		"gateway-target-unreachable-win32-code": "ERRCONNECT_CONNECT_TRANSPORT_FAILED",
	}
	for _, e := range rdptest.Catalog() {
		w, ok := want[e.Name]
		if !ok {
			continue
		}
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			srv, err := rdptest.NewServer(e.Scenario)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			var extra []string
			if e.Name == "gateway-cert-self-signed" {
				extra = append(extra, "/cert:deny")
			}
			out, code := xfreerdpGateway(t, srv.Gateway.Addr, srv.Addr, rdptest.TestDomain, rdptest.TestUser, e.Password, "http,no-websockets", extra...)
			if !strings.Contains(out, w) || code == 0 {
				t.Errorf("xfreerdp (exit %d) does not say %q for %s (the probe: %s):\n%s", code, w, e.Name, e.Class, tail(out))
			}
			if e.Class != "logon_failed" && srv.Saw(rdptest.EventCredentials, "") {
				t.Errorf("xfreerdp sent credentials to the target through a gateway that refused it")
			}
		})
	}
}

// TestGatewayToLab: rdptest's gateway in front of the lab's FreeRDP NLA
// server. xfreerdp gets through it over both transports (its +auth-only
// exits 0 once the lab's server accepted the logon), and so does the
// probe: ok at logon, every phase timed, the gateway's and the target's
// logon each made once.
func TestGatewayToLab(t *testing.T) {
	lab := labtest.Peer(t, "nla")
	user, domain, password := labtest.Account()
	gw, err := rdptest.NewGateway(rdptest.GatewayScenario{Accounts: map[string]string{domain + `\` + user: password}})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	if bin := labtest.Tool(t, "xfreerdp"); bin != "" {
		for _, gt := range []string{"http,no-websockets", "http"} {
			out, code := xfreerdpGateway(t, gw.Addr, lab, domain, user, password, gt)
			if code != 0 || !strings.Contains(out, "Authentication only, exit status 0") {
				t.Errorf("xfreerdp /gt:%s through the gateway to %s: exit %d\n%s", gt, lab, code, tail(out))
			}
		}
	}
	creds := &probe.Credentials{User: user, Domain: domain, Password: password}
	for _, tr := range []probe.GatewayTransport{probe.GatewayHTTP, probe.GatewayWebSocket} {
		t.Run(string(tr), func(t *testing.T) {
			before := gw.Count(rdptest.EventGatewayLogon, "ok ")
			opt := probe.Options{PhaseTimeout: 5 * time.Second, Timeout: 15 * time.Second, Credentials: creds, Gateway: gw.ProbeOptions(creds)}
			opt.Gateway.Transport = tr
			r := probe.Run(context.Background(), lab, opt)
			v := classify.Classify(r)
			if v.Class.ID != classify.OK || v.Phase != probe.PhaseLogon {
				t.Fatalf("%s at %s (%v): %s\n%s", v.Class.ID, v.Phase, r.Err, v.Detail, gatewayEvents(gw))
			}
			var timed []probe.Phase
			for _, pt := range r.Timings {
				if pt.Duration <= 0 {
					t.Errorf("phase %s not timed", pt.Phase)
				}
				timed = append(timed, pt.Phase)
			}
			want := []probe.Phase{probe.PhaseGatewayConnect, probe.PhaseGatewayTLS, probe.PhaseGatewayAuth, probe.PhaseGatewayTunnel,
				probe.PhaseGatewayChannel, probe.PhaseConnect, probe.PhaseNegotiate, probe.PhaseTLS, probe.PhaseNTLMInfo, probe.PhaseLogon}
			if !slices.Equal(timed, want) {
				t.Errorf("phases %v, want %v", timed, want)
			}
			// One gateway logon per channel the transport has.
			channels := map[probe.GatewayTransport]int{probe.GatewayHTTP: 2, probe.GatewayWebSocket: 1}[tr]
			if n := gw.Count(rdptest.EventGatewayLogon, "ok ") - before; n != channels {
				t.Errorf("%d gateway logons, want %d (one per channel)", n, channels)
			}
			if !r.LogonAttempted || !r.CredSSP.PubKeyAuthVerified {
				t.Errorf("the lab's server did not verify the logon: %+v", r.CredSSP)
			}
		})
	}
}

// TestTsharkGateway: tshark decodes the gateway's traffic, TLS decrypted
// with the gateway's key log, with no malformed packet: the 401s and their
// NTLM CHALLENGE, the 200 or the 101. (Wireshark 4.0 has no dissector for
// MS-TSGU nor for the RDG_* methods, so the requests and the packets show
// as TLS application data; the target's TLS inside the tunnel is nested
// and stays encrypted.) The probe's traffic and xfreerdp's are decoded the
// same way.
func TestTsharkGateway(t *testing.T) {
	tshark := labtest.Tool(t, "tshark")
	for _, tc := range []struct {
		name   string
		client string // "probe" or "xfreerdp"
		tr     probe.GatewayTransport
		want   []string
	}{
		{"probe-http", "probe", probe.GatewayHTTP, []string{"HTTP/1.1 401 Unauthorized", "NetBIOS Computer Name: RDG01", "HTTP/1.1 200 OK"}},
		{"probe-websocket", "probe", probe.GatewayWebSocket, []string{"HTTP/1.1 401 Unauthorized", "NetBIOS Computer Name: RDG01",
			"HTTP/1.1 101 Switching Protocols", "Upgrade: websocket"}},
		{"xfreerdp-http", "xfreerdp", probe.GatewayHTTP, []string{"HTTP/1.1 401 Unauthorized", "NetBIOS Computer Name: RDG01", "HTTP/1.1 200 OK"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			keylog := filepath.Join(dir, "keylog")
			kf, err := os.Create(keylog)
			if err != nil {
				t.Fatal(err)
			}
			defer kf.Close()
			srv, err := rdptest.NewServer(rdptest.Scenario{Accounts: accountsMap(), Gateway: &rdptest.GatewayScenario{KeyLogWriter: kf}})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			_, port, _ := net.SplitHostPort(srv.Gateway.Addr)
			pcap := filepath.Join(dir, "capture.pcap")
			stop := capture(t, tshark, port, pcap)
			creds := &probe.Credentials{User: rdptest.TestUser, Domain: rdptest.TestDomain, Password: rdptest.TestPassword}
			if tc.client == "probe" {
				opt := probe.Options{PhaseTimeout: 2 * time.Second, Timeout: 8 * time.Second, Credentials: creds, Gateway: srv.Gateway.ProbeOptions(creds)}
				opt.Gateway.Transport = tc.tr
				if r := probe.Run(context.Background(), srv.Addr, opt); r.Err != nil {
					t.Fatal(r.Err)
				}
				srv.Gateway.WaitClosed(1, 2*time.Second)
			} else {
				xfreerdpGateway(t, srv.Gateway.Addr, srv.Addr, rdptest.TestDomain, rdptest.TestUser, rdptest.TestPassword, "http,no-websockets")
			}
			stop()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, tshark, "-r", pcap, "-o", "tls.keylog_file:"+keylog, "-V",
				"-d", "tcp.port=="+port+",tls", "-d", "tls.port=="+port+",http").CombinedOutput()
			if err != nil {
				t.Fatalf("tshark -r: %v\n%s", err, out)
			}
			text := string(out)
			if strings.Contains(text, "Malformed") || strings.Contains(text, "Expert Info (Error") {
				t.Errorf("tshark finds a malformed packet:\n%s", tail(text))
			}
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("tshark's decode lacks %q:\n%s", w, tail(text))
				}
			}
		})
	}
}
