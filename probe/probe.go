// Package probe runs the phases of an RDP connection against one server, in
// wire order, each under its own deadline, and records what the server said.
// It judges nothing: package classify turns a Result into a verdict.
package probe

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/negotiate/ntlm"
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

// credSSPVersion is the TSRequest version we speak: 6 carries clientNonce
// and the SHA-256 public key binding (MS-CSSP 2.2.1, the CVE-2018-0886 fix).
const credSSPVersion = 6

// Size caps for what a server may send before we give up on it. A real
// Connection Confirm is 19 bytes; a TSRequest carrying a CHALLENGE is well
// under 2 KiB. The caps only stop a hostile or broken peer from making us
// allocate.
const (
	maxConfirm   = 1024
	maxTSRequest = 64 << 10
)

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

const (
	defaultTimeout      = 15 * time.Second
	defaultPhaseTimeout = 5 * time.Second
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
		opt.Timeout = defaultTimeout
	}
	if opt.PhaseTimeout <= 0 {
		opt.PhaseTimeout = defaultPhaseTimeout
	}
	p := &prober{opt: opt, now: now, r: &Result{
		Target:      target,
		Start:       now(),
		Offered:     opt.Protocols,
		Credentials: opt.Credentials != nil,
	}}
	if c := opt.Credentials; c != nil {
		p.r.User = c.User
		if c.Domain != "" {
			p.r.User = c.Domain + `\` + c.User
		}
	}
	ctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	p.run(ctx)
	if p.conn != nil {
		p.conn.Close()
	}
	return p.r
}

type prober struct {
	opt  Options
	now  func() time.Time
	r    *Result
	conn net.Conn // the TCP connection, then the TLS one on top of it

	spk       []byte // the server's SubjectPublicKey, for the CredSSP binding
	challenge []byte // the NTLM CHALLENGE as sent
	ntlm      *ntlm.Client
	version   int // CredSSP version to speak: min(ours, server's)
}

// run is the whole story, in wire order.
func (p *prober) run(ctx context.Context) {
	if !p.phase(ctx, PhaseConnect, p.connect) || p.stopAfter(PhaseConnect) {
		return
	}
	if !p.phase(ctx, PhaseNegotiate, p.negotiate) || p.stopAfter(PhaseNegotiate) {
		return
	}
	selected := p.r.Negotiation.Selected()
	if selected == negotiate.ProtocolRDP {
		p.skipSession(skippedStandardRDP)
		return // standard RDP security: nothing more before the session
	}
	if !p.phase(ctx, PhaseTLS, p.handshake) || p.stopAfter(PhaseTLS) {
		return
	}
	if selected&(negotiate.ProtocolHybrid|negotiate.ProtocolHybridEx) == 0 {
		// TLS only: credentials are checked inside the session.
		p.runSession(ctx)
		return
	}
	if !p.phase(ctx, PhaseNTLMInfo, p.ntlmInfo) || p.stopAfter(PhaseNTLMInfo) {
		return
	}
	if p.opt.Credentials == nil {
		p.skipSession(skippedNoCredentials)
		return
	}
	if !p.phase(ctx, PhaseLogon, p.logon) || p.stopAfter(PhaseLogon) {
		return
	}
	p.runSession(ctx)
}

func (p *prober) stopAfter(ph Phase) bool { return p.opt.Depth == ph }

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
func followDeadline(ctx context.Context, conn net.Conn) (stop func() bool) {
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	return context.AfterFunc(ctx, func() {
		if errors.Is(ctx.Err(), context.Canceled) {
			conn.SetDeadline(time.Unix(1, 0))
		}
	})
}

// dialer is opt.DialContext, or a net.Dialer with opt.Resolver.
func dialer(opt *Options) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if opt.DialContext != nil {
		return opt.DialContext
	}
	return (&net.Dialer{Resolver: opt.Resolver}).DialContext
}

// connect resolves the target and opens TCP.
func (p *prober) connect(ctx context.Context) error {
	host, port, err := SplitTarget(p.r.Target, DefaultPort)
	if err != nil {
		return err
	}
	p.r.Host, p.r.Port = host, port
	conn, err := dialer(&p.opt)(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	p.conn = conn
	p.r.Addr = conn.RemoteAddr().String()
	// The phase deadline for connect was set before the conn existed.
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
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
	out := req.Marshal()
	p.record(Client, LayerX224, out, "X.224 Connection Request, RDP_NEG_REQ "+p.opt.Protocols.String(), false)
	if _, err := p.conn.Write(out); err != nil {
		return fmt.Errorf("x224: send Connection Request: %w", err)
	}
	pdu, err := negotiate.ReadTPKT(p.conn, maxConfirm)
	if err != nil {
		p.recordReadError(err)
		return fmt.Errorf("x224: read Connection Confirm: %w", err)
	}
	p.record(Server, LayerX224, negotiate.AppendTPKT(nil, pdu), "X.224 Connection Confirm", false)
	var cc negotiate.ConnectionConfirm
	if err := cc.Unmarshal(pdu); err != nil {
		return err
	}
	n := &Negotiation{Offered: p.opt.Protocols, Response: cc.Response, Failure: cc.Failure}
	p.r.Negotiation = n
	if cc.Failure != nil {
		return cc.Failure
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

// handshake upgrades to TLS (MS-RDPBCGR 5.4.5.1). RDP servers present
// self-signed certificates as a rule, so the certificate is reported, not
// verified: CredSSP's pubKeyAuth is what binds the key to the logon.
func (p *prober) handshake(ctx context.Context) error {
	cfg := &tls.Config{
		InsecureSkipVerify: true,
		MinVersion:         tls.VersionTLS10,
		// Old Windows (2008 R2, 2012) needs RSA key exchange and CBC suites
		// that Go leaves out by default; naming them enables them.
		CipherSuites: allCipherSuites(),
		KeyLogWriter: p.opt.KeyLogWriter,
	}
	if net.ParseIP(p.r.Host) == nil {
		cfg.ServerName = p.r.Host
	}
	tc := tls.Client(p.conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("tls: handshake: %w", err)
	}
	p.conn = tc
	st := tc.ConnectionState()
	p.event("tls", tls.VersionName(st.Version)+" "+tls.CipherSuiteName(st.CipherSuite))
	info := &TLSInfo{Version: st.Version, CipherSuite: st.CipherSuite}
	if len(st.PeerCertificates) > 0 {
		cert := st.PeerCertificates[0]
		info.Certificate = certInfo(cert)
		spk, err := subjectPublicKey(cert)
		if err != nil {
			return err
		}
		p.spk = spk
	}
	p.r.TLS = info
	return nil
}

func allCipherSuites() []uint16 {
	var ids []uint16
	for _, s := range tls.CipherSuites() {
		ids = append(ids, s.ID)
	}
	for _, s := range tls.InsecureCipherSuites() {
		// RSA key exchange and CBC-SHA1 only; RC4 and 3DES stay out.
		if !strings.Contains(s.Name, "RC4") && !strings.Contains(s.Name, "3DES") {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

func certInfo(c *x509.Certificate) *CertInfo {
	ci := &CertInfo{
		Subject:      c.Subject.String(),
		Issuer:       c.Issuer.String(),
		DNSNames:     c.DNSNames,
		NotBefore:    c.NotBefore,
		NotAfter:     c.NotAfter,
		SignatureAlg: c.SignatureAlgorithm.String(),
		SelfSigned:   string(c.RawIssuer) == string(c.RawSubject) && c.CheckSignatureFrom(c) == nil,
	}
	for _, ip := range c.IPAddresses {
		ci.IPAddresses = append(ci.IPAddresses, ip.String())
	}
	sum := sha256.Sum256(c.Raw)
	ci.SHA256 = hex.EncodeToString(sum[:])
	ci.KeyType, ci.KeyBits = keyTypeAndSize(c)
	return ci
}

// ntlmInfo opens CredSSP with an NTLM NEGOTIATE and reads the CHALLENGE,
// which names the server, its domain, its OS build and its clock
// (MS-CSSP 3.1.5 steps 1-2, MS-NLMP 2.2.1.2).
func (p *prober) ntlmInfo(ctx context.Context) error {
	p.ntlm = &ntlm.Client{SPN: "TERMSRV/" + p.r.Host}
	if c := p.opt.Credentials; c != nil {
		p.ntlm.User, p.ntlm.Domain, p.ntlm.Password = c.User, c.Domain, c.Password
	}
	cs := &CredSSPInfo{ClientVersion: credSSPVersion}
	p.r.CredSSP = cs
	if err := p.send(&negotiate.TSRequest{Version: credSSPVersion, NegoTokens: [][]byte{p.ntlm.Negotiate()}}, "TSRequest: NTLM NEGOTIATE", false); err != nil {
		return err
	}
	ts, err := p.receive()
	if err != nil {
		return err
	}
	cs.ServerVersion = ts.Version
	p.version = min(credSSPVersion, ts.Version)
	if ts.ErrorCode != nil {
		cs.ErrorCode = ts.ErrorCode
		return &ServerErrorCode{Status: *ts.ErrorCode}
	}
	if len(ts.NegoTokens) != 1 {
		return fmt.Errorf("credssp: %w: expected one NTLM CHALLENGE, got %d negoTokens", negotiate.ErrMalformed, len(ts.NegoTokens))
	}
	received := p.now()
	var ch ntlm.ChallengeMessage
	if err := ch.Unmarshal(ts.NegoTokens[0]); err != nil {
		return err
	}
	p.challenge = ts.NegoTokens[0]
	ti := ch.TargetInfo
	info := &NTLMInfo{
		TargetName:      ch.TargetName,
		NetBIOSDomain:   ti.NbDomainName,
		NetBIOSComputer: ti.NbComputerName,
		DNSDomain:       ti.DNSDomainName,
		DNSComputer:     ti.DNSComputerName,
		DNSTree:         ti.DNSTreeName,
		ServerTime:      ti.Timestamp,
		NegotiateFlags:  uint32(ch.Flags),
	}
	if ch.Version != nil {
		info.OSVersion = ch.Version.String()
	}
	if !ti.Timestamp.IsZero() {
		info.ClockSkew = ti.Timestamp.Sub(received)
	}
	p.r.NTLM = info
	// ".\user" names a local account of the target: NTLM wants the target's
	// own name as the domain, which only the CHALLENGE tells us.
	if p.ntlm.Domain == "." {
		p.ntlm.Domain = ti.NbComputerName
	}
	// Before the CVE-2018-0886 fix (version 5) there is no binding hash: a
	// patched client refuses the server, and so do we, before any logon.
	if ts.Version < 5 {
		return &CredSSPVersionError{Server: ts.Version}
	}
	return nil
}

// logon sends AUTHENTICATE with pubKeyAuth, checks the server's proof of the
// TLS key, then delegates the credentials (MS-CSSP 3.1.5 steps 3-5) and,
// under HYBRID_EX, reads the Early User Authorization Result.
func (p *prober) logon(ctx context.Context) error {
	if p.spk == nil {
		return errors.New("credssp: the server sent no certificate to bind the logon to")
	}
	auth, sess, err := p.ntlm.Authenticate(p.challenge)
	if err != nil {
		return err
	}
	nonce := make([]byte, 32)
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	cs := p.r.CredSSP
	p.r.LogonAttempted = true
	req := &negotiate.TSRequest{
		Version:     p.version,
		NegoTokens:  [][]byte{auth},
		PubKeyAuth:  sess.Seal(negotiate.ClientServerHash(nonce, p.spk)),
		ClientNonce: nonce,
	}
	if err := p.send(req, "TSRequest: NTLM AUTHENTICATE, pubKeyAuth, clientNonce", true); err != nil {
		return err
	}
	ts, err := p.receive()
	if err != nil {
		if closed(err) {
			cs.ClosedAfterAuthenticate = true
			return &ClosedAfterAuthenticateError{Err: err}
		}
		return err
	}
	if ts.ErrorCode != nil {
		cs.ErrorCode = ts.ErrorCode
		return &ServerErrorCode{Status: *ts.ErrorCode}
	}
	if len(ts.PubKeyAuth) == 0 {
		return fmt.Errorf("credssp: %w: server answered AUTHENTICATE without pubKeyAuth or errorCode", negotiate.ErrMalformed)
	}
	echo, err := sess.Unseal(ts.PubKeyAuth)
	if err != nil {
		return &PubKeyAuthError{Reason: err.Error()}
	}
	if subtle.ConstantTimeCompare(echo, negotiate.ServerClientHash(nonce, p.spk)) != 1 {
		return &PubKeyAuthError{Reason: "hash differs"}
	}
	cs.PubKeyAuthVerified = true

	creds := negotiate.TSCredentials{Domain: p.ntlm.Domain, User: p.ntlm.User, Password: p.ntlm.Password}
	plain, err := creds.Marshal()
	if err != nil {
		return err
	}
	if err := p.send(&negotiate.TSRequest{Version: p.version, AuthInfo: sess.Seal(plain)}, "TSRequest: authInfo (sealed TSCredentials)", true); err != nil {
		return err
	}
	clear(plain)
	cs.CredentialsSent = true

	if p.r.Negotiation.Selected() != negotiate.ProtocolHybridEx {
		return nil
	}
	// MS-RDPBCGR 2.2.10.2: four bytes, in the clear of the TLS channel.
	buf := make([]byte, 4)
	if _, err := io.ReadFull(p.conn, buf); err != nil {
		p.recordReadError(err)
		return fmt.Errorf("early user authorization: read result: %w", err)
	}
	p.record(Server, LayerRaw, buf, "Early User Authorization Result", false)
	res, err := negotiate.ParseEarlyUserAuthResult(buf)
	if err != nil {
		return err
	}
	cs.EarlyUserAuth = &res
	if res != negotiate.EarlyUserAuthSuccess {
		return &EarlyUserAuthError{Result: res}
	}
	return nil
}

func (p *prober) send(m *negotiate.TSRequest, note string, secret bool) error {
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	p.record(Client, LayerCredSSP, b, note, secret)
	if _, err := p.conn.Write(b); err != nil {
		return fmt.Errorf("credssp: send TSRequest: %w", err)
	}
	return nil
}

func (p *prober) receive() (*negotiate.TSRequest, error) {
	b, err := negotiate.ReadTSRequest(p.conn, maxTSRequest)
	if err != nil {
		p.recordReadError(err)
		return nil, fmt.Errorf("credssp: read TSRequest: %w", err)
	}
	ts := new(negotiate.TSRequest)
	err = ts.Unmarshal(b)
	p.record(Server, LayerCredSSP, b, tsNote(ts, err), false)
	if err != nil {
		return nil, err
	}
	return ts, nil
}

// recordReadError notes how a read ended when the server sent no message.
func (p *prober) recordReadError(err error) {
	var nt *negotiate.NotTPKTError
	switch {
	case errors.As(err, &nt):
		p.record(Server, LayerRaw, nt.First, "not TPKT: "+nt.Looks(), false)
	case closed(err):
		p.event("close", err.Error())
	}
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
		return fmt.Sprintf("TSRequest v%d: NTLM CHALLENGE", ts.Version)
	}
	return fmt.Sprintf("TSRequest v%d", ts.Version)
}

// closed reports whether err means the peer ended the connection.
func closed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err)
}

// SplitTarget parses "host", "host:port", "[v6]:port" and a bare IPv6
// address into host and port.
func SplitTarget(target string, defPort int) (string, int, error) {
	if target == "" {
		return "", 0, errors.New("empty target")
	}
	if strings.HasPrefix(target, "[") != strings.Contains(target, "]") {
		return "", 0, fmt.Errorf("target %q: unbalanced brackets (write an IPv6 address with a port as [addr]:port)", target)
	}
	if ip := net.ParseIP(strings.Trim(target, "[]")); ip != nil && strings.Count(target, ":") > 1 && !strings.Contains(target, "]:") {
		return ip.String(), defPort, nil
	}
	host, portStr, err := net.SplitHostPort(target)
	if err != nil {
		if strings.Contains(err.Error(), "missing port") {
			return strings.Trim(target, "[]"), defPort, nil
		}
		return "", 0, fmt.Errorf("target %q: %w", target, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("target %q: port must be 1-65535", target)
	}
	if host == "" {
		return "", 0, fmt.Errorf("target %q: no host", target)
	}
	return host, port, nil
}
