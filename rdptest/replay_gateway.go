package rdptest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"time"

	"github.com/rdpprobe/rdpprobe/fixture"
	"github.com/rdpprobe/rdpprobe/internal/gwhttp"
	"github.com/rdpprobe/rdpprobe/negotiate/tsgu"
	"github.com/rdpprobe/rdpprobe/probe"
)

// A fixture recorded through an RD Gateway ("gateway:" in its header) is
// replayed by a gateway: each connection's HTTP messages are played on
// the channel its first request names (the IN and OUT channels' messages
// interleave in the recording, and a replay keeps each channel's own
// order), then the gateway's packets, then the target's messages inside
// the tunnel, as DATA packets. A gateway replay serves one probe.

// ReplayTarget is the target a gateway fixture is replayed to: the
// channel's resource name goes to the replay, which ignores it.
const ReplayTarget = "rds01.corp.example.com"

func gatewayFixture(f *fixture.Fixture) bool { return f.Header["gateway"] != "" }

type gwReplay struct {
	r      *Replay
	http   map[probe.Layer][]fixture.Step // each channel's messages
	tsgu   []fixture.Step                 // the gateway's packets, before the target's first message
	rdp    []fixture.Step                 // the target's part, with the closing packets
	closed bool                           // the gateway closed at once (a TLS failure)

	mu      sync.Mutex
	out     *packetWriter
	in      io.Reader // the client's packets
	ready   chan struct{}
	readyOK bool
	cert    tls.Certificate
}

func newGWReplay(r *Replay) (*gwReplay, error) {
	g := &gwReplay{r: r, http: map[probe.Layer][]fixture.Step{}, ready: make(chan struct{})}
	first := len(r.f.Steps)
	for i, st := range r.f.Steps {
		if st.Kind == fixture.KindMessage && (st.Layer == probe.LayerX224 || st.Layer == probe.LayerCredSSP || st.Layer == probe.LayerRaw) {
			first = i
			break
		}
	}
	for i, st := range r.f.Steps[:first] {
		switch {
		case st.Kind == fixture.KindClose && i == 0:
			g.closed = true
		case st.Kind != fixture.KindMessage:
		case st.Layer == probe.LayerTSGU:
			g.tsgu = append(g.tsgu, st)
		default:
			g.http[st.Layer] = append(g.http[st.Layer], st)
		}
	}
	g.rdp = r.f.Steps[first:]
	var err error
	if r.f.Header["gateway-trust"] == "no" {
		g.cert, err = DefaultCertificate()
	} else {
		g.cert, err = gatewayCert()
	}
	return g, err
}

// serveConn plays one connection to the gateway.
func (g *gwReplay) serveConn(c net.Conn) error {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if g.closed {
		c.Read(make([]byte, 512))
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		return nil
	}
	tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{g.cert}, NextProtos: []string{"http/1.1"}})
	if err := tc.Handshake(); err != nil {
		return nil // the probe refused the certificate
	}
	br := bufio.NewReader(tc)
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil
	}
	layer := probe.LayerHTTPOut
	if req.Method == "RDG_IN_DATA" {
		layer = probe.LayerHTTPIn
	}
	steps := g.http[layer]
	var last []byte // the last answer written
	for i, st := range steps {
		if st.From == probe.Client {
			if i == 0 {
				continue // read already
			}
			if req, err = http.ReadRequest(br); err != nil {
				return fmt.Errorf("%s step %d: %w", layer, i+1, err)
			}
			if req.TransferEncoding == nil {
				io.Copy(io.Discard, req.Body)
			}
			continue
		}
		last = httpBytes(st.Data, req.Header.Get("Sec-WebSocket-Key"))
		if _, err := tc.Write(last); err != nil {
			return err
		}
	}
	resp, _ := http.ReadResponse(bufio.NewReader(bytes.NewReader(last)), nil)
	switch {
	case layer == probe.LayerHTTPOut && resp != nil && resp.StatusCode == 101:
		pw := &packetWriter{c: tc, bw: bufio.NewWriter(tc), ws: true}
		g.attach(pw, &gwhttp.MessageReader{R: br, Max: 1 << 17, WantMasked: true, Pong: pw.control})
	case layer == probe.LayerHTTPOut && resp != nil && resp.StatusCode == 200 && resp.ContentLength < 0:
		// A gateway's 200 opens the channel, with no length; a page's has one.
		g.attach(&packetWriter{c: tc, bw: bufio.NewWriter(tc), chunked: resp.TransferEncoding != nil}, nil)
	case layer == probe.LayerHTTPIn && req != nil && req.TransferEncoding != nil:
		g.attach(nil, httputil.NewChunkedReader(br))
	default:
		io.Copy(io.Discard, tc)
		return nil
	}
	// The channel is part of the tunnel now: it lives until the play ends
	// (a replay never waits long).
	select {
	case <-g.done():
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s: the tunnel never started", layer)
	}
	return nil
}

// attach adds a channel's side of the tunnel; once both sides are there,
// the tunnel plays.
func (g *gwReplay) attach(out *packetWriter, in io.Reader) {
	g.mu.Lock()
	if out != nil {
		g.out = out
	}
	if in != nil {
		g.in = in
	}
	start := g.out != nil && g.in != nil && !g.readyOK
	if start {
		g.readyOK = true
	}
	g.mu.Unlock()
	if start {
		go func() {
			defer close(g.ready)
			if err := g.play(); err != nil {
				g.r.mu.Lock()
				g.r.errs = append(g.r.errs, err)
				g.r.mu.Unlock()
			}
		}()
	}
}

func (g *gwReplay) done() <-chan struct{} { return g.ready }

