package krb5

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"
)

// DefaultKDCPort is the Kerberos port (RFC 4120 7.2.3).
const DefaultKDCPort = "88"

// DefaultMaxReply caps a KDC reply: a Windows service ticket with a large
// PAC stays well below it (MaxTokenSize is 48000 by default).
const DefaultMaxReply = 256 << 10

// DefaultExchangeTimeout bounds one KDC exchange when the context has no
// earlier deadline.
const DefaultExchangeTimeout = 5 * time.Second

// KDC is one KDC address: host:port and "tcp" (the default) or "udp".
type KDC struct {
	Addr    string
	Network string
}

// ParseKDC reads HOST[:PORT], optionally prefixed "tcp/" or "udp/" (as
// krb5.conf writes it); the port defaults to 88.
func ParseKDC(s string) (KDC, error) {
	k := KDC{Network: "tcp"}
	if n, rest, ok := strings.Cut(s, "/"); ok && (n == "tcp" || n == "udp") {
		k.Network, s = n, rest
	}
	if s == "" {
		return KDC{}, errors.New("krb5: empty KDC address")
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		// No port: a bare name or address (an IPv6 one in brackets or not).
		host, port = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), DefaultKDCPort
	}
	if host == "" || strings.ContainsAny(host, " /") {
		return KDC{}, fmt.Errorf("krb5: KDC address %q is not HOST[:PORT]", s)
	}
	k.Addr = net.JoinHostPort(host, port)
	return k, nil
}

// Exchange is the record of one KDC exchange: which step, which KDC
// answered and how long the round trip took (the dial included).
type Exchange struct {
	Step    Step
	KDC     string
	Network string
	RTT     time.Duration
	Tried   []KDCAttempt // KDCs that gave no answer before this one
}

// Transport sends one request to the KDCs in order and returns the first
// answer. It never sends a request twice to the same KDC and, for a
// request that proves the password, never to a second KDC once one may
// have received it.
type Transport struct {
	KDCs []KDC
	// DialContext dials a KDC; nil uses a net.Dialer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Timeout bounds each exchange under the context's own deadline (zero:
	// DefaultExchangeTimeout).
	Timeout time.Duration
	// MaxReply caps a reply's length (zero: DefaultMaxReply).
	MaxReply int
}

func (t *Transport) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if t.DialContext != nil {
		return t.DialContext(ctx, network, addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// errNotSent marks a failure before any byte of the request left us.
var errNotSent = errors.New("request not sent")

// roundTrip sends req and returns the reply. once: the request proves the
// password, so after a KDC may have received it no other KDC is tried.
func (t *Transport) roundTrip(ctx context.Context, step Step, req []byte, once bool) ([]byte, Exchange, error) {
	ex := Exchange{Step: step}
	if len(t.KDCs) == 0 {
		return nil, ex, &KDCUnreachableError{Step: step}
	}
	for _, k := range t.KDCs {
		network := k.Network
		if network == "" {
			network = "tcp"
		}
		start := time.Now()
		reply, err := t.one(ctx, network, k.Addr, req)
		if err == nil {
			ex.KDC, ex.Network, ex.RTT = k.Addr, network, time.Since(start)
			return reply, ex, nil
		}
		ex.Tried = append(ex.Tried, KDCAttempt{KDC: k.Addr, Network: network, Err: err})
		if ctx.Err() != nil {
			break
		}
		if once && !errors.Is(err, errNotSent) {
			return nil, ex, &KDCUnreachableError{Step: step, Tried: ex.Tried, Stopped: true}
		}
	}
	return nil, ex, &KDCUnreachableError{Step: step, Tried: ex.Tried}
}

func (t *Transport) one(ctx context.Context, network, addr string, req []byte) ([]byte, error) {
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = DefaultExchangeTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := t.dial(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("%w: dial: %w", errNotSent, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	max := t.MaxReply
	if max <= 0 {
		max = DefaultMaxReply
	}
	if network == "udp" {
		return udpExchange(conn, req, max)
	}
	return tcpExchange(conn, req, max)
}

// tcpExchange frames req with its 4-octet length (RFC 4120 7.2.2) and reads
// one framed reply of at most max octets.
func tcpExchange(conn net.Conn, req []byte, max int) ([]byte, error) {
	if len(req) > 1<<31-1 {
		return nil, fmt.Errorf("%w: request too long", errNotSent)
	}
	msg := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(req)), uint32(len(req)))
	msg = append(msg, req...)
	if n, err := conn.Write(msg); err != nil {
		if n == 0 {
			return nil, fmt.Errorf("%w: write: %w", errNotSent, err)
		}
		return nil, fmt.Errorf("write: %w", err)
	}
	return readFramed(conn, max)
}

// readFramed reads one TCP-framed KDC message: a length with the high bit
// clear (set is reserved, RFC 4120 7.2.2), then that many octets.
func readFramed(r io.Reader, max int) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("read length: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n&0x80000000 != 0 {
		return nil, fmt.Errorf("%w: reply length %#x has the reserved high bit set", ErrMalformed, n)
	}
	if n == 0 || int64(n) > int64(max) {
		return nil, fmt.Errorf("%w: reply length %d outside 1..%d", ErrMalformed, n, max)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("read reply: %w", err)
	}
	return b, nil
}

// udpExchange sends req in one datagram and reads one reply.
func udpExchange(conn net.Conn, req []byte, max int) ([]byte, error) {
	if n, err := conn.Write(req); err != nil {
		if n == 0 {
			return nil, fmt.Errorf("%w: write: %w", errNotSent, err)
		}
		return nil, fmt.Errorf("write: %w", err)
	}
	b := make([]byte, max+1)
	n, err := conn.Read(b)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) { // ICMP port unreachable: nobody received it
			return nil, fmt.Errorf("%w: %w", errNotSent, err)
		}
		return nil, fmt.Errorf("read reply: %w", err)
	}
	if n > max {
		return nil, fmt.Errorf("%w: datagram longer than %d", ErrMalformed, max)
	}
	return b[:n], nil
}
