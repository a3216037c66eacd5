package sweep

import (
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/rdpprobe/rdpprobe/report"
)

// Merged is several sweeps' JSONL (shards, sites, reruns) as one: one
// report per target, the newest.
type Merged struct {
	// Reports, in target order (addresses numerically, then names).
	Reports []*report.Report
	// Read counts the reports read, Replaced the older ones of a target
	// that a newer one replaced.
	Read, Replaced int
	// Start and End span the reports' probes.
	Start, End time.Time
}

// Merger gathers sweeps' JSONL, one file after the other (so that a
// thousand sites' files need not be open at once).
type Merger struct {
	m        Merged
	files    int
	byTarget map[string]*report.Report
}

// Add reads one sweep's JSONL. Per target it keeps the report whose probe
// started last; of two that started at the same moment, the one added
// later. A line that is not a report is an error naming the file and the
// line, but a line cut off at the end of a file (a sweep killed
// mid-write) is skipped, as --resume does.
func (g *Merger) Add(name string, r io.Reader) error {
	if g.byTarget == nil {
		g.byTarget = map[string]*report.Report{}
	}
	g.files++
	_, err := ReadResume(r, func(rep *report.Report) {
		g.m.Read++
		if old, ok := g.byTarget[rep.Target]; ok {
			g.m.Replaced++
			if rep.Start.Before(old.Start) {
				return
			}
		}
		g.byTarget[rep.Target] = rep
	})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// Files is how many files were added.
func (g *Merger) Files() int { return g.files }

// Merged returns the union, in target order.
func (g *Merger) Merged() *Merged {
	m := g.m
	m.Reports = nil
	for _, rep := range g.byTarget {
		m.Reports = append(m.Reports, rep)
		if m.Start.IsZero() || rep.Start.Before(m.Start) {
			m.Start = rep.Start
		}
		if end := rep.Start.Add(time.Duration(rep.DurationMS * float64(time.Millisecond))); end.After(m.End) {
			m.End = end
		}
	}
	sort.Slice(m.Reports, func(i, j int) bool {
		ki, kj := targetKey(m.Reports[i].Target), targetKey(m.Reports[j].Target)
		if ki != kj {
			return ki < kj
		}
		return m.Reports[i].Target < m.Reports[j].Target
	})
	return &m
}

// Summary is the end of the merged sweep for the reports that have one:
// every target done, the classes counted, the logons the reports made.
func (m *Merged) Summary(description string, files int) *Summary {
	sum := &Summary{Total: uint64(len(m.Reports)), Targets: description, Merged: files, Replaced: m.Replaced}
	sum.Start, sum.End = m.Start, m.End
	sum.Done = uint64(len(m.Reports))
	sum.Classes = map[string]int{}
	for _, rep := range m.Reports {
		sum.Classes[rep.Class]++
		if rep.LogonAttempted {
			sum.LogonAttempts++
			if locksAccount(rep) {
				sum.LogonFailures++
			}
		}
	}
	return sum
}
