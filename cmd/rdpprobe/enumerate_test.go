package main

import (
	"context"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/internal/labtest"
)

// layer returns security_layers[name] of a JSON report.
func layer(t *testing.T, m map[string]any, name string) map[string]any {
	t.Helper()
	layers, _ := m["security_layers"].(map[string]any)
	l, ok := layers[name].(map[string]any)
	if !ok {
		t.Fatalf("security_layers has no %s: %v", name, m["security_layers"])
	}
	return l
}

func meaningIDs(m map[string]any) []string {
	var ids []string
	list, _ := m["security_meaning"].([]any)
	for _, f := range list {
		ids = append(ids, f.(map[string]any)["id"].(string))
	}
	return ids
}

// TestLabEnumerateCommand: --enumerate adds the map to both outputs and
// leaves the class and exit code to the normal probe.
func TestLabEnumerateCommand(t *testing.T) {
	for _, tc := range []struct {
		peer     string
		accepted []string // the PROTOCOL_* names accepted
		meaning  []string
		class    string
		exit     int
	}{
		{"nla", []string{"PROTOCOL_HYBRID"}, []string{"nla_enforced", "no_early_user_authorization"}, "ok", 0},
		{"tls", []string{"PROTOCOL_SSL"}, []string{"tls_without_nla", "nla_unavailable"}, "ok", 0},
		// SSL_REQUIRED_BY_SERVER to a request that offered TLS: the server's fault.
		{"nla-ext", nil, []string{"layers_none_accepted"}, "refusal_contradicts_offer", 4},
		{"rdp", []string{"PROTOCOL_RDP"}, []string{"standard_rdp_security", "weak_rdp_encryption", "nla_unavailable"}, "tls_not_allowed", 4},
		{"xrdp", []string{"PROTOCOL_RDP", "PROTOCOL_SSL"}, []string{"tls_without_nla", "standard_rdp_security", "nla_unavailable", "selected_other_protocol"}, "ok", 0},
		{"closed", nil, []string{"layers_no_answer"}, "tcp_refused", 3},
	} {
		t.Run(tc.peer, func(t *testing.T) {
			addr := labtest.Peer(t, tc.peer)
			code, stdout, stderr := rdpprobe(t, "--enumerate", "--output", "json", addr)
			m := jsonReport(t, stdout)
			if m["class"] != tc.class || code != tc.exit {
				t.Fatalf("class %v exit %d, want %s %d\n%s", m["class"], code, tc.class, tc.exit, stderr)
			}
			for _, name := range []string{"PROTOCOL_RDP", "PROTOCOL_SSL", "PROTOCOL_HYBRID", "PROTOCOL_HYBRID_EX", "PROTOCOL_RDSTLS", "PROTOCOL_RDSAAD"} {
				want := false
				for _, a := range tc.accepted {
					want = want || a == name
				}
				if got := layer(t, m, name)["accepted"]; got != want {
					t.Errorf("%s accepted %v, want %v", name, got, want)
				}
			}
			if got := meaningIDs(m); strings.Join(got, ",") != strings.Join(tc.meaning, ",") {
				t.Errorf("meaning %v, want %v", got, tc.meaning)
			}
			_, hasEnc := m["rdp_encryption"]
			if wantEnc := len(tc.accepted) > 0 && tc.accepted[0] == "PROTOCOL_RDP"; hasEnc != wantEnc {
				t.Errorf("rdp_encryption present %v, want %v", hasEnc, wantEnc)
			}

			// The text form: the table, then the normal verdict.
			code, text, _ := rdpprobe(t, "--enumerate", "--no-color", addr)
			if code != tc.exit {
				t.Errorf("text: exit %d, want %d", code, tc.exit)
			}
			table := regexp.MustCompile(`(?m)^  PROTOCOL_HYBRID +(yes|no) +(.+)$`).FindStringSubmatch(text)
			if tc.peer == "closed" { // no table: see TestEnumerateClosedSaysItOnce
				table = []string{"", "no", ""}
			}
			if table == nil {
				t.Fatalf("no PROTOCOL_HYBRID row in\n%s", text)
			}
			if want := map[bool]string{true: "yes", false: "no"}[layer(t, m, "PROTOCOL_HYBRID")["accepted"] == true]; table[1] != want {
				t.Errorf("text says HYBRID accepted %q, JSON says %q", table[1], want)
			}
			if i, j := strings.Index(text, "Security layers"), strings.Index(text, tc.class); i != 0 || j < i {
				t.Errorf("want the map first, then the verdict:\n%s", text)
			}
		})
	}
}

