package rdptest

import (
	"io"
	"net"
	"time"

	"github.com/rdpprobe/rdpprobe/probe"
)

// FaultKind is a way to misbehave.
type FaultKind string

const (
	FaultStall      FaultKind = "stall"      // stop answering
	FaultTrickle    FaultKind = "trickle"    // send the answer one byte per Fault.Every (default 1s)
	FaultReset      FaultKind = "reset"      // send half the answer, then a TCP RST
	FaultHugeTPKT   FaultKind = "hugeTPKT"   // a TPKT header with length 65535, then silence
	FaultHugeASN1   FaultKind = "hugeASN1"   // a DER SEQUENCE of length 2^31, then silence
	FaultEndlessTLS FaultKind = "endlessTLS" // TLS records without end
	FaultHTTP       FaultKind = "http"       // answer like a web server
	FaultSSH        FaultKind = "ssh"        // greet like an SSH server
)

// Fault injects misbehaviour at one phase, instead of the server's answer
// there. At is the phase whose answer goes wrong: PhaseNegotiate (the
// Connection Confirm), PhaseTLS (the ServerHello), PhaseNTLMInfo (the
// CHALLENGE), PhaseLogon (the answer to AUTHENTICATE, or to the Kerberos
// AP-REQ: a Kerberos logon has no CHALLENGE). SSH ignores At: an
// SSH server speaks first.
type Fault struct {
	At    probe.Phase
	Kind  FaultKind
	Every time.Duration // trickle interval
}

func (c *conn) fault(at probe.Phase) bool {
	f := c.s.scenario.Fault
	return f.Kind != "" && f.At == at
}

// write sends b: whole, trickled, or half of it before a reset, as the
// fault at phase says.
func (c *conn) write(at probe.Phase, b []byte) error {
	if c.fault(at) {
		switch c.s.scenario.Fault.Kind {
		case FaultTrickle:
			c.event(EventFault, "trickle at "+string(at))
			c.trickle = true // the raw writer trickles from now on
		case FaultReset:
			c.event(EventFault, "reset at "+string(at))
			c.rw.Write(b[:len(b)/2])
			return c.reset()
		}
	}
	_, err := c.rw.Write(b)
	return err
}

// reset ends the connection with a TCP RST.
func (c *conn) reset() error {
	c.raw.SetLinger(0)
	c.raw.Close()
	return errStop
}

// stall says nothing more: it reads and discards whatever the client sends
// until the client hangs up or the server closes.
func (c *conn) stall(at probe.Phase) error {
	c.event(EventFault, "stall at "+string(at))
	io.Copy(io.Discard, c.raw)
	return errStop
}

// misbehave plays the faults that replace an answer outright. It reports
// done=true when the fault took over the connection.
func (c *conn) misbehave(at probe.Phase) (bool, error) {
	if !c.fault(at) {
		return false, nil
	}
	switch k := c.s.scenario.Fault.Kind; k {
	case FaultStall:
		return true, c.stall(at)
	case FaultHugeTPKT:
		c.event(EventFault, "TPKT length 65535 at "+string(at))
		c.rw.Write(append([]byte{3, 0, 0xff, 0xff}, make([]byte, 64)...))
		return true, c.stall(at)
	case FaultHugeASN1:
		c.event(EventFault, "ASN.1 length 2^31 at "+string(at))
		c.rw.Write(append([]byte{0x30, 0x84, 0x80, 0, 0, 0}, make([]byte, 64)...))
		return true, c.stall(at)
	case FaultHTTP:
		c.event(EventFault, "HTTP at "+string(at))
		c.rw.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
		return true, errStop
	case FaultEndlessTLS:
		c.event(EventFault, "endless TLS records at "+string(at))
		return true, c.endlessTLS(at)
	}
	return false, nil
}

// endlessTLS writes TLS records until the client goes away or the server
// closes. Before the handshake: 16 KiB fragments of one handshake message
// of 2^24-1 bytes; after it: one TSRequest just under 64 KiB followed by
// zeros for ever, in full-size records.
func (c *conn) endlessTLS(at probe.Phase) error {
	w, first, chunk := io.Writer(c.raw), []byte(nil), make([]byte, 16384)
	if at == probe.PhaseTLS || at == probe.PhaseNegotiate {
		rec := append([]byte{0x16, 0x03, 0x03, 0x40, 0x00}, make([]byte, 16384)...)
		first = append([]byte(nil), rec...)
		copy(first[5:], []byte{0x0b, 0xff, 0xff, 0xff}) // Certificate, length 2^24-1
		chunk = rec
	} else {
		w = c.rw
		first = []byte{0x30, 0x83, 0x00, 0xff, 0xf0}
	}
	if _, err := w.Write(first); err != nil {
		return errStop
	}
	for {
		select {
		case <-c.s.done:
			return errStop
		default:
		}
		if _, err := w.Write(chunk); err != nil {
			return errStop
		}
	}
}

// trickleConn is the raw connection; once its conn's trickle flag is set,
// it writes one byte per interval and gives up when the server closes.
type trickleConn struct {
	*net.TCPConn
	c *conn
}

func (t *trickleConn) Write(b []byte) (int, error) {
	if !t.c.trickle {
		return t.TCPConn.Write(b)
	}
	every := t.c.s.scenario.Fault.Every
	if every <= 0 {
		every = time.Second
	}
	for i := range b {
		if _, err := t.TCPConn.Write(b[i : i+1]); err != nil {
			return i, err
		}
		select {
		case <-t.c.s.done:
			return i + 1, net.ErrClosed
		case <-time.After(every):
		}
	}
	return len(b), nil
}
