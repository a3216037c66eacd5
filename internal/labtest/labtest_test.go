package labtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// fakeTB records how a helper ended the test. Like testing.T, its Skip and Fatal
// stop the calling goroutine, so the helper must be run through call.
type fakeTB struct {
	testing.TB // the methods not overridden here are never called; a nil TB makes any call panic
	skipped    string
	fatal      string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// call runs fn with a fresh fakeTB in its own goroutine and returns the result, if fn returned.
func call(fn func(testing.TB) string) (f *fakeTB, result string, returned bool) {
	f = &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		result = fn(f)
		returned = true
	}()
	<-done
	return f, result, returned
}

// clearLabEnv makes the test see the lab's defaults, whatever `make test` exported, in a
// run that is not -short (TestShort sets it back).
func clearLabEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "RDPLAB_") {
			t.Setenv(k, "")
		}
	}
	t.Setenv("CI", "")
	setShort(t, false)
}

// setShort makes Peer and Tool see a -short run, or not, until the test ends.
func setShort(t *testing.T, v bool) {
	old := short
	short = func() bool { return v }
	t.Cleanup(func() { short = old })
}

// freePort returns a loopback address on which nothing listens.
func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestDefaults(t *testing.T) {
	clearLabEnv(t)
	f, got, returned := call(func(tb testing.TB) string { return Peer(tb, "closed") })
	if !returned || f.skipped != "" || f.fatal != "" {
		t.Fatalf("Peer(closed) must return without skipping: %+v", f)
	}
	if got != "127.0.0.1:33899" {
		t.Errorf("Peer(closed) = %q, want 127.0.0.1:33899", got)
	}
	// Every default is a loopback host:port, the one `lab/lab.sh env` prints.
	want := map[string]string{"nla": "33891", "nla6": "33891", "nla-ext": "33892", "tls": "33893",
		"rdp": "33894", "xrdp": "33895", "xrdp-rdp": "33896", "kdc": "33898", "closed": "33899"}
	for name, port := range want {
		host, p, err := net.SplitHostPort(defaults[name])
		if err != nil || p != port || !net.ParseIP(host).IsLoopback() {
			t.Errorf("default for %s = %q: want a loopback address on port %s (err %v)", name, defaults[name], port, err)
		}
	}
	if defaults["nla6"] != "[::1]:33891" {
		t.Errorf("nla6 default %q, want [::1]:33891", defaults["nla6"])
	}
	if len(defaults) != len(want) {
		t.Errorf("%d defaults, want %d", len(defaults), len(want))
	}
	if u, d, p := Account(); u != "labuser" || d != "LAB" || p != "Lab-Passw0rd!" {
		t.Errorf("Account() = %q %q %q", u, d, p)
	}
}

func TestEnvOverrides(t *testing.T) {
	clearLabEnv(t)
	t.Setenv("RDPLAB_XRDP_RDP", "127.0.0.1:1")
	t.Setenv("RDPLAB_USER", "bob")
	t.Setenv("RDPLAB_DOMAIN", "CORP")
	t.Setenv("RDPLAB_PASSWORD", "pw")
	if u, d, p := Account(); u != "bob" || d != "CORP" || p != "pw" {
		t.Errorf("Account() = %q %q %q", u, d, p)
	}
	// A peer that listens is returned as is.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	t.Setenv("RDPLAB_NLA_EXT", l.Addr().String())
	f, got, returned := call(func(tb testing.TB) string { return Peer(tb, "nla-ext") })
	if !returned || f.skipped != "" || f.fatal != "" || got != l.Addr().String() {
		t.Errorf("Peer(nla-ext) on a listening port: got %q, %+v", got, f)
	}
}

func TestNotListening(t *testing.T) {
	clearLabEnv(t)
	t.Setenv("RDPLAB_TLS", freePort(t))

	f, _, returned := call(func(tb testing.TB) string { return Peer(tb, "tls") })
	if returned || f.fatal != "" || !strings.Contains(f.skipped, "make lab-up") || !strings.Contains(f.skipped, "tls") {
		t.Errorf("without CI: want a skip naming the peer and `make lab-up`, got returned=%v %+v", returned, f)
	}

	t.Setenv("CI", "true")
	f, _, returned = call(func(tb testing.TB) string { return Peer(tb, "tls") })
	if returned || f.skipped != "" || !strings.Contains(f.fatal, "make lab-up") {
		t.Errorf("CI=true: want a fatal error, got returned=%v %+v", returned, f)
	}
}

func TestRejected(t *testing.T) {
	clearLabEnv(t)
	for _, tc := range []struct{ name, env, value string }{
		{"nosuchpeer", "", ""},
		{"rdp", "RDPLAB_RDP", "192.0.2.1:3389"}, // never dialled: not loopback
		{"rdp", "RDPLAB_RDP", "127.0.0.1"},      // no port
	} {
		if tc.env != "" {
			t.Setenv(tc.env, tc.value)
		}
		f, _, returned := call(func(tb testing.TB) string { return Peer(tb, tc.name) })
		if returned || f.fatal == "" {
			t.Errorf("Peer(%s) with %s=%q: want a fatal error, got returned=%v %+v", tc.name, tc.env, tc.value, returned, f)
		}
	}
}

