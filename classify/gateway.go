package classify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/negotiate/tsgu"
	"github.com/rdpprobe/rdpprobe/probe"
)

// Finding IDs of the gateway.
const (
	FindingGatewayCertExpired  = "gateway_cert_expired"
	FindingGatewayCertExpiring = "gateway_cert_expiring"
	FindingGatewayConsent      = "gateway_consent_message"
	FindingGatewayTLSWeak      = "gateway_tls_weak_version"
	FindingGatewayServiceMsg   = "gateway_service_message"
)

func isGatewayPhase(ph probe.Phase) bool { return strings.HasPrefix(string(ph), "gateway_") }

// gatewayName is the gateway as the user gave it.
func gatewayName(r *probe.Result) string {
	if g := r.Gateway; g != nil && g.Host != "" {
		return net.JoinHostPort(g.Host, strconv.Itoa(g.Port))
	}
	if g := r.Gateway; g != nil {
		return g.Address
	}
	return "the gateway"
}

func gatewayAccount(r *probe.Result) string {
	if g := r.Gateway; g != nil && g.User != "" {
		return g.User
	}
	return "the gateway account"
}

func targetName(r *probe.Result) string {
	if r.Host != "" {
		return net.JoinHostPort(r.Host, portOf(r))
	}
	return r.Target
}

