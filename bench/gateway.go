//go:build unix

package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/rdpprobe/rdpprobe/rdptest"
)

// gatewayClients are the logons through an RD Gateway: rdpprobe and
// xfreerdp, over each transport, to the lab's NLA server behind rdptest's
// gateway emulator. caFile is the emulator's CA, for rdpprobe (xfreerdp
// ignores the certificate).
func gatewayClients(c *config, caFile string) []client {
	account := c.lab.domain + `\` + c.lab.user
	host, port, _ := net.SplitHostPort(c.lab.nla)
	probe := func(transport string) func(gh, gp string) command {
		return func(gh, gp string) command {
			return command{args: []string{c.rdpprobe, c.lab.nla, "-u", account, "--gateway", net.JoinHostPort(gh, gp),
				"--gateway-transport", transport, "--ca-file", caFile, "--output", "json"},
				env: []string{"RDPPROBE_PASSWORD=" + c.lab.password}}
		}
	}
	xfreerdp := func(gt string) func(gh, gp string) command {
		return func(gh, gp string) command {
			// /from-stdin:force asks for the password, then the gateway's.
			return command{args: []string{"xfreerdp", "/v:" + host, "/port:" + port, "/u:" + c.lab.user, "/d:" + c.lab.domain,
				"/g:" + net.JoinHostPort(gh, gp), "/gu:" + c.lab.user, "/gd:" + c.lab.domain, "/gt:" + gt,
				"/from-stdin:force", "/cert:ignore", "+auth-only", "/sec:nla"},
				env: []string{"DISPLAY=" + c.lab.display}, stdin: c.lab.password + "\n" + c.lab.password + "\n"}
		}
	}
	probeOK := func(out []byte) bool { return rdpprobeClass(out) == "ok" && contains(out, `"logon_attempted": true`) }
	xfOK := func(out []byte) bool { return contains(out, "Authentication only, exit status 0") }
	return []client{
		{name: "rdpprobe --gateway (websocket)", logon: true, cmd: probe("websocket"), ok: probeOK},
		{name: "xfreerdp /gt:http (websocket)", logon: true, cmd: xfreerdp("http"), ok: xfOK},
		{name: "rdpprobe --gateway (http)", logon: true, cmd: probe("http"), ok: probeOK},
		{name: "xfreerdp /gt:http,no-websockets", logon: true, cmd: xfreerdp("http,no-websockets"), ok: xfOK},
	}
}

// gatewayMinimumFlights is the protocol's own minimum for a logon through
// a gateway over WebSocket at TLS 1.3 on both hops: to the gateway, the
// ClientHello, its Finished with the NTLM NEGOTIATE, the AUTHENTICATE (3);
// the handshake, tunnel, tunnel authorization and channel requests, 1
// each (4); then the target's logon as without a gateway (5). The
// CLOSE_CHANNEL goes out with the goodbye, and nothing waits on it.
const gatewayMinimumFlights = 3 + 4 + 5

// gatewayFlights measures logons through the gateway: client flights on
// the WebSocket transport's one connection (the HTTP transport's two
// connections hand their turns to each other, which a per-connection count
// cannot see, so for it the wall time through the delay is the measure),
// wall times, and rdpprobe's CPU against xfreerdp's.
func gatewayFlights(c *config, t *table, tmp string) {
	gw, err := rdptest.NewGateway(rdptest.GatewayScenario{Accounts: map[string]string{c.lab.domain + `\` + c.lab.user: c.lab.password}})
	if err != nil {
		t.fail("gateway", fmt.Sprintf("gateway emulator: %v", err))
		return
	}
	defer gw.Close()
	caFile := filepath.Join(tmp, "rdptest-ca.pem")
	if err := os.WriteFile(caFile, rdptest.TestCAPEM(), 0o644); err != nil {
		t.fail("gateway", err.Error())
		return
	}
	// 127.0.0.1: the emulator's certificate names it.
	slow, err := newDelayProxy("127.0.0.1:0", gw.Addr, c.delay)
	if err != nil {
		t.fail("gateway", err.Error())
		return
	}
	defer slow.Close()
	fast, err := newDelayProxy("127.0.0.1:0", gw.Addr, 0)
	if err != nil {
		t.fail("gateway", err.Error())
		return
	}
	defer fast.Close()

	res := map[string]measured{}
	cls := gatewayClients(c, caFile)
	for _, cl := range cls {
		m := measureClient(c, cl, slow, fast)
		res[cl.name] = m
		if m.err != "" {
			t.fail(cl.name, m.err)
			continue
		}
		t.note("%s through the %v proxy in front of the gateway: %d flights (+%d closing alert) over %d connection(s), %s (without the delay: %s)",
			cl.name, c.delay, m.flights, m.goodbyes, m.conns, ms(m.slow), ms(m.fast))
	}
	ws, xws := res["rdpprobe --gateway (websocket)"], res["xfreerdp /gt:http (websocket)"]
	if ws.err == "" && xws.err == "" {
		t.add(row{metric: "logon through an RD Gateway, WebSocket (client flights)", ours: fmt.Sprint(ws.flights),
			peer: fmt.Sprintf("xfreerdp /gt:http: %d", xws.flights), ratio: ratio(float64(ws.flights), float64(xws.flights)),
			goal: fmt.Sprintf("≤ %d (protocol minimum at TLS 1.3; CLOSE_CHANNEL goes with the goodbye)", gatewayMinimumFlights), met: ws.flights <= gatewayMinimumFlights})
	}
	rtt := 2 * c.delay
	for _, pair := range [][2]string{{"rdpprobe --gateway (websocket)", "xfreerdp /gt:http (websocket)"}, {"rdpprobe --gateway (http)", "xfreerdp /gt:http,no-websockets"}} {
		o, p := res[pair[0]], res[pair[1]]
		if o.err != "" || p.err != "" {
			continue
		}
		// The goal: the WebSocket transport's flights, plus the wait for
		// the gateway's CLOSE_CHANNEL_RESPONSE, each an RTT, plus the run's
		// own time. The HTTP transport's second channel connects and gets
		// its CHALLENGE beside the first, but its AUTHENTICATE waits for
		// the first's to pass (so that a wrong password is one failed
		// logon, not two): one RTT more, and no other.
		extra, how := 1.5, "WebSocket flights+1.5"
		if pair[0] == "rdpprobe --gateway (http)" {
			extra, how = 2.5, "WebSocket flights+2.5"
		}
		limit := time.Duration((float64(ws.flights)+extra)*float64(rtt)) + o.fast
		t.add(row{metric: fmt.Sprintf("logon through an RD Gateway, %s, wall time, RTT %v", pair[0][len("rdpprobe --gateway ("):len(pair[0])-1], rtt),
			ours: ms(o.slow), peer: fmt.Sprintf("%s: %s", pair[1], ms(p.slow)), ratio: ratio(float64(o.slow), float64(p.slow)),
			goal: fmt.Sprintf("≤ (%s)×RTT + own time = %s", how, ms(limit)), met: o.slow <= limit})
	}

	// CPU: one logon through the gateway, without the delay.
	host, port, _ := net.SplitHostPort(fast.Addr())
	cpu := func(cl client) (time.Duration, string) {
		var cpus []time.Duration
		for i := 0; i < 2*c.reps-1; i++ {
			r := cl.cmd(host, port).run(60 * time.Second)
			if !cl.ok(r.out) {
				return 0, fmt.Sprintf("%s did not log on (%v): %s", cl.name, r.err, tail(r.out, 300))
			}
			cpus = append(cpus, r.cpu)
		}
		return median(cpus), ""
	}
	oc, oerr := cpu(cls[2])
	pc, perr := cpu(cls[3])
	if oerr != "" || perr != "" {
		t.fail("CPU per logon through an RD Gateway", oerr+perr)
		return
	}
	t.add(row{metric: "CPU per logon through an RD Gateway, HTTP transport (user+sys)", ours: ms(oc), peer: "xfreerdp: " + ms(pc),
		ratio: ratio(float64(oc), float64(pc)), goal: "≤ 0.20 of xfreerdp", met: float64(oc) <= 0.20*float64(pc)})
}
