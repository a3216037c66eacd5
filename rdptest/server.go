package rdptest

import (
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/negotiate/ntlm"
	"github.com/rdpprobe/rdpprobe/probe"
)

// Scenario is how a Server behaves: a plain value, so a table of scenarios
// reads like a list of servers. The zero value is a patched Windows Server
// 2019 member server with NLA required and no accounts.
type Scenario struct {
	// Addr to listen on; "" is 127.0.0.1:0. Only loopback is allowed
	// (127.0.0.2:3389 for impacket's rdp_check, which always dials 3389).
	Addr string

	Negotiation Negotiation
	TLS         TLSOptions

	// CredSSPVersion is the TSRequest version the server speaks (MS-CSSP
	// 2.2.1): 2 to 6, zero means 6. Below 5 the server behaves as one
	// without the CVE-2018-0886 fix: no clientNonce, the legacy public key
	// echo.
	CredSSPVersion int
	// Accounts maps "DOMAIN\user" (or a bare "user", any domain) to its
	// password; names compare case-insensitively, the DNS domain counts as
	// the NetBIOS one. The NT hashes are computed once by NewServer.
	Accounts map[string]string
	// NTLM is what the CHALLENGE advertises; the zero value advertises a
	// Windows Server 2019 member server (CORP\RDS01, corp.example.com,
	// 10.0.17763).
	NTLM *NTLMIdentity

	// AfterAuthenticate is the answer to an AUTHENTICATE with the RIGHT
	// password (a locked-out account still knows its password).
	AfterAuthenticate Outcome
	// BadPassword is the answer to an AUTHENTICATE that does not verify.
	// The zero value is Windows': errorCode STATUS_LOGON_FAILURE. FreeRDP's
	// server closes instead: Outcome{Close: true}.
	BadPassword Outcome
	// TamperPubKeyAuth makes the server's pubKeyAuth prove the wrong key (a
	// man in the middle): a client must refuse it and send no credentials.
	TamperPubKeyAuth bool
	// EarlyUserAuth is the Early User Authorization Result (MS-RDPBCGR
	// 2.2.10.2) sent after the credentials when HYBRID_EX was selected.
	EarlyUserAuth negotiate.EarlyUserAuthResult

	// Session, when set, carries the connection past the security
	// exchange (TLS, or CredSSP with a good password): the server answers
	// the MCS Connect Initial, Erect Domain, Attach User and Channel Joins,
	// reads the Client Info PDU and plays Session (MS-RDPBCGR 2.2.1.3-
	// 2.2.1.13). Without it the server says nothing after the security
	// exchange.
	Session *Session

	// StandardRDP, if set, makes the server accept Standard RDP Security
	// (MS-RDPBCGR 5.3) and answer the Client MCS Connect Initial with
	// these security data (see standard.go). A zero Negotiation.Accept then
	// means standard RDP security only.
	StandardRDP *StandardRDPSecurity

	Fault Fault
}

// Negotiation is the X.224 policy (MS-RDPBCGR 2.2.1.2).
type Negotiation struct {
	// Accept is what the server supports; zero means HYBRID|HYBRID_EX (NLA
	// required, Windows' default). The server selects HYBRID_EX, HYBRID,
	// then SSL, the first one the client offered too.
	Accept negotiate.Protocol
	// Failure, if set, is the RDP_NEG_FAILURE code sent to every request.
	Failure negotiate.FailureCode
	// Select, if set, is selected whatever the client offered (xrdp
	// selects PROTOCOL_RDP for a HYBRID-only request: SelectRDP).
	Select    negotiate.Protocol
	SelectRDP bool
	// NoResponse sends a Connection Confirm without RDP_NEG_RSP, as servers
	// before RDP 5.2 do (standard RDP security).
	NoResponse bool
	// Disconnect answers with an X.224 Disconnect Request.
	Disconnect bool
	// Garbage is sent in a TPKT instead of a Connection Confirm.
	Garbage []byte
}

// TLSOptions is the server's TLS side.
type TLSOptions struct {
	Certificate *tls.Certificate // nil: DefaultCertificate (self-signed RSA 2048)
	// MinVersion/MaxVersion bound the versions; zero is TLS 1.0 to 1.3.
	// TLS 1.0 only: both tls.VersionTLS10.
	MinVersion, MaxVersion uint16
	// KeyLogWriter receives the TLS secrets (for tshark).
	KeyLogWriter io.Writer
}

