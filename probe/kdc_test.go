package probe

import (
	"context"
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/rdpprobe/rdpprobe/internal/krb5conf"
)

func conf(t *testing.T, s string) *krb5conf.Config {
	t.Helper()
	c, err := krb5conf.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestChooseRealm(t *testing.T) {
	withDefault := conf(t, "[libdefaults]\ndefault_realm = CORP.EXAMPLE.COM\n")
	withDomain := conf(t, "[domain_realm]\n.lab.test = LAB.TEST\n")
	for _, tc := range []struct {
		account, flag string
		conf          *krb5conf.Config
		host          string
		want          Realm
		ok            bool
	}{
		{"alice@corp.example.com", "", nil, "rds01", Realm{"CORP.EXAMPLE.COM", SourceUPN}, true},
		{"alice@corp.example.com", "OTHER", withDefault, "rds01", Realm{"CORP.EXAMPLE.COM", SourceUPN}, true},
		{`CORP\alice`, "corp.example.com", withDefault, "rds01", Realm{"CORP.EXAMPLE.COM", SourceFlag}, true},
		{`CORP\alice`, "", withDefault, "rds01", Realm{"CORP.EXAMPLE.COM", SourceKrb5Conf}, true},
		{`CORP\alice`, "", withDomain, "rds01.lab.test", Realm{"LAB.TEST", SourceDomainRealm}, true},
		{`corp.example.com\alice`, "", nil, "rds01", Realm{"CORP.EXAMPLE.COM", SourceDomain}, true},
		{`CORP\alice`, "", nil, "rds01", Realm{}, false},
		{`alice`, "", nil, "10.0.0.5", Realm{}, false},
	} {
		got, ok := ChooseRealm(tc.account, tc.flag, tc.conf, tc.host)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ChooseRealm(%q, %q, …, %q) = %+v, %v; want %+v, %v", tc.account, tc.flag, tc.host, got, ok, tc.want, tc.ok)
		}
	}
}

func TestLocateKDCs(t *testing.T) {
	ctx := context.Background()
	noDNS := func(context.Context, string, string, string) (string, []*net.SRV, error) {
		return "", nil, &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}
	}
	srv := func(context.Context, string, string, string) (string, []*net.SRV, error) {
		return "", []*net.SRV{
			{Target: "dc02.corp.example.com.", Port: 88, Priority: 10, Weight: 50},
			{Target: "dc01.corp.example.com.", Port: 88, Priority: 0, Weight: 100},
			{Target: "dc03.corp.example.com.", Port: 1088, Priority: 10, Weight: 90},
		}, nil
	}
	dead := func(context.Context, string, string, string) (string, []*net.SRV, error) {
		return "", []*net.SRV{{Target: ".", Port: 0}}, nil
	}
	realmConf := conf(t, "[realms]\nLAB.TEST = {\nkdc = udp/127.0.0.1:33898\nkdc = 127.0.0.1\n}\n")
	offConf := conf(t, "[libdefaults]\ndns_lookup_kdc = false\n")
	for _, tc := range []struct {
		name   string
		flags  []string
		conf   *krb5conf.Config
		lookup LookupSRV
		kdcs   []string
		source KDCSource
		tried  []string
	}{
		{"flags", []string{"dc01.corp.example.com", "tcp/[::1]:88", "udp/10.0.0.1:750"}, realmConf, srv,
			[]string{"tcp/dc01.corp.example.com:88", "tcp/[::1]:88", "udp/10.0.0.1:750"}, SourceFlag, nil},
		{"krb5.conf", nil, realmConf, srv, []string{"udp/127.0.0.1:33898", "tcp/127.0.0.1:88"}, SourceKrb5Conf, nil},
		{"DNS, ordered", nil, nil, srv,
			[]string{"tcp/dc01.corp.example.com:88", "tcp/dc03.corp.example.com:1088", "tcp/dc02.corp.example.com:88"}, SourceDNS,
			[]string{"krb5.conf: none"}},
		{"nothing", nil, conf(t, ""), noDNS, nil, "",
			[]string{"krb5.conf: no entry", "DNS SRV _kerberos._tcp.LAB.TEST: no answer"}},
		{"DNS off", nil, offConf, srv, nil, "", []string{"krb5.conf: no entry", "DNS SRV: turned off in krb5.conf (dns_lookup_kdc)"}},
		{"SRV says none", nil, nil, dead, nil, "", []string{"krb5.conf: none", "DNS SRV _kerberos._tcp.LAB.TEST: the realm says it has no KDC"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := LocateKDCs(ctx, "LAB.TEST", tc.flags, tc.conf, tc.lookup)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, k := range l.KDCs {
				got = append(got, k.Network+"/"+k.Addr)
			}
			if !reflect.DeepEqual(got, tc.kdcs) || l.Source != tc.source || !reflect.DeepEqual(l.Tried, tc.tried) {
				t.Errorf("got %v from %q, tried %q; want %v from %q, tried %q", got, l.Source, l.Tried, tc.kdcs, tc.source, tc.tried)
			}
		})
	}
	for _, bad := range []string{"sctp/dc01", "dc01:0", "dc01:kerberos", "bad host"} {
		if _, err := LocateKDCs(ctx, "LAB.TEST", []string{bad}, nil, noDNS); err == nil {
			t.Errorf("--kdc %q accepted", bad)
		}
	}
}