// play plays the gateway's packets, then the target's part in the tunnel.
func (g *gwReplay) play() error {
	t := &replayTunnel{g: g}
	for i, st := range g.tsgu {
		if err := t.step(st); err != nil {
			return fmt.Errorf("gateway packet %d: %w", i+1, err)
		}
	}
	var conn net.Conn = t
	for i, st := range g.rdp {
		switch {
		case st.Kind == fixture.KindClose || st.Kind == fixture.KindTruncated:
			return nil
		case st.Kind == fixture.KindTLS:
			tc := tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{g.r.cert}, MinVersion: tls.VersionTLS10})
			if err := tc.Handshake(); err != nil {
				return fmt.Errorf("step %d: tls: %w", i+1, err)
			}
			conn = tc
		case st.Kind != fixture.KindMessage:
		case st.Layer == probe.LayerTSGU:
			if err := t.step(st); err != nil {
				return fmt.Errorf("step %d: %w", i+1, err)
			}
		case st.From == probe.Server:
			if _, err := conn.Write(st.Data); err != nil {
				return fmt.Errorf("step %d: write: %w", i+1, err)
			}
		default:
			if err := readUnit(conn, st); err != nil {
				return fmt.Errorf("step %d: read client %s: %w", i+1, st.Layer, err)
			}
		}
	}
	io.Copy(io.Discard, conn)
	return nil
}

// replayTunnel is the gateway's side of the tunnel in a replay: a
// net.Conn over DATA packets, and the recorded packets in between.
type replayTunnel struct {
	g    *gwReplay
	rbuf []byte
}

// step plays one recorded packet: the gateway's is sent, the client's read
// (skipping its DATA and keepalives, which the recording does not hold).
func (t *replayTunnel) step(st fixture.Step) error {
	if st.From == probe.Server {
		return t.g.out.write(st.Data)
	}
	want, _ := tsgu.ParseHeader(st.Data)
	for {
		b, err := tsgu.ReadPacket(t.g.in, 1<<17)
		if err != nil {
			return err
		}
		if h, _ := tsgu.ParseHeader(b); h.Type == want.Type {
			return nil
		}
	}
}

func (t *replayTunnel) Read(p []byte) (int, error) {
	for len(t.rbuf) == 0 {
		b, err := tsgu.ReadPacket(t.g.in, 1<<17)
		if err != nil {
			return 0, err
		}
		switch h, _ := tsgu.ParseHeader(b); h.Type {
		case tsgu.TypeData:
			var d tsgu.Data
			if err := d.Unmarshal(b); err != nil {
				return 0, err
			}
			t.rbuf = d.Data
		case tsgu.TypeCloseChannel:
			t.g.out.write((&tsgu.Close{Response: true}).Marshal())
			return 0, io.EOF
		}
	}
	n := copy(p, t.rbuf)
	t.rbuf = t.rbuf[n:]
	return n, nil
}

func (t *replayTunnel) Write(p []byte) (int, error) {
	for off := 0; off < len(p); off += tsgu.MaxData {
		if err := t.g.out.write(tsgu.AppendData(nil, p[off:min(len(p), off+tsgu.MaxData)])); err != nil {
			return off, err
		}
	}
	return len(p), nil
}

func (t *replayTunnel) Close() error                     { return nil }
func (t *replayTunnel) LocalAddr() net.Addr              { return t.g.out.c.LocalAddr() }
func (t *replayTunnel) RemoteAddr() net.Addr             { return t.g.out.c.RemoteAddr() }
func (t *replayTunnel) SetDeadline(time.Time) error      { return nil }
func (t *replayTunnel) SetReadDeadline(time.Time) error  { return nil }
func (t *replayTunnel) SetWriteDeadline(time.Time) error { return nil }

// httpBytes is a recorded answer as it goes back on the wire: the probe
// records a body decoded and at most 2 KiB of it, so a chunked body is
// coded again and a shorter one padded to its Content-Length; a WebSocket
// upgrade accepts this client's key.
func httpBytes(b []byte, wsKey string) []byte {
	i := bytes.Index(b, []byte("\r\n\r\n"))
	if i < 0 {
		return b
	}
	head, body := b[:i+4], b[i+4:]
	resp, err := gwhttp.ParseResponseHead(head)
	if err != nil {
		return b
	}
	if old := resp.Get("Sec-WebSocket-Accept"); old != "" && wsKey != "" {
		head = bytes.Replace(head, []byte(old), []byte(gwhttp.AcceptKey(wsKey)), 1)
	}
	out := append([]byte(nil), head...)
	switch n, ok, _ := resp.ContentLength(); {
	case resp.Chunked():
		out = append(gwhttp.AppendChunk(out, body), gwhttp.LastChunk...)
	case ok && int64(len(body)) < n:
		out = append(append(out, body...), bytes.Repeat([]byte(" "), int(n)-len(body))...)
	default:
		out = append(out, body...)
	}
	return out
}

// gatewayReplayOptions adds the gateway to a gateway fixture's options:
// its "gateway:" transport, "gateway-credentials:", and rdptest's CA.
func gatewayReplayOptions(f *fixture.Fixture, opt *probe.Options) error {
	tr, err := probe.ParseGatewayTransport(f.Header["gateway"])
	if err != nil {
		return fmt.Errorf("fixture gateway: %w", err)
	}
	opt.Gateway = &probe.GatewayOptions{Transport: tr, Cert: probe.CertPolicy{Roots: TestRoots()}, ClientName: "replay"}
	switch f.Header["gateway-credentials"] {
	case "yes":
		c := ReplayCredentials
		opt.Gateway.Credentials = &c
	case "", "no":
	default:
		return fmt.Errorf("fixture gateway-credentials: %q, want yes or no", f.Header["gateway-credentials"])
	}
	return nil
}
