package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/rdpprobe/rdpprobe/negotiate"
)

// EnumeratedProtocols are the security protocols Enumerate asks about, in
// the order of MS-RDPBCGR 2.2.1.1.1.
var EnumeratedProtocols = []negotiate.Protocol{
	negotiate.ProtocolRDP,
	negotiate.ProtocolSSL,
	negotiate.ProtocolHybrid,
	negotiate.ProtocolHybridEx,
	negotiate.ProtocolRDSTLS,
	negotiate.ProtocolRDSAAD,
}

// EnumeratedMethods are the Standard RDP Security encryption methods
// Enumerate offers, one per connection (MS-RDPBCGR 2.2.1.3.3).
var EnumeratedMethods = []negotiate.EncryptionMethod{
	negotiate.EncryptionMethod40Bit,
	negotiate.EncryptionMethod56Bit,
	negotiate.EncryptionMethod128Bit,
	negotiate.EncryptionMethodFIPS,
}

// EnumerateParallel bounds the connections Enumerate has open at once: a
// handful, so that a map costs about one round trip without looking like a
// flood to the server or an IDS.
const EnumerateParallel = 4

// maxConnectResponse caps the Server MCS Connect Response: under Standard
// RDP Security it carries the server's certificate (a proprietary one is
// under 200 bytes, an X.509 chain a few KiB).
const maxConnectResponse = 64 << 10

// SecurityLayers is the map Enumerate draws: which security protocols the
// server accepts, each asked about on its own connection, and under
// Standard RDP Security which encryption methods it takes. Facts only;
// package classify says what they mean.
type SecurityLayers struct {
	Target string
	Host   string
	Port   int
	Start  time.Time
	// Duration is the wall time of the whole map.
	Duration time.Duration
	// Err is set when the target itself is unusable (it does not parse);
	// then Layers is empty.
	Err error
	// Layers holds one entry per EnumeratedProtocols, in that order.
	Layers []LayerResult
	// Encryption is the Standard RDP Security map; nil unless the server
	// accepted PROTOCOL_RDP.
	Encryption *EncryptionMap
}

// Layer returns the entry for protocol p, or nil.
func (s *SecurityLayers) Layer(p negotiate.Protocol) *LayerResult {
	if s == nil {
		return nil
	}
	for i := range s.Layers {
		if s.Layers[i].Protocol == p {
			return &s.Layers[i]
		}
	}
	return nil
}

// LayerResult is the server's answer to one Connection Request.
//
// Accepted means the server selected exactly the protocol asked about
// (MS-RDPBCGR 2.2.1.2.1 selectedProtocol). An RDP_NEG_RSP selecting anything
// else is not acceptance: a client that offered only that protocol would
// have to give up (xrdp selects PROTOCOL_RDP when asked for PROTOCOL_HYBRID
// alone).
type LayerResult struct {
	// Protocol is the protocol asked about.
	Protocol negotiate.Protocol
	// Requested is RDP_NEG_REQ.requestedProtocols as sent (see RequestFor).
	Requested negotiate.Protocol
	Accepted  bool
	// Addr is the address connected to; empty if the connection failed.
	Addr string
	// At most one of Response and Failure is set; both are nil when the
	// server's Connection Confirm carried no negotiation data (a server
	// older than RDP 5.2: PROTOCOL_RDP) or when Err is set.
	Response *negotiate.NegotiationResponse
	Failure  *negotiate.NegotiationFailure
	// NoNegotiationData: a Connection Confirm without RDP_NEG_RSP or
	// RDP_NEG_FAILURE arrived.
	NoNegotiationData bool
	// Err is why no Connection Confirm could be read: connect error,
	// *PhaseTimeoutError, reset, *negotiate.NotTPKTError, malformed, X.224
	// Disconnect Request.
	Err      error
	Duration time.Duration
}

// Selected is the protocol the server chose, and whether it chose one at all
// (false after an RDP_NEG_FAILURE or an error).
func (l *LayerResult) Selected() (negotiate.Protocol, bool) {
	switch {
	case l.Response != nil:
		return l.Response.SelectedProtocol, true
	case l.NoNegotiationData:
		return negotiate.ProtocolRDP, true
	}
	return 0, false
}

