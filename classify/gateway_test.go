package classify

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/negotiate/tsgu"
	"github.com/rdpprobe/rdpprobe/probe"
)

var gatewayPhases = []probe.Phase{probe.PhaseGatewayConnect, probe.PhaseGatewayTLS, probe.PhaseGatewayAuth,
	probe.PhaseGatewayTunnel, probe.PhaseGatewayChannel}

// gwFailed builds a run through gw.corp.example that failed at gateway
// phase ph with err.
func gwFailed(ph probe.Phase, err error) *probe.Result {
	r := &probe.Result{
		Target: "rds01.corp.example", Host: "rds01.corp.example", Port: 3389, Start: t0,
		User: `CORP\alice`, Credentials: true, Offered: probe.DefaultProtocols, Failed: ph, Err: err,
		Gateway: &probe.GatewayInfo{Address: "gw.corp.example", Host: "gw.corp.example", Port: 443, User: `CORP\alice`},
	}
	for i, p := range gatewayPhases {
		r.Timings = append(r.Timings, probe.PhaseTiming{Phase: p, Duration: 20 * time.Millisecond})
		if p == ph {
			break
		}
		r.Reached = gatewayPhases[i]
	}
	g := r.Gateway
	if r.Reached != "" {
		g.Addr = "192.0.2.1:443"
	}
	if pastTLS := r.Reached != "" && r.Reached != probe.PhaseGatewayConnect; pastTLS {
		g.TLS = &probe.TLSInfo{Version: tls.VersionTLS13, Certificate: &probe.CertInfo{Subject: "CN=gw.corp.example", NotAfter: t0.Add(400 * 24 * time.Hour)}}
	}
	switch ph {
	case probe.PhaseGatewayTunnel, probe.PhaseGatewayChannel:
		g.Transport, g.LogonAttempted, g.Authenticated = probe.GatewayHTTP, true, true
	}
	return r
}

func refused(pkt tsgu.PacketType, code tsgu.HResult) error {
	return &probe.GatewayRefusedError{Packet: pkt, Code: code}
}

