package probe_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

// want is what one entry of the map must say: accepted, and either the
// protocol selected or the failure code; errKind names an error instead.
type want struct {
	accepted bool
	selected string // spec name, "" if none was selected
	failure  negotiate.FailureCode
	errKind  string // "", "timeout", "closed", "not-tpkt", "disconnect", "malformed"
}

const (
	rdp    = negotiate.ProtocolRDP
	ssl    = negotiate.ProtocolSSL
	hybrid = negotiate.ProtocolHybrid
	hex    = negotiate.ProtocolHybridEx
	rdstls = negotiate.ProtocolRDSTLS
	rdsaad = negotiate.ProtocolRDSAAD
)

func startServer(t *testing.T, sc rdptest.Scenario) *rdptest.Server {
	t.Helper()
	s, err := rdptest.NewServer(sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func checkLayer(t *testing.T, l *probe.LayerResult, w want) {
	t.Helper()
	if l == nil {
		t.Fatal("no entry")
	}
	sel, ok := l.Selected()
	got := ""
	if ok {
		got = sel.String()
	}
	if l.Accepted != w.accepted || got != w.selected {
		t.Errorf("%v: accepted %v selected %q, want accepted %v selected %q (err %v)", l.Protocol, l.Accepted, got, w.accepted, w.selected, l.Err)
	}
	var code negotiate.FailureCode
	if l.Failure != nil {
		code = l.Failure.Code
	}
	if code != w.failure {
		t.Errorf("%v: failure %v, want %v", l.Protocol, code, w.failure)
	}
	if k := errKind(l.Err); k != w.errKind {
		t.Errorf("%v: error kind %q (%v), want %q", l.Protocol, k, l.Err, w.errKind)
	}
}

func errKind(err error) string {
	var te *probe.PhaseTimeoutError
	var nt *negotiate.NotTPKTError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &te):
		return "timeout"
	case errors.As(err, &nt):
		return "not-tpkt"
	case errors.Is(err, negotiate.ErrDisconnectRequest), errors.As(err, new(*probe.UltimatumError)):
		return "disconnect"
	case errors.Is(err, negotiate.ErrMalformed):
		return "malformed"
	}
	return "closed"
}

