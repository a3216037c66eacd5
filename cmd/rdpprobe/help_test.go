package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rdpprobe/rdpprobe/internal/cli"
	"github.com/rdpprobe/rdpprobe/internal/labtest"
	"github.com/rdpprobe/rdpprobe/probe"
)

// allCommands are the command names help knows, the root first.
func allCommands() []string {
	names := []string{""}
	return append(names, commandNames()...)
}

// TestHelp: every command's help goes to standard output, fits 80
// columns, names every visible flag, and is the same whether asked with
// --help, -h or rdpprobe help COMMAND.
func TestHelp(t *testing.T) {
	tr := tree()
	for _, name := range allCommands() {
		t.Run("rdpprobe "+name, func(t *testing.T) {
			var args []string
			if name != "" {
				args = append(args, name)
			}
			code, stdout, stderr := rdpprobe(t, append(args, "--help")...)
			if code != 0 || stderr != "" || stdout == "" {
				t.Fatalf("--help: exit %d, stderr %q, %d bytes on stdout", code, stderr, len(stdout))
			}
			for i, line := range strings.Split(stdout, "\n") {
				if n := utf8.RuneCountInString(line); n > 80 {
					t.Errorf("line %d is %d columns: %q", i+1, n, line)
				}
			}
			_, short, _ := rdpprobe(t, append(args, "-h")...)
			_, viaHelp, _ := rdpprobe(t, append([]string{"help"}, args...)...)
			if short != stdout || viaHelp != stdout {
				t.Error("-h or rdpprobe help gives another text than --help")
			}
			c := tr
			if name != "" {
				c = tr.Lookup(name)
			}
			for _, f := range tr.FlagNames()[c.Name] {
				if !strings.Contains(stdout, "--"+f+" ") && !strings.Contains(stdout, "--"+f+"\n") {
					t.Errorf("help lacks --%s", f)
				}
			}
		})
	}
}

func TestHelpListsCommandsFirst(t *testing.T) {
	_, stdout, _ := rdpprobe(t, "--help")
	lines := strings.Split(stdout, "\n")
	i := slices.Index(lines, "Commands:")
	if i < 0 || i > 8 {
		t.Fatalf("no Commands: near the top:\n%s", stdout)
	}
	// serve and sweep first, one line each, then the rest.
	for j, name := range []string{"serve", "sweep", "report", "completion", "man", "help"} {
		if l := lines[i+1+j]; !strings.HasPrefix(l, "  "+name+" ") {
			t.Errorf("line %d of the command list is %q, want %s", j+1, l, name)
		}
	}
	for _, want := range []string{"--user", "--password-file", "RDPPROBE_PASSWORD", "--protocols", "--timeout", "Exit codes", "Examples",
		"rdpprobe host --enumerate", "security_layers"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}

func TestHelpCommandErrors(t *testing.T) {
	code, stdout, stderr := rdpprobe(t, "help", "swep")
	if code != exitUsage || stdout != "" || !strings.Contains(stderr, `did you mean "sweep"?`) {
		t.Errorf("help swep: exit %d, %q", code, stderr)
	}
	code, _, stderr = rdpprobe(t, "completion", "tcsh")
	if code != exitUsage || !strings.Contains(stderr, "bash, zsh, fish") {
		t.Errorf("completion tcsh: exit %d, %q", code, stderr)
	}
}

// TestFlagTypos: a mistyped flag names the one meant.
func TestFlagTypos(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--protocol", "tls", "h"}, "unknown flag: --protocol\n  did you mean --protocols?"},
		{[]string{"--nagio", "h"}, "did you mean --nagios?"},
		{[]string{"--enum", "h"}, "did you mean --enumerate?"},
		{[]string{"-timeout", "5s", "h"}, "did you mean --timeout? (long flags take two dashes)"},
		{[]string{"--concurrency", "5", "h"}, "--concurrency is a flag of 'rdpprobe sweep'"},
		{[]string{"sweep", "--concurency", "5", "h"}, "did you mean --concurrency?"},
		{[]string{"serve", "--config.chek"}, "did you mean --config.check?"},
		{[]string{"swep", "10.0.0.0/24", "x"}, "did you mean 'rdpprobe sweep'?"},
	} {
		code, stdout, stderr := rdpprobe(t, tc.args...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestOfferNamesParse(t *testing.T) {
	for _, n := range offerNames {
		if _, _, err := probe.ParseOffer(n); err != nil {
			t.Errorf("completion offers %q, which --protocols refuses: %v", n, err)
		}
	}
}

// withLateFlag is the command tree with a flag no command defines today,
// as another change would add it: help, completion and the man page must
// show it without a line of their own.
func withLateFlag(t *testing.T) *cli.Command {
	tr := tree()
	tr.Lookup("sweep").Flags.Int("cert-crit-days-late", 7, "a flag defined after this test was written")
	tr.Flags.StringSlice("expect-late", nil, "classes a later flag expects")
	annotate(tr.Flags) // what tree() does to every FlagSet
	annotate(tr.Lookup("sweep").Flags)
	return tr
}

func TestLateFlagShowsEverywhere(t *testing.T) {
	tr := withLateFlag(t)
	var help bytes.Buffer
	tr.Lookup("sweep").WriteHelp(&help, 80)
	if !strings.Contains(help.String(), "--cert-crit-days-late N") || !strings.Contains(help.String(), "(default 7)") {
		t.Errorf("help lacks the late flag:\n%s", help.String())
	}
	for _, sh := range cli.Shells {
		script, _ := tr.Completion(sh)
		if !strings.Contains(script, "cert-crit-days-late") || !strings.Contains(script, "expect-late") {
			t.Errorf("%s completion lacks the late flags", sh)
		}
	}
	if man := tr.ManPage("2026-01-01", "test"); !strings.Contains(man, `\-\-cert\-crit\-days\-late`) {
		t.Error("the man page lacks the late flag")
	}
	// --expect-late completes to classes, by its name alone.
	script, _ := tr.Completion("bash")
	got := bashComplete(t, script, "rdpprobe", "--expect-late", "nla_req")
	if !slices.Contains(got, "nla_required") {
		t.Errorf("--expect-late nla_req completes to %q", got)
	}
}

// bashComplete sources script in bash and returns what completing words
// (the last one being typed) offers.
func bashComplete(t *testing.T, script string, words ...string) []string {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	f := filepath.Join(t.TempDir(), "c.bash")
	os.WriteFile(f, []byte(script), 0o644)
	var quoted []string
	for _, w := range words {
		quoted = append(quoted, squote(w))
	}
	harness := "source " + squote(f) + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + ")\nCOMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n" +
		"COMP_LINE=\"${COMP_WORDS[*]}\"\nCOMP_POINT=${#COMP_LINE}\n_rdpprobe\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, "--norc", "--noprofile", "-c", harness)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			got = append(got, l)
		}
	}
	return got
}

func squote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// TestCompletionBash: the script parses (bash -n) and completes.
func TestCompletionBash(t *testing.T) {
	code, script, stderr := rdpprobe(t, "completion", "bash")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, %q", code, stderr)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	cmd := exec.Command(bash, "-n")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		words []string
		want  []string // all of these
		not   []string // none of these
	}{
		{[]string{"rdpprobe", "sw"}, []string{"sweep"}, nil},
		{[]string{"rdpprobe", ""}, []string{"serve", "sweep", "report", "completion", "help"}, nil},
		{[]string{"rdpprobe", "report", "-o", ""}, nil, []string{"serve"}},
		{[]string{"rdpprobe", "sweep", "--shard", ""}, nil, []string{"serve"}},
		{[]string{"rdpprobe", "--prot"}, []string{"--protocols"}, nil},
		{[]string{"rdpprobe", "--depth", ""}, []string{"connect", "negotiate", "tls", "ntlm_info", "logon", "session"}, nil},
		{[]string{"rdpprobe", "--depth", "=", "s"}, []string{"session"}, nil},
		{[]string{"rdpprobe", "--depth=n"}, []string{"--depth=negotiate", "--depth=ntlm_info"}, nil},
		{[]string{"rdpprobe", "--protocols", "tls,n"}, []string{"tls,nla", "tls,nla-ext"}, nil},
		{[]string{"rdpprobe", "--output", ""}, []string{"text", "json"}, nil},
		{[]string{"rdpprobe", "sweep", "--depth", "n"}, []string{"negotiate", "ntlm_info"}, nil},
		{[]string{"rdpprobe", "--"}, []string{"--output"}, []string{"-o", "--phases"}},
		{[]string{"rdpprobe", "sweep", "--"}, []string{"--depth", "--out"}, []string{"--phases"}},
		{[]string{"rdpprobe", "sweep", "--output", ""}, []string{"jsonl", "csv", "html"}, nil},
		{[]string{"rdpprobe", "sweep", "--c"}, []string{"--concurrency"}, []string{"--user"}},
		{[]string{"rdpprobe", "serve", "--log.level", ""}, []string{"debug", "info", "warn", "error"}, nil},
		{[]string{"rdpprobe", "serve", "--web."}, []string{"--web.listen-address", "--web.config.file", "--web.systemd-socket"}, nil},
		{[]string{"rdpprobe", "help", ""}, []string{"serve", "sweep"}, nil},
		{[]string{"rdpprobe", "completion", ""}, []string{"bash", "zsh", "fish"}, nil},
		{[]string{"rdpprobe", "--user", ""}, nil, []string{"serve"}},
	} {
		got := bashComplete(t, script, tc.words...)
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("%q: completions %q lack %q", tc.words, got, w)
			}
		}
		for _, w := range tc.not {
			if slices.Contains(got, w) {
				t.Errorf("%q: completions %q include %q", tc.words, got, w)
			}
		}
	}
	// Every visible flag of every command completes after "--".
	for name, flags := range tree().FlagNames() {
		words := strings.Fields(name)
		got := bashComplete(t, script, append(words, "--")...)
		for _, f := range flags {
			if !slices.Contains(got, "--"+f) {
				t.Errorf("%s --: completions lack --%s", name, f)
			}
		}
	}
	// File names, for a flag that takes a file.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "servers.csv"), nil, 0o644)
	if got := bashComplete(t, script, "rdpprobe", "sweep", "--targets-file", filepath.Join(dir, "serv")); !slices.Contains(got, filepath.Join(dir, "servers.csv")) {
		t.Errorf("--targets-file completes to %q", got)
	}
}

