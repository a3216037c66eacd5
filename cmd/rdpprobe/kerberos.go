package main

import (
	"fmt"
	"os"

	flag "github.com/spf13/pflag"

	"github.com/rdpprobe/rdpprobe/internal/krb5conf"
	"github.com/rdpprobe/rdpprobe/probe"
)

// kerberosFlags are the mechanism flags the command and the sweep share.
type kerberosFlags struct {
	auth   string
	realm  string
	kdcs   []string
	spn    string
	ccache string
}

func addKerberosFlags(fs *flag.FlagSet, k *kerberosFlags) {
	fs.StringVar(&k.auth, "auth", string(probe.AuthNegotiate), "security package inside NLA: negotiate (as mstsc: Kerberos when a realm, "+
		"a KDC and a TERMSRV ticket can be had, else NTLM), kerberos (Kerberos or fail), ntlm (NTLM only)")
	fs.StringVar(&k.realm, "realm", "", "Kerberos realm (default: from user@REALM, krb5.conf's default_realm or [domain_realm])")
	fs.StringArrayVar(&k.kdcs, "kdc", nil, "Kerberos KDC as HOST[:PORT] or udp/HOST[:PORT], repeatable (default: krb5.conf, then DNS SRV)")
	fs.StringVar(&k.spn, "spn", "", "service principal to ask a ticket for (default: TERMSRV/<host as typed>, as mstsc)")
	fs.StringVar(&k.ccache, "ccache", "", "Kerberos ticket cache with a TGT, used instead of a password "+
		"(default: $KRB5CCNAME with --auth kerberos and no -u)")
}

// options turns the flags into the probe's; user is -u. It reads
// krb5.conf (KRB5_CONFIG, else /etc/krb5.conf) unless --auth ntlm. The
// errors name their flag.
func (k *kerberosFlags) options(user string) (probe.AuthMode, probe.KerberosOptions, error) {
	var ko probe.KerberosOptions
	mode, err := probe.ParseAuthMode(k.auth)
	if err != nil {
		return "", ko, fmt.Errorf("--auth: %w", err)
	}
	for _, kdc := range k.kdcs {
		if _, err := probe.ParseKDC(kdc); err != nil {
			return "", ko, fmt.Errorf("--kdc: %w", err)
		}
	}
	ko.Realm, ko.KDCs, ko.SPN, ko.CCache = k.realm, k.kdcs, k.spn, k.ccache
	if mode == probe.AuthNTLM {
		if k.realm != "" || len(k.kdcs) > 0 || k.spn != "" || k.ccache != "" {
			return "", ko, fmt.Errorf("--auth ntlm: --realm, --kdc, --spn and --ccache are for Kerberos")
		}
		return mode, ko, nil
	}
	if ko.CCache == "" && user == "" && mode == probe.AuthKerberos {
		ko.CCache = os.Getenv("KRB5CCNAME")
		if ko.CCache == "" {
			return "", ko, fmt.Errorf("--auth kerberos needs -u (and a password) or a ticket cache (--ccache or $KRB5CCNAME)")
		}
	}
	conf, path, err := krb5conf.Load()
	if err != nil {
		return "", ko, fmt.Errorf("krb5.conf %s: %w", path, err)
	}
	ko.Config = conf
	return mode, ko, nil
}
