package probe

import (
	"fmt"
	"unicode/utf8"
)

// What a Result keeps of the strings a server chose. A name is a claim:
// a certificate may carry 256 KiB of SANs (all a TLS client takes of a
// Certificate message), a CHALLENGE or a LICENSE_REQUEST tens of KiB of
// names, and every byte of it would go into the JSON, a sweep's line (which
// --resume reads back, 1 MiB at most) and the exporter's history. No real
// server needs more than this; what is cut is said.
const (
	// maxServerString bounds one server string (a NetBIOS or DNS name, a
	// certificate subject or issuer, a licence company or product) in
	// bytes: DNS names stop at 253, distinguished names rarely pass 200.
	maxServerString = 1024
	// maxKeptNames bounds the SANs kept of a certificate (DNS names and
	// IP addresses each) and the extended key usages of each certificate
	// of its chain; CertInfo.NamesNotKept counts the rest.
	maxKeptNames = 32
)

// bound cuts what r keeps of server strings to the caps above; it runs once,
// when the probe is over.
func (r *Result) bound() {
	if t := r.TLS; t != nil && t.Certificate != nil {
		c := t.Certificate
		c.Subject, c.CommonName, c.Issuer = capString(c.Subject), capString(c.CommonName), capString(c.Issuer)
		c.DNSNames = capNames(c, c.DNSNames)
		c.IPAddresses = capNames(c, c.IPAddresses)
		c.ExtKeyUsage = capNames(c, c.ExtKeyUsage)
		if tr := c.Trust; tr != nil {
			for i := range tr.Chain { // itself at most maxChainKept long
				cc := &tr.Chain[i]
				cc.Subject, cc.Issuer = capString(cc.Subject), capString(cc.Issuer)
				cc.ExtKeyUsage = capNames(c, cc.ExtKeyUsage)
			}
		}
	}
	if n := r.NTLM; n != nil {
		for _, s := range []*string{&n.TargetName, &n.NetBIOSDomain, &n.NetBIOSComputer, &n.DNSDomain, &n.DNSComputer, &n.DNSTree} {
			*s = capString(*s)
		}
	}
	if s := r.Session; s != nil && s.License != nil {
		s.License.CompanyName, s.License.ProductID = capString(s.License.CompanyName), capString(s.License.ProductID)
	}
}

// capNames returns the first maxKeptNames of names, each capped, in a slice
// of its own (names may be the parsed certificate's), and counts the others
// in c.NamesNotKept.
func capNames(c *CertInfo, names []string) []string {
	if names == nil {
		return nil
	}
	c.NamesNotKept += max(0, len(names)-maxKeptNames)
	out := make([]string, min(len(names), maxKeptNames))
	for i := range out {
		out[i] = capString(names[i])
	}
	return out
}

// capString cuts s to maxServerString bytes on a rune boundary and says how
// much was cut.
func capString(s string) string {
	if len(s) <= maxServerString {
		return s
	}
	cut := maxServerString
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s...[%d more bytes not kept]", s[:cut], len(s)-cut)
}
