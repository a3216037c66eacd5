package probe

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"hash"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/rdpprobe/rdpprobe/internal/gwhttp"
	"github.com/rdpprobe/rdpprobe/negotiate/ntlm"
	"github.com/rdpprobe/rdpprobe/negotiate/tsgu"
)

// The HTTP side of a gateway channel (MS-TSGU 3.3.5.1): a request carrying
// the security package's token, the gateway's answer, and what that
// answer says about the gateway.

// challenge sends the channel's first request, with an NTLM NEGOTIATE
// already in it (mstsc's preselected scheme saves a round trip), and reads
// the gateway's 401 with its CHALLENGE. upgrade asks for WebSocket.
func (c *gwChannel) challenge(ctx context.Context, upgrade bool) error {
	c.upgrade = upgrade
	if upgrade {
		key, err := gwhttp.NewKey(rand.Reader)
		if err != nil {
			return err
		}
		c.wsKey = key
	}
	c.ntlm = newNTLMAuth("HTTP/"+c.g.info.Host, c.g.opt.Credentials, c.g.now)
	if certs := c.tc.ConnectionState().PeerCertificates; len(certs) > 0 {
		c.ntlm.client.ChannelBindings = ntlm.ChannelBindingHash(tlsServerEndPoint(certs[0]))
	}
	token, _, err := c.ntlm.next()
	if err != nil {
		return err
	}
	c.scheme = "NTLM"
	resp, err := c.roundTrip(c.request("NTLM "+base64.StdEncoding.EncodeToString(token), false), "NTLM NEGOTIATE", false)
	if err != nil {
		return err
	}
	if resp.Status == 401 {
		if _, ntlmOffered := resp.Challenges("NTLM"); !ntlmOffered {
			if _, neg := resp.Challenges("Negotiate"); neg {
				// Negotiate takes a raw NTLM token as well (Windows'
				// SPNEGO detects NTLMSSP): ask again under its name.
				c.scheme = "Negotiate"
				if resp, err = c.roundTrip(c.request("Negotiate "+base64.StdEncoding.EncodeToString(token), false), "NTLM NEGOTIATE (Negotiate)", false); err != nil {
					return err
				}
			}
		}
	}
	switch {
	case resp.Status == 401:
	case webPage(resp):
		return c.notGateway(resp)
	case resp.Status == 200 || resp.Status == 101:
		// No authentication asked for.
		c.final = resp
		return c.checkFinal()
	default:
		return c.notGateway(resp)
	}
	if tok, ok := challengeToken(resp, c.scheme); ok {
		if err := c.ntlm.accept(tok); err != nil {
			return fmt.Errorf("gateway: %s: %w", c.method, err)
		}
		if c.layer == LayerHTTPOut {
			c.g.info.NTLM = c.ntlm.info
		}
		return nil
	}
	if _, basic := resp.Challenges("Basic"); basic {
		c.scheme = "Basic"
		return nil
	}
	return &GatewayAuthError{Channel: c.method, Status: resp.Status, Schemes: c.g.schemes(), Unsupported: true}
}

// challengeToken is the base64 token of the scheme's challenge, decoded.
func challengeToken(resp *gwhttp.Response, scheme string) ([]byte, bool) {
	params, _ := resp.Challenges(scheme)
	for _, p := range params {
		if p == "" {
			continue
		}
		if b, err := base64.StdEncoding.DecodeString(p); err == nil && len(b) > 0 {
			return b, true
		}
	}
	return nil, false
}

