// Package probe runs the phases of an RDP connection against one server, in
// wire order, each under its own deadline, and records what the server said.
// It judges nothing: package classify turns a Result into a verdict.
package probe

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/negotiate/krb5"
)

// DefaultPort is the RDP listener's well-known port.
const DefaultPort = 3389

// DefaultProtocols is what current mstsc offers: TLS, CredSSP, and CredSSP
// with the Early User Authorization Result (MS-RDPBCGR 2.2.1.1.1). Offering
// HYBRID_EX matters: only then does a Windows server tell an account without
// the Remote Desktop sign-in right apart before the session (2.2.10.2).
const DefaultProtocols = negotiate.ProtocolSSL | negotiate.ProtocolHybrid | negotiate.ProtocolHybridEx

// DefaultOffer names DefaultProtocols the way ParseOffer reads them.
const DefaultOffer = "tls,nla,nla-ext"

// Credentials for the one logon attempt of a run. The password lives only
// here, in memory; nothing in this package prints, logs or records it.
type Credentials struct {
	User     string // account name without domain
	Domain   string // "" for none (UPN or bare name); "." for the target's own accounts
	Password string
}

// Options configures one probe. The zero value probes the NTLM info of an NLA
// server with the default deadlines.
type Options struct {
	// Protocols offered in RDP_NEG_REQ. Zero means DefaultProtocols.
	Protocols negotiate.Protocol
	// AllowStandardRDP accepts PROTOCOL_RDP (standard RDP security) as an
	// answer; without it a server that selects it has refused what we offered.
	AllowStandardRDP bool
	// Credentials for a logon; nil probes without logging on.
	Credentials *Credentials
	// Auth is the security package inside CredSSP; "" is AuthNegotiate.
	Auth AuthMode
	// Kerberos says where Kerberos finds its realm, KDCs and ticket.
	Kerberos KerberosOptions
	// AutologonWithoutNLA lets the session phase put the password in the
	// Client Info PDU (INFO_AUTOLOGON) when the server selected TLS without
	// NLA although its certificate is neither trusted nor pinned, or
	// standard RDP security (which authenticates no server; at
	// ENCRYPTION_LEVEL_NONE the password is withheld all the same). Nothing
	// has then authenticated the server: a man in the middle who strips NLA
	// from the negotiation reads the password. Without it the password
	// goes only to a trusted or pinned certificate, and otherwise is
	// withheld and SessionInfo.PasswordWithheld says why.
	AutologonWithoutNLA bool
	// Gateway, if set, puts an RD Gateway between the probe and the
	// target: the gateway's phases run first, then the target's inside
	// its tunnel.
	Gateway *GatewayOptions
	// Cert is what the server's certificate is judged against (roots, the
	// name to check, a pin); see VerifyCertificate. A pin that the
	// certificate does not match ends the probe after the TLS handshake.
	Cert CertPolicy
	// RequireTrustedCert ends the probe after the TLS handshake, before
	// anything else is sent, when the certificate is neither trusted nor
	// pinned, as mstsc does when server authentication is "Do not connect".
	RequireTrustedCert bool
	// CertWarnWithin is how soon an expiry is worth a finding; zero means
	// DefaultCertWarnWithin.
	CertWarnWithin time.Duration
	// Depth is the last phase to run (zero: as deep as the server allows,
	// short of PhaseSession, which runs only when Depth names it).
	Depth Phase
	// Timeout bounds the whole probe; PhaseTimeout each phase within it.
	Timeout      time.Duration
	PhaseTimeout time.Duration
	// DialContext dials TCP; nil uses a net.Dialer with Resolver. Tests and
	// proxies set it.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Resolver resolves names; nil uses the system's.
	Resolver *net.Resolver
	// KeyLogWriter receives TLS secrets in NSS key log format (record mode).
	KeyLogWriter io.Writer
	// Recorder, if set, sees every message of the conversation (record mode).
	Recorder Recorder
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
}

// DefaultTimeout and DefaultPhaseTimeout are the deadlines Run uses when
// Options leaves them zero.
const (
	DefaultTimeout      = 15 * time.Second
	DefaultPhaseTimeout = 5 * time.Second
)

