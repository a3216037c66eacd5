package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	for _, want := range []string{"OK ok", "NTLM", "OS version 6.1.7601", "no logon was tried", "PROTOCOL_HYBRID"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("text output lacks %q:\n%s", want, stdout)
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
	code, stdout, _ := rdpprobe(t, "-o", "json", "--password-file", pw, "-u", domain+`\`+user, labtest.Peer(t, "nla"))
	if m := jsonReport(t, stdout); code != 0 || m["class"] != "ok" || m["logon_attempted"] != true {
		t.Fatalf("exit %d\n%s", code, stdout)
	}
}

func TestLabNagios(t *testing.T) {
	code, stdout, _ := rdpprobe(t, "--nagios", "--protocols", "tls", labtest.Peer(t, "nla"))
	if code != 2 || !strings.HasPrefix(stdout, "RDP CRITICAL - nla_required:") {
		t.Fatalf("exit %d, %q", code, stdout)
	}
	code, stdout, _ = rdpprobe(t, "--nagios", labtest.Peer(t, "nla"))
	if code != 0 || !strings.HasPrefix(stdout, "RDP OK - ok:") {
		t.Fatalf("exit %d, %q", code, stdout)
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

func TestHelpTeaches(t *testing.T) {
	code, _, stderr := rdpprobe(t, "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"--user", "--password-file", "RDPPROBE_PASSWORD", "--protocols", "--timeout", "Exit codes", "Examples"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}
