package cli

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// Shells are the shells Completion writes scripts for.
var Shells = []string{"bash", "zsh", "fish"}

// Completion returns the completion script of root and its subcommands for
// shell: every visible flag, the values of those that say what they take,
// the subcommands, and the commands' arguments.
func (c *Command) Completion(shell string) (string, error) {
	switch shell {
	case "bash":
		return c.bash(), nil
	case "zsh":
		return c.zsh(), nil
	case "fish":
		return c.fish(), nil
	}
	return "", fmt.Errorf("unknown shell %q (use %s)", shell, strings.Join(Shells, ", "))
}

// ident makes a name fit in a shell function name.
func ident(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// squote quotes s for a POSIX shell (and zsh, and fish: no backslash
// escapes inside).
func squote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// safeWord keeps only the characters a completion word may hold without
// quoting; the words are phase, class and format names.
func safeWord(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_.-:/+@", r)) {
			return false
		}
	}
	return s != ""
}

func safeWords(ws []string) []string {
	var out []string
	for _, w := range ws {
		if safeWord(w) {
			out = append(out, w)
		}
	}
	return out
}

// describe is a flag's usage cut to a clause, without the characters the
// shells' description syntax gives a meaning ([ ] : ' " ` \ $).
func describe(usage string) string {
	s := strings.Map(func(r rune) rune {
		if strings.ContainsRune("[]:'\"`\\$", r) {
			return ' '
		}
		return r
	}, brief(usage))
	return strings.Join(strings.Fields(s), " ")
}

func (c *Command) all() []*Command { return append([]*Command{c}, c.Commands...) }

func (c *Command) commandNames() []string {
	var names []string
	for _, s := range c.Commands {
		names = append(names, s.Short())
	}
	return names
}

// ---- bash ----------------------------------------------------------------

func (c *Command) bash() string {
	prog := c.Name
	fn := "_" + ident(prog)
	var b strings.Builder
	fmt.Fprintf(&b, `# bash completion for %[1]s, generated from its flags by '%[1]s completion bash'.
# Load it in this shell:   source <(%[1]s completion bash)
# or for every shell:      %[1]s completion bash > /usr/share/bash-completion/completions/%[1]s

# %[2]s_words WORDS LIST: complete the current word (after "PREFIX=" when
# the flag and its value are one word) to one of WORDS, or with LIST=1 to
# a comma-separated list of them.
%[2]s_words() {
	local pre=$eqpre word=$cur
	if [[ $2 == 1 && $word == *,* ]]; then
		pre+=${word%%,*},
		word=${word##*,}
	fi
	COMPREPLY=($(compgen -P "$pre" -W "$1" -- "$word"))
	[[ $2 == 1 ]] && compopt -o nospace 2>/dev/null
	return 0
}

%[2]s_files() { # file | dir
	local word=$cur
	if [[ $1 == dir ]]; then
		COMPREPLY=($(compgen -P "$eqpre" -d -- "$word"))
	else
		COMPREPLY=($(compgen -P "$eqpre" -f -- "$word"))
	fi
	compopt -o filenames 2>/dev/null
	return 0
}

%[2]s() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev="" cmd="" eqpre=""
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	# --flag=value: bash splits the word at "=" (COMP_WORDBREAKS), or not.
	if [[ $cur == = ]]; then
		cur=""
	elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	elif [[ $cur == --*=* ]]; then
		prev=${cur%%%%=*}
		eqpre=$prev=
		cur=${cur#*=}
	fi
	if ((COMP_CWORD > 1)); then
		case ${COMP_WORDS[1]} in
		%[3]s) cmd=${COMP_WORDS[1]} ;;
		esac
	fi
`, prog, fn, strings.Join(c.commandNames(), "|"))

	// Values of flags, by command and flag.
	b.WriteString("\tcase \"$cmd $prev\" in\n")
	for _, cmd := range c.all() {
		key := ""
		if cmd != c {
			key = cmd.Short()
		}
		for _, f := range visible(cmd.Flags) {
			k := kindOf(f)
			if k.none || f.Value.Type() == "bool" {
				continue
			}
			pats := []string{squote(key + " --" + f.Name)}
			if s := shorthand(f); s != "" {
				pats = append(pats, squote(key+" -"+s))
			}
			var action string
			switch {
			case k.files != "":
				action = fn + "_files " + k.files
			case len(safeWords(k.values)) > 0:
				list := "0"
				if k.list {
					list = "1"
				}
				action = fn + "_words " + squote(strings.Join(safeWords(k.values), " ")) + " " + list
			default:
				action = "return 0" // a value nothing can guess
			}
			fmt.Fprintf(&b, "\t%s)\n\t\t%s\n\t\treturn\n\t\t;;\n", strings.Join(pats, " | "), action)
		}
	}
	b.WriteString("\tesac\n")

	// Flags.
	b.WriteString("\tif [[ $cur == -* ]]; then\n\t\tcase $cmd in\n")
	for _, cmd := range c.all() {
		key := `""`
		if cmd != c {
			key = cmd.Short()
		}
		var names []string
		for _, f := range visible(cmd.Flags) {
			names = append(names, "--"+f.Name)
			if s := shorthand(f); s != "" {
				names = append(names, "-"+s)
			}
		}
		names = append(names, "--help")
		fmt.Fprintf(&b, "\t\t%s) COMPREPLY=($(compgen -W %s -- \"$cur\")) ;;\n", key, squote(strings.Join(names, " ")))
	}
	b.WriteString("\t\tesac\n\t\treturn 0\n\tfi\n")

	// Arguments.
	b.WriteString("\tcase $cmd in\n")
	for _, cmd := range c.all() {
		key := `""`
		if cmd != c {
			key = cmd.Short()
		}
		var acts []string
		if cmd.Args.Commands {
			pos := 1
			if cmd != c {
				pos = 2
			}
			acts = append(acts, fmt.Sprintf("((COMP_CWORD == %d)) && COMPREPLY+=($(compgen -W %s -- \"$cur\"))", pos, squote(strings.Join(c.commandNames(), " "))))
		}
		if w := safeWords(cmd.Args.Words); len(w) > 0 {
			acts = append(acts, fmt.Sprintf("COMPREPLY+=($(compgen -W %s -- \"$cur\"))", squote(strings.Join(w, " "))))
		}
		if cmd.Args.Hosts {
			acts = append(acts, `COMPREPLY+=($(compgen -A hostname -- "$cur"))`)
		}
		if cmd.Args.Files {
			acts = append(acts, `COMPREPLY+=($(compgen -f -- "$cur"))`, "compopt -o filenames 2>/dev/null")
		}
		if len(acts) == 0 {
			acts = []string{":"}
		}
		fmt.Fprintf(&b, "\t%s)\n\t\t%s\n\t\t;;\n", key, strings.Join(acts, "\n\t\t"))
	}
	b.WriteString("\tesac\n\treturn 0\n}\n\n")
	fmt.Fprintf(&b, "complete -F %s %s\n", fn, prog)
	return b.String()
}

