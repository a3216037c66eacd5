package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/internal/labtest"
)

// labPeers are the lab's servers a sweep visits.
var labPeers = []string{"nla", "nla6", "nla-ext", "tls", "rdp", "xrdp", "xrdp-rdp", "closed"}

// readJSONL returns the lines of a sweep's JSONL, each validated against
// docs/result.schema.json.
func readJSONL(t *testing.T, path string) []map[string]any {
	t.Helper()
	schema := loadSchema(t)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var v any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s:%d: not JSON: %v", path, n, err)
		}
		if errs := validate(schema, v, "$"); len(errs) > 0 {
			t.Fatalf("%s:%d does not match the schema:\n%s", path, n, strings.Join(errs, "\n"))
		}
		out = append(out, v.(map[string]any))
	}
	return out
}

func classCounts(lines []map[string]any) map[string]int {
	m := map[string]int{}
	for _, l := range lines {
		m[l["class"].(string)]++
	}
	return m
}

// TestLabSweep is the "done when": a /24 of loopback addresses where
// nothing listens plus every lab peer, in all three formats.
func TestLabSweep(t *testing.T) {
	var addrs []string
	want := map[string]int{"tcp_refused": 256}
	for _, p := range labPeers {
		addr := labtest.Peer(t, p)
		addrs = append(addrs, addr)
		// The sweep must say what a single run says.
		_, stdout, _ := rdpprobe(t, "--output", "json", addr)
		want[jsonReport(t, stdout)["class"].(string)]++
	}
	dir := t.TempDir()
	jsonl, csvPath, html := filepath.Join(dir, "r.jsonl"), filepath.Join(dir, "r.csv"), filepath.Join(dir, "r.html")
	args := append([]string{"sweep", "127.0.1.0/24", "--rate", "2000/s", "-c", "32", "-o", jsonl, "-o", csvPath, "-o", html}, addrs...)
	code, stdout, stderr := rdpprobe(t, args...)
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	total := 256 + len(addrs)

	lines := readJSONL(t, jsonl)
	if len(lines) != total {
		t.Fatalf("%d JSONL lines, want %d", len(lines), total)
	}
	got := classCounts(lines)
	if got["tcp_refused"] != 256+1 || got["ok"] < 3 { // the closed peer refuses too; nla, nla6, tls at least are ok
		t.Errorf("classes %v", got)
	}
	for class, n := range want {
		if got[class] != n {
			t.Errorf("class %s: %d hosts, want %d (all: %v)", class, got[class], n, got)
		}
	}
	seen := map[string]bool{}
	for _, l := range lines {
		target := l["target"].(string)
		if seen[target] {
			t.Errorf("%s twice", target)
		}
		seen[target] = true
		if target == addrs[0] && (l["class"] != "ok" || l["phase"] != "ntlm_info") {
			t.Errorf("the NLA peer: %v at %v", l["class"], l["phase"])
		}
	}
	if !strings.Contains(stderr, "264 probed of 264 targets") || !strings.Contains(stderr, "tcp_refused 257") {
		t.Errorf("summary on stderr: %q", stderr)
	}

	f, _ := os.Open(csvPath)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != total+1 || rows[0][0] != "target" {
		t.Fatalf("CSV: %d rows, %v", len(rows), err)
	}

	page, _ := os.ReadFile(html)
	for class, n := range want {
		if !bytes.Contains(page, []byte(`data-class="`+class+`" data-count="`+itoa(n)+`"`)) {
			t.Errorf("HTML lacks the count %d of %s", n, class)
		}
	}
	if bytes.Contains(page, []byte(`id="partial"`)) {
		t.Error("a complete sweep is marked partial")
	}
	checkInBrowser(t, html, total)
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// checkInBrowser renders the report in headless Chromium: the DOM after
// its script ran (sorting by the URL's #sort=), and a screenshot whose
// pixels must show the page's own colours (so its CSS applied).
func checkInBrowser(t *testing.T, html string, rows int) {
	t.Helper()
	chromium := labtest.Tool(t, "chromium")
	run := func(args ...string) []byte {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir=" + t.TempDir(), "--window-size=1280,2000"}
		cmd := exec.CommandContext(ctx, chromium, append(base, args...)...)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("chromium %v: %v\n%s", args, err, errb.String())
		}
		return out
	}
	dom := string(run("--dump-dom", "file://"+html+"#sort=target-desc"))
	table := regexp.MustCompile(`<table id="hosts"[^>]*>`).FindString(dom)
	for _, want := range []string{`data-js="ready"`, `data-sorted="target-desc"`, `data-rows="` + itoa(rows) + `"`} {
		if !strings.Contains(table, want) {
			t.Errorf("rendered table %q lacks %s", table, want)
		}
	}
	// The script sorted the rows: their keys now descend.
	var keys []string
	for _, m := range regexp.MustCompile(`<tr data-target="[^"]*">\s*<td class="mono" data-v="([^"]*)"`).FindAllStringSubmatch(dom, -1) {
		keys = append(keys, m[1])
	}
	if len(keys) != rows || !slices.IsSortedFunc(keys, func(a, b string) int { return strings.Compare(b, a) }) {
		t.Errorf("%d rows in the DOM, descending: %v", len(keys), slices.IsSortedFunc(keys, func(a, b string) int { return strings.Compare(b, a) }))
	}
	if !strings.Contains(dom, `id="counts"`) || !strings.Contains(dom, "tcp_refused") {
		t.Error("the counts table is not in the DOM")
	}

	shot := filepath.Join(t.TempDir(), "report.png")
	run("--screenshot="+shot, "file://"+html)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 2000 {
		t.Fatalf("screenshot is %v", b)
	}
	// The badges' colours: ok green and unreachable grey (style.css).
	colours := map[[3]uint32]int{{0x2e, 0x7d, 0x32}: 0, {0x6b, 0x72, 0x80}: 0}
	inked := 0
	for y := 0; y < 2000; y += 2 {
		for x := 0; x < 1280; x += 2 {
			r, g, b, _ := img.At(x, y).RGBA()
			c := [3]uint32{r >> 8, g >> 8, b >> 8}
			if _, ok := colours[c]; ok {
				colours[c]++
			}
			if c != [3]uint32{255, 255, 255} {
				inked++
			}
		}
	}
	for c, n := range colours {
		if n < 20 {
			t.Errorf("the screenshot has %d pixels of #%02x%02x%02x: the badges did not render", n, c[0], c[1], c[2])
		}
	}
	if inked < 20000 {
		t.Errorf("the screenshot is nearly blank (%d inked samples)", inked)
	}
	if os.Getenv("RDPPROBE_KEEP_SCREENSHOT") != "" {
		data, _ := os.ReadFile(shot)
		os.WriteFile(os.Getenv("RDPPROBE_KEEP_SCREENSHOT"), data, 0o644)
	}
}

