package negotiate

import "testing"

func BenchmarkConnectionConfirmUnmarshal(b *testing.B) {
	pdu := loadHex(b, "cc-freerdp-nla-rsp-hybrid")[4:]
	b.ReportAllocs()
	for b.Loop() {
		var cc ConnectionConfirm
		if err := cc.Unmarshal(pdu); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTSRequestUnmarshal(b *testing.B) {
	raw := loadHex(b, "tsrequest-freerdp-ntlm-challenge")
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		var m TSRequest
		if err := m.Unmarshal(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTSRequestMarshal(b *testing.B) {
	var m TSRequest
	if err := m.Unmarshal(loadHex(b, "tsrequest-freerdp-ntlm-challenge")); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}
