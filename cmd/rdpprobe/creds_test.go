package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// countingListener counts the connections made to it; each is closed at
// once, after it is counted, so a probe that connected has been counted
// before it returns.
func countingListener(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	return ln.Addr().String(), &n
}

// TestRefusedPasswordMakesNoConnection: a password that cannot be the one
// meant is refused before the probe dials, so it costs no logon attempt
// (each counts toward lockout). The command, the sweep and the exporter
// share these rules (package secret); here the command and the sweep.
func TestRefusedPasswordMakesNoConnection(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "world.pw")
	os.WriteFile(world, []byte("s3cret-pw\n"), 0o600)
	os.Chmod(world, 0o644)
	empty := filepath.Join(dir, "empty.pw")
	os.WriteFile(empty, []byte("\n"), 0o600)
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	for _, tc := range []struct {
		name  string
		env   *string // RDPPROBE_PASSWORD, nil for unset
		args  []string
		want  string // the whole error line
		sweep bool
	}{
		{name: "empty RDPPROBE_PASSWORD", env: new(""),
			want: "rdpprobe: variable RDPPROBE_PASSWORD is empty; set it to the password, or unset it to be asked"},
		{name: "sweep, empty RDPPROBE_PASSWORD", env: new(""), sweep: true,
			want: "rdpprobe sweep: variable RDPPROBE_PASSWORD is empty; set it to the password, or unset it to be asked"},
		{name: "world-readable file", args: []string{"--password-file", world},
			want: "rdpprobe: --password-file: " + world + ": mode 0644 lets group or others read it; chmod 600 " + world},
		{name: "sweep, world-readable file", args: []string{"--password-file", world}, sweep: true,
			want: "rdpprobe sweep: --password-file: " + world + ": mode 0644 lets group or others read it; chmod 600 " + world},
		{name: "empty file", args: []string{"--password-file", empty},
			want: "rdpprobe: --password-file: " + empty + ": the first line is empty; put the password alone on the first line"},
		{name: "device", args: []string{"--password-file", "/dev/zero"},
			want: "rdpprobe: --password-file: /dev/zero is not a regular file; put the password on the first line of a file"},
		{name: "no source", want: "rdpprobe: no password: variable RDPPROBE_PASSWORD is not set and standard input is not a terminal to ask on; " +
			"set it or use --password-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != nil {
				t.Setenv(passwordEnv, *tc.env)
			} else {
				t.Setenv(passwordEnv, "")
				os.Unsetenv(passwordEnv)
			}
			addr, conns := countingListener(t)
			args := append([]string{"-u", `LAB\u`, "--timeout", "2s"}, tc.args...)
			if tc.sweep {
				args = append([]string{"sweep", "--progress", "never"}, args...)
			}
			var out, errb bytes.Buffer
			code := run(append(args, addr), devnull, &out, &errb)
			line, _, _ := strings.Cut(errb.String(), "\n")
			if code != exitUsage || line != tc.want {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errb.String(), exitUsage, tc.want)
			}
			if n := conns.Load(); n != 0 {
				t.Errorf("%d connections to the server; want none", n)
			}
		})
	}
	// The same listener does count a probe: the test can see one.
	t.Setenv(passwordEnv, "s3cret-pw")
	addr, conns := countingListener(t)
	var out, errb bytes.Buffer
	run([]string{"-u", `LAB\u`, "--timeout", "2s", addr}, devnull, &out, &errb)
	if conns.Load() != 1 {
		t.Errorf("a probe with a password made %d connections, want 1", conns.Load())
	}
}
