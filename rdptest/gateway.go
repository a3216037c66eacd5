package rdptest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"time"

	"github.com/rdpprobe/rdpprobe/internal/gwhttp"
	"github.com/rdpprobe/rdpprobe/negotiate/ntlm"
	"github.com/rdpprobe/rdpprobe/negotiate/tsgu"
	"github.com/rdpprobe/rdpprobe/probe"
)

// GatewayScenario is how a Gateway behaves: an RD Gateway (MS-TSGU, the
// HTTP transport and WebSocket) that authenticates users with NTLM like
// Windows, applies its connection and resource authorization policies,
// and forwards the channel to a real server on loopback. The zero value
// is a Windows Server 2022 RD Gateway that lets every authenticated user
// reach every computer, with a certificate from rdptest's CA.
type GatewayScenario struct {
	// Addr to listen on; "" is 127.0.0.1:0. Only loopback is allowed.
	Addr string
	// Down: nothing listens at Addr (the port was reserved and released):
	// a gateway that is off.
	Down bool
	// Certificate; nil is rdptest's CA-signed gateway certificate (trusted
	// by TestRoots). DefaultCertificate is a self-signed one.
	Certificate *tls.Certificate
	// KeyLogWriter receives the TLS secrets (for tshark).
	KeyLogWriter io.Writer

	// Accounts maps "DOMAIN\user" (or "user") to its password, as
	// Scenario.Accounts; in a Scenario, nil is the server's accounts.
	Accounts map[string]string
	// NTLM is what the gateway's CHALLENGE says; nil is RDG01 in CORP.
	NTLM *NTLMIdentity
	// Schemes are the WWW-Authenticate challenges offered; nil is
	// Windows': Negotiate and NTLM. "Basic" checks a user:password.
	Schemes []string
	// RequireChannelBinding refuses an NTLM logon that is not bound to the
	// TLS channel (IIS's Extended Protection set to Required).
	RequireChannelBinding bool

	// NoWebSocket answers a WebSocket upgrade with the HTTP transport's
	// 200, as a gateway older than Windows Server 2019 does.
	NoWebSocket bool
	// StrictWebSocketKey refuses (400) a Sec-WebSocket-Key that is not
	// what RFC 6455 demands; FreeRDP 2 sends such a key, so the default
	// takes any.
	StrictWebSocketKey bool
	// Seed is the number of bytes sent after the OUT channel's 200 (0 is
	// Windows Server 2019's 10; -1 sends none).
	Seed int
	// ChunkedOut sends the OUT channel's body in the chunked coding.
	ChunkedOut bool

	// CAP: who may use the gateway (connection authorization policies,
	// checked at tunnel authorization); nil lets every authenticated user.
	CAP []Policy
	// RAP: who may reach which computers (resource authorization
	// policies, checked at channel creation); nil lets everyone reach
	// everything.
	RAP []Policy
	// Hosts maps a computer name as clients send it (any case) to the
	// loopback address the gateway connects to; a name not listed is
	// connected to as sent, if it is a loopback address.
	Hosts map[string]string
	// Unreachable: the gateway cannot connect to any target (every target
	// refuses it, as a computer whose RDP port is closed does).
	Unreachable bool
	// ConnectFailure is the channel response's code when the gateway
	// cannot connect to the target; zero is Windows'
	// E_PROXY_TS_CONNECTFAILED (rdpgw sends E_PROXY_INTERNALERROR).
	ConnectFailure tsgu.HResult
	// MaxConnections, if not zero, refuses tunnels beyond that many at a
	// time with E_PROXY_MAXCONNECTIONSREACHED.
	MaxConnections int

	// Errors puts an error code in a response, whatever the policies say.
	Errors GatewayErrors
	// ConsentMessage is sent in the tunnel response; ServiceMessage after
	// the channel response.
	ConsentMessage, ServiceMessage string
	// Keepalive sends a KEEPALIVE before every response.
	Keepalive bool
	// Garbage is sent instead of the HANDSHAKE_RESPONSE.
	Garbage []byte

	// NotRDG makes the server an HTTPS server that is not an RD Gateway:
	// every request gets this answer.
	NotRDG *HTTPAnswer
	// Raw answers the first request of a connection whose method is a
	// key with these bytes, as they are (a hostile gateway), then drains
	// the connection.
	Raw map[string][]byte
	// Fault misbehaves at one of the gateway's phases: FaultReset at
	// PhaseGatewayTLS resets the handshake; FaultStall at any phase stops
	// answering there.
	Fault Fault
}