func TestCompletionZsh(t *testing.T) {
	_, script, _ := rdpprobe(t, "completion", "zsh")
	if !strings.HasPrefix(script, "#compdef rdpprobe\n") {
		t.Error("no #compdef line")
	}
	zsh := labtest.Tool(t, "zsh")
	cmd := exec.Command(zsh, "-n")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
	// Loaded into an interactive zsh with compinit, it defines the function
	// and registers it for rdpprobe.
	f := filepath.Join(t.TempDir(), "_rdpprobe")
	os.WriteFile(f, []byte(script), 0o644)
	out, err := exec.Command(zsh, "-f", "-c", "autoload -U compinit && compinit -u -D && source "+squote(f)+
		" && print -r -- ${_comps[rdpprobe]} && (( $+functions[_rdpprobe_sweep] )) && echo defined").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "_rdpprobe\ndefined") {
		t.Fatalf("zsh: %v\n%s", err, out)
	}
}

func TestCompletionFish(t *testing.T) {
	_, script, _ := rdpprobe(t, "completion", "fish")
	fish := labtest.Tool(t, "fish")
	cmd := exec.Command(fish, "-n")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fish -n: %v\n%s", err, out)
	}
	f := filepath.Join(t.TempDir(), "rdpprobe.fish")
	os.WriteFile(f, []byte(script), 0o644)
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"rdpprobe sw", []string{"sweep"}},
		{"rdpprobe --depth ", []string{"connect", "ntlm_info", "session"}},
		{"rdpprobe --protocols tls,", []string{"tls,nla", "tls,nla-ext"}},
		{"rdpprobe sweep --conc", []string{"--concurrency"}},
		{"rdpprobe serve --log.format ", []string{"logfmt", "json"}},
	} {
		out, err := exec.Command(fish, "--no-config", "-c", "source "+squote(f)+"; complete -C "+squote(tc.line)).CombinedOutput()
		if err != nil {
			t.Fatalf("fish: %v\n%s", err, out)
		}
		var got []string
		for _, l := range strings.Split(string(out), "\n") {
			got = append(got, strings.SplitN(l, "\t", 2)[0])
		}
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("%q completes to %q, lacking %q", tc.line, got, w)
			}
		}
	}
}

