package classify

// CONTRACT STUB — the classify helper replaces this (same exported names).

import "github.com/rdpprobe/rdpprobe/probe"

// Group is a family of classes; each maps to one exit code.
type Group string

type Class struct {
	ID          string
	Group       Group
	Phase       probe.Phase
	Title       string
	WindowsSays string
	Cause       string
	Fix         string
}

type Finding struct {
	ID   string
	Text string
}

type Verdict struct {
	Class    Class
	Phase    probe.Phase
	OK       bool
	Detail   string
	Findings []Finding
}

func (v Verdict) ExitCode() int   { return 0 }
func (v Verdict) NagiosCode() int { return 0 }

var Classes []Class

func Classify(r *probe.Result) Verdict { return Verdict{} }
