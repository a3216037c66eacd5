package probe

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rdpprobe/rdpprobe/internal/gwhttp"
	"github.com/rdpprobe/rdpprobe/negotiate/tsgu"
)

// DefaultGatewayPort is an RD Gateway's HTTPS port.
const DefaultGatewayPort = 443

// GatewayTransport is how the probe talks to an RD Gateway (MS-TSGU 2.1.2).
type GatewayTransport string

const (
	// GatewayAuto asks for WebSocket on the OUT channel and goes on with
	// the HTTP transport if the gateway answers 200 instead: what mstsc
	// and FreeRDP do.
	GatewayAuto GatewayTransport = "auto"
	// GatewayHTTP: the two HTTP channels, RDG_OUT_DATA and RDG_IN_DATA.
	GatewayHTTP GatewayTransport = "http"
	// GatewayWebSocket: one channel, upgraded to WebSocket.
	GatewayWebSocket GatewayTransport = "websocket"
)

// ParseGatewayTransport reads auto, http or websocket; "" is auto. It is the
// one parser of the word (--gateway-transport, a module's transport:).
func ParseGatewayTransport(s string) (GatewayTransport, error) {
	switch t := GatewayTransport(s); t {
	case "":
		return GatewayAuto, nil
	case GatewayAuto, GatewayHTTP, GatewayWebSocket:
		return t, nil
	}
	return "", fmt.Errorf("unknown gateway transport %q (use auto, http or websocket)", s)
}

// GatewayOptions puts an RD Gateway between the probe and its target: the
// probe authenticates to the gateway, opens a tunnel and a channel to the
// target, and runs the target's phases unchanged inside it.
type GatewayOptions struct {
	// Address is "host" or "host:port" (DefaultGatewayPort).
	Address string
	// Credentials for the gateway's logon; nil sends none, and the probe
	// stops at the gateway's NTLM CHALLENGE (which names the gateway).
	// The logon is attempted at most once per run; if it fails, the
	// target's is not attempted at all.
	Credentials *Credentials
	// Transport; zero is GatewayAuto.
	Transport GatewayTransport
	// AllowBasic lets the probe answer a gateway that offers only Basic
	// authentication, which sends the password itself (inside TLS, to a
	// gateway whose certificate was trusted).
	AllowBasic bool
	// Cert is what the gateway's certificate is judged against (the
	// roots, the name if not the gateway's as given, a pin), as the
	// target's is (VerifyCertificate). mstsc refuses an untrusted gateway
	// outright, and so does the probe, before anything goes out.
	Cert CertPolicy
	// ClientName is the client machine's name the tunnel authorization
	// sends (a CAP may name computer groups); "" is this host's name.
	ClientName string
}

// GatewayInfo is what the RD Gateway said and did: facts, no prose.
type GatewayInfo struct {
	Address string // as given
	Host    string
	Port    int
	Addr    string // the address connected to (ip:port)
	User    string // the gateway account; never the password
	// Transport is the one the gateway took: http or websocket; "" before
	// it chose.
	Transport GatewayTransport
	TLS       *TLSInfo
	// CertError says why the certificate would not be trusted; "" when it
	// would.
	CertError string
	// HTTPStatus is the status of the last HTTP response; Server its
	// Server field.
	HTTPStatus int
	Server     string
	// AuthSchemes are the schemes of the gateway's WWW-Authenticate
	// challenges (NTLM, Negotiate, Basic...).
	AuthSchemes []string
	// NTLM is what the gateway's NTLM CHALLENGE says about it.
	NTLM *NTLMInfo
	// LogonAttempted: the gateway credentials were sent (the gateway's one
	// logon of this run); Authenticated: the gateway accepted them.
	LogonAttempted, Authenticated bool

	ServerVersion  uint16            // HTTP_TUNNEL_RESPONSE.serverVersion
	Capabilities   tsgu.Capabilities // the gateway's, from the tunnel response
	TunnelID       uint32
	ConsentMessage string   // the consent message a user must accept, if any
	ServiceMessage []string // administrative messages, in order (capped)
	RedirFlags     uint32   // device redirection the gateway allows
	IdleTimeout    uint32   // minutes; 0 for none
	ChannelID      uint32
	// ErrorCode is a response's error code that ended the gateway's part,
	// and ErrorPacket the response it came in; nil when none did.
	ErrorCode   *tsgu.HResult
	ErrorPacket tsgu.PacketType
	// CloseStatus is the status of the gateway's CLOSE_CHANNEL, when it
	// closed the channel first; nil otherwise.
	CloseStatus *tsgu.HResult
}

