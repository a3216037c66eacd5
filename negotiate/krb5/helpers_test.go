package krb5

import (
	"bytes"
	"context"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// loadHex reads testdata/<name>.hex: hex digits, white space and #-comments ignored.
func loadHex(tb testing.TB, name string) []byte {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name+".hex"))
	if err != nil {
		tb.Fatal(err)
	}
	var digits strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		line, _, _ = strings.Cut(line, "#")
		digits.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(digits.String())
	if err != nil {
		tb.Fatalf("%s.hex: %v", name, err)
	}
	return b
}

func writeHex(tb testing.TB, name, comment string, b []byte) {
	tb.Helper()
	var out bytes.Buffer
	out.WriteString("# " + comment + "\n")
	h := hex.EncodeToString(b)
	for len(h) > 64 {
		out.WriteString(h[:64] + "\n")
		h = h[64:]
	}
	out.WriteString(h + "\n")
	if err := os.WriteFile(filepath.Join("testdata", name+".hex"), out.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// recorder is a DialContext that keeps every TCP reply a KDC sends.
type recorder struct {
	mu      sync.Mutex
	replies [][]byte
}

type recConn struct {
	net.Conn
	r   *recorder
	buf bytes.Buffer
}

func (c *recConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.buf.Write(p[:n])
	return n, err
}

func (c *recConn) Close() error {
	c.r.mu.Lock()
	if b := c.buf.Bytes(); len(b) > 4 {
		c.r.replies = append(c.r.replies, append([]byte(nil), b[4:]...))
	}
	c.r.mu.Unlock()
	return c.Conn.Close()
}

func (r *recorder) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &recConn{Conn: c, r: r}, nil
}

// fixedNow is a clock for tests that need one.
func fixedNow() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC) }

// zeroRand reads as endless zeros... plus a counter, so keys differ from nonces.
type countRand struct{ n byte }

func (r *countRand) Read(p []byte) (int, error) {
	for i := range p {
		r.n++
		p[i] = r.n
	}
	return len(p), nil
}
