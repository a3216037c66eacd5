package sweep

import (
	"strings"
	"testing"
	"time"
)

func jsonlLine(target, class string, start time.Time) string {
	return `{"schema_version":1,"class":"` + class + `","group":"ok","target":"` + target + `","start":"` + start.Format(time.RFC3339Nano) + `","phases":[],"findings":[]}` + "\n"
}

func TestMerge(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	site1 := jsonlLine("10.0.0.2:3389", "ok", t0) + jsonlLine("10.0.0.10:3389", "tcp_refused", t0) + jsonlLine("h:3389", "ok", t0)
	// A rerun: 10.0.0.10 newer, h at the same moment (the later file wins),
	// and 10.0.0.2 older (kept from site1); its last line was cut off.
	rerun := jsonlLine("10.0.0.10:3389", "ok", t0.Add(time.Hour)) + jsonlLine("h:3389", "nla_required", t0) +
		jsonlLine("10.0.0.2:3389", "tcp_timeout", t0.Add(-time.Hour)) + `{"schema_version":1,"cla`
	var g Merger
	if err := g.Add("site1", strings.NewReader(site1)); err != nil {
		t.Fatal(err)
	}
	if err := g.Add("rerun", strings.NewReader(rerun)); err != nil {
		t.Fatal(err)
	}
	m := g.Merged()
	var got []string
	for _, r := range m.Reports {
		got = append(got, r.Target+"="+r.Class)
	}
	if want := "10.0.0.2:3389=ok 10.0.0.10:3389=ok h:3389=nla_required"; strings.Join(got, " ") != want {
		t.Errorf("merged %q, want %q", strings.Join(got, " "), want)
	}
	if m.Read != 6 || m.Replaced != 3 || !m.Start.Equal(t0) {
		t.Errorf("read %d, replaced %d, start %v", m.Read, m.Replaced, m.Start)
	}
	sum := m.Summary("site1 rerun", g.Files())
	if sum.Total != 3 || sum.Classes["ok"] != 2 || sum.Merged != 2 || sum.Replaced != 3 {
		t.Errorf("summary %+v", sum)
	}
	if err := g.Add("notes.txt", strings.NewReader("hello\nworld\n")); err == nil || !strings.Contains(err.Error(), "notes.txt: line 1: not an rdpprobe report") {
		t.Errorf("a file that is not JSONL: %v", err)
	}
}
