package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/rdpprobe/rdpprobe/internal/textwrap"
)

// MaxWidth is the widest the help gets, whatever the terminal: lines
// longer than 80 columns are hard to read, and the man page has the same.
const MaxWidth = 80

// flagColumn is where a flag's description starts in the help.
const flagColumn = 30

// HelpWidth is the width to write help at for a terminal of the given
// width (0 when unknown): at most MaxWidth, at least 40.
func HelpWidth(term int) int {
	switch {
	case term <= 0 || term > MaxWidth:
		return MaxWidth
	case term < 40:
		return 40
	}
	return term
}

// WriteHelp writes the command's help: what it is, its usage, its
// subcommands, what it does, examples, flags and the closing sections.
func (c *Command) WriteHelp(w io.Writer, width int) error {
	var b strings.Builder
	b.WriteString(strings.Join(textwrap.Wrap(c.Name+" — "+c.Summary, width, "", "  "), "\n"))
	b.WriteString("\n\nUsage:\n")
	for _, u := range c.Usage {
		b.WriteString(strings.Join(textwrap.Wrap(u, width, "  ", "      "), "\n") + "\n")
	}
	if len(c.Commands) > 0 {
		b.WriteString("\nCommands:\n")
		col := 0
		for _, s := range c.Commands {
			col = max(col, len(s.Short()))
		}
		for _, s := range c.Commands {
			head := fmt.Sprintf("  %-*s  ", col, s.Short())
			b.WriteString(strings.Join(textwrap.Wrap(s.Summary, width, head, strings.Repeat(" ", len(head))), "\n") + "\n")
		}
		b.WriteString("\n" + textwrap.Paragraph(fmt.Sprintf("Run '%s help COMMAND' (or '%s COMMAND --help') for a command's flags.", c.Name, c.Name), width, ""))
	}
	if c.Doc != "" {
		b.WriteString("\n")
		writeDoc(&b, c.Doc, width, "")
	}
	if len(c.Examples) > 0 {
		b.WriteString("\nExamples:\n")
		writeExamples(&b, c.Examples, width)
	}
	if flags := FlagUsages(c.Flags, width); flags != "" {
		b.WriteString("\nFlags:\n")
		b.WriteString(flags)
	}
	for _, s := range c.Sections {
		b.WriteString("\n" + s.Title + ":\n")
		writeDoc(&b, s.Body, width, "  ")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// blocks splits text into paragraphs at blank lines.
func blocks(text string) []string {
	var out []string
	for _, p := range strings.Split(strings.Trim(text, "\n"), "\n\n") {
		if strings.TrimSpace(p) != "" {
			out = append(out, strings.Trim(p, "\n"))
		}
	}
	return out
}

// blockKind tells a verbatim block (every line indented by two spaces) or
// a list (its first line starts with "- ") from a paragraph.
func blockKind(p string) string {
	lines := strings.Split(p, "\n")
	verbatim := true
	for _, l := range lines {
		if !strings.HasPrefix(l, "  ") {
			verbatim = false
		}
	}
	switch {
	case verbatim:
		return "verbatim"
	case strings.HasPrefix(lines[0], "- "):
		return "list"
	}
	return "paragraph"
}

// listItems splits a list block into its items, without their "- ".
func listItems(p string) []string {
	var items []string
	for _, l := range strings.Split(p, "\n") {
		if strings.HasPrefix(l, "- ") {
			items = append(items, strings.TrimPrefix(l, "- "))
		} else if len(items) > 0 {
			items[len(items)-1] += " " + strings.TrimSpace(l)
		}
	}
	return items
}

func writeDoc(b *strings.Builder, text string, width int, indent string) {
	for i, p := range blocks(text) {
		if i > 0 {
			b.WriteString("\n")
		}
		switch blockKind(p) {
		case "verbatim": // indented by its own two spaces
			for _, l := range strings.Split(p, "\n") {
				b.WriteString(l + "\n")
			}
		case "list":
			for _, item := range listItems(p) {
				b.WriteString(strings.Join(textwrap.Wrap(item, width, indent+"- ", indent+"  "), "\n") + "\n")
			}
		default:
			b.WriteString(textwrap.Paragraph(p, width, indent))
		}
	}
}

// writeExamples puts each comment beside its command when both fit, else
// on the next line.
func writeExamples(b *strings.Builder, ex []Example, width int) {
	col := 0
	for _, e := range ex {
		if n := textwrap.Width(e.Command); n <= width/2 {
			col = max(col, n)
		}
	}
	for _, e := range ex {
		cmd := "  " + e.Command
		pad := col - textwrap.Width(e.Command)
		switch {
		case e.Comment != "" && pad >= 0 && 2+col+2+textwrap.Width(e.Comment) <= width:
			b.WriteString(cmd + strings.Repeat(" ", pad+2) + e.Comment + "\n")
			continue
		case textwrap.Width(cmd) > width:
			// A shell would take the continued lines as one command.
			b.WriteString(strings.Join(textwrap.Wrap(e.Command, width-2, "  ", "      "), " \\\n") + "\n")
		default:
			b.WriteString(cmd + "\n")
		}
		if e.Comment != "" {
			b.WriteString(strings.Join(textwrap.Wrap(e.Comment, width, "      ", "      "), "\n") + "\n")
		}
	}
}

// FlagUsages lists the visible flags of fs, one entry each: the names
// and the value's name, then the usage and default wrapped in a column.
func FlagUsages(fs *pflag.FlagSet, width int) string {
	var b strings.Builder
	for _, f := range visible(fs) {
		left := "      --" + f.Name
		if s := shorthand(f); s != "" {
			left = "  -" + s + ", --" + f.Name
		}
		name, usage := metavar(f)
		if name != "" {
			left += " " + name
		}
		text := usage + defaultText(f)
		hang := strings.Repeat(" ", flagColumn)
		if textwrap.Width(left)+2 > flagColumn {
			b.WriteString(left + "\n")
			b.WriteString(strings.Join(textwrap.Wrap(text, width, hang, hang), "\n") + "\n")
			continue
		}
		head := left + strings.Repeat(" ", flagColumn-textwrap.Width(left))
		b.WriteString(strings.Join(textwrap.Wrap(text, width, head, hang), "\n") + "\n")
	}
	return b.String()
}
