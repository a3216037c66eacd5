package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/internal/labtest"
)

// TestServeHelperProcess is not a test: the tests below run the test binary
// again with RDPPROBE_SERVE_HELPER=1 to get `rdpprobe serve` as a process
// they can signal (SIGHUP, SIGTERM) without touching their own.
func TestServeHelperProcess(t *testing.T) {
	if os.Getenv("RDPPROBE_SERVE_HELPER") != "1" {
		t.Skip("helper process for the serve tests")
	}
	var args []string
	json.Unmarshal([]byte(os.Getenv("RDPPROBE_SERVE_ARGS")), &args)
	os.Exit(run(append([]string{"serve"}, args...), os.Stdin, os.Stdout, os.Stderr))
}

// exporterProcess is a running `rdpprobe serve`.
type exporterProcess struct {
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
}

func startServe(t *testing.T, args ...string) *exporterProcess {
	t.Helper()
	return startServeWith(t, "http", http.DefaultClient, args...)
}

// startServeWith starts `rdpprobe serve` and waits until it answers over
// scheme with client (any HTTP status: with basic auth on, /-/healthy too
// answers 401 to a client without the password).
func startServeWith(t *testing.T, scheme string, client *http.Client, args ...string) *exporterProcess {
	t.Helper()
	addr := freeAddr(t)
	args = append([]string{"--web.listen-address", addr}, args...)
	enc, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeHelperProcess$")
	cmd.Env = append(os.Environ(), "RDPPROBE_SERVE_HELPER=1", "RDPPROBE_SERVE_ARGS="+string(enc))
	p := &exporterProcess{cmd: cmd, url: scheme + "://" + addr, stderr: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = p.stderr, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("rdpprobe serve output:\n%s", p.stderr.String())
		}
	})
	poll(t, 20*time.Second, "rdpprobe serve to listen on "+addr, func() bool {
		select {
		case <-exited:
			t.Fatalf("rdpprobe serve exited: %s", p.stderr.String())
		default:
		}
		resp, err := client.Get(p.url + "/-/healthy")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200 || scheme == "https"
	})
	return p
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// poll waits for cond with a bound that only a hang reaches.
func poll(t *testing.T, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", bound, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func writeSecret(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestServeConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yml")
	writeSecret(t, good, "modules:\n  info:\n    phases: [connect, negotiate, tls, ntlm_info]\n")
	bad := filepath.Join(dir, "bad.yml")
	writeSecret(t, bad, "modules:\n  info:\n    phases: [connect]\n    retries: 3\n")
	open := filepath.Join(dir, "open.pw")
	os.WriteFile(open, []byte("pw\n"), 0o644)
	os.Chmod(open, 0o644)
	empty := filepath.Join(dir, "empty.yml")
	writeSecret(t, empty, "# nothing yet\n")
	leaky := filepath.Join(dir, "leaky.yml")
	writeSecret(t, leaky, "modules:\n  l:\n    credentials: {user: u, password_file: open.pw}\n")

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"serve", "--config", good, "--config.check"}, 0, "1 module(s), OK"},
		{[]string{"serve", "--config", good, "--config.check"}, 0, `warning: module "info": phases is deprecated, write depth: ntlm_info`},
		{[]string{"serve", "--config", empty, "--config.check"}, 0, "warning: no modules in the file: using the built-in rdp_nla_info"},
		{[]string{"serve", "--config", bad, "--config.check"}, 1, `line 4: unknown key "retries" in a module`},
		{[]string{"serve", "--config", leaky, "--config.check"}, 1, "lets group or others read it"},
		{[]string{"serve", "--config", filepath.Join(dir, "none.yml"), "--config.check"}, 1, "no such file"},
		{[]string{"serve", "--bogus"}, exitUsage, "unknown flag"},
		{[]string{"serve", "--log.level", "loud", "--config.check"}, exitUsage, "--log.level"},
	} {
		t.Run(strings.Join(tc.args[1:], " "), func(t *testing.T) {
			code, stdout, stderr := rdpprobe(t, tc.args...)
			if code != tc.code || !strings.Contains(stdout+stderr, tc.want) {
				t.Fatalf("exit %d, want %d; output %q does not contain %q", code, tc.code, stdout+stderr, tc.want)
			}
		})
	}
}

// TestServeReload: SIGHUP and POST /-/reload read the file again; a bad
// file keeps the running config and says why.
func TestServeReload(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "rdpprobe.yml")
	writeSecret(t, cfg, "modules:\n  one: {phases: [connect]}\n")
	p := startServe(t, "--config", cfg)
	closed := labtest.Peer(t, "closed")
	probeCode := func(module string) int {
		code, _ := get(t, p.url+"/probe?target="+url.QueryEscape(closed)+"&module="+module)
		return code
	}
	if c := probeCode("one"); c != 200 {
		t.Fatalf("module one: %d", c)
	}

	writeSecret(t, cfg, "modules:\n  two: {phases: [connect]}\n")
	p.cmd.Process.Signal(syscall.SIGHUP)
	poll(t, 10*time.Second, "SIGHUP to load module two", func() bool { return probeCode("two") == 200 })
	if c := probeCode("one"); c != 400 {
		t.Errorf("module one after reload: %d, want 400", c)
	}

	writeSecret(t, cfg, "modules:\n  three: {phases: [connect], colour: blue}\n")
	resp, err := http.Post(p.url+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || !strings.Contains(string(body), `line 2: unknown key "colour" in a module`) {
		t.Errorf("bad reload: %d %s", resp.StatusCode, body)
	}
	if c := probeCode("two"); c != 200 {
		t.Errorf("after a bad reload the running config is gone: module two %d", c)
	}
}

