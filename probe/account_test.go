package probe

import "testing"

func TestParseAccount(t *testing.T) {
	for _, tc := range []struct {
		in, user, domain string
		err              bool
	}{
		{`LAB\labuser`, "labuser", "LAB", false},
		{`.\Administrator`, "Administrator", ".", false},
		{`alice@corp.example.com`, "alice@corp.example.com", "", false},
		{`alice`, "alice", "", false},
		{``, "", "", true},
		{`LAB\`, "", "", true},
		{`LAB\a\b`, "", "", true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			user, domain, err := ParseAccount(tc.in)
			if (err != nil) != tc.err || user != tc.user || domain != tc.domain {
				t.Fatalf("ParseAccount(%q) = %q, %q, %v; want %q, %q, error %v", tc.in, user, domain, err, tc.user, tc.domain, tc.err)
			}
		})
	}
}
