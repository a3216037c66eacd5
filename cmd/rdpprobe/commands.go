package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	flag "github.com/spf13/pflag"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/internal/cli"
	"github.com/rdpprobe/rdpprobe/probe"
)

// command is one way in: its words for the help and the man page, the
// function that defines its flags on a new FlagSet, and the function that
// runs it. The help, the completion scripts and the man page all call
// flags, so a flag defined there is in all three.
type command struct {
	doc   cli.Command // Name, Summary, Usage, Doc, Examples, Sections, Args
	flags func() *flag.FlagSet
	run   func(args []string, stdin *os.File, stdout, stderr io.Writer) int
	// order places the command in the help's list: what an admin runs
	// first (serve, sweep) at the top, the helpers last.
	order int
}

// subcommands are the other ways in ("serve", "sweep"...), in the order
// the help lists them; each file that defines one registers it in an init
// function.
var subcommands []*command

func register(c *command) {
	subcommands = append(subcommands, c)
	slices.SortStableFunc(subcommands, func(a, b *command) int { return a.order - b.order })
}

func lookupCommand(name string) *command {
	for _, c := range subcommands {
		if c.doc.Short() == name {
			return c
		}
	}
	return nil
}

// rootCommand is the probe of one host, rdpprobe itself.
var rootCommand = &command{doc: rootDoc, flags: func() *flag.FlagSet { return new(config).flags() }}

// tree is the command line as package cli sees it, with fresh FlagSets
// whose flags' values are annotated for completion.
func tree() *cli.Command {
	root := rootCommand.doc
	root.Flags = annotate(rootCommand.flags())
	for _, s := range subcommands {
		sub := s.doc
		if s.flags != nil {
			sub.Flags = annotate(s.flags())
		}
		root.Commands = append(root.Commands, &sub)
	}
	return &root
}

// offerNames are the names probe.ParseOffer reads (a test holds them to
// it), for completion.
var offerNames = []string{"rdp", "tls", "nla", "nla-ext"}

// annotate says what flags' values complete to, by their names, on every
// command: a flag added later with one of these names (or "expect" in its
// name) completes with no line of its own. Flags with values of their own
// say so where they are defined (cli.SetValues).
func annotate(fs *flag.FlagSet) *flag.FlagSet {
	var phases, classes []string
	for _, p := range probe.Phases {
		phases = append(phases, string(p))
	}
	for _, c := range classify.Classes {
		classes = append(classes, string(c.ID))
	}
	fs.VisitAll(func(f *flag.Flag) {
		if f.Annotations != nil {
			return
		}
		switch {
		case f.Name == "depth":
			cli.SetValues(fs, f.Name, phases...)
		case f.Name == "phases":
			cli.SetList(fs, f.Name, phases...)
		case strings.Contains(f.Name, "expect"):
			cli.SetList(fs, f.Name, classes...)
		case f.Name == "protocols":
			cli.SetList(fs, f.Name, offerNames...)
		case f.Name == "record":
			cli.SetFiles(fs, f.Name, "dir")
		case f.Name == "resume", f.Name == "out", f.Name == "ccache", f.Name == "config":
			cli.SetFiles(fs, f.Name, "file")
		}
	})
	return fs
}

// helpWidth is the width of help on w: the terminal's, at most 80. Help
// piped to a pager (rdpprobe --help | less) takes the width of the
// terminal standard error is on.
func helpWidth(w io.Writer) int {
	n := termWidth(w)
	if n == 0 {
		n = termWidth(os.Stderr)
	}
	return cli.HelpWidth(n)
}

// writeHelp writes the help of the command called name ("rdpprobe",
// "rdpprobe sweep").
func writeHelp(w io.Writer, name string) {
	t := tree()
	c := t
	if name != t.Name {
		c = t.Lookup(strings.TrimPrefix(name, t.Name+" "))
	}
	if c != nil {
		c.WriteHelp(w, helpWidth(w))
	}
}