// ---- zsh -----------------------------------------------------------------

func zshSpecs(fs *pflag.FlagSet) []string {
	var specs []string
	for _, f := range visible(fs) {
		desc := describe(f.Usage)
		k := kindOf(f)
		takes := !(k.none || f.Value.Type() == "bool")
		var action string
		if takes {
			mv, _ := metavar(f)
			msg := strings.ToLower(mv)
			switch {
			case k.files == "dir":
				action = ":" + msg + ":_files -/"
			case k.files != "":
				action = ":" + msg + ":_files"
			case len(safeWords(k.values)) > 0 && k.list:
				action = ":" + msg + ":_sequence compadd - " + strings.Join(safeWords(k.values), " ")
			case len(safeWords(k.values)) > 0:
				action = ":" + msg + ":(" + strings.Join(safeWords(k.values), " ") + ")"
			default:
				action = ":" + msg + ": "
			}
		}
		repeat := ""
		if t := f.Value.Type(); strings.HasSuffix(t, "Array") || strings.HasSuffix(t, "Slice") {
			repeat = "*"
		}
		long := "--" + f.Name
		if takes {
			long += "="
		}
		if s := shorthand(f); s != "" {
			short := "-" + s
			if takes {
				short += "+"
			}
			excl := "(-" + s + " --" + f.Name + ")"
			if repeat != "" {
				excl = ""
			}
			specs = append(specs, squote(excl+repeat)+"{"+short+","+long+"}"+squote("["+desc+"]"+action))
		} else {
			specs = append(specs, squote(repeat+long+"["+desc+"]"+action))
		}
	}
	return append(specs, squote("(- *)--help[show the help]"))
}