var gatewayCases = []classCase{
	{"gateway: name does not resolve", gwFailed(probe.PhaseGatewayConnect, &net.OpError{Op: "dial", Net: "tcp",
		Err: &net.DNSError{Err: "no such host", Name: "gw.corp.example", IsNotFound: true}}), GatewayUnreachable, probe.PhaseGatewayConnect, 3},
	{"gateway: refused", gwFailed(probe.PhaseGatewayConnect, syscallErr("connect", syscall.ECONNREFUSED)), GatewayUnreachable, probe.PhaseGatewayConnect, 3},
	{"gateway: connect timeout", gwFailed(probe.PhaseGatewayConnect, &probe.PhaseTimeoutError{Phase: probe.PhaseGatewayConnect, Err: context.DeadlineExceeded}),
		GatewayUnreachable, probe.PhaseGatewayConnect, 3},
	{"gateway: TLS reset", gwFailed(probe.PhaseGatewayTLS, &probe.TLSHandshakeError{Err: syscallErr("read", syscall.ECONNRESET)}),
		GatewayTLSFailed, probe.PhaseGatewayTLS, 4},
	{"gateway: untrusted certificate", gwFailed(probe.PhaseGatewayTLS, &probe.GatewayCertError{Trust: probe.TrustUnknownAuthority}),
		GatewayCertNotTrusted, probe.PhaseGatewayTLS, 4},
	{"gateway: IIS 404", gwFailed(probe.PhaseGatewayAuth, &probe.NotGatewayError{Channel: "RDG_OUT_DATA", Status: 404, Reason: "Not Found", Server: "Microsoft-IIS/10.0"}),
		GatewayNotRDG, probe.PhaseGatewayAuth, 4},
	{"gateway: not HTTP", gwFailed(probe.PhaseGatewayAuth, &probe.NotGatewayError{Channel: "RDG_OUT_DATA", NotHTTP: "TPKT (an RDP listener, not a gateway)"}),
		GatewayNotRDG, probe.PhaseGatewayAuth, 4},
	{"gateway: wrong password", gwFailed(probe.PhaseGatewayAuth, &probe.GatewayAuthError{Channel: "RDG_OUT_DATA", Status: 401, Attempted: true}),
		GatewayAuthFailed, probe.PhaseGatewayAuth, 5},
	{"gateway: no credentials", gwFailed(probe.PhaseGatewayAuth, &probe.GatewayAuthError{Channel: "RDG_OUT_DATA", Status: 401, NoCredentials: true, Schemes: []string{"Negotiate", "NTLM"}}),
		GatewayAuthFailed, probe.PhaseGatewayAuth, 5},
	{"gateway: Basic only", gwFailed(probe.PhaseGatewayAuth, &probe.GatewayAuthError{Channel: "RDG_OUT_DATA", Status: 401, BasicOnly: true, Schemes: []string{"Basic"}}),
		GatewayAuthFailed, probe.PhaseGatewayAuth, 5},
	{"gateway: no WebSocket", gwFailed(probe.PhaseGatewayAuth, &probe.GatewayTransportError{Want: probe.GatewayWebSocket}), GatewayError, probe.PhaseGatewayAuth, 6},
	{"gateway: CAP", gwFailed(probe.PhaseGatewayTunnel, refused(tsgu.TypeTunnelAuthResponse, tsgu.EProxyNAPAccessDenied)), GatewayCAPDenied, probe.PhaseGatewayTunnel, 5},
	{"gateway: quarantine", gwFailed(probe.PhaseGatewayTunnel, refused(tsgu.TypeTunnelAuthResponse, tsgu.EProxyQuarantineAccessDenied)), GatewayQuarantine, probe.PhaseGatewayTunnel, 5},
	{"gateway: max connections", gwFailed(probe.PhaseGatewayTunnel, refused(tsgu.TypeTunnelResponse, 0x800759E6)), GatewayMaxConnections, probe.PhaseGatewayTunnel, 6},
	{"gateway: RAP", gwFailed(probe.PhaseGatewayChannel, refused(tsgu.TypeChannelResponse, tsgu.EProxyRAPAccessDenied)), GatewayRAPDenied, probe.PhaseGatewayChannel, 5},
	{"gateway: target unreachable", gwFailed(probe.PhaseGatewayChannel, refused(tsgu.TypeChannelResponse, tsgu.EProxyTSConnectFailed)), GatewayTargetUnreachable, probe.PhaseGatewayChannel, 3},
	{"gateway: target unreachable, Win32 code", gwFailed(probe.PhaseGatewayChannel, refused(tsgu.TypeChannelResponse, 0x000059DD)), GatewayTargetUnreachable, probe.PhaseGatewayChannel, 3},
	{"gateway: internal error at the channel", gwFailed(probe.PhaseGatewayChannel, refused(tsgu.TypeChannelResponse, tsgu.EProxyInternalError)), GatewayError, probe.PhaseGatewayChannel, 6},
	{"gateway: unknown code", gwFailed(probe.PhaseGatewayTunnel, refused(tsgu.TypeHandshakeResponse, 0x80071234)), GatewayError, probe.PhaseGatewayTunnel, 6},
	{"gateway: malformed", gwFailed(probe.PhaseGatewayTunnel, tsgu.ErrMalformed), GatewayProtocolError, probe.PhaseGatewayTunnel, 7},
	{"gateway: closed mid-tunnel", gwFailed(probe.PhaseGatewayTunnel, io.ErrUnexpectedEOF), GatewayProtocolError, probe.PhaseGatewayTunnel, 7},
	{"gateway: stalls at the channel", gwFailed(probe.PhaseGatewayChannel, &probe.PhaseTimeoutError{Phase: probe.PhaseGatewayChannel, Err: context.DeadlineExceeded}),
		Timeout, probe.PhaseGatewayChannel, 6},
	{"gateway: closes the channel with a code during the logon", with(gwFailed(probe.PhaseGatewayChannel, nil), func(r *probe.Result) {
		r.Failed, r.Reached, r.Err = probe.PhaseLogon, probe.PhaseNTLMInfo, &probe.GatewayClosedError{Status: tsgu.EProxySessionTimeout, Err: io.EOF}
	}), GatewayError, probe.PhaseLogon, 6},
	{"gateway: depth gateway", with(gwFailed(probe.PhaseGatewayChannel, nil), func(r *probe.Result) {
		r.Failed, r.Reached = "", probe.PhaseGatewayChannel
	}), OK, probe.PhaseGatewayChannel, 0},
	{"gateway: the target refuses NLA-less offers", with(failed(probe.PhaseNegotiate, negFail(negotiate.HybridRequiredByServer)), func(r *probe.Result) {
		r.Offered = negotiate.ProtocolSSL
		r.Gateway = &probe.GatewayInfo{Host: "gw.corp.example", Port: 443, Transport: probe.GatewayWebSocket, Authenticated: true, User: `CORP\alice`}
	}), NLARequired, probe.PhaseNegotiate, 4},
}

