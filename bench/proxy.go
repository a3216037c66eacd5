//go:build unix

package main

import (
	"net"
	"sync"
	"time"
)

// delayProxy forwards TCP connections to one upstream address, holding
// every chunk for Delay in each direction (this kernel has no netem), and
// counts the client's flights: bursts of client data that arrive after
// server data was delivered to the client. A flight is one round trip the
// client waited for; a client that pipelines does not start a new one.
//
// A last flight that is one short TLS record followed by the end of the
// connection is the client's close_notify alert: nothing waits for it, so
// it is counted apart (goodbyes), not as a flight.
type delayProxy struct {
	Delay    time.Duration
	upstream string
	ln       net.Listener

	mu       sync.Mutex
	flights  int // over all connections since the last Reset
	goodbyes int // closing alerts not counted as flights
	conns    int // connections accepted since the last Reset
	active   int
	idle     *sync.Cond
}

func newDelayProxy(listen, upstream string, delay time.Duration) (*delayProxy, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	p := &delayProxy{Delay: delay, upstream: upstream, ln: ln}
	p.idle = sync.NewCond(&p.mu)
	go p.serve()
	return p, nil
}

func (p *delayProxy) Addr() string { return p.ln.Addr().String() }
func (p *delayProxy) Close() error { return p.ln.Close() }

// Reset zeroes the counters before a measured run.
func (p *delayProxy) Reset() {
	p.mu.Lock()
	p.flights, p.goodbyes, p.conns = 0, 0, 0
	p.mu.Unlock()
}

// Wait returns the counters once every connection has ended (both
// directions drained), or after timeout.
func (p *delayProxy) Wait(timeout time.Duration) (flights, goodbyes, conns int) {
	t := time.AfterFunc(timeout, func() { p.mu.Lock(); p.idle.Broadcast(); p.mu.Unlock() })
	defer t.Stop()
	deadline := time.Now().Add(timeout)
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.active > 0 && time.Now().Before(deadline) {
		p.idle.Wait()
	}
	return p.flights, p.goodbyes, p.conns
}

func (p *delayProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

// proxyConn is the per-connection state shared by both directions.
type proxyConn struct {
	p *delayProxy
	// serverSpoke: server data was delivered to the client since the
	// client last sent; the next client chunk starts a flight.
	serverSpoke bool
	// The client's current flight: its length and first bytes.
	flightLen  int
	flightHead []byte
}

// closeAlertMax is the largest TLS record holding only an alert: a 5-byte
// header, an 8-byte explicit nonce (TLS 1.2 GCM), 2 bytes of alert and a
// 16-byte tag (TLS 1.3 adds 1 byte of inner type but no nonce).
const closeAlertMax = 31

// isLoneAlert reports whether head is a whole flight of n bytes that is a
// single TLS alert record (1.2: type 21; 1.3: sealed as type 23).
func isLoneAlert(head []byte, n int) bool {
	if n > closeAlertMax || n < 7 || len(head) < 5 {
		return false
	}
	return (head[0] == 21 || head[0] == 23) && head[1] == 3 && int(head[3])<<8|int(head[4]) == n-5
}

func (p *delayProxy) handle(client net.Conn) {
	p.mu.Lock()
	p.conns++
	p.active++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.active--
		p.idle.Broadcast()
		p.mu.Unlock()
	}()
	server, err := net.Dial("tcp", p.upstream)
	if err != nil {
		client.Close()
		return
	}
	pc := &proxyConn{p: p, serverSpoke: true}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); pc.pump(server, client, true) }()
	go func() { defer wg.Done(); pc.pump(client, server, false) }()
	wg.Wait()
	client.Close()
	server.Close()
}

type chunk struct {
	data []byte
	due  time.Time
}

// pump copies src to dst, each chunk delayed by Delay, in order.
func (pc *proxyConn) pump(dst, src net.Conn, fromClient bool) {
	queue := make(chan chunk, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range queue {
			if d := time.Until(c.due); d > 0 {
				time.Sleep(d)
			}
			if !fromClient {
				// Mark before the write: a client answering at once must
				// find the server's turn recorded.
				pc.p.mu.Lock()
				pc.serverSpoke = true
				pc.p.mu.Unlock()
			}
			if _, err := dst.Write(c.data); err != nil {
				src.Close()
				for range queue { // drain so the reader never blocks
				}
				return
			}
		}
		if tc, ok := dst.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if fromClient {
				pc.p.mu.Lock()
				if pc.serverSpoke {
					pc.p.flights++
					pc.serverSpoke = false
					pc.flightLen, pc.flightHead = 0, pc.flightHead[:0]
				}
				pc.flightLen += n
				if room := 8 - len(pc.flightHead); room > 0 {
					pc.flightHead = append(pc.flightHead, buf[:min(n, room)]...)
				}
				pc.p.mu.Unlock()
			}
			queue <- chunk{data: append([]byte(nil), buf[:n]...), due: time.Now().Add(pc.p.Delay)}
		}
		if err != nil { // EOF or reset: pass the close on after the queued data
			break
		}
	}
	if fromClient {
		pc.p.mu.Lock()
		if pc.flightLen > 0 && isLoneAlert(pc.flightHead, pc.flightLen) {
			pc.p.flights--
			pc.p.goodbyes++
		}
		pc.p.mu.Unlock()
	}
	close(queue)
	<-done
}
