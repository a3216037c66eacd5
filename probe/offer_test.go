package probe_test

import (
	"strings"
	"testing"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
)

func TestParseOffer(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want negotiate.Protocol
		rdp  bool
	}{
		{probe.DefaultOffer, probe.DefaultProtocols, false},
		{"tls", negotiate.ProtocolSSL, false},
		{"RDP, nla", negotiate.ProtocolHybrid, true},
		{"rdp", 0, true},
	} {
		if p, rdp, err := probe.ParseOffer(tc.in); p != tc.want || rdp != tc.rdp || err != nil {
			t.Errorf("ParseOffer(%q) = %v, %v, %v; want %v, %v", tc.in, p, rdp, err, tc.want, tc.rdp)
		}
	}
	// The command adds --protocols, the exporter its YAML key: the parser
	// names neither.
	for bad, want := range map[string]string{
		"kerberos": `unknown protocol "kerberos" (use rdp, tls, nla, nla-ext)`,
		",":        "offer at least one of rdp, tls, nla, nla-ext",
	} {
		if _, _, err := probe.ParseOffer(bad); err == nil || err.Error() != want || strings.Contains(err.Error(), "--") {
			t.Errorf("ParseOffer(%q): error %v, want %q", bad, err, want)
		}
	}
}
