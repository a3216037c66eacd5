package probe

import (
	"fmt"
	"strings"

	"github.com/rdpprobe/rdpprobe/negotiate/tsgu"
)

// GatewayCertError: the gateway's certificate is not one mstsc would
// trust (Trust: the first check it failed, VerifyCertificate's), or not
// the pinned one, or something else is wrong with it (Why); nothing was
// sent to the gateway.
type GatewayCertError struct {
	Trust       TrustError
	Pinned, Got string
	Why         string
}

func (e *GatewayCertError) Error() string {
	switch {
	case e.Pinned != "":
		return fmt.Sprintf("gateway: certificate sha256 %s is not the pinned %s", e.Got, e.Pinned)
	case e.Why != "":
		return "gateway: certificate not trusted: " + e.Why
	}
	return fmt.Sprintf("gateway: certificate not trusted (%s)", e.Trust)
}

// NotGatewayError: what answers at the gateway's address is not an RD
// Gateway: an HTTP status no gateway gives to RDG_OUT_DATA (IIS's 404, a
// login page's 200 or 302), or something that is not HTTP at all.
type NotGatewayError struct {
	Channel     string // RDG_OUT_DATA or RDG_IN_DATA
	Status      int
	Reason      string
	Server      string // the Server field
	ContentType string
	Location    string // a redirect's target
	Title       string // an HTML page's title
	NotHTTP     string // what the answer looks like instead, when it is not HTTP
}

func (e *NotGatewayError) Error() string {
	if e.NotHTTP != "" {
		return fmt.Sprintf("gateway: %s: the answer is not HTTP but %s", e.Channel, e.NotHTTP)
	}
	s := fmt.Sprintf("gateway: %s: HTTP %d %s", e.Channel, e.Status, e.Reason)
	for _, f := range []struct{ k, v string }{{"server", e.Server}, {"content type", e.ContentType}, {"location", e.Location}, {"title", e.Title}} {
		if f.v != "" {
			s += fmt.Sprintf(", %s %q", f.k, f.v)
		}
	}
	return s
}

// GatewayAuthError: the gateway did not let the probe in over HTTP: it
// refused the credentials (Attempted), or needs credentials the probe was
// not given (NoCredentials), or offers no scheme the probe may answer
// (Unsupported; BasicOnly when only Basic, which takes a flag).
type GatewayAuthError struct {
	Channel       string
	Status        int
	Schemes       []string // what its WWW-Authenticate offered
	Attempted     bool
	NoCredentials bool
	Unsupported   bool
	BasicOnly     bool
}

func (e *GatewayAuthError) Error() string {
	offers := strings.Join(e.Schemes, ", ")
	if offers == "" {
		offers = "nothing"
	}
	switch {
	case e.Attempted:
		return fmt.Sprintf("gateway: %s: HTTP %d after the credentials: the gateway refused the logon", e.Channel, e.Status)
	case e.NoCredentials:
		return fmt.Sprintf("gateway: %s: HTTP %d: the gateway needs credentials (it offers %s), and none were given", e.Channel, e.Status, offers)
	case e.BasicOnly:
		return fmt.Sprintf("gateway: %s: the gateway offers only Basic authentication, which sends the password itself; not allowed", e.Channel)
	}
	return fmt.Sprintf("gateway: %s: HTTP %d: the gateway offers %s, none of which the probe speaks", e.Channel, e.Status, offers)
}

// GatewayRefusedError: one of the gateway's responses carried an error
// code (MS-TSGU 2.2.6): the handshake, tunnel, tunnel authorization (the
// CAP) or channel (the RAP, the target) was refused.
type GatewayRefusedError struct {
	Packet tsgu.PacketType
	Code   tsgu.HResult
}

func (e *GatewayRefusedError) Error() string {
	return fmt.Sprintf("gateway: %v: %v", e.Packet, e.Code)
}

// GatewayTransportError: the gateway did not take the transport the
// options demand (it answered RDG_OUT_DATA with 200, not a WebSocket
// upgrade).
type GatewayTransportError struct{ Want GatewayTransport }

func (e *GatewayTransportError) Error() string {
	return fmt.Sprintf("gateway: it does not offer the %s transport (it answered the upgrade with 200, the HTTP transport)", e.Want)
}

// GatewayClosedError: the gateway ended the channel: a CLOSE_CHANNEL with
// Status (MS-TSGU 2.2.10.7), or a WebSocket Close. It unwraps to io.EOF
// (or the Close frame's error), so that it reads as the peer closing.
type GatewayClosedError struct {
	Status tsgu.HResult
	Err    error
}

func (e *GatewayClosedError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("gateway: it closed the channel with %v", e.Status)
	}
	return "gateway: it closed the channel: " + e.Err.Error()
}
func (e *GatewayClosedError) Unwrap() error { return e.Err }
