package sweep

import (
	"strings"
	"testing"

	"github.com/rdpprobe/rdpprobe/probe"
)

// FuzzTargetLine feeds one line of a target file to the parser. Whatever it
// accepts must expand to targets the probe can dial, and each target must
// parse back to itself.
func FuzzTargetLine(f *testing.F) {
	for _, s := range []string{
		"10.0.0.1", "10.0.0.0/30 # comment", "10.0.0.1-3", "10.0.0.1-10.0.0.4:3390", "host:3389", "[::1]:3390",
		"2001:db8::/126", "2001:db8::fe-101", "fe80::1%eth0", "target,port", "rds01 rds02:4000", "\ufeff10.0.0.1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		tg, err := NewTargets(TargetOptions{Ports: []int{3389, 3390}, MaxTargets: 4096})
		if err != nil {
			t.Fatal(err)
		}
		if err := tg.AddList("fuzz", strings.NewReader(line)); err != nil {
			if tg.Len() > 4096 {
				t.Fatalf("list over the cap: %d", tg.Len())
			}
			return
		}
		n := uint64(0)
		for target := range tg.All() {
			if n < 64 {
				host, port, err := probe.SplitTarget(target, probe.DefaultPort)
				if err != nil || host == "" || port < 1 {
					t.Fatalf("%q gave %q, which the probe rejects: %v", line, target, err)
				}
				s, err := parseSpec(target)
				if err != nil || s.n != 1 || s.port == 0 {
					t.Fatalf("%q gave %q, which does not parse back to one target: %v", line, target, err)
				}
				one, _ := NewTargets(TargetOptions{})
				one.add(s, target)
				if back := one.At(0); back != target {
					t.Fatalf("%q gave %q, which parses back to %q", line, target, back)
				}
				if at := tg.At(n); at != target {
					t.Fatalf("%q: At(%d) = %q, All gave %q", line, n, at, target)
				}
			}
			n++
		}
		if n != tg.Len() {
			t.Fatalf("%q: All yielded %d, Len %d", line, n, tg.Len())
		}
	})
}
