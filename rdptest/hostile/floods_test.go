package hostile

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

// TestFloods: a server streams one harmless PDU after the Client Info, of
// each kind, a few, many, or for ever. The probe keeps at most 16 of a
// kind (and counts the rest), its recording at most 256 messages or 1 MiB,
// and it ends by its deadline with the flood still running.
func TestFloods(t *testing.T) {
	kinds := []rdptest.FloodKind{rdptest.FloodErrorInfoNone, rdptest.FloodLogonNotification, rdptest.FloodLogonWarning,
		rdptest.FloodLicenseValidClient, rdptest.FloodUpdate, rdptest.FloodMCS}
	counts := []int{20, 20000, 0} // 0: endless
	if testing.Short() {
		counts = []int{20, 2000}
	}
	for _, kind := range kinds {
		for _, count := range counts {
			for _, withCreds := range []bool{false, true} {
				name := fmt.Sprintf("%s/%d/creds=%v", kind, count, withCreds)
				if count == 0 {
					name = fmt.Sprintf("%s/endless/creds=%v", kind, withCreds)
				}
				t.Run(name, func(t *testing.T) {
					f := rdptest.Flood{Kind: kind, Count: count}
					if kind == rdptest.FloodUpdate {
						f.Size = 60 << 10 // the byte cap of a recording, not its count, must hold
					}
					// An endless flood runs to the phase's deadline: keep it short.
					opt := probe.Options{Depth: probe.PhaseSession, Timeout: 2 * time.Second, PhaseTimeout: time.Second}
					if withCreds {
						opt.Credentials = creds()
					}
					ru, srv := probeIt(t, tlsSession(rdptest.Session{Flood: f}), opt)
					s := ru.r.Session
					if s == nil || !s.ClientInfoSent {
						t.Fatalf("the session phase did not reach the flood: %+v, err %v", s, ru.r.Err)
					}
					if len(s.ErrorInfo) > 16 || len(s.LogonErrors) > 16 {
						t.Errorf("kept %d Set Error Info and %d logon PDUs, more than 16 of a kind", len(s.ErrorInfo), len(s.LogonErrors))
					}
					keeps := kind == rdptest.FloodErrorInfoNone || kind == rdptest.FloodLogonNotification || kind == rdptest.FloodLogonWarning
					if keeps && count > 16 && s.NotKept == 0 {
						t.Errorf("a flood of %d %s PDUs left NotKept at 0: the rest were neither kept nor counted", count, kind)
					}
					if count == 0 && ru.v.Class.ID != "timeout" {
						t.Errorf("an endless flood gave %s (%s), want timeout", ru.v.Class.ID, ru.v.Detail)
					}
					if count == 0 && !bytes.Contains(ru.fx, []byte("truncated")) && kind == rdptest.FloodUpdate {
						t.Errorf("an endless flood of 60 KiB PDUs was recorded without a truncation note")
					}
					noPasswordLeak(t, srv, false)
				})
			}
		}
	}
}

// TestFloodAfterNLA: the same after a CredSSP logon, where the server has
// authenticated itself and holds the credentials: still bounded.
func TestFloodAfterNLA(t *testing.T) {
	count := 0
	if testing.Short() {
		count = 5000
	}
	sc := rdptest.Scenario{Accounts: map[string]string{rdptest.TestDomain + `\` + rdptest.TestUser: rdptest.TestPassword},
		Session: &rdptest.Session{Flood: rdptest.Flood{Kind: rdptest.FloodErrorInfoNone, Count: count}}}
	ru, srv := probeIt(t, sc, probe.Options{Depth: probe.PhaseSession, Credentials: creds()})
	if !ru.r.CredSSP.CredentialsSent || ru.r.Session == nil || len(ru.r.Session.ErrorInfo) != 16 {
		t.Errorf("credentials sent %v, session %+v", ru.r.CredSSP.CredentialsSent, ru.r.Session)
	}
	if ru.r.Negotiation.Selected()&negotiate.ProtocolHybridEx == 0 {
		t.Errorf("selected %v", ru.r.Negotiation.Selected())
	}
	noPasswordLeak(t, srv, false)
}
