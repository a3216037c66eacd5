package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
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
	groups := map[string]string{"tcp_refused": "unreachable"}
	for _, p := range labPeers {
		addr := labtest.Peer(t, p)
		addrs = append(addrs, addr)
		// The sweep must say what a single run says.
		_, stdout, _ := rdpprobe(t, "--output", "json", addr)
		rep := jsonReport(t, stdout)
		want[rep["class"].(string)]++
		groups[rep["class"].(string)] = rep["group"].(string)
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
	// The finding groups a manager asks for first: who lets anyone reach a
	// sign-in screen, and who speaks only standard RDP security.
	for id, members := range map[string][]string{
		"nla_not_enforced":  {labtest.Peer(t, "tls"), labtest.Peer(t, "rdp"), labtest.Peer(t, "xrdp"), labtest.Peer(t, "xrdp-rdp")},
		"standard_rdp_only": {labtest.Peer(t, "rdp"), labtest.Peer(t, "xrdp-rdp")},
	} {
		group := regexp.MustCompile(`(?s)<details id="finding-` + id + `"[^>]*>.*?</details>`).Find(page)
		for _, m := range members {
			if !bytes.Contains(group, []byte(`<span class="mono t">`+m+`</span>`)) {
				t.Errorf("finding group %s lacks %s:\n%s", id, m, group)
			}
		}
	}
	checkInBrowser(t, html, total, groups)
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// The width the manager reads the report at.
const browserWidth, browserHeight = 1400, 2000

// runChromium runs headless Chromium on a page at browserWidth.
func runChromium(t *testing.T, args ...string) []byte {
	t.Helper()
	chromium := labtest.Tool(t, "chromium")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--force-device-scale-factor=1", "--user-data-dir=" + t.TempDir(), fmt.Sprintf("--window-size=%d,%d", browserWidth, browserHeight)}
	cmd := exec.CommandContext(ctx, chromium, append(base, args...)...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, errb.String())
	}
	return out
}

// layoutProbe measures the report as Chromium lays it out: whether the
// host table scrolls sideways, the words of the Findings and Logon columns
// and of the finding groups that wrap inside themselves, and each class
// bar's fill and middle. The test adds it to a copy of the page, with its
// hash in the copy's Content-Security-Policy; the report itself has no
// such script.
const layoutProbe = `(function(){
var b=document.body,sc=document.querySelector(".scroll"),t=document.getElementById("hosts");
b.setAttribute("data-hscroll",sc.scrollWidth>sc.clientWidth+1?"yes":"no");
b.setAttribute("data-widths",Math.round(t.getBoundingClientRect().width)+"/"+sc.scrollWidth+"/"+sc.clientWidth);
var broken=[],cols=[],cells=[].slice.call(document.querySelectorAll("ul.members li"));
[].forEach.call(t.tHead.rows[0].cells,function(th,i){var k=th.getAttribute("data-key");if(k==="findings"||k==="logon")cols.push(i);});
[].forEach.call(t.tBodies[0].rows,function(r){cols.forEach(function(i){cells.push(r.cells[i]);});});
cells.forEach(function(el){
 var w=document.createTreeWalker(el,NodeFilter.SHOW_TEXT),n;
 while((n=w.nextNode())){var re=/\S+/g,m;while((m=re.exec(n.data))){
  var r=document.createRange();r.setStart(n,m.index);r.setEnd(n,m.index+m[0].length);
  var tops={},rs=r.getClientRects();for(var i=0;i<rs.length;i++)tops[Math.round(rs[i].top)]=1;
  if(Object.keys(tops).length>1)broken.push(m[0]);}}
});
b.setAttribute("data-broken",broken.join(" "));
var bars=[];
document.querySelectorAll("#counts tr[data-class]").forEach(function(tr){
 var f=tr.querySelector("rect.fill"),r=f.getBoundingClientRect();
 bars.push(tr.getAttribute("data-class")+"="+getComputedStyle(f).fill+"@"+Math.round(r.left+Math.min(r.width,4)/2)+","+Math.round(r.top+r.height/2));
});
b.setAttribute("data-bars",bars.join(";"));
})();`

