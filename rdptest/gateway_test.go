package rdptest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

func gatewayEvents(g *rdptest.Gateway) string {
	var b strings.Builder
	for _, e := range g.Events() {
		b.WriteString(e.String() + "\n")
	}
	return b.String()
}

func TestGatewaySmoke(t *testing.T) {
	for _, tr := range []probe.GatewayTransport{probe.GatewayHTTP, probe.GatewayWebSocket, probe.GatewayAuto} {
		t.Run(string(tr), func(t *testing.T) {
			srv, err := rdptest.NewServer(rdptest.Scenario{Accounts: accountsMap(), Gateway: &rdptest.GatewayScenario{}})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			creds := &probe.Credentials{User: rdptest.TestUser, Domain: rdptest.TestDomain, Password: rdptest.TestPassword}
			opt := probe.Options{PhaseTimeout: 2 * time.Second, Timeout: 8 * time.Second, Credentials: creds,
				Gateway: &probe.GatewayOptions{Address: srv.Gateway.Addr, Credentials: creds, Cert: probe.CertPolicy{Roots: rdptest.TestRoots()}, Transport: tr}}
			r := probe.Run(context.Background(), srv.Addr, opt)
			v := classify.Classify(r)
			t.Logf("%s %s %v timings %v", v.Class.ID, v.Detail, r.Err, r.Timings)
			if r.Err != nil {
				t.Errorf("err %v\n%s\n%s", r.Err, gatewayEvents(srv.Gateway), events(srv))
			}
		})
	}
}