func (c *Command) zsh() string {
	prog := c.Name
	fn := "_" + ident(prog)
	var b strings.Builder
	fmt.Fprintf(&b, `#compdef %[1]s
# zsh completion for %[1]s, generated from its flags by '%[1]s completion zsh'.
# Load it in this shell:  source <(%[1]s completion zsh)
# or install it:          %[1]s completion zsh > "${fpath[1]}/_%[1]s"   (then run compinit)

%[2]s() {
	if ((CURRENT > 2)); then
		case ${words[2]} in
		%[3]s)
			local cmd=${words[2]}
			shift words
			((CURRENT--))
			%[2]s_$cmd
			return
			;;
		esac
	fi
	%[2]s_root
}

%[2]s_commands() {
	local -a commands
	commands=(
`, prog, fn, strings.Join(c.commandNames(), "|"))
	for _, s := range c.Commands {
		fmt.Fprintf(&b, "\t\t%s\n", squote(s.Short()+":"+describe(s.Summary)))
	}
	fmt.Fprintf(&b, "\t)\n\t_describe -t commands 'command' commands\n}\n")

	for _, cmd := range c.all() {
		name := "root"
		if cmd != c {
			name = ident(cmd.Short())
		}
		specs := zshSpecs(cmd.Flags)
		switch {
		case cmd.Args.Commands && cmd == c:
			specs = append(specs, squote("1: :"+fn+"_first"), squote("*: :_hosts"))
		case cmd.Args.Commands:
			specs = append(specs, squote("1: :"+fn+"_commands"))
		case len(safeWords(cmd.Args.Words)) > 0:
			specs = append(specs, squote("1: :("+strings.Join(safeWords(cmd.Args.Words), " ")+")"))
		case cmd.Args.Files && cmd.Args.Hosts:
			specs = append(specs, squote("*: :"+fn+"_hosts_files"))
		case cmd.Args.Files:
			specs = append(specs, squote("*: :_files"))
		case cmd.Args.Hosts:
			specs = append(specs, squote("*: :_hosts"))
		}
		fmt.Fprintf(&b, "\n%s_%s() {\n\t_arguments -s -S \\\n\t\t%s\n}\n", fn, name, strings.Join(specs, " \\\n\t\t"))
	}
	fmt.Fprintf(&b, `
%[1]s_first() {
	%[1]s_commands
	_hosts
}

%[1]s_hosts_files() {
	_hosts
	_files
}

if [ "$funcstack[1]" = "%[1]s" ]; then
	%[1]s "$@"
else
	compdef %[1]s %[2]s
fi
`, fn, prog)
	return b.String()
}

// ---- fish ----------------------------------------------------------------

func (c *Command) fish() string {
	prog := c.Name
	fn := "__" + ident(prog)
	var b strings.Builder
	fmt.Fprintf(&b, `# fish completion for %[1]s, generated from its flags by '%[1]s completion fish'.
# Install it: %[1]s completion fish > ~/.config/fish/completions/%[1]s.fish

# %[2]s_using CMD: the command line is of subcommand CMD ("" for none).
function %[2]s_using
	set -l words (commandline -opc)
	set -l cmd ""
	if test (count $words) -ge 2; and contains -- $words[2] %[3]s
		set cmd $words[2]
	end
	test "$cmd" = "$argv[1]"
end

# %[2]s_list WORD...: the words after what the current token already lists.
function %[2]s_list
	set -l tok (commandline -ct)
	set tok (string replace -r -- '^--?[^=]*=' '' $tok)
	set -l pre (string replace -r -- '[^,]*$' '' $tok)
	for w in $argv
		echo $pre$w
	end
end

complete -c %[1]s -f
`, prog, fn, strings.Join(c.commandNames(), " "))
	for _, s := range c.Commands {
		fmt.Fprintf(&b, "complete -c %s -n %s -a %s -d %s\n", prog, squote(fn+`_using ""; and test (count (commandline -opc)) -eq 1`),
			s.Short(), squote(describe(s.Summary)))
	}
	for _, cmd := range c.all() {
		key := `""`
		if cmd != c {
			key = cmd.Short()
		}
		cond := squote(fn + "_using " + key)
		for _, f := range visible(cmd.Flags) {
			k := kindOf(f)
			line := fmt.Sprintf("complete -c %s -n %s", prog, cond)
			if s := shorthand(f); s != "" {
				line += " -s " + s
			}
			line += " -l " + f.Name
			if !(k.none || f.Value.Type() == "bool") {
				switch {
				case k.files != "":
					line += " -r -F"
				case len(safeWords(k.values)) > 0 && k.list:
					line += " -x -a " + squote("("+fn+"_list "+strings.Join(safeWords(k.values), " ")+")")
				case len(safeWords(k.values)) > 0:
					line += " -x -a " + squote(strings.Join(safeWords(k.values), " "))
				default:
					line += " -x"
				}
			}
			b.WriteString(line + " -d " + squote(describe(f.Usage)) + "\n")
		}
		fmt.Fprintf(&b, "complete -c %s -n %s -l help -d 'show the help'\n", prog, cond)
		switch {
		case cmd.Args.Commands && cmd != c:
			fmt.Fprintf(&b, "complete -c %s -n %s -a %s\n", prog, cond, squote(strings.Join(c.commandNames(), " ")))
		case len(safeWords(cmd.Args.Words)) > 0:
			fmt.Fprintf(&b, "complete -c %s -n %s -a %s\n", prog, cond, squote(strings.Join(safeWords(cmd.Args.Words), " ")))
		}
		if cmd.Args.Hosts {
			fmt.Fprintf(&b, "complete -c %s -n %s -a '(__fish_print_hostnames)'\n", prog, cond)
		}
		if cmd.Args.Files {
			fmt.Fprintf(&b, "complete -c %s -n %s -F\n", prog, cond)
		}
	}
	return b.String()
}

// FlagNames lists the long names of the visible flags of every command,
// sorted, for tests.
func (c *Command) FlagNames() map[string][]string {
	out := map[string][]string{}
	for _, cmd := range c.all() {
		var names []string
		for _, f := range visible(cmd.Flags) {
			names = append(names, f.Name)
		}
		sort.Strings(names)
		out[cmd.Name] = names
	}
	return out
}