// Run probes target ("host", "host:port", "[v6]:port", "v6") and returns what
// it saw. It never returns nil and never retries: one connection, at most one
// logon attempt.
func Run(ctx context.Context, target string, opt Options) *Result {
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	if opt.Protocols == 0 && !opt.AllowStandardRDP {
		opt.Protocols = DefaultProtocols
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.PhaseTimeout <= 0 {
		opt.PhaseTimeout = DefaultPhaseTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	p := newProber(target, opt, now)
	p.runAndClose(ctx)
	// Through a gateway the fallback would be a second tunnel and a second
	// gateway logon: each logon is made at most once per run.
	if why, ok := p.ntlmRetry(); ok && opt.Gateway == nil {
		// Negotiate's fallback when the server cannot read SPNEGO at all:
		// one new connection with NTLM. The Kerberos attempt ended before
		// the server judged the account, so this is no second try of a
		// failed logon.
		first := p.r
		opt.Auth = AuthNTLM
		p = newProber(target, opt, now)
		p.runAndClose(ctx)
		if p.r.Auth != nil {
			a := *first.Auth
			a.Mechanism, a.Why, a.FallbackError = MechNTLM, why, first.Err
			a.KerberosTimings = first.Timings
			p.r.Auth = &a
		}
		p.r.LogonAttempted = p.r.LogonAttempted || first.LogonAttempted
	}
	return p.r
}

func newProber(target string, opt Options, now func() time.Time) *prober {
	if opt.CertWarnWithin <= 0 {
		opt.CertWarnWithin = DefaultCertWarnWithin
	}
	p := &prober{opt: opt, now: now, r: &Result{
		Target:           target,
		Start:            now(),
		Offered:          opt.Protocols,
		AllowStandardRDP: opt.AllowStandardRDP,
		Depth:            opt.Depth,
		Credentials:      opt.Credentials != nil,
		CertWarnWithin:   opt.CertWarnWithin,
	}}
	if c := opt.Credentials; c != nil {
		p.r.User = c.User
		if c.Domain != "" {
			p.r.User = c.Domain + `\` + c.User
		}
	}
	return p
}

func (p *prober) runAndClose(ctx context.Context) {
	p.run(ctx)
	if z, ok := p.auth.(interface{ zero() }); ok {
		z.zero() // the Kerberos session keys
	}
	switch {
	case p.conn != nil:
		p.conn.Close()
		p.conn.finishRecording()
	case p.gw != nil:
		p.gw.close()
		p.gw.rec.finishRecording()
	}
	p.r.bound()
}

type prober struct {
	opt  Options
	now  func() time.Time
	r    *Result
	conn *conn    // nil until connect; then TCP (or the gateway's tunnel), then TLS on top of it
	gw   *gateway // the RD Gateway, when Options.Gateway is set

	spk     []byte        // the server's SubjectPublicKey, for the CredSSP binding
	std     *stdSecurity  // Standard RDP Security in the session phase (PROTOCOL_RDP)
	auth    authenticator // the security package inside CredSSP
	version int           // CredSSP version to speak: min(ours, server's)
	kdcs    []krb5.KDC    // where Kerberos asks for its ticket
}

// run is the whole story, in wire order.
func (p *prober) run(ctx context.Context) {
	if p.opt.Gateway != nil && !p.runGateway(ctx) {
		return
	}
	if !p.phase(ctx, PhaseConnect, p.connect) || p.stopAfter(PhaseConnect) {
		return
	}
	if !p.phase(ctx, PhaseNegotiate, p.negotiate) || p.stopAfter(PhaseNegotiate) {
		return
	}
	selected := p.r.Negotiation.Selected()
	if selected == negotiate.ProtocolRDP {
		// Standard RDP security: no TLS, no NLA; its security exchange is
		// part of the session start.
		p.runSession(ctx)
		return
	}
	if !p.phase(ctx, PhaseTLS, p.handshake) || p.stopAfter(PhaseTLS) {
		return
	}
	if selected&(negotiate.ProtocolHybrid|negotiate.ProtocolHybridEx) == 0 {
		// TLS only: credentials are checked inside the session.
		p.runSession(ctx)
		return
	}
	kerberos, err := p.chooseMechanism(ctx)
	if err != nil {
		p.r.Failed, p.r.Err = PhaseKerberos, err
		return
	}
	if kerberos && (!p.phase(ctx, PhaseKerberos, p.kerberos) || p.stopAfter(PhaseKerberos)) {
		return
	}
	if p.auth == nil { // NTLM, chosen or fallen back to
		if !p.phase(ctx, PhaseNTLMInfo, p.ntlmInfo) || p.stopAfter(PhaseNTLMInfo) {
			return
		}
		if p.opt.Credentials == nil {
			p.skipSession(skippedNoCredentials)
			return
		}
	}
	if !p.phase(ctx, PhaseLogon, p.logon) || p.stopAfter(PhaseLogon) {
		return
	}
	p.runSession(ctx)
}

func (p *prober) stopAfter(ph Phase) bool { return p.opt.Depth == ph }

// chooseMechanism picks the security package for CredSSP as mstsc's
// Negotiate does and records why; true means Kerberos is to be tried.
func (p *prober) chooseMechanism(ctx context.Context) (bool, error) {
	mode := p.opt.Auth
	if mode == "" {
		mode = AuthNegotiate
	}
	p.r.Auth = &AuthInfo{Requested: mode, Mechanism: MechNTLM}
	if mode == AuthNTLM {
		return false, nil
	}
	try, unavailable, err := p.planKerberos(ctx)
	switch {
	case err != nil:
		return false, err
	case try:
		return true, nil
	case mode == AuthKerberos:
		if unavailable == nil {
			unavailable = &KerberosUnavailableError{Why: "no credentials and no ticket cache"}
		}
		return false, unavailable
	}
	if unavailable != nil {
		p.r.Auth.Why = unavailable.Why + "; used NTLM, as mstsc would"
	}
	return false, nil
}

// runSession runs the session phase when, and only when, it was asked for:
// it opens a session on the server, which no default probe should do.
func (p *prober) runSession(ctx context.Context) {
	if p.opt.Depth != PhaseSession {
		return
	}
	p.r.Session = &SessionInfo{}
	p.phase(ctx, PhaseSession, p.session)
}

func (p *prober) skipSession(why string) {
	if p.opt.Depth == PhaseSession {
		p.r.Session = &SessionInfo{Skipped: why}
	}
}

// phase runs f under the phase deadline (and the probe's), times it and
// records its outcome. The connection's deadline follows the context, so no
// read or write outlives the phase.
func (p *prober) phase(ctx context.Context, ph Phase, f func(context.Context) error) bool {
	ctx, cancel := context.WithTimeout(ctx, p.opt.PhaseTimeout)
	defer cancel()
	if p.conn != nil {
		defer followDeadline(ctx, p.conn)()
	} else if p.gw != nil {
		defer followDeadline(ctx, p.gw)()
	}
	start := p.now()
	err := f(ctx)
	p.r.Timings = append(p.r.Timings, PhaseTiming{Phase: ph, Duration: p.now().Sub(start)})
	if err != nil {
		p.r.Failed, p.r.Err = ph, phaseTimeout(ph, err)
		return false
	}
	p.r.Reached = ph
	return true
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// phaseTimeout names a timeout as phase ph running out of time. Every
// deadline on a connection is ours, so a timeout means the phase (or the
// probe) ran out of time, even when the socket's deadline fired a hair
// before the context's timer.
func phaseTimeout(ph Phase, err error) error {
	if err != nil && isTimeout(err) {
		return &PhaseTimeoutError{Phase: ph, Err: err}
	}
	return err
}

// followDeadline gives conn ctx's deadline and, should ctx be cancelled
// from above (Ctrl-C, an exporter's scrape ending), a deadline in the past,
// so no read or write outlives ctx. A deadline needs no such help: the
// socket already has it, and forcing it into the past would race with the
// short grace a phase gives its goodbye (disconnect). Call the returned
// func when done with ctx.
func followDeadline(ctx context.Context, conn interface{ SetDeadline(time.Time) error }) (stop func() bool) {
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	return context.AfterFunc(ctx, func() {
		if errors.Is(ctx.Err(), context.Canceled) {
			conn.SetDeadline(time.Unix(1, 0))
		}
	})
}

// connect resolves the target and opens TCP.
func (p *prober) connect(ctx context.Context) error {
	if p.gw != nil {
		return p.connectThroughGateway()
	}
	host, port, err := SplitTarget(p.r.Target, DefaultPort)
	if err != nil {
		return err
	}
	p.r.Host, p.r.Port = host, port
	c, err := dialer(&p.opt)(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	p.conn = &conn{Conn: c, rec: p.opt.Recorder}
	p.r.Addr = c.RemoteAddr().String()
	// The phase deadline for connect was set before the conn existed.
	if d, ok := ctx.Deadline(); ok {
		c.SetDeadline(d)
	}
	return nil
}

// negotiate sends the X.224 Connection Request with RDP_NEG_REQ and reads
// the Connection Confirm (MS-RDPBCGR 2.2.1.1, 2.2.1.2).
func (p *prober) negotiate(ctx context.Context) error {
	req := negotiate.ConnectionRequest{RequestedProtocols: p.opt.Protocols}
	if c := p.opt.Credentials; c != nil {
		req.Cookie = c.User
	}
	cc, err := p.conn.exchangeConnectionRequest(req)
	if err != nil {
		return err
	}
	n := &Negotiation{Offered: p.opt.Protocols, Response: cc.Response, Failure: cc.Failure}
	p.r.Negotiation = n
	if cc.Failure != nil {
		return cc.Failure
	}
	if cc.Response == nil && !p.opt.AllowStandardRDP {
		return &NoNegotiationResponseError{Offered: p.opt.Protocols}
	}
	if !p.offered(n.Selected()) {
		return &ProtocolMismatchError{Offered: p.opt.Protocols, Selected: n.Selected()}
	}
	return nil
}

// offered reports whether sel is exactly one protocol the client offered.
func (p *prober) offered(sel negotiate.Protocol) bool {
	if sel == negotiate.ProtocolRDP {
		return p.opt.AllowStandardRDP
	}
	return sel&(sel-1) == 0 && p.opt.Protocols&sel == sel
}
