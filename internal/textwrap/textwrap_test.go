package textwrap

import (
	"bytes"
	"strings"
	"testing"
)

func TestLine(t *testing.T) {
	for _, tc := range []struct {
		name  string
		line  string
		width int
		want  []string
	}{
		{"fits", "  short line", 20, []string{"  short line"}},
		{"key value", "  Account      LAB\\labuser (one logon attempted)", 30,
			[]string{"  Account      LAB\\labuser", "               (one logon", "               attempted)"}},
		{"list item", "  - domain_mismatch: the server calls itself VM", 24,
			[]string{"  - domain_mismatch: the", "    server calls itself", "    VM"}},
		{"plain indent", "  Fix: Check the password and the account form", 20,
			[]string{"  Fix: Check the", "  password and the", "  account form"}},
		{"long word stays whole", "  Error  dial:tcp:127.0.0.1:33899:refused now", 20,
			[]string{"  Error", "         dial:tcp:127.0.0.1:33899:refused", "         now"}},
		{"table row keeps its columns", "  PROTOCOL_RDSAAD      no        hung up: MCS Disconnect Provider Ultimatum (rn-user-requested)", 70,
			[]string{"  PROTOCOL_RDSAAD      no        hung up: MCS Disconnect Provider", "                                 Ultimatum (rn-user-requested)"}},
		{"a hang past half the line is dropped", "  PROTOCOL_RDSAAD      no        hung up: MCS Disconnect", 50,
			[]string{"  PROTOCOL_RDSAAD      no        hung up: MCS", "  Disconnect"}},
		{"colour is no width", "\x1b[1mFAIL\x1b[0m aaaa bbbb", 14, []string{"\x1b[1mFAIL\x1b[0m aaaa bbbb"}},
		{"no width", "a b c", 0, []string{"a b c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Line(tc.line, tc.width)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("Line(%q, %d):\n%s\nwant\n%s", tc.line, tc.width, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestNeverMidWord: every word of the input comes out whole, and no line
// is wider than the width unless it is one word.
func TestNeverMidWord(t *testing.T) {
	text := "  Cause: The server closed the connection right after the NTLM AUTHENTICATE without an error code " +
		"(FreeRDP's server and old Windows do this): a wrong password, an unknown user or a wrong domain."
	for width := 10; width <= 100; width++ {
		lines := Line(text, width)
		var words []string
		for _, l := range lines {
			if Width(l) > width && len(strings.Fields(l)) > 1 && !(strings.HasPrefix(l, "  Cause: ") && len(strings.Fields(l)) == 2) {
				t.Fatalf("width %d: %q is wider", width, l)
			}
			words = append(words, strings.Fields(l)...)
		}
		if strings.Join(words, " ") != strings.Join(strings.Fields(text), " ") {
			t.Fatalf("width %d: words changed:\n%s", width, strings.Join(lines, "\n"))
		}
	}
}

func TestWriter(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b, 30)
	w.Write([]byte("  Account      LAB\\labuser (one"))
	w.Write([]byte(" logon attempted)\nnext\nlast without newline"))
	w.Flush()
	want := "  Account      LAB\\labuser\n               (one logon\n               attempted)\nnext\nlast without newline"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestWrap(t *testing.T) {
	got := Wrap("one two three four five", 10, "> ", "  ")
	want := []string{"> one two", "  three", "  four", "  five"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q", got)
	}
	if got := Wrap("averyveryverylongword x", 5, "", ""); got[0] != "averyveryverylongword" {
		t.Errorf("a long word was cut: %q", got)
	}
	if Width("\x1b[31mé\x1b[0m") != 1 {
		t.Error("Width counts colour sequences or bytes")
	}
}
