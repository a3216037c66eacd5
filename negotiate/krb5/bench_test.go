package krb5

import (
	"context"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/internal/labtest"
)

// BenchmarkLabLogon: a password logon against the lab's MIT KDC up to the
// service ticket; reports KDC exchanges per logon (3 at most) and their
// round trips.
func BenchmarkLabLogon(b *testing.B) {
	k := labtest.Kerberos(b)
	var exchanges int
	var rtt time.Duration
	for b.Loop() {
		c := labClient(k, k.Users["good"])
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if _, err := c.ServiceTicket(ctx, k.SPN); err != nil {
			b.Fatal(err)
		}
		cancel()
		exchanges += len(c.Exchanges)
		for _, ex := range c.Exchanges {
			rtt += ex.RTT
		}
	}
	b.ReportMetric(float64(exchanges)/float64(b.N), "exchanges/logon")
	b.ReportMetric(float64(rtt.Microseconds())/float64(exchanges), "µs-rtt/exchange")
}

// BenchmarkWrap: pubKeyAuth (a 270-byte RSA SubjectPublicKey) sealed and opened.
func BenchmarkWrap(b *testing.B) {
	c, s := contexts(b)
	msg := make([]byte, 270)
	for b.Loop() {
		w, err := c.Wrap(msg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Unwrap(w); err != nil {
			b.Fatal(err)
		}
	}
}