// measure renders a copy of the page with layoutProbe and returns the
// body's data-* attributes.
func measure(t *testing.T, html string) map[string]string {
	t.Helper()
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(layoutProbe))
	hash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	copied := strings.Replace(string(page), "script-src ", "script-src "+hash+" ", 1)
	copied = strings.Replace(copied, "</body>", "<script>"+layoutProbe+"</script>\n</body>", 1)
	probed := filepath.Join(t.TempDir(), "measured.html")
	os.WriteFile(probed, []byte(copied), 0o644)
	dom := string(runChromium(t, "--dump-dom", "file://"+probed))
	body := regexp.MustCompile(`<body[^>]*>`).FindString(dom)
	attrs := map[string]string{}
	for _, m := range regexp.MustCompile(`data-([a-z]+)="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		attrs[m[1]] = m[2]
	}
	if _, ok := attrs["hscroll"]; !ok {
		t.Fatalf("the layout probe did not run:\n%s", body)
	}
	return attrs
}

// checkLayout: at 1400 px the host table needs no sideways scroll and no
// word of the findings or the logon notes is broken across lines.
func checkLayout(t *testing.T, attrs map[string]string) {
	t.Helper()
	if attrs["hscroll"] != "no" {
		t.Errorf("the host table scrolls sideways at %d px (table/content/visible %s)", browserWidth, attrs["widths"])
	}
	if attrs["broken"] != "" {
		t.Errorf("words broken across lines: %s", attrs["broken"])
	}
}

// groupFill is each group's bar colour (style of sweep/html.go).
var groupFill = map[string][3]uint32{
	"ok": {0x2e, 0x7d, 0x32}, "unverified": {0xb7, 0x79, 0x1f}, "unreachable": {0x6b, 0x72, 0x80}, "negotiation": {0xc2, 0x41, 0x0c},
	"authentication": {0xb9, 0x1c, 0x1c}, "server": {0x7c, 0x3a, 0xed}, "protocol": {0x37, 0x41, 0x51},
}

// checkInBrowser renders the report in headless Chromium at 1400 px: the
// DOM after its script ran (sorting by the URL's #sort=), the layout (see
// checkLayout), and a screenshot whose pixels must show the page's own
// colours (so its CSS applied) and each class's bar in its group's colour.
func checkInBrowser(t *testing.T, html string, rows int, groups map[string]string) {
	t.Helper()
	dom := string(runChromium(t, "--dump-dom", "file://"+html+"#sort=target-desc"))
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

	attrs := measure(t, html)
	checkLayout(t, attrs)

	shot := filepath.Join(t.TempDir(), "report.png")
	runChromium(t, "--screenshot="+shot, "file://"+html)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != browserWidth || b.Dy() != browserHeight {
		t.Fatalf("screenshot is %v", b)
	}
	rgb := func(x, y int) [3]uint32 {
		r, g, b, _ := img.At(x, y).RGBA()
		return [3]uint32{r >> 8, g >> 8, b >> 8}
	}
	// The badges' colours: ok green and unreachable grey (style.css).
	colours := map[[3]uint32]int{groupFill["ok"]: 0, groupFill["unreachable"]: 0}
	inked := 0
	for y := 0; y < browserHeight; y += 2 {
		for x := 0; x < browserWidth; x += 2 {
			c := rgb(x, y)
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
	// Each class's bar, in the screenshot, is its group's colour (they
	// were all green once, unreachable included).
	bars := map[string]bool{}
	for _, bar := range strings.Split(attrs["bars"], ";") {
		m := regexp.MustCompile(`^([a-z_]+)=.*@(\d+),(\d+)$`).FindStringSubmatch(bar)
		if m == nil {
			t.Errorf("bar %q", bar)
			continue
		}
		class, x, y := m[1], atoi(m[2]), atoi(m[3])
		group, ok := groups[class]
		if !ok {
			continue
		}
		bars[group] = true
		if got, want := rgb(x, y), groupFill[group]; got != want {
			t.Errorf("the bar of %s (group %s) at %d,%d is #%02x%02x%02x, want #%02x%02x%02x", class, group, x, y, got[0], got[1], got[2], want[0], want[1], want[2])
		}
	}
	if !bars["ok"] || !bars["unreachable"] || !bars["negotiation"] {
		t.Errorf("bars seen for groups %v; want ok, unreachable and negotiation at least", bars)
	}
	if os.Getenv("RDPPROBE_KEEP_SCREENSHOT") != "" {
		data, _ := os.ReadFile(shot)
		os.WriteFile(os.Getenv("RDPPROBE_KEEP_SCREENSHOT"), data, 0o644)
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

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
	// With logon notes in the Logon column, the table still fits.
	checkLayout(t, measure(t, html))

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
	const phasesNote = "Flag --phases has been deprecated, " + deprecatedPhases + "\n"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sweep", "--depth", "bogus", "h"}, `rdpprobe sweep: --depth: unknown phase "bogus" ` + phases + sweepHelp},
		{[]string{"sweep", "--phases", "bogus", "h"}, phasesNote + `rdpprobe sweep: --phases: unknown phase "bogus" ` + phases + sweepHelp},
		{[]string{"sweep", "--phases", "tls,bogus", "h"}, phasesNote + `rdpprobe sweep: --phases: unknown phase "bogus" ` + phases + sweepHelp},
		{[]string{"sweep", "--phases", "tls", "--depth", "tls", "h"}, phasesNote + `rdpprobe sweep: --phases is the old name of --depth: give --depth only` + sweepHelp},
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
		{[]string{"sweep", "--depth", "deep", "h"}, "--depth"},
		{[]string{"sweep", "--output", "xml", "h"}, "--output"},
		{[]string{"sweep", "-o", filepath.Join(dir, "r.txt"), "h"}, "cannot tell the format"},
		{[]string{"sweep", "--max-logon-failures", "0", "h"}, "at least 1"},
		{[]string{"sweep", "--password-file", "/nonexistent", "h"}, "needs -u"},
		{[]string{"sweep", "--depth", "logon", "h"}, "needs -u"},
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

// TestOldSpellings: the names one release deprecates still work, with a
// note on standard error that names the new one.
func TestOldSpellings(t *testing.T) {
	closed := labtest.Peer(t, "closed")
	code, stdout, stderr := rdpprobe(t, "-o", "json", closed)
	if code != 3 || jsonReport(t, stdout)["class"] != "tcp_refused" || !strings.Contains(stderr, "Flag shorthand -o has been deprecated, use --output") {
		t.Errorf("-o json: exit %d, stderr %q", code, stderr)
	}
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, _, stderr = rdpprobe(t, "sweep", "--phases", "connect,negotiate", "-o", out, closed)
	lines := readJSONL(t, out)
	if code != 0 || len(lines) != 1 || !strings.Contains(stderr, "Flag --phases has been deprecated, use --depth") {
		t.Errorf("sweep --phases: exit %d, %d lines, stderr %q", code, len(lines), stderr)
	}
}