// RequestFor is requestedProtocols for the question "does the server accept
// p?" (MS-RDPBCGR 2.2.1.1.1):
//
//   - PROTOCOL_RDP is requestedProtocols 0 inside an RDP_NEG_REQ. Leaving the
//     RDP_NEG_REQ out would ask a pre-5.2 question that current servers
//     answer with silence or a disconnect; with it, they answer
//     RDP_NEG_FAILURE (SSL_REQUIRED_BY_SERVER, HYBRID_REQUIRED_BY_SERVER)
//     when they refuse standard RDP security.
//   - PROTOCOL_HYBRID_EX is sent with PROTOCOL_HYBRID, as the spec says it
//     SHOULD be: a server that selects plain HYBRID has not accepted it.
//   - Every other protocol is sent alone, against the spec's SHOULD that
//     HYBRID come with SSL: only then is the answer unambiguous (2.2.1.2.2
//     names the answer of a TLS-only server to "only CredSSP":
//     SSL_REQUIRED_BY_SERVER).
func RequestFor(p negotiate.Protocol) negotiate.Protocol {
	if p == negotiate.ProtocolHybridEx {
		return negotiate.ProtocolHybrid | negotiate.ProtocolHybridEx
	}
	return p
}

// EncryptionMap is what a server running Standard RDP Security (MS-RDPBCGR
// 5.3) said about encryption, one connection per method offered.
type EncryptionMap struct {
	// Level is TS_UD_SC_SEC1.encryptionLevel from the answers that had
	// server data (Windows' "Encryption level" policy); LevelKnown is false
	// when no connection got that far.
	Level      negotiate.EncryptionLevel
	LevelKnown bool
	// ServerVersion is TS_UD_SC_CORE.version (0x00080004: RDP 5.0 and
	// later), 0 if unknown.
	ServerVersion uint32
	Methods       []MethodResult // one per EnumeratedMethods, in order
}

// MethodResult is the answer to a Client MCS Connect Initial whose
// CS_SECURITY offered exactly one encryption method.
type MethodResult struct {
	Method negotiate.EncryptionMethod
	// Accepted: the server selected this method (TS_UD_SC_SEC1.encryptionMethod).
	Accepted bool
	// HasServerData: a Connect Response with server security data arrived,
	// so Selected and Level are the server's words.
	HasServerData bool
	Selected      negotiate.EncryptionMethod
	Level         negotiate.EncryptionLevel
	// Err is why no server security data arrived (the server refused the
	// method by closing, an MCS failure result, a malformed answer...).
	Err      error
	Duration time.Duration
}

// Enumerate maps the security layers target accepts: one short connection
// per protocol of EnumeratedProtocols, at most EnumerateParallel at once,
// each with its own connect and negotiate deadlines (opt.PhaseTimeout) and
// all within opt.Timeout. If the server accepts PROTOCOL_RDP it then offers
// each encryption method of EnumeratedMethods on its own connection and
// reads the server security data. It never sends credentials and never
// goes past the MCS Connect Response. The result is never nil.
//
// Only opt's Timeout, PhaseTimeout, DialContext, Resolver and Now are used.
func Enumerate(ctx context.Context, target string, opt Options) *SecurityLayers {
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.PhaseTimeout <= 0 {
		opt.PhaseTimeout = DefaultPhaseTimeout
	}
	s := &SecurityLayers{Target: target, Start: now()}
	defer func() { s.Duration = now().Sub(s.Start) }()
	host, port, err := SplitTarget(target, DefaultPort)
	if err != nil {
		s.Err = err
		return s
	}
	s.Host, s.Port = host, port
	ctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	e := &enumerator{opt: opt, now: now, addr: net.JoinHostPort(host, strconv.Itoa(port))}

	s.Layers = make([]LayerResult, len(EnumeratedProtocols))
	parallel(len(EnumeratedProtocols), func(i int) {
		s.Layers[i] = e.layer(ctx, EnumeratedProtocols[i])
	})
	if l := s.Layer(negotiate.ProtocolRDP); l == nil || !l.Accepted {
		return s
	}
	em := &EncryptionMap{Methods: make([]MethodResult, len(EnumeratedMethods))}
	parallel(len(EnumeratedMethods), func(i int) {
		em.Methods[i] = e.method(ctx, EnumeratedMethods[i])
	})
	for _, m := range em.Methods {
		if m.HasServerData && !em.LevelKnown {
			em.Level, em.LevelKnown = m.Level, true
		}
	}
	s.Encryption = em
	em.ServerVersion = e.serverVersion
	return s
}

// parallel runs f(0..n-1) with at most EnumerateParallel at a time.
func parallel(n int, f func(i int)) {
	sem := make(chan struct{}, EnumerateParallel)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(i)
		}()
	}
	wg.Wait()
}

// DialError: the connection of one map entry could not be opened (name
// resolution or TCP), so the server said nothing.
type DialError struct{ Err error }

func (e *DialError) Error() string { return "connect: " + e.Err.Error() }
func (e *DialError) Unwrap() error { return e.Err }

