// Package textwrap wraps text for a terminal: at spaces only, never inside
// a word, with the indent of the line kept on its continuation lines.
// Widths count runes and ignore ANSI colour sequences, so a painted word
// is as wide as a plain one.
package textwrap

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"
)

// Width is the number of columns s takes: runes, not bytes, and no colour
// sequences (ESC [ ... m).
func Width(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] == 0x1b {
			i = skipEscape(s, i)
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n++
	}
	return n
}

// Wrap breaks text into lines of at most width columns at its spaces. The
// first line starts with first, every other with rest (both usually
// spaces). A word longer than a line stands alone on its line, whole: a
// name or an address cut in two is worse than a long line. width <= 0
// means no wrapping. Runs of spaces between words become one.
func Wrap(text string, width int, first, rest string) []string {
	words := strings.Fields(text)
	if width <= 0 {
		return []string{first + strings.Join(words, " ")}
	}
	var lines []string
	line, n := first, Width(first)
	empty := true
	for _, w := range words {
		ww := Width(w)
		if !empty && n+1+ww > width {
			lines = append(lines, line)
			line, n, empty = rest, Width(rest), true
		}
		if !empty {
			line += " "
			n++
		}
		line += w
		n += ww
		empty = false
	}
	return append(lines, line)
}

// Paragraph is Wrap with the same indent on every line.
func Paragraph(text string, width int, indent string) string {
	return strings.Join(Wrap(text, width, indent, indent), "\n") + "\n"
}

// Hang is the indent of a line's continuation lines: past the marker of a
// list item ("- ", "! ", "* "), else the column after the last run of two
// or more spaces within the first width columns (the value column of a
// "Key   value" line, the last column of a table row) when that leaves half
// the line, else the line's own indent.
func Hang(line string, width int) string {
	indent := len(line) - len(strings.TrimLeft(line, " "))
	body := line[indent:]
	if m := listMarker(body); m != "" {
		return strings.Repeat(" ", indent+Width(m))
	}
	col, hang := 0, indent
	spaces := 0
	for i := 0; i < len(body) && indent+col < width; {
		if body[i] == 0x1b {
			i = skipEscape(body, i)
			continue
		}
		r, size := utf8.DecodeRuneInString(body[i:])
		i += size
		if r == ' ' {
			spaces++
		} else {
			if spaces >= 2 {
				hang = indent + col
			}
			spaces = 0
		}
		col++
	}
	if width > 0 && hang > width/2 {
		hang = indent
	}
	return strings.Repeat(" ", hang)
}

func listMarker(body string) string {
	for _, m := range []string{"- ", "! ", "* "} {
		if strings.HasPrefix(body, m) {
			return m
		}
	}
	return ""
}

// skipEscape returns the index after the colour sequence at s[i].
func skipEscape(s string, i int) int {
	if i+1 < len(s) && s[i+1] == '[' {
		j := i + 2
		for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
			j++
		}
		return j + 1
	}
	return i + 1
}

// Line breaks one line into lines of at most width columns at its spaces,
// keeping the spacing inside each piece (a table row stays aligned), each
// continuation starting with Hang's indent. A word longer than a line
// stays whole.
func Line(line string, width int) []string {
	if width <= 0 || Width(line) <= width {
		return []string{line}
	}
	hang := Hang(line, width)
	var out []string
	rest, prefix := line, len(line)-len(strings.TrimLeft(line, " "))
	for Width(rest) > width {
		cut := breakAt(rest, width, prefix)
		if cut < 0 {
			break
		}
		out = append(out, strings.TrimRight(rest[:cut], " "))
		rest = hang + strings.TrimLeft(rest[cut:], " ")
		prefix = len(hang)
	}
	return append(out, rest)
}

// breakAt is the byte index of the space to break s at: the last one
// within width columns that follows a word after the first prefix bytes,
// else the first one after that (a word longer than the line), else -1.
func breakAt(s string, width, prefix int) int {
	last, col := -1, 0
	word := false // a word has started after the prefix
	for i := 0; i < len(s); {
		if s[i] == 0x1b {
			i = skipEscape(s, i)
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == ' ' && i >= prefix && word {
			if col <= width {
				last = i
			} else if last < 0 {
				return i
			} else {
				return last
			}
		} else if r != ' ' && i >= prefix {
			word = true
		}
		i += size
		col++
	}
	return last
}

// Writer wraps every line written through it to width columns (see Line).
// Lines are held until their newline; Flush writes a last unterminated
// line. width <= 0 passes text through.
type Writer struct {
	w     io.Writer
	width int
	buf   []byte
}

// NewWriter returns a Writer onto w.
func NewWriter(w io.Writer, width int) *Writer { return &Writer{w: w, width: width} }

func (w *Writer) Write(p []byte) (int, error) {
	if w.width <= 0 {
		return w.w.Write(p)
	}
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.buf[:i])
		w.buf = w.buf[i+1:]
		if _, err := io.WriteString(w.w, strings.Join(Line(line, w.width), "\n")+"\n"); err != nil {
			return len(p), err
		}
	}
}

// Flush writes what is held of an unterminated last line.
func (w *Writer) Flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	line := string(w.buf)
	w.buf = nil
	_, err := io.WriteString(w.w, strings.Join(Line(line, w.width), "\n"))
	return err
}
