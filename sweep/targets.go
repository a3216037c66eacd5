package sweep

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/rdpprobe/rdpprobe/probe"
)

// Limits on what a target list may ask for.
const (
	// DefaultMaxTargets caps the expanded targets (addresses × ports) of a
	// sweep unless TargetOptions.MaxTargets says otherwise: a /12, or a /16
	// on sixteen ports. A typo ("10.0.0.0/8" for "10.0.0.0/24") should be
	// an error, not a week of traffic.
	DefaultMaxTargets = 1 << 20
	// MaxIPv6Block is the most addresses one IPv6 CIDR or range may cover
	// (a /112): a /64 has 2^64 addresses, and sweeping IPv6 space blindly
	// finds nothing.
	MaxIPv6Block = 1 << 16
	// maxLine caps a line of a target file; maxToken one target.
	maxLine  = 64 << 10
	maxToken = 512
)

// TargetOptions says how to expand a target list.
type TargetOptions struct {
	// Ports are dialled on every target that names no port; nil means
	// 3389.
	Ports []int
	// MaxTargets caps the expanded list (targets × ports); 0 means
	// DefaultMaxTargets.
	MaxTargets uint64
}

// spec is one parsed target: a host name, or an inclusive range of
// addresses (one address, a CIDR, or a range), with an optional port.
type spec struct {
	name   string     // host name; empty for addresses
	lo, hi netip.Addr // inclusive; lo == hi for one address
	port   int        // explicit port; 0 means every port of the list
	n      uint64     // addresses covered (1 for a name)
}

func (s *spec) key() spec { return spec{name: s.name, lo: s.lo, hi: s.hi, port: s.port} }

// Targets is a parsed target list. It holds the specs, not their
// expansion: a /8 costs one entry, and All streams its addresses.
type Targets struct {
	specs []spec
	cum   []uint64 // cum[i]: targets before specs[i]; cum[len(specs)] = total
	ports []int
	max   uint64
	seen  map[spec]struct{}
}

// NewTargets returns an empty list; Add and AddFile fill it.
func NewTargets(opt TargetOptions) (*Targets, error) {
	ports := opt.Ports
	if len(ports) == 0 {
		ports = []int{probe.DefaultPort}
	}
	for _, p := range ports {
		if p < 1 || p > 65535 {
			return nil, fmt.Errorf("port %d: must be 1-65535", p)
		}
	}
	max := opt.MaxTargets
	if max == 0 {
		max = DefaultMaxTargets
	}
	return &Targets{ports: ports, max: max, cum: []uint64{0}, seen: map[spec]struct{}{}}, nil
}

// ParseTargets builds the list of a sweep. Each arg is "-" (read standard
// input as a target file), the path of an existing file (a target file), or
// targets separated by commas; each of files is a target file ("-" for
// standard input), which must exist.
func ParseTargets(args, files []string, stdin io.Reader, opt TargetOptions) (*Targets, error) {
	t, err := NewTargets(opt)
	if err != nil {
		return nil, err
	}
	stdinRead := false
	readStdin := func() error {
		if stdinRead {
			return nil // "-" twice reads it once
		}
		stdinRead = true
		if stdin == nil {
			return errors.New("-: no standard input")
		}
		return t.AddList("-", stdin)
	}
	for _, f := range files {
		if f == "-" {
			err = readStdin()
		} else {
			err = t.AddFile(f)
		}
		if err != nil {
			return nil, err
		}
	}
	for _, a := range args {
		switch {
		case a == "-":
			err = readStdin()
		case isFile(a):
			err = t.AddFile(a)
		case looksLikeFile(a):
			err = fmt.Errorf("%s: no such file (a name ending in %s is taken for a target list)", a, filepath.Ext(a))
		default:
			for tok := range strings.SplitSeq(a, ",") {
				if tok = strings.TrimSpace(tok); tok != "" {
					if err = t.Add(tok); err != nil {
						break
					}
				}
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if t.Len() == 0 {
		return nil, errors.New("no targets")
	}
	return t, nil
}

// looksLikeFile: an argument no host would be named, but a list would.
func looksLikeFile(a string) bool {
	switch strings.ToLower(filepath.Ext(a)) {
	case ".txt", ".csv", ".lst", ".list", ".jsonl":
		return true
	}
	return false
}

func isFile(name string) bool {
	fi, err := os.Stat(name)
	return err == nil && !fi.IsDir()
}

// Len is the number of targets All yields: addresses × ports.
func (t *Targets) Len() uint64 { return t.cum[len(t.cum)-1] }

// Add parses one target: "host", "host:port", "[v6]:port", an address, a
// CIDR ("10.0.0.0/24", "2001:db8::/120") or a range ("10.0.0.1-10.0.0.50",
// "10.0.0.1-50", "2001:db8::1-ff"), the last three with an optional
// ":port" ("[...]:port" for IPv6).
func (t *Targets) Add(tok string) error {
	s, err := parseSpec(tok)
	if err != nil {
		return err
	}
	return t.add(s, tok)
}

func (t *Targets) add(s spec, tok string) error {
	if _, dup := t.seen[s.key()]; dup {
		return nil
	}
	per := s.n
	if s.port == 0 {
		per *= uint64(len(t.ports)) // at most 2^32 × 2^16: no overflow
	}
	total := t.Len()
	if per > t.max || total+per > t.max {
		if per > t.max {
			return fmt.Errorf("target %q: %d targets (%d addresses × %d ports), more than --max-targets %d; raise --max-targets or narrow the range",
				tok, per, s.n, per/s.n, t.max)
		}
		return fmt.Errorf("target %q: the list reaches %d targets, more than --max-targets %d; raise --max-targets or narrow the list",
			tok, total+per, t.max)
	}
	t.seen[s.key()] = struct{}{}
	t.specs = append(t.specs, s)
	t.cum = append(t.cum, total+per)
	return nil
}
