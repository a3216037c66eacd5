package probe

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/rdpprobe/rdpprobe/negotiate"
)

// Size caps for what a server may send before we give up on it. A real
// Connection Confirm is 19 bytes; a TSRequest carrying a CHALLENGE is well
// under 2 KiB; a TPKT length is 16 bits, and a Demand Active with every
// capability set fits well within. The caps only stop a hostile or broken
// peer from making us allocate.
const (
	maxConfirm   = 1024
	maxTSRequest = 64 << 10
	maxServerPDU = 64 << 10
)

// conn is the framing layer of one RDP connection: TPKT packets (X.224,
// MCS) before and after TLS, DER TSRequests inside TLS (MS-CSSP 2.2.1),
// and the odd fixed-size PDU. It records each message as it goes, so the
// phases above it neither frame nor record anything themselves. Its
// net.Conn is the TCP connection, then the TLS one on top of it.
type conn struct {
	net.Conn
	rec Recorder // nil: nothing records

	recorded, recordedBytes int // what went to rec so far
	unrecorded              int // messages past the caps
}

// A recording keeps at most this much of one conversation: a real probe
// is a few dozen messages and some KiB; a server that streams PDUs must
// not turn a recording into gigabytes.
const (
	maxRecordedMessages = 256
	maxRecordedBytes    = 1 << 20
)

func (c *conn) record(from Side, layer Layer, b []byte, note string, secret bool) {
	if c.rec == nil {
		return
	}
	if c.recorded >= maxRecordedMessages || c.recordedBytes+len(b) > maxRecordedBytes {
		c.unrecorded++
		return
	}
	c.recorded++
	c.recordedBytes += len(b)
	c.rec.Message(from, layer, b, note, secret)
}

// finishRecording says how much the caps left out, once, at the end.
func (c *conn) finishRecording() {
	if c.rec != nil && c.unrecorded > 0 {
		c.rec.Event("truncated", fmt.Sprintf("%d more messages not recorded (a recording keeps %d messages, %d bytes)",
			c.unrecorded, maxRecordedMessages, maxRecordedBytes))
	}
}

func (c *conn) event(kind, note string) {
	if c.rec != nil {
		c.rec.Event(kind, note)
	}
}

// recordReadError notes how a read ended when the server sent no message.
func (c *conn) recordReadError(err error) {
	var nt *negotiate.NotTPKTError
	switch {
	case errors.As(err, &nt):
		c.record(Server, LayerRaw, nt.First, "not TPKT: "+nt.Looks(), false)
	case closed(err):
		c.event("close", err.Error())
	}
}

// writeTPKT sends one TPKT packet (b is framed already); note names it in
// a recording, and secret keeps it out of one.
func (c *conn) writeTPKT(b []byte, note string, secret bool) error {
	c.record(Client, LayerX224, b, note, secret)
	if _, err := c.Write(b); err != nil {
		return fmt.Errorf("send %s: %w", note, typeTLSAlert(err))
	}
	return nil
}

// readTPKT reads one TPKT of at most max bytes and returns its payload;
// want names what is expected.
func (c *conn) readTPKT(max int, want string) ([]byte, error) {
	b, err := c.readTPKTNamed(max, func([]byte) string { return want })
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", want, err)
	}
	return b, nil
}

// readTPKTNamed is readTPKT for a PDU named by what it parses as: name is
// called once with the payload, also when nothing records.
func (c *conn) readTPKTNamed(max int, name func(payload []byte) string) ([]byte, error) {
	b, err := negotiate.ReadTPKT(c, max)
	if err != nil {
		err = typeTLSAlert(err)
		c.recordReadError(err)
		return nil, err
	}
	note := name(b)
	c.record(Server, LayerX224, negotiate.AppendTPKT(nil, b), note, false)
	return b, nil
}

