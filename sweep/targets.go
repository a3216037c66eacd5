package sweep

import (
	"bufio"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/bits"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
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

// AddFile reads a target file (see AddList).
func (t *Targets) AddFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return t.AddList(name, f)
}

// AddList reads a target list: one or more targets per line separated by
// white space, "#" starting a comment; or, when the first line that is not
// a comment holds a comma (or the name ends in .csv), CSV whose header
// names a "target", "host", "hostname", "address" or "ip" column (and
// optionally a "port" column). Errors say name:line.
func (t *Targets) AddList(name string, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	line := 0
	for {
		text, err := readLine(br)
		if text == "" && err != nil {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("%s:%d: %w", name, line+1, err)
		}
		line++
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		body, _, _ := strings.Cut(text, "#")
		if strings.TrimSpace(body) == "" {
			if err != nil {
				return endOfList(name, line, err)
			}
			continue
		}
		if strings.HasSuffix(strings.ToLower(name), ".csv") || strings.Contains(body, ",") {
			return t.addCSV(name, line, text, br)
		}
		for tok := range strings.FieldsSeq(body) {
			if e := t.Add(tok); e != nil {
				return fmt.Errorf("%s:%d: %w", name, line, e)
			}
		}
		if err != nil {
			return endOfList(name, line, err)
		}
	}
}

// endOfList turns the error that ended a list after line into the result.
func endOfList(name string, line int, err error) error {
	if err == io.EOF {
		return nil
	}
	return fmt.Errorf("%s:%d: %w", name, line, err)
}

// readLine returns the next line without its end; io.EOF comes with the
// last line when it has no newline.
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := br.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > maxLine {
			return "", fmt.Errorf("line longer than %d bytes", maxLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		s := strings.TrimRight(string(b), "\r\n")
		if err != nil && s == "" {
			return "", err
		}
		return s, err
	}
}

// addCSV reads the rest of a CSV target file whose header is header.
func (t *Targets) addCSV(name string, headerLine int, header string, br *bufio.Reader) error {
	cr := csv.NewReader(io.MultiReader(strings.NewReader(header+"\n"), br))
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	lineOf := func(err error) error {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return fmt.Errorf("%s:%d: %w", name, headerLine-1+pe.Line, pe.Err)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	rec, err := cr.Read()
	if err != nil {
		return lineOf(err)
	}
	col, portCol := -1, -1
	var cols []string
	for i, c := range rec {
		c = strings.ToLower(strings.TrimSpace(c))
		cols = append(cols, c)
		switch c {
		case "target", "host", "hostname", "address", "ip":
			if col < 0 {
				col = i
			}
		case "port":
			portCol = i
		}
	}
	if col < 0 {
		return fmt.Errorf("%s:%d: CSV header has no target, host, hostname, address or ip column (columns: %s)",
			name, headerLine, strings.Join(cols, ", "))
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return lineOf(err)
		}
		ln, _ := cr.FieldPos(0)
		ln += headerLine - 1
		if col >= len(rec) || strings.TrimSpace(rec[col]) == "" {
			continue
		}
		tok := strings.TrimSpace(rec[col])
		s, err := parseSpec(tok)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", name, ln, err)
		}
		if portCol >= 0 && portCol < len(rec) && strings.TrimSpace(rec[portCol]) != "" {
			p, err := parsePort(strings.TrimSpace(rec[portCol]))
			if err != nil {
				return fmt.Errorf("%s:%d: port column: %w", name, ln, err)
			}
			if s.port != 0 && s.port != p {
				return fmt.Errorf("%s:%d: target %q names port %d but the port column says %d", name, ln, tok, s.port, p)
			}
			s.port = p
		}
		if err := t.add(s, tok); err != nil {
			return fmt.Errorf("%s:%d: %w", name, ln, err)
		}
	}
}

// parseSpec parses one target (see Targets.Add).
func parseSpec(tok string) (spec, error) {
	if tok == "" {
		return spec{}, errors.New("empty target")
	}
	if len(tok) > maxToken {
		return spec{}, fmt.Errorf("target %.40q...: longer than %d bytes", tok, maxToken)
	}
	host, port, err := splitPort(tok)
	if err != nil {
		return spec{}, fmt.Errorf("target %q: %w", tok, err)
	}
	s, err := parseHost(host)
	if err != nil {
		return spec{}, fmt.Errorf("target %q: %w", tok, err)
	}
	s.port = port
	return s, nil
}

