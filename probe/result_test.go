package probe_test

import (
	"testing"

	"github.com/rdpprobe/rdpprobe/probe"
)

func TestParsePhase(t *testing.T) {
	for _, p := range probe.Phases {
		if got, err := probe.ParsePhase(string(p)); got != p || err != nil {
			t.Errorf("ParsePhase(%q) = %q, %v", p, got, err)
		}
	}
	const names = "(use connect, negotiate, tls, kerberos, ntlm_info, logon, session)"
	for _, bad := range []string{"", "deep", "TLS", " tls", "tcp"} {
		got, err := probe.ParsePhase(bad)
		if want := `unknown phase "` + bad + `" ` + names; got != "" || err == nil || err.Error() != want {
			t.Errorf("ParsePhase(%q) = %q, %v; want the error %q", bad, got, err, want)
		}
	}
}

func TestDeepest(t *testing.T) {
	for _, tc := range []struct {
		in   []probe.Phase
		want probe.Phase
	}{
		{nil, ""},
		{[]probe.Phase{probe.PhaseTLS}, probe.PhaseTLS},
		{[]probe.Phase{probe.PhaseLogon, probe.PhaseConnect, probe.PhaseNTLMInfo}, probe.PhaseLogon},
		{[]probe.Phase{probe.PhaseConnect, probe.PhaseSession, probe.PhaseLogon}, probe.PhaseSession},
		{[]probe.Phase{probe.PhaseNegotiate, probe.PhaseNegotiate}, probe.PhaseNegotiate},
	} {
		if got := probe.Deepest(tc.in...); got != tc.want {
			t.Errorf("Deepest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
