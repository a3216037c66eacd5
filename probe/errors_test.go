package probe_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

// A server that hangs up on the Connection Request with an MCS Disconnect
// Provider Ultimatum (xrdp does, for a protocol it does not know) is named
// by type in the probe as in --enumerate, and classed as a hang-up.
func TestUltimatumAtNegotiation(t *testing.T) {
	addr := serve(t, func(c net.Conn) {
		if _, err := negotiate.ReadTPKT(c, 1024); err != nil {
			return
		}
		c.Write(negotiate.ClientDisconnectProviderUltimatum())
		time.Sleep(100 * time.Millisecond)
	})
	r := probe.Run(context.Background(), addr, probe.Options{PhaseTimeout: 2 * time.Second})
	var u *probe.UltimatumError
	if !errors.As(r.Err, &u) || r.Failed != probe.PhaseNegotiate {
		t.Fatalf("failed %q with %v (%T), want an UltimatumError at negotiate", r.Failed, r.Err, r.Err)
	}
	if v := classify.Classify(r); v.Class.ID != classify.ServerClosed || !strings.Contains(v.Detail, "Disconnect Provider Ultimatum") {
		t.Errorf("class %s: %s", v.Class.ID, v.Detail)
	}
}

// A server whose only TLS suites are ones we refuse (RC4) answers our
// ClientHello with a handshake_failure alert: the error carries it by
// type, and the verdict names what it means without reading error text.
func TestTLSAlertTyped(t *testing.T) {
	srv, err := rdptest.NewServer(rdptest.Scenario{
		Negotiation: rdptest.Negotiation{Accept: negotiate.ProtocolSSL},
		TLS:         rdptest.TLSOptions{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_RSA_WITH_RC4_128_SHA}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	r := probe.Run(context.Background(), srv.Addr, probe.Options{PhaseTimeout: 2 * time.Second})
	var (
		hs    *probe.TLSHandshakeError
		alert *probe.TLSAlertError
	)
	if !errors.As(r.Err, &hs) || !errors.As(r.Err, &alert) || !alert.Remote || alert.Alert != probe.TLSAlertHandshakeFailure {
		t.Fatalf("err %v (%T): want a TLSHandshakeError with the server's handshake_failure alert", r.Err, r.Err)
	}
	v := classify.Classify(r)
	if v.Class.ID != classify.TLSFailed || !strings.HasSuffix(v.Detail, "(no TLS version or cipher suite in common)") {
		t.Errorf("class %s: %s", v.Class.ID, v.Detail)
	}
}