// NTLMIdentity is what the NTLM CHALLENGE says about the server.
type NTLMIdentity struct {
	TargetName string
	TargetInfo ntlm.TargetInfo
	Version    *ntlm.Version // nil: no VERSION field
}

// Outcome is the server's answer to an AUTHENTICATE.
type Outcome struct {
	// ErrorCode, if not zero, is sent in TSRequest.errorCode.
	ErrorCode negotiate.NTStatus
	// Close ends the connection without a word.
	Close bool
}

// Session is what the server answers once the Client Info PDU is in, in
// this order: the licensing PDU; then a Save Session Info PDU if LoggedOn
// or LogonError; then either Set Error Info (ErrorInfo) followed by a
// Disconnect Provider Ultimatum, or the Demand Active PDU. The zero value
// is Windows with licensing sorted: STATUS_VALID_CLIENT, then Demand
// Active.
type Session struct {
	// ConnectResult, if not rt-successful, fails the MCS Connect Response
	// and ends the connection.
	ConnectResult negotiate.MCSResult
	// LicenseError, if set, replaces the Valid Client message with a
	// License Error PDU of this code (MS-RDPBCGR 2.2.1.12.1.3);
	// StateTransition defaults to ST_TOTAL_ABORT. Nothing but ErrorInfo
	// (and the disconnect) follows.
	LicenseError    negotiate.LicenseErrorCode
	StateTransition negotiate.LicenseStateTransition
	// LicenseRequest opens the licence exchange with a
	// SERVER_LICENSE_REQUEST (MS-RDPELE 2.2.2.1), as a server with the
	// Session Host role does (and xrdp), carrying a proprietary
	// certificate of rdptest's RSA key (LicenseKey). The client's
	// CLIENT_NEW_LICENSE_REQUEST (2.2.2.2) is read and its premaster
	// secret decrypted: it must be 48 bytes. The answer is then
	// PlatformChallenge, or LicenseError, or ErrorInfo alone (no Valid
	// Client), or STATUS_VALID_CLIENT and what follows it.
	LicenseRequest bool
	// NoLicenseCertificate sends the LICENSE_REQUEST with an empty
	// certificate: a client has no key to answer with.
	NoLicenseCertificate bool
	// PlatformChallenge answers the NEW_LICENSE_REQUEST with a
	// SERVER_PLATFORM_CHALLENGE (MS-RDPELE 2.2.2.4), then waits for the
	// client's answer, which would get it a licence.
	PlatformChallenge bool
	// LoggedOn sends a Save Session Info logon notification
	// (INFOTYPE_LOGON_LONG, MS-RDPBCGR 2.2.10.1.1.2) for the Client Info's
	// account.
	LoggedOn bool
	// LogonError sends a Save Session Info PDU with LOGON_EX_LOGONERRORS
	// (MS-RDPBCGR 2.2.10.1.1.4.1.1).
	LogonError *negotiate.LogonErrorsInfo
	// ErrorInfo, if not ERRINFO_NONE, is sent in a Set Error Info PDU
	// (MS-RDPBCGR 2.2.5.1) before the server disconnects.
	ErrorInfo negotiate.ErrorInfo
}

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
// CHALLENGE), PhaseLogon (the answer to AUTHENTICATE). SSH ignores At: an
// SSH server speaks first.
type Fault struct {
	At    probe.Phase
	Kind  FaultKind
	Every time.Duration // trickle interval
}

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
	EventDisconnect    = "disconnect"  // the client's Disconnect Provider Ultimatum
	EventFault         = "fault"
	EventError         = "error" // the client did something unexpected
	EventClosed        = "closed"
)

// Server is a scenario server on loopback.
type Server struct {
	Addr     string
	scenario Scenario
	ln       net.Listener
	cert     tls.Certificate
	spk      []byte
	hashes   map[string][]byte
	ntlmID   NTLMIdentity

	done chan struct{}
	wg   sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	events []Event
	nconn  int
	closed bool
}

