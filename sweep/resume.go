package sweep

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/report"
)

// Resume is what an earlier sweep's JSONL says is done.
type Resume struct {
	// Done holds the "target" of every complete line.
	Done map[string]struct{}
	// LogonFailures counts lines whose class LocksAccount and whose probe
	// gave the server the credentials: they count against
	// --max-logon-failures, since the lockout window may still be open.
	LogonFailures int
	// LogonHosts are hosts a logon was attempted on.
	LogonHosts []string
	// Valid is the length of the file's complete lines. A sweep killed
	// mid-write leaves a partial last line: truncate the file to Valid
	// before appending (its target is not in Done and runs again).
	Valid int64
	// NeedNewline: the last line is complete JSON but lacks its newline.
	NeedNewline bool
	// Partial is the partial last line's length (0 if none).
	Partial int
}

// maxReportLine caps one JSONL line when resuming (a report is a few KiB).
const maxReportLine = 1 << 20

// ReadResume reads a sweep's JSONL. each, if not nil, sees every report
// (to carry the earlier results into this run's CSV and HTML). A line that
// is not a report is an error, except a partial last line.
func ReadResume(r io.Reader, each func(*report.Report)) (*Resume, error) {
	res := &Resume{Done: map[string]struct{}{}}
	br := bufio.NewReaderSize(r, 64<<10)
	hosts := map[string]bool{}
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if len(b) > maxReportLine {
			return nil, fmt.Errorf("line %d: longer than %d bytes", line, maxReportLine)
		}
		if len(b) == 0 && err == io.EOF {
			return res, nil
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		complete := err == nil
		text := bytes.TrimSpace(b)
		if len(text) == 0 {
			if complete {
				res.Valid += int64(len(b))
			}
			if err == io.EOF {
				return res, nil
			}
			continue
		}
		rep := new(report.Report)
		if jerr := json.Unmarshal(text, rep); jerr != nil || rep.Target == "" || rep.Class == "" {
			if !complete { // cut off mid-write
				res.Partial = len(b)
				return res, nil
			}
			if jerr == nil {
				jerr = errors.New(`no "target" or "class"`)
			}
			return nil, fmt.Errorf("line %d: not an rdpprobe report: %v", line, jerr)
		}
		res.Valid += int64(len(b))
		res.NeedNewline = !complete
		res.Done[rep.Target] = struct{}{}
		if locksAccount(rep) && rep.CredentialsUsed() {
			res.LogonFailures++
		}
		if rep.CredentialsUsed() {
			h := hostKey(rep.Target)
			if !hosts[h] {
				hosts[h] = true
				res.LogonHosts = append(res.LogonHosts, h)
			}
		}
		if each != nil {
			each(rep)
		}
		if !complete {
			return res, nil
		}
	}
}

// Skip reports whether target is done.
func (r *Resume) Skip(target string) bool {
	_, ok := r.Done[target]
	return ok
}

// locksAccount reads the class table; a class it does not know (a report of
// a newer rdpprobe) counts when its group is authentication, to stay safe.
func locksAccount(rep *report.Report) bool {
	if c, ok := classify.Lookup(classify.ID(rep.Class)); ok {
		return c.LocksAccount
	}
	return rep.Group == string(classify.GroupAuthentication)
}
