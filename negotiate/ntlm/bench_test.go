package ntlm

import "testing"

func BenchmarkChallengeUnmarshal(b *testing.B) {
	raw := loadHex(b, "challenge-ws2019")
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		var m ChallengeMessage
		if err := m.Unmarshal(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClientAuthenticate(b *testing.B) {
	s := newTestServer()
	ch, err := s.Challenge((&Client{}).Negotiate())
	if err != nil {
		b.Fatal(err)
	}
	c := newTestClient(rtPassword)
	c.Negotiate()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.Authenticate(ch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logons/s")
}
