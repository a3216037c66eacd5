package probe

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rdpprobe/rdpprobe/negotiate"
)

// ParseOffer turns the user's names ("tls,nla") into RDP_NEG_REQ
// requestedProtocols. "rdp" is not a bit (PROTOCOL_RDP is 0): it means
// standard RDP security is an acceptable answer (Options.AllowStandardRDP).
// Its errors name no flag: the caller adds --protocols or its YAML key.
func ParseOffer(s string) (p negotiate.Protocol, rdp bool, err error) {
	for _, name := range strings.Split(s, ",") {
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "rdp":
			rdp = true
		case "tls", "ssl":
			p |= negotiate.ProtocolSSL
		case "nla", "hybrid", "credssp":
			p |= negotiate.ProtocolHybrid
		case "nla-ext", "hybrid-ex", "hybrid_ex":
			p |= negotiate.ProtocolHybridEx
		case "":
		default:
			return 0, false, fmt.Errorf("unknown protocol %q (use rdp, tls, nla, nla-ext)", name)
		}
	}
	if p == 0 && !rdp {
		return 0, false, errors.New("offer at least one of rdp, tls, nla, nla-ext")
	}
	return p, rdp, nil
}

// FormatOffer names an offer the way ParseOffer reads it: the inverse of
// ParseOffer, for a recording's header.
func FormatOffer(p negotiate.Protocol, rdp bool) string {
	var names []string
	if rdp {
		names = append(names, "rdp")
	}
	for _, o := range []struct {
		bit  negotiate.Protocol
		name string
	}{{negotiate.ProtocolSSL, "tls"}, {negotiate.ProtocolHybrid, "nla"}, {negotiate.ProtocolHybridEx, "nla-ext"}} {
		if p&o.bit != 0 {
			names = append(names, o.name)
		}
	}
	return strings.Join(names, ",")
}
