//go:build unix

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rdpprobe/rdpprobe/rdptest"
)

// fleet is a loopback estate of rdptest servers: hosts 127.0.S.1-254 for
// S in 1..sets, each listening on ports 3389 up. They answer as a Windows
// server with NLA does, to the NTLM CHALLENGE. They share one ECDSA
// certificate so that the servers' own TLS work (in this process, on the
// same cores) takes less from the measured clients; both clients meet the
// same servers.
type fleet struct {
	servers []*rdptest.Server
	sets    int
	ports   int
}

func startFleet(sets, ports int) (*fleet, error) {
	cert, err := rdptest.NewCertificate(rdptest.CertOptions{CommonName: "fleet", ECDSA: true})
	if err != nil {
		return nil, err
	}
	f := &fleet{sets: sets, ports: ports}
	for s := 1; s <= sets; s++ {
		for h := 1; h <= 254; h++ {
			for p := 0; p < ports; p++ {
				addr := net.JoinHostPort(fmt.Sprintf("127.0.%d.%d", s, h), strconv.Itoa(3389+p))
				srv, err := rdptest.NewServer(rdptest.Scenario{Addr: addr, TLS: rdptest.TLSOptions{Certificate: &cert}})
				if err != nil {
					f.close()
					return nil, fmt.Errorf("fleet server on %s: %w", addr, err)
				}
				f.servers = append(f.servers, srv)
			}
		}
	}
	return f, nil
}

func (f *fleet) close() {
	for _, s := range f.servers {
		s.Close()
	}
}

// hosts is the fleet's first n sets, as rdpprobe sweep takes them.
func (f *fleet) hosts(sets int) string {
	var r []string
	for s := 1; s <= sets; s++ {
		r = append(r, fmt.Sprintf("127.0.%d.1-254", s))
	}
	return strings.Join(r, ",")
}

// nmapHosts is the same in nmap's octet-range syntax.
func (f *fleet) nmapHosts(sets int) string { return fmt.Sprintf("127.0.1-%d.1-254", sets) }
func (f *fleet) portList() string          { return fmt.Sprintf("3389-%d", 3389+f.ports-1) }

// sweepRun is one rdpprobe sweep and what its JSONL report says.
type sweepRun struct {
	run
	targets int
	lines   int
	classes map[string]int
}

func runSweep(c *config, dir string, targets []string, ports string, sampleRSS bool) sweepRun {
	out := filepath.Join(dir, fmt.Sprintf("sweep-%d.jsonl", time.Now().UnixNano()))
	args := append([]string{c.rdpprobe, "sweep"}, targets...)
	args = append(args, "--ports", ports, "--phases", "ntlm_info", "--concurrency", "256", "--rate", "0",
		"--timeout", "10s", "--progress", "never", "-o", out)
	r := command{args: args, sampleRSS: sampleRSS}.run(10 * time.Minute)
	s := sweepRun{run: r, classes: map[string]int{}}
	fh, err := os.Open(out)
	if err != nil {
		return s
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var v struct {
			Class string `json:"class"`
		}
		if json.Unmarshal(sc.Bytes(), &v) == nil {
			s.lines++
			s.classes[v.Class]++
		}
	}
	return s
}

func classCounts(m map[string]int) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func sweepFleet(c *config, t *table, dir string) {
	f, err := startFleet(c.fleetSets, c.ports)
	if err != nil {
		t.fail("sweep throughput", err.Error())
		return
	}
	defer f.close()
	perSet := 254 * c.ports
	t.note("fleet: %d rdptest servers on 127.0.1-%d.1-254, ports %s (ECDSA P-256), plus the lab's %d servers in the large sweep",
		len(f.servers), c.fleetSets, f.portList(), len(c.lab.all))

	// Same hosts for both tools: one set, the fleet's ports. The + makes
	// nmap run its script on ports other than 3389 too.
	small := runSweep(c, dir, []string{f.hosts(1)}, f.portList(), false)
	if small.lines != perSet || small.classes["ok"] != perSet {
		t.fail("sweep throughput (one set)", fmt.Sprintf("%d of %d targets reported, classes: %s (%v): %s",
			small.lines, perSet, classCounts(small.classes), small.err, tail(small.out, 300)))
		return
	}
	ourRate := float64(perSet) / small.wall.Seconds()

	nmapArgs := []string{"nmap", "-Pn", "-n", "-T4", "-p", f.portList(), "--script", "+rdp-ntlm-info", f.nmapHosts(1)}
	nm := command{args: nmapArgs}.run(15 * time.Minute)
	got := bytes.Count(nm.out, []byte("Target_Name"))
	if got != perSet {
		t.fail("sweep vs nmap", fmt.Sprintf("nmap reported the NTLM info of %d of %d targets (%v): %s", got, perSet, nm.err, tail(nm.out, 300)))
	} else {
		nmRate := float64(perSet) / nm.wall.Seconds()
		t.note("one set, %d targets: rdpprobe sweep %s (CPU %s, peak RSS %s); `%s` %s (CPU %s, peak RSS %s), %d targets answered",
			perSet, ms(small.wall), ms(small.cpu), mb(small.rss), strings.Join(nmapArgs, " "), ms(nm.wall), ms(nm.cpu), mb(nm.rss), got)
		t.add(row{metric: fmt.Sprintf("sweep, %d targets, same hosts (probes/s)", perSet), ours: fmt.Sprintf("%.0f", ourRate),
			peer: fmt.Sprintf("nmap: %.0f", nmRate), ratio: fmt.Sprintf("%.1f×", ourRate/nmRate),
			goal: "faster than nmap", met: ourRate > nmRate})
	}

	// The whole fleet plus the lab: throughput, and memory over time (flat:
	// once the concurrency is reached it must not grow with the targets
	// done, so the second half's peak is compared with the first's).
	targets := append([]string{f.hosts(c.fleetSets)}, c.lab.all...)
	total := perSet*c.fleetSets + len(c.lab.all)
	large := runSweep(c, dir, targets, f.portList(), true)
	if large.lines != total {
		t.fail("sweep throughput (whole fleet)", fmt.Sprintf("%d of %d targets reported (%v): %s", large.lines, total, large.err, tail(large.out, 300)))
		return
	}
	rate := float64(total) / large.wall.Seconds()
	t.note("whole fleet, %d targets in %s: %s", total, ms(large.wall), classCounts(large.classes))
	t.add(row{metric: fmt.Sprintf("sweep throughput, %d targets (probes/s)", total), ours: fmt.Sprintf("%.0f", rate), peer: "–", ratio: "–",
		goal: "≥ 500", met: rate >= 500})
	first, second := halves(large.rssSamples)
	if first == 0 || second == 0 {
		t.fail("sweep memory over time", fmt.Sprintf("too few RSS samples (%d) in a %s sweep", len(large.rssSamples), ms(large.wall)))
		return
	}
	mr := float64(second) / float64(first)
	t.add(row{metric: fmt.Sprintf("sweep RSS, peak of 2nd half vs 1st (%d targets, %d samples)", total, len(large.rssSamples)),
		ours: mb(second) + " vs " + mb(first), peer: "–", ratio: fmt.Sprintf("%.2f", mr), goal: "flat (≤ 1.2)", met: mr <= 1.2})
	t.note("peak RSS of the whole sweep %s (one set: %s; nmap over one set: %s)", mb(large.rss), mb(small.rss), mb(nm.rss))
}
