package rdptest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/negotiate/krb5"
	"github.com/rdpprobe/rdpprobe/negotiate/ntlm"
	"github.com/rdpprobe/rdpprobe/probe"
)

// Event is one thing a Server observed. It never holds a password.
type Event struct {
	Conn   int    // connection number, from 1
	Kind   string // see the EventX constants
	Detail string
}

func (e Event) String() string { return fmt.Sprintf("#%d %s: %s", e.Conn, e.Kind, e.Detail) }

// Event kinds.
const (
	EventConnect       = "connect"        // a client connected
	EventRequest       = "x224"           // Connection Request: requested protocols
	EventSelected      = "selected"       // the protocol the server chose
	EventTLS           = "tls"            // TLS handshake done: version
	EventNegotiate     = "ntlm_negotiate" // NTLM NEGOTIATE received
	EventAuthenticate  = "ntlm_authenticate"
	EventLogon         = "logon"       // "ok" or the reason it failed
	EventPubKeyAuth    = "pubkey_auth" // the client's pubKeyAuth: "verified" or why not
	EventCredentials   = "credentials" // "received credentials for DOMAIN\user"
	EventEarlyUserAuth = "early_user_auth"
	EventMCS           = "mcs"         // MCS connection steps: Connect Initial, Attach User, Channel Join
	EventClientInfo    = "client_info" // Client Info PDU: flags and account, never the password
	EventSession       = "session"     // what the server answered after the Client Info
	EventLicense       = "license"     // the client's licensing messages
	// EventSecurityExchange: Standard RDP Security's Security Exchange PDU
	// arrived and the session keys were derived.
	EventSecurityExchange = "security_exchange"
	// EventClientPDU: a client PDU after the Demand Active (the Confirm
	// Active of a real client), and whether its signature verified.
	EventClientPDU  = "client_pdu"
	EventDisconnect = "disconnect" // the client's Disconnect Provider Ultimatum
	EventFault      = "fault"
	EventError      = "error" // the client did something unexpected
	EventClosed     = "closed"
)

// Server is a scenario server on loopback.
type Server struct {
	Addr string
	// Gateway is the RD Gateway in front of the server, when the scenario
	// has one.
	Gateway  *Gateway
	scenario Scenario
	ln       net.Listener
	cert     tls.Certificate
	spk      []byte
	hashes   map[string][]byte
	ntlmID   NTLMIdentity
	krb      *krb5.Acceptor // nil without Scenario.Kerberos

	done chan struct{}
	wg   sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	events []Event
	nconn  int
	closed bool
}

// NewServer starts a server playing sc.
func NewServer(sc Scenario) (*Server, error) {
	if v := sc.CredSSPVersion; v != 0 && (v < 2 || v > 6) {
		return nil, fmt.Errorf("rdptest: CredSSP version %d, want 2-6", v)
	}
	if sc.CredSSPVersion == 0 {
		sc.CredSSPVersion = 6
	}
	if sc.Negotiation.Accept == 0 && sc.StandardRDP == nil {
		sc.Negotiation.Accept = negotiate.ProtocolHybrid | negotiate.ProtocolHybridEx
	}
	addr := sc.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("rdptest: listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("rdptest: listen address %q is not loopback", addr)
	}
	var cert tls.Certificate
	if sc.TLS.Certificate != nil {
		cert = *sc.TLS.Certificate
	} else if cert, err = DefaultCertificate(); err != nil {
		return nil, err
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, err
		}
	}
	spk, err := negotiate.SubjectPublicKey(leaf)
	if err != nil {
		return nil, fmt.Errorf("rdptest: certificate: %w", err)
	}
	s := &Server{
		scenario: sc,
		cert:     cert,
		spk:      spk,
		hashes:   map[string][]byte{},
		ntlmID:   DefaultNTLMIdentity(),
		done:     make(chan struct{}),
		conns:    map[net.Conn]struct{}{},
	}
	if sc.NTLM != nil {
		s.ntlmID = *sc.NTLM
	}
	for acct, pw := range sc.Accounts {
		s.hashes[strings.ToUpper(acct)] = ntlm.NTHash(pw)
	}
	if sc.Kerberos != nil {
		if s.krb, err = sc.Kerberos.acceptor(); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s.ln, s.Addr = ln, ln.Addr().String()
	s.wg.Add(1)
	go s.serve()
	if sc.Gateway != nil {
		gs := *sc.Gateway
		if gs.Accounts == nil {
			gs.Accounts = sc.Accounts
		}
		if s.Gateway, err = NewGateway(gs); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Close stops the server, ends every connection (stalled ones included)
// and waits for all its goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	err := s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	if s.Gateway != nil {
		s.Gateway.Close()
	}
	s.wg.Wait()
	return err
}

