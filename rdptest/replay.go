// Package rdptest runs RDP servers on loopback for tests, as
// net/http/httptest does for HTTP: a replay of a recorded fixture, or a
// scenario server that behaves like Windows.
package rdptest

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/rdpprobe/rdpprobe/fixture"
	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
)

// Replay serves one recorded conversation to each client that connects: it
// reads the client's messages (one framed unit each: a TPKT packet, a DER
// TSRequest) and writes the server's, does a TLS handshake where the fixture
// has one, and closes where the server closed.
type Replay struct {
	Addr string
	ln   net.Listener
	f    *fixture.Fixture
	cert tls.Certificate
	wg   sync.WaitGroup

	mu   sync.Mutex
	errs []error // what went differently from the fixture, per connection
}

// NewReplay starts a replay server of f on 127.0.0.1.
func NewReplay(f *fixture.Fixture) (*Replay, error) {
	cert, err := DefaultCertificate()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Replay{Addr: ln.Addr().String(), ln: ln, f: f, cert: cert}
	r.wg.Add(1)
	go r.serve()
	return r, nil
}

// Close stops the server and waits for its connections to end.
func (r *Replay) Close() error {
	err := r.ln.Close()
	r.wg.Wait()
	return err
}

// Errors returns what the clients did that the fixture did not expect.
func (r *Replay) Errors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

func (r *Replay) serve() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer c.Close()
			if err := r.play(c); err != nil {
				r.mu.Lock()
				r.errs = append(r.errs, err)
				r.mu.Unlock()
			}
		}()
	}
}

// play walks the steps. A replay never waits long: a client that stops
// talking ends the replay after a few seconds.
func (r *Replay) play(c net.Conn) error {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var conn net.Conn = c
	for i, st := range r.f.Steps {
		switch st.Kind {
		case fixture.KindClose, fixture.KindTruncated:
			return nil
		case fixture.KindTLS:
			tc := tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{r.cert}, MinVersion: tls.VersionTLS10})
			if err := tc.Handshake(); err != nil {
				return fmt.Errorf("step %d: tls: %w", i+1, err)
			}
			conn = tc
		case fixture.KindMessage:
			if st.From == probe.Server {
				if _, err := conn.Write(st.Data); err != nil {
					return fmt.Errorf("step %d: write: %w", i+1, err)
				}
				continue
			}
			if err := readUnit(conn, st); err != nil {
				return fmt.Errorf("step %d: read client %s: %w", i+1, st.Layer, err)
			}
		}
	}
	// Past the last step the server would go on; the replay just waits for
	// the client to hang up, so the client sees no false "close".
	io.Copy(io.Discard, conn)
	return nil
}

func readUnit(conn net.Conn, st fixture.Step) error {
	switch st.Layer {
	case probe.LayerX224:
		_, err := negotiate.ReadTPKT(conn, 64<<10)
		return err
	case probe.LayerCredSSP:
		_, err := negotiate.ReadTSRequest(conn, 64<<10)
		return err
	default:
		_, err := io.ReadFull(conn, make([]byte, len(st.Data)))
		return err
	}
}

// ProbeReplay plays f on a Replay and probes it with ReplayOptions(f). It
// returns what the probe saw and the options it ran with.
func ProbeReplay(ctx context.Context, f *fixture.Fixture) (*probe.Result, probe.Options, error) {
	opt, err := ReplayOptions(f)
	if err != nil {
		return nil, opt, err
	}
	rp, err := NewReplay(f)
	if err != nil {
		return nil, opt, err
	}
	defer rp.Close()
	return probe.Run(ctx, rp.Addr, opt), opt, nil
}

// ReplayCredentials are what a replay logs on with when the fixture was
// recorded with credentials: the recorded AUTHENTICATE is redacted, so any
// account does.
var ReplayCredentials = probe.Credentials{User: "replay", Domain: "REPLAY", Password: "x"}

// ReplayOptions are the probe options to replay f with: its "offer:" header
// (default probe.DefaultOffer), its "depth:" header (default none),
// ReplayCredentials when "credentials: yes", a trusted certificate required
// when "require-trusted-cert: yes", the pin of "cert-sha256:", and short
// deadlines (a replay answers at once or never). The replay's certificate
// is rdptest's self-signed one, whatever the recorded server sent.
func ReplayOptions(f *fixture.Fixture) (probe.Options, error) {
	opt := probe.Options{PhaseTimeout: time.Second, Timeout: 5 * time.Second}
	if offer := f.Header["offer"]; offer != "" {
		p, rdp, err := probe.ParseOffer(offer)
		if err != nil {
			return opt, fmt.Errorf("fixture offer: %w", err)
		}
		opt.Protocols, opt.AllowStandardRDP = p, rdp
	}
	if d := f.Header["depth"]; d != "" {
		p, err := probe.ParsePhase(d)
		if err != nil {
			return opt, fmt.Errorf("fixture depth: %w", err)
		}
		opt.Depth = p
	}
	switch f.Header["require-trusted-cert"] {
	case "yes":
		opt.RequireTrustedCert = true
	case "", "no":
	default:
		return opt, fmt.Errorf("fixture require-trusted-cert: %q, want yes or no", f.Header["require-trusted-cert"])
	}
	if pin := f.Header["cert-sha256"]; pin != "" {
		sha, err := probe.ParseFingerprint(pin)
		if err != nil {
			return opt, fmt.Errorf("fixture cert-sha256: %w", err)
		}
		opt.Cert.SHA256 = sha
	}
	switch f.Header["credentials"] {
	case "yes":
		c := ReplayCredentials
		opt.Credentials = &c
		// The replay server is ours and the password a dummy: let a
		// TLS-only recording replay its autologon Client Info as recorded.
		opt.AutologonWithoutNLA = true
	case "", "no":
	default:
		return opt, fmt.Errorf("fixture credentials: %q, want yes or no", f.Header["credentials"])
	}
	return opt, nil
}