// TestNmapEnumEncryptionFalsePositive documents why --enumerate exists:
// nmap's rdp-enum-encryption counts any RDP_NEG_RSP as success, so it
// reports "CredSSP (NLA): SUCCESS" for xrdp (which selects PROTOCOL_RDP or
// PROTOCOL_SSL instead) and for FreeRDP's TLS-only server. rdpprobe must say
// PROTOCOL_HYBRID is not accepted, and what the server actually said. If a
// later nmap gets it right, the test still checks rdpprobe's side and logs
// that nmap agrees.
func TestNmapEnumEncryptionFalsePositive(t *testing.T) {
	nmap := labtest.Tool(t, "nmap")
	for _, tc := range []struct {
		peer string
		said string // rdpprobe's server_said for PROTOCOL_HYBRID
	}{
		{"xrdp", "selected PROTOCOL_RDP"},
		{"tls", "SSL_REQUIRED_BY_SERVER"},
	} {
		t.Run(tc.peer, func(t *testing.T) {
			addr := labtest.Peer(t, tc.peer)
			host, port, _ := strings.Cut(addr, ":")
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			// "+" runs the script on a port nmap does not take for RDP.
			out, err := exec.CommandContext(ctx, nmap, "-Pn", "-n", "-p", port, "--script", "+rdp-enum-encryption", host).CombinedOutput()
			if err != nil {
				t.Fatalf("nmap: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "rdp-enum-encryption") {
				t.Fatalf("nmap did not run the script:\n%s", out)
			}
			nmapSaysNLA := strings.Contains(string(out), "CredSSP (NLA): SUCCESS")

			_, stdout, _ := rdpprobe(t, "--enumerate", "--output", "json", addr)
			l := layer(t, jsonReport(t, stdout), "PROTOCOL_HYBRID")
			if l["accepted"] != false || l["server_said"] != tc.said {
				t.Fatalf("rdpprobe: PROTOCOL_HYBRID accepted %v, server said %q; want not accepted, %q", l["accepted"], l["server_said"], tc.said)
			}
			if nmapSaysNLA {
				t.Logf("nmap claims \"CredSSP (NLA): SUCCESS\" for %s; the server said %q to PROTOCOL_HYBRID (false positive, as expected)", tc.peer, tc.said)
			} else {
				t.Logf("nmap no longer claims CredSSP for %s: it agrees with rdpprobe now\n%s", tc.peer, out)
			}
		})
	}
}

func TestEnumerateHelp(t *testing.T) {
	_, stdout, _ := rdpprobe(t, "--help")
	for _, want := range []string{"--enumerate", "rdpprobe host --enumerate", "security_layers"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}

// TestEnumerateClosedSaysItOnce: on a closed port the map says once that
// nothing answers, instead of a table of six refusals and a meaning that
// repeats them.
func TestEnumerateClosedSaysItOnce(t *testing.T) {
	code, stdout, _ := rdpprobe(t, "--enumerate", "--no-color", labtest.Peer(t, "closed"))
	if code != 3 || strings.Count(stdout, "connection refused") != 1 || strings.Contains(stdout, "PROTOCOL_SSL") ||
		!strings.Contains(stdout, "Nothing answers") {
		t.Errorf("exit %d:\n%s", code, stdout)
	}
}