// gatewayFailure classifies a run that failed at one of the gateway's
// phases, or whose channel the gateway closed with an error later; ok is
// false for everything else.
func gatewayFailure(r *probe.Result) (id ID, detail string, ok bool) {
	err, ph := r.Err, r.Failed
	var closed *probe.GatewayClosedError
	if !isGatewayPhase(ph) {
		if errors.As(err, &closed) && closed.Status.Failed() {
			return GatewayError, fmt.Sprintf("the RD Gateway %s closed the channel to %s during %s with %v",
				gatewayName(r), targetName(r), phaseWords(ph), closed.Status), true
		}
		return "", "", false
	}
	gw := gatewayName(r)
	var (
		dns       *net.DNSError
		cert      *probe.GatewayCertError
		notRDG    *probe.NotGatewayError
		auth      *probe.GatewayAuthError
		refused   *probe.GatewayRefusedError
		transport *probe.GatewayTransportError
	)
	switch {
	case ph == probe.PhaseGatewayConnect && errors.As(err, &dns):
		return GatewayUnreachable, fmt.Sprintf("the RD Gateway's name %q does not resolve: %v", r.Gateway.Host, dns), true
	case ph == probe.PhaseGatewayConnect && errors.Is(err, syscall.ECONNREFUSED):
		return GatewayUnreachable, fmt.Sprintf("%s refused the TCP connection: nothing listens for HTTPS there, or a firewall rejects it", gw), true
	case ph == probe.PhaseGatewayConnect && (errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH)):
		return GatewayUnreachable, fmt.Sprintf("no route to the RD Gateway %s: %v", gw, err), true
	case ph == probe.PhaseGatewayConnect && (isTimeout(err) || errors.Is(err, context.Canceled)):
		d := "no answer from the RD Gateway " + gw + " on TCP"
		if t, ok := duration(r, ph); ok {
			d += " within " + t.String()
		}
		return GatewayUnreachable, d, true
	case ph == probe.PhaseGatewayConnect:
		return GatewayUnreachable, fmt.Sprintf("cannot connect to the RD Gateway %s: %v", gw, err), true

	case errors.As(err, &cert):
		d := fmt.Sprintf("the RD Gateway %s presents a certificate mstsc would not trust: %s", gw, gatewayCertWords(r, cert))
		if g := r.Gateway; g.TLS != nil && g.TLS.Certificate != nil {
			c := g.TLS.Certificate
			d += fmt.Sprintf(" (subject %s, issuer %s", c.Subject, c.Issuer)
			if len(c.DNSNames) > 0 {
				d += ", names " + strings.Join(c.DNSNames, " ")
			}
			d += fmt.Sprintf(", valid until %s); nothing was sent to it", c.NotAfter.UTC().Format(time.DateOnly))
		}
		return GatewayCertNotTrusted, d, true
	case ph == probe.PhaseGatewayTLS:
		switch {
		case isTimeout(err):
			return GatewayTLSFailed, fmt.Sprintf("the RD Gateway %s accepted TCP but did not complete TLS in time: %v", gw, err), true
		case isClosed(err):
			return GatewayTLSFailed, fmt.Sprintf("the RD Gateway %s dropped the TLS handshake: %v", gw, err), true
		}
		return GatewayTLSFailed, fmt.Sprintf("TLS with the RD Gateway %s failed: %v%s", gw, err, tlsHint(err)), true

	case errors.As(err, &notRDG):
		return GatewayNotRDG, notGatewayWords(gw, notRDG), true
	case errors.As(err, &auth):
		return GatewayAuthFailed, gatewayAuthWords(r, gw, auth), true
	case errors.As(err, &transport):
		return GatewayError, fmt.Sprintf("the RD Gateway %s answered the WebSocket upgrade with the HTTP transport's 200: it does not "+
			"offer the %s transport (gateways before Windows Server 2019 do not); use the auto or http transport", gw, transport.Want), true
	case errors.As(err, &refused):
		return gatewayRefusal(r, gw, refused)
	case errors.As(err, &closed):
		if closed.Status.Failed() {
			return GatewayError, fmt.Sprintf("the RD Gateway %s closed the tunnel during %s with %v", gw, phaseWords(ph), closed.Status), true
		}
		return GatewayProtocolError, fmt.Sprintf("the RD Gateway %s closed the tunnel during %s without an error code (%v)", gw, phaseWords(ph), err), true
	case errors.Is(err, context.Canceled):
		return Timeout, fmt.Sprintf("the probe was cancelled during %s", phaseWords(ph)), true
	case isTimeout(err):
		d := fmt.Sprintf("no answer from the RD Gateway %s during %s", gw, phaseWords(ph))
		if t, ok := duration(r, ph); ok {
			d += " within " + t.String()
		}
		if ph == probe.PhaseGatewayChannel {
			d += " (the gateway may still be trying to reach the target: a target that drops packets looks like this)"
		}
		if ph == probe.PhaseGatewayAuth {
			d += " (the gateway checks the logon with its domain controller: a slow or unreachable one looks like this)"
		}
		return Timeout, d, true
	case isClosed(err):
		return GatewayProtocolError, fmt.Sprintf("the RD Gateway %s closed the connection during %s: %v", gw, phaseWords(ph), err), true
	case errors.Is(err, negotiate.ErrMalformed):
		return GatewayProtocolError, fmt.Sprintf("the RD Gateway %s broke the protocol during %s: %v", gw, phaseWords(ph), err), true
	}
	return GatewayProtocolError, fmt.Sprintf("%s failed: %v", phaseWords(ph), err), true
}

func notGatewayWords(gw string, e *probe.NotGatewayError) string {
	if e.NotHTTP != "" {
		return fmt.Sprintf("%s speaks TLS but does not answer %s with HTTP: it sent %s", gw, e.Channel, e.NotHTTP)
	}
	d := fmt.Sprintf("%s answered %s on /remoteDesktopGateway/ with HTTP %d %s", gw, e.Channel, e.Status, e.Reason)
	var what []string
	if e.Server != "" {
		what = append(what, "server "+strconv.Quote(e.Server))
	}
	if e.Title != "" {
		what = append(what, "a page titled "+strconv.Quote(e.Title))
	} else if e.ContentType != "" {
		what = append(what, "content "+strconv.Quote(e.ContentType))
	}
	if e.Location != "" {
		what = append(what, "redirecting to "+strconv.Quote(e.Location))
	}
	if len(what) > 0 {
		d += " (" + strings.Join(what, ", ") + ")"
	}
	switch {
	case e.Status == 404:
		d += ": a web server without the RD Gateway role at this path (IIS answers 404 there)"
	case e.Status >= 300 && e.Status < 400, e.Status == 200:
		d += ": a web site (a portal or login page), not an RD Gateway"
	case e.Status == 405 || e.Status == 501:
		d += ": the server, or a proxy in front of it, does not pass the RD Gateway's methods"
	}
	return d
}

