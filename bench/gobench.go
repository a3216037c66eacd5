//go:build unix

package main

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
)

// benchPackages hold the hot paths: the wire parsers, NTLM, the classify
// table and the sweep's target expansion and writers. (The exporter's
// ScrapeStorm probes the lab for minutes; run it by itself.)
var benchPackages = []string{"./negotiate/...", "./classify/", "./sweep/"}

// goBenchmarks runs the Go benchmarks with allocation counts and keeps
// their result lines.
func goBenchmarks(t *table) {
	args := append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem"}, benchPackages...)
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		t.fail("go test -bench", err.Error()+": "+tail(out, 300))
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "Benchmark") {
			t.benchmarks = append(t.benchmarks, l)
		}
	}
	if len(t.benchmarks) == 0 {
		t.fail("go test -bench", "no benchmark ran: "+tail(out, 300))
	}
}