// GatewayErrors are error codes a Gateway puts in its responses on demand.
type GatewayErrors struct {
	Handshake, Tunnel, TunnelAuth, Channel tsgu.HResult
}

// Policy is a CAP or RAP rule: the users it names (DOMAIN\user or user,
// any case; "*" for every one) and, for a RAP, the computers (names as
// the client sends them; "*" for any) and ports (nil for any).
type Policy struct {
	Name      string
	Users     []string
	Computers []string
	Ports     []int
}

// HTTPAnswer is what a web server that is not a gateway answers.
type HTTPAnswer struct {
	Status      int
	Header      map[string]string
	Body        string
	ContentType string
}

// IIS404 is what IIS answers for a path it does not serve: a web server
// at the gateway's address that is not an RD Gateway.
var IIS404 = &HTTPAnswer{Status: 404, Header: map[string]string{"Server": "Microsoft-IIS/10.0"}, ContentType: "text/html",
	Body: "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\"><html><head><title>IIS 10.0 Detailed Error - 404.0 - Not Found</title></head>" +
		"<body><h1>HTTP Error 404.0 - Not Found</h1></body></html>"}

// Gateway event kinds.
const (
	EventGatewayRequest = "gw_request" // an HTTP request: method, and what its Authorization carried
	EventGatewayLogon   = "gw_logon"   // "ok DOMAIN\user" or "failed: why"
	EventGatewayPacket  = "gw_packet"  // a packet from the client
	EventGatewayChannel = "gw_channel" // the target connected to, or why not
	EventGatewayWS      = "gw_websocket"
	EventGatewayClosed  = "gw_closed"
)

// Gateway is a gateway emulator on loopback.
type Gateway struct {
	Addr     string
	scenario GatewayScenario
	cert     tls.Certificate
	hashes   map[string][]byte
	ntlmID   NTLMIdentity
	ln       net.Listener
	srv      *http.Server
	wg       sync.WaitGroup

	mu       sync.Mutex
	events   []Event
	nconn    int
	sessions map[string]*gwSession
	tunnels  int
	hijacked map[net.Conn]struct{}
	closed   bool
	cbt      []byte // the channel binding of the gateway's TLS (RFC 5929)
}

// DefaultGatewayNTLMIdentity is an RD Gateway in CORP.
func DefaultGatewayNTLMIdentity() NTLMIdentity {
	id := DefaultNTLMIdentity()
	id.TargetInfo.NbComputerName = "RDG01"
	id.TargetInfo.DNSComputerName = "RDG01.corp.example.com"
	id.Version = &ntlm.Version{Major: 10, Minor: 0, Build: 20348, Revision: 15}
	return id
}

// NewGateway starts a gateway playing sc.
func NewGateway(sc GatewayScenario) (*Gateway, error) {
	addr := sc.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if err := loopbackAddr(addr); err != nil {
		return nil, err
	}
	g := &Gateway{scenario: sc, hashes: map[string][]byte{}, ntlmID: DefaultGatewayNTLMIdentity(),
		sessions: map[string]*gwSession{}, hijacked: map[net.Conn]struct{}{}}
	if sc.NTLM != nil {
		g.ntlmID = *sc.NTLM
	}
	for acct, pw := range sc.Accounts {
		g.hashes[strings.ToUpper(acct)] = ntlm.NTHash(pw)
	}
	var err error
	if sc.Certificate != nil {
		g.cert = *sc.Certificate
	} else if g.cert, err = gatewayCert(); err != nil {
		return nil, err
	}
	leaf := g.cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(g.cert.Certificate[0]); err != nil {
			return nil, err
		}
	}
	g.cbt = ntlm.ChannelBindingHash(serverEndPoint(leaf))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	g.Addr = ln.Addr().String()
	if sc.Down {
		ln.Close()
		return g, nil
	}
	g.ln = ln
	g.srv = &http.Server{
		Handler:     g,
		ConnContext: g.connContext,
		ErrorLog:    log.New(io.Discard, "", 0), // a client's TLS failure is a scenario's point, not noise
		ReadTimeout: time.Minute,
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		g.serve()
	}()
	return g, nil
}

func loopbackAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("rdptest: listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("rdptest: address %q is not loopback", addr)
	}
	return nil
}

// serve accepts TCP, plays a TLS fault if the scenario has one, and hands
// the TLS connections to the HTTP server.
func (g *Gateway) serve() {
	tl := &gwListener{Listener: g.ln, g: g}
	g.srv.Serve(tl)
}

// gwListener does the TLS handshake itself, so that a fault can replace it.
type gwListener struct {
	net.Listener
	g *Gateway
}

func (l *gwListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		g := l.g
		f := g.scenario.Fault
		if f.At == probe.PhaseGatewayConnect || f.At == probe.PhaseGatewayTLS {
			switch f.Kind {
			case FaultReset:
				g.event(0, EventFault, "reset at "+string(f.At))
				c.Read(make([]byte, 512))
				if tc, ok := c.(*net.TCPConn); ok {
					tc.SetLinger(0)
				}
				c.Close()
				continue
			case FaultStall:
				g.event(0, EventFault, "stall at "+string(f.At))
				g.track(c)
				go func() { io.Copy(io.Discard, c); c.Close() }()
				continue
			}
		}
		cfg := &tls.Config{Certificates: []tls.Certificate{g.cert}, MinVersion: tls.VersionTLS12, KeyLogWriter: g.scenario.KeyLogWriter,
			NextProtos: []string{"http/1.1"}}
		return tls.Server(c, cfg), nil
	}
}

// Close stops the gateway and ends every connection.
func (g *Gateway) Close() error {
	g.mu.Lock()
	if g.closed || g.srv == nil {
		g.closed = true
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	for c := range g.hijacked {
		c.Close()
	}
	g.mu.Unlock()
	err := g.srv.Close()
	g.wg.Wait()
	return err
}

// Events returns what the gateway observed so far, in order.
func (g *Gateway) Events() []Event {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Event(nil), g.events...)
}

// Saw reports whether an event of kind whose detail contains substr was
// observed.
func (g *Gateway) Saw(kind, substr string) bool {
	return g.Count(kind, substr) > 0
}

// Count counts the events of kind whose detail contains substr.
func (g *Gateway) Count(kind, substr string) int {
	n := 0
	for _, e := range g.Events() {
		if e.Kind == kind && strings.Contains(e.Detail, substr) {
			n++
		}
	}
	return n
}