// Caps on what a gateway may make the probe hold.
const (
	maxGatewayPacket   = 1 << 17 // a DATA packet is at most 64 KiB
	maxGatewayText     = 4096    // bytes of a consent or service message kept
	maxServiceMessages = 4
	maxGatewayBody     = 64 << 10 // the body of a 401 or a 404, read to reuse the connection
	maxGatewayBodyKept = 2048
	maxSeed            = 1024 // bytes skipped before the first packet on an OUT channel
)

// gatewayURI is the resource every RD Gateway serves (MS-TSGU 4.2.1).
const gatewayURI = "/remoteDesktopGateway/"

// gateway is the probe's side of one RD Gateway connection: its channels
// and, once the channel to the target is open, the tunnel the target's
// phases run over (gateway implements net.Conn for them).
type gateway struct {
	opt    *GatewayOptions
	info   *GatewayInfo
	rec    *conn // records the gateway's messages, and later the target's
	connID string
	now    func() time.Time
	keyLog io.Writer

	out, in *gwChannel // in is nil under WebSocket
	ws      bool

	tunnel *gwTunnel // open once the channel is

	mu sync.Mutex // the channels authenticate in parallel: guards rec and info's HTTP facts
}

func (g *gateway) record(from Side, layer Layer, b []byte, note string, secret bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rec.record(from, layer, b, note, secret)
}

func (g *gateway) recordReadError(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rec.recordReadError(err)
}

func (g *gateway) event(kind, note string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rec.event(kind, note)
}

// runGateway runs the gateway's phases, in wire order; false ends the run.
func (p *prober) runGateway(ctx context.Context) bool {
	for _, s := range []struct {
		ph Phase
		f  func(context.Context) error
	}{
		{PhaseGatewayConnect, p.gatewayConnect},
		{PhaseGatewayTLS, p.gatewayTLS},
		{PhaseGatewayAuth, p.gatewayAuth},
		{PhaseGatewayTunnel, p.gatewayTunnel},
		{PhaseGatewayChannel, p.gatewayChannel},
	} {
		if !p.phase(ctx, s.ph, s.f) || p.stopAfter(s.ph) {
			return false
		}
	}
	return true
}

func (o *GatewayOptions) transport() GatewayTransport {
	if o.Transport == "" {
		return GatewayAuto
	}
	return o.Transport
}

