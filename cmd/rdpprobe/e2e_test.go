package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rdpprobe/rdpprobe/internal/labtest"
)

// rdpprobe runs the command in-process and returns its exit code, stdout
// and stderr.
func rdpprobe(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, os.Stdin, &out, &errb)
	return code, out.String(), errb.String()
}

func jsonReport(t *testing.T, stdout string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout)
	}
	return m
}

// TestLabClasses runs the command against every lab peer and checks the
// class, the exit code and that the password never reaches the output.
func TestLabClasses(t *testing.T) {
	user, domain, password := labtest.Account()
	account := domain + `\` + user
	for _, tc := range []struct {
		name     string
		peer     string
		args     []string
		password string // "" for no credentials
		class    string
		phase    string
		exit     int
	}{
		{"nla info", "nla", nil, "", "ok", "ntlm_info", 0},
		{"nla info ipv6", "nla6", nil, "", "ok", "ntlm_info", 0},
		{"nla logon", "nla", []string{"-u", account}, password, "ok", "logon", 0},
		{"nla logon upn-less", "nla", []string{"-u", "alice"}, password, "ok", "logon", 0},
		{"nla wrong password", "nla", []string{"-u", account}, password + "-wrong", "credentials_rejected_no_reason", "logon", 5},
		{"nla unknown user", "nla", []string{"-u", domain + `\nobody`}, password, "credentials_rejected_no_reason", "logon", 5},
		{"nla offered tls only", "nla", []string{"--protocols", "tls"}, "", "nla_required", "negotiate", 4},
		{"nla offered rdp only", "nla", []string{"--protocols", "rdp"}, "", "nla_required", "negotiate", 4},
		{"tls-only with credentials", "tls", []string{"-u", account}, password, "credentials_not_verified", "tls", 1},
		{"tls-only without credentials", "tls", nil, "", "ok", "tls", 0},
		{"tls-only offered nla only", "tls", []string{"--protocols", "nla"}, "", "tls_required", "negotiate", 4},
		{"rdp-only", "rdp", nil, "", "tls_not_allowed", "negotiate", 4},
		{"rdp-only offered rdp with credentials", "rdp", []string{"--protocols", "rdp", "-u", account}, password, "credentials_not_verified", "negotiate", 1},
		{"xrdp offered nla only", "xrdp", []string{"--protocols", "nla"}, "", "security_layer_mismatch", "negotiate", 4},
		{"xrdp with credentials", "xrdp", []string{"-u", account}, password, "credentials_not_verified", "tls", 1},
		// --depth session: FreeRDP passes licensing (valid client) and sends
		// the Demand Active without judging the Client Info's password;
		// xrdp asks for a license; after NLA the session starts cleanly.
		{"tls-only session with credentials", "tls", []string{"-u", account, "--depth", "session"}, password, "credentials_not_verified", "session", 1},
		{"tls-only session without credentials", "tls", []string{"--depth", "session"}, "", "ok", "session", 0},
		{"xrdp session", "xrdp", []string{"--protocols", "tls", "--depth", "session"}, "", "ok", "session", 0},
		{"nla session", "nla", []string{"-u", account, "--depth", "session"}, password, "ok", "session", 0},
		// Standard RDP security to the Demand Active: FreeRDP at level None,
		// xrdp at High (128-bit RC4).
		{"rdp-only session", "rdp", []string{"--protocols", "rdp", "--depth", "session"}, "", "ok", "session", 0},
		{"xrdp-rdp session", "xrdp-rdp", []string{"--protocols", "rdp", "--depth", "session"}, "", "ok", "session", 0},
		{"xrdp-rdp offered tls,nla", "xrdp-rdp", nil, "", "security_layer_mismatch", "negotiate", 4},
		{"nla-ext refuses an offer that includes what it demands", "nla-ext", nil, "", "refusal_contradicts_offer", "negotiate", 4},
		{"closed port", "closed", nil, "", "tcp_refused", "connect", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := labtest.Peer(t, tc.peer)
			if tc.password != "" {
				t.Setenv(passwordEnv, tc.password)
			}
			args := append([]string{"--output", "json", addr}, tc.args...)
			code, stdout, stderr := rdpprobe(t, args...)
			m := jsonReport(t, stdout)
			if m["class"] != tc.class || m["phase"] != tc.phase || code != tc.exit {
				t.Fatalf("got class %v phase %v exit %d, want %s %s %d\n%s%s", m["class"], m["phase"], code, tc.class, tc.phase, tc.exit, stdout, stderr)
			}
			if tc.password != "" && (strings.Contains(stdout, tc.password) || strings.Contains(stderr, tc.password)) {
				t.Fatal("the password appears in the output")
			}
		})
	}
}

func TestLabNTLMInfoShown(t *testing.T) {
	code, stdout, _ := rdpprobe(t, "--no-color", labtest.Peer(t, "nla"))
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stdout)
	}
	for _, want := range []string{"OK ok", "Server       VM in domain VM, OS version 6.1.7601", "no logon was tried", "PROTOCOL_HYBRID"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("text output lacks %q:\n%s", want, stdout)
		}
	}
	_, stdout, _ = rdpprobe(t, "--no-color", "-v", labtest.Peer(t, "nla"))
	for _, want := range []string{"NTLM         computer VM, domain VM", "OS version 6.1.7601", "Timings", "CredSSP      server version"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("-v output lacks %q:\n%s", want, stdout)
		}
	}
}

// TestLabBriefText: a wrong password's verdict fits an 80x24 screen, its
// FAIL line first, wrapped at spaces; -v is today's whole form.
func TestLabBriefText(t *testing.T) {
	user, domain, password := labtest.Account()
	nla := labtest.Peer(t, "nla")
	t.Setenv(passwordEnv, password+"-wrong")
	t.Setenv("COLUMNS", "80")
	code, brief, _ := rdpprobe(t, nla, "-u", domain+`\`+user)
	lines := strings.Split(strings.TrimSuffix(brief, "\n"), "\n")
	if code != 5 || len(lines) > 20 || !strings.HasPrefix(lines[0], "FAIL credentials_rejected_no_reason") {
		t.Fatalf("exit %d, %d lines:\n%s", code, len(lines), brief)
	}
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("a line of %d columns: %q", n, l)
		}
	}
	if !strings.Contains(brief, "  Fix: Check the password") || !strings.Contains(brief, "rdpprobe -v") || strings.Contains(brief, "Windows says:") {
		t.Errorf("the brief form:\n%s", brief)
	}
	_, verbose, _ := rdpprobe(t, nla, "-u", domain+`\`+user, "--verbose")
	if !strings.Contains(verbose, "Windows says:") || !strings.Contains(verbose, "Timings") || strings.Count(verbose, "\n") <= len(lines) {
		t.Errorf("-v is not the whole form:\n%s", verbose)
	}
	for _, l := range strings.Split(verbose, "\n") {
		if n := utf8.RuneCountInString(l); n > 80 && strings.Contains(l, " ") && len(strings.Fields(l)) > 2 {
			t.Errorf("-v wraps no line of %d columns: %q", n, l)
		}
	}
}

func TestLabPasswordFile(t *testing.T) {
	user, domain, password := labtest.Account()
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(passwordEnv, "not-this-one")
	code, stdout, _ := rdpprobe(t, "--output", "json", "--password-file", pw, "-u", domain+`\`+user, labtest.Peer(t, "nla"))
	if m := jsonReport(t, stdout); code != 0 || m["class"] != "ok" || m["logon_attempted"] != true {
		t.Fatalf("exit %d\n%s", code, stdout)
	}
}

// nagiosLine checks a --nagios run's output: exactly one line on stdout,
// under 200 characters, with the exit code its state names.
func nagiosLine(t *testing.T, args ...string) (int, string) {
	t.Helper()
	code, stdout, _ := rdpprobe(t, args...)
	states := map[int]string{0: "RDP OK - ", 1: "RDP WARNING - ", 2: "RDP CRITICAL - ", 3: "RDP UNKNOWN - "}
	if strings.Count(stdout, "\n") != 1 || !strings.HasSuffix(stdout, "\n") || len(stdout) > 200 ||
		!strings.HasPrefix(stdout, states[code]) || strings.Count(stdout, "|") > 1 {
		t.Errorf("%q: exit %d, stdout %q", args, code, stdout)
	}
	return code, strings.TrimSuffix(stdout, "\n")
}

func TestLabNagios(t *testing.T) {
	nla, tls := labtest.Peer(t, "nla"), labtest.Peer(t, "tls")
	user, domain, password := labtest.Account()
	for _, tc := range []struct {
		args     []string
		password string
		code     int
		want     []string
	}{
		{[]string{"--protocols", "tls", nla}, "", 2, []string{"RDP CRITICAL - nla_required:", "negotiate="}},
		{[]string{nla}, "", 0, []string{"RDP OK - ok:", "| time=", " connect=", "ms negotiate=", " tls=", " ntlm_info=", " cert_days=", ";30;0"}},
		// A TLS-only server works, and anyone reaches its sign-in screen.
		{[]string{tls}, "", 1, []string{"RDP WARNING - ok: nla not enforced;"}},
		{[]string{tls, "-u", domain + `\` + user}, password, 1, []string{"RDP WARNING - credentials_not_verified:"}},
		{[]string{nla, "-u", domain + `\` + user}, password + "-wrong", 2, []string{"RDP CRITICAL - credentials_rejected_no_reason:", " logon="}},
		{[]string{nla, "--cert-warn-days", "100000"}, "", 1, []string{"RDP WARNING - ok: certificate expires in", ";100000;0"}},
		{[]string{nla, "--cert-warn-days", "100000", "--cert-crit-days", "99999"}, "", 2, []string{"RDP CRITICAL - ok: certificate expires in"}},
	} {
		if tc.password != "" {
			t.Setenv(passwordEnv, tc.password)
		}
		code, line := nagiosLine(t, append([]string{"--nagios"}, tc.args...)...)
		if code != tc.code {
			t.Errorf("%q: exit %d, want %d: %s", tc.args, code, tc.code, line)
		}
		for _, w := range tc.want {
			if !strings.Contains(line, w) {
				t.Errorf("%q: %q lacks %q", tc.args, line, w)
			}
		}
	}
}

// TestNagiosEveryExitPath: with --nagios, usage errors too end in one
// UNKNOWN line and exit 3, whichever check stops the run.
func TestNagiosEveryExitPath(t *testing.T) {
	os.Unsetenv(passwordEnv)
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	for _, args := range [][]string{
		{"--nagios"},
		{"--nagios", "a", "b"},
		{"--bogus", "--nagios", "h"},
		{"--nagios", "--bogus", "h"},
		{"--nagios=true", "--depth", "deep", "h"},
		{"--nagios", "--protocols", "kerberos", "h"},
		{"--nagios", "--output", "xml", "h"},
		{"--nagios", "h:99999"},
		{"--nagios", "--password-file", "/nonexistent", "h"},
		{"--nagios", "--password-file", "/nonexistent", "-u", "x", "h"},
		{"--nagios", "--cert-warn-days", "-1", "h"},
		{"--nagios", "--timeout", "soon", "h"},
	} {
		var out, errb bytes.Buffer
		code := run(args, devnull, &out, &errb)
		line := out.String()
		if code != 3 || strings.Count(line, "\n") != 1 || !strings.HasPrefix(line, "RDP UNKNOWN - usage: ") || len(line) > 200 || errb.Len() == 0 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, line, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"--nagios", "-u", "x", "h"}, devnull, &out, &errb); code != 3 || !strings.HasPrefix(out.String(), "RDP UNKNOWN - usage: no password") {
		t.Errorf("-u without a password: exit %d, %q", code, out.String())
	}
	// Without --nagios a usage error prints nothing on stdout.
	if code, stdout, _ := rdpprobe(t, "--bogus", "h"); code != exitUsage || stdout != "" {
		t.Errorf("usage error without --nagios: exit %d, stdout %q", code, stdout)
	}
	code, line := nagiosLine(t, "--nagios", labtest.Peer(t, "closed"))
	if code != 2 || !strings.HasPrefix(line, "RDP CRITICAL - tcp_refused: ") || !strings.Contains(line, "| time=") {
		t.Errorf("closed port: exit %d, %q", code, line)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Setenv(passwordEnv, "")
	os.Unsetenv(passwordEnv)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "need exactly one target"},
		{[]string{"a", "b"}, "need exactly one target"},
		{[]string{"--protocols", "kerberos", "h"}, "unknown protocol"},
		{[]string{"--output", "xml", "h"}, "--output"},
		{[]string{"--depth", "deep", "h"}, "unknown phase"},
		{[]string{"h:99999"}, "port"},
		{[]string{"--password-file", "/nonexistent", "h"}, "needs -u"},
		{[]string{"--password", "x", "h"}, "unknown flag"},
		{[]string{"--timeout", "0s", "h"}, "--timeout must be positive, not 0s"},
		{[]string{"--timeout", "-1s", "h"}, "--timeout must be positive, not -1s"},
		{[]string{"--phase-timeout", "0", "h"}, "--phase-timeout must be positive, not 0s"},
		{[]string{"--phase-timeout", "-5s", "h"}, "--phase-timeout must be positive, not -5s"},
		{[]string{"--autologon-without-nla", "--depth", "session", "h"}, "--autologon-without-nla needs -u and --depth session"},
		{[]string{"--autologon-without-nla", "-u", "x", "h"}, "--autologon-without-nla needs -u and --depth session"},
	} {
		code, _, stderr := rdpprobe(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
	// -u without any password source and no terminal: refuse, don't hang.
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	var out, errb bytes.Buffer
	if code := run([]string{"-u", "x", "h"}, devnull, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), passwordEnv) {
		t.Errorf("-u without password: exit %d, %q", code, errb.String())
	}
}