// WaitClosed waits until n tunnels have ended, or timeout passes.
func (g *Gateway) WaitClosed(n int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for g.Count(EventGatewayClosed, "") < n {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

func (g *Gateway) event(conn int, kind, detail string) {
	g.mu.Lock()
	g.events = append(g.events, Event{Conn: conn, Kind: kind, Detail: detail})
	g.mu.Unlock()
}

// track keeps a connection the HTTP server no longer owns, to close it.
func (g *Gateway) track(c net.Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		c.Close()
		return false
	}
	g.hijacked[c] = struct{}{}
	return true
}

func (g *Gateway) untrack(c net.Conn) {
	g.mu.Lock()
	delete(g.hijacked, c)
	g.mu.Unlock()
	c.Close()
}

// gwConnState is one TCP connection's authentication: NTLM binds the
// logon to the connection (MS-TSGU 3.3.5.1).
type gwConnState struct {
	id   int
	ntlm *ntlm.Server
	user string // DOMAIN\user, once authenticated
}

type connStateKey struct{}

func (g *Gateway) connContext(ctx context.Context, c net.Conn) context.Context {
	g.mu.Lock()
	g.nconn++
	st := &gwConnState{id: g.nconn}
	g.mu.Unlock()
	return context.WithValue(ctx, connStateKey{}, st)
}

// lookup finds an account's NT hash, as Server.lookup does.
func (g *Gateway) lookup(user, domain string) ([]byte, bool) {
	ti := g.ntlmID.TargetInfo
	cands := []string{domain}
	if strings.EqualFold(domain, ti.DNSDomainName) {
		cands = append(cands, ti.NbDomainName)
	}
	for _, d := range cands {
		if h, ok := g.hashes[strings.ToUpper(d+`\`+user)]; ok {
			return h, true
		}
	}
	h, ok := g.hashes[strings.ToUpper(user)]
	return h, ok
}

func (g *Gateway) schemes() []string {
	if g.scenario.Schemes != nil {
		return g.scenario.Schemes
	}
	return []string{"Negotiate", "NTLM"}
}

func (g *Gateway) offers(scheme string) bool {
	for _, s := range g.schemes() {
		if strings.EqualFold(s, scheme) {
			return true
		}
	}
	return false
}

// ServeHTTP is the gateway's HTTP side: authentication, then the channels.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := r.Context().Value(connStateKey{}).(*gwConnState)
	sc := &g.scenario
	auth := r.Header.Get("Authorization")
	g.event(st.id, EventGatewayRequest, r.Method+" "+authWords(auth))
	if raw, ok := sc.Raw[r.Method]; ok {
		c, _, err := w.(http.Hijacker).Hijack()
		if err != nil || !g.track(c) {
			return
		}
		c.Write(raw)
		io.Copy(io.Discard, c)
		g.untrack(c)
		return
	}
	if a := sc.NotRDG; a != nil {
		for k, v := range a.Header {
			w.Header().Set(k, v)
		}
		if a.ContentType != "" {
			w.Header().Set("Content-Type", a.ContentType)
		}
		w.WriteHeader(a.Status)
		io.WriteString(w, a.Body)
		return
	}
	w.Header().Set("Server", "Microsoft-HTTPAPI/2.0")
	if r.URL.Path != "/remoteDesktopGateway/" || r.Method != "RDG_OUT_DATA" && r.Method != "RDG_IN_DATA" {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	if st.user == "" {
		if !g.authenticate(w, r, st, auth) {
			return
		}
	}
	if g.stall(probe.PhaseGatewayAuth) {
		g.hijackStall(w)
		return
	}
	switch r.Method {
	case "RDG_OUT_DATA":
		g.out(w, r, st)
	case "RDG_IN_DATA":
		if !strings.EqualFold(r.Header.Get("Transfer-Encoding"), "chunked") && r.TransferEncoding == nil {
			// The request that completed the logon; the data request
			// follows on this connection.
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusOK)
			return
		}
		g.in(w, r, st)
	}
}

func (g *Gateway) stall(at probe.Phase) bool {
	f := g.scenario.Fault
	return f.Kind == FaultStall && f.At == at
}

func (g *Gateway) hijackStall(w http.ResponseWriter) {
	g.event(0, EventFault, "stall")
	c, _, err := w.(http.Hijacker).Hijack()
	if err != nil || !g.track(c) {
		return
	}
	io.Copy(io.Discard, c)
	g.untrack(c)
}

// authWords says what an Authorization field carries, never a password.
func authWords(auth string) string {
	scheme, tok, _ := strings.Cut(auth, " ")
	if scheme == "" {
		return "without Authorization"
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(tok))
	if strings.EqualFold(scheme, "Basic") {
		return "Basic"
	}
	if err == nil && len(b) >= 12 && string(b[:8]) == "NTLMSSP\x00" {
		switch b[8] {
		case 1:
			return scheme + " NTLM NEGOTIATE"
		case 3:
			return scheme + " NTLM AUTHENTICATE"
		}
	}
	return scheme + " (not NTLM)"
}

// authenticate runs one step of the connection's logon; true when the
// request may go on.
func (g *Gateway) authenticate(w http.ResponseWriter, r *http.Request, st *gwConnState, auth string) bool {
	scheme, tok, _ := strings.Cut(auth, " ")
	deny := func(challenge string) bool {
		for _, s := range g.schemes() {
			if challenge != "" && strings.EqualFold(s, scheme) {
				w.Header().Add("WWW-Authenticate", s+" "+challenge)
				continue
			}
			w.Header().Add("WWW-Authenticate", s)
		}
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusUnauthorized)
		return false
	}
	if scheme == "" || !g.offers(scheme) {
		return deny("")
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(tok))
	if err != nil {
		return deny("")
	}
	if strings.EqualFold(scheme, "Basic") {
		user, pw, _ := strings.Cut(string(b), ":")
		u, d, _ := probe.ParseAccount(user)
		if h, ok := g.lookup(u, d); ok && string(h) == string(ntlm.NTHash(pw)) {
			st.user = user
			g.event(st.id, EventGatewayLogon, "ok "+user+" (Basic)")
			return true
		}
		g.event(st.id, EventGatewayLogon, "failed: Basic credentials for "+user)
		return deny("")
	}
	if len(b) < 12 || string(b[:8]) != "NTLMSSP\x00" {
		return deny("")
	}
	switch b[8] {
	case 1:
		id := g.ntlmID
		st.ntlm = &ntlm.Server{TargetName: id.TargetName, TargetInfo: id.TargetInfo, Version: id.Version, Lookup: g.lookup}
		if g.scenario.RequireChannelBinding {
			st.ntlm.ChannelBindings = g.cbt
		}
		ch, err := st.ntlm.Challenge(b)
		if err != nil {
			return deny("")
		}
		return deny(base64.StdEncoding.EncodeToString(ch))
	case 3:
		if st.ntlm == nil {
			return deny("")
		}
		_, m, err := st.ntlm.Authenticate(b)
		st.ntlm = nil
		if err != nil {
			g.event(st.id, EventGatewayLogon, "failed: "+err.Error())
			return deny("")
		}
		st.user = m.DomainName + `\` + m.UserName
		g.event(st.id, EventGatewayLogon, "ok "+st.user)
		return true
	}
	return deny("")
}

// serverEndPoint is the server's side of the RFC 5929 4.1 binding: its
// certificate's hash under the signature's hash, SHA-256 for MD5 and SHA-1.
func serverEndPoint(c *x509.Certificate) []byte {
	var sum []byte
	switch c.SignatureAlgorithm {
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384, x509.SHA384WithRSAPSS:
		h := sha512.Sum384(c.Raw)
		sum = h[:]
	case x509.SHA512WithRSA, x509.ECDSAWithSHA512, x509.SHA512WithRSAPSS:
		h := sha512.Sum512(c.Raw)
		sum = h[:]
	default:
		h := sha256.Sum256(c.Raw)
		sum = h[:]
	}
	return append([]byte("tls-server-end-point:"), sum...)
}

// gwSession pairs a tunnel's OUT and IN channels by RDG-Connection-Id.
type gwSession struct {
	ready    chan struct{} // closed once out is attached
	out      *packetWriter
	user     string
	finished chan struct{} // closed once the tunnel ends
}

func (g *Gateway) session(id string) *gwSession {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.sessions[id]
	if s == nil {
		s = &gwSession{ready: make(chan struct{}), finished: make(chan struct{})}
		g.sessions[id] = s
	}
	return s
}

func (g *Gateway) dropSession(id string) {
	g.mu.Lock()
	delete(g.sessions, id)
	g.mu.Unlock()
}

// packetWriter sends the gateway's packets on the OUT channel: in its
// body (identity or chunked), or as WebSocket frames.
type packetWriter struct {
	mu      sync.Mutex
	c       net.Conn
	bw      *bufio.Writer
	chunked bool
	ws      bool
}

func (w *packetWriter) write(b []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.ws:
		w.bw.Write(gwhttp.AppendFrame(nil, true, gwhttp.OpBinary, nil, b))
	case w.chunked:
		fmt.Fprintf(w.bw, "%x\r\n", len(b))
		w.bw.Write(b)
		w.bw.WriteString("\r\n")
	default:
		w.bw.Write(b)
	}
	return w.bw.Flush()
}

func (w *packetWriter) control(op gwhttp.Opcode, p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.bw.Write(gwhttp.AppendFrame(nil, true, op, nil, p))
	return w.bw.Flush()
}

// out opens the OUT channel: a WebSocket upgrade, or the 200 and its seed
// after which the gateway's packets flow in the body (MS-TSGU 3.3.5.1).
func (g *Gateway) out(w http.ResponseWriter, r *http.Request, st *gwConnState) {
	sc := &g.scenario
	wantWS := strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
	c, brw, err := w.(http.Hijacker).Hijack()
	if err != nil || !g.track(c) {
		return
	}
	defer g.untrack(c)
	if wantWS && !sc.NoWebSocket {
		key := r.Header.Get("Sec-WebSocket-Key")
		std := gwhttp.StandardKey(key)
		g.event(st.id, EventGatewayWS, fmt.Sprintf("key %q standard=%v", key, std))
		if key == "" || sc.StrictWebSocketKey && !std {
			brw.WriteString("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			brw.Flush()
			return
		}
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + gwhttp.AcceptKey(key) + "\r\n\r\n")
		if err := brw.Flush(); err != nil {
			return
		}
		pw := &packetWriter{c: c, bw: brw.Writer, ws: true}
		mr := &gwhttp.MessageReader{R: brw.Reader, Max: 1 << 17, WantMasked: true, Pong: pw.control}
		g.tunnel(st.id, st.user, mr, pw)
		return
	}
	brw.WriteString("HTTP/1.1 200 OK\r\nServer: Microsoft-HTTPAPI/2.0\r\nDate: " + time.Now().UTC().Format(http.TimeFormat) + "\r\n")
	if sc.ChunkedOut {
		brw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	brw.WriteString("\r\n")
	pw := &packetWriter{c: c, bw: brw.Writer, chunked: sc.ChunkedOut}
	seed := sc.Seed
	if seed == 0 {
		seed = 10
	}
	if seed > 0 {
		s := make([]byte, seed)
		for i := range s {
			s[i] = []byte{0xab, 0xcd}[i%2] // what Windows Server 2019 sends
		}
		pw.write(s)
	} else {
		brw.Flush()
	}
	id := r.Header.Get("RDG-Connection-Id")
	sess := g.session(id)
	sess.out, sess.user = pw, st.user
	close(sess.ready)
	// The IN channel runs the tunnel; this connection lives until it ends.
	select {
	case <-sess.finished:
	case <-time.After(2 * time.Minute):
	}
}

// in is the IN channel's data request: its chunked body carries the
// client's packets; the tunnel runs here.
func (g *Gateway) in(w http.ResponseWriter, r *http.Request, st *gwConnState) {
	id := r.Header.Get("RDG-Connection-Id")
	c, brw, err := w.(http.Hijacker).Hijack()
	if err != nil || !g.track(c) {
		return
	}
	defer g.untrack(c)
	sess := g.session(id)
	defer g.dropSession(id)
	defer close(sess.finished)
	select {
	case <-sess.ready:
	case <-time.After(10 * time.Second):
		g.event(st.id, EventError, "RDG_IN_DATA without its RDG_OUT_DATA")
		return
	}
	if !strings.EqualFold(sess.user, st.user) {
		g.event(st.id, EventError, fmt.Sprintf("RDG_IN_DATA by %s, RDG_OUT_DATA by %s", st.user, sess.user))
		return
	}
	g.tunnel(st.id, st.user, httputil.NewChunkedReader(brw.Reader), sess.out)
}

// ProbeOptions are the probe's options to go through g with creds (nil
// for none), trusting its certificate as a client with rdptest's CA does.
func (g *Gateway) ProbeOptions(creds *probe.Credentials) *probe.GatewayOptions {
	return &probe.GatewayOptions{Address: g.Addr, Credentials: creds, Cert: probe.CertPolicy{Roots: TestRoots()}}
}
