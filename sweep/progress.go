package sweep

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// Progress redraws one status line on a terminal: done/total, rate, ETA and
// the counts per class. It draws at most every Interval (default 250ms).
type Progress struct {
	W        io.Writer
	Total    uint64       // 0 if unknown: then only done and rate
	Stats    func() Stats // the live counters
	Width    func() int   // terminal width; nil or <= 0 means 100
	Interval time.Duration
	Now      func() time.Time

	stop chan struct{}
	done sync.WaitGroup
	// rate estimate
	lastT    time.Time
	lastDone uint64
	rate     float64
}

// Start draws until Stop.
func (p *Progress) Start() {
	if p.Interval <= 0 {
		p.Interval = 250 * time.Millisecond
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	p.stop = make(chan struct{})
	p.done.Go(func() {
		t := time.NewTicker(p.Interval)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				fmt.Fprint(p.W, "\r\x1b[K"+p.Line(p.Stats(), p.Now()))
			}
		}
	})
}

// Stop stops drawing and clears the line.
func (p *Progress) Stop() {
	if p.stop == nil {
		return
	}
	close(p.stop)
	p.done.Wait()
	p.stop = nil
	fmt.Fprint(p.W, "\r\x1b[K")
}

// Line is the status line for st at now; it updates the rate estimate.
func (p *Progress) Line(st Stats, now time.Time) string {
	done := st.Done + st.Dropped
	if p.lastT.IsZero() {
		p.lastT, p.lastDone = st.Start, 0
		if p.lastT.IsZero() {
			p.lastT = now
		}
	}
	if dt := now.Sub(p.lastT).Seconds(); dt >= 0.2 {
		inst := float64(done-p.lastDone) / dt
		if p.rate == 0 {
			p.rate = inst
		} else {
			p.rate = 0.7*p.rate + 0.3*inst
		}
		p.lastT, p.lastDone = now, done
	}
	var b strings.Builder
	total := p.Total
	if total > st.Skipped {
		total -= st.Skipped
	}
	if p.Total > 0 {
		fmt.Fprintf(&b, "%d/%d %.1f%%", done, total, 100*float64(done)/float64(max(total, 1)))
	} else {
		fmt.Fprintf(&b, "%d done", done)
	}
	fmt.Fprintf(&b, " · %.0f/s", p.rate)
	if p.Total > 0 && done < total {
		if p.rate > 0 {
			eta := time.Duration(float64(total-done) / p.rate * float64(time.Second))
			fmt.Fprintf(&b, " · ETA %s", eta.Round(time.Second))
		} else {
			b.WriteString(" · ETA ?")
		}
	}
	if st.LogonsStopped != "" {
		b.WriteString(" · LOGONS STOPPED")
	}
	b.WriteString(" · ")
	b.WriteString(ClassCounts(st.Classes))
	width := 100
	if p.Width != nil {
		if w := p.Width(); w > 0 {
			width = w
		}
	}
	line := b.String()
	if r := []rune(line); len(r) > width-1 {
		line = string(r[:max(width-2, 0)]) + "…"
	}
	return line
}

// ClassCounts is "tcp_refused 256, ok 3, ..." by count, largest first.
func ClassCounts(classes map[string]int) string {
	type kv struct {
		k string
		v int
	}
	var l []kv
	for k, v := range classes {
		l = append(l, kv{k, v})
	}
	sort.Slice(l, func(i, j int) bool {
		if l[i].v != l[j].v {
			return l[i].v > l[j].v
		}
		return l[i].k < l[j].k
	})
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = fmt.Sprintf("%s %d", e.k, e.v)
	}
	return strings.Join(parts, ", ")
}