// parseFlags parses args with fs, the flags of the command called name.
// --help (or -h) writes the command's help to stdout and reports help; an
// unknown flag's error says which flag was likely meant.
func parseFlags(name string, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (help bool, err error) {
	fs.SetOutput(stderr) // pflag's deprecation notes
	fs.Usage = func() { writeHelp(stdout, name) }
	err = fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return true, nil
	}
	if err != nil {
		t := tree()
		c := t
		if name != t.Name {
			c = t.Lookup(strings.TrimPrefix(name, t.Name+" "))
		}
		if c != nil {
			err = c.Explain(err, append([]*cli.Command{t}, t.Commands...)...)
		}
	}
	return false, err
}

// ---- help, completion, man ------------------------------------------------

func init() {
	register(&command{
		doc: cli.Command{
			Name:    "rdpprobe help",
			Summary: "show the help of rdpprobe or of one of its commands",
			Usage:   []string{"rdpprobe help [COMMAND]"},
			Args:    cli.Args{Commands: true},
		},
		run:   helpMain,
		order: 12,
	})
	register(&command{
		doc: cli.Command{
			Name:    "rdpprobe completion",
			Summary: "print a completion script for bash, zsh or fish",
			Usage:   []string{"rdpprobe completion bash|zsh|fish"},
			Doc: `The script completes the commands, their flags, and the values of the flags that
take a known set: phases for --depth, classes for --expect-like flags, formats,
protocols, file names.`,
			Examples: []cli.Example{
				{Command: "source <(rdpprobe completion bash)", Comment: "in this shell"},
				{Command: "rdpprobe completion bash > /usr/share/bash-completion/completions/rdpprobe"},
				{Command: `rdpprobe completion zsh > "${fpath[1]}/_rdpprobe"`},
				{Command: "rdpprobe completion fish > ~/.config/fish/completions/rdpprobe.fish"},
			},
			Args: cli.Args{Words: cli.Shells},
		},
		run:   completionMain,
		order: 10,
	})
	register(&command{
		doc: cli.Command{
			Name:    "rdpprobe man",
			Summary: "print the manual page (roff), for man -l - or a package",
			Usage:   []string{"rdpprobe man"},
			Examples: []cli.Example{
				{Command: "rdpprobe man | man -l -", Comment: "read it without installing it"},
			},
		},
		run:   manMain,
		order: 11,
	})
}

func helpMain(args []string, _ *os.File, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		writeHelp(stdout, "rdpprobe")
		return 0
	case len(args) == 1 && lookupCommand(args[0]) != nil:
		writeHelp(stdout, "rdpprobe "+args[0])
		return 0
	case len(args) == 1 && (args[0] == "-h" || args[0] == "--help"):
		writeHelp(stdout, "rdpprobe help")
		return 0
	}
	msg := fmt.Sprintf("no command %q", strings.Join(args, " "))
	if len(args) == 1 {
		if s := cli.ClosestWord(args[0], commandNames()); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
	}
	fmt.Fprintf(stderr, "rdpprobe help: %s (commands: %s)\n", msg, strings.Join(commandNames(), ", "))
	return exitUsage
}

func commandNames() []string {
	var names []string
	for _, c := range subcommands {
		names = append(names, c.doc.Short())
	}
	return names
}

func completionMain(args []string, _ *os.File, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		writeHelp(stdout, "rdpprobe completion")
		return 0
	}
	if len(args) != 1 {
		fmt.Fprintf(stderr, "rdpprobe completion: name one shell: %s\n", strings.Join(cli.Shells, ", "))
		return exitUsage
	}
	script, err := tree().Completion(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "rdpprobe completion: %v\n", err)
		return exitUsage
	}
	io.WriteString(stdout, script)
	return 0
}

func manMain(args []string, _ *os.File, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		writeHelp(stdout, "rdpprobe man")
		return 0
	}
	if len(args) != 0 {
		fmt.Fprintf(stderr, "rdpprobe man: unexpected arguments %q\n", args)
		return exitUsage
	}
	info := buildInfo()
	io.WriteString(stdout, tree().ManPage(info.date(), info.version, "rdpprobe.yml(5) in README.md", "prometheus(1)", "xfreerdp(1)"))
	return 0
}