type enumerator struct {
	opt  Options
	now  func() time.Time
	addr string

	mu            sync.Mutex
	serverVersion uint32
}

// dial opens one connection under the connect deadline; the returned
// connection's deadline is unset.
func (e *enumerator) dial(ctx context.Context) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, e.opt.PhaseTimeout)
	defer cancel()
	c, err := dialer(&e.opt)(ctx, "tcp", e.addr)
	if err != nil {
		return nil, &DialError{Err: phaseTimeout(PhaseConnect, err)}
	}
	return &conn{Conn: c}, nil
}

// step runs f with conn's deadline following a phase deadline within ctx,
// so that neither a silent server nor a cancelled context leaves it blocked.
func (e *enumerator) step(ctx context.Context, conn *conn, ph Phase, f func() error) error {
	ctx, cancel := context.WithTimeout(ctx, e.opt.PhaseTimeout)
	defer cancel()
	defer followDeadline(ctx, conn)()
	return phaseTimeout(ph, f())
}

// confirm sends a Connection Request for requested and reads the Connection
// Confirm (MS-RDPBCGR 2.2.1.1, 2.2.1.2).
func (e *enumerator) confirm(ctx context.Context, c *conn, requested negotiate.Protocol) (cc *negotiate.ConnectionConfirm, err error) {
	err = e.step(ctx, c, PhaseNegotiate, func() error {
		cc, err = c.exchangeConnectionRequest(negotiate.ConnectionRequest{RequestedProtocols: requested})
		return err
	})
	return cc, err
}

// layer asks the server about one protocol on its own connection.
func (e *enumerator) layer(ctx context.Context, p negotiate.Protocol) (l LayerResult) {
	l = LayerResult{Protocol: p, Requested: RequestFor(p)}
	start := e.now()
	defer func() { l.Duration = e.now().Sub(start) }()
	conn, err := e.dial(ctx)
	if err != nil {
		l.Err = err
		return l
	}
	defer conn.Close()
	l.Addr = conn.RemoteAddr().String()
	cc, err := e.confirm(ctx, conn, l.Requested)
	if err != nil {
		l.Err = err
		return l
	}
	l.Response, l.Failure = cc.Response, cc.Failure
	l.NoNegotiationData = cc.Response == nil && cc.Failure == nil
	sel, ok := l.Selected()
	l.Accepted = ok && sel == p
	return l
}

// method offers one encryption method under Standard RDP Security and reads
// what the server selected (MS-RDPBCGR 2.2.1.3.3, 2.2.1.4.3, 5.3.2).
func (e *enumerator) method(ctx context.Context, m negotiate.EncryptionMethod) (mr MethodResult) {
	mr = MethodResult{Method: m}
	start := e.now()
	defer func() { mr.Duration = e.now().Sub(start) }()
	conn, err := e.dial(ctx)
	if err != nil {
		mr.Err = err
		return mr
	}
	defer conn.Close()
	cc, err := e.confirm(ctx, conn, negotiate.ProtocolRDP)
	if err != nil {
		mr.Err = err
		return mr
	}
	switch {
	case cc.Failure != nil:
		mr.Err = cc.Failure
		return mr
	case cc.Response != nil && cc.Response.SelectedProtocol != negotiate.ProtocolRDP:
		mr.Err = &ProtocolMismatchError{Offered: negotiate.ProtocolRDP, Selected: cc.Response.SelectedProtocol}
		return mr
	}
	var cr *negotiate.ConnectResponse
	err = e.step(ctx, conn, PhaseNegotiate, func() error {
		cd := negotiate.DefaultClientData(negotiate.ProtocolRDP)
		cd.EncryptionMethods = uint32(m)
		if err := conn.writeTPKT(negotiate.ClientMCSConnectInitialWith(&cd), "MCS Connect Initial", false); err != nil {
			return fmt.Errorf("mcs: %w", err)
		}
		pdu, err := conn.readTPKT(maxConnectResponse, "MCS Connect Response")
		if err != nil {
			return fmt.Errorf("mcs: %w", err)
		}
		cr, err = negotiate.ParseMCSConnectResponse(pdu)
		return err
	})
	if err != nil {
		mr.Err = err
		return mr
	}
	if cr.Server == nil || cr.Server.Security == nil {
		mr.Err = errors.New("mcs: Connect Response without server security data")
		return mr
	}
	sec := cr.Server.Security
	mr.HasServerData = true
	mr.Selected, mr.Level = sec.Method, sec.Level
	mr.Accepted = sec.Method == m
	if cr.Server.Core != nil {
		e.mu.Lock()
		e.serverVersion = cr.Server.Core.Version
		e.mu.Unlock()
	}
	return mr
}