func TestEnumerateScenarios(t *testing.T) {
	sel := func(p negotiate.Protocol) want { return want{selected: p.String()} }
	acc := func(p negotiate.Protocol) want { return want{accepted: true, selected: p.String()} }
	fail := func(c negotiate.FailureCode) want { return want{failure: c} }
	for _, tc := range []struct {
		name string
		sc   rdptest.Scenario
		want map[negotiate.Protocol]want
		enc  bool // an encryption map is expected
	}{
		{
			// Windows' default: NLA required, HYBRID_EX offered.
			name: "windows-nla-required",
			want: map[negotiate.Protocol]want{
				rdp: fail(negotiate.HybridRequiredByServer), ssl: fail(negotiate.HybridRequiredByServer),
				hybrid: acc(hybrid), hex: acc(hex),
				rdstls: fail(negotiate.HybridRequiredByServer), rdsaad: fail(negotiate.HybridRequiredByServer),
			},
		},
		{
			// NLA off, security layer "SSL": TLS only (2.2.1.2.2: "If only
			// CredSSP was requested then the server only supports TLS").
			name: "windows-tls-only",
			sc:   rdptest.Scenario{Negotiation: rdptest.Negotiation{Accept: ssl}},
			want: map[negotiate.Protocol]want{
				rdp: fail(negotiate.SSLRequiredByServer), ssl: acc(ssl),
				hybrid: fail(negotiate.SSLRequiredByServer), hex: fail(negotiate.SSLRequiredByServer),
				rdstls: fail(negotiate.SSLRequiredByServer), rdsaad: fail(negotiate.SSLRequiredByServer),
			},
		},
		{
			// NLA off, security layer "Negotiate", level Client Compatible.
			name: "windows-negotiate-no-nla",
			sc: rdptest.Scenario{Negotiation: rdptest.Negotiation{Accept: ssl | hybrid | hex},
				StandardRDP: &rdptest.StandardRDPSecurity{Level: negotiate.EncryptionLevelClientCompatible}},
			want: map[negotiate.Protocol]want{
				rdp: acc(rdp), ssl: acc(ssl), hybrid: acc(hybrid), hex: acc(hex),
				rdstls: fail(negotiate.HybridRequiredByServer), rdsaad: fail(negotiate.HybridRequiredByServer),
			},
			enc: true,
		},
		{
			// Security layer "RDP": standard RDP security only.
			name: "standard-rdp-only",
			sc:   rdptest.Scenario{StandardRDP: &rdptest.StandardRDPSecurity{Level: negotiate.EncryptionLevelHigh}},
			want: map[negotiate.Protocol]want{
				rdp: acc(rdp), ssl: fail(negotiate.SSLNotAllowedByServer), hybrid: fail(negotiate.SSLNotAllowedByServer),
				hex: fail(negotiate.SSLNotAllowedByServer), rdstls: fail(negotiate.SSLNotAllowedByServer),
				rdsaad: fail(negotiate.SSLNotAllowedByServer),
			},
			enc: true,
		},
		{
			// xrdp's answer to HYBRID alone: an RDP_NEG_RSP selecting
			// PROTOCOL_RDP. That is a refusal, not acceptance.
			name: "selects-rdp-for-everything",
			sc:   rdptest.Scenario{Negotiation: rdptest.Negotiation{SelectRDP: true}},
			want: map[negotiate.Protocol]want{
				rdp: acc(rdp), ssl: sel(rdp), hybrid: sel(rdp), hex: sel(rdp), rdstls: sel(rdp), rdsaad: sel(rdp),
			},
			// PROTOCOL_RDP is accepted, but this server answers no MCS.
			enc: true,
		},
		{
			// A pre-RDP 5.2 server: a Connection Confirm without
			// negotiation data means standard RDP security.
			name: "no-negotiation-response",
			sc:   rdptest.Scenario{Negotiation: rdptest.Negotiation{NoResponse: true}},
			want: map[negotiate.Protocol]want{
				rdp: acc(rdp), ssl: sel(rdp), hybrid: sel(rdp), hex: sel(rdp), rdstls: sel(rdp), rdsaad: sel(rdp),
			},
			enc: true,
		},
		{
			name: "refuses-everything",
			sc:   rdptest.Scenario{Negotiation: rdptest.Negotiation{Failure: negotiate.SSLRequiredByServer}},
			want: map[negotiate.Protocol]want{
				rdp: fail(negotiate.SSLRequiredByServer), ssl: fail(negotiate.SSLRequiredByServer),
				hybrid: fail(negotiate.SSLRequiredByServer), hex: fail(negotiate.SSLRequiredByServer),
				rdstls: fail(negotiate.SSLRequiredByServer), rdsaad: fail(negotiate.SSLRequiredByServer),
			},
		},
		{
			name: "x224-disconnect",
			sc:   rdptest.Scenario{Negotiation: rdptest.Negotiation{Disconnect: true}},
			want: allSame(want{errKind: "disconnect"}),
		},
		{
			name: "garbage-confirm",
			sc:   rdptest.Scenario{Negotiation: rdptest.Negotiation{Garbage: []byte{1, 2, 3, 4, 5, 6, 7, 8}}},
			want: allSame(want{errKind: "malformed"}),
		},
		{
			name: "stall",
			sc:   rdptest.Scenario{Fault: rdptest.Fault{At: probe.PhaseNegotiate, Kind: rdptest.FaultStall}},
			want: allSame(want{errKind: "timeout"}),
		},
		{
			name: "reset",
			sc:   rdptest.Scenario{Fault: rdptest.Fault{At: probe.PhaseNegotiate, Kind: rdptest.FaultReset}},
			want: allSame(want{errKind: "closed"}),
		},
		{
			name: "huge-tpkt",
			sc:   rdptest.Scenario{Fault: rdptest.Fault{At: probe.PhaseNegotiate, Kind: rdptest.FaultHugeTPKT}},
			want: allSame(want{errKind: "malformed"}),
		},
		{
			name: "trickle",
			sc:   rdptest.Scenario{Fault: rdptest.Fault{At: probe.PhaseNegotiate, Kind: rdptest.FaultTrickle, Every: time.Second}},
			want: allSame(want{errKind: "timeout"}),
		},
		{
			name: "http",
			sc:   rdptest.Scenario{Fault: rdptest.Fault{At: probe.PhaseNegotiate, Kind: rdptest.FaultHTTP}},
			want: allSame(want{errKind: "not-tpkt"}),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, tc.sc)
			start := time.Now()
			m := probe.Enumerate(context.Background(), s.Addr, probe.Options{PhaseTimeout: 300 * time.Millisecond, Timeout: 3 * time.Second})
			if m.Err != nil || len(m.Layers) != len(probe.EnumeratedProtocols) {
				t.Fatalf("map: err %v, %d layers", m.Err, len(m.Layers))
			}
			for p, w := range tc.want {
				checkLayer(t, m.Layer(p), w)
			}
			if (m.Encryption != nil) != tc.enc {
				t.Errorf("encryption map present %v, want %v", m.Encryption != nil, tc.enc)
			}
			// The map's own deadline holds, whatever the server does.
			if d := time.Since(start); d > 4*time.Second {
				t.Errorf("map took %v, past its 3s deadline", d)
			}
			// The server saw exactly the requests RequestFor documents.
			for _, p := range probe.EnumeratedProtocols {
				if r := probe.RequestFor(p); tc.sc.Fault.Kind == "" && !s.Saw(rdptest.EventRequest, r.String()) {
					t.Errorf("server never saw a request for %v", r)
				}
			}
		})
	}
}

