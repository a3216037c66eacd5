package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/rdpprobe/rdpprobe/internal/krb5conf"
	"github.com/rdpprobe/rdpprobe/negotiate/krb5"
)

// KerberosDefaultPort is the KDC's well-known port (RFC 4120 7.2.3).
const KerberosDefaultPort = 88

// KDCSource says where a realm or a KDC list came from, as the output
// names it.
type KDCSource string

const (
	SourceUPN         KDCSource = "user@REALM"
	SourceFlag        KDCSource = "the command line"
	SourceKrb5Conf    KDCSource = "krb5.conf"
	SourceDomainRealm KDCSource = "krb5.conf [domain_realm]"
	SourceDNS         KDCSource = "DNS SRV"
	SourceDomain      KDCSource = "the account's domain"
)

// Realm is the Kerberos realm to ask for a ticket in, and how it was
// chosen (the first of: the UPN's suffix, --realm, krb5.conf's
// default_realm, its [domain_realm] entry for the server, the account's
// DOMAIN\ prefix when it looks like a DNS domain).
type Realm struct {
	Name   string
	Source KDCSource
}

// ChooseRealm picks the realm for account (as -u gave it) and target host.
// ok is false when nothing names one.
func ChooseRealm(account, flagRealm string, conf *krb5conf.Config, host string) (Realm, bool) {
	if _, upn, ok := strings.Cut(account, "@"); ok && upn != "" && !strings.Contains(account, `\`) {
		return Realm{strings.ToUpper(upn), SourceUPN}, true
	}
	if flagRealm != "" {
		return Realm{strings.ToUpper(flagRealm), SourceFlag}, true
	}
	if conf != nil && conf.DefaultRealm != "" {
		return Realm{conf.DefaultRealm, SourceKrb5Conf}, true
	}
	if r := conf.RealmOf(host); r != "" {
		return Realm{r, SourceDomainRealm}, true
	}
	if dom, _, ok := strings.Cut(account, `\`); ok && strings.Contains(dom, ".") {
		return Realm{strings.ToUpper(dom), SourceDomain}, true
	}
	return Realm{}, false
}

// KDCList is where to find the realm's KDCs, and, when none was found,
// what each place said (for "no KDC for REALM (DNS SRV …: no answer,
// krb5.conf: no entry)").
type KDCList struct {
	KDCs   []krb5.KDC
	Source KDCSource
	Tried  []string // one line per source that gave nothing
}

// LookupSRV is net.Resolver.LookupSRV's shape, so tests can answer.
type LookupSRV func(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)

// LocateKDCs finds realm's KDCs: the --kdc list, else krb5.conf's [realms]
// entry, else (unless krb5.conf turned it off) DNS SRV records
// _kerberos._tcp.REALM (RFC 4120 7.2.3.2). TCP unless an entry says udp/.
func LocateKDCs(ctx context.Context, realm string, flagKDCs []string, conf *krb5conf.Config, lookup LookupSRV) (KDCList, error) {
	var l KDCList
	if len(flagKDCs) > 0 {
		for _, k := range flagKDCs {
			a, err := ParseKDC(k)
			if err != nil {
				return l, err
			}
			l.KDCs = append(l.KDCs, a)
		}
		l.Source = SourceFlag
		return l, nil
	}
	if conf != nil {
		if r, ok := conf.Realms[realm]; ok && len(r.KDCs) > 0 {
			for _, k := range r.KDCs {
				a, err := ParseKDC(k)
				if err != nil {
					return l, fmt.Errorf("krb5.conf: realm %s: %w", realm, err)
				}
				l.KDCs = append(l.KDCs, a)
			}
			l.Source = SourceKrb5Conf
			return l, nil
		}
		l.Tried = append(l.Tried, "krb5.conf: no entry")
	} else {
		l.Tried = append(l.Tried, "krb5.conf: none")
	}
	if conf != nil && !conf.DNSLookupKDC {
		l.Tried = append(l.Tried, "DNS SRV: turned off in krb5.conf (dns_lookup_kdc)")
		return l, nil
	}
	if lookup == nil {
		lookup = net.DefaultResolver.LookupSRV
	}
	name := "_kerberos._tcp." + realm
	_, srvs, err := lookup(ctx, "kerberos", "tcp", realm)
	switch {
	case err != nil:
		var dnsErr *net.DNSError
		why := err.Error()
		if errors.As(err, &dnsErr) && (dnsErr.IsNotFound || dnsErr.IsTimeout) {
			why = "no answer"
		}
		l.Tried = append(l.Tried, fmt.Sprintf("DNS SRV %s: %s", name, why))
		return l, nil
	case len(srvs) == 0:
		l.Tried = append(l.Tried, fmt.Sprintf("DNS SRV %s: no records", name))
		return l, nil
	}
	// RFC 2782: lowest priority first, then heaviest weight (no random
	// pick: a probe names which KDC it asked).
	sort.SliceStable(srvs, func(i, j int) bool {
		if srvs[i].Priority != srvs[j].Priority {
			return srvs[i].Priority < srvs[j].Priority
		}
		return srvs[i].Weight > srvs[j].Weight
	})
	for _, s := range srvs {
		if s.Target == "." {
			continue // "no service here" (RFC 2782)
		}
		host := strings.TrimSuffix(s.Target, ".")
		l.KDCs = append(l.KDCs, krb5.KDC{Network: "tcp", Addr: net.JoinHostPort(host, strconv.Itoa(int(s.Port)))})
	}
	if len(l.KDCs) == 0 {
		l.Tried = append(l.Tried, fmt.Sprintf("DNS SRV %s: the realm says it has no KDC", name))
		return l, nil
	}
	l.Source = SourceDNS
	return l, nil
}

// ParseKDC reads "host", "host:port", "[v6]:port", optionally prefixed
// "tcp/" or "udp/" (krb5.conf's form), with a numeric port.
func ParseKDC(s string) (krb5.KDC, error) {
	k, err := krb5.ParseKDC(s)
	if err != nil {
		return krb5.KDC{}, err
	}
	host, port, err := net.SplitHostPort(k.Addr)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 1 || n > 65535 {
		return krb5.KDC{}, fmt.Errorf("KDC %q: the port must be a number from 1 to 65535", s)
	}
	if _, _, err := SplitTarget(host, KerberosDefaultPort); err != nil {
		return krb5.KDC{}, fmt.Errorf("KDC %q: %w", s, err)
	}
	return k, nil
}
