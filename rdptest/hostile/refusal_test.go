package hostile

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

// fakeLockouts are the codes a server can send in answer to the NTLM
// NEGOTIATE: account states it cannot know yet, real refusals, nonsense.
var fakeLockouts = []negotiate.NTStatus{
	negotiate.StatusAccountLockedOut, negotiate.StatusAccountDisabled, negotiate.StatusAccountExpired,
	negotiate.StatusPasswordExpired, negotiate.StatusPasswordMustChange, negotiate.StatusLogonFailure,
	negotiate.StatusNotSupported, negotiate.SecEUnsupportedFunction, 0xDEADBEEF, 0,
}

// TestErrorCodeBeforeAuthenticate: whatever errorCode answers the NTLM
// NEGOTIATE, the verdict is credssp_refused, no logon was attempted, no
// credential went out, and the class cannot count toward a lockout.
func TestErrorCodeBeforeAuthenticate(t *testing.T) {
	for _, code := range fakeLockouts {
		if code == 0 {
			continue // zero means "no errorCode" to rdptest
		}
		for _, withCreds := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/creds=%v", code, withCreds), func(t *testing.T) {
				opt := probe.Options{}
				if withCreds {
					opt.Credentials = creds()
				}
				ru, srv := probeIt(t, rdptest.Scenario{NegotiateErrorCode: code}, opt)
				if ru.v.Class.ID != "credssp_refused" || ru.v.Phase != probe.PhaseNTLMInfo {
					t.Errorf("class %s at %s (%s), want credssp_refused at ntlm_info", ru.v.Class.ID, ru.v.Phase, ru.v.Detail)
				}
				if ru.r.LogonAttempted || ru.r.CredentialsUsed() || ru.v.Class.LocksAccount || ru.v.Class.AccountLevel {
					t.Errorf("logon attempted %v, credentials used %v, locks account %v: a refusal before any credential counted as a logon",
						ru.r.LogonAttempted, ru.r.CredentialsUsed(), ru.v.Class.LocksAccount)
				}
				if hex := fmt.Sprintf("0x%08X", uint32(code)); !strings.Contains(ru.v.Detail, hex) {
					t.Errorf("the detail does not name the code %s: %q", hex, ru.v.Detail)
				}
				if srv.Saw(rdptest.EventAuthenticate, "") {
					t.Error("an AUTHENTICATE followed the refusal")
				}
				noPasswordLeak(t, srv, false)
			})
		}
	}
}
