package probe

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/rdpprobe/rdpprobe/internal/gwhttp"
	"github.com/rdpprobe/rdpprobe/negotiate/tsgu"
)

// gwTunnel carries the gateway's packets once the channels are
// authenticated: our packets as chunks of the IN channel's body (or
// WebSocket messages on the OUT channel), the gateway's in the OUT
// channel's body. Once the channel to the target is open it is the
// net.Conn the target's phases run over: Write sends DATA packets, Read
// returns their data and skips keepalives.
type gwTunnel struct {
	g    *gateway
	src  *bufio.Reader // the gateway's packets
	seed bool          // the OUT channel's seed is yet to be skipped (HTTP transport)
	open bool          // the channel is open: DATA flows

	wmu     sync.Mutex
	w       net.Conn // where our packets go
	ws      bool
	pending []byte // the IN channel's data request, sent with the first packet
	wbuf    []byte

	rbuf []byte
	rerr error

	closeOnce sync.Once
	closeErr  error
}

// openTunnel starts the packet streams on the authenticated channels.
func (g *gateway) openTunnel() (*gwTunnel, error) {
	t := &gwTunnel{g: g}
	if g.ws {
		t.ws, t.w = true, g.out.tc
		mr := &gwhttp.MessageReader{R: g.out.br, Max: maxGatewayPacket, Pong: t.control}
		t.src = bufio.NewReaderSize(mr, 16<<10)
	} else {
		head, err := g.in.inHead()
		if err != nil {
			return nil, err
		}
		t.w, t.pending, t.seed = g.in.tc, head, true
		var body io.Reader = g.out.br
		if g.out.final.Chunked() {
			body = &gwhttp.ChunkedReader{R: g.out.br, MaxChunk: maxGatewayPacket}
		}
		t.src = bufio.NewReaderSize(body, 16<<10)
	}
	g.tunnel = t
	return t, nil
}

// control answers a WebSocket ping or close (RFC 6455 5.5).
func (t *gwTunnel) control(op gwhttp.Opcode, payload []byte) error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	_, err := t.w.Write(gwhttp.AppendFrame(nil, true, op, newMask(), payload))
	return err
}

func newMask() *[4]byte {
	var m [4]byte
	rand.Read(m[:])
	return &m
}

// writePacket frames one packet for the transport and sends it; a packet
// other than DATA is recorded.
func (t *gwTunnel) writePacket(pkt []byte) error {
	t.record(Client, pkt)
	t.wmu.Lock()
	defer t.wmu.Unlock()
	b := append(t.wbuf[:0], t.pending...)
	t.pending = nil
	if t.ws {
		b = gwhttp.AppendFrame(b, true, gwhttp.OpBinary, newMask(), pkt)
	} else {
		b = gwhttp.AppendChunk(b, pkt)
	}
	t.wbuf = b
	if _, err := t.w.Write(b); err != nil {
		return fmt.Errorf("gateway: send %v: %w", pktType(pkt), typeTLSAlert(err))
	}
	return nil
}

// record notes a packet other than DATA (whose bytes the target's layer
// records).
func (t *gwTunnel) record(from Side, pkt []byte) {
	if pktType(pkt) != tsgu.TypeData {
		t.g.record(from, LayerTSGU, pkt, tsgu.Describe(pkt), false)
	}
}

func pktType(b []byte) tsgu.PacketType {
	h, _ := tsgu.ParseHeader(b)
	return h.Type
}

// skipSeed drops what an RD Gateway sends after its 200 on the OUT channel
// and before the first packet: a "random entity body of limited size"
// (MS-TSGU 3.3.5.1 says 100 bytes; Windows Server 2019 and rdpgw send 10).
// The first packet is always the HANDSHAKE_RESPONSE: its header marks the
// end of the seed, whatever its length.
func (t *gwTunnel) skipSeed() error {
	for skipped := 0; ; skipped++ {
		b, err := t.src.Peek(tsgu.HeaderLen)
		if err != nil {
			return err
		}
		if h, err := tsgu.ParseHeader(b); err == nil && h.Type == tsgu.TypeHandshakeResponse && h.Length >= 18 && h.Length <= 1024 && bytes.Equal(b[2:4], []byte{0, 0}) {
			return nil
		}
		if skipped == maxSeed {
			return fmt.Errorf("gateway: %w: no HANDSHAKE_RESPONSE within the first %d bytes of RDG_OUT_DATA", tsgu.ErrMalformed, maxSeed)
		}
		t.src.Discard(1)
	}
}

// readPacket reads the gateway's next packet; a packet other than DATA is
// recorded.
func (t *gwTunnel) readPacket() ([]byte, error) {
	if t.seed {
		if err := t.skipSeed(); err != nil {
			return nil, t.readError(err)
		}
		t.seed = false
	}
	b, err := tsgu.ReadPacket(t.src, maxGatewayPacket)
	if err != nil {
		return nil, t.readError(err)
	}
	t.record(Server, b)
	return b, nil
}

func (t *gwTunnel) readError(err error) error {
	err = typeTLSAlert(err)
	if gwhttp.IsClose(err) {
		t.g.event("close", err.Error())
		return &GatewayClosedError{Err: err}
	}
	t.g.recordReadError(err)
	return err
}

