package probe_test

import (
	"context"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/internal/labtest"
	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
)

// TestLabEnumerate maps the lab's real servers. Each expectation is what
// the server was seen to answer; the comments say why it answers so.
func TestLabEnumerate(t *testing.T) {
	sel := func(p negotiate.Protocol) want { return want{selected: p.String()} }
	acc := func(p negotiate.Protocol) want { return want{accepted: true, selected: p.String()} }
	fail := func(c negotiate.FailureCode) want { return want{failure: c} }
	for _, tc := range []struct {
		peer  string
		want  map[negotiate.Protocol]want
		level negotiate.EncryptionLevel // checked when accepted is not nil
		// accepted encryption methods; nil when PROTOCOL_RDP is refused
		accepted []negotiate.EncryptionMethod
	}{
		{
			// FreeRDP /sec:nla: CredSSP only, no Early User Authorization
			// (asked for HYBRID|HYBRID_EX it selects plain HYBRID).
			peer: "nla",
			want: map[negotiate.Protocol]want{
				rdp: fail(negotiate.HybridRequiredByServer), ssl: fail(negotiate.HybridRequiredByServer),
				hybrid: acc(hybrid), hex: sel(hybrid),
				rdstls: fail(negotiate.HybridRequiredByServer), rdsaad: fail(negotiate.HybridRequiredByServer),
			},
		},
		{
			peer: "nla-ext", // SSL_REQUIRED_BY_SERVER to everything
			want: allSame(fail(negotiate.SSLRequiredByServer)),
		},
		{
			// FreeRDP /sec:tls: TLS only; asked for CredSSP alone it says
			// SSL_REQUIRED_BY_SERVER, as 2.2.1.2.2 describes.
			peer: "tls",
			want: map[negotiate.Protocol]want{
				rdp: fail(negotiate.SSLRequiredByServer), ssl: acc(ssl),
				hybrid: fail(negotiate.SSLRequiredByServer), hex: fail(negotiate.SSLRequiredByServer),
				rdstls: fail(negotiate.SSLRequiredByServer), rdsaad: fail(negotiate.SSLRequiredByServer),
			},
		},
		{
			// FreeRDP /sec:rdp: standard RDP security at level None (it
			// answers every method with ENCRYPTION_METHOD_NONE).
			peer: "rdp",
			want: map[negotiate.Protocol]want{
				rdp: acc(rdp), ssl: fail(negotiate.SSLNotAllowedByServer), hybrid: fail(negotiate.SSLNotAllowedByServer),
				hex: fail(negotiate.SSLNotAllowedByServer), rdstls: fail(negotiate.SSLNotAllowedByServer),
				rdsaad: fail(negotiate.SSLNotAllowedByServer),
			},
			level:    negotiate.EncryptionLevelNone,
			accepted: []negotiate.EncryptionMethod{},
		},
		{
			// xrdp (security_layer=negotiate): TLS or standard RDP
			// security. Asked for any CredSSP flavour or RDSTLS it selects
			// PROTOCOL_RDP; asked for RDSAAD it hangs up with an MCS
			// Disconnect Provider Ultimatum. At level High it selects
			// 128-bit RC4 whatever is offered.
			peer: "xrdp",
			want: map[negotiate.Protocol]want{
				rdp: acc(rdp), ssl: acc(ssl), hybrid: sel(rdp), hex: sel(rdp), rdstls: sel(rdp),
				rdsaad: {errKind: "disconnect"},
			},
			level:    negotiate.EncryptionLevelHigh,
			accepted: []negotiate.EncryptionMethod{negotiate.EncryptionMethod128Bit},
		},
		{
			peer: "xrdp-rdp", // xrdp with security_layer=rdp
			want: map[negotiate.Protocol]want{
				rdp: acc(rdp), ssl: sel(rdp), hybrid: sel(rdp), hex: sel(rdp), rdstls: sel(rdp),
				rdsaad: {errKind: "disconnect"},
			},
			level:    negotiate.EncryptionLevelHigh,
			accepted: []negotiate.EncryptionMethod{negotiate.EncryptionMethod128Bit},
		},
	} {
		t.Run(tc.peer, func(t *testing.T) {
			m := probe.Enumerate(context.Background(), labtest.Peer(t, tc.peer), probe.Options{Timeout: 10 * time.Second})
			t.Logf("%s: map in %v", tc.peer, m.Duration)
			for p, w := range tc.want {
				checkLayer(t, m.Layer(p), w)
			}
			if tc.accepted == nil {
				if m.Encryption != nil {
					t.Errorf("encryption map for a server that refuses PROTOCOL_RDP: %+v", m.Encryption)
				}
				return
			}
			e := m.Encryption
			if e == nil || !e.LevelKnown || e.Level != tc.level {
				t.Fatalf("encryption map %+v, want level %v", e, tc.level)
			}
			for _, mr := range e.Methods {
				want := false
				for _, a := range tc.accepted {
					want = want || a == mr.Method
				}
				if mr.Accepted != want || !mr.HasServerData {
					t.Errorf("%v: accepted %v (server data %v, selected %v, err %v), want %v", mr.Method, mr.Accepted, mr.HasServerData, mr.Selected, mr.Err, want)
				}
			}
		})
	}
}
