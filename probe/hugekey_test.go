package probe_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

// TestTLSHugeRSAKey: a 16384-bit RSA server key fails the TLS phase
// because Go's TLS client refuses keys over 8192 bits; the verdict says so
// (and how to raise the limit) instead of a bare tls_failed.
func TestTLSHugeRSAKey(t *testing.T) {
	cert, err := rdptest.NewCertificate(rdptest.CertOptions{CommonName: "huge", HugeRSAKeyBits: 16384})
	if err != nil {
		t.Fatal(err)
	}
	if n := cert.Leaf.PublicKey.(interface{ Size() int }).Size() * 8; n != 16384 {
		t.Fatalf("the certificate's key has %d bits", n)
	}
	srv, err := rdptest.NewServer(rdptest.Scenario{TLS: rdptest.TLSOptions{Certificate: &cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	r := probe.Run(context.Background(), srv.Addr, probe.Options{Timeout: 5 * time.Second})
	var hs *probe.TLSHandshakeError
	var big *probe.TLSKeyTooLargeError
	if r.Failed != probe.PhaseTLS || !errors.As(r.Err, &hs) || !errors.As(r.Err, &big) || big.MaxBits != 8192 {
		t.Fatalf("failed %q with %v, want a *probe.TLSHandshakeError with a *probe.TLSKeyTooLargeError (8192) at tls", r.Failed, r.Err)
	}
	v := classify.Classify(r)
	for _, want := range []string{"larger than the 8192 bits Go's TLS client accepts", "GODEBUG=tlsmaxrsasize=16384"} {
		if v.Class.ID != classify.TLSFailed || !strings.Contains(v.Detail, want) {
			t.Errorf("class %s, detail %q: want tls_failed saying %q", v.Class.ID, v.Detail, want)
		}
	}
}
