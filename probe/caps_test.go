package probe

import (
	"net"
	"testing"

	"github.com/rdpprobe/rdpprobe/negotiate"
)

// A server that streams harmless PDUs after the Client Info must not grow
// the Result: each kind keeps maxKeptPDUs, the rest are counted.
func TestSessionKeepsAtMostCap(t *testing.T) {
	const flood = 100000
	p := &prober{r: &Result{}}
	s := &SessionInfo{}
	for i := range flood {
		pdu := &negotiate.ServerPDU{Kind: negotiate.ServerPDUSetErrorInfo, ErrorInfo: negotiate.ErrInfoNone}
		if i%2 == 1 {
			pdu = &negotiate.ServerPDU{Kind: negotiate.ServerPDUSaveSessionInfo, SaveSessionInfo: &negotiate.SaveSessionInfo{
				InfoType:    negotiate.InfoTypeLogonExtendedInfo,
				LogonErrors: &negotiate.LogonErrorsInfo{Type: negotiate.LogonMsgSessionContinue},
			}}
		}
		if done, err := p.serverPDU(s, pdu); done || err != nil {
			t.Fatalf("PDU %d ended the phase: done %v err %v", i, done, err)
		}
	}
	if len(s.ErrorInfo) != maxKeptPDUs || len(s.LogonErrors) != maxKeptPDUs {
		t.Errorf("kept %d Set Error Info and %d logon notifications, want %d each", len(s.ErrorInfo), len(s.LogonErrors), maxKeptPDUs)
	}
	if want := flood - 2*maxKeptPDUs; s.NotKept != want {
		t.Errorf("NotKept = %d, want %d", s.NotKept, want)
	}
	// The PDU that ends the phase is kept whatever came before.
	done, err := p.serverPDU(s, &negotiate.ServerPDU{Kind: negotiate.ServerPDUSetErrorInfo, ErrorInfo: negotiate.ErrInfoLicenseNoLicenseServer})
	if !done || err == nil || s.ErrorInfo[len(s.ErrorInfo)-1] != negotiate.ErrInfoLicenseNoLicenseServer {
		t.Errorf("the final Set Error Info was not kept: done %v err %v last %v", done, err, s.ErrorInfo[len(s.ErrorInfo)-1])
	}
}

type countingRecorder struct{ messages, bytes, truncated int }

func (r *countingRecorder) Message(_ Side, _ Layer, b []byte, _ string, _ bool) {
	r.messages++
	r.bytes += len(b)
}

func (r *countingRecorder) Event(kind, _ string) {
	if kind == "truncated" {
		r.truncated++
	}
}

func TestRecordingCapped(t *testing.T) {
	for _, size := range []int{10, 60000} {
		rec := &countingRecorder{}
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		c := &conn{Conn: a, rec: rec}
		pdu := make([]byte, size)
		for range 10000 {
			c.record(Server, LayerX224, pdu, "flood", false)
		}
		c.finishRecording()
		if rec.messages > maxRecordedMessages || rec.bytes > maxRecordedBytes {
			t.Errorf("%d-byte PDUs: recorded %d messages, %d bytes; caps %d, %d", size, rec.messages, rec.bytes, maxRecordedMessages, maxRecordedBytes)
		}
		if rec.truncated != 1 {
			t.Errorf("%d-byte PDUs: %d truncated events, want 1", size, rec.truncated)
		}
	}
}
