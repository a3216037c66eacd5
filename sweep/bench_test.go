package sweep

import (
	"io"
	"testing"
)

// BenchmarkExpandSlash16 streams the 65,536 targets of a /16.
func BenchmarkExpandSlash16(b *testing.B) {
	tg, err := ParseTargets([]string{"10.20.0.0/16"}, nil, nil, TargetOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for range tg.All() {
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "targets/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/target")
}

// BenchmarkShuffledSlash16 is the same in random order (Feistel + At).
func BenchmarkShuffledSlash16(b *testing.B) {
	tg, _ := ParseTargets([]string{"10.20.0.0/16"}, nil, nil, TargetOptions{})
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for range tg.Shuffled(1) {
			n++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/target")
}

// BenchmarkJSONLWrite writes one full report (TLS, NTLM, findings) a line.
func BenchmarkJSONLWrite(b *testing.B) {
	rep := sampleReports(nil)[0]
	w := NewJSONL(io.Discard)
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Write(rep, ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkCSVWrite is the CSV row of the same report.
func BenchmarkCSVWrite(b *testing.B) {
	rep := sampleReports(nil)[0]
	w := NewCSV(io.Discard, nil)
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Write(rep, ""); err != nil {
			b.Fatal(err)
		}
	}
}