func TestMissingTool(t *testing.T) {
	clearLabEnv(t)
	const name = "rdpprobe-labtest-no-such-tool"
	f, _, returned := call(func(tb testing.TB) string { return Tool(tb, name) })
	if returned || !strings.Contains(f.skipped, name) || !strings.Contains(f.skipped, "make lab-up") {
		t.Errorf("missing tool: want a skip, got returned=%v %+v", returned, f)
	}
	t.Setenv("CI", "true")
	f, _, returned = call(func(tb testing.TB) string { return Tool(tb, name) })
	if returned || f.fatal == "" {
		t.Errorf("missing tool under CI: want a fatal error, got returned=%v %+v", returned, f)
	}
	if p := Tool(t, "sh"); p == "" {
		t.Error("Tool(sh) returned no path")
	}
}

// TestShort checks that -short skips a peer that listens and a tool that exists, even
// under CI=true, and leaves "closed" alone: it needs no lab.
func TestShort(t *testing.T) {
	clearLabEnv(t)
	setShort(t, true)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	t.Setenv("RDPLAB_NLA_EXT", l.Addr().String())
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		f, _, returned := call(func(tb testing.TB) string { return Peer(tb, "nla-ext") })
		if returned || f.fatal != "" || !strings.Contains(f.skipped, "-short") || !strings.Contains(f.skipped, "nla-ext") {
			t.Errorf("CI=%q: Peer(nla-ext) on a listening port under -short: want a skip, got returned=%v %+v", ci, returned, f)
		}
		f, _, returned = call(func(tb testing.TB) string { return Tool(tb, "sh") })
		if returned || f.fatal != "" || !strings.Contains(f.skipped, "-short") {
			t.Errorf("CI=%q: Tool(sh) under -short: want a skip, got returned=%v %+v", ci, returned, f)
		}
		f, got, returned := call(func(tb testing.TB) string { return Peer(tb, "closed") })
		if !returned || f.skipped != "" || f.fatal != "" || got != "127.0.0.1:33899" {
			t.Errorf("CI=%q: Peer(closed) under -short: want the address, got %q returned=%v %+v", ci, got, returned, f)
		}
	}
	// A wrong address is still a failure: -short hides a missing lab, not a broken setting.
	t.Setenv("RDPLAB_RDP", "192.0.2.1:3389")
	if f, _, returned := call(func(tb testing.TB) string { return Peer(tb, "rdp") }); returned || f.fatal == "" {
		t.Errorf("Peer(rdp) off loopback under -short: want a fatal error, got returned=%v %+v", returned, f)
	}
}

// TestSubprocessPeer is run by TestRealTestingT in a child process, with a real *testing.T.
func TestSubprocessPeer(t *testing.T) {
	if os.Getenv("LABTEST_CHILD") != "1" {
		t.Skip("run by TestRealTestingT")
	}
	Peer(t, "nla")
	t.Log("LABTEST_CHILD: Peer returned")
}

// TestRealTestingT checks the behaviour with the real testing package: a skip
// without CI, a failure with CI=true, when the peer does not listen; a skip under
// -short, with CI=true too.
func TestRealTestingT(t *testing.T) {
	if os.Getenv("LABTEST_CHILD") == "1" {
		t.Skip("child")
	}
	port := freePort(t)
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "CI" && !strings.HasPrefix(k, "RDPLAB_") {
			env = append(env, kv)
		}
	}
	env = append(env, "LABTEST_CHILD=1", "RDPLAB_NLA="+port)
	// run starts the child with more variables (K=V) and flags (-test.*).
	run := func(extra ...string) (string, error) {
		args := []string{"-test.run=^TestSubprocessPeer$", "-test.v", "-test.count=1"}
		cmdEnv := append([]string{}, env...)
		for _, e := range extra {
			if strings.HasPrefix(e, "-test.") {
				args = append(args, e)
			} else {
				cmdEnv = append(cmdEnv, e)
			}
		}
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = cmdEnv
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := run()
	if err != nil || !strings.Contains(out, "--- SKIP: TestSubprocessPeer") || !strings.Contains(out, "make lab-up") ||
		strings.Contains(out, "Peer returned") {
		t.Errorf("without CI: want a skip, got err %v:\n%s", err, out)
	}
	out, err = run("CI=true")
	if err == nil || !strings.Contains(out, "--- FAIL: TestSubprocessPeer") || strings.Contains(out, "Peer returned") {
		t.Errorf("CI=true: want a failure, got err %v:\n%s", err, out)
	}
	out, err = run("CI=true", "-test.short")
	if err != nil || !strings.Contains(out, "--- SKIP: TestSubprocessPeer") || !strings.Contains(out, "-short") ||
		strings.Contains(out, "Peer returned") {
		t.Errorf("CI=true -short: want a skip, got err %v:\n%s", err, out)
	}
}
