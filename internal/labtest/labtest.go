// Package labtest connects integration tests to the lab of real RDP servers that
// lab/lab.sh runs on loopback (`make lab-up`).
//
// Addresses come from the RDPLAB_* variables that `lab/lab.sh env` prints, or the
// lab's defaults. Under `go test -short` every test that asks for a peer or a tool
// is skipped, whether the lab is up or not, so that the quick run never depends on
// it. Otherwise a test whose peer or tool is missing is skipped with a hint to
// start the lab — except under CI=true, where a missing lab is a failure, so that
// CI (which never passes -short) can never pass by skipping every integration test.
package labtest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// The lab's defaults (lab/lab.sh with RDPLAB_BASE_PORT unset).
var defaults = map[string]string{
	"nla":      "127.0.0.1:33891",
	"nla6":     "[::1]:33891",
	"nla-ext":  "127.0.0.1:33892",
	"tls":      "127.0.0.1:33893",
	"rdp":      "127.0.0.1:33894",
	"xrdp":     "127.0.0.1:33895",
	"xrdp-rdp": "127.0.0.1:33896",
	"closed":   "127.0.0.1:33899",
}

const (
	defaultUser     = "labuser"
	defaultDomain   = "LAB"
	defaultPassword = "Lab-Passw0rd!"
)

// dialTimeout bounds the check that a peer listens; loopback answers at once.
const dialTimeout = 3 * time.Second

// underCI tells whether a missing lab must fail the test rather than skip it.
func underCI() bool {
	switch strings.ToLower(os.Getenv("CI")) {
	case "true", "1", "yes":
		return true
	}
	return false
}

// short reports whether the run is `go test -short`; the package's own tests replace it to
// check both ways within one run.
var short = testing.Short

// skipIfShort skips a test that needs the lab when the run is `go test -short`.
func skipIfShort(t testing.TB, what string) {
	t.Helper()
	if short() {
		t.Skipf("%s: the lab is not used under -short", what)
	}
}

// The make targets that provide a peer and a tool: the servers come with lab-up, the tools some
// tests drive (chromium, prometheus, zsh, fish) with lab-tools.
const (
	peerHint = "make lab-up"
	toolHint = "make lab-up lab-tools"
)

// unavailable skips the test, or fails it under CI; hint is the make command that provides
// what is missing.
func unavailable(t testing.TB, hint, format string, args ...any) {
	t.Helper()
	if underCI() {
		t.Fatalf(format+" (CI=true: the lab must be up; run `"+hint+"`)", args...)
	}
	t.Skipf(format+"; run `"+hint+"` to set up the lab", args...)
}

// envName is the variable that overrides a peer's address: "xrdp-rdp" → RDPLAB_XRDP_RDP.
func envName(peer string) string {
	return "RDPLAB_" + strings.ToUpper(strings.ReplaceAll(peer, "-", "_"))
}

// Peer returns the address of a lab peer ("nla", "nla6", "nla-ext", "tls", "rdp",
// "xrdp", "xrdp-rdp", "closed"), from RDPLAB_* env vars or the lab's defaults.
// Under -short it calls t.Skip for every peer but "closed" (an address where nothing
// listens, which needs no lab). If the peer is not listening, it calls t.Skip with
// a message saying to run `make lab-up` — unless CI=true, where it calls t.Fatal.
//
// The address must be on loopback: the lab never runs anywhere else, and tests
// must not send traffic off this machine.
func Peer(t testing.TB, name string) string {
	t.Helper()
	def, ok := defaults[name]
	if !ok {
		t.Fatalf("labtest: unknown lab peer %q", name)
	}
	addr := def
	if v := strings.TrimSpace(os.Getenv(envName(name))); v != "" {
		addr = v
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		t.Fatalf("labtest: %s=%q is not host:port: %v", envName(name), addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		t.Fatalf("labtest: %s=%q is not a loopback address; the lab only runs on loopback", envName(name), addr)
	}
	if name == "closed" {
		return addr
	}
	skipIfShort(t, "lab peer "+name)
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		unavailable(t, peerHint, "lab peer %s (%s) is not listening: %v", name, addr, err)
		return addr // reached only with a testing.TB whose Skip does not stop the test
	}
	c.Close()
	return addr
}

// Account returns the lab account: user, domain, password (env RDPLAB_USER,
// RDPLAB_DOMAIN, RDPLAB_PASSWORD, or the lab's defaults LAB\labuser and
// Lab-Passw0rd!). The lab also has the domain-less account "alice" with the
// same password.
func Account() (user, domain, password string) {
	get := func(key, def string) string {
		if v := os.Getenv(key); v != "" {
			return v
		}
		return def
	}
	return get("RDPLAB_USER", defaultUser), get("RDPLAB_DOMAIN", defaultDomain), get("RDPLAB_PASSWORD", defaultPassword)
}

type toolResult struct {
	path string
	err  string
}

var (
	toolMu    sync.Mutex
	toolCache = map[string]toolResult{}
)

// Tool returns the path of an external tool the lab installs: "xfreerdp",
// "nmap", "tshark", or "python3" (also "impacket": Debian's /usr/bin/python3,
// checked to import impacket), and those of `lab/lab.sh tools`: "chromium",
// "prometheus", "promtool", "zsh", "fish". Any other name is looked up in PATH. Like Peer, it
// skips the test under -short, and a missing tool skips the test (fails it under
// CI=true).
func Tool(t testing.TB, name string) string {
	t.Helper()
	skipIfShort(t, "tool "+name)
	toolMu.Lock()
	r, ok := toolCache[name]
	if !ok {
		r = findTool(name)
		toolCache[name] = r
	}
	toolMu.Unlock()
	if r.err != "" {
		unavailable(t, toolHint, "tool %s: %s", name, r.err)
		return r.path
	}
	return r.path
}

func findTool(name string) toolResult {
	switch name {
	case "python3", "impacket":
		// Not the first python3 in PATH (a pyenv one, say): impacket is Debian's package.
		const py = "/usr/bin/python3"
		if _, err := os.Stat(py); err != nil {
			return toolResult{err: err.Error()}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, py, "-c", "import impacket").CombinedOutput(); err != nil {
			return toolResult{err: "impacket does not import in " + py + ": " + strings.TrimSpace(string(out))}
		}
		return toolResult{path: py}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return toolResult{err: err.Error()}
	}
	return toolResult{path: p}
}