func TestLabSweepResume(t *testing.T) {
	nla, tls, rdp := labtest.Peer(t, "nla"), labtest.Peer(t, "tls"), labtest.Peer(t, "rdp")
	dir := t.TempDir()
	jsonl := filepath.Join(dir, "r.jsonl")
	if code, _, stderr := rdpprobe(t, "sweep", "-o", jsonl, nla, "127.0.1.1-2"); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	// A sweep killed mid-write leaves half a line; resume repairs it.
	f, _ := os.OpenFile(jsonl, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"schema_version":1,"class":"ok","tar`)
	f.Close()
	html := filepath.Join(dir, "r.html")
	code, _, stderr := rdpprobe(t, "sweep", "--resume", jsonl, "-o", html, nla, tls, rdp, "127.0.1.1-2")
	if code != 0 || !strings.Contains(stderr, "2 probed, 3 done before (resumed) of 5 targets") {
		t.Fatalf("resumed run: exit %d\n%s", code, stderr)
	}
	lines := readJSONL(t, jsonl)
	var targets []string
	for _, l := range lines {
		targets = append(targets, l["target"].(string))
	}
	slices.Sort(targets)
	want := slices.Sorted(slices.Values([]string{nla, tls, rdp, "127.0.1.1:3389", "127.0.1.2:3389"}))
	if !slices.Equal(targets, want) {
		t.Fatalf("resume file has %q, want %q", targets, want)
	}
	// The HTML of the resumed run covers the whole sweep.
	page, _ := os.ReadFile(html)
	if !bytes.Contains(page, []byte(`<table id="hosts" data-rows="5">`)) {
		t.Error("the resumed run's HTML does not list all five targets")
	}
}

// TestLabSweepLockout logs on with a wrong password: after
// --max-logon-failures the remaining hosts get no logon, and the reports
// say why.
func TestLabSweepLockout(t *testing.T) {
	user, domain, password := labtest.Account()
	nla, nla6 := labtest.Peer(t, "nla"), labtest.Peer(t, "nla6")
	t.Setenv(passwordEnv, password+"-wrong")
	dir := t.TempDir()
	jsonl, html := filepath.Join(dir, "r.jsonl"), filepath.Join(dir, "r.html")
	code, _, stderr := rdpprobe(t, "sweep", "-u", domain+`\`+user, "--max-logon-failures", "1", "-c", "8",
		"-o", jsonl, "-o", html, nla, nla6)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	lines := readJSONL(t, jsonl)
	attempted := 0
	for _, l := range lines {
		if l["logon_attempted"] == true {
			attempted++
			if l["group"] != "authentication" {
				t.Errorf("wrong password gave %v", l["class"])
			}
		} else if l["class"] != "ok" || l["phase"] != "ntlm_info" {
			t.Errorf("the host after the cap: %v at %v, want ok at ntlm_info", l["class"], l["phase"])
		}
	}
	if attempted != 1 || len(lines) != 2 {
		t.Fatalf("%d logons in %d lines, want 1 in 2", attempted, len(lines))
	}
	if !strings.Contains(stderr, "logons stopped: 1 failed logons reached --max-logon-failures 1") {
		t.Errorf("stderr does not say why logons stopped:\n%s", stderr)
	}
	if strings.Contains(stderr, password) {
		t.Error("the password is on stderr")
	}
	page, _ := os.ReadFile(html)
	if !bytes.Contains(page, []byte(`id="logons-stopped"`)) || bytes.Contains(page, []byte(password)) {
		t.Error("the HTML does not say logons stopped, or shows the password")
	}

	// The right password: both hosts (127.0.0.1 and ::1) log on once.
	t.Setenv(passwordEnv, password)
	code, stdout, stderr := rdpprobe(t, "sweep", "-u", domain+`\`+user, nla, nla6)
	if code != 0 || strings.Count(stdout, `"logon_attempted":true`) != 2 || strings.Count(stdout, `"class":"ok"`) != 2 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// TestFlagValueErrors pins whole messages: the flag's name comes from the
// command, once, the rest from the parser below it (sweep --phases once
// printed "%!w(<nil>)").
func TestFlagValueErrors(t *testing.T) {
	const phases = "(use connect, negotiate, tls, kerberos, ntlm_info, logon, session)"
	const sweepHelp, help = "\nRun 'rdpprobe sweep --help' for usage.\n", "\nRun 'rdpprobe --help' for usage.\n"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sweep", "--phases", "bogus", "h"}, `rdpprobe sweep: --phases: unknown phase "bogus" ` + phases + sweepHelp},
		{[]string{"sweep", "--phases", "tls,bogus", "h"}, `rdpprobe sweep: --phases: unknown phase "bogus" ` + phases + sweepHelp},
		{[]string{"--depth", "bogus", "h"}, `rdpprobe: --depth: unknown phase "bogus" ` + phases + help},
		{[]string{"--protocols", "kerberos", "h"}, `rdpprobe: --protocols: unknown protocol "kerberos" (use rdp, tls, nla, nla-ext)` + help},
		{[]string{"sweep", "--protocols", ",", "h"}, `rdpprobe sweep: --protocols: offer at least one of rdp, tls, nla, nla-ext` + sweepHelp},
		{[]string{"sweep", "--rate", "fast", "h"}, `rdpprobe sweep: --rate: unknown rate "fast" (use N/s, N/m or N/h, e.g. 200/s)` + sweepHelp},
		{[]string{"sweep", "--rate", "5/d", "h"}, `rdpprobe sweep: --rate: rate "5/d": unit must be s, m or h` + sweepHelp},
		{[]string{"sweep", "--ports", "0", "h"}, `rdpprobe sweep: --ports: port "0": must be 1-65535` + sweepHelp},
		{[]string{"sweep", "--ports", "3390-3389", "h"}, `rdpprobe sweep: --ports: range "3390-3389" runs backwards` + sweepHelp},
		{[]string{"--auth", "spnego", "h"}, `rdpprobe: --auth: unknown mechanism "spnego" (use negotiate, kerberos or ntlm)` + help},
		{[]string{"sweep", "--auth", "krb", "h"}, `rdpprobe sweep: --auth: unknown mechanism "krb" (use negotiate, kerberos or ntlm)` + sweepHelp},
		{[]string{"--kdc", "sctp/dc01", "h"}, `rdpprobe: --kdc: krb5: KDC address "sctp/dc01" is not HOST[:PORT]` + help},
		{[]string{"--auth", "ntlm", "--realm", "CORP", "h"}, `rdpprobe: --auth ntlm: --realm, --kdc, --spn and --ccache are for Kerberos` + help},
		{[]string{"--auth", "kerberos", "h"}, `rdpprobe: --auth kerberos needs -u (and a password) or a ticket cache (--ccache or $KRB5CCNAME)` + help},
	} {
		code, stdout, stderr := rdpprobe(t, tc.args...)
		if code != exitUsage || stderr != tc.want || stdout != "" {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
}

func TestSweepUsageErrors(t *testing.T) {
	os.Unsetenv(passwordEnv)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(bad, []byte("10.0.0.1\n10.0.0.999\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sweep"}, "no targets"},
		{[]string{"sweep", "10.0.0.0/8"}, "--max-targets"},
		{[]string{"sweep", "2001:db8::/64"}, "at most /112"},
		{[]string{"sweep", bad}, "bad.txt:2: target \"10.0.0.999\""},
		{[]string{"sweep", "--ports", "0", "h"}, "--ports"},
		{[]string{"sweep", "--rate", "fast", "h"}, "--rate"},
		{[]string{"sweep", "--phases", "deep", "h"}, "--phases"},
		{[]string{"sweep", "--output", "xml", "h"}, "--output"},
		{[]string{"sweep", "-o", filepath.Join(dir, "r.txt"), "h"}, "cannot tell the format"},
		{[]string{"sweep", "--max-logon-failures", "0", "h"}, "at least 1"},
		{[]string{"sweep", "--password-file", "/nonexistent", "h"}, "needs -u"},
		{[]string{"sweep", "--phases", "logon", "h"}, "needs -u"},
		{[]string{"sweep", "--password", "x", "h"}, "unknown flag"},
		{[]string{"sweep", "--timeout", "0s", "h"}, "--timeout and --phase-timeout must be positive"},
		{[]string{"sweep", "--phase-timeout", "-1s", "h"}, "--timeout and --phase-timeout must be positive"},
		{[]string{"sweep", "--autologon-without-nla", "--phases", "session", "h"}, "--autologon-without-nla needs -u and --phases session"},
		{[]string{"sweep", "--autologon-without-nla", "-u", "x", "h"}, "--autologon-without-nla needs -u and --phases session"},
	} {
		code, stdout, stderr := rdpprobe(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) || stdout != "" {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
}
