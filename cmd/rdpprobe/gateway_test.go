package main

import (
	"encoding/json"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rdpprobe/rdpprobe/rdptest"
)

// The command through rdptest's gateway emulator: the flags, the two
// logons' credentials, the JSON's gateway object and the exit codes.
func TestGatewayCommand(t *testing.T) {
	ca := gatewayCAFile(t)
	srv, err := rdptest.NewServer(rdptest.Scenario{
		Accounts: map[string]string{rdptest.TestDomain + `\` + rdptest.TestUser: rdptest.TestPassword},
		Gateway: &rdptest.GatewayScenario{
			Accounts: map[string]string{rdptest.TestDomain + `\gwuser`: "gw-Passw0rd", rdptest.TestDomain + `\` + rdptest.TestUser: rdptest.TestPassword},
			CAP:      []rdptest.Policy{{Users: []string{`CORP\gwuser`, `CORP\alice`}}},
			RAP:      []rdptest.Policy{{Users: []string{`CORP\alice`}, Computers: []string{"*"}}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	gw := srv.Gateway.Addr
	schema := loadSchema(t)
	alice := rdptest.TestDomain + `\` + rdptest.TestUser
	for _, tc := range []struct {
		name      string
		args      []string
		env       map[string]string
		exit      int
		class     string
		gwLogons  int // the gateway's logons, ok or not, this run
		gwFailed  int
		phaseLast string
	}{
		{"logon through the gateway", []string{"-u", alice, "--gateway", gw},
			map[string]string{passwordEnv: rdptest.TestPassword}, 0, "ok", 1, 0, "logon"},
		{"depth gateway", []string{"-u", alice, "--gateway", gw, "--depth", "gateway", "--gateway-transport", "http"},
			map[string]string{passwordEnv: rdptest.TestPassword}, 0, "ok", 2, 0, "gateway_channel"},
		{"wrong gateway password: no target logon", []string{"-u", alice, "--gateway", gw},
			map[string]string{passwordEnv: rdptest.TestPassword, gatewayPasswordEnv: "wrong"}, 5, "gateway_auth_failed", 0, 1, "gateway_auth"},
		{"another gateway account, which the RAP refuses", []string{"-u", alice, "--gateway", gw, "--gateway-user", `CORP\gwuser`},
			map[string]string{passwordEnv: rdptest.TestPassword, gatewayPasswordEnv: "gw-Passw0rd"}, 5, "gateway_rap_denied", 1, 0, "gateway_channel"},
		{"no credentials at all", []string{"--gateway", gw}, nil, 5, "gateway_auth_failed", 0, 0, "gateway_auth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			okBefore, failedBefore := srv.Gateway.Count(rdptest.EventGatewayLogon, "ok "), srv.Gateway.Count(rdptest.EventGatewayLogon, "failed")
			code, stdout, stderr := rdpprobe(t, append([]string{"--output", "json", "--ca-file", ca, srv.Addr}, tc.args...)...)
			rep := jsonReport(t, stdout)
			var doc any
			json.Unmarshal([]byte(stdout), &doc)
			for _, e := range validate(schema, doc, "$") {
				t.Errorf("schema: %s", e)
			}
			if code != tc.exit || rep["class"] != tc.class {
				t.Fatalf("exit %d class %v, want %d %s\n%s\n%s", code, rep["class"], tc.exit, tc.class, stdout, stderr)
			}
			phases := rep["phases"].([]any)
			if last := phases[len(phases)-1].(map[string]any)["phase"]; last != tc.phaseLast {
				t.Errorf("last phase %v, want %s", last, tc.phaseLast)
			}
			g, _ := rep["gateway"].(map[string]any)
			if g == nil {
				t.Fatalf("no gateway object:\n%s", stdout)
			}
			okNow := srv.Gateway.Count(rdptest.EventGatewayLogon, "ok ") - okBefore
			failedNow := srv.Gateway.Count(rdptest.EventGatewayLogon, "failed") - failedBefore
			if okNow != tc.gwLogons || failedNow != tc.gwFailed {
				t.Errorf("gateway logons: %d ok, %d failed; want %d and %d", okNow, failedNow, tc.gwLogons, tc.gwFailed)
			}
			for _, pw := range []string{rdptest.TestPassword, "gw-Passw0rd"} {
				if strings.Contains(stdout+stderr, pw) {
					t.Errorf("a password is in the output")
				}
			}
		})
	}
}

func TestGatewayUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"h", "--gateway-user", "x"}, "need --gateway"},
		{[]string{"h", "--depth", "gateway"}, "--depth gateway needs --gateway"},
		{[]string{"h", "--gateway", "gw", "--gateway-transport", "rpc"}, `--gateway-transport: unknown gateway transport "rpc"`},
		{[]string{"h", "--gateway", "gw:99999"}, "--gateway:"},
		{[]string{"h", "--gateway", "gw", "--gateway-password-file", "/nonexistent"}, "--gateway-password-file needs --gateway-user or -u"},
	} {
		code, _, stderr := rdpprobe(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
}

// A sweep through the gateway: --phases gateway says which hosts the
// gateway reaches (RAP and the targets' ports decide), and a wrong gateway
// password stops the gateway's logons after the first failure: every host
// behind the gateway would fail the same way.
func TestGatewaySweep(t *testing.T) {
	ca := gatewayCAFile(t)
	accounts := map[string]string{rdptest.TestDomain + `\` + rdptest.TestUser: rdptest.TestPassword}
	a, err := rdptest.NewServer(rdptest.Scenario{Accounts: accounts, Gateway: &rdptest.GatewayScenario{
		RAP:   []rdptest.Policy{{Users: []string{"*"}, Computers: []string{"127.0.0.1"}}},
		Hosts: map[string]string{"rds02.corp.example.com": closedAddr(t)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	gw := a.Gateway
	closed := closedAddr(t)
	_, closedPort, _ := strings.Cut(closed, ":")
	dir := t.TempDir()
	for _, tc := range []struct {
		name     string
		password string
		targets  []string
		want     map[string]int
		failed   int // the gateway's failed logons
	}{
		{"reach", rdptest.TestPassword, []string{a.Addr, "127.0.0.1:" + closedPort, "rds02.corp.example.com:3389"},
			map[string]int{"ok": 1, "gateway_target_unreachable": 1, "gateway_rap_denied": 1}, 0},
		{"wrong password", "wrong", []string{a.Addr, "127.0.0.1:" + closedPort, "127.0.0.2:3389", "127.0.0.3:3389"},
			map[string]int{"gateway_auth_failed": 4}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(gatewayPasswordEnv, tc.password)
			before := gw.Count(rdptest.EventGatewayLogon, "failed")
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".jsonl")
			args := append([]string{"sweep", "--gateway", gw.Addr, "--gateway-user", `CORP\alice`, "--depth", "gateway", "--ca-file", ca,
				"--gateway-transport", "websocket", "--progress", "never", "--concurrency", "1", "-o", out}, tc.targets...)
			code, _, stderr := rdpprobe(t, args...)
			if code != sweepExitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if got := classCounts(readJSONL(t, out)); !maps.Equal(got, tc.want) {
				t.Errorf("classes %v, want %v\n%s", got, tc.want, stderr)
			}
			if n := gw.Count(rdptest.EventGatewayLogon, "failed") - before; n != tc.failed {
				t.Errorf("%d failed gateway logons, want %d", n, tc.failed)
			}
		})
	}
}

func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// gatewayCAFile writes the CA of rdptest's gateway certificates to a file
// for --ca-file: the gateway's certificate is judged by the same roots as
// the target's.
func gatewayCAFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gateway-ca.pem")
	if err := os.WriteFile(path, rdptest.TestCAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
