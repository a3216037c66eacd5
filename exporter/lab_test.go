package exporter

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rdpprobe/rdpprobe/internal/labtest"
)

// countingProxy forwards TCP connections to upstream and counts them. With a
// logon-only module each connection is one logon attempt at the server.
type countingProxy struct {
	ln    net.Listener
	conns atomic.Int64
	wg    sync.WaitGroup
}

func newCountingProxy(t *testing.T, upstream string) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ln: ln}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.conns.Add(1)
			p.wg.Go(func() {
				defer c.Close()
				u, err := net.Dial("tcp", upstream)
				if err != nil {
					return
				}
				defer u.Close()
				done := make(chan struct{}, 2)
				go func() { io.Copy(u, c); done <- struct{}{} }()
				go func() { io.Copy(c, u); done <- struct{}{} }()
				<-done // either side closing ends both
			})
		}
	})
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *countingProxy) addr() string { return p.ln.Addr().String() }

// labExporter serves the real probe and classifier with the given config.
func labExporter(t *testing.T, yaml string, files map[string]string) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		writeFile(t, dir, name, content, 0o600)
	}
	cfg, err := Parse([]byte(yaml), dir, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(cfg, Options{}).Handler())
	t.Cleanup(srv.Close)
	return srv
}

func scrapeURL(t *testing.T, base, target, module string) map[string]string {
	t.Helper()
	resp, err := httpGet(base + "/probe?target=" + url.QueryEscape(target) + "&module=" + module)
	if err != nil {
		t.Fatal(err)
	}
	return samples(resp)
}

// TestLabLockout: against the lab's NLA server, a wrong password produces
// exactly one logon attempt however many scrapes come, concurrent or not;
// the right one logs on once per cache TTL.
func TestLabLockout(t *testing.T) {
	nla := labtest.Peer(t, "nla")
	user, domain, password := labtest.Account()
	wrong := newCountingProxy(t, nla)
	good := newCountingProxy(t, nla)
	srv := labExporter(t, `
modules:
  wrong:
    phases: [connect, negotiate, tls, ntlm_info, logon]
    credentials: {user: '`+domain+`\`+user+`', password_file: wrong.pw}
  good:
    phases: [connect, negotiate, tls, ntlm_info, logon]
    credentials: {user: '`+domain+`\`+user+`', password_file: good.pw}
`, map[string]string{"wrong.pw": password + "-wrong\n", "good.pw": password + "\n"})

	var (
		mu      sync.Mutex
		results []map[string]string
		wg      sync.WaitGroup
	)
	for range 10 {
		wg.Go(func() {
			m := scrapeURL(t, srv.URL, wrong.addr(), "wrong")
			mu.Lock()
			results = append(results, m)
			mu.Unlock()
		})
	}
	wg.Wait()
	for range 10 {
		results = append(results, scrapeURL(t, srv.URL, wrong.addr(), "wrong"))
	}
	if n := wrong.conns.Load(); n != 1 {
		t.Fatalf("20 scrapes with a wrong password made %d connections (logon attempts) to the server, want exactly 1", n)
	}
	for _, m := range results {
		wantSample(t, m, "probe_success", "0")
		wantSample(t, m, `probe_rdp_result{class="credentials_rejected_no_reason"}`, "1")
		wantSample(t, m, "probe_rdp_logon_blocked", "1")
	}

	for i := range 5 {
		m := scrapeURL(t, srv.URL, good.addr(), "good")
		wantSample(t, m, "probe_success", "1")
		wantSample(t, m, `probe_rdp_result{class="ok"}`, "1")
		wantSample(t, m, "probe_rdp_logon_blocked", "0")
		if i == 0 {
			wantSample(t, m, "probe_rdp_logon_cache_age_seconds", "0")
		}
	}
	if n := good.conns.Load(); n != 1 {
		t.Fatalf("5 scrapes with the right password within the cache TTL made %d logons, want 1", n)
	}
}

// TestLabModules: the classes and metrics of real servers.
func TestLabModules(t *testing.T) {
	srv := labExporter(t, `
modules:
  info:
    phases: [connect, negotiate, tls, ntlm_info]
  nla_enforced:
    phases: [connect, negotiate]
    protocols: [tls]
    expect_class: [nla_required]
  cert_required:
    phases: [connect, negotiate, tls]
    require_trusted_cert: true
`, nil)
	for _, tc := range []struct {
		peer, module string
		want         map[string]string
		present      []string
	}{
		{"nla", "info", map[string]string{"probe_success": "1", `probe_rdp_result{class="ok"}`: "1", "probe_rdp_negotiated_protocol": "2"},
			[]string{"probe_ssl_earliest_cert_expiry", "probe_rdp_credssp_version", `probe_rdp_phase_duration_seconds{phase="ntlm_info"}`, "probe_rdp_ntlm_info{"}},
		{"nla6", "info", map[string]string{"probe_success": "1", `probe_rdp_result{class="ok"}`: "1"}, nil},
		{"nla", "nla_enforced", map[string]string{"probe_success": "1", `probe_rdp_result{class="nla_required"}`: "1"}, nil},
		{"tls", "nla_enforced", map[string]string{"probe_success": "0"}, nil},
		{"tls", "info", map[string]string{"probe_success": "1", `probe_rdp_result{class="ok"}`: "1", "probe_rdp_negotiated_protocol": "1"},
			[]string{"probe_ssl_earliest_cert_expiry", "probe_tls_version_info{"}},
		{"closed", "info", map[string]string{"probe_success": "0", `probe_rdp_result{class="tcp_refused"}`: "1"}, nil},
		// FreeRDP's self-signed certificate: refused, its metrics kept.
		{"tls", "cert_required", map[string]string{"probe_success": "0", `probe_rdp_result{class="cert_not_trusted"}`: "1", "probe_rdp_cert_trusted": "0"},
			[]string{"probe_ssl_earliest_cert_expiry", "probe_ssl_last_chain_expiry_timestamp_seconds", `probe_ssl_last_chain_info{fingerprint_sha256="`}},
		{"nla", "info", map[string]string{"probe_rdp_cert_trusted": "0"}, []string{`probe_ssl_last_chain_info{`}},
	} {
		t.Run(tc.peer+"/"+tc.module, func(t *testing.T) {
			m := scrapeURL(t, srv.URL, labtest.Peer(t, tc.peer), tc.module)
			for k, v := range tc.want {
				wantSample(t, m, k, v)
			}
			for _, prefix := range tc.present {
				found := false
				for k := range m {
					found = found || strings.HasPrefix(k, prefix)
				}
				if !found {
					t.Errorf("no %s in %v", prefix, m)
				}
			}
		})
	}
}

func httpGet(u string) (string, error) {
	resp, err := http.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", u, resp.Status, b)
	}
	return string(b), err
}
