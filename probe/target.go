package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
)

// dialer is opt.DialContext, or a net.Dialer with opt.Resolver.
func dialer(opt *Options) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if opt.DialContext != nil {
		return opt.DialContext
	}
	return (&net.Dialer{Resolver: opt.Resolver}).DialContext
}

// SplitTarget parses "host", "host:port", "[v6]:port" and a bare IPv6
// address into host and port. A host is an IP address or a DNS name
// (letters, digits, '-', '_', '.'); anything else is refused here rather
// than handed to a resolver.
func SplitTarget(target string, defPort int) (string, int, error) {
	if target == "" {
		return "", 0, errors.New("empty target")
	}
	if strings.HasPrefix(target, "[") != strings.Contains(target, "]") {
		return "", 0, fmt.Errorf("target %q: unbalanced brackets (write an IPv6 address with a port as [addr]:port)", target)
	}
	host, port := target, defPort
	switch {
	case strings.Count(target, ":") > 1 && !strings.Contains(target, "]:"):
		host = strings.Trim(target, "[]") // a bare IPv6 address, or "[v6]"
	case strings.Contains(target, ":"):
		h, portStr, err := net.SplitHostPort(target)
		if err != nil {
			return "", 0, fmt.Errorf("target %q: %w", target, err)
		}
		p, err := strconv.Atoi(portStr)
		if err != nil || p < 1 || p > 65535 {
			return "", 0, fmt.Errorf("target %q: port must be 1-65535", target)
		}
		host, port = h, p
	default:
		host = strings.Trim(target, "[]")
	}
	if host == "" {
		return "", 0, fmt.Errorf("target %q: no host", target)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.String(), port, nil
	}
	if strings.ContainsAny(target, "[]") || !hostName(host) {
		return "", 0, fmt.Errorf("target %q: %q is neither an IP address nor a host name", target, host)
	}
	return host, port, nil
}

// hostName: letters (any script, for internationalised names), digits,
// '-', '_' and '.', at most 253 bytes (RFC 1035 2.3.4).
func hostName(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '_' && r != '.' {
			return false
		}
	}
	return true
}
