package sweep

import (
	"strings"
	"testing"
)

// TestParseErrorsNameNoFlag: the command adds --rate or --ports to these
// errors; the parsers must not, or the flag is named twice.
func TestParseErrorsNameNoFlag(t *testing.T) {
	for _, bad := range []string{"fast", "10/d"} {
		if _, err := ParseRate(bad); err == nil || strings.Contains(err.Error(), "--") || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseRate(%q): %v", bad, err)
		}
	}
	for _, bad := range []string{"", "0", "5-3", "1-"} {
		if _, err := ParsePorts(bad); err == nil || strings.Contains(err.Error(), "--") {
			t.Errorf("ParsePorts(%q): %v", bad, err)
		}
	}
}
