package secret

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // not subject to the umask
		t.Fatal(err)
	}
	return path
}

func TestReadFile(t *testing.T) {
	long := strings.Repeat("p", MaxLen)
	for _, tc := range []struct {
		name, content string
		mode          os.FileMode
		want          string // the password, or a part of the error
		bad           bool
	}{
		{"first line only", "s3cret-pw\nsecond line\n", 0o600, "s3cret-pw", false},
		{"crlf", "s3cret-pw\r\n", 0o600, "s3cret-pw", false},
		{"no line end", "s3cret-pw", 0o400, "s3cret-pw", false},
		{"not ascii", "pässwörd-€\n", 0o600, "pässwörd-€", false},
		{"spaces kept", " pw with spaces \n", 0o600, " pw with spaces ", false},
		{"longest", long + "\r\n", 0o600, long, false},
		{"others read", "s3cret-pw\n", 0o644, "mode 0644 lets group or others read it; chmod 600 ", true},
		{"group reads", "s3cret-pw\n", 0o640, "mode 0640 lets group or others read it; chmod 600 ", true},
		{"others only", "s3cret-pw\n", 0o604, "mode 0604", true},
		{"empty file", "", 0o600, "the first line is empty", true},
		{"empty first line", "\ns3cret-pw\n", 0o600, "the first line is empty", true},
		{"too long", long + "q\n", 0o600, "longer than 1024 bytes", true},
		{"too long, no line end", strings.Repeat("p", 5000), 0o600, "longer than 1024 bytes", true},
		{"nul", "s3cret\x00pw\n", 0o600, "control byte 0x00", true},
		{"nuls only", strings.Repeat("\x00", 4096), 0o600, "longer than 1024 bytes", true}, // a copy of /dev/zero
		{"tab", "s3cret\tpw\n", 0o600, "control byte 0x09", true},
		{"escape", "\x1b[2Js3cret\n", 0o600, "control byte 0x1b", true},
		{"del", "s3cret\x7f\n", 0o600, "control byte 0x7f", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "pw", tc.content, tc.mode)
			pw, err := ReadFile(path)
			switch {
			case !tc.bad && (err != nil || pw != tc.want):
				t.Fatalf("got %q, %v; want %q", pw, err, tc.want)
			case tc.bad && (err == nil || pw != "" || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %q, %v; want an error with %q", pw, err, tc.want)
			case tc.bad && strings.Contains(err.Error(), "s3cret"):
				t.Fatalf("the error quotes the password: %v", err)
			}
			if tc.bad && strings.Contains(tc.want, "chmod") && !strings.Contains(err.Error(), "chmod 600 "+path) {
				t.Errorf("%v does not say what to do", err)
			}
		})
	}
}