func gatewayAuthWords(r *probe.Result, gw string, e *probe.GatewayAuthError) string {
	offers := strings.Join(e.Schemes, ", ")
	if offers == "" {
		offers = "no scheme"
	}
	switch {
	case e.Attempted:
		return fmt.Sprintf("the RD Gateway %s refused the logon of %s (HTTP 401 after the credentials): a wrong password or user, "+
			"or an account its domain does not know; no logon was tried at %s", gw, gatewayAccount(r), targetName(r))
	case e.NoCredentials:
		d := fmt.Sprintf("the RD Gateway %s needs credentials (it offers %s) and none were given", gw, offers)
		if g := r.Gateway; g.NTLM != nil && g.NTLM.NetBIOSComputer != "" {
			d += fmt.Sprintf("; its NTLM CHALLENGE names it %s in %s", g.NTLM.NetBIOSComputer, g.NTLM.NetBIOSDomain)
		}
		return d + " (give -u or --gateway-user)"
	case e.BasicOnly:
		return fmt.Sprintf("the RD Gateway %s offers only Basic authentication (%s), which sends the password itself; "+
			"the probe sends it only when allowed (--gateway-basic)", gw, offers)
	}
	return fmt.Sprintf("the RD Gateway %s offers %s, none of which the probe speaks (NTLM, Negotiate with NTLM, Basic)", gw, offers)
}

// gatewayRefusal classifies a response's error code (MS-TSGU 2.2.6) by the
// code, matched in either form (HRESULT or bare Win32 code).
func gatewayRefusal(r *probe.Result, gw string, e *probe.GatewayRefusedError) (ID, string, bool) {
	step := map[tsgu.PacketType]string{
		tsgu.TypeHandshakeResponse:  "the handshake",
		tsgu.TypeTunnelResponse:     "the tunnel request",
		tsgu.TypeTunnelAuthResponse: "the tunnel authorization",
		tsgu.TypeChannelResponse:    "the channel request for " + targetName(r),
	}[e.Packet]
	d := fmt.Sprintf("the RD Gateway %s answered %v to %s", gw, e.Code, step)
	c := e.Code
	switch {
	case c.Is(tsgu.EProxyNAPAccessDenied):
		return GatewayCAPDenied, d + fmt.Sprintf(": no connection authorization policy (CAP) lets %s (or this client computer) use the gateway", gatewayAccount(r)), true
	case c.Is(tsgu.EProxyRAPAccessDenied):
		return GatewayRAPDenied, d + fmt.Sprintf(": no resource authorization policy (RAP) lets %s reach %s by that name and port", gatewayAccount(r), targetName(r)), true
	case c.Is(tsgu.EProxyTSConnectFailed):
		return GatewayTargetUnreachable, d + fmt.Sprintf(": the gateway could not connect to %s (off, a name the gateway cannot resolve, RDP disabled, or a firewall between them)", targetName(r)), true
	case c.Is(tsgu.EProxyQuarantineAccessDenied):
		return GatewayQuarantine, d + ": the gateway demands a NAP statement of health this client does not give", true
	case c.Is(tsgu.EProxyMaxConnectionsReached):
		return GatewayMaxConnections, d + ": the gateway is at its connection limit", true
	case c.Is(tsgu.EProxyInternalError) && e.Packet == tsgu.TypeChannelResponse:
		return GatewayError, d + fmt.Sprintf(": this often means that %s refused the gateway's connection (nothing listens on the port) or dropped it", targetName(r)), true
	case c.Is(tsgu.EProxyCapabilityMismatch):
		return GatewayError, d + ": the gateway requires an extended authentication (smart card or a pluggable authentication cookie) the probe does not do", true
	}
	return GatewayError, d, true
}

