package probe

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/negotiate/ntlm"
)

func TestServerClock(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		filetime uint64
		at       time.Time
		invalid  bool
	}{
		{"five seconds ahead", ntlm.TimeToFileTime(now.Add(5 * time.Second)), now, false},
		{"ten years behind", ntlm.TimeToFileTime(now.AddDate(-10, 0, 0)), now, false},
		{"FILETIME 0, 1601", 0, now, true},
		{"FILETIME 1, 1601", 1, now, true},
		{"year 30000", ntlm.TimeToFileTime(time.Date(30000, 1, 1, 0, 0, 0, 0, time.UTC)), now, true},
		{"FILETIME max", ^uint64(0), now, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := ntlm.FileTimeToTime(tc.filetime)
			if tc.filetime == 0 {
				st = time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC) // what a zero field means
			}
			got, skew, invalid := serverClock(st, tc.at)
			if (invalid != "") != tc.invalid {
				t.Fatalf("invalid = %q, want invalid %v", invalid, tc.invalid)
			}
			if tc.invalid && (!got.IsZero() || skew != 0) {
				t.Errorf("an invalid clock kept time %v skew %v", got, skew)
			}
			if !tc.invalid && skew != st.Sub(tc.at) {
				t.Errorf("skew %v, want %v", skew, st.Sub(tc.at))
			}
			// Whatever the server sent, the facts stay encodable.
			if _, err := json.Marshal(&NTLMInfo{ServerTime: got, ClockSkew: skew, ServerTimeInvalid: invalid}); err != nil {
				t.Errorf("facts do not encode: %v", err)
			}
		})
	}
}
