package probe

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestBoundKeepsServerStringsShort(t *testing.T) {
	long := strings.Repeat("é", 3000) // 6000 bytes, two per rune
	var sans []string
	for i := range 1000 {
		sans = append(sans, fmt.Sprintf("h%d.example", i))
	}
	sans[0] = long
	r := &Result{
		TLS: &TLSInfo{Certificate: &CertInfo{Subject: long, Issuer: "CN=ok", DNSNames: sans, IPAddresses: []string{"192.0.2.1"},
			ExtKeyUsage: sans[1:41], Trust: &CertTrust{Chain: []ChainCert{{Subject: long, Issuer: "CN=ok"}}}}},
		NTLM:    &NTLMInfo{TargetName: long, DNSTree: long, NetBIOSComputer: "RDS01"},
		Session: &SessionInfo{License: &LicenseInfo{CompanyName: long, ProductID: "A02"}},
	}
	r.bound()
	c := r.TLS.Certificate
	for name, s := range map[string]string{"subject": c.Subject, "SAN": c.DNSNames[0], "target name": r.NTLM.TargetName,
		"tree": r.NTLM.DNSTree, "company": r.Session.License.CompanyName} {
		if len(s) > maxServerString+64 || !utf8.ValidString(s) || !strings.HasSuffix(s, "...[4976 more bytes not kept]") {
			t.Errorf("%s: %d bytes, valid %v, ends %q", name, len(s), utf8.ValidString(s), s[max(0, len(s)-40):])
		}
	}
	if len(c.DNSNames) != maxKeptNames || len(c.ExtKeyUsage) != maxKeptNames || c.NamesNotKept != 1000-maxKeptNames+40-maxKeptNames ||
		len(c.IPAddresses) != 1 || len(c.Trust.Chain[0].Subject) > maxServerString+64 {
		t.Errorf("kept %d DNS names and %d addresses, %d not kept", len(c.DNSNames), len(c.IPAddresses), c.NamesNotKept)
	}
	if sans[0] != long || c.Issuer != "CN=ok" || r.NTLM.NetBIOSComputer != "RDS01" || r.Session.License.ProductID != "A02" {
		t.Error("bound changed a short string or the certificate's own slice")
	}
}