// splitPort separates an optional ":port": "[v6...]:port", "v4-or-name:port";
// a bare IPv6 address, CIDR or range (more than one colon) has no port.
func splitPort(s string) (string, int, error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, errors.New("missing ']'")
		}
		host, rest := s[1:end], s[end+1:]
		if host == "" {
			return "", 0, errors.New("empty host in brackets")
		}
		if !strings.Contains(host, ":") {
			return "", 0, errors.New("brackets are for IPv6 addresses")
		}
		if rest == "" {
			return host, 0, nil
		}
		if rest[0] != ':' {
			return "", 0, fmt.Errorf("unexpected %q after ']'", rest)
		}
		p, err := parsePort(rest[1:])
		return host, p, err
	}
	switch strings.Count(s, ":") {
	case 0:
		return s, 0, nil
	case 1:
		host, ps, _ := strings.Cut(s, ":")
		if host == "" {
			return "", 0, errors.New("no host before the port")
		}
		p, err := parsePort(ps)
		return host, p, err
	}
	if strings.Contains(s, "]") {
		return "", 0, errors.New("unbalanced ']'")
	}
	return s, 0, nil // IPv6 without brackets: no port
}

func parsePort(s string) (int, error) {
	if s == "" || len(s) > 5 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("port %q: must be 1-65535", s)
	}
	p, _ := strconv.Atoi(s)
	if p < 1 || p > 65535 {
		return 0, fmt.Errorf("port %q: must be 1-65535", s)
	}
	return p, nil
}

// ParsePorts parses "3389,3390,4000-4002".
func ParsePorts(s string) ([]int, error) {
	var ports []int
	seen := map[int]bool{}
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(f, "-")
		a, err := parsePort(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = parsePort(hi); err != nil {
				return nil, err
			}
			if b < a {
				return nil, fmt.Errorf("range %q runs backwards", f)
			}
		}
		for p := a; p <= b; p++ {
			if !seen[p] {
				seen[p] = true
				ports = append(ports, p)
			}
		}
	}
	if len(ports) == 0 {
		return nil, errors.New("no port given")
	}
	return ports, nil
}