// Events returns what the server observed so far, in order.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// Saw reports whether an event of kind whose detail contains substr was
// observed.
func (s *Server) Saw(kind, substr string) bool {
	for _, e := range s.Events() {
		if e.Kind == kind && strings.Contains(e.Detail, substr) {
			return true
		}
	}
	return false
}

// WaitConns waits until n connections have ended (the client hung up, or
// the scenario ended them), or timeout passes; it reports which. Call it
// before Close when the client's last message must be seen: Close cuts
// connections at once.
func (s *Server) WaitConns(n int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		ended := 0
		for _, e := range s.Events() {
			if e.Kind == EventClosed {
				ended++
			}
		}
		if ended >= n {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.nconn++
		s.conns[c] = struct{}{}
		cs := &conn{s: s, id: s.nconn, raw: c.(*net.TCPConn)}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			cs.event(EventConnect, c.RemoteAddr().String())
			// A scenario server never outlives a test for long: every
			// connection ends after a minute whatever the client does.
			c.SetDeadline(time.Now().Add(time.Minute))
			err := cs.run()
			if err != nil && !errors.Is(err, errStop) {
				cs.event(EventError, err.Error())
			}
			cs.event(EventClosed, "")
		}()
	}
}

// errStop ends a connection on purpose (a fault, a Close outcome).
var errStop = errors.New("stop")

// conn is one client connection.
type conn struct {
	s   *Server
	id  int
	raw *net.TCPConn
	rw  net.Conn // raw, then the TLS connection
	std *stdConn // Standard RDP Security, when the client selected it

	trickle bool
}

func (c *conn) event(kind, detail string) {
	c.s.mu.Lock()
	c.s.events = append(c.s.events, Event{Conn: c.id, Kind: kind, Detail: detail})
	c.s.mu.Unlock()
}