// gatewayConnect resolves the gateway and opens TCP: the OUT channel's,
// and for the HTTP transport the IN channel's beside it, to the same
// address, so that both authenticate in parallel.
func (p *prober) gatewayConnect(ctx context.Context) error {
	o := p.opt.Gateway
	info := &GatewayInfo{Address: o.Address}
	p.r.Gateway = info
	if c := o.Credentials; c != nil {
		info.User = c.User
		if c.Domain != "" {
			info.User = c.Domain + `\` + c.User
		}
	}
	host, port, err := SplitTarget(o.Address, DefaultGatewayPort)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	info.Host, info.Port = host, port
	g := &gateway{opt: o, info: info, rec: &conn{rec: p.opt.Recorder}, now: p.now, keyLog: p.opt.KeyLogWriter}
	if g.connID, err = newGUID(); err != nil {
		return err
	}
	p.gw = g
	dial := dialer(&p.opt)
	c, err := dial(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	info.Addr = c.RemoteAddr().String()
	g.out = &gwChannel{g: g, method: "RDG_OUT_DATA", layer: LayerHTTPOut, raw: c}
	if o.transport() == GatewayHTTP {
		c, err := dial(ctx, "tcp", info.Addr)
		if err != nil {
			return err
		}
		g.in = &gwChannel{g: g, method: "RDG_IN_DATA", layer: LayerHTTPIn, raw: c}
	}
	g.SetDeadline(deadlineOf(ctx))
	return nil
}

func deadlineOf(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// gatewayTLS does the TLS handshakes and takes the trust decision on the
// gateway's certificate: mstsc refuses an untrusted gateway before it
// sends anything, so a certificate it would refuse ends the probe here.
func (p *prober) gatewayTLS(ctx context.Context) error {
	g := p.gw
	if err := g.out.handshake(ctx); err != nil {
		return err
	}
	st := g.out.tc.ConnectionState()
	info := &TLSInfo{Version: st.Version, CipherSuite: st.CipherSuite}
	g.info.TLS = info
	if len(st.PeerCertificates) == 0 {
		return &GatewayCertError{Why: "the gateway sent no certificate"}
	}
	info.Certificate = certInfo(st.PeerCertificates[0])
	if err := gatewayCertTrust(st.PeerCertificates, info.Certificate, g.info.Host, g.opt, p.r.Start); err != nil {
		g.info.CertError = err.Error()
		return err
	}
	if g.in != nil {
		if err := g.in.handshake(ctx); err != nil {
			return err
		}
		// The IN channel must end at the same gateway: its certificate
		// is the OUT channel's.
		if in := g.in.tc.ConnectionState().PeerCertificates; len(in) == 0 || !in[0].Equal(st.PeerCertificates[0]) {
			return &GatewayCertError{Why: "the IN channel's certificate is not the OUT channel's"}
		}
	}
	return nil
}

// gatewayCertTrust is the one trust decision on the gateway's certificate:
// VerifyCertificate against the gateway's policy, as mstsc judges a
// gateway, with the pin the policy may hold. It records the verdict in
// ci and returns nil when the certificate is trusted or pinned.
func gatewayCertTrust(chain []*x509.Certificate, ci *CertInfo, host string, o *GatewayOptions, now time.Time) *GatewayCertError {
	pol := o.Cert
	if pol.CurrentTime.IsZero() {
		pol.CurrentTime = now // the clock classify judges expiry by
	}
	trust := VerifyCertificate(chain, host, pol)
	ci.Trust = &trust
	switch {
	case pol.SHA256 != "" && !trust.PinMatches:
		return &GatewayCertError{Pinned: pol.SHA256, Got: ci.SHA256}
	case trust.Trusted || trust.PinMatches:
		return nil
	}
	return &GatewayCertError{Trust: trust.Error}
}

// gatewayAuth authenticates the channels (MS-TSGU 3.3.5.1): NTLM in the
// HTTP Authorization field, connection by connection. The OUT channel's
// logon goes first; the IN channel's NEGOTIATE runs beside it, and its
// AUTHENTICATE follows only once the OUT channel's was accepted, so that a
// wrong password costs the account one failed logon, not two. Under
// WebSocket the OUT channel is the only one.
func (p *prober) gatewayAuth(ctx context.Context) error {
	g := p.gw
	var inNeg chan error
	if g.in != nil {
		inNeg = make(chan error, 1)
		go func() { inNeg <- g.in.challenge(ctx, false) }()
	}
	err := g.out.challenge(ctx, g.opt.transport() != GatewayHTTP)
	if err == nil {
		err = g.out.authenticate(ctx)
	}
	if inNeg != nil {
		if inErr := <-inNeg; err == nil {
			err = inErr
		}
	}
	if err != nil {
		return err
	}
	switch st := g.out.final.Status; {
	case st == 101:
		if g.opt.transport() == GatewayHTTP {
			return fmt.Errorf("gateway: %w: it switched RDG_OUT_DATA to WebSocket, which was not asked for", tsgu.ErrMalformed)
		}
		g.ws, g.info.Transport = true, GatewayWebSocket
		g.info.Authenticated = true
		return nil
	case st == 200 && g.opt.transport() == GatewayWebSocket:
		return &GatewayTransportError{Want: GatewayWebSocket}
	}
	g.info.Transport = GatewayHTTP
	if g.in == nil {
		// The gateway declined WebSocket: open the IN channel now, as
		// mstsc does.
		if err := g.openIn(ctx); err != nil {
			return err
		}
		if err := g.in.challenge(ctx, false); err != nil {
			return err
		}
	}
	if err := g.in.authenticate(ctx); err != nil {
		return err
	}
	if st := g.in.final.Status; st != 200 {
		return fmt.Errorf("gateway: %w: RDG_IN_DATA answered %d after its logon", tsgu.ErrMalformed, st)
	}
	g.info.Authenticated = true
	return nil
}

func (g *gateway) openIn(ctx context.Context) error {
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", g.info.Addr)
	if err != nil {
		return err
	}
	g.in = &gwChannel{g: g, method: "RDG_IN_DATA", layer: LayerHTTPIn, raw: c}
	c.SetDeadline(deadlineOf(ctx))
	if err := g.in.handshake(ctx); err != nil {
		return err
	}
	if in := g.in.tc.ConnectionState().PeerCertificates; len(in) == 0 || !in[0].Equal(g.out.tc.ConnectionState().PeerCertificates[0]) {
		return &GatewayCertError{Why: "the IN channel's certificate is not the OUT channel's"}
	}
	return nil
}

// gatewayTunnel creates and authorizes the tunnel (MS-TSGU 3.3.5.2-3.3.5.4):
// the handshake, the tunnel with its capabilities (and the consent
// message, if the gateway has one), and the tunnel authorization, where
// the gateway applies its connection authorization policies (CAP).
func (p *prober) gatewayTunnel(ctx context.Context) error {
	g := p.gw
	t, err := g.openTunnel()
	if err != nil {
		return err
	}
	hs := tsgu.HandshakeRequest{VersionMajor: 1, ExtendedAuth: tsgu.ExtendedAuthNone}
	var hr tsgu.HandshakeResponse
	if err := t.exchange(hs.Marshal(), &hr, tsgu.TypeHandshakeResponse); err != nil {
		return err
	}
	if hr.ErrorCode.Failed() {
		return g.refused(tsgu.TypeHandshakeResponse, hr.ErrorCode)
	}
	// The capabilities FreeRDP and mstsc announce; with the consent and
	// service messages the gateway tells what it would show a user.
	tc := tsgu.TunnelCreate{Capabilities: tsgu.CapQuarSOH | tsgu.CapMessagingConsentSign | tsgu.CapMessagingServiceMsg}
	var tr tsgu.TunnelResponse
	if err := t.exchange(tc.Marshal(), &tr, tsgu.TypeTunnelResponse); err != nil {
		return err
	}
	g.info.ServerVersion, g.info.TunnelID, g.info.Capabilities = tr.ServerVersion, tr.TunnelID, tr.Capabilities
	g.info.ConsentMessage = capText(tr.ConsentMessage)
	if tr.StatusCode.Failed() {
		return g.refused(tsgu.TypeTunnelResponse, tr.StatusCode)
	}
	ta := tsgu.TunnelAuth{ClientName: g.clientName()}
	var ar tsgu.TunnelAuthResponse
	if err := t.exchange(ta.Marshal(), &ar, tsgu.TypeTunnelAuthResponse); err != nil {
		return err
	}
	g.info.RedirFlags, g.info.IdleTimeout = ar.RedirFlags, ar.IdleTimeout
	if ar.ErrorCode.Failed() {
		return g.refused(tsgu.TypeTunnelAuthResponse, ar.ErrorCode)
	}
	return nil
}

// gatewayChannel asks for the channel to the target (MS-TSGU 3.3.5.5): the
// gateway applies its resource authorization policies (RAP) and connects
// to the target's port. The target's name goes as typed: the gateway
// resolves it.
func (p *prober) gatewayChannel(ctx context.Context) error {
	g := p.gw
	host, port, err := SplitTarget(p.r.Target, DefaultPort)
	if err != nil {
		return err
	}
	p.r.Host, p.r.Port = host, port
	cc := tsgu.ChannelCreate{Resources: []string{host}, Port: uint16(port), Protocol: tsgu.ProtocolRDP}
	var cr tsgu.ChannelResponse
	if err := g.tunnel.exchange(cc.Marshal(), &cr, tsgu.TypeChannelResponse); err != nil {
		return err
	}
	g.info.ChannelID = cr.ChannelID
	if cr.ErrorCode.Failed() {
		return g.refused(tsgu.TypeChannelResponse, cr.ErrorCode)
	}
	g.tunnel.open = true
	return nil
}

// connectThroughGateway is the connect phase behind a gateway: the channel
// is the connection, so nothing is dialled.
func (p *prober) connectThroughGateway() error {
	p.conn = p.gw.rec
	p.conn.Conn = p.gw.tunnel
	return nil
}

func (g *gateway) refused(pkt tsgu.PacketType, code tsgu.HResult) error {
	g.info.ErrorCode, g.info.ErrorPacket = &code, pkt
	return &GatewayRefusedError{Packet: pkt, Code: code}
}

func (g *gateway) clientName() string {
	if g.opt.ClientName != "" {
		return g.opt.ClientName
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		h, _, _ = strings.Cut(h, ".")
		return h
	}
	return "rdpprobe"
}

// capText keeps at most maxGatewayText bytes of a gateway's text.
func capText(s string) string {
	if len(s) > maxGatewayText {
		s = s[:maxGatewayText]
	}
	return s
}

// SetDeadline sets the deadline of every channel: the phases' deadlines
// follow the gateway as they follow a direct connection.
func (g *gateway) SetDeadline(t time.Time) error {
	for _, c := range []*gwChannel{g.out, g.in} {
		if c != nil {
			c.conn().SetDeadline(t)
		}
	}
	return nil
}

// close ends the gateway's connections; a channel that opened is closed
// politely first (CLOSE_CHANNEL).
func (g *gateway) close() {
	if g.tunnel != nil {
		g.tunnel.Close()
		return
	}
	for _, c := range []*gwChannel{g.out, g.in} {
		if c != nil {
			c.conn().Close()
		}
	}
}

func newGUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0F | 0x40 // version 4
	b[8] = b[8]&0x3F | 0x80
	return fmt.Sprintf("{%X-%X-%X-%X-%X}", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// gwChannel is one HTTP channel to the gateway: RDG_OUT_DATA (the
// gateway's data to us) or RDG_IN_DATA (ours to it).
type gwChannel struct {
	g      *gateway
	method string
	layer  Layer
	raw    net.Conn
	tc     *tls.Conn
	br     *bufio.Reader
	ntlm   *ntlmAuth
	scheme string // the HTTP authentication scheme in use: NTLM, Negotiate, Basic

	upgrade bool   // the requests ask for WebSocket
	wsKey   string // their Sec-WebSocket-Key

	final    *gwhttp.Response // the answer that opened the channel
	lastBody []byte           // the start of the last answer's body
}

func (c *gwChannel) conn() net.Conn {
	if c.tc != nil {
		return c.tc
	}
	return c.raw
}

func (c *gwChannel) handshake(ctx context.Context) error {
	cfg := &tls.Config{
		InsecureSkipVerify: true, // judged by gatewayCertTrust, so that an untrusted certificate is still described
		MinVersion:         tls.VersionTLS10,
		CipherSuites:       allCipherSuites(),
		KeyLogWriter:       c.g.keyLog,
		NextProtos:         []string{"http/1.1"},
	}
	if net.ParseIP(c.g.info.Host) == nil {
		cfg.ServerName = c.g.info.Host
	}
	tc := tls.Client(c.raw, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return &TLSHandshakeError{Err: typeTLSAlert(err)}
	}
	c.tc, c.br = tc, bufio.NewReaderSize(tc, 16<<10)
	st := tc.ConnectionState()
	c.g.event("tls", fmt.Sprintf("gateway %s: %s %s", c.method, tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite)))
	return nil
}
