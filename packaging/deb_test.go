// Package packaging holds the files the release and the Debian package are
// made of (the build script, the systemd units, the packaged config); its
// test builds the .deb with `make deb`, the way a release does, installs it
// into a scratch root with dpkg, and checks what an admin would get.
package packaging

import (
	"bytes"
	"context"
	"debug/elf"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// need returns the path of a tool the test cannot do without, or skips.
func need(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: %v (CI=true)", name, err)
		}
		t.Skipf("%s: %v", name, err)
	}
	return p
}

func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestDeb builds the .deb for this machine's architecture with make deb and
// checks it: the package's fields and files, a static binary stamped with
// the version, an install and a purge with dpkg into a scratch root, the
// installed config, man page and completions, the systemd units (verified
// by systemd-analyze, exposure scored), and socket activation as the
// socket unit does it.
func TestDeb(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a release binary and a package: not under -short")
	}
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skipf("the .deb is for linux/amd64 and linux/arm64, this is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	for _, tool := range []string{"make", "dpkg-deb", "dpkg", "gzip", "sha256sum"} {
		need(t, tool)
	}
	repo, _ := filepath.Abs("..")
	dist := t.TempDir()
	const version = "v1.2.3-rc.1"
	arch := runtime.GOARCH
	run(t, repo, nil, "make", "deb", "DIST="+dist, "BIN="+filepath.Join(dist, "host-rdpprobe"), "VERSION="+version, "DEB_ARCHES="+arch)
	deb := filepath.Join(dist, "rdpprobe_1.2.3~rc.1_"+arch+".deb")

	info := run(t, "", nil, "dpkg-deb", "--info", deb)
	for _, want := range []string{"Package: rdpprobe", "Version: 1.2.3~rc.1", "Architecture: " + arch, "conffiles"} {
		if !strings.Contains(info, want) {
			t.Errorf("dpkg-deb --info lacks %q:\n%s", want, info)
		}
	}
	contents := run(t, "", nil, "dpkg-deb", "--contents", deb)
	for _, f := range []string{"./usr/bin/rdpprobe", "./usr/share/man/man1/rdpprobe.1.gz", "./lib/systemd/system/rdpprobe.service",
		"./lib/systemd/system/rdpprobe-socket.service", "./lib/systemd/system/rdpprobe.socket", "./etc/rdpprobe/rdpprobe.yml",
		"./etc/default/rdpprobe", "./usr/share/bash-completion/completions/rdpprobe", "./usr/share/zsh/vendor-completions/_rdpprobe",
		"./usr/share/fish/vendor_completions.d/rdpprobe.fish", "./usr/share/doc/rdpprobe/copyright"} {
		if !regexp.MustCompile(`(?m)^\S+ root/root .* ` + regexp.QuoteMeta(f) + `$`).MatchString(contents) {
			t.Errorf("the package lacks %s (owned by root):\n%s", f, contents)
		}
	}

	// Installed into a scratch root: dpkg's own database, the maintainer
	// scripts run without a chroot and see DPKG_ROOT (so they leave this
	// machine's systemd alone).
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644)
	dpkg := []string{"--root=" + root, "--force-not-root", "--force-script-chrootless", "--log=/dev/null"}
	run(t, "", nil, "dpkg", append(dpkg, "--install", deb)...)
	if st := run(t, "", nil, "dpkg-query", "--root="+root, "-W", "-f=${Status} ${Version}", "rdpprobe"); st != "install ok installed 1.2.3~rc.1" {
		t.Errorf("dpkg-query: %q", st)
	}

	bin := filepath.Join(root, "usr/bin/rdpprobe")
	checkStatic(t, bin)
	if v := run(t, "", nil, bin, "--version"); !strings.HasPrefix(v, "rdpprobe "+version+" (") {
		t.Errorf("--version: %q", v)
	}
	conf := filepath.Join(root, "etc/rdpprobe/rdpprobe.yml")
	if out := run(t, "", nil, bin, "serve", "--config", conf, "--config.check"); !strings.Contains(out, "2 module(s), OK") || strings.Contains(out, "warning") {
		t.Errorf("the packaged config: %q", out)
	}
	if bash, err := exec.LookPath("bash"); err == nil {
		run(t, "", nil, bash, "-n", filepath.Join(root, "usr/share/bash-completion/completions/rdpprobe"))
	}
	if man, err := exec.LookPath("man"); err == nil {
		page := run(t, "", []string{"MANWIDTH=80", "MANPAGER=cat", "PAGER=cat"}, man, "-l", filepath.Join(root, "usr/share/man/man1/rdpprobe.1.gz"))
		if !strings.Contains(page, "rdpprobe serve") || !strings.Contains(page, version) {
			t.Errorf("man -l of the installed page:\n%.1500s", page)
		}
	}
	checkUnits(t, filepath.Join(root, "lib/systemd/system"), bin)
	checkSocketActivation(t, bin, conf)

	// A purge takes the package and its conffiles away.
	run(t, "", nil, "dpkg", append(dpkg, "--purge", "rdpprobe")...)
	for _, f := range []string{"usr/bin/rdpprobe", "etc/rdpprobe/rdpprobe.yml", "lib/systemd/system/rdpprobe.service"} {
		if _, err := os.Stat(filepath.Join(root, f)); !os.IsNotExist(err) {
			t.Errorf("%s is still there after the purge", f)
		}
	}
}

