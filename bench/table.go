//go:build unix

package main

import (
	"fmt"
	"strings"
	"time"
)

// row is one line of the results: rdpprobe's figure, the peer's, their
// ratio and the goal, which met says whether rdpprobe reached.
type row struct {
	metric, ours, peer, ratio, goal string
	met                             bool
	note                            string
}

type table struct {
	machine, loadBefore, loadAfter string
	peers                          []string
	rows                           []row
	notes                          []string
	benchmarks                     []string // `go test -bench` result lines
	failed                         int
}

func (t *table) add(r row) {
	if !r.met {
		t.failed++
	}
	t.rows = append(t.rows, r)
	mark := "ok  "
	if !r.met {
		mark = "MISS"
	}
	fmt.Printf("%s %-48s %14s %26s %8s  goal %s\n", mark, r.metric, r.ours, r.peer, r.ratio, r.goal)
}

// fail records a measurement that could not be taken, with why.
func (t *table) fail(metric, why string) {
	t.failed++
	t.rows = append(t.rows, row{metric: metric, ours: "failed", note: why})
	fmt.Printf("FAIL %-48s %s\n", metric, why)
}

func (t *table) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	t.notes = append(t.notes, s)
	fmt.Println("     " + s)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
func mb(b int64) string         { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }
func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func (t *table) markdown(c config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# rdpprobe benchmarks\n\n")
	fmt.Fprintf(&b, "Written by `make bench` (bench/main.go) on %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- Machine: %s\n", t.machine)
	fmt.Fprintf(&b, "- Load average before/after: %s / %s\n", t.loadBefore, t.loadAfter)
	fmt.Fprintf(&b, "- Peers: %s\n", strings.Join(t.peers, "; "))
	fmt.Fprintf(&b, "- Proxy delay %v each way (RTT %v); %d runs per measurement, medians shown\n\n", c.delay, 2*c.delay, c.reps)
	b.WriteString("Timings vary on shared machines: compare only figures of the same run.\n\n")
	b.WriteString("| metric | rdpprobe | peer | ratio | goal | met |\n|---|---|---|---|---|---|\n")
	for _, r := range t.rows {
		met := "yes"
		if !r.met {
			met = "**no**"
		}
		if r.ours == "failed" {
			met = "**failed**: " + r.note
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.metric, r.ours, r.peer, r.ratio, r.goal, met)
	}
	if len(t.notes) > 0 {
		b.WriteString("\nNotes:\n\n")
		for _, n := range t.notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	if len(t.benchmarks) > 0 {
		b.WriteString("\nGo benchmarks (`go test -run '^$' -bench . -benchmem`):\n\n```\n")
		for _, l := range t.benchmarks {
			b.WriteString(l + "\n")
		}
		b.WriteString("```\n")
	}
	return b.String()
}
