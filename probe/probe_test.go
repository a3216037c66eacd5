package probe_test

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
)

func TestSplitTarget(t *testing.T) {
	for _, tc := range []struct {
		in   string
		host string
		port int
		bad  bool
	}{
		{"10.0.0.5", "10.0.0.5", 3389, false},
		{"10.0.0.5:3390", "10.0.0.5", 3390, false},
		{"host.example.com", "host.example.com", 3389, false},
		{"host:33891", "host", 33891, false},
		{"[::1]:33891", "::1", 33891, false},
		{"[::1]", "::1", 3389, false},
		{"[::1", "", 0, true},
		{"::1]:3389", "", 0, true},
		{"::1", "::1", 3389, false},
		{"fe80::1", "fe80::1", 3389, false},
		{"host:0", "", 0, true},
		{"host:99999", "", 0, true},
		{"host:rdp", "", 0, true},
		{":3389", "", 0, true},
		{"", "", 0, true},
		{"fe80::1%eth0", "fe80::1%eth0", 3389, false},
		{"[fe80::1%eth0]:3390", "fe80::1%eth0", 3390, false},
		{"rds01_old.corp", "rds01_old.corp", 3389, false},
		{"müller-pc.example", "müller-pc.example", 3389, false},
		{"ho[st", "", 0, true},
		{"ho]st:3389", "", 0, true},
		{"[host]:3389", "", 0, true},
		{"host\x1b[2J", "", 0, true},
		{"host\r\nname", "", 0, true},
		{"host name", "", 0, true},
		{"user@host", "", 0, true},
		{"http://host", "", 0, true},
		{"10.0.0.5\x00", "", 0, true},
	} {
		host, port, err := probe.SplitTarget(tc.in, probe.DefaultPort)
		if (err != nil) != tc.bad || host != tc.host || port != tc.port {
			t.Errorf("SplitTarget(%q) = %q, %d, %v; want %q, %d, bad=%v", tc.in, host, port, err, tc.host, tc.port, tc.bad)
		}
	}
}

// serve accepts one connection on loopback and hands it to f.
func serve(t *testing.T, f func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		f(c)
	}()
	return ln.Addr().String()
}

func TestStallingServerTimesOutInPhase(t *testing.T) {
	addr := serve(t, func(c net.Conn) { time.Sleep(3 * time.Second) })
	start := time.Now()
	r := probe.Run(context.Background(), addr, probe.Options{PhaseTimeout: 300 * time.Millisecond})
	var te *probe.PhaseTimeoutError
	if r.Failed != probe.PhaseNegotiate || !errors.As(r.Err, &te) || te.Phase != probe.PhaseNegotiate {
		t.Fatalf("want a negotiate timeout, got failed %q err %v", r.Failed, r.Err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("probe outlived its phase deadline: %v", d)
	}
}

func TestNotRDPServers(t *testing.T) {
	for _, tc := range []struct {
		name, banner string
	}{
		{"ssh", "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"},
		{"http", "HTTP/1.1 400 Bad Request\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := serve(t, func(c net.Conn) { c.Write([]byte(tc.banner)); time.Sleep(time.Second) })
			r := probe.Run(context.Background(), addr, probe.Options{PhaseTimeout: 2 * time.Second})
			var nt *negotiate.NotTPKTError
			if r.Failed != probe.PhaseNegotiate || !errors.As(r.Err, &nt) {
				t.Fatalf("want NotTPKTError, got failed %q err %v", r.Failed, r.Err)
			}
		})
	}
}

// A server that selects HYBRID and then speaks no TLS at all.
func TestServerDropsTLS(t *testing.T) {
	addr := serve(t, func(c net.Conn) {
		negotiate.ReadTPKT(c, 1024)
		c.Write((&negotiate.ConnectionConfirm{Response: &negotiate.NegotiationResponse{SelectedProtocol: negotiate.ProtocolHybrid}}).Marshal())
		buf := make([]byte, 512)
		c.Read(buf) // the ClientHello, then hang up
	})
	r := probe.Run(context.Background(), addr, probe.Options{PhaseTimeout: 2 * time.Second})
	if r.Failed != probe.PhaseTLS || r.Reached != probe.PhaseNegotiate {
		t.Fatalf("want a TLS failure after negotiation, got reached %q failed %q err %v", r.Reached, r.Failed, r.Err)
	}
}

// nxdomainServer answers every DNS query on loopback with NXDOMAIN, so the
// resolve path is tested without any packet leaving the machine.
func nxdomainServer(t *testing.T) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			resp := append([]byte(nil), buf[:n]...)
			flags := binary.BigEndian.Uint16(resp[2:])
			flags |= 0x8000 | 0x0080 | 3 // QR, RA, RCODE=NXDOMAIN
			binary.BigEndian.PutUint16(resp[2:], flags)
			pc.WriteTo(resp, from)
		}
	}()
	addr := pc.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "udp", addr)
	}}
}

func TestUnresolvableName(t *testing.T) {
	r := probe.Run(context.Background(), "no-such-host.rdpprobe.test:3389", probe.Options{Resolver: nxdomainServer(t)})
	var dnsErr *net.DNSError
	if r.Failed != probe.PhaseConnect || !errors.As(r.Err, &dnsErr) || !dnsErr.IsNotFound {
		t.Fatalf("want a not-found DNS error at connect, got failed %q err %v", r.Failed, r.Err)
	}
}

func TestFormatOfferRoundTrip(t *testing.T) {
	for _, s := range []string{"rdp", "tls", "nla", "nla-ext", "tls,nla,nla-ext", "rdp,tls", "rdp,tls,nla,nla-ext"} {
		p, rdp, err := probe.ParseOffer(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if got := probe.FormatOffer(p, rdp); got != s {
			t.Errorf("FormatOffer(ParseOffer(%q)) = %q", s, got)
		}
	}
}