// checkStatic: the binary has no program interpreter (no dynamic loader,
// no libc): it runs in a FROM scratch image and on any Linux.
func checkStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s is dynamically linked", path)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s links %v", path, libs)
	}
}

// checkUnits verifies the installed units with systemd-analyze (as this
// machine's systemd would load them, the binary where it was installed)
// and checks their hardening.
func checkUnits(t *testing.T, dir, bin string) {
	t.Helper()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	service, socketService, socket := read("rdpprobe.service"), read("rdpprobe-socket.service"), read("rdpprobe.socket")
	for _, want := range []string{"DynamicUser=yes", "ProtectSystem=strict", "CapabilityBoundingSet=\n", "AmbientCapabilities=\n",
		"NoNewPrivileges=yes", "EnvironmentFile=-/etc/default/rdpprobe", "ExecStart=/usr/bin/rdpprobe serve --config=/etc/rdpprobe/rdpprobe.yml $ARGS"} {
		if !strings.Contains(service, want) {
			t.Errorf("rdpprobe.service lacks %q", want)
		}
	}
	if !strings.Contains(socketService, "--web.systemd-socket $ARGS") || !strings.Contains(socketService, "Requires=rdpprobe.socket") ||
		!strings.Contains(socket, "ListenStream=9883") || !strings.Contains(socket, "Service=rdpprobe-socket.service") {
		t.Errorf("the socket units:\n%s\n%s", socketService, socket)
	}
	// The two services differ only where the socket does.
	strip := regexp.MustCompile(`(?m)^(#.*|Description=.*|Requires=.*|After=rdpprobe.socket|Conflicts=.*|ExecStart=.*|\[Install\]|WantedBy=.*)\n`)
	if a, b := strip.ReplaceAllString(service, ""), strip.ReplaceAllString(socketService, ""); a != b {
		t.Errorf("the services' hardening differs:\n%s\n---\n%s", a, b)
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Logf("no systemd-analyze: the units are not verified")
		return
	}
	vdir := t.TempDir()
	var units []string
	for _, name := range []string{"rdpprobe.service", "rdpprobe-socket.service", "rdpprobe.socket"} {
		text := strings.ReplaceAll(read(name), "/usr/bin/rdpprobe", bin)
		os.WriteFile(filepath.Join(vdir, name), []byte(text), 0o644)
		units = append(units, "./"+name)
	}
	out, err := runIn(vdir, analyze, append([]string{"verify", "--man=no"}, units...)...)
	if err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, _ = runIn(vdir, analyze, "security", "--offline=true", "./rdpprobe.service")
	m := regexp.MustCompile(`Overall exposure level for rdpprobe.service: ([0-9.]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Logf("systemd-analyze security gave no score:\n%s", out)
		return
	}
	if score, _ := strconv.ParseFloat(m[1], 64); score > 2.0 {
		t.Errorf("exposure %s, want at most 2.0:\n%s", m[1], out)
	}
	t.Logf("systemd-analyze security: exposure %s", m[1])
}

func runIn(dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// checkSocketActivation starts the installed binary as rdpprobe.socket
// would: the listening socket as descriptor 3, LISTEN_FDS=1 and LISTEN_PID
// its own PID (the shell's, which exec keeps), and --web.systemd-socket.
func checkSocketActivation(t *testing.T, bin, conf string) {
	t.Helper()
	sh := need(t, "sh")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lf, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the child holds the socket now, through lf
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, sh, "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" serve --config "$1" --web.systemd-socket`, bin, conf)
	cmd.ExtraFiles = []*os.File{lf}
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lf.Close()
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	var body string
	for i := 0; i < 50; i++ {
		resp, err := http.Get("http://" + addr + "/-/healthy")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if body != "Healthy\n" {
		t.Fatalf("no answer on the inherited socket %s: %q\n%s", addr, body, logs.String())
	}
	resp, err := http.Get("http://" + addr + "/probe?target=h:99999")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "port") {
		t.Errorf("/probe without module= (rdp_nla_info) of a bad target: %d %q", resp.StatusCode, b)
	}
}
