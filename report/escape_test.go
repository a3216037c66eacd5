package report

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// hostile are the bytes a server can put in a name to clear a screen,
// forge a line or reorder text; one per variant.
var hostile = []string{
	"\x1b[2J\x1b[H", // clear screen, cursor home
	"evil\rOK ok",   // overwrite the line
	"a\nRDP OK - ok: forged | time=0s",
	"bell\x07nul\x00del\x7f",
	"\u202eexe.txt", // right-to-left override
	"\u2066isolate\u2069",
	"c1\u009b31m", // C1 CSI
	"ls\u2028ps\u2029",
	"bad\xffutf8",
	"pipe|perf=1",
}

// fill sets every string of v (recursively, through pointers, slices and
// maps) to s, so that no field escapes the check.
func fill(v reflect.Value, s string) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			if v.Type().Elem() == reflect.TypeOf(time.Time{}) {
				v.Set(reflect.ValueOf(&time.Time{}))
				return
			}
			v.Set(reflect.New(v.Type().Elem()))
		}
		fill(v.Elem(), s)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), s)
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range v.Len() {
			fill(v.Index(i), s)
		}
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for _, k := range []string{"PROTOCOL_RDP", "PROTOCOL_SSL", "ENCRYPTION_METHOD_40BIT", s} {
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, s)
			m.SetMapIndex(reflect.ValueOf(k), e)
		}
		v.Set(m)
	case reflect.String:
		v.SetString(s)
	}
}

// clean fails t if out holds a byte below 0x20 other than newline, DEL,
// a C1 control, a bidi control, LS/PS or invalid UTF-8.
func clean(t *testing.T, what, out string) {
	t.Helper()
	for i, r := range out {
		bad := r == utf8.RuneError || (r < 0x20 && r != '\n') || r == 0x7f || unsafeRune(r)
		if bad {
			t.Fatalf("%s: unsafe rune %U at %d in:\n%q", what, r, i, out)
		}
	}
}

func TestTextEscapesEveryServerString(t *testing.T) {
	for _, h := range hostile {
		rep := &Report{}
		fill(reflect.ValueOf(rep), h)
		rep.OK = false
		var b bytes.Buffer
		WriteText(&b, rep, false)
		WriteSecurityLayers(&b, rep, false)
		WriteBrief(&b, rep, false, 80)
		clean(t, "text", b.String())
		if n := strings.Count(b.String(), "\n"); n < 20 {
			t.Fatalf("only %d lines of text: the fill did not reach the fields", n)
		}

		line, _ := Nagios(rep, 2, NagiosOptions{})
		clean(t, "nagios", line)
		if strings.Count(line, "|") != 1 || strings.Contains(line, "\n") {
			t.Errorf("nagios line forged by %q: %q", h, line)
		}
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		`LAB\labuser`:   `LAB\labuser`,
		"Zoë Müller":    "Zoë Müller",
		"\x1b[2J":       `\x1b[2J`,
		"a\r\nb":        `a\x0d\x0ab`,
		"\u202eexe.txt": `\u202eexe.txt`,
		"bad\xff":       `bad\xff`,
		"\u009b":        `\u009b`,
		"tab\there\x7f": `tab\x09here\x7f`,
		"日本語のサーバー":      "日本語のサーバー",
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}