// DefaultNTLMIdentity is a Windows Server 2019 member of CORP.
func DefaultNTLMIdentity() NTLMIdentity {
	return NTLMIdentity{
		TargetName: "CORP",
		TargetInfo: ntlm.TargetInfo{
			NbDomainName:    "CORP",
			NbComputerName:  "RDS01",
			DNSDomainName:   "corp.example.com",
			DNSComputerName: "RDS01.corp.example.com",
			DNSTreeName:     "corp.example.com",
		},
		Version: &ntlm.Version{Major: 10, Minor: 0, Build: 17763, Revision: 15},
	}
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
	spk, err := SubjectPublicKey(leaf)
	if err != nil {
		return nil, err
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
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s.ln, s.Addr = ln, ln.Addr().String()
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// SubjectPublicKey is the BIT STRING contents of the certificate's
// SubjectPublicKeyInfo: what CredSSP binds the logon to (MS-CSSP 3.1.5).
func SubjectPublicKey(c *x509.Certificate) ([]byte, error) {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if rest, err := asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &spki); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("rdptest: certificate public key: %v", err)
	}
	return spki.PublicKey.Bytes, nil
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

	trickle bool
}

func (c *conn) event(kind, detail string) {
	c.s.mu.Lock()
	c.s.events = append(c.s.events, Event{Conn: c.id, Kind: kind, Detail: detail})
	c.s.mu.Unlock()
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
		return c.standardRDP(sc.StandardRDP)
	}
	if cc.Failure != nil || cc.Response == nil {
		c.event(EventSelected, "none")
		return c.drain()
	}
	c.event(EventSelected, selected.String())
	if selected == negotiate.ProtocolRDP {
		if sc.StandardRDP != nil {
			return c.standardRDP(sc.StandardRDP)
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

// credSSP is the server side of MS-CSSP 3.1.5 with NTLM.
func (c *conn) credSSP(selected negotiate.Protocol) error {
	sc := &c.s.scenario
	v := sc.CredSSPVersion
	ts, err := c.readTS()
	if err != nil {
		return fmt.Errorf("read NEGOTIATE: %w", err)
	}
	if len(ts.NegoTokens) != 1 {
		return fmt.Errorf("first TSRequest has %d negoTokens, want 1", len(ts.NegoTokens))
	}
	c.event(EventNegotiate, fmt.Sprintf("client CredSSP version %d", ts.Version))
	id := c.s.ntlmID
	srv := &ntlm.Server{
		TargetName: id.TargetName,
		TargetInfo: id.TargetInfo,
		Version:    id.Version,
		Lookup:     c.s.lookup,
	}
	challenge, err := srv.Challenge(ts.NegoTokens[0])
	if err != nil {
		return err
	}
	if done, err := c.misbehave(probe.PhaseNTLMInfo); done {
		return err
	}
	if err := c.writeTS(probe.PhaseNTLMInfo, &negotiate.TSRequest{Version: v, NegoTokens: [][]byte{challenge}}); err != nil {
		return err
	}

	// AUTHENTICATE with pubKeyAuth (and clientNonce from version 5).
	ts, err = c.readTS()
	if err != nil {
		return fmt.Errorf("read AUTHENTICATE: %w", err)
	}
	if len(ts.NegoTokens) != 1 {
		return fmt.Errorf("second TSRequest has %d negoTokens, want the AUTHENTICATE", len(ts.NegoTokens))
	}
	sess, msg, err := srv.Authenticate(ts.NegoTokens[0])
	if msg != nil {
		c.event(EventAuthenticate, msg.DomainName+`\`+msg.UserName)
	}
	if done, ferr := c.misbehave(probe.PhaseLogon); done {
		return ferr
	}
	if err != nil {
		c.event(EventLogon, "failed: "+err.Error())
		out := sc.BadPassword
		if out.ErrorCode == 0 && !out.Close {
			out.ErrorCode = negotiate.StatusLogonFailure
		}
		return c.answer(out, v)
	}
	c.event(EventLogon, "ok")
	if sc.AfterAuthenticate.ErrorCode != 0 || sc.AfterAuthenticate.Close {
		return c.answer(sc.AfterAuthenticate, v)
	}

	// The client's proof of the TLS key, and ours (MS-CSSP 3.1.5 steps 3-4).
	proof, err := sess.Unseal(ts.PubKeyAuth)
	if err != nil {
		c.event(EventPubKeyAuth, "does not unseal: "+err.Error())
		return errStop
	}
	useHash := v >= 5 && ts.Version >= 5
	var want, echo []byte
	if useHash {
		want = negotiate.ClientServerHash(ts.ClientNonce, c.s.spk)
		echo = negotiate.ServerClientHash(ts.ClientNonce, c.s.spk)
	} else {
		// Before version 5 the client seals the SubjectPublicKey itself and
		// the server answers with its first byte plus one.
		want = c.s.spk
		echo = append([]byte(nil), c.s.spk...)
		echo[0]++
	}
	if subtle.ConstantTimeCompare(proof, want) != 1 {
		c.event(EventPubKeyAuth, "mismatch")
		return errStop
	}
	c.event(EventPubKeyAuth, fmt.Sprintf("verified (%s)", map[bool]string{true: "SHA-256 binding hash", false: "legacy public key echo"}[useHash]))
	if sc.TamperPubKeyAuth {
		echo[len(echo)-1] ^= 0x55
		c.event(EventFault, "tampered pubKeyAuth")
	}
	if err := c.writeTS(probe.PhaseLogon, &negotiate.TSRequest{Version: v, PubKeyAuth: sess.Seal(echo)}); err != nil {
		return err
	}

	// authInfo: the sealed TSCredentials (step 5).
	ts, err = c.readTS()
	if err != nil {
		return fmt.Errorf("read authInfo: %w", err)
	}
	plain, err := sess.Unseal(ts.AuthInfo)
	if err != nil {
		return fmt.Errorf("authInfo does not unseal: %w", err)
	}
	var creds negotiate.TSCredentials
	err = creds.Unmarshal(plain)
	clear(plain)
	if err != nil {
		return fmt.Errorf("TSCredentials: %w", err)
	}
	who := creds.User
	if creds.Domain != "" {
		who = creds.Domain + `\` + creds.User
	}
	creds.Password = ""
	c.event(EventCredentials, "received credentials for "+who)

	if selected == negotiate.ProtocolHybridEx {
		res := sc.EarlyUserAuth
		c.event(EventEarlyUserAuth, res.String())
		if _, err := c.rw.Write(res.Marshal()); err != nil {
			return err
		}
		if res != negotiate.EarlyUserAuthSuccess {
			return errStop
		}
	}
	return c.session(selected)
}

// answer sends an Outcome: errorCode (version 3 and later), or close.
func (c *conn) answer(o Outcome, v int) error {
	if o.Close || v < 3 {
		return errStop
	}
	code := o.ErrorCode
	return c.writeTS(probe.PhaseLogon, &negotiate.TSRequest{Version: v, ErrorCode: &code})
}

// lookup finds an account's NT hash: "DOMAIN\user" or a bare "user",
// case-insensitively; the DNS domain and the computer name count as the
// NetBIOS domain for the account's domain part.
func (s *Server) lookup(user, domain string) ([]byte, bool) {
	ti := s.ntlmID.TargetInfo
	cands := []string{domain}
	if strings.EqualFold(domain, ti.DNSDomainName) {
		cands = append(cands, ti.NbDomainName)
	}
	for _, d := range cands {
		if h, ok := s.hashes[strings.ToUpper(d+`\`+user)]; ok {
			return h, true
		}
	}
	h, ok := s.hashes[strings.ToUpper(user)]
	return h, ok
}

func (c *conn) readTS() (*negotiate.TSRequest, error) {
	b, err := negotiate.ReadTSRequest(c.rw, 64<<10)
	if err != nil {
		return nil, err
	}
	ts := new(negotiate.TSRequest)
	if err := ts.Unmarshal(b); err != nil {
		return nil, err
	}
	return ts, nil
}

func (c *conn) writeTS(at probe.Phase, ts *negotiate.TSRequest) error {
	b, err := ts.Marshal()
	if err != nil {
		return err
	}
	return c.write(at, b)
}

// drain waits for the client to hang up (or the server to close): past the
// scenario's last step the server says nothing more.
func (c *conn) drain() error {
	io.Copy(io.Discard, c.rw)
	return nil
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
