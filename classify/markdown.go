package classify

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteMarkdownTable writes the class table as Markdown, for the README:
// ID, group, exit code, title and what Windows says.
func WriteMarkdownTable(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "| class | group | exit | what happened | Windows says |")
	fmt.Fprintln(bw, "|---|---|---|---|---|")
	for _, c := range Classes {
		fmt.Fprintf(bw, "| `%s` | %s | %d | %s | %s |\n",
			c.ID, c.Group, c.Group.ExitCode(), mdCell(c.Title), mdCell(c.WindowsSays))
	}
	return bw.Flush()
}

// mdCell escapes what would break a table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}
