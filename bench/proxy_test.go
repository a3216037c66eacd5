//go:build unix

package main

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"
)

// echoLines answers every line with the same line.
func echoLines(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadBytes('\n')
					if err != nil {
						return
					}
					c.Write(line)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// exchange sends k lines, waiting for each answer when wait is set
// (k round trips) or sending them all first (one flight).
func exchange(t *testing.T, addr string, k int, wait bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	for i := 0; i < k; i++ {
		if _, err := io.WriteString(c, "ping\n"); err != nil {
			t.Fatal(err)
		}
		if wait {
			if _, err := r.ReadString('\n'); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !wait {
		for i := 0; i < k; i++ {
			if _, err := r.ReadString('\n'); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestDelayProxyCountsFlightsAndDelays(t *testing.T) {
	const delay = 20 * time.Millisecond
	p, err := newDelayProxy("127.0.0.1:0", echoLines(t), delay)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	start := time.Now()
	exchange(t, p.Addr(), 3, true)
	took := time.Since(start)
	flights, _, conns := p.Wait(2 * time.Second)
	if flights != 3 || conns != 1 {
		t.Errorf("3 request/answer turns: flights=%d conns=%d, want 3 and 1", flights, conns)
	}
	if min := 3 * 2 * delay; took < min {
		t.Errorf("3 round trips took %v through a %v proxy, want at least %v", took, delay, min)
	}

	p.Reset()
	exchange(t, p.Addr(), 3, false) // pipelined: one flight
	exchange(t, p.Addr(), 1, true)  // a second connection: one more
	if flights, _, conns := p.Wait(2 * time.Second); flights != 2 || conns != 2 {
		t.Errorf("pipelined then one turn: flights=%d conns=%d, want 2 and 2", flights, conns)
	}

	// One turn, then a lone 24-byte TLS 1.3 record and the end: a
	// close_notify, counted apart. The same bytes followed by more data
	// are an ordinary flight.
	alert := append([]byte{23, 3, 3, 0, 19}, make([]byte, 19)...)
	for _, tc := range []struct {
		name              string
		tail              []byte
		flights, goodbyes int
	}{
		{"close_notify", alert, 1, 1},
		{"data", append(append([]byte(nil), alert...), []byte("more data than an alert\n")...), 2, 0},
	} {
		p.Reset()
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "ping\n")
		bufio.NewReader(c).ReadString('\n')
		c.Write(tc.tail)
		c.Close()
		if f, g, _ := p.Wait(2 * time.Second); f != tc.flights || g != tc.goodbyes {
			t.Errorf("%s: flights=%d goodbyes=%d, want %d and %d", tc.name, f, g, tc.flights, tc.goodbyes)
		}
	}
}
