package sweep

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rdpprobe/rdpprobe/report"
)

func line(target, group string, logon bool) string {
	b, _ := json.Marshal(&report.Report{SchemaVersion: 1, Class: "c_" + group, Group: group, Target: target, LogonAttempted: logon,
		Phases: []report.PhaseReport{}, Findings: []report.FindingJSON{}})
	return string(b) + "\n"
}

func TestReadResume(t *testing.T) {
	body := line("10.0.0.1:3389", "ok", true) + "\n" + line("10.0.0.2:3389", "authentication", true) +
		line("10.0.0.3:3389", "unreachable", false) + line("[::1]:3389", "authentication", true)
	var seen []string
	res, err := ReadResume(strings.NewReader(body), func(r *report.Report) { seen = append(seen, r.Target) })
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Done) != 4 || len(seen) != 4 || res.LogonFailures != 2 || res.Partial != 0 || res.NeedNewline {
		t.Fatalf("%+v", res)
	}
	if res.Valid != int64(len(body)) {
		t.Fatalf("Valid %d of %d", res.Valid, len(body))
	}
	if !res.Skip("10.0.0.3:3389") || res.Skip("10.0.0.4:3389") {
		t.Fatal("Skip")
	}
	if strings.Join(res.LogonHosts, " ") != "10.0.0.1 10.0.0.2 ::1" {
		t.Fatalf("LogonHosts %q", res.LogonHosts)
	}
}

func TestReadResumeCutOffLine(t *testing.T) {
	good := line("10.0.0.1:3389", "ok", false)
	cut := line("10.0.0.2:3389", "ok", false)
	res, err := ReadResume(strings.NewReader(good+cut[:len(cut)/2]), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Valid != int64(len(good)) || res.Partial != len(cut)/2 || len(res.Done) != 1 {
		t.Fatalf("%+v", res)
	}
	// A complete last line without its newline counts, and needs one.
	res, err = ReadResume(strings.NewReader(good+strings.TrimSuffix(cut, "\n")), nil)
	if err != nil || len(res.Done) != 2 || !res.NeedNewline || res.Partial != 0 {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestReadResumeRejectsOtherFiles(t *testing.T) {
	for _, body := range []string{
		line("a:1", "ok", false) + "not json\n" + line("b:1", "ok", false),
		`{"hello":"world"}` + "\n",
		"target,class\n",
	} {
		if _, err := ReadResume(strings.NewReader(body), nil); err == nil || !strings.Contains(err.Error(), "not an rdpprobe report") {
			t.Errorf("%q: %v", body, err)
		}
	}
	if _, err := ReadResume(bytes.NewReader(nil), nil); err != nil {
		t.Errorf("an empty file: %v", err)
	}
}

// A line whose server answered before any credential went out (a faked
// lockout: account_locked_out or credssp_refused with logon_attempted
// false) does not count toward --max-logon-failures; an autologon that
// failed does.
func TestReadResumeCountsOnlyCredentialsUsed(t *testing.T) {
	mk := func(target, class string, logon, autologon bool) string {
		rep := &report.Report{SchemaVersion: 1, Class: class, Group: "authentication", Target: target, LogonAttempted: logon,
			Phases: []report.PhaseReport{}, Findings: []report.FindingJSON{}}
		if autologon {
			rep.Session = &report.SessionJSON{ClientInfoSent: true, Autologon: true}
		}
		b, _ := json.Marshal(rep)
		return string(b) + "\n"
	}
	body := mk("10.0.0.1:3389", "account_locked_out", false, false) + mk("10.0.0.2:3389", "credssp_refused", false, false) +
		mk("10.0.0.3:3389", "logon_failed", false, true) + mk("10.0.0.4:3389", "logon_failed", true, false)
	res, err := ReadResume(strings.NewReader(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.LogonFailures != 2 || strings.Join(res.LogonHosts, " ") != "10.0.0.3 10.0.0.4" {
		t.Fatalf("LogonFailures %d, LogonHosts %q; want 2 and the two hosts that were given the credentials", res.LogonFailures, res.LogonHosts)
	}
}