// TestServePrometheus runs Debian's Prometheus against `rdpprobe serve`,
// which probes the lab's NLA server with a good and a wrong password, and
// checks what Prometheus stored. It also runs promtool over /probe's output,
// the example rules and the example scrape config.
func TestServePrometheus(t *testing.T) {
	promtool := labtest.Tool(t, "promtool")
	prometheus := labtest.Tool(t, "prometheus")
	nla := labtest.Peer(t, "nla")
	user, domain, password := labtest.Account()

	dir := t.TempDir()
	writeSecret(t, filepath.Join(dir, "good.pw"), password+"\n")
	writeSecret(t, filepath.Join(dir, "wrong.pw"), password+"-wrong\n")
	cfg := filepath.Join(dir, "rdpprobe.yml")
	account := domain + `\` + user
	writeSecret(t, cfg, fmt.Sprintf(`modules:
  rdp_nla_info:
    phases: [connect, negotiate, tls, ntlm_info]
  rdp_nla_logon:
    phases: [connect, negotiate, tls, ntlm_info, logon]
    credentials: {user: '%s', password_file: good.pw}
  rdp_nla_logon_wrong:
    phases: [connect, negotiate, tls, ntlm_info, logon]
    credentials: {user: '%s', password_file: wrong.pw}
`, account, account))
	exp := startServe(t, "--config", cfg)
	expAddr := strings.TrimPrefix(exp.url, "http://")

	// promtool check metrics reads the exposition on stdin.
	for _, module := range []string{"rdp_nla_info", "rdp_nla_logon", "rdp_nla_logon_wrong"} {
		code, body := get(t, exp.url+"/probe?target="+url.QueryEscape(nla)+"&module="+module)
		if code != 200 {
			t.Fatalf("/probe %s: %d %s", module, code, body)
		}
		if strings.Contains(body, password) {
			t.Fatalf("/probe %s shows the password", module)
		}
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics on /probe %s: %v\n%s\n%s", module, err, out, body)
		}
	}
	if _, body := get(t, exp.url+"/metrics"); true {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics on /metrics: %v\n%s", err, out)
		}
	}
	if out, err := exec.Command(promtool, "check", "rules", "../../examples/rdpprobe-alerts.yml").CombinedOutput(); err != nil {
		t.Errorf("promtool check rules examples/rdpprobe-alerts.yml: %v\n%s", err, out)
	}
	// The example scrape config names its rule file relative to itself.
	if out, err := exec.Command(promtool, "check", "config", "../../examples/prometheus.yml").CombinedOutput(); err != nil {
		t.Errorf("promtool check config examples/prometheus.yml: %v\n%s", err, out)
	}

	// The README's relabelling, with one job per module.
	var jobs strings.Builder
	for _, module := range []string{"rdp_nla_logon", "rdp_nla_logon_wrong"} {
		fmt.Fprintf(&jobs, `  - job_name: %s
    metrics_path: /probe
    params:
      module: [%s]
    static_configs:
      - targets: ['%s']
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: '%s'
`, module, module, nla, expAddr)
	}
	promCfg := filepath.Join(dir, "prometheus.yml")
	writeSecret(t, promCfg, "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"+jobs.String())
	promAddr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	prom := exec.CommandContext(ctx, prometheus,
		"--config.file="+promCfg,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr,
		"--log.level=warn")
	var promOut syncBuffer
	prom.Stdout, prom.Stderr = &promOut, &promOut
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		prom.Wait()
		if t.Failed() {
			t.Logf("prometheus output:\n%s", promOut.String())
		}
	})

	type series struct {
		Metric map[string]string `json:"metric"`
		Value  [2]any            `json:"value"`
	}
	query := func(q string) []series {
		resp, err := http.Get("http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		var r struct {
			Status string
			Data   struct{ Result []series }
		}
		if json.NewDecoder(resp.Body).Decode(&r) != nil || r.Status != "success" {
			return nil
		}
		return r.Data.Result
	}
	byJob := func(q string) map[string]series {
		m := map[string]series{}
		for _, s := range query(q) {
			m[s.Metric["job"]] = s
		}
		return m
	}
	poll(t, 60*time.Second, "Prometheus to scrape both modules", func() bool {
		return len(byJob("probe_success")) == 2
	})
	success := byJob("probe_success")
	for job, want := range map[string]string{"rdp_nla_logon": "1", "rdp_nla_logon_wrong": "0"} {
		if got := success[job].Value[1]; got != want {
			t.Errorf("probe_success{job=%q} = %v, want %s", job, got, want)
		}
		if inst := success[job].Metric["instance"]; inst != nla {
			t.Errorf("job %s: instance %q, want the target %q (relabelling)", job, inst, nla)
		}
	}
	classes := byJob("probe_rdp_result")
	for job, want := range map[string]string{"rdp_nla_logon": "ok", "rdp_nla_logon_wrong": "credentials_rejected_no_reason"} {
		if got := classes[job].Metric["class"]; got != want {
			t.Errorf("probe_rdp_result{job=%q}: class %q, want %q", job, got, want)
		}
	}
	if blocked := byJob("probe_rdp_logon_blocked"); blocked["rdp_nla_logon_wrong"].Value[1] != "1" || blocked["rdp_nla_logon"].Value[1] != "0" {
		t.Errorf("probe_rdp_logon_blocked: %v", blocked)
	}
	// However many scrapes Prometheus made, the wrong password went out once.
	_, metrics := get(t, exp.url+"/metrics")
	if !strings.Contains(metrics, `rdpprobe_logon_attempts_total{module="rdp_nla_logon_wrong"} 1`+"\n") {
		t.Errorf("logon attempts with the wrong password:\n%s", grepLines(metrics, "rdpprobe_logon_attempts_total"))
	}
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
