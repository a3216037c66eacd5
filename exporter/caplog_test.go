package exporter

import (
	"context"
	"strings"
	"testing"

	"github.com/rdpprobe/rdpprobe/probe"
)

func TestCapLog(t *testing.T) {
	small := []byte("short log\n")
	if got := capLog(small); string(got) != string(small) {
		t.Errorf("a short log changed: %q", got)
	}
	big := make([]byte, maxScrapeLog+12345)
	got := capLog(big)
	if len(got) > maxScrapeLog+100 || !strings.Contains(string(got[maxScrapeLog:]), "12345 more bytes of this log not kept") {
		t.Errorf("a %d-byte log kept %d bytes, ending %q", len(big), len(got), got[maxScrapeLog:])
	}
}

// TestNTLMLabelsEscaped: the exposition format escapes only \, " and
// newline in a label value; the server's names get visible escapes.
func TestNTLMLabelsEscaped(t *testing.T) {
	h := newHarness(t, testPassword, Options{})
	h.exp.opt.Run = func(ctx context.Context, target string, opt probe.Options) *probe.Result {
		r := h.srv.run(ctx, target, opt)
		r.NTLM.NetBIOSComputer, r.NTLM.NetBIOSDomain = "SRV\x1b[2J", "\u202eLAB"
		return r
	}
	_, body := h.get("/probe?target=10.0.0.5&module=info")
	if strings.ContainsAny(body, "\x1b\u202e") || !strings.Contains(body, `netbios_computer="SRV\\x1b[2J"`) || !strings.Contains(body, `netbios_domain="\\u202eLAB"`) {
		t.Errorf("the NTLM labels are not escaped:\n%s", grep(body, "probe_rdp_ntlm_info"))
	}
}
