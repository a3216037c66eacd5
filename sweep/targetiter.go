package sweep

import (
	"fmt"
	"iter"
	"math/bits"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// All yields every target as "host:port" ("[v6]:port"), spec by spec,
// address by address, port by port, without building the list.
func (t *Targets) All() iter.Seq[string] {
	return func(yield func(string) bool) {
		buf := make([]byte, 0, 64)
		for i := range t.specs {
			s := &t.specs[i]
			ports := t.ports
			if s.port != 0 {
				ports = []int{s.port}
			}
			a := s.lo
			for k := uint64(0); k < s.n; k++ {
				for _, p := range ports {
					buf = appendTarget(buf[:0], s, a, p)
					if !yield(string(buf)) {
						return
					}
				}
				a = a.Next()
			}
		}
	}
}

// At is the i-th target of All (0 <= i < Len).
func (t *Targets) At(i uint64) string {
	j := sort.Search(len(t.specs), func(j int) bool { return t.cum[j+1] > i })
	s := &t.specs[j]
	off := i - t.cum[j]
	p := s.port
	if p == 0 {
		p = t.ports[off%uint64(len(t.ports))]
		off /= uint64(len(t.ports))
	}
	return string(appendTarget(nil, s, addOffset(s.lo, off), p))
}

func appendTarget(b []byte, s *spec, a netip.Addr, port int) []byte {
	if s.name != "" {
		b = append(b, s.name...)
	} else if a.Is4() {
		b = a.AppendTo(b)
	} else {
		b = append(b, '[')
		b = a.AppendTo(b)
		b = append(b, ']')
	}
	b = append(b, ':')
	return strconv.AppendInt(b, int64(port), 10)
}

// Shuffled yields every target once in a pseudo-random order fixed by
// seed, without building the list: a Feistel permutation of the indices,
// cycle-walked into [0, Len).
func (t *Targets) Shuffled(seed uint64) iter.Seq[string] {
	return func(yield func(string) bool) {
		p := newPermutation(t.Len(), seed)
		for i := range t.Len() {
			if !yield(t.At(p.at(i))) {
				return
			}
		}
	}
}

// permutation is a bijection of [0, n).
type permutation struct {
	n    uint64
	half uint // bits per Feistel half
	keys [4]uint64
}

func newPermutation(n, seed uint64) *permutation {
	p := &permutation{n: n}
	if n > 1 {
		p.half = uint((bits.Len64(n-1) + 1) / 2)
	}
	for i := range p.keys {
		seed = splitmix64(seed + uint64(i))
		p.keys[i] = seed
	}
	return p
}

// at maps i to a distinct index: encrypt, and walk again while the result
// falls outside [0, n) (the domain is at most 4n, so a few steps).
func (p *permutation) at(i uint64) uint64 {
	if p.n <= 1 {
		return i
	}
	x := i
	for {
		x = p.encrypt(x)
		if x < p.n {
			return x
		}
	}
}

func (p *permutation) encrypt(x uint64) uint64 {
	mask := uint64(1)<<p.half - 1
	l, r := x>>p.half, x&mask
	for _, k := range p.keys {
		l, r = r, l^(splitmix64(r^k)&mask)
	}
	return l<<p.half | r
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// Shard is one of N shares of a sweep, as masscan's --shard K/N: the
// targets whose place in the order is K-1 modulo N. The N shards of one
// list (and, shuffled, of one seed) are disjoint and together the whole
// list, so N machines split one sweep without a coordinator; none of them
// builds the list.
type Shard struct{ K, N uint64 }

// Whole is the shard that is the whole list.
var Whole = Shard{1, 1}

// ParseShard reads "K/N" (1 <= K <= N). Its errors name no flag.
func ParseShard(s string) (Shard, error) {
	k, n, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, fmt.Errorf("shard %q: write K/N, e.g. 1/4 for the first of four", s)
	}
	kk, err1 := strconv.ParseUint(strings.TrimSpace(k), 10, 64)
	nn, err2 := strconv.ParseUint(strings.TrimSpace(n), 10, 64)
	switch {
	case err1 != nil || err2 != nil:
		return Shard{}, fmt.Errorf("shard %q: K and N must be whole numbers", s)
	case nn == 0 || kk == 0 || kk > nn:
		return Shard{}, fmt.Errorf("shard %q: need 1 <= K <= N", s)
	}
	return Shard{kk, nn}, nil
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.K, s.N) }

// Len is how many of total targets the shard has.
func (s Shard) Len(total uint64) uint64 {
	if s.N <= 1 {
		return total
	}
	if total < s.K {
		return 0
	}
	return (total-s.K)/s.N + 1
}

// Sharded yields the shard's targets: the i-th target of the order for
// every i = K-1, K-1+N, ...; the order is All's, or with shuffled
// Shuffled(seed)'s. Shard{1, 1} unshuffled is All.
func (t *Targets) Sharded(sh Shard, shuffled bool, seed uint64) iter.Seq[string] {
	if sh.N <= 1 {
		if shuffled {
			return t.Shuffled(seed)
		}
		return t.All()
	}
	return func(yield func(string) bool) {
		var p *permutation
		if shuffled {
			p = newPermutation(t.Len(), seed)
		}
		for i, n := sh.K-1, t.Len(); i < n; i += sh.N {
			idx := i
			if p != nil {
				idx = p.at(i)
			}
			if !yield(t.At(idx)) || n-i <= sh.N {
				return
			}
		}
	}
}