func TestReadFileNotRegular(t *testing.T) {
	for _, path := range []string{os.DevNull, "/dev/zero", t.TempDir()} {
		if _, err := os.Stat(path); err != nil {
			continue
		}
		if pw, err := ReadFile(path); err == nil || pw != "" || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%s: got %q, %v", path, pw, err)
		}
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

// fakeTerminal makes f a terminal on which typed (or err) is read.
func fakeTerminal(t *testing.T, typed string, err error) *os.File {
	t.Helper()
	f, ferr := os.Open(os.DevNull)
	if ferr != nil {
		t.Fatal(ferr)
	}
	t.Cleanup(func() { f.Close() })
	fd := int(f.Fd())
	isTerm, read := isTerminal, readTerminal
	t.Cleanup(func() { isTerminal, readTerminal = isTerm, read })
	isTerminal = func(x int) bool { return x == fd }
	readTerminal = func(int) ([]byte, error) { return []byte(typed), err }
	return f
}

func TestPassword(t *testing.T) {
	good := writeFile(t, "good", "from-file\n", 0o600)
	open := writeFile(t, "open", "from-file\n", 0o644)
	devnull, _ := os.Open(os.DevNull) // not a terminal
	defer devnull.Close()
	for _, tc := range []struct {
		name    string
		s       Sources
		typed   string // on a fake terminal, when Terminal is nil here
		want    string // the password, or a part of the error
		src     Source
		bad     bool
		noInput bool
	}{
		{name: "file first", s: Sources{File: good, Env: "PW", LookupEnv: env(map[string]string{"PW": "from-env"})}, want: "from-file", src: File},
		{name: "bad file does not fall back", s: Sources{File: open, Env: "PW", LookupEnv: env(map[string]string{"PW": "from-env"})}, want: "chmod 600", src: File, bad: true},
		{name: "env", s: Sources{Env: "PW", LookupEnv: env(map[string]string{"PW": "from-env"})}, want: "from-env", src: Env},
		{name: "empty env refused", s: Sources{Env: "PW", LookupEnv: env(map[string]string{"PW": ""})}, want: "variable PW is empty; set it to the password", src: Env, bad: true},
		{name: "empty env refused, not asked", s: Sources{Env: "PW", LookupEnv: env(map[string]string{"PW": ""})}, typed: "typed", want: "or unset it to be asked", src: Env, bad: true},
		{name: "env with nul", s: Sources{Env: "PW", LookupEnv: env(map[string]string{"PW": "a\x00b"})}, want: "control byte 0x00", src: Env, bad: true},
		{name: "env too long", s: Sources{Env: "PW", LookupEnv: env(map[string]string{"PW": strings.Repeat("x", MaxLen+1)})}, want: "longer than 1024", src: Env, bad: true},
		{name: "unset env, no terminal", s: Sources{Env: "PW", LookupEnv: env(nil)}, want: "variable PW is not set", src: None, bad: true},
		{name: "unset env, stdin not a terminal", s: Sources{Env: "PW", LookupEnv: env(nil), Terminal: devnull}, want: "not a terminal", src: None, bad: true},
		{name: "nothing at all", s: Sources{LookupEnv: env(nil)}, want: "no password", src: None, bad: true},
		{name: "prompt", s: Sources{Env: "PW", LookupEnv: env(nil), Prompt: "Password for u: "}, typed: "typed-pw", want: "typed-pw", src: Prompt},
		{name: "empty typed refused", s: Sources{Env: "PW", LookupEnv: env(nil)}, typed: "", want: "the password typed is empty", src: Prompt, bad: true},
		{name: "control typed refused", s: Sources{LookupEnv: env(nil)}, typed: "pw\x03", want: "control byte 0x03", src: Prompt, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var prompted bytes.Buffer
			s := tc.s
			if tc.typed != "" || tc.src == Prompt {
				s.Terminal, s.PromptTo = fakeTerminal(t, tc.typed, nil), &prompted
			}
			pw, src, err := Password(s)
			switch {
			case src != tc.src:
				t.Errorf("source %d, want %d", src, tc.src)
			case !tc.bad && (err != nil || pw != tc.want):
				t.Errorf("got %q, %v; want %q", pw, err, tc.want)
			case tc.bad && (err == nil || pw != "" || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %q, %v; want an error with %q", pw, err, tc.want)
			}
			if tc.src == None && !errors.Is(err, ErrNoPassword) {
				t.Errorf("%v is not ErrNoPassword", err)
			}
			if tc.src == Prompt && !strings.HasPrefix(prompted.String(), s.Prompt) {
				t.Errorf("prompted %q", prompted.String())
			}
		})
	}
}

func TestPasswordPromptError(t *testing.T) {
	term := fakeTerminal(t, "", errors.New("read failed"))
	if _, src, err := Password(Sources{Terminal: term}); src != Prompt || err == nil || !strings.Contains(err.Error(), "read failed") {
		t.Errorf("%d, %v", src, err)
	}
}

// TestModeOnWindows: Windows reports 0666 for every file it can write, so
// the group/others rule would refuse every password file there; it is
// checked on Unix only.
func TestModeOnWindows(t *testing.T) {
	for _, tc := range []struct {
		goos string
		perm os.FileMode
		want bool
	}{
		{"linux", 0o600, false}, {"linux", 0o640, true}, {"linux", 0o604, true}, {"darwin", 0o644, true}, {"freebsd", 0o400, false},
		{"windows", 0o666, false}, {"windows", 0o444, false},
	} {
		if got := readableByOthers(tc.goos, tc.perm); got != tc.want {
			t.Errorf("%s %04o: %v, want %v", tc.goos, tc.perm, got, tc.want)
		}
	}
}