// throughGateway completes a verdict's detail with the gateway's part: a
// run that stopped at the gateway says what the gateway did; one that
// went on says which gateway it went through.
func throughGateway(r *probe.Result, id ID, detail string) string {
	g := r.Gateway
	if g == nil || id == GatewayError && !isGatewayPhase(r.Failed) {
		return detail
	}
	via := "the RD Gateway " + gatewayName(r)
	var how []string
	if g.Transport != "" {
		how = append(how, string(g.Transport)+" transport")
	}
	if g.User != "" && g.Authenticated {
		how = append(how, "logged on as "+g.User)
	}
	if len(how) > 0 {
		via += " (" + strings.Join(how, ", ") + ")"
	}
	switch {
	case r.Err == nil && r.Reached == probe.PhaseGatewayChannel:
		return fmt.Sprintf("%s authorized the channel to %s and connected to it; the probe stopped there, before the target's phases",
			via, targetName(r))
	case r.Err == nil && isGatewayPhase(r.Reached):
		return fmt.Sprintf("reached %s of %s; the probe stopped there", phaseWords(r.Reached), via)
	case isGatewayPhase(r.Failed):
		return detail
	}
	return detail + "; through " + via
}

// gatewayFindings are the gateway's facts worth a line: its certificate's
// expiry, its TLS version, the consent message a user must accept.
func gatewayFindings(r *probe.Result) []Finding {
	g := r.Gateway
	if g == nil {
		return nil
	}
	var out []Finding
	if t := g.TLS; t != nil {
		if t.Version != 0 && t.Version < tls.VersionTLS12 {
			out = append(out, Finding{ID: FindingGatewayTLSWeak, Severity: SeverityWarning,
				Text: fmt.Sprintf("the RD Gateway negotiated %s; TLS 1.2 or later is expected", tls.VersionName(t.Version))})
		}
		if c := t.Certificate; c != nil && !r.Start.IsZero() && !c.NotAfter.IsZero() {
			switch left := c.NotAfter.Sub(r.Start); {
			case left < 0:
				out = append(out, Finding{ID: FindingGatewayCertExpired, Severity: SeverityWarning,
					Text: fmt.Sprintf("the RD Gateway's certificate expired on %s: mstsc refuses the gateway", c.NotAfter.UTC().Format(time.DateOnly))})
			case left < CertExpiringWithin:
				out = append(out, Finding{ID: FindingGatewayCertExpiring, Severity: SeverityWarning,
					Text: fmt.Sprintf("the RD Gateway's certificate expires on %s, in %d days: mstsc will then refuse the gateway",
						c.NotAfter.UTC().Format(time.DateOnly), days(left))})
			}
		}
	}
	if g.ConsentMessage != "" {
		out = append(out, Finding{ID: FindingGatewayConsent, Severity: SeverityInfo,
			Text: fmt.Sprintf("the RD Gateway shows users a consent message they must accept: %q", g.ConsentMessage)})
	}
	for _, m := range g.ServiceMessage {
		out = append(out, Finding{ID: FindingGatewayServiceMsg, Severity: SeverityInfo,
			Text: fmt.Sprintf("the RD Gateway sent a service message: %q", m)})
	}
	return out
}

// gatewayCertWords says why the gateway's certificate is not trusted, in
// the words the target's certificate classes use.
func gatewayCertWords(r *probe.Result, e *probe.GatewayCertError) string {
	switch {
	case e.Pinned != "":
		return fmt.Sprintf("its sha256 %s is not the pinned %s", e.Got, e.Pinned)
	case e.Why != "":
		return e.Why
	case r.Gateway != nil && r.Gateway.TLS != nil && r.Gateway.TLS.Certificate != nil && r.Gateway.TLS.Certificate.Trust != nil:
		return trustWords(r, r.Gateway.TLS.Certificate)
	}
	return "it failed the check " + string(e.Trust)
}