func allSame(w want) map[negotiate.Protocol]want {
	m := map[negotiate.Protocol]want{}
	for _, p := range probe.EnumeratedProtocols {
		m[p] = w
	}
	return m
}

// TestEnumerateEncryption offers each method alone to standard RDP
// security servers at each level and checks what the map records.
func TestEnumerateEncryption(t *testing.T) {
	for _, tc := range []struct {
		level    negotiate.EncryptionLevel
		methods  negotiate.EncryptionMethod // allowed; 0 = the level's
		accepted []negotiate.EncryptionMethod
	}{
		{negotiate.EncryptionLevelLow, 0, []negotiate.EncryptionMethod{negotiate.EncryptionMethod40Bit, negotiate.EncryptionMethod56Bit, negotiate.EncryptionMethod128Bit}},
		{negotiate.EncryptionLevelClientCompatible, negotiate.EncryptionMethod128Bit | negotiate.EncryptionMethod56Bit, []negotiate.EncryptionMethod{negotiate.EncryptionMethod56Bit, negotiate.EncryptionMethod128Bit}},
		{negotiate.EncryptionLevelHigh, 0, []negotiate.EncryptionMethod{negotiate.EncryptionMethod128Bit}},
		{negotiate.EncryptionLevelFIPS, 0, []negotiate.EncryptionMethod{negotiate.EncryptionMethodFIPS}},
		{negotiate.EncryptionLevelNone, 0, nil},
	} {
		t.Run(tc.level.String(), func(t *testing.T) {
			s := startServer(t, rdptest.Scenario{StandardRDP: &rdptest.StandardRDPSecurity{Level: tc.level, Methods: tc.methods}})
			m := probe.Enumerate(context.Background(), s.Addr, probe.Options{PhaseTimeout: time.Second})
			e := m.Encryption
			if e == nil {
				t.Fatalf("no encryption map; layers %+v", m.Layers)
			}
			if !e.LevelKnown || e.Level != tc.level {
				t.Errorf("level %v (known %v), want %v", e.Level, e.LevelKnown, tc.level)
			}
			if e.ServerVersion != negotiate.RDPVersion5Plus {
				t.Errorf("server version %#x", e.ServerVersion)
			}
			if len(e.Methods) != len(probe.EnumeratedMethods) {
				t.Fatalf("%d methods", len(e.Methods))
			}
			for _, mr := range e.Methods {
				want := false
				for _, a := range tc.accepted {
					want = want || a == mr.Method
				}
				if mr.Accepted != want {
					t.Errorf("%v: accepted %v, want %v (selected %v, err %v)", mr.Method, mr.Accepted, want, mr.Selected, mr.Err)
				}
				switch {
				case tc.level == negotiate.EncryptionLevelNone:
					// Level None: every offer is answered, with method NONE.
					if !mr.HasServerData || mr.Selected != negotiate.EncryptionMethodNone || mr.Err != nil {
						t.Errorf("%v at level None: server data %v selected %v err %v", mr.Method, mr.HasServerData, mr.Selected, mr.Err)
					}
				case want:
					if !mr.HasServerData || mr.Selected != mr.Method || mr.Level != tc.level {
						t.Errorf("%v: server data %v selected %v level %v", mr.Method, mr.HasServerData, mr.Selected, mr.Level)
					}
				default:
					// No method in common: the server hangs up.
					if mr.HasServerData || mr.Err == nil {
						t.Errorf("%v refused, but server data %v err %v", mr.Method, mr.HasServerData, mr.Err)
					}
				}
			}
		})
	}
}

