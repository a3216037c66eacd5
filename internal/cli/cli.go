// Package cli turns a command's pflag FlagSet and a few words about it into
// everything a user reads about the command line: the --help text, the
// bash, zsh and fish completion scripts, the man page, and the hint after a
// mistyped flag. All of it is generated from the FlagSet at run time, so a
// flag defined later shows up everywhere with no extra line; a flag's
// values complete as its annotations (SetValues, SetList, SetFiles) or its
// name say.
package cli

import (
	"strings"

	"github.com/spf13/pflag"
)

// Command is one command line: its words and its flags.
type Command struct {
	// Name is what the user types: "rdpprobe", "rdpprobe sweep".
	Name string
	// Summary is one line: the command list of the root's help, and the
	// man page's NAME.
	Summary string
	// Usage lines, without "Usage:", e.g. "rdpprobe sweep [flags] TARGET...".
	Usage []string
	// Doc is paragraphs separated by blank lines, wrapped to the width at
	// output. A paragraph whose lines start with two spaces is kept as it
	// is (a table); one whose lines start with "- " is a list.
	Doc      string
	Examples []Example
	// Sections come after the flags ("Exit codes"...), in the same form
	// as Doc.
	Sections []Section
	Flags    *pflag.FlagSet
	// Args is what the command's arguments complete to.
	Args Args
	// Commands are the subcommands; only the root has them.
	Commands []*Command
}

// Example is a command line and what it does.
type Example struct{ Command, Comment string }

// Section is a titled block of the help and the man page.
type Section struct{ Title, Body string }

// Args says what a command's arguments complete to.
type Args struct {
	Hosts bool     // host names (from the shell's own list)
	Files bool     // file names
	Words []string // fixed words (e.g. the shells of "completion")
	// Commands: the first argument may be a subcommand's name.
	Commands bool
}

// Short is the command's last word: "sweep" for "rdpprobe sweep".
func (c *Command) Short() string {
	if i := strings.LastIndexByte(c.Name, ' '); i >= 0 {
		return c.Name[i+1:]
	}
	return c.Name
}

// Lookup returns the subcommand named name, or nil.
func (c *Command) Lookup(name string) *Command {
	for _, s := range c.Commands {
		if s.Short() == name {
			return s
		}
	}
	return nil
}

// Annotation keys of a flag's values, for completion.
const (
	annValues = "cli_values" // the words the value is one of
	annList   = "cli_list"   // set: the value is a comma-separated list of those words
	annFiles  = "cli_files"  // "file" or "dir"
)

// SetValues says the flag's value is one of values.
func SetValues(fs *pflag.FlagSet, name string, values ...string) {
	fs.SetAnnotation(name, annValues, values)
}

// SetList says the flag's value is a comma-separated list of values.
func SetList(fs *pflag.FlagSet, name string, values ...string) {
	fs.SetAnnotation(name, annValues, values)
	fs.SetAnnotation(name, annList, []string{"true"})
}

// SetFiles says the flag's value is a file ("file") or a directory ("dir").
func SetFiles(fs *pflag.FlagSet, name, kind string) {
	fs.SetAnnotation(name, annFiles, []string{kind})
}

// valueKind is what a flag's value completes to.
type valueKind struct {
	none   bool     // the flag takes no value
	values []string // one of these
	list   bool     // a comma-separated list of values
	files  string   // "file" or "dir"
}

// kindOf reads a flag's annotations; without any, a flag whose name ends
// in "file" takes a file name.
func kindOf(f *pflag.Flag) valueKind {
	if f.NoOptDefVal != "" {
		return valueKind{none: true}
	}
	var k valueKind
	k.values = f.Annotations[annValues]
	k.list = len(f.Annotations[annList]) > 0
	if v := f.Annotations[annFiles]; len(v) > 0 {
		k.files = v[0]
	} else if k.values == nil && strings.HasSuffix(f.Name, "file") {
		k.files = "file"
	}
	return k
}

// visible lists the flags a user is shown: not hidden, not deprecated, in
// the FlagSet's order.
func visible(fs *pflag.FlagSet) []*pflag.Flag {
	var out []*pflag.Flag
	if fs == nil {
		return out
	}
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && f.Deprecated == "" {
			out = append(out, f)
		}
	})
	return out
}

// shorthand is the flag's one-letter name, unless that is deprecated.
func shorthand(f *pflag.Flag) string {
	if f.ShorthandDeprecated != "" {
		return ""
	}
	return f.Shorthand
}

// metavar is the name of the flag's value in help ("FILE", "DURATION"),
// from a `back-quoted` word of its usage or its type, and the usage
// without the back quotes.
func metavar(f *pflag.Flag) (string, string) {
	name, usage := pflag.UnquoteUsage(f)
	if f.NoOptDefVal != "" {
		return "", usage
	}
	switch name {
	case "stringArray":
		name = "string"
	case "strings":
		name = "list"
	case "int", "uint", "int32":
		name = "n"
	}
	return strings.ToUpper(name), usage
}

// defaultText is " (default X)" for a flag whose default is not its type's
// zero value.
func defaultText(f *pflag.Flag) string {
	switch f.DefValue {
	case "", "0", "0s", "false", "[]", "<nil>":
		return ""
	}
	if f.Value.Type() == "string" {
		return ` (default "` + f.DefValue + `")`
	}
	return " (default " + strings.Trim(f.DefValue, "[]") + ")"
}

// brief is the first clause of a flag's usage, for completion menus.
func brief(usage string) string {
	cut := len(usage)
	for _, sep := range []string{"; ", ": ", " (", ", e.g.", ". "} {
		if i := strings.Index(usage, sep); i >= 12 && i < cut {
			cut = i
		}
	}
	s := usage[:cut]
	if len(s) > 70 {
		s = s[:70]
		if i := strings.LastIndexByte(s, ' '); i > 40 {
			s = s[:i]
		}
	}
	return s
}