// parseHost parses the host part: CIDR, range, address or name.
func parseHost(h string) (spec, error) {
	if h == "" {
		return spec{}, errors.New("empty host")
	}
	if strings.Contains(h, "/") {
		return parseCIDR(h)
	}
	if first, last, ok := strings.Cut(h, "-"); ok {
		if lo, err := netip.ParseAddr(first); err == nil {
			return parseRange(lo, last)
		}
	}
	if a, err := netip.ParseAddr(h); err == nil {
		if z := a.Zone(); strings.Trim(z, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != "" {
			return spec{}, fmt.Errorf("zone %q: only letters, digits, '_', '.' and '-'", z)
		}
		return spec{lo: a, hi: a, n: 1}, nil
	}
	return parseName(h)
}

func parseCIDR(h string) (spec, error) {
	p, err := netip.ParsePrefix(h)
	if err != nil {
		if addr, _, _ := strings.Cut(h, "/"); !strings.ContainsAny(addr, ".:") || strings.Contains(h, "//") || strings.Count(h, "/") > 1 {
			return spec{}, errors.New("no such file, and not a CIDR prefix")
		}
		return spec{}, fmt.Errorf("not a CIDR prefix: %v", trimNetipErr(err))
	}
	p = p.Masked()
	a := p.Addr()
	free := a.BitLen() - p.Bits()
	if a.Is6() && free > bits.TrailingZeros(MaxIPv6Block) {
		return spec{}, fmt.Errorf("IPv6 prefix /%d has 2^%d addresses; at most /%d (%d addresses) per prefix",
			p.Bits(), free, 128-bits.TrailingZeros(MaxIPv6Block), MaxIPv6Block)
	}
	n := uint64(1) << free
	return spec{lo: a, hi: addOffset(a, n-1), n: n}, nil
}

// parseRange parses what follows "lo-": a full address of the same family,
// or the last octet (IPv4, decimal) or last group (IPv6, hex).
func parseRange(lo netip.Addr, last string) (spec, error) {
	if lo.Zone() != "" {
		return spec{}, errors.New("a range cannot have a zone")
	}
	if last == "" {
		return spec{}, errors.New("range has no end")
	}
	hi, err := netip.ParseAddr(last)
	if err != nil {
		hi, err = shortRangeEnd(lo, last)
		if err != nil {
			return spec{}, err
		}
	}
	if hi.Is4() != lo.Is4() || hi.Zone() != "" {
		return spec{}, fmt.Errorf("range %v-%v mixes address families or has a zone", lo, hi)
	}
	if hi.Less(lo) {
		return spec{}, fmt.Errorf("range %v-%v runs backwards", lo, hi)
	}
	d, ok := distance(lo, hi)
	if lo.Is6() && (!ok || d >= MaxIPv6Block) {
		return spec{}, fmt.Errorf("IPv6 range %v-%v has more than %d addresses", lo, hi, MaxIPv6Block)
	}
	return spec{lo: lo, hi: hi, n: d + 1}, nil
}

func shortRangeEnd(lo netip.Addr, last string) (netip.Addr, error) {
	if lo.Is4() {
		v, err := strconv.ParseUint(last, 10, 8)
		if err != nil || strings.TrimLeft(last, "0123456789") != "" {
			return netip.Addr{}, fmt.Errorf("range end %q is neither an address nor a last octet (0-255)", last)
		}
		b := lo.As4()
		b[3] = byte(v)
		return netip.AddrFrom4(b), nil
	}
	v, err := strconv.ParseUint(last, 16, 16)
	if err != nil || len(last) > 4 || strings.TrimLeft(last, "0123456789abcdefABCDEF") != "" {
		return netip.Addr{}, fmt.Errorf("range end %q is neither an address nor a last group (hex, 0-ffff)", last)
	}
	b := lo.As16()
	binary.BigEndian.PutUint16(b[14:], uint16(v))
	return netip.AddrFrom16(b), nil
}

// distance is hi-lo; ok is false when it does not fit in 64 bits.
func distance(lo, hi netip.Addr) (uint64, bool) {
	if lo.Is4() {
		a, b := lo.As4(), hi.As4()
		return uint64(binary.BigEndian.Uint32(b[:]) - binary.BigEndian.Uint32(a[:])), true
	}
	a, b := lo.As16(), hi.As16()
	l, borrow := bits.Sub64(binary.BigEndian.Uint64(b[8:]), binary.BigEndian.Uint64(a[8:]), 0)
	h, _ := bits.Sub64(binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(a[:8]), borrow)
	return l, h == 0
}

// addOffset is a+k, for k within the spec (no overflow past the family).
func addOffset(a netip.Addr, k uint64) netip.Addr {
	if k == 0 {
		return a
	}
	if a.Is4() {
		b := a.As4()
		binary.BigEndian.PutUint32(b[:], binary.BigEndian.Uint32(b[:])+uint32(k))
		return netip.AddrFrom4(b)
	}
	b := a.As16()
	l, carry := bits.Add64(binary.BigEndian.Uint64(b[8:]), k, 0)
	binary.BigEndian.PutUint64(b[8:], l)
	binary.BigEndian.PutUint64(b[:8], binary.BigEndian.Uint64(b[:8])+carry)
	return netip.AddrFrom16(b)
}

// parseName checks a DNS name (letters, digits, '-', '_', dots).
func parseName(h string) (spec, error) {
	name := strings.TrimSuffix(h, ".")
	if len(name) == 0 || len(name) > 253 {
		return spec{}, errors.New("not an address, CIDR, range or host name")
	}
	if strings.Trim(name, "0123456789.") == "" || strings.Contains(name, ":") {
		return spec{}, errors.New("not a valid IP address")
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 {
			return spec{}, fmt.Errorf("host name %q has an empty or over-long label", h)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return spec{}, fmt.Errorf("host name %q: a label starts or ends with '-'", h)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return spec{}, fmt.Errorf("host name %q: character %q is not allowed", h, c)
			}
		}
	}
	return spec{name: strings.ToLower(name), n: 1}, nil
}

func trimNetipErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

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
