package rdptest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/rdpprobe/rdpprobe/negotiate/tsgu"
	"github.com/rdpprobe/rdpprobe/probe"
)

// tunnel is the gateway's side of MS-TSGU 3.3.5.2-3.3.5.7 for one
// authenticated user: handshake, tunnel, tunnel authorization (the CAP),
// channel (the RAP and the connection to the target), then DATA both
// ways until either side closes.
func (g *Gateway) tunnel(conn int, user string, r io.Reader, w *packetWriter) {
	defer g.event(conn, EventGatewayClosed, user)
	sc := &g.scenario
	g.mu.Lock()
	g.tunnels++
	active := g.tunnels
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.tunnels--
		g.mu.Unlock()
	}()
	read := func(want tsgu.PacketType) ([]byte, error) {
		for {
			b, err := tsgu.ReadPacket(r, 1<<17)
			if err != nil {
				return nil, err
			}
			h, _ := tsgu.ParseHeader(b)
			g.event(conn, EventGatewayPacket, tsgu.Describe(b))
			if h.Type == tsgu.TypeKeepalive {
				continue
			}
			if h.Type != want {
				return nil, fmt.Errorf("%v where %v was due", h.Type, want)
			}
			return b, nil
		}
	}
	send := func(p tsgu.Packet) error {
		if sc.Keepalive {
			w.write((&tsgu.Keepalive{}).Marshal())
		}
		return w.write(p.Marshal())
	}
	stalls := func(at probe.Phase) bool {
		if g.stall(at) {
			g.event(conn, EventFault, "stall at "+string(at))
			io.Copy(io.Discard, r)
			return true
		}
		return false
	}
	fail := func(err error) {
		// A client that hangs up mid-body is a client leaving, not an error.
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, net.ErrClosed) {
			g.event(conn, EventError, err.Error())
		}
	}

	// Handshake (3.3.5.2).
	b, err := read(tsgu.TypeHandshakeRequest)
	if err != nil {
		fail(err)
		return
	}
	var hs tsgu.HandshakeRequest
	if err := hs.Unmarshal(b); err != nil {
		fail(err)
		return
	}
	if stalls(probe.PhaseGatewayTunnel) {
		return
	}
	if sc.Garbage != nil {
		w.write(sc.Garbage)
		io.Copy(io.Discard, r)
		return
	}
	code := sc.Errors.Handshake
	if hs.VersionMajor != 1 {
		code = tsgu.EProxyCapabilityMismatch
	}
	if send(&tsgu.HandshakeResponse{ErrorCode: code, VersionMajor: 1, ServerVersion: 0, ExtendedAuth: tsgu.ExtendedAuthNone}) != nil || code.Failed() {
		return
	}

	// Tunnel (3.3.5.3).
	if b, err = read(tsgu.TypeTunnelCreate); err != nil {
		fail(err)
		return
	}
	tr := tsgu.TunnelResponse{StatusCode: sc.Errors.Tunnel, FieldsPresent: tsgu.TunnelResponseFieldTunnelID | tsgu.TunnelResponseFieldCaps,
		TunnelID: uint32(conn), Capabilities: tsgu.CapIdleTimeout | tsgu.CapMessagingConsentSign | tsgu.CapMessagingServiceMsg}
	if sc.MaxConnections > 0 && active > sc.MaxConnections {
		tr.StatusCode = tsgu.EProxyMaxConnectionsReached
	}
	if sc.ConsentMessage != "" {
		tr.FieldsPresent |= tsgu.TunnelResponseFieldConsentMsg
		tr.ConsentMessage = sc.ConsentMessage
	}
	if send(&tr) != nil || tr.StatusCode.Failed() {
		return
	}

	// Tunnel authorization: the connection authorization policies (3.3.5.4).
	if b, err = read(tsgu.TypeTunnelAuth); err != nil {
		fail(err)
		return
	}
	var ta tsgu.TunnelAuth
	if err := ta.Unmarshal(b); err != nil {
		fail(err)
		return
	}
	ar := tsgu.TunnelAuthResponse{ErrorCode: sc.Errors.TunnelAuth,
		FieldsPresent: tsgu.TunnelAuthResponseFieldRedirFlags | tsgu.TunnelAuthResponseFieldIdleTimeout, RedirFlags: 0x80000000, IdleTimeout: 0}
	if ar.ErrorCode == 0 && sc.CAP != nil && !allowed(sc.CAP, user, "", 0) {
		ar.ErrorCode = tsgu.EProxyNAPAccessDenied
		g.event(conn, EventGatewayChannel, "CAP denies "+user)
	}
	if send(&ar) != nil || ar.ErrorCode.Failed() {
		return
	}

	// Channel: the resource authorization policies, then the target (3.3.5.5).
	if b, err = read(tsgu.TypeChannelCreate); err != nil {
		fail(err)
		return
	}
	var cc tsgu.ChannelCreate
	if err := cc.Unmarshal(b); err != nil {
		fail(err)
		return
	}
	if stalls(probe.PhaseGatewayChannel) {
		return
	}
	name := cc.Resources[0]
	cr := tsgu.ChannelResponse{ErrorCode: sc.Errors.Channel, FieldsPresent: tsgu.ChannelResponseFieldChannelID, ChannelID: 1}
	var target net.Conn
	switch {
	case cr.ErrorCode != 0:
	case sc.RAP != nil && !allowed(sc.RAP, user, name, int(cc.Port)):
		cr.ErrorCode = tsgu.EProxyRAPAccessDenied
		g.event(conn, EventGatewayChannel, fmt.Sprintf("RAP denies %s %s:%d", user, name, cc.Port))
	default:
		target, err = g.dial(name, int(cc.Port))
		if err != nil {
			cr.ErrorCode = sc.ConnectFailure
			if cr.ErrorCode == 0 {
				cr.ErrorCode = tsgu.EProxyTSConnectFailed
			}
			g.event(conn, EventGatewayChannel, "cannot connect: "+err.Error())
		} else {
			g.event(conn, EventGatewayChannel, "connected to "+target.RemoteAddr().String())
		}
	}
	if send(&cr) != nil || cr.ErrorCode.Failed() {
		if target != nil {
			target.Close()
		}
		return
	}
	defer target.Close()
	if sc.ServiceMessage != "" {
		w.write((&tsgu.ServiceMessage{Message: sc.ServiceMessage}).Marshal())
	}

	// DATA both ways (3.3.5.6) until a close (3.3.5.7).
	fromTarget := make(chan struct{})
	go func() {
		defer close(fromTarget)
		buf := make([]byte, 16<<10)
		for {
			n, err := target.Read(buf)
			if n > 0 && w.write(tsgu.AppendData(nil, buf[:n])) != nil {
				return
			}
			if err != nil {
				// The target hung up: the gateway closes the channel.
				w.write((&tsgu.Close{}).Marshal())
				return
			}
		}
	}()
	for {
		b, err := tsgu.ReadPacket(r, 1<<17)
		if err != nil {
			fail(err)
			return
		}
		switch h, _ := tsgu.ParseHeader(b); h.Type {
		case tsgu.TypeData:
			var d tsgu.Data
			if err := d.Unmarshal(b); err != nil {
				fail(err)
				return
			}
			if _, err := target.Write(d.Data); err != nil {
				fail(err)
				return
			}
		case tsgu.TypeKeepalive:
		case tsgu.TypeCloseChannel:
			g.event(conn, EventGatewayPacket, tsgu.Describe(b))
			w.write((&tsgu.Close{Response: true}).Marshal())
			return
		case tsgu.TypeCloseChannelResponse:
			g.event(conn, EventGatewayPacket, tsgu.Describe(b))
			return
		default:
			g.event(conn, EventGatewayPacket, tsgu.Describe(b))
		}
	}
}