// authenticate sends the channel's logon: NTLM's AUTHENTICATE, or Basic
// when that is all the gateway takes and the options allow it. It is the
// one place the gateway's credentials leave the probe.
func (c *gwChannel) authenticate(ctx context.Context) error {
	if c.final != nil {
		return nil
	}
	o := c.g.opt
	if o.Credentials == nil {
		return &GatewayAuthError{Channel: c.method, Status: 401, Schemes: c.g.schemes(), NoCredentials: true}
	}
	var auth, note string
	switch c.scheme {
	case "Basic":
		if !o.AllowBasic {
			return &GatewayAuthError{Channel: c.method, Status: 401, Schemes: c.g.schemes(), BasicOnly: true}
		}
		cr := o.Credentials
		user := cr.User
		if cr.Domain != "" {
			user = cr.Domain + `\` + cr.User
		}
		auth, note = "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+cr.Password)), "Basic credentials"
	default:
		token, _, err := c.ntlm.next()
		if err != nil {
			return fmt.Errorf("gateway: %s: %w", c.method, err)
		}
		auth, note = c.scheme+" "+base64.StdEncoding.EncodeToString(token), "NTLM AUTHENTICATE"
	}
	c.g.info.LogonAttempted = true
	resp, err := c.roundTrip(c.request(auth, false), note, true)
	if err != nil {
		return err
	}
	switch {
	case webPage(resp):
		return c.notGateway(resp)
	case resp.Status == 200 || resp.Status == 101:
		c.final = resp
		return c.checkFinal()
	case resp.Status == 401:
		return &GatewayAuthError{Channel: c.method, Status: 401, Schemes: c.g.schemes(), Attempted: true}
	}
	return c.notGateway(resp)
}

// checkFinal checks a 101 against the key we sent (RFC 6455 4.2.2).
func (c *gwChannel) checkFinal() error {
	r := c.final
	if r.Status != 101 {
		return nil
	}
	if !c.upgrade {
		return fmt.Errorf("gateway: %w: %s answered 101 Switching Protocols to a request without Upgrade", tsgu.ErrMalformed, c.method)
	}
	if !strings.EqualFold(r.Get("Upgrade"), "websocket") || r.Get("Sec-WebSocket-Accept") != gwhttp.AcceptKey(c.wsKey) {
		return fmt.Errorf("gateway: %w: %s: a WebSocket upgrade with Upgrade %q and Sec-WebSocket-Accept %q (want %q)",
			tsgu.ErrMalformed, c.method, r.Get("Upgrade"), r.Get("Sec-WebSocket-Accept"), gwhttp.AcceptKey(c.wsKey))
	}
	return nil
}

// request builds the channel's request head: what mstsc and FreeRDP send
// (MS-TSGU 3.3.5.1), with auth in Authorization when set.
func (c *gwChannel) request(auth string, chunked bool) *gwhttp.Request {
	host := c.g.info.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if c.g.info.Port != DefaultGatewayPort {
		host += ":" + strconv.Itoa(c.g.info.Port)
	}
	h := []gwhttp.Field{
		{Name: "Cache-Control", Value: "no-cache"},
		{Name: "Pragma", Value: "no-cache"},
		{Name: "Accept", Value: "*/*"},
		{Name: "User-Agent", Value: "MS-RDGateway/1.0"},
		{Name: "Host", Value: host},
	}
	if c.upgrade {
		h = append(h, gwhttp.Field{Name: "Connection", Value: "Upgrade"}, gwhttp.Field{Name: "Upgrade", Value: "websocket"},
			gwhttp.Field{Name: "Sec-WebSocket-Version", Value: "13"}, gwhttp.Field{Name: "Sec-WebSocket-Key", Value: c.wsKey})
	} else {
		h = append(h, gwhttp.Field{Name: "Connection", Value: "Keep-Alive"})
	}
	h = append(h, gwhttp.Field{Name: "RDG-Connection-Id", Value: c.g.connID})
	if chunked {
		h = append(h, gwhttp.Field{Name: "Transfer-Encoding", Value: "chunked"})
	} else {
		h = append(h, gwhttp.Field{Name: "Content-Length", Value: "0"})
	}
	if auth != "" {
		h = append(h, gwhttp.Field{Name: "Authorization", Value: auth})
	}
	return &gwhttp.Request{Method: c.method, Target: gatewayURI, Header: h}
}

// roundTrip sends req and reads the answer's head, and its body unless
// the answer opens the channel (200 on RDG_OUT_DATA, 101). A secret
// request (credentials in it) is recorded as redacted.
func (c *gwChannel) roundTrip(req *gwhttp.Request, note string, secret bool) (*gwhttp.Response, error) {
	b, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	c.g.record(Client, c.layer, b, c.method+" request, "+note, secret)
	if _, err := c.tc.Write(b); err != nil {
		return nil, fmt.Errorf("gateway: send %s: %w", c.method, typeTLSAlert(err))
	}
	resp, raw, err := gwhttp.ReadResponseHead(c.br, gwhttp.MaxHead)
	if err != nil {
		if nh, ok := err.(*gwhttp.NotHTTPError); ok {
			c.g.record(Server, c.layer, nh.First, "not HTTP", false)
			return nil, &NotGatewayError{Channel: c.method, NotHTTP: looksLike(nh.First)}
		}
		err = typeTLSAlert(err)
		c.g.recordReadError(err)
		return nil, fmt.Errorf("gateway: read the answer to %s: %w", c.method, err)
	}
	c.g.mu.Lock()
	info := c.g.info
	info.HTTPStatus, info.Server = resp.Status, capText(resp.Get("Server"))
	for _, ch := range resp.Schemes() {
		if !containsFold(info.AuthSchemes, ch.Scheme) && len(info.AuthSchemes) < 8 {
			info.AuthSchemes = append(info.AuthSchemes, capText(ch.Scheme))
		}
	}
	c.g.mu.Unlock()
	opens := resp.Status == 101 || resp.Status == 200 && c.layer == LayerHTTPOut && !webPage(resp)
	var body []byte
	if !opens {
		if body, err = c.readBody(resp); err != nil {
			return nil, err
		}
	}
	c.lastBody = body
	c.g.record(Server, c.layer, append(raw, body...), fmt.Sprintf("%s answer: %d %s", c.method, resp.Status, resp.Reason), false)
	if !opens && resp.Status == 401 && strings.EqualFold(resp.Get("Connection"), "close") {
		return resp, fmt.Errorf("gateway: %w: %s answered 401 with Connection: close, which ends the connection an NTLM logon needs", tsgu.ErrMalformed, c.method)
	}
	return resp, nil
}

// readBody reads the body of an answer that does not open the channel, so
// that the connection can carry the next request; at most
// maxGatewayBodyKept bytes are kept.
func (c *gwChannel) readBody(resp *gwhttp.Response) ([]byte, error) {
	var r io.Reader
	switch n, ok, err := resp.ContentLength(); {
	case err != nil:
		return nil, fmt.Errorf("gateway: %s: %w", c.method, err)
	case resp.Chunked():
		r = &gwhttp.ChunkedReader{R: c.br, MaxChunk: maxGatewayBody}
	case ok:
		if n > maxGatewayBody {
			return nil, fmt.Errorf("gateway: %w: %s answered with a body of %d bytes", tsgu.ErrMalformed, c.method, n)
		}
		r = io.LimitReader(c.br, n)
	case resp.Status == 204 || resp.Status == 304:
		return nil, nil
	default:
		r = c.br // until the gateway closes (RFC 9112 6.3)
	}
	b, err := io.ReadAll(io.LimitReader(r, maxGatewayBody+1))
	if err != nil && len(b) == 0 {
		return nil, fmt.Errorf("gateway: read the body of %s's answer: %w", c.method, err)
	}
	if len(b) > maxGatewayBody {
		return nil, fmt.Errorf("gateway: %w: %s answered with a body over %d bytes", tsgu.ErrMalformed, c.method, maxGatewayBody)
	}
	return b[:min(len(b), maxGatewayBodyKept)], nil
}

// webPage: a 200 that carries a document (a portal's login form), not a
// gateway's channel. A channel has no media type, and no length or one
// far beyond a page's; a length beyond a seed's but a document's size
// gives a page away too.
func webPage(resp *gwhttp.Response) bool {
	if resp.Status != 200 {
		return false
	}
	ct := strings.ToLower(resp.Get("Content-Type"))
	if strings.Contains(ct, "html") || strings.HasPrefix(ct, "text/") || strings.Contains(ct, "json") {
		return true
	}
	n, ok, _ := resp.ContentLength()
	return ok && n > 100 && n < 1<<20
}

var htmlTitle = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

// notGateway describes an answer no RD Gateway gives: what did answer.
func (c *gwChannel) notGateway(resp *gwhttp.Response) error {
	e := &NotGatewayError{Channel: c.method, Status: resp.Status, Reason: capText(resp.Reason),
		Server: capText(resp.Get("Server")), ContentType: capText(resp.Get("Content-Type")), Location: capText(resp.Get("Location"))}
	if m := htmlTitle.FindSubmatch(c.lastBody); m != nil {
		e.Title = strings.Join(strings.Fields(string(m[1])), " ")
		e.Title = e.Title[:min(len(e.Title), 200)]
	}
	return e
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// looksLike says what a peer that did not answer with HTTP speaks.
func looksLike(b []byte) string {
	switch {
	case len(b) >= 2 && b[0] == 3 && b[1] == 0:
		return "TPKT (an RDP listener, not a gateway)"
	case len(b) >= 2 && b[0] == 0x15 && b[1] == 0x03:
		return "a TLS alert"
	case strings.HasPrefix(string(b), "SSH-"):
		return "an SSH banner"
	}
	return fmt.Sprintf("%q", b)
}

// tlsServerEndPoint is the channel binding of RFC 5929 4.1: the
// certificate's hash under its signature's hash function, SHA-256 for MD5
// and SHA-1 (and for a signature without one).
func tlsServerEndPoint(cert *x509.Certificate) []byte {
	var h hash.Hash
	switch cert.SignatureAlgorithm {
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384, x509.SHA384WithRSAPSS:
		h = sha512.New384()
	case x509.SHA512WithRSA, x509.ECDSAWithSHA512, x509.SHA512WithRSAPSS:
		h = sha512.New()
	default:
		h = sha256.New()
	}
	h.Write(cert.Raw)
	return h.Sum([]byte("tls-server-end-point:"))
}

// inHead is the IN channel's data request (FreeRDP's, which Windows
// takes): the same request again, now with a chunked body that carries
// the client's packets; the connection is already authenticated.
func (c *gwChannel) inHead() ([]byte, error) {
	b, err := c.request("", true).Marshal()
	if err != nil {
		return nil, err
	}
	c.g.record(Client, c.layer, b, c.method+" request, chunked: the client's packets follow", false)
	return b, nil
}

var _ net.Conn = (*gwTunnel)(nil)

func (g *gateway) schemes() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.info.AuthSchemes...)
}
