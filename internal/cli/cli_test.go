package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func testCommand() *Command {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.StringP("output", "o", "text", "`FORMAT` of the output: text or json")
	fs.Duration("timeout", 0, "deadline")
	fs.String("password-file", "", "read the password from this `FILE`")
	fs.Bool("verbose", false, "say more")
	fs.String("phases", "", "old name")
	fs.MarkDeprecated("phases", "use --depth")
	fs.String("depth", "", "stop after this `PHASE`")
	SetValues(fs, "depth", "tls", "logon")
	return &Command{Name: "t", Summary: "a test", Usage: []string{"t [flags] HOST"}, Flags: fs,
		Doc: "One paragraph\nover two lines.\n\n  verbatim  table\n  kept  as is\n\n- a list item\n  that continues\n- another"}
}

func TestWriteHelp(t *testing.T) {
	var b bytes.Buffer
	testCommand().WriteHelp(&b, 60)
	got := b.String()
	for _, want := range []string{
		"One paragraph over two lines.\n",
		"  verbatim  table\n  kept  as is\n",
		"- a list item that continues\n- another\n",
		"  -o, --output FORMAT         FORMAT of the output: text or\n",
		"      --password-file FILE    read the password from this\n",
		`(default "text")`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("help lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "--phases") {
		t.Error("a deprecated flag is listed")
	}
	if strings.Contains(got, "(default 0s)") {
		t.Error("a zero default is shown")
	}
}

func TestClosest(t *testing.T) {
	fs := testCommand().Flags
	for in, want := range map[string]string{"outpt": "output", "timeot": "timeout", "dept": "depth", "pass": "password-file",
		"verbsoe": "verbose", "zzzzzz": "", "phases": "", "x": ""} {
		if got := Closest(fs, in); got != want {
			t.Errorf("Closest(%q) = %q, want %q", in, got, want)
		}
	}
	if d := distance("abcd", "acbd"); d != 1 {
		t.Errorf("a swap costs %d", d)
	}
}

func TestExplain(t *testing.T) {
	c := testCommand()
	err := c.Flags.Parse([]string{"--outptu", "json"})
	if got := c.Explain(err).Error(); got != "unknown flag: --outptu\n  did you mean --output?" {
		t.Errorf("got %q", got)
	}
	plain := errors.New("other")
	if c.Explain(plain) != plain {
		t.Error("another error was changed")
	}
}

func TestRoff(t *testing.T) {
	if got := roff(`-u 'CORP\alice' → “x” …`); got != `\-u 'CORP\ealice' \(-> \(lqx\(rq .\|.\|.` {
		t.Errorf("roff: %q", got)
	}
	if got := roffLine(".hidden request"); !strings.HasPrefix(got, `\&.`) {
		t.Errorf("a leading dot is a request: %q", got)
	}
	page := testCommand().ManPage("2026-01-01", "v1")
	for _, want := range []string{".TH \"T\" 1 \"2026-01-01\" \"t v1\"", ".SH OPTIONS", `\fB\-o\fR, \fB\-\-output\fR \fIFORMAT\fR`, ".IP \\(bu 2"} {
		if !strings.Contains(page, want) {
			t.Errorf("man page lacks %q:\n%s", want, page)
		}
	}
}

func TestKindOf(t *testing.T) {
	c := testCommand()
	if k := kindOf(c.Flags.Lookup("password-file")); k.files != "file" {
		t.Error("a -file flag does not complete files")
	}
	if k := kindOf(c.Flags.Lookup("depth")); len(k.values) != 2 || k.list {
		t.Errorf("depth: %+v", k)
	}
}
