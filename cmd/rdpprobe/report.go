package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	flag "github.com/spf13/pflag"

	"github.com/rdpprobe/rdpprobe/internal/cli"
	"github.com/rdpprobe/rdpprobe/sweep"
)

func init() {
	register(&command{doc: reportDoc, flags: func() *flag.FlagSet { return new(reportConfig).flags() }, run: reportMain, order: 3})
}

// reportDoc is rdpprobe report's help.
var reportDoc = cli.Command{
	Name:    "rdpprobe report",
	Summary: "merge the JSONL of several sweeps (shards, sites) into one report",
	Usage:   []string{"rdpprobe report [flags] FILE.jsonl ..."},
	Doc: `Reads the JSONL that rdpprobe sweep writes (-o FILE.jsonl, or its standard
output) from every FILE, keeps one result per target, the newest (by the
probe's start; a later FILE wins a tie), and writes the reports -o names:
.html, .csv or .jsonl, as the sweep does, or JSONL on standard output. The
HTML report says how many files it merged and how many older results it
replaced.`,
	Examples: []cli.Example{
		{Command: "rdpprobe report shard1.jsonl shard2.jsonl shard3.jsonl -o all.html -o all.csv"},
		{Command: "rdpprobe report site-*.jsonl > all.jsonl"},
	},
	Sections: []cli.Section{
		{Title: "Exit codes", Body: `0 the report was written, 1 a report could not be written, 2 usage error (an
unreadable FILE or one that is not rdpprobe JSONL included).`},
	},
	Args: cli.Args{Files: true},
}

type reportConfig struct {
	outs   []string
	output string
}

// flags defines rdpprobe report's flags on a new FlagSet, bound to c.
func (c *reportConfig) flags() *flag.FlagSet {
	fs := flag.NewFlagSet("rdpprobe report", flag.ContinueOnError)
	fs.SortFlags = false
	fs.StringArrayVarP(&c.outs, "out", "o", nil, "write a report to `FILE` (.jsonl, .csv or .html); repeatable; default JSONL on standard output")
	fs.StringVar(&c.output, "output", "", "`FORMAT` of every report: jsonl, csv or html (default: from -o's extension, else jsonl)")
	cli.SetValues(fs, "output", sweep.Formats...)
	return fs
}

func reportMain(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	var c reportConfig
	fs := c.flags()
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "rdpprobe report: "+format+"\n", a...)
		fmt.Fprintln(stderr, "Run 'rdpprobe report --help' for usage.")
		return exitUsage
	}
	if help, err := parseFlags("rdpprobe report", fs, args, stdout, stderr); help {
		return 0
	} else if err != nil {
		return usageErr("%v", err)
	}
	if fs.NArg() == 0 {
		return usageErr("no input: name the JSONL files of the sweeps to merge")
	}
	if c.output != "" && sweep.FormatOf("."+c.output) == "" {
		return usageErr("--output must be jsonl, csv or html, not %q", c.output)
	}
	// An output that is an input would be emptied before it is read.
	inputs := map[string]string{}
	for _, name := range fs.Args() {
		abs, _ := filepath.Abs(name)
		inputs[abs] = name
	}
	for _, name := range c.outs {
		if abs, _ := filepath.Abs(name); inputs[abs] != "" {
			return usageErr("-o %s is also an input", name)
		}
		// Checked now, opened (and emptied) only once the inputs are read.
		if c.output == "" && sweep.FormatOf(name) == "" {
			return usageErr("-o %s: cannot tell the format from the name; use .jsonl, .csv or .html, or --output", name)
		}
	}

	var merger sweep.Merger
	for _, name := range fs.Args() {
		if err := mergeFile(&merger, name, stdin); err != nil {
			return usageErr("%v", err)
		}
	}
	merged := merger.Merged()

	outs, err := openSweepOutputs(sweepConfig{outs: c.outs, output: c.output}, stdout)
	if err != nil {
		return usageErr("%v", err)
	}
	defer outs.closeFiles()
	var werr error
	for _, rep := range merged.Reports {
		werr = errors.Join(werr, outs.write(rep, resumedLogonNote(rep)))
	}
	sum := merged.Summary(strings.Join(fs.Args(), " "), merger.Files())
	werr = errors.Join(werr, outs.close(sum))
	fmt.Fprintf(stderr, "rdpprobe report: %d targets from %d reports of %d files (%d older results replaced): %s\n",
		len(merged.Reports), merged.Read, merger.Files(), merged.Replaced, sweep.ClassCounts(sum.Classes))
	if werr != nil {
		fmt.Fprintf(stderr, "rdpprobe report: writing a report: %v\n", werr)
		return sweepExitFailed
	}
	return 0
}

// mergeFile adds one JSONL file ("-": standard input) to the merger.
func mergeFile(m *sweep.Merger, name string, stdin *os.File) error {
	if name == "-" {
		return m.Add("standard input", stdin)
	}
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return m.Add(name, f)
}
