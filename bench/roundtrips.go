//go:build unix

package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"time"
)

// Proxies listen on port 3389 because impacket's rdp_check dials no other;
// these loopback addresses keep them clear of a server on 127.0.0.1.
const (
	slowProxyAddr = "127.0.0.9:3389"  // delays each chunk by -delay
	fastProxyAddr = "127.0.0.10:3389" // the same path without the delay: the peers' own time
	rdpCheck      = "/usr/share/doc/python3-impacket/examples/rdp_check.py"
)

// client is one way of asking the lab's NLA server a question.
type client struct {
	name  string
	logon bool
	cmd   func(host, port string) command
	ok    func(out []byte) bool // the run really got its answer
}

func clients(c *config) []client {
	account := c.lab.domain + `\` + c.lab.user
	return []client{
		{name: "rdpprobe --depth ntlm_info", cmd: func(h, p string) command {
			return command{args: []string{c.rdpprobe, net.JoinHostPort(h, p), "--depth", "ntlm_info", "--output", "json"}}
		}, ok: func(out []byte) bool { return rdpprobeClass(out) == "ok" && contains(out, `"ntlm"`) }},
		{name: "nmap --script rdp-ntlm-info", cmd: func(h, p string) command {
			return command{args: []string{"nmap", "-Pn", "-n", "-p", p, "--script", "+rdp-ntlm-info", h}}
		}, ok: func(out []byte) bool { return contains(out, "Target_Name") }},
		{name: "rdpprobe -u (logon)", logon: true, cmd: func(h, p string) command {
			return command{args: []string{c.rdpprobe, net.JoinHostPort(h, p), "-u", account, "--output", "json"},
				env: []string{"RDPPROBE_PASSWORD=" + c.lab.password}}
		}, ok: func(out []byte) bool { return rdpprobeClass(out) == "ok" && contains(out, `"logon_attempted": true`) }},
		{name: "xfreerdp +auth-only", logon: true, cmd: func(h, p string) command {
			return command{args: []string{"xfreerdp", "/v:" + h, "/port:" + p, "/u:" + c.lab.user, "/d:" + c.lab.domain,
				"/from-stdin:force", "/cert:ignore", "+auth-only", "/sec:nla"},
				env: []string{"DISPLAY=" + c.lab.display}, stdin: c.lab.password + "\n"}
		}, ok: func(out []byte) bool { return contains(out, "Authentication only, exit status 0") }},
		{name: "impacket rdp_check", logon: true, cmd: func(h, p string) command {
			// rdp_check asks for the password (getpass) when the target has none.
			return command{args: []string{"/usr/bin/python3", rdpCheck, c.lab.domain + "/" + c.lab.user + "@" + h},
				stdin: c.lab.password + "\n"}
		}, ok: func(out []byte) bool { return contains(out, "Access Granted") }},
	}
}

func rdpprobeClass(out []byte) string {
	var v struct {
		Class string `json:"class"`
	}
	json.Unmarshal(out, &v)
	return v.Class
}

func rdpprobeTLS(out []byte) string {
	var v struct {
		TLS struct {
			Version string `json:"version"`
		} `json:"tls"`
	}
	json.Unmarshal(out, &v)
	return v.TLS.Version
}

// measured is a client's median run through each proxy.
type measured struct {
	flights, goodbyes, conns int
	slow, fast               time.Duration
	tls                      string
	err                      string
}

func measureClient(c *config, cl client, slow, fast *delayProxy) measured {
	var m measured
	var slowWalls, fastWalls []time.Duration
	var flights []int64
	for i := 0; i < c.reps; i++ {
		for _, p := range []*delayProxy{slow, fast} {
			host, port, _ := net.SplitHostPort(p.Addr())
			p.Reset()
			r := cl.cmd(host, port).run(60 * time.Second)
			f, g, conns := p.Wait(5 * time.Second)
			if !cl.ok(r.out) {
				m.err = fmt.Sprintf("%s did not get its answer (%v): %s", cl.name, r.err, tail(r.out, 300))
				return m
			}
			if p == slow {
				slowWalls = append(slowWalls, r.wall)
				flights = append(flights, int64(f))
				m.conns, m.goodbyes = conns, g
				m.tls = rdpprobeTLS(r.out)
			} else {
				fastWalls = append(fastWalls, r.wall)
			}
		}
	}
	m.flights = int(medianInt(flights))
	m.slow, m.fast = median(slowWalls), median(fastWalls)
	return m
}

// minimumFlights is the protocol's own minimum: X.224 1, TLS 1.2 2 (TLS
// 1.3 1: the client's Finished travels with its first TSRequest), CredSSP
// 1 to the CHALLENGE and 2 more for a logon (AUTHENTICATE with pubKeyAuth,
// then TSCredentials).
func minimumFlights(tlsVersion string, logon bool) int {
	n := 1 + 2 + 1
	if tlsVersion == "TLS 1.3" {
		n = 1 + 1 + 1
	}
	if logon {
		n += 2
	}
	return n
}

func roundTrips(c *config, t *table) {
	slow, err := newDelayProxy(slowProxyAddr, c.lab.nla, c.delay)
	if err != nil {
		t.fail("round trips", fmt.Sprintf("proxy on %s: %v (impacket needs port 3389; run as root)", slowProxyAddr, err))
		return
	}
	defer slow.Close()
	fast, err := newDelayProxy(fastProxyAddr, c.lab.nla, 0)
	if err != nil {
		t.fail("round trips", fmt.Sprintf("proxy on %s: %v", fastProxyAddr, err))
		return
	}
	defer fast.Close()
	if _, err := os.Stat(rdpCheck); err != nil {
		t.note("impacket's rdp_check.py is missing (%v)", err)
	}

	rtt := 2 * c.delay
	res := map[string]measured{}
	for _, cl := range clients(c) {
		m := measureClient(c, cl, slow, fast)
		res[cl.name] = m
		if m.err != "" {
			t.fail(cl.name, m.err)
			continue
		}
		t.note("%s through the %v proxy: %d flights (+%d closing alert) over %d connection(s), %s (without the delay: %s)",
			cl.name, c.delay, m.flights, m.goodbyes, m.conns, ms(m.slow), ms(m.fast))
	}

	compare := func(metric, ours, peer string, logon bool) {
		o, p := res[ours], res[peer]
		if o.err != "" || p.err != "" {
			return
		}
		min := minimumFlights(o.tls, logon)
		t.add(row{metric: metric + " (client flights)", ours: fmt.Sprint(o.flights), peer: fmt.Sprintf("%s: %d", peer, p.flights),
			ratio: ratio(float64(o.flights), float64(p.flights)),
			goal:  fmt.Sprintf("≤ %d (protocol minimum at %s)", min, o.tls), met: o.flights <= min})
	}
	compare("NTLM info", "rdpprobe --depth ntlm_info", "nmap --script rdp-ntlm-info", false)
	compare("logon", "rdpprobe -u (logon)", "xfreerdp +auth-only", true)
	compare("logon", "rdpprobe -u (logon)", "impacket rdp_check", true)

	wall := func(metric, ours, peer string) {
		o, p := res[ours], res[peer]
		if o.err != "" {
			return
		}
		limit := time.Duration(float64(o.flights)+0.5)*rtt + o.fast
		peerText, r := "–", "–"
		if p.err == "" {
			peerText = fmt.Sprintf("%s: %s", peer, ms(p.slow))
			r = ratio(float64(o.slow), float64(p.slow))
		}
		t.add(row{metric: metric + fmt.Sprintf(" wall time, RTT %v", rtt), ours: ms(o.slow), peer: peerText, ratio: r,
			goal: fmt.Sprintf("≤ (flights+0.5)×RTT + own time = %s", ms(limit)), met: o.slow <= limit})
	}
	wall("NTLM info", "rdpprobe --depth ntlm_info", "nmap --script rdp-ntlm-info")
	wall("logon", "rdpprobe -u (logon)", "xfreerdp +auth-only")
}

// cpuAndMemory runs one logon straight at the lab's NLA server, rdpprobe
// and xfreerdp in turn, and compares their user+sys time and peak RSS.
func cpuAndMemory(c *config, t *table) {
	host, port, _ := net.SplitHostPort(c.lab.nla)
	var ours, peer client
	for _, cl := range clients(c) {
		switch cl.name {
		case "rdpprobe -u (logon)":
			ours = cl
		case "xfreerdp +auth-only":
			peer = cl
		}
	}
	reps := 2*c.reps - 1
	measure := func(cl client) (cpu time.Duration, rss int64, err string) {
		var cpus []time.Duration
		var rsss []int64
		for i := 0; i < reps; i++ {
			r := cl.cmd(host, port).run(60 * time.Second)
			if !cl.ok(r.out) {
				return 0, 0, fmt.Sprintf("%s did not log on (%v): %s", cl.name, r.err, tail(r.out, 300))
			}
			cpus = append(cpus, r.cpu)
			rsss = append(rsss, r.rss)
		}
		return median(cpus), medianInt(rsss), ""
	}
	oc, orss, oerr := measure(ours)
	pc, prss, perr := measure(peer)
	if oerr != "" || perr != "" {
		t.fail("CPU and memory per logon", oerr+perr)
		return
	}
	cr := float64(oc) / float64(pc)
	t.add(row{metric: "CPU per logon (user+sys)", ours: ms(oc), peer: "xfreerdp: " + ms(pc), ratio: ratio(float64(oc), float64(pc)),
		goal: "≤ 0.20 of xfreerdp", met: cr <= 0.20})
	mr := float64(orss) / float64(prss)
	t.add(row{metric: "peak RSS per logon", ours: mb(orss), peer: "xfreerdp: " + mb(prss), ratio: ratio(float64(orss), float64(prss)),
		goal: "≤ 0.50 of xfreerdp", met: mr <= 0.50})
}
