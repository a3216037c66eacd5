package exporter

import (
	"runtime/metrics"
	"time"
)

// reasonStarved: the probe ran, but the exporter's goroutines waited so
// long to be scheduled meanwhile (the machine's cores were busy) that a
// timeout says nothing of the target.
const reasonStarved = "cpu_starved"

// starvedAfter is how long one goroutine may wait runnable before a
// timeout during it is the exporter's, not the target's: a tenth of the
// shortest phase deadline worth probing with.
const starvedAfter = 100 * time.Millisecond

// slowSchedules counts, since the process started, the times a goroutine
// waited runnable longer than min before it ran (runtime/metrics'
// /sched/latencies:seconds). Its growth over a probe says the probe was
// starved of CPU.
func slowSchedules(min time.Duration) uint64 {
	s := []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return 0
	}
	h := s[0].Value.Float64Histogram()
	var n uint64
	for i, c := range h.Counts {
		// Buckets[i] is bucket i's lower bound.
		if h.Buckets[i] >= min.Seconds() {
			n += c
		}
	}
	return n
}
