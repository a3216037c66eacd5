package sweep

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
)

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