func (c *conn) run() error {
	sc := &c.s.scenario
	c.rw = &trickleConn{TCPConn: c.raw, c: c}
	if sc.Fault.Kind == FaultSSH {
		c.event(EventFault, "SSH banner")
		c.rw.Write([]byte("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"))
		return c.stall(probe.PhaseConnect)
	}

	// X.224 Connection Request (MS-RDPBCGR 2.2.1.1).
	pdu, err := negotiate.ReadTPKT(c.rw, 1024)
	if err != nil {
		return fmt.Errorf("read Connection Request: %w", err)
	}
	var cr negotiate.ConnectionRequest
	if err := cr.Unmarshal(pdu); err != nil {
		return err
	}
	c.event(EventRequest, cr.RequestedProtocols.String())
	if done, err := c.misbehave(probe.PhaseNegotiate); done {
		return err
	}
	neg := sc.Negotiation
	var cc negotiate.ConnectionConfirm
	selected := negotiate.ProtocolRDP
	switch {
	case neg.Garbage != nil:
		return c.write(probe.PhaseNegotiate, negotiate.AppendTPKT(nil, neg.Garbage))
	case neg.Disconnect:
		// X.224 Disconnect Request, reason 0 (X.224 13.5).
		return c.write(probe.PhaseNegotiate, negotiate.AppendTPKT(nil, []byte{6, 0x80, 0, 0, 0, 0, 0}))
	case neg.Failure != 0:
		cc.Failure = &negotiate.NegotiationFailure{Code: neg.Failure}
	case neg.NoResponse, cr.NoNegotiation && sc.StandardRDP != nil:
		// No negotiation data: standard RDP security (MS-RDPBCGR 3.3.5.3.2).
	case neg.Select != 0 || neg.SelectRDP:
		selected = neg.Select
		cc.Response = &negotiate.NegotiationResponse{SelectedProtocol: selected}
	default:
		sel, code, ok := choose(cr, neg.Accept, sc.StandardRDP != nil)
		if !ok {
			cc.Failure = &negotiate.NegotiationFailure{Code: code}
			break
		}
		selected = sel
		// The flags a current Windows server announces; informational only.
		cc.Response = &negotiate.NegotiationResponse{SelectedProtocol: sel, Flags: negotiate.ExtendedClientDataSupported |
			negotiate.DynVCGFXProtocolSupported | negotiate.RestrictedAdminModeSupported | negotiate.RedirectedAuthenticationModeSupported}
	}
	if err := c.write(probe.PhaseNegotiate, cc.Marshal()); err != nil {
		return err
	}
	if cc.Failure == nil && cc.Response == nil && sc.StandardRDP != nil {
		c.event(EventSelected, negotiate.ProtocolRDP.String())
		return c.session(negotiate.ProtocolRDP)
	}
	if cc.Failure != nil || cc.Response == nil {
		c.event(EventSelected, "none")
		return c.drain()
	}
	c.event(EventSelected, selected.String())
	if selected == negotiate.ProtocolRDP {
		if sc.StandardRDP != nil {
			return c.session(selected)
		}
		return c.drain() // standard RDP security: nothing more is played
	}

	// TLS (MS-RDPBCGR 5.4.5.1).
	if done, err := c.misbehave(probe.PhaseTLS); done {
		return err
	}
	if c.fault(probe.PhaseTLS) && sc.Fault.Kind == FaultReset {
		// Read the ClientHello, send the first bytes of a record, reset.
		c.event(EventFault, "reset at tls")
		buf := make([]byte, 512)
		c.raw.Read(buf)
		c.raw.Write([]byte{0x16, 0x03, 0x03, 0x00})
		return c.reset()
	}
	if c.fault(probe.PhaseTLS) && sc.Fault.Kind == FaultTrickle {
		c.event(EventFault, "trickle at tls")
		c.trickle = true
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{c.s.cert},
		MinVersion:   sc.TLS.MinVersion,
		MaxVersion:   sc.TLS.MaxVersion,
		CipherSuites: sc.TLS.CipherSuites,
		KeyLogWriter: sc.TLS.KeyLogWriter,
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS10
	}
	tc := tls.Server(c.rw, cfg)
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("tls handshake: %w", err)
	}
	c.rw = tc
	c.event(EventTLS, tls.VersionName(tc.ConnectionState().Version))
	if selected&(negotiate.ProtocolHybrid|negotiate.ProtocolHybridEx) == 0 {
		return c.session(selected) // TLS only: the session starts here
	}
	return c.credSSP(selected)
}

// choose picks the protocol like Windows: HYBRID_EX, HYBRID, SSL, the
// first both sides support, then PROTOCOL_RDP for a request of it alone
// when rdp allows it; otherwise the failure code that says what the server
// wants.
func choose(cr negotiate.ConnectionRequest, accept negotiate.Protocol, rdp bool) (negotiate.Protocol, negotiate.FailureCode, bool) {
	if rdp && !cr.NoNegotiation && cr.RequestedProtocols == negotiate.ProtocolRDP {
		return negotiate.ProtocolRDP, 0, true
	}
	if cr.NoNegotiation {
		if accept&negotiate.ProtocolSSL != 0 {
			return 0, negotiate.SSLRequiredByServer, false
		}
		return 0, negotiate.HybridRequiredByServer, false
	}
	for _, p := range []negotiate.Protocol{negotiate.ProtocolHybridEx, negotiate.ProtocolHybrid, negotiate.ProtocolSSL} {
		if accept&p != 0 && cr.RequestedProtocols&p != 0 {
			return p, 0, true
		}
	}
	switch {
	case accept&(negotiate.ProtocolHybrid|negotiate.ProtocolHybridEx) != 0:
		return 0, negotiate.HybridRequiredByServer, false
	case accept&negotiate.ProtocolSSL != 0:
		return 0, negotiate.SSLRequiredByServer, false
	}
	return 0, negotiate.SSLNotAllowedByServer, false
}

// drain waits for the client to hang up (or the server to close): past the
// scenario's last step the server says nothing more.
func (c *conn) drain() error {
	io.Copy(io.Discard, c.rw)
	return nil
}