// exchange sends a request and reads packets until the response of type
// want, which it parses into resp; keepalives and service messages on the
// way are taken in stride. A CLOSE_CHANNEL ends it.
func (t *gwTunnel) exchange(req []byte, resp tsgu.Packet, want tsgu.PacketType) error {
	if err := t.writePacket(req); err != nil {
		return err
	}
	for {
		b, err := t.readPacket()
		if err != nil {
			return fmt.Errorf("gateway: read %v: %w", want, err)
		}
		switch h, _ := tsgu.ParseHeader(b); h.Type {
		case want:
			return resp.Unmarshal(b)
		case tsgu.TypeKeepalive, tsgu.TypeReauthMessage:
		case tsgu.TypeServiceMessage:
			t.serviceMessage(b)
		case tsgu.TypeCloseChannel:
			return t.closedByGateway(b)
		default:
			return fmt.Errorf("gateway: %w: %v where %v was expected", tsgu.ErrMalformed, h.Type, want)
		}
	}
}

func (t *gwTunnel) serviceMessage(b []byte) {
	var m tsgu.ServiceMessage
	if m.Unmarshal(b) == nil && len(t.g.info.ServiceMessage) < maxServiceMessages {
		t.g.info.ServiceMessage = append(t.g.info.ServiceMessage, capText(m.Message))
	}
}

// closedByGateway answers the gateway's CLOSE_CHANNEL (MS-TSGU 3.3.5.7)
// and returns the error that ends the conversation.
func (t *gwTunnel) closedByGateway(b []byte) error {
	var c tsgu.Close
	if err := c.Unmarshal(b); err != nil {
		return err
	}
	st := c.StatusCode
	t.g.info.CloseStatus = &st
	t.writePacket((&tsgu.Close{Response: true}).Marshal())
	t.open = false
	return &GatewayClosedError{Status: st, Err: io.EOF}
}

// Read returns the data of the gateway's DATA packets.
func (t *gwTunnel) Read(b []byte) (int, error) {
	for len(t.rbuf) == 0 {
		if t.rerr != nil {
			return 0, t.rerr
		}
		pkt, err := t.readPacket()
		if err != nil {
			t.rerr = err
			continue
		}
		switch h, _ := tsgu.ParseHeader(pkt); h.Type {
		case tsgu.TypeData:
			var d tsgu.Data
			if err := d.Unmarshal(pkt); err != nil {
				t.rerr = err
				continue
			}
			t.rbuf = d.Data
		case tsgu.TypeCloseChannel:
			t.rerr = t.closedByGateway(pkt)
		case tsgu.TypeServiceMessage:
			t.serviceMessage(pkt)
		}
		// Keepalives, reauthentication requests and packets this probe
		// does not know are skipped.
	}
	n := copy(b, t.rbuf)
	t.rbuf = t.rbuf[n:]
	return n, nil
}

// Write sends b in DATA packets.
func (t *gwTunnel) Write(b []byte) (int, error) {
	if !t.open {
		return 0, errors.New("gateway: the channel to the target is closed")
	}
	for off := 0; off < len(b); {
		n := min(len(b)-off, 16<<10)
		if err := t.writePacket(tsgu.AppendData(nil, b[off:off+n])); err != nil {
			return off, err
		}
		off += n
	}
	return len(b), nil
}

// closeGrace bounds the goodbye: CLOSE_CHANNEL and its response.
const closeGrace = 500 * time.Millisecond

// Close says goodbye and ends both connections: CLOSE_CHANNEL, sent with
// the end of our side (the IN channel's last chunk, or a WebSocket Close)
// in one flight, then a short wait for the gateway's
// CLOSE_CHANNEL_RESPONSE, so that it logs a clean disconnect.
func (t *gwTunnel) Close() error {
	t.closeOnce.Do(func() {
		g := t.g
		g.SetDeadline(time.Now().Add(closeGrace))
		if t.open {
			t.open = false
			bye := (&tsgu.Close{}).Marshal()
			t.record(Client, bye)
			t.wmu.Lock()
			b := append(t.wbuf[:0], t.pending...)
			if t.ws {
				b = gwhttp.AppendFrame(b, true, gwhttp.OpBinary, newMask(), bye)
				b = gwhttp.AppendFrame(b, true, gwhttp.OpClose, newMask(), binary.BigEndian.AppendUint16(nil, 1000))
			} else {
				b = append(gwhttp.AppendChunk(b, bye), gwhttp.LastChunk...)
			}
			_, err := t.w.Write(b)
			t.pending = nil
			t.wmu.Unlock()
			for err == nil && t.rerr == nil {
				var p []byte
				if p, err = t.readPacket(); err == nil && pktType(p) == tsgu.TypeCloseChannelResponse {
					break
				}
			}
		}
		for _, c := range []*gwChannel{g.out, g.in} {
			if c != nil {
				if err := c.conn().Close(); err != nil && t.closeErr == nil {
					t.closeErr = err
				}
			}
		}
	})
	return t.closeErr
}

func (t *gwTunnel) LocalAddr() net.Addr  { return t.g.out.raw.LocalAddr() }
func (t *gwTunnel) RemoteAddr() net.Addr { return t.g.out.raw.RemoteAddr() }

func (t *gwTunnel) SetDeadline(d time.Time) error { return t.g.SetDeadline(d) }

func (t *gwTunnel) SetReadDeadline(d time.Time) error { return t.g.out.conn().SetReadDeadline(d) }

func (t *gwTunnel) SetWriteDeadline(d time.Time) error { return t.w.SetWriteDeadline(d) }
