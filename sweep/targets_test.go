package sweep

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// collect expands a list fully (small lists only).
func collect(t *testing.T, tg *Targets) []string {
	t.Helper()
	var out []string
	for s := range tg.All() {
		out = append(out, s)
	}
	if uint64(len(out)) != tg.Len() {
		t.Fatalf("All yielded %d targets, Len says %d", len(out), tg.Len())
	}
	return out
}

func TestParseTargets(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		ports []int
		want  []string
	}{
		{"address", []string{"10.0.0.1"}, nil, []string{"10.0.0.1:3389"}},
		{"address and port", []string{"10.0.0.1:3390"}, nil, []string{"10.0.0.1:3390"}},
		{"name", []string{"RDS01.corp.example"}, nil, []string{"rds01.corp.example:3389"}},
		{"name with dash and port", []string{"rdp-01:4000"}, nil, []string{"rdp-01:4000"}},
		{"ipv6 bare", []string{"::1"}, nil, []string{"[::1]:3389"}},
		{"ipv6 bracketed port", []string{"[2001:db8::5]:3390"}, nil, []string{"[2001:db8::5]:3390"}},
		{"ipv6 zone", []string{"fe80::1%eth0"}, nil, []string{"[fe80::1%eth0]:3389"}},
		{"cidr /30", []string{"10.0.0.0/30"}, nil, []string{"10.0.0.0:3389", "10.0.0.1:3389", "10.0.0.2:3389", "10.0.0.3:3389"}},
		{"cidr host bits masked", []string{"10.0.0.5/31"}, nil, []string{"10.0.0.4:3389", "10.0.0.5:3389"}},
		{"cidr /32", []string{"10.0.0.9/32"}, nil, []string{"10.0.0.9:3389"}},
		{"cidr with port", []string{"10.0.0.0/31:3390"}, nil, []string{"10.0.0.0:3390", "10.0.0.1:3390"}},
		{"ipv6 cidr", []string{"2001:db8::/127"}, nil, []string{"[2001:db8::]:3389", "[2001:db8::1]:3389"}},
		{"ipv6 cidr bracketed port", []string{"[2001:db8::/127]:4000"}, nil, []string{"[2001:db8::]:4000", "[2001:db8::1]:4000"}},
		{"range full", []string{"10.0.0.254-10.0.1.1"}, nil, []string{"10.0.0.254:3389", "10.0.0.255:3389", "10.0.1.0:3389", "10.0.1.1:3389"}},
		{"range short", []string{"10.0.0.1-3"}, nil, []string{"10.0.0.1:3389", "10.0.0.2:3389", "10.0.0.3:3389"}},
		{"range one", []string{"10.0.0.7-7"}, nil, []string{"10.0.0.7:3389"}},
		{"ipv6 range short", []string{"2001:db8::fe-101"}, nil, []string{"[2001:db8::fe]:3389", "[2001:db8::ff]:3389", "[2001:db8::100]:3389", "[2001:db8::101]:3389"}},
		{"range with port", []string{"10.0.0.1-2:3390"}, nil, []string{"10.0.0.1:3390", "10.0.0.2:3390"}},
		{"ports multiply", []string{"10.0.0.1-2"}, []int{3389, 3390}, []string{"10.0.0.1:3389", "10.0.0.1:3390", "10.0.0.2:3389", "10.0.0.2:3390"}},
		{"explicit port is not multiplied", []string{"10.0.0.1:4000", "h"}, []int{3389, 3390}, []string{"10.0.0.1:4000", "h:3389", "h:3390"}},
		{"comma list", []string{"10.0.0.1,10.0.0.2:3390, host"}, nil, []string{"10.0.0.1:3389", "10.0.0.2:3390", "host:3389"}},
		{"duplicates once", []string{"10.0.0.1", "10.0.0.1", "10.0.0.1/32"}, nil, []string{"10.0.0.1:3389"}},
		{"ipv4 /0 boundary", []string{"255.255.255.254/31"}, nil, []string{"255.255.255.254:3389", "255.255.255.255:3389"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg, err := ParseTargets(tc.args, nil, nil, TargetOptions{Ports: tc.ports})
			if err != nil {
				t.Fatal(err)
			}
			if got := collect(t, tg); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestParseTargetsErrors(t *testing.T) {
	for _, tc := range []struct {
		arg  string
		max  uint64
		want string
	}{
		{"10.0.0.0/33", 0, "not a CIDR prefix"},
		{"10.0.0.0/8", 0, "more than --max-targets 1048576"},
		{"0.0.0.0/0", 1 << 40, ""}, // allowed when the cap says so
		{"2001:db8::/64", 0, "IPv6 prefix /64 has 2^64 addresses; at most /112"},
		{"2001:db8::/111", 0, "at most /112 (65536 addresses)"},
		{"2001:db8::1-2001:db9::1", 0, "more than 65536 addresses"},
		{"10.0.0.50-10.0.0.1", 0, "runs backwards"},
		{"10.0.0.50-1", 0, "runs backwards"},
		{"10.0.0.1-", 0, "range has no end"},
		{"10.0.0.1-256", 0, "last octet"},
		{"10.0.0.1-::1", 0, "mixes address families"},
		{"10.0.0.1:0", 0, "port \"0\": must be 1-65535"},
		{"10.0.0.1:65536", 0, "must be 1-65535"},
		{"10.0.0.1:+5", 0, "must be 1-65535"},
		{"host:", 0, "must be 1-65535"},
		{":3389", 0, "no host before the port"},
		{"[::1", 0, "missing ']'"},
		{"[::1]x", 0, "unexpected"},
		{"[host]:3389", 0, "brackets are for IPv6"},
		{"10.0.0.256", 0, "not a valid IP address"},
		{"10.0.0", 0, "not a valid IP address"},
		{"bad_host!", 0, "not allowed"},
		{"-flaglike", 0, "starts or ends with '-'"},
		{"a..b", 0, "empty or over-long label"},
		{"fe80::1%a]b", 0, "unbalanced"},
		{strings.Repeat("a", 600), 0, "longer than 512 bytes"},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			_, err := ParseTargets([]string{tc.arg}, nil, nil, TargetOptions{MaxTargets: tc.max})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestMaxTargetsCountsPortsAndTheWholeList(t *testing.T) {
	// 256 addresses × 4 ports = 1024 > 1000.
	_, err := ParseTargets([]string{"10.0.0.0/24"}, nil, nil, TargetOptions{Ports: []int{1, 2, 3, 4}, MaxTargets: 1000})
	if err == nil || !strings.Contains(err.Error(), "1024 targets (256 addresses × 4 ports)") {
		t.Fatalf("got %v", err)
	}
	// Each fits; together they do not.
	_, err = ParseTargets([]string{"10.0.0.0/25", "10.0.1.0/25"}, nil, nil, TargetOptions{MaxTargets: 200})
	if err == nil || !strings.Contains(err.Error(), "the list reaches 256 targets") {
		t.Fatalf("got %v", err)
	}
}

func TestTargetFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hosts := write("hosts.txt", "\ufeff# servers before the migration\n10.0.0.1   # the old DC\n\n  rds01 rds02:3390\r\n10.0.0.8/31\n# done")
	csvFile := write("servers.csv", "# export\nName,Address,Port,Owner\nDC1,10.1.0.1,,it\nRDS,10.1.0.2,3390,\"x, y\"\nnone,,,\n")
	ipcsv := write("ips", "ip,comment\n10.2.0.1,first\n")
	noCol := write("bad.csv", "name,owner\na,b\n")
	badLine := write("bad.txt", "10.0.0.1\n\n10.0.0.300\n")
	conflict := write("conflict.csv", "host,port\n10.0.0.1:4000,3390\n")

	tg, err := ParseTargets([]string{hosts, csvFile}, []string{ipcsv}, nil, TargetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.2.0.1:3389", "10.0.0.1:3389", "rds01:3389", "rds02:3390", "10.0.0.8:3389", "10.0.0.9:3389", "10.1.0.1:3389", "10.1.0.2:3390"}
	if got := collect(t, tg); !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}

	for _, tc := range []struct {
		args, files []string
		want        string
	}{
		{[]string{noCol}, nil, "bad.csv:1: CSV header has no target, host, hostname, address or ip column (columns: name, owner)"},
		{[]string{badLine}, nil, "bad.txt:3: target \"10.0.0.300\": not a valid IP address"},
		{[]string{conflict}, nil, "conflict.csv:2: target \"10.0.0.1:4000\" names port 4000 but the port column says 3390"},
		{nil, []string{filepath.Join(dir, "missing.txt")}, "no such file"},
		{[]string{filepath.Join(dir, "missing")}, nil, "no such file, and not a CIDR prefix"},
		{[]string{"missing.txt"}, nil, "missing.txt: no such file"},
		{[]string{write("empty.txt", "# nothing\n")}, nil, "no targets"},
	} {
		_, err := ParseTargets(tc.args, tc.files, nil, TargetOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: error %v, want %q", tc.args, tc.files, err, tc.want)
		}
	}
}

func TestTargetsFromStdin(t *testing.T) {
	in := strings.NewReader("10.0.0.1\n10.0.0.2:3390\n")
	tg, err := ParseTargets([]string{"-", "host"}, []string{"-"}, in, TargetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.1:3389", "10.0.0.2:3390", "host:3389"}
	if got := collect(t, tg); !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestLineTooLong(t *testing.T) {
	tg, _ := NewTargets(TargetOptions{})
	err := tg.AddList("big", strings.NewReader("10.0.0.1\n"+strings.Repeat("x", maxLine+10)+"\n"))
	if err == nil || !strings.Contains(err.Error(), "big:2: line longer than") {
		t.Fatalf("got %v", err)
	}
}

// A /8 is one spec, not sixteen million strings: parsing allocates next to
// nothing and the first targets come at once.
func TestExpansionStreams(t *testing.T) {
	var tg *Targets
	allocs := testing.AllocsPerRun(5, func() {
		var err error
		tg, err = ParseTargets([]string{"10.0.0.0/8"}, nil, nil, TargetOptions{Ports: []int{3389, 3390}, MaxTargets: 1 << 25})
		if err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 100 {
		t.Errorf("parsing a /8 took %.0f allocations", allocs)
	}
	if tg.Len() != 1<<25 {
		t.Fatalf("Len %d", tg.Len())
	}
	var first []string
	for s := range tg.All() {
		if first = append(first, s); len(first) == 3 {
			break
		}
	}
	if want := []string{"10.0.0.0:3389", "10.0.0.0:3390", "10.0.0.1:3389"}; !slices.Equal(first, want) {
		t.Fatalf("got %q", first)
	}
	if got := tg.At(tg.Len() - 1); got != "10.255.255.255:3390" {
		t.Fatalf("last target %q", got)
	}
}

func TestAtMatchesAll(t *testing.T) {
	tg, err := ParseTargets([]string{"10.0.0.0/29", "h1", "[::1]:5000", "2001:db8::fffe-2001:db8::1:1", "10.9.9.9:1"}, nil, nil,
		TargetOptions{Ports: []int{3389, 3390, 3391}})
	if err != nil {
		t.Fatal(err)
	}
	all := collect(t, tg)
	for i, s := range all {
		if got := tg.At(uint64(i)); got != s {
			t.Fatalf("At(%d) = %q, All has %q", i, got, s)
		}
	}
}

func TestShuffledIsAPermutation(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 64, 1000, 4099} {
		// n targets over two ports and specs of different sizes.
		tg, _ := NewTargets(TargetOptions{Ports: []int{3389, 3390}})
		if n%2 == 1 {
			tg.Add("odd:1")
		}
		for i := 0; tg.Len() < uint64(n); i++ {
			if err := tg.Add(fmt.Sprintf("10.%d.%d.%d", i/65536%256, i/256%256, i%256)); err != nil {
				t.Fatal(err)
			}
		}
		ordered := collect(t, tg)
		var shuffled []string
		for s := range tg.Shuffled(42) {
			shuffled = append(shuffled, s)
		}
		if len(shuffled) != n {
			t.Fatalf("n=%d: shuffled yielded %d", n, len(shuffled))
		}
		sorted, want := slices.Sorted(slices.Values(shuffled)), slices.Sorted(slices.Values(ordered))
		if !slices.Equal(sorted, want) {
			t.Fatalf("n=%d: shuffled is not a permutation of the list", n)
		}
		if n >= 64 && slices.Equal(shuffled, ordered) {
			t.Fatalf("n=%d: shuffle kept the order", n)
		}
		var again []string
		for s := range tg.Shuffled(42) {
			again = append(again, s)
		}
		if !slices.Equal(again, shuffled) {
			t.Fatalf("n=%d: the same seed gave another order", n)
		}
	}
}

func TestParsePorts(t *testing.T) {
	got, err := ParsePorts("3389, 3390,4000-4002,3389")
	if want := []int{3389, 3390, 4000, 4001, 4002}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("got %v %v", got, err)
	}
	for _, bad := range []string{"", "0", "70000", "5-3", "a", "1-"} {
		if _, err := ParsePorts(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestShardsDisjointAndComplete: the N shards of a list, in order or
// shuffled with one seed, share no target and together are the list, each
// as long as Shard.Len says (within one of the others).
func TestShardsDisjointAndComplete(t *testing.T) {
	tg, err := ParseTargets([]string{"10.0.0.0/22", "h1,h2", "[::1]:5000", "2001:db8::fffe-2001:db8::1:1", "10.9.9.9:1", "192.0.2.0/30"}, nil, nil,
		TargetOptions{Ports: []int{3389, 3390, 3391}})
	if err != nil {
		t.Fatal(err)
	}
	whole := collect(t, tg)
	for _, n := range []uint64{1, 2, 3, 4, 7, 10, 64, uint64(len(whole)), uint64(len(whole)) + 5} {
		for _, shuffled := range []bool{false, true} {
			seen := map[string]uint64{}
			var union []string
			var lens []uint64
			for k := uint64(1); k <= n; k++ {
				sh := Shard{k, n}
				var got []string
				for s := range tg.Sharded(sh, shuffled, 7) {
					got = append(got, s)
				}
				if uint64(len(got)) != sh.Len(tg.Len()) {
					t.Fatalf("shard %v (shuffled %v): %d targets, Len says %d", sh, shuffled, len(got), sh.Len(tg.Len()))
				}
				lens = append(lens, uint64(len(got)))
				for _, s := range got {
					if prev, dup := seen[s]; dup && prev != k {
						t.Fatalf("%s is in shards %d and %d of %d", s, prev, k, n)
					}
					seen[s] = k
				}
				union = append(union, got...)
			}
			if !slices.Equal(slices.Sorted(slices.Values(union)), slices.Sorted(slices.Values(whole))) {
				t.Fatalf("n=%d shuffled=%v: the shards' union is not the list (%d vs %d)", n, shuffled, len(union), len(whole))
			}
			if lo, hi := slices.Min(lens), slices.Max(lens); hi-lo > 1 {
				t.Errorf("n=%d: shard sizes from %d to %d", n, lo, hi)
			}
		}
	}
	// Deterministic: the same shard twice is the same sequence; the first
	// shard of an unshuffled list starts where the list does.
	var a, b []string
	for s := range tg.Sharded(Shard{2, 5}, true, 99) {
		a = append(a, s)
	}
	for s := range tg.Sharded(Shard{2, 5}, true, 99) {
		b = append(b, s)
	}
	if !slices.Equal(a, b) {
		t.Error("a shard is not deterministic")
	}
	for s := range tg.Sharded(Shard{1, 3}, false, 0) {
		if s != whole[0] {
			t.Errorf("shard 1/3 starts at %s, the list at %s", s, whole[0])
		}
		break
	}
}

// TestShardOfALargeList: a /12 on two ports is two million targets; a
// shard of it streams without the list being built.
func TestShardOfALargeList(t *testing.T) {
	tg, err := ParseTargets([]string{"10.0.0.0/12"}, nil, nil, TargetOptions{Ports: []int{3389, 3390}, MaxTargets: 1 << 22})
	if err != nil {
		t.Fatal(err)
	}
	sh := Shard{3, 1000}
	n := uint64(0)
	last := ""
	for s := range tg.Sharded(sh, false, 0) {
		if n == 0 && s != tg.At(2) {
			t.Fatalf("first %q", s)
		}
		n++
		last = s
	}
	if n != sh.Len(tg.Len()) || n != 2098 || last != tg.At(2+1000*(n-1)) {
		t.Errorf("%d targets, last %s", n, last)
	}
}

func TestParseShard(t *testing.T) {
	for in, want := range map[string]Shard{"1/1": {1, 1}, "2/4": {2, 4}, " 3 / 3 ": {3, 3}} {
		if got, err := ParseShard(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"0/4", "5/4", "1/0", "1", "a/b", "-1/2", "1/2/3"} {
		if _, err := ParseShard(in); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}