// writeTSRequest sends one TSRequest.
func (c *conn) writeTSRequest(m *negotiate.TSRequest, note string, secret bool) error {
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	c.record(Client, LayerCredSSP, b, note, secret)
	if _, err := c.Write(b); err != nil {
		return fmt.Errorf("credssp: send TSRequest: %w", typeTLSAlert(err))
	}
	return nil
}

// readTSRequest reads and parses one TSRequest.
func (c *conn) readTSRequest() (*negotiate.TSRequest, error) {
	b, err := negotiate.ReadTSRequest(c, maxTSRequest)
	if err != nil {
		err = typeTLSAlert(err)
		c.recordReadError(err)
		return nil, fmt.Errorf("credssp: read TSRequest: %w", err)
	}
	ts := new(negotiate.TSRequest)
	err = ts.Unmarshal(b)
	c.record(Server, LayerCredSSP, b, tsNote(ts, err), false)
	if err != nil {
		return nil, err
	}
	return ts, nil
}

// readFixed reads a PDU of exactly n bytes that has no framing of its own
// (the Early User Authorization Result, MS-RDPBCGR 2.2.10.2).
func (c *conn) readFixed(n int, note string) ([]byte, error) {
	buf := make([]byte, n)
	if _, err := io.ReadFull(c, buf); err != nil {
		err = typeTLSAlert(err)
		c.recordReadError(err)
		return nil, fmt.Errorf("read %s: %w", note, err)
	}
	c.record(Server, LayerRaw, buf, note, false)
	return buf, nil
}

func tsNote(ts *negotiate.TSRequest, err error) string {
	switch {
	case err != nil:
		return "TSRequest (malformed)"
	case ts.ErrorCode != nil:
		return fmt.Sprintf("TSRequest v%d: errorCode %v", ts.Version, *ts.ErrorCode)
	case len(ts.PubKeyAuth) > 0:
		return fmt.Sprintf("TSRequest v%d: pubKeyAuth", ts.Version)
	case len(ts.NegoTokens) > 0:
		return fmt.Sprintf("TSRequest v%d: negoToken", ts.Version)
	}
	return fmt.Sprintf("TSRequest v%d", ts.Version)
}

// exchangeConnectionRequest sends the X.224 Connection Request and reads
// the Connection Confirm (MS-RDPBCGR 2.2.1.1, 2.2.1.2): the one X.224
// exchange of the probe and of --enumerate.
func (c *conn) exchangeConnectionRequest(req negotiate.ConnectionRequest) (*negotiate.ConnectionConfirm, error) {
	if err := c.writeTPKT(req.Marshal(), "X.224 Connection Request, RDP_NEG_REQ "+req.RequestedProtocols.String(), false); err != nil {
		return nil, fmt.Errorf("x224: %w", err)
	}
	pdu, err := c.readTPKT(maxConfirm, "X.224 Connection Confirm")
	if err != nil {
		return nil, fmt.Errorf("x224: %w", err)
	}
	var cc negotiate.ConnectionConfirm
	if err := cc.Unmarshal(pdu); err != nil {
		// xrdp answers a request it does not understand (PROTOCOL_RDSAAD)
		// with an MCS Disconnect Provider Ultimatum in a Data TPDU.
		var u negotiate.DisconnectProviderUltimatum
		if mcs, derr := negotiate.ParseDataTPDU(pdu); derr == nil && u.Unmarshal(mcs) == nil {
			return nil, &UltimatumError{Reason: u.Reason}
		}
		return nil, err
	}
	return &cc, nil
}

// UltimatumError: the server answered the Connection Request with an MCS
// Disconnect Provider Ultimatum (T.125, MS-RDPBCGR 2.2.2.3) instead of a
// Connection Confirm: it hung up on the request without a failure code.
type UltimatumError struct{ Reason negotiate.MCSReason }

func (e *UltimatumError) Error() string {
	return "x224: server answered the Connection Request with an MCS Disconnect Provider Ultimatum (" + e.Reason.String() + ")"
}

// closed reports whether err means the peer ended the connection.
func closed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err)
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
