//go:build unix

// Command bench (Unix only: it drives the lab's Linux peers and reads
// their rusage) measures rdpprobe side by side with the clients admins use
// today, on the lab's real servers, in one run, and prints
// `metric | rdpprobe | peer | ratio | goal`:
//
//  1. round trips: client flights and wall time through a delaying proxy,
//     for the NTLM info (vs nmap rdp-ntlm-info) and a logon (vs
//     xfreerdp +auth-only and impacket rdp_check);
//  2. CPU (user+sys) and peak RSS of one logon, vs xfreerdp +auth-only;
//     the same for a Kerberos logon (lab KDC, rdptest's acceptor), with its
//     RDP flights and KDC exchanges;
//  3. sweep throughput and memory on a loopback fleet of rdptest servers
//     plus the lab, vs nmap rdp-ntlm-info over the same hosts;
//  4. the Go benchmarks of the parsers, the classify table and the sweep;
//  5. the exporter under load (exporterload.go): a loopback fleet of
//     rdptest servers scraped through it as Prometheus would, healthy and
//     then with a third hostile; it needs no lab.
//
// Run it with the lab up (make bench does both); -out writes the table to
// a Markdown file with the machine and the date. Timings vary on shared
// machines: compare within one run only.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

type config struct {
	delay     time.Duration
	reps      int
	fleetSets int // the large sweep covers this many /24-sized sets of hosts
	ports     int // ports per fleet host
	out       string
	rdpprobe  string // built binary
	lab       labAddrs
	skipPeers bool
	only      string
	load      loadConfig
}

type labAddrs struct {
	nla, user, domain, password, display string
	all                                  []string
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	if role := os.Getenv(childEnv); role != "" {
		runChild(role) // one of exporter-load's own processes
	}
	var c config
	flag.DurationVar(&c.delay, "delay", 25*time.Millisecond, "proxy delay each way (RTT is twice this)")
	flag.IntVar(&c.reps, "reps", 3, "runs per measurement (the median is reported)")
	flag.IntVar(&c.fleetSets, "fleet", 4, "the large sweep covers this many sets of 254 loopback hosts")
	flag.IntVar(&c.ports, "ports", 4, "rdptest listeners per fleet host (ports 3389 up)")
	flag.StringVar(&c.out, "out", "", "also write the results as Markdown to this file")
	flag.StringVar(&c.only, "only", "", "run only these sections, comma-separated: roundtrips, cpu, kerberos, gateway, sweep, go, exporter-load (default all)")
	flag.DurationVar(&c.load.duration, "load-duration", 10*time.Minute, "exporter-load: how long each of its two phases scrapes")
	flag.IntVar(&c.load.targets, "load-targets", 600, "exporter-load: targets in the fleet (a third hostile in the second phase)")
	flag.DurationVar(&c.load.interval, "load-interval", time.Second, "exporter-load: each target is scraped this often (Prometheus' 15s, compressed)")
	flag.DurationVar(&c.load.scrapeTimeout, "load-scrape-timeout", time.Second, "exporter-load: X-Prometheus-Scrape-Timeout-Seconds (Prometheus keeps it ≤ the interval)")
	flag.IntVar(&c.load.scrapers, "load-scrapers", 256, "exporter-load: scrapes in flight at once, at most")
	flag.StringVar(&c.load.profiles, "load-profiles", "", "exporter-load: keep the exporter's CPU profiles in this directory")
	flag.IntVar(&c.load.slots, "load-slots", 64, "exporter-load: the exporter's --probe.max-concurrent")
	flag.Parse()
	sections := func(names ...string) bool {
		for _, n := range names {
			if c.only == "" || slices.Contains(strings.Split(c.only, ","), n) {
				return true
			}
		}
		return false
	}
	lab := sections("roundtrips", "cpu", "kerberos", "gateway", "sweep")

	// The lab describes itself (lab/lab.sh env); these defaults are its own.
	c.lab = labAddrs{
		nla:      env("RDPLAB_NLA", "127.0.0.1:33891"),
		user:     env("RDPLAB_USER", "labuser"),
		domain:   env("RDPLAB_DOMAIN", "LAB"),
		password: os.Getenv("RDPLAB_PASSWORD"),
		display:  env("RDPLAB_DISPLAY", ":91"),
	}
	for _, v := range []string{"RDPLAB_NLA", "RDPLAB_NLA_EXT", "RDPLAB_TLS", "RDPLAB_RDP", "RDPLAB_XRDP", "RDPLAB_XRDP_RDP", "RDPLAB_NLA6"} {
		if a := os.Getenv(v); a != "" {
			c.lab.all = append(c.lab.all, a)
		}
	}
	if lab && c.lab.password == "" {
		fatalf("RDPLAB_PASSWORD is not set: run with the lab's environment (eval \"$(lab/lab.sh env)\"), as make bench does")
	}

	if _, err := os.Stat(timeBin); lab && err != nil {
		fatalf("%s is missing (Debian package time; lab/lab.sh up installs it): it measures each client's own peak memory", timeBin)
	}
	tmp, err := os.MkdirTemp("", "rdpprobe-bench-")
	if err != nil {
		fatalf("%v", err)
	}
	defer os.RemoveAll(tmp)
	c.rdpprobe = filepath.Join(tmp, "rdpprobe")
	if lab {
		if out, err := exec.Command("go", "build", "-trimpath", "-o", c.rdpprobe, "./cmd/rdpprobe").CombinedOutput(); err != nil {
			fatalf("go build ./cmd/rdpprobe: %v\n%s", err, out)
		}
	}

	var t table
	t.machine = machine()
	t.loadBefore = loadavg()
	t.peers = []string{version("dpkg-query", "-W", "-f", "xfreerdp (freerdp2-x11) ${Version}", "freerdp2-x11"), version("nmap", "--version"),
		"impacket " + version("/usr/bin/python3", "-c", "import importlib.metadata as m; print(m.version('impacket'))")}
	for _, s := range []struct {
		name string
		run  func()
	}{
		{"roundtrips", func() { roundTrips(&c, &t) }},
		{"cpu", func() { cpuAndMemory(&c, &t) }},
		{"kerberos", func() { kerberosLogon(&c, &t, tmp) }},
		{"gateway", func() { gatewayFlights(&c, &t, tmp) }},
		{"sweep", func() { sweepFleet(&c, &t, tmp) }},
		{"go", func() { goBenchmarks(&t) }},
		{"exporter-load", func() { exporterLoad(&c, &t, tmp) }},
	} {
		if sections(s.name) {
			s.run()
		}
	}
	t.loadAfter = loadavg()

	md := t.markdown(c)
	fmt.Print(md)
	if c.out != "" {
		if err := os.WriteFile(c.out, []byte(md), 0o644); err != nil {
			fatalf("%v", err)
		}
		fmt.Fprintf(os.Stderr, "bench: wrote %s\n", c.out)
	}
	if t.failed > 0 {
		fmt.Fprintf(os.Stderr, "bench: %d measurement(s) failed or missed their goal\n", t.failed)
		os.Exit(1)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(1)
}

// machine describes where the numbers were taken.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				model = strings.TrimSpace(l[strings.Index(l, ":")+1:])
				break
			}
		}
	}
	kernel, _ := exec.Command("uname", "-sr").Output()
	return fmt.Sprintf("%d × %s, %s, %s", runtime.NumCPU(), model, strings.TrimSpace(string(kernel)), runtime.Version())
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// version is the first line a tool prints of itself.
func version(name string, args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, name, args...).CombinedOutput()
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "[") {
			return l
		}
	}
	return "?"
}

func tail(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

func contains(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }
