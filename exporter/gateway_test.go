package exporter

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

func TestParseGatewayConfig(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "gw.pw", "gw-pw\n", 0o600)
	env := func(k string) (string, bool) {
		if k == "RDP_PW" {
			return "env-pw", true
		}
		return "", false
	}
	const creds = "    credentials: {user: 'LAB\\u', password_env: RDP_PW}\n"
	for _, tc := range []struct {
		name, yaml string
		err        string
		user, pw   string // the gateway's account and password; "" for none
	}{
		{"the module's account", "modules:\n  x:\n" + creds + "    gateway: {address: gw.example.com}\n", "", `LAB\u`, "env-pw"},
		{"its own account", "modules:\n  x:\n" + creds + "    gateway: {address: 'gw.example.com:8443', user: 'LAB\\gw', password_file: gw.pw, transport: http}\n",
			"", `LAB\gw`, "gw-pw"},
		{"the module's account, another password", "modules:\n  x:\n" + creds + "    gateway: {address: gw.example.com, password_file: gw.pw}\n", "", `LAB\u`, "gw-pw"},
		{"gateway only, depth gateway", "modules:\n  x:\n    depth: gateway_channel\n    gateway: {address: gw.example.com, user: 'LAB\\gw', password_file: gw.pw}\n", "", `LAB\gw`, "gw-pw"},
		{"no account anywhere", "modules:\n  x:\n    gateway: {address: gw.example.com}\n", "", "", ""},
		{"user without a password", "modules:\n  x:\n    gateway: {address: gw.example.com, user: 'LAB\\gw'}\n", "user needs password_file or password_env", "", ""},
		{"a password without an account", "modules:\n  x:\n    gateway: {address: gw.example.com, password_env: RDP_PW}\n", "a password but no account", "", ""},
		{"both password sources", "modules:\n  x:\n    gateway: {address: gw.example.com, user: u, password_env: RDP_PW, password_file: gw.pw}\n", "at most one of", "", ""},
		{"bad address", "modules:\n  x:\n    gateway: {address: 'gw:99999'}\n", "gateway: address:", "", ""},
		{"bad transport", "modules:\n  x:\n    gateway: {address: gw, transport: rpc}\n", `unknown gateway transport "rpc"`, "", ""},
		{"unknown key", "modules:\n  x:\n    gateway: {address: gw, pasword_env: X}\n", `unknown key "pasword_env"`, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml), dir, env)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m := c.Modules["x"]
			g := m.options().Gateway
			if g == nil {
				t.Fatal("no gateway in the options")
			}
			var user, pw string
			if g.Credentials != nil {
				user, pw = g.Credentials.Domain+`\`+g.Credentials.User, g.Credentials.Password
			}
			if user != tc.user || pw != tc.pw {
				t.Errorf("gateway account %q (password right: %v), want %q", user, pw == tc.pw, tc.user)
			}
			if m.Logon() != (tc.user != "") {
				t.Errorf("Logon() = %v", m.Logon())
			}
		})
	}
}

// The exporter through rdptest's gateway: the gateway's metrics, and a
// failed gateway logon blocking the module for every target.
func TestGatewayScrape(t *testing.T) {
	srv, err := rdptest.NewServer(rdptest.Scenario{
		Accounts: map[string]string{rdptest.TestDomain + `\` + rdptest.TestUser: rdptest.TestPassword},
		Gateway:  &rdptest.GatewayScenario{},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	writeFile(t, dir, "pw", rdptest.TestPassword+"\n", 0o600)
	writeFile(t, dir, "wrong.pw", "wrong\n", 0o600)
	writeFile(t, dir, "ca.pem", string(rdptest.TestCAPEM()), 0o644)
	cfgPath := writeFile(t, dir, "rdpprobe.yml", `
modules:
  through:
    credentials: {user: 'CORP\alice', password_file: pw}
    gateway: {address: '`+srv.Gateway.Addr+`', transport: websocket}
    tls_config: {ca_file: ca.pem}
  wrong:
    depth: gateway_channel
    gateway: {address: '`+srv.Gateway.Addr+`', user: 'CORP\alice', password_file: wrong.pw}
    tls_config: {ca_file: ca.pem}
`, 0o600)
	cfg, err := LoadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	exp := New(cfg, Options{Run: probe.Run, Classify: classify.Classify, ConfigFile: cfgPath})
	server := httptest.NewServer(exp.Handler())
	defer server.Close()
	h := &harness{t: t, server: server}
	scrape := func(target, module string) map[string]string {
		t.Helper()
		code, body := h.get("/probe?target=" + url.QueryEscape(target) + "&module=" + module)
		if code != 200 {
			t.Fatalf("/probe: %d %s", code, body)
		}
		return samples(body)
	}

	m := scrape(srv.Addr, "through")
	wantSample(t, m, "probe_success", "1")
	wantSample(t, m, `probe_rdp_result{class="ok"}`, "1")
	wantSample(t, m, "probe_rdp_gateway_logon_attempted", "1")
	wantSample(t, m, "probe_rdp_logon_attempted", "1")
	wantSample(t, m, "probe_rdp_gateway_cert_trusted", "1")
	for _, s := range []string{`probe_rdp_gateway_phase_duration_seconds{phase="gateway_channel"}`, `probe_rdp_phase_duration_seconds{phase="logon"}`,
		`probe_ssl_earliest_cert_expiry{hop="gateway"}`, `probe_ssl_earliest_cert_expiry{hop="target"}`} {
		if _, ok := m[s]; !ok {
			t.Errorf("no %s in %v", s, m)
		}
	}
	if _, ok := m[`probe_rdp_phase_duration_seconds{phase="gateway_tls"}`]; ok {
		t.Error("the gateway's phases are in probe_rdp_phase_duration_seconds too")
	}

	// A wrong gateway password: one failed logon, then the module is
	// blocked for every target, which all go through that gateway.
	failed := func() int { return srv.Gateway.Count(rdptest.EventGatewayLogon, "failed") }
	m = scrape(srv.Addr, "wrong")
	wantSample(t, m, `probe_rdp_result{class="gateway_auth_failed"}`, "1")
	if failed() != 1 {
		t.Fatalf("%d failed gateway logons, want 1", failed())
	}
	for _, target := range []string{srv.Addr, "127.0.0.2:3389", "rds09.corp.example.com"} {
		m = scrape(target, "wrong")
		wantSample(t, m, "probe_rdp_logon_blocked", "1")
	}
	time.Sleep(50 * time.Millisecond)
	if failed() != 1 {
		t.Errorf("%d failed gateway logons after the block, want 1", failed())
	}
	if n := exp.Reset("wrong", ""); n == 0 {
		t.Error("Reset of the module forgot nothing")
	}
	scrape("127.0.0.2:3389", "wrong")
	if failed() != 2 {
		t.Errorf("after the reset, %d failed gateway logons, want 2", failed())
	}
}
