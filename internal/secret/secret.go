// Package secret reads the password of a logon, with one set of rules for
// the command, the sweep and the exporter: a password file only its owner
// can read, the first line only, and no password that could not be the
// one meant (empty, overlong, control bytes), refused before any
// connection, since every logon attempt counts toward lockout.
//
// Errors name the file or the variable and say what to do, but never a
// flag or a config key: the caller adds its own (--password-file,
// password_file).
package secret

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"golang.org/x/term"
)

// MaxLen caps a password in bytes; Windows takes at most 256 characters.
const MaxLen = 1024

// ErrNoPassword: none of the sources given has a password (the variable
// is unset and there is no terminal to ask on). The caller says which
// sources it has.
var ErrNoPassword = errors.New("no password")

// Source is where a password came from, or which source failed.
type Source int

const (
	None   Source = iota // no source had one (ErrNoPassword)
	File                 // Sources.File
	Env                  // the variable Sources.Env
	Prompt               // typed at Sources.Terminal
)

// Sources are the places a password may come from, tried in this order:
// the first one given decides, and its password is held to the rules even
// when a later source would have had one.
type Sources struct {
	File string // a password file; "" for none
	Env  string // an environment variable's name; "" for none
	// LookupEnv reads Env; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Terminal is where to ask, without echo, when it is a terminal; nil
	// for no prompt. The prompt text goes to PromptTo.
	Terminal *os.File
	PromptTo io.Writer
	Prompt   string
}

// The terminal, replaced by tests.
var (
	isTerminal   = term.IsTerminal
	readTerminal = term.ReadPassword
)

// Password returns the password from the first of s's sources that is
// given: File, else Env when the variable is set (set but empty is
// refused, not skipped: it is a mistake, not a request to be asked), else
// a prompt on Terminal. The Source says where it came from or which
// source failed.
func Password(s Sources) (string, Source, error) {
	if s.File != "" {
		pw, err := ReadFile(s.File)
		return pw, File, err
	}
	lookup := s.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if s.Env != "" {
		if pw, ok := lookup(s.Env); ok {
			if why := check(pw); why != "" {
				todo := "set it to the password"
				if s.Terminal != nil {
					todo += ", or unset it to be asked"
				}
				return "", Env, fmt.Errorf("variable %s %s; %s", s.Env, why, todo)
			}
			return pw, Env, nil
		}
	}
	if s.Terminal == nil || !isTerminal(int(s.Terminal.Fd())) {
		switch {
		case s.Env != "" && s.Terminal != nil:
			return "", None, fmt.Errorf("%w: variable %s is not set and standard input is not a terminal to ask on", ErrNoPassword, s.Env)
		case s.Env != "":
			return "", None, fmt.Errorf("%w: variable %s is not set", ErrNoPassword, s.Env)
		}
		return "", None, ErrNoPassword
	}
	if s.PromptTo != nil {
		fmt.Fprint(s.PromptTo, s.Prompt)
	}
	b, err := readTerminal(int(s.Terminal.Fd()))
	if s.PromptTo != nil {
		fmt.Fprintln(s.PromptTo)
	}
	if err != nil {
		return "", Prompt, fmt.Errorf("password prompt: %w", err)
	}
	pw := string(b)
	if why := check(pw); why != "" {
		return "", Prompt, fmt.Errorf("the password typed %s; type the password", why)
	}
	return pw, Prompt, nil
}

// ReadFile returns the first line of the password file at path (without
// its line end). The file must be a regular file that neither group nor
// others can read (on Unix; see readableByOthers for Windows).
func ReadFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		// A device (/dev/zero) or a FIFO is no password file.
		return "", fmt.Errorf("%s is not a regular file; put the password on the first line of a file", path)
	}
	if perm := st.Mode().Perm(); readableByOthers(runtime.GOOS, perm) {
		return "", fmt.Errorf("%s: mode %04o lets group or others read it; chmod 600 %s", path, perm, path)
	}
	// MaxLen+3 bytes hold the longest line allowed, its \r\n, and one more
	// byte to tell a longer line.
	line, err := bufio.NewReader(io.LimitReader(f, MaxLen+3)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if why := check(pw); why != "" {
		return "", fmt.Errorf("%s: the first line %s; put the password alone on the first line", path, why)
	}
	return pw, nil
}

// readableByOthers reports whether a file's mode lets group or others read
// it. On Windows the mode is no such thing (Go reports 0666, or 0444 for a
// read-only file, whatever the ACL says), so it tells nothing: the file's
// ACL is the admin's to set (icacls FILE /inheritance:r /grant:r
// "%USERNAME%:R").
func readableByOthers(goos string, perm os.FileMode) bool {
	if goos == "windows" {
		return false
	}
	return perm&0o044 != 0
}

// check says why pw cannot be the password meant, "" when it can be. An
// empty password would still be a logon attempt; NUL and other control
// bytes mean the wrong file or a stray key.
func check(pw string) string {
	switch {
	case pw == "":
		return "is empty"
	case len(pw) > MaxLen:
		return fmt.Sprintf("is longer than %d bytes, more than any password", MaxLen)
	}
	for i := 0; i < len(pw); i++ {
		if c := pw[i]; c < 0x20 || c == 0x7f {
			return fmt.Sprintf("holds the control byte 0x%02x, which no password has", c)
		}
	}
	return ""
}