func init() {
	cases = append(cases, gatewayCases...)
	for _, c := range []ID{GatewayUnreachable, GatewayTargetUnreachable} {
		wantExit[c] = 3
	}
	for _, c := range []ID{GatewayTLSFailed, GatewayCertNotTrusted, GatewayNotRDG} {
		wantExit[c] = 4
	}
	for _, c := range []ID{GatewayAuthFailed, GatewayCAPDenied, GatewayRAPDenied, GatewayQuarantine} {
		wantExit[c] = 5
	}
	for _, c := range []ID{GatewayMaxConnections, GatewayError} {
		wantExit[c] = 6
	}
	wantExit[GatewayProtocolError] = 7
	// A failed gateway logon may lock the account, and every target
	// behind the gateway would fail the same way: no more logons.
	wantLocksAccount[GatewayAuthFailed], wantAccountLevel[GatewayAuthFailed] = true, true
}

func TestGatewayDetails(t *testing.T) {
	for _, tc := range []struct {
		r    *probe.Result
		want []string
	}{
		{gatewayCases[1].r, []string{"gw.corp.example:443", "refused"}},
		{gatewayCases[5].r, []string{"HTTP 404 Not Found", "Microsoft-IIS/10.0", "without the RD Gateway role"}},
		{gatewayCases[6].r, []string{"TPKT"}},
		{gatewayCases[7].r, []string{`CORP\alice`, "401", "no logon was tried at rds01.corp.example:3389"}},
		{gatewayCases[8].r, []string{"needs credentials", "Negotiate, NTLM"}},
		{gatewayCases[11].r, []string{"E_PROXY_NAP_ACCESSDENIED (0x800759DB)", "tunnel authorization", "CAP"}},
		{gatewayCases[14].r, []string{"E_PROXY_RAP_ACCESSDENIED (0x800759DA)", "rds01.corp.example:3389", "RAP"}},
		{gatewayCases[16].r, []string{"E_PROXY_TS_CONNECTFAILED (0x000059DD)"}},
		{gatewayCases[17].r, []string{"E_PROXY_INTERNALERROR", "often means", "refused"}},
		{gatewayCases[18].r, []string{"0x80071234", "handshake"}},
		{gatewayCases[22].r, []string{"E_PROXY_SESSIONTIMEOUT", "closed the channel", "the logon"}},
		{gatewayCases[23].r, []string{"authorized the channel to rds01.corp.example:3389", "http transport", "logged on as CORP\\alice"}},
		{gatewayCases[24].r, []string{"HYBRID_REQUIRED_BY_SERVER", "through the RD Gateway gw.corp.example:443 (websocket transport"}},
	} {
		v := Classify(tc.r)
		for _, w := range tc.want {
			if !strings.Contains(v.Detail, w) {
				t.Errorf("%s: detail %q lacks %q", v.Class.ID, v.Detail, w)
			}
		}
	}
}

func TestGatewayFindings(t *testing.T) {
	r := with(gwFailed(probe.PhaseGatewayChannel, nil), func(r *probe.Result) {
		r.Failed, r.Reached = "", probe.PhaseGatewayChannel
		r.Gateway.TLS.Certificate.NotAfter = t0.Add(10 * 24 * time.Hour)
		r.Gateway.ConsentMessage = "Authorized use only"
	})
	got := map[string]bool{}
	for _, f := range Classify(r).Findings {
		got[f.ID] = true
	}
	for _, id := range []string{FindingGatewayCertExpiring, FindingGatewayConsent} {
		if !got[id] {
			t.Errorf("no finding %s in %v", id, got)
		}
	}
}