// TestManPage: the page names every flag of every command, and groff reads
// it without a warning; man renders it within 80 columns.
func TestManPage(t *testing.T) {
	code, page, stderr := rdpprobe(t, "man")
	if code != 0 || stderr != "" || !strings.Contains(page, ".TH \"RDPPROBE\" 1 ") {
		t.Fatalf("exit %d, %q\n%.200s", code, stderr, page)
	}
	for name, flags := range tree().FlagNames() {
		if name != "rdpprobe" && !strings.Contains(page, ".SS \""+name+"\"") {
			t.Errorf("no section for %s", name)
		}
		for _, f := range flags {
			if !strings.Contains(page, `\fB\-\-`+strings.ReplaceAll(f, "-", `\-`)+`\fR`) {
				t.Errorf("%s: the page lacks --%s", name, f)
			}
		}
	}
	groff := labtest.Tool(t, "groff")
	cmd := exec.Command(groff, "-man", "-ww", "-z", "-Tutf8")
	cmd.Stdin = strings.NewReader(page)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("groff: %v\n%s", err, out)
	}
	man := labtest.Tool(t, "man")
	f := filepath.Join(t.TempDir(), "rdpprobe.1")
	os.WriteFile(f, []byte(page), 0o644)
	c := exec.Command(man, "-l", f)
	c.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat", "MAN_KEEP_FORMATTING=")
	out, err := c.Output()
	if err != nil {
		t.Fatalf("man -l: %v", err)
	}
	for i, line := range strings.Split(string(out), "\n") {
		if n := utf8.RuneCountInString(line); n > 80 {
			t.Errorf("rendered line %d is %d columns: %q", i+1, n, line)
		}
	}
	if !strings.Contains(string(out), "rdpprobe sweep") || !strings.Contains(string(out), "EXIT CODES") {
		t.Errorf("the rendered page lacks its sections:\n%.2000s", out)
	}
}

func TestVersion(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/rdpprobe/rdpprobe", Version: "(devel)"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "9a711b3c1d2e3f405162738495a6b7c8d9e0f1a2"},
			{Key: "vcs.time", Value: "2026-12-01T09:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	for _, tc := range []struct {
		stamped, mainVersion string
		want                 string
	}{
		{"dev", "(devel)", "rdpprobe devel (github.com/rdpprobe/rdpprobe, revision 9a711b3c1d2e 2026-12-01 with local changes, go1.26.8 "},
		{"dev", "v0.0.0-20261201090000-9a711b3c1d2e", "rdpprobe v0.0.0-20261201090000-9a711b3c1d2e ("},
		{"v1.2.3", "(devel)", "rdpprobe v1.2.3 (github.com/rdpprobe/rdpprobe, revision 9a711b3c1d2e"},
	} {
		bi.Main.Version = tc.mainVersion
		if got := newBuild(tc.stamped, bi, true).String(); !strings.HasPrefix(got, tc.want) {
			t.Errorf("stamped %q, module %q: %q, want prefix %q", tc.stamped, tc.mainVersion, got, tc.want)
		}
	}
	if got := newBuild("dev", nil, false).String(); !strings.HasPrefix(got, "rdpprobe devel (") {
		t.Errorf("without build info: %q", got)
	}
	for _, args := range [][]string{{"--version"}, {"serve", "--version"}} {
		code, stdout, _ := rdpprobe(t, args...)
		if code != 0 || !strings.HasPrefix(stdout, "rdpprobe ") || strings.Contains(stdout, "rdpprobe dev\n") {
			t.Errorf("%q: exit %d, %q", args, code, stdout)
		}
	}
}