// dial connects to the channel's target: a name in Hosts, or a loopback
// address as sent. Nothing off this machine is ever dialled.
func (g *Gateway) dial(name string, port int) (net.Conn, error) {
	addr := net.JoinHostPort(name, strconv.Itoa(port))
	for k, v := range g.scenario.Hosts {
		if strings.EqualFold(k, name) || strings.EqualFold(k, addr) {
			addr = v
			if _, _, err := net.SplitHostPort(v); err != nil {
				addr = net.JoinHostPort(v, strconv.Itoa(port))
			}
			break
		}
	}
	if err := loopbackAddr(addr); err != nil {
		return nil, fmt.Errorf("%s is not a name this gateway knows", name)
	}
	if g.scenario.Unreachable {
		addr = closedAddr()
	}
	return net.DialTimeout("tcp", addr, 5*time.Second)
}

// allowed reports whether a policy lets user in (and, for a RAP, reach
// computer on port).
func allowed(policies []Policy, user, computer string, port int) bool {
	for _, p := range policies {
		if !matchUser(p.Users, user) {
			continue
		}
		if computer == "" {
			return true
		}
		if !matchAny(p.Computers, computer) {
			continue
		}
		if p.Ports == nil {
			return true
		}
		for _, q := range p.Ports {
			if q == port {
				return true
			}
		}
	}
	return false
}

func matchUser(users []string, user string) bool {
	_, bare, _ := strings.Cut(user, `\`)
	for _, u := range users {
		if u == "*" || strings.EqualFold(u, user) || !strings.Contains(u, `\`) && strings.EqualFold(u, bare) {
			return true
		}
	}
	return false
}

func matchAny(list []string, s string) bool {
	for _, v := range list {
		if v == "*" || strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// closedAddr is a loopback port where nothing listens: one just released.
func closedAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:1"
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
