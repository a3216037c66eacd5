//go:build unix

package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/rdpprobe/rdpprobe/rdptest"
)

// kerberosProxyAddr fronts rdptest's Kerberos acceptor with the delay.
const kerberosProxyAddr = "127.0.0.11:3389"

// kerberosLogon measures a Kerberos logon through the lab's KDC and
// rdptest's acceptor: RDP-server flights (as for NTLM: ≤ 5 at TLS 1.3),
// KDC exchanges (≤ 3 with a password, 1 with a ccache's TGT), and CPU and
// peak RSS against xfreerdp's NTLM logon on the lab.
func kerberosLogon(c *config, t *table, tmp string) {
	kdc, realm, keytab := os.Getenv("RDPLAB_KDC"), env("RDPLAB_REALM", "LAB.TEST"), os.Getenv("RDPLAB_KEYTAB")
	spn := env("RDPLAB_SPN", "TERMSRV/localhost")
	if kdc == "" || keytab == "" {
		t.fail("Kerberos logon", "RDPLAB_KDC and RDPLAB_KEYTAB are not set: the lab's KDC is not up")
		return
	}
	srv, err := rdptest.NewServer(rdptest.KerberosLogon(keytab, spn))
	if err != nil {
		t.fail("Kerberos logon", err.Error())
		return
	}
	defer srv.Close()
	proxy, err := newDelayProxy(kerberosProxyAddr, srv.Addr, c.delay)
	if err != nil {
		t.fail("Kerberos logon", fmt.Sprintf("proxy on %s: %v", kerberosProxyAddr, err))
		return
	}
	defer proxy.Close()
	host, port, _ := net.SplitHostPort(proxy.Addr())
	base := []string{c.rdpprobe, net.JoinHostPort(host, port), "--auth", "kerberos", "--realm", realm, "--kdc", kdc, "--spn", spn, "--output", "json"}
	user := env("RDPLAB_KRB_GOOD_USER", "labuser")
	password := command{args: append(append([]string{}, base...), "-u", user), env: []string{"RDPPROBE_PASSWORD=" + c.lab.password}}

	cc := filepath.Join(tmp, "krb5cc")
	kinit := exec.Command("kinit", user)
	kinit.Env = append(os.Environ(), "KRB5_CONFIG="+os.Getenv("RDPLAB_KRB5_CONFIG"), "KRB5CCNAME=FILE:"+cc)
	kinit.Stdin = strings.NewReader(c.lab.password + "\n")
	var ccache *command
	if out, err := kinit.CombinedOutput(); err != nil {
		t.note("kinit for the ccache row failed: %v %s", err, out)
	} else {
		ccache = &command{args: append(append([]string{}, base...), "--ccache", "FILE:"+cc)}
	}

	type facts struct {
		Class string `json:"class"`
		Auth  struct {
			Mechanism string            `json:"mechanism"`
			Exchanges []json.RawMessage `json:"kdc_exchanges"`
		} `json:"auth"`
	}
	measure := func(cmd command) (flights, exchanges int, cpu time.Duration, rss int64, err string) {
		var fl, cpus []time.Duration
		var rsss, exs []int64
		for i := 0; i < c.reps; i++ {
			proxy.Reset()
			r := cmd.run(60 * time.Second)
			f, _, _ := proxy.Wait(5 * time.Second)
			var v facts
			json.Unmarshal(r.out, &v)
			if v.Class != "ok" || v.Auth.Mechanism != "Kerberos" {
				return 0, 0, 0, 0, fmt.Sprintf("no Kerberos logon (%v): %s", r.err, tail(r.out, 300))
			}
			fl, cpus = append(fl, time.Duration(f)), append(cpus, r.cpu)
			rsss, exs = append(rsss, r.rss), append(exs, int64(len(v.Auth.Exchanges)))
		}
		return int(median(fl)), int(medianInt(exs)), median(cpus), medianInt(rsss), ""
	}
	fl, ex, cpu, rss, errText := measure(password)
	if errText != "" {
		t.fail("Kerberos logon", errText)
		return
	}
	t.add(row{metric: "Kerberos logon (RDP-server flights)", ours: fmt.Sprint(fl), peer: "–", ratio: "–",
		goal: "≤ 5 (as NTLM at TLS 1.3)", met: fl <= 5})
	t.add(row{metric: "Kerberos logon with a password (KDC exchanges)", ours: fmt.Sprint(ex), peer: "–", ratio: "–",
		goal: "≤ 3 (AS, AS with PA-ENC-TIMESTAMP, TGS)", met: ex <= 3})
	if ccache != nil {
		if _, ex, _, _, errText := measure(*ccache); errText != "" {
			t.fail("Kerberos logon from a ccache", errText)
		} else {
			t.add(row{metric: "Kerberos logon from a ccache TGT (KDC exchanges)", ours: fmt.Sprint(ex), peer: "–", ratio: "–",
				goal: "1 (TGS)", met: ex == 1})
		}
	}
	// xfreerdp cannot do Kerberos against the lab: its NTLM logon is the yardstick, as in the issue.
	var peer client
	for _, cl := range clients(c) {
		if cl.name == "xfreerdp +auth-only" {
			peer = cl
		}
	}
	h, p, _ := net.SplitHostPort(c.lab.nla)
	var pcpus []time.Duration
	var prsss []int64
	for i := 0; i < c.reps; i++ {
		r := peer.cmd(h, p).run(60 * time.Second)
		if !peer.ok(r.out) {
			t.fail("Kerberos logon CPU and memory", "xfreerdp did not log on: "+tail(r.out, 200))
			return
		}
		pcpus, prsss = append(pcpus, r.cpu), append(prsss, r.rss)
	}
	pc, prss := median(pcpus), medianInt(prsss)
	t.add(row{metric: "CPU per Kerberos logon (user+sys)", ours: ms(cpu), peer: "xfreerdp NTLM: " + ms(pc), ratio: ratio(float64(cpu), float64(pc)),
		goal: "≤ 0.20 of xfreerdp", met: float64(cpu) <= 0.20*float64(pc)})
	t.add(row{metric: "peak RSS per Kerberos logon", ours: mb(rss), peer: "xfreerdp NTLM: " + mb(prss), ratio: ratio(float64(rss), float64(prss)),
		goal: "≤ 0.50 of xfreerdp", met: float64(rss) <= 0.50*float64(prss)})
}
