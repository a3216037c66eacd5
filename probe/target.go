package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// dialer is opt.DialContext, or a net.Dialer with opt.Resolver.
func dialer(opt *Options) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if opt.DialContext != nil {
		return opt.DialContext
	}
	return (&net.Dialer{Resolver: opt.Resolver}).DialContext
}

// SplitTarget parses "host", "host:port", "[v6]:port" and a bare IPv6
// address into host and port.
func SplitTarget(target string, defPort int) (string, int, error) {
	if target == "" {
		return "", 0, errors.New("empty target")
	}
	if strings.HasPrefix(target, "[") != strings.Contains(target, "]") {
		return "", 0, fmt.Errorf("target %q: unbalanced brackets (write an IPv6 address with a port as [addr]:port)", target)
	}
	if ip := net.ParseIP(strings.Trim(target, "[]")); ip != nil && strings.Count(target, ":") > 1 && !strings.Contains(target, "]:") {
		return ip.String(), defPort, nil
	}
	// No port: a bare name or IPv4 address, or "[v6]".
	if !strings.Contains(target, ":") || strings.HasSuffix(target, "]") {
		return strings.Trim(target, "[]"), defPort, nil
	}
	host, portStr, err := net.SplitHostPort(target)
	if err != nil {
		return "", 0, fmt.Errorf("target %q: %w", target, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("target %q: port must be 1-65535", target)
	}
	if host == "" {
		return "", 0, fmt.Errorf("target %q: no host", target)
	}
	return host, port, nil
}
