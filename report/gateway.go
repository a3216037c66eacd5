package report

import (
	"fmt"
	"strings"

	"github.com/rdpprobe/rdpprobe/probe"
)

// GatewayJSON is what the RD Gateway said (a probe with --gateway): facts
// of its TLS, its HTTP authentication and its tunnel.
type GatewayJSON struct {
	Address        string    `json:"address"`
	Host           string    `json:"host,omitempty"`
	Port           int       `json:"port,omitempty"`
	Addr           string    `json:"addr,omitempty"`
	User           string    `json:"user,omitempty"`
	Transport      string    `json:"transport,omitempty"` // http, websocket
	TLS            *TLSJSON  `json:"tls,omitempty"`
	CertError      string    `json:"cert_error,omitempty"` // why mstsc would not trust the certificate
	HTTPStatus     int       `json:"http_status,omitempty"`
	Server         string    `json:"server,omitempty"`
	AuthSchemes    []string  `json:"auth_schemes,omitempty"`
	NTLM           *NTLMJSON `json:"ntlm,omitempty"`
	LogonAttempted bool      `json:"logon_attempted"`
	Authenticated  bool      `json:"authenticated"`
	Capabilities   string    `json:"capabilities,omitempty"`
	TunnelID       uint32    `json:"tunnel_id,omitempty"`
	ConsentMessage string    `json:"consent_message,omitempty"`
	ServiceMessage []string  `json:"service_messages,omitempty"`
	IdleTimeoutMin uint32    `json:"idle_timeout_minutes,omitempty"`
	ChannelID      uint32    `json:"channel_id,omitempty"`
	// ErrorCode is the code that ended the gateway's part, in the
	// response named by ErrorPacket.
	ErrorCode   *NTStatusJ `json:"error_code,omitempty"`
	ErrorPacket string     `json:"error_packet,omitempty"`
	CloseStatus *NTStatusJ `json:"close_status,omitempty"`
}

func gatewayJSON(g *probe.GatewayInfo) *GatewayJSON {
	gj := &GatewayJSON{Address: g.Address, Host: g.Host, Port: g.Port, Addr: g.Addr, User: g.User, Transport: string(g.Transport),
		CertError: g.CertError, HTTPStatus: g.HTTPStatus, Server: g.Server, AuthSchemes: g.AuthSchemes,
		LogonAttempted: g.LogonAttempted, Authenticated: g.Authenticated, TunnelID: g.TunnelID, ConsentMessage: g.ConsentMessage,
		ServiceMessage: g.ServiceMessage, IdleTimeoutMin: g.IdleTimeout, ChannelID: g.ChannelID}
	if g.Capabilities != 0 {
		gj.Capabilities = g.Capabilities.String()
	}
	if t := g.TLS; t != nil {
		gj.TLS = tlsJSON(t)
	}
	if n := g.NTLM; n != nil {
		gj.NTLM = &NTLMJSON{TargetName: n.TargetName, NetBIOSDomain: n.NetBIOSDomain, NetBIOSComputer: n.NetBIOSComputer,
			DNSDomain: n.DNSDomain, DNSComputer: n.DNSComputer, DNSTree: n.DNSTree, OSVersion: n.OSVersion}
	}
	if c := g.ErrorCode; c != nil {
		gj.ErrorCode = &NTStatusJ{Value: fmt.Sprintf("0x%08X", uint32(*c)), Name: c.Name()}
		gj.ErrorPacket = g.ErrorPacket.String()
	}
	if c := g.CloseStatus; c != nil {
		gj.CloseStatus = &NTStatusJ{Value: fmt.Sprintf("0x%08X", uint32(*c)), Name: c.Name()}
	}
	return gj
}

// writeGatewayText writes the gateway's lines of the text form; kv escapes.
func writeGatewayText(g *GatewayJSON, kv func(k, format string, a ...any)) {
	s := g.Address
	if g.Addr != "" && g.Addr != g.Address {
		s += " (" + g.Addr + ")"
	}
	if g.Transport != "" {
		s += ", " + g.Transport + " transport"
	}
	kv("Gateway", "%s", s)
	if t := g.TLS; t != nil {
		line := t.Version + ", " + t.CipherSuite
		if c := t.Certificate; c != nil {
			line += fmt.Sprintf("; certificate %s, issuer %s, valid to %s", c.Subject, c.Issuer, c.NotAfter.Format("2006-01-02"))
		}
		kv("", "%s", line)
		if c := t.Certificate; c != nil {
			writeTrust(kv, c)
		}
	}
	if g.CertError != "" {
		kv("", "certificate not trusted: %s", g.CertError)
	}
	if g.User != "" {
		tried := "no logon attempted"
		switch {
		case g.Authenticated:
			tried = "logged on"
		case g.LogonAttempted:
			tried = "one logon attempted, refused"
		}
		kv("", "account %s (%s)", g.User, tried)
	}
	if len(g.AuthSchemes) > 0 {
		kv("", "HTTP %d, authentication offered: %s", g.HTTPStatus, strings.Join(g.AuthSchemes, ", "))
	}
	if n := g.NTLM; n != nil && n.NetBIOSComputer != "" {
		kv("", "NTLM: %s in %s (%s), OS %s", n.NetBIOSComputer, n.NetBIOSDomain, n.DNSDomain, n.OSVersion)
	}
	if g.ConsentMessage != "" {
		kv("", "consent message: %s", g.ConsentMessage)
	}
	for _, m := range g.ServiceMessage {
		kv("", "service message: %s", m)
	}
	if e := g.ErrorCode; e != nil {
		name := e.Name
		if name == "" {
			name = e.Value
		}
		kv("", "%s: %s (%s)", g.ErrorPacket, name, e.Value)
	}
}

// briefGateway is the gateway's one line of the brief form: where, over
// which transport, and how far the logon to it got.
func briefGateway(g *GatewayJSON) string {
	s := g.Address
	if g.Transport != "" {
		s += " (" + g.Transport + ")"
	}
	switch {
	case g.Authenticated:
		s += ", logged on"
	case g.LogonAttempted:
		s += ", one logon attempted, refused"
	case g.User != "":
		s += ", no logon attempted"
	}
	if g.CertError != "" {
		s += ", certificate not trusted"
	}
	if e := g.ErrorCode; e != nil {
		name := e.Name
		if name == "" {
			name = e.Value
		}
		s += ", " + g.ErrorPacket + ": " + name
	}
	return s
}
