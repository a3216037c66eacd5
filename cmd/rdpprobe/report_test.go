package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/internal/labtest"
)

// shardTargets are loopback addresses on the lab's closed port and one
// more, where nothing listens: every probe is refused at once, lab or no
// lab, and no packet leaves the machine.
var shardTargets = []string{"127.0.1.0/28", "--ports", "33899,33898"}

func targetsOf(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	for _, l := range readJSONL(t, path) {
		out = append(out, l["target"].(string))
	}
	return out
}

// TestShardsAndMergedReport: three shards of one sweep are disjoint and
// together the whole sweep; rdpprobe report merges them (and a later rerun
// of part of one) into one HTML, CSV and JSONL report, one row per target,
// the newest result.
func TestShardsAndMergedReport(t *testing.T) {
	labtest.Peer(t, "closed") // loopback only, as the lab's addresses
	dir := t.TempDir()
	whole := filepath.Join(dir, "whole.jsonl")
	if code, _, stderr := rdpprobe(t, append([]string{"sweep", "-o", whole}, shardTargets...)...); code != 0 {
		t.Fatalf("whole sweep: exit %d\n%s", code, stderr)
	}
	want := slices.Sorted(slices.Values(targetsOf(t, whole)))
	if len(want) != 32 {
		t.Fatalf("the whole sweep has %d targets", len(want))
	}
	for _, shuffle := range [][]string{nil, {"--shuffle", "--seed", "7"}} {
		var shards []string
		seen := map[string]string{}
		var union []string
		for k := 1; k <= 3; k++ {
			out := filepath.Join(dir, "shard"+itoa(k)+strings.Join(shuffle, "")+".jsonl")
			args := append(append([]string{"sweep", "--shard", itoa(k) + "/3", "-o", out}, shuffle...), shardTargets...)
			code, _, stderr := rdpprobe(t, args...)
			if code != 0 || !strings.Contains(stderr, "probed of "+itoa([]int{11, 11, 10}[k-1])+" targets") {
				t.Fatalf("shard %d/3: exit %d\n%s", k, code, stderr)
			}
			for _, target := range targetsOf(t, out) {
				if prev, dup := seen[target]; dup {
					t.Errorf("%s is in %s and %s", target, prev, out)
				}
				seen[target] = out
				union = append(union, target)
			}
			shards = append(shards, out)
		}
		if got := slices.Sorted(slices.Values(union)); !slices.Equal(got, want) {
			t.Fatalf("shuffle %v: the shards' union is not the whole sweep:\n%q\n%q", shuffle, got, want)
		}
		if shuffle != nil {
			continue
		}

		// A rerun of part of shard 1, later: its results replace the old ones.
		time.Sleep(10 * time.Millisecond)
		rerun := filepath.Join(dir, "rerun.jsonl")
		if code, _, stderr := rdpprobe(t, "sweep", "-o", rerun, "127.0.1.0:33899", "127.0.1.1:33898"); code != 0 {
			t.Fatalf("rerun: exit %d\n%s", code, stderr)
		}
		html, csvPath, jsonl := filepath.Join(dir, "all.html"), filepath.Join(dir, "all.csv"), filepath.Join(dir, "all.jsonl")
		code, stdout, stderr := rdpprobe(t, append(append([]string{"report"}, shards...), rerun, "-o", html, "-o", csvPath, "-o", jsonl)...)
		if code != 0 || stdout != "" || !strings.Contains(stderr, "32 targets from 34 reports of 4 files (2 older results replaced)") {
			t.Fatalf("report: exit %d, stdout %q\n%s", code, stdout, stderr)
		}
		merged := readJSONL(t, jsonl)
		if got := slices.Sorted(slices.Values(targetsOf(t, jsonl))); !slices.Equal(got, want) {
			t.Fatalf("the merged JSONL has %q", got)
		}
		rerunStart := map[string]string{}
		for _, l := range readJSONL(t, rerun) {
			rerunStart[l["target"].(string)] = l["start"].(string)
		}
		for _, l := range merged {
			if s, ok := rerunStart[l["target"].(string)]; ok && l["start"] != s {
				t.Errorf("%s: kept the result of %v, not the rerun's of %s", l["target"], l["start"], s)
			}
		}
		f, _ := os.Open(csvPath)
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil || len(rows) != 33 {
			t.Fatalf("CSV: %d rows, %v", len(rows), err)
		}
		page, _ := os.ReadFile(html)
		for _, w := range []string{`<table id="hosts" data-rows="32">`, `id="merged"`, "Merged from 4 reports", "2 older results replaced",
			`data-class="tcp_refused" data-count="32"`} {
			if !bytes.Contains(page, []byte(w)) {
				t.Errorf("the merged HTML lacks %s", w)
			}
		}
		// To standard output without -o.
		code, stdout, _ = rdpprobe(t, "report", shards[0], shards[1])
		if code != 0 || strings.Count(stdout, "\n") != 22 {
			t.Errorf("report to stdout: exit %d, %d lines", code, strings.Count(stdout, "\n"))
		}
		t.Run("browser", func(t *testing.T) { checkLayout(t, measure(t, html)) })
	}
}

func TestShardAndReportUsageErrors(t *testing.T) {
	dir := t.TempDir()
	notes := filepath.Join(dir, "notes.jsonl")
	os.WriteFile(notes, []byte("not json\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sweep", "--shard", "4/3", "h"}, "--shard: shard \"4/3\": need 1 <= K <= N"},
		{[]string{"sweep", "--shard", "2", "h"}, "write K/N"},
		{[]string{"sweep", "--shard", "1/2", "--shuffle", "h"}, "--shard with --shuffle needs a --seed"},
		{[]string{"report"}, "no input"},
		{[]string{"report", notes}, notes + ": line 1: not an rdpprobe report"},
		{[]string{"report", filepath.Join(dir, "none.jsonl")}, "no such file"},
		{[]string{"report", notes, "-o", notes}, "is also an input"},
		{[]string{"report", notes, "--output", "xml"}, "--output must be jsonl, csv or html"},
		{[]string{"report", notes, "-o", filepath.Join(dir, "x.txt")}, "cannot tell the format"},
	} {
		code, stdout, stderr := rdpprobe(t, tc.args...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want %q", tc.args, code, stderr, tc.want)
		}
	}
	if b, _ := os.ReadFile(notes); string(b) != "not json\n" {
		t.Error("an input was overwritten")
	}
}