// TestEnumerateBounded: the map runs its connections concurrently, never
// more than EnumerateParallel at once, and each waits out its deadline.
func TestEnumerateBounded(t *testing.T) {
	s := startServer(t, rdptest.Scenario{Fault: rdptest.Fault{At: probe.PhaseNegotiate, Kind: rdptest.FaultStall}})
	var mu sync.Mutex
	open, peak := 0, 0
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		open++
		peak = max(peak, open)
		mu.Unlock()
		return &countedConn{Conn: c, done: func() { mu.Lock(); open--; mu.Unlock() }}, nil
	}
	const phase = 300 * time.Millisecond
	start := time.Now()
	m := probe.Enumerate(context.Background(), s.Addr, probe.Options{PhaseTimeout: phase, DialContext: dial})
	d := time.Since(start)
	if peak != probe.EnumerateParallel {
		t.Errorf("peak %d connections at once, want %d", peak, probe.EnumerateParallel)
	}
	// Six entries, four at a time: two rounds of the negotiate deadline
	// at least (the connections were really held that long).
	if d < 2*phase {
		t.Errorf("map of a stalling server took %v, less than two deadlines of %v", d, phase)
	}
	for _, l := range m.Layers {
		if errKind(l.Err) != "timeout" {
			t.Errorf("%v: %v, want a timeout", l.Protocol, l.Err)
		}
	}
}

type countedConn struct {
	net.Conn
	once sync.Once
	done func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.done)
	return c.Conn.Close()
}

// TestEnumerateCancel: cancelling the context ends the map at once.
func TestEnumerateCancel(t *testing.T) {
	s := startServer(t, rdptest.Scenario{Fault: rdptest.Fault{At: probe.PhaseNegotiate, Kind: rdptest.FaultStall}})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	probe.Enumerate(ctx, s.Addr, probe.Options{PhaseTimeout: 5 * time.Second})
	if d := time.Since(start); d > time.Second {
		t.Errorf("cancelled map took %v", d)
	}
}

func TestEnumerateBadTarget(t *testing.T) {
	m := probe.Enumerate(context.Background(), "[::1", probe.Options{})
	if m.Err == nil || len(m.Layers) != 0 {
		t.Errorf("bad target: err %v, %d layers", m.Err, len(m.Layers))
	}
}

// BenchmarkEnumerate is the cost of a whole map (six connections) against
// a Windows-like NLA server on loopback.
func BenchmarkEnumerate(b *testing.B) {
	s, err := rdptest.NewServer(rdptest.Scenario{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for b.Loop() {
		m := probe.Enumerate(context.Background(), s.Addr, probe.Options{})
		if !m.Layer(hybrid).Accepted {
			b.Fatal("HYBRID not accepted")
		}
	}
}
