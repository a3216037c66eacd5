package krb5

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeKDC listens on loopback and answers each TCP request with reply(req).
func fakeKDC(t *testing.T, reply func(req []byte) []byte) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req, err := readFramed(c, 1<<20)
				if err != nil {
					return
				}
				out := reply(req)
				if out == nil {
					time.Sleep(2 * time.Second) // never answers in time
					return
				}
				c.Write(out)
			}()
		}
	}()
	return l.Addr().String()
}

func framed(b []byte) []byte { return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...) }

func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// counting wraps a DialContext and counts the dials per address.
type counting struct{ n map[string]*atomic.Int32 }

func (c *counting) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c.n[addr].Add(1)
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func TestTransportFailover(t *testing.T) {
	revoked := krbError(t, KDCErrClientRevoked, nil)
	good := fakeKDC(t, func([]byte) []byte { return framed(revoked) })
	hung := fakeKDC(t, func([]byte) []byte { return nil })
	closed := closedAddr(t)
	cnt := &counting{n: map[string]*atomic.Int32{good: {}, hung: {}, closed: {}}}
	tr := Transport{KDCs: []KDC{{Addr: closed}, {Addr: hung}, {Addr: good}}, DialContext: cnt.dial, Timeout: 300 * time.Millisecond}

	// A request without a secret goes on to the next KDC.
	reply, ex, err := tr.roundTrip(context.Background(), StepASNoPreauth, []byte("req"), false)
	if err != nil || string(reply) != string(revoked) || ex.KDC != good || len(ex.Tried) != 2 {
		t.Fatalf("reply %x, %+v, %v", reply, ex, err)
	}
	// The password proof: the closed KDC never got it, the hung one may
	// have: stop there, the good one is not asked.
	cnt.n[good].Store(0)
	_, _, err = tr.roundTrip(context.Background(), StepASPreauth, []byte("req"), true)
	var ue *KDCUnreachableError
	if !errors.As(err, &ue) || !ue.Stopped || len(ue.Tried) != 2 || cnt.n[good].Load() != 0 {
		t.Fatalf("%v (dials to the good KDC: %d)", err, cnt.n[good].Load())
	}
	if !strings.Contains(err.Error(), "other KDCs not tried") || !strings.Contains(err.Error(), closed) {
		t.Errorf("message %q", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("the hung KDC's error is not a timeout: %v", err)
	}
}

func TestTransportRefusesLengths(t *testing.T) {
	for name, out := range map[string][]byte{
		"too long":      binary.BigEndian.AppendUint32(nil, DefaultMaxReply+1),
		"reserved bit":  binary.BigEndian.AppendUint32(nil, 0x80000010),
		"zero":          binary.BigEndian.AppendUint32(nil, 0),
		"short":         append(binary.BigEndian.AppendUint32(nil, 100), 1, 2, 3),
		"not a message": framed([]byte{0x30, 0x00}),
	} {
		t.Run(name, func(t *testing.T) {
			addr := fakeKDC(t, func([]byte) []byte { return out })
			c := &Client{Realm: testRealm, User: "alice", Transport: Transport{KDCs: []KDC{{Addr: addr}}, Timeout: time.Second}}
			_, err := c.ASWithoutPreauth(context.Background())
			if err == nil {
				t.Fatal("accepted")
			}
			t.Log(err)
		})
	}
}

// KRB_ERR_RESPONSE_TOO_BIG over UDP is an answer, not a hidden switch to TCP.
func TestUDPTooBigIsAnAnswer(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	tooBig := krbError(t, KRBErrResponseTooBig, nil)
	go func() {
		b := make([]byte, 4096)
		_, from, err := pc.ReadFrom(b)
		if err == nil {
			pc.WriteTo(tooBig, from)
		}
	}()
	c := &Client{Realm: testRealm, User: "alice", Transport: Transport{KDCs: []KDC{{Addr: pc.LocalAddr().String(), Network: "udp"}}}}
	_, err = c.ASWithoutPreauth(context.Background())
	var ke *KDCError
	if !errors.As(err, &ke) || ke.Code != KRBErrResponseTooBig || len(c.Exchanges) != 1 {
		t.Fatalf("%v", err)
	}
}

func TestParseKDC(t *testing.T) {
	for in, want := range map[string]KDC{
		"dc01":                {Addr: "dc01:88", Network: "tcp"},
		"dc01:750":            {Addr: "dc01:750", Network: "tcp"},
		"udp/10.0.0.1":        {Addr: "10.0.0.1:88", Network: "udp"},
		"tcp/[2001:db8::1]:8": {Addr: "[2001:db8::1]:8", Network: "tcp"},
		"2001:db8::1":         {Addr: "[2001:db8::1]:88", Network: "tcp"},
	} {
		if got, err := ParseKDC(in); err != nil || got != want {
			t.Errorf("%q: %+v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "tcp/", "a b"} {
		if _, err := ParseKDC(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
