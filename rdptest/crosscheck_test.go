package rdptest_test

// Cross-checks: a client and a server by the same author can share a
// misunderstanding, so rdptest is checked against clients written by
// others (FreeRDP's xfreerdp, impacket's rdp_check) and against Wireshark's
// dissectors (tshark). The tools come with the lab (lab/lab.sh); a missing
// tool skips these tests locally and fails them under CI=true.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/internal/labtest"
	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

func accountsMap() map[string]string {
	return map[string]string{rdptest.TestDomain + `\` + rdptest.TestUser: rdptest.TestPassword}
}

// xfreerdp runs `xfreerdp +auth-only` against srv and returns its output.
// It stops xfreerdp as soon as the server has seen the credentials: past
// them "auth-only" goes on to MCS and waits for an activation that a
// scenario server never sends, so its exit status proves nothing there.
func xfreerdp(t *testing.T, srv *rdptest.Server, password string) string {
	t.Helper()
	bin := labtest.Tool(t, "xfreerdp")
	host, port, _ := net.SplitHostPort(srv.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// The password on the command line is the throwaway test password of
	// a loopback test server: xfreerdp takes it no other way in a test.
	cmd := exec.CommandContext(ctx, bin, "/v:"+host, "/port:"+port, "/u:"+rdptest.TestUser, "/d:"+rdptest.TestDomain,
		"/p:"+password, "/cert:ignore", "+auth-only", "/sec:nla")
	display := os.Getenv("RDPLAB_DISPLAY")
	if display == "" {
		display = ":91"
	}
	if !strings.HasPrefix(display, ":") {
		display = ":" + display
	}
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
			if srv.Saw(rdptest.EventCredentials, "") {
				cancel()
				return
			}
		}
	}()
	cmd.Wait()
	cancel()
	<-done
	srv.WaitConns(1, 3*time.Second)
	return out.String()
}

func TestXFreeRDPErrorCodes(t *testing.T) {
	labtest.Tool(t, "xfreerdp")
	for _, tc := range []struct {
		status negotiate.NTStatus
		want   string
	}{
		{negotiate.StatusLogonFailure, "ERRCONNECT_LOGON_FAILURE"},
		{negotiate.StatusWrongPassword, "ERRCONNECT_WRONG_PASSWORD"},
		{negotiate.StatusAccountLockedOut, "ERRCONNECT_ACCOUNT_LOCKED_OUT"},
		{negotiate.StatusAccountDisabled, "ERRCONNECT_ACCOUNT_DISABLED"},
		{negotiate.StatusAccountExpired, "ERRCONNECT_ACCOUNT_EXPIRED"},
		{negotiate.StatusPasswordExpired, "ERRCONNECT_PASSWORD_EXPIRED"},
		{negotiate.StatusPasswordMustChange, "ERRCONNECT_PASSWORD_MUST_CHANGE"},
		{negotiate.StatusAccountRestriction, "ERRCONNECT_ACCOUNT_RESTRICTION"},
		// FreeRDP 2 has no ERRCONNECT_ names of its own for these two.
		{negotiate.StatusInvalidLogonHours, "ERRCONNECT_AUTHENTICATION_FAILED"},
		{negotiate.StatusInvalidWorkstation, "ERRCONNECT_AUTHENTICATION_FAILED"},
		{negotiate.StatusLogonTypeNotGranted, "ERRCONNECT_LOGON_TYPE_NOT_GRANTED"},
		{negotiate.StatusNoLogonServers, "ERRCONNECT_AUTHENTICATION_FAILED"},
	} {
		t.Run(tc.status.Name(), func(t *testing.T) {
			t.Parallel()
			// The right password: the errorCode is the server's answer
			// whatever the password, as for a locked-out account.
			srv, err := rdptest.NewServer(rdptest.Scenario{Accounts: accountsMap(), AfterAuthenticate: rdptest.Outcome{ErrorCode: tc.status}})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			out := xfreerdp(t, srv, rdptest.TestPassword)
			if !strings.Contains(out, tc.want) {
				t.Errorf("xfreerdp does not report %s for %v:\n%s", tc.want, tc.status, tail(out))
			}
			// It decoded the exact code from TSRequest.errorCode.
			if w := "received NTSTATUS: " + tc.status.Name(); !strings.Contains(out, w) {
				t.Errorf("xfreerdp does not say %q:\n%s", w, tail(out))
			}
			if !srv.Saw(rdptest.EventLogon, "ok") || srv.Saw(rdptest.EventCredentials, "") {
				t.Errorf("want a verified AUTHENTICATE and no credentials; server saw:\n%s", events(srv))
			}
		})
	}
	t.Run("wrong-password", func(t *testing.T) {
		t.Parallel()
		srv, err := rdptest.NewServer(rdptest.Scenario{Accounts: accountsMap()})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		out := xfreerdp(t, srv, rdptest.WrongPass)
		if !strings.Contains(out, "ERRCONNECT_LOGON_FAILURE") || !srv.Saw(rdptest.EventLogon, "failed") {
			t.Errorf("want ERRCONNECT_LOGON_FAILURE from a real NTLMv2 failure:\n%s\nserver saw:\n%s", tail(out), events(srv))
		}
	})
}

// With the right password xfreerdp accepts rdptest's pubKeyAuth at every
// CredSSP version and sends its TSCredentials, which rdptest decrypts.
func TestXFreeRDPGoodPassword(t *testing.T) {
	labtest.Tool(t, "xfreerdp")
	for v := 2; v <= 6; v++ {
		t.Run("credssp-v"+strconv.Itoa(v), func(t *testing.T) {
			t.Parallel()
			srv, err := rdptest.NewServer(rdptest.Scenario{Accounts: accountsMap(), CredSSPVersion: v})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			out := xfreerdp(t, srv, rdptest.TestPassword)
			if !srv.Saw(rdptest.EventCredentials, `received credentials for CORP\alice`) {
				t.Errorf("no TSCredentials arrived; server saw:\n%s\nxfreerdp:\n%s", events(srv), tail(out))
			}
			scheme := "SHA-256 binding hash"
			if v < 5 {
				scheme = "legacy public key echo"
			}
			if !srv.Saw(rdptest.EventPubKeyAuth, scheme) {
				t.Errorf("want xfreerdp's pubKeyAuth verified with the %s; server saw:\n%s", scheme, events(srv))
			}
		})
	}
	t.Run("tampered-pubkeyauth", func(t *testing.T) {
		t.Parallel()
		srv, err := rdptest.NewServer(rdptest.Scenario{Accounts: accountsMap(), TamperPubKeyAuth: true})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		out := xfreerdp(t, srv, rdptest.TestPassword)
		if !strings.Contains(out, "Could not verify public key echo") {
			t.Errorf("xfreerdp did not refuse the tampered pubKeyAuth:\n%s", tail(out))
		}
		if srv.Saw(rdptest.EventCredentials, "") {
			t.Errorf("xfreerdp sent credentials to a server that failed pubKeyAuth")
		}
	})
}

// impacket's rdp_check dials port 3389 only, so the server listens on
// 127.0.0.2:3389.
func TestImpacketRDPCheck(t *testing.T) {
	py := labtest.Tool(t, "impacket")
	script := "/usr/share/doc/python3-impacket/examples/rdp_check.py"
	if _, err := os.Stat(script); err != nil {
		labtest.Tool(t, script) // skip locally, fail under CI
	}
	for _, tc := range []struct {
		name, password string
		granted        bool
	}{
		{"good-password", rdptest.TestPassword, true},
		{"bad-password", rdptest.WrongPass, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := rdptest.NewServer(rdptest.Scenario{Addr: "127.0.0.2:3389", Accounts: accountsMap()})
			if err != nil {
				t.Fatalf("listen on 127.0.0.2:3389 for rdp_check: %v", err)
			}
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			target := fmt.Sprintf("%s/%s:%s@127.0.0.2", rdptest.TestDomain, rdptest.TestUser, tc.password)
			out, _ := exec.CommandContext(ctx, py, script, target).CombinedOutput()
			srv.WaitConns(1, 3*time.Second)
			granted := strings.Contains(string(out), "Access Granted")
			if granted != tc.granted {
				t.Errorf("rdp_check granted=%v, want %v:\n%s\nserver saw:\n%s", granted, tc.granted, out, events(srv))
			}
			if got := srv.Saw(rdptest.EventCredentials, `received credentials for CORP\alice`); got != tc.granted {
				t.Errorf("server received credentials: %v, want %v\n%s", got, tc.granted, events(srv))
			}
			if !tc.granted && !srv.Saw(rdptest.EventLogon, "failed") {
				t.Errorf("the bad password was not refused by NTLM:\n%s", events(srv))
			}
		})
	}
}

// tshark decodes each scenario's capture, TLS decrypted with the server's
// key log, with no malformed packets, and shows the CredSSP fields sent.
func TestTsharkDecodes(t *testing.T) {
	tshark := labtest.Tool(t, "tshark")
	for _, tc := range []struct {
		name  string
		sc    rdptest.Scenario
		creds bool
		want  []string
		depth probe.Phase
	}{
		{"locked-out", rdptest.Scenario{Accounts: accountsMap(), AfterAuthenticate: rdptest.Outcome{ErrorCode: negotiate.StatusAccountLockedOut}},
			true, []string{"version: 6", "errorCode: -1073741260"}, ""},
		{"credssp-v3", rdptest.Scenario{CredSSPVersion: 3}, false, []string{"version: 3", "NTLMSSP_CHALLENGE"}, ""},
		{"logon-ok", rdptest.Scenario{Accounts: accountsMap()}, true, []string{"RDP Negotiation Response (0x02)", "version: 6", "pubKeyAuth", "authInfo", "NTLMSSP_AUTH"}, ""},
		{"eua-denied", rdptest.Scenario{Accounts: accountsMap(), EarlyUserAuth: negotiate.EarlyUserAuthAccessDenied}, true,
			// Wireshark has no dissector for the Early User Authorization
			// Result; its decrypted bytes are ACCESS_DENIED, 0x00000005
			// little-endian (MS-RDPBCGR 2.2.10.2).
			[]string{"requestedProtocols: 0x0000000b", "selectedProtocol: CredSSP with Early User Authorization Result PDU (0x00000008)",
				"authInfo", "Data: 05000000"}, ""},
		{"nla-required", rdptest.Scenario{}, false, []string{"RDP Negotiation Failure (0x03)", "failureCode: Server requires Enhanced RDP Security with CredSSP (0x00000005)"}, ""},
		// The session phase: what the probe sends (MCS Connect Initial with
		// GCC and the client data blocks, Erect Domain, Attach User, Channel
		// Joins, Client Info, Disconnect Provider Ultimatum) and what it
		// reads, decoded by Wireshark's T.125/T.124/RDP dissectors.
		{"session-tls-no-license-server", rdptest.Scenario{Negotiation: rdptest.Negotiation{Accept: negotiate.ProtocolSSL},
			Session: &rdptest.Session{ErrorInfo: negotiate.ErrInfoLicenseNoLicenseServer}}, true, sessionDecodes, probe.PhaseSession},
		{"session-after-nla", rdptest.Scenario{Accounts: accountsMap(), Session: &rdptest.Session{}}, true, sessionDecodes, probe.PhaseSession},
		// The licence exchange up to the PLATFORM_CHALLENGE: the server's
		// LICENSE_REQUEST and our NEW_LICENSE_REQUEST (MS-RDPELE 2.2.2.2).
		{"session-license-challenge", rdptest.Scenario{Negotiation: rdptest.Negotiation{Accept: negotiate.ProtocolSSL},
			Session: &rdptest.Session{LicenseRequest: true, PlatformChallenge: true}}, true, licenseDecodes, probe.PhaseSession},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			keylog := filepath.Join(dir, "keylog")
			kf, err := os.Create(keylog)
			if err != nil {
				t.Fatal(err)
			}
			defer kf.Close()
			sc := tc.sc
			sc.TLS.KeyLogWriter = kf
			srv, err := rdptest.NewServer(sc)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			_, port, _ := net.SplitHostPort(srv.Addr)
			pcap := filepath.Join(dir, "capture.pcap")
			stopCapture := capture(t, tshark, port, pcap)

			opt := probe.Options{PhaseTimeout: 2 * time.Second, Timeout: 5 * time.Second, Depth: tc.depth}
			if tc.name == "nla-required" {
				opt.Protocols = negotiate.ProtocolSSL
			}
			if tc.creds {
				opt.Credentials = &probe.Credentials{User: rdptest.TestUser, Domain: rdptest.TestDomain, Password: rdptest.TestPassword}
			}
			probe.Run(context.Background(), srv.Addr, opt)
			srv.WaitConns(1, 2*time.Second)
			stopCapture()
			// RDPTEST_KEEP_PCAP=DIR keeps the capture and key log for a
			// look in Wireshark.
			if d := os.Getenv("RDPTEST_KEEP_PCAP"); d != "" {
				exec.Command("cp", pcap, keylog, d).Run()
			}

			// Two decodes: as TPKT for the X.224 exchange in the clear, and
			// as TLS (decrypted with the key log) for CredSSP inside it.
			// Wireshark 4.0's TPKT dissector does not hand a non-3389 port
			// over to TLS by itself.
			// A session adds a third: the decrypted TLS payload as TPKT,
			// for MCS, GCC and the RDP PDUs after CredSSP.
			decodes := [][]string{{"-d", "tcp.port==" + port + ",tpkt"}, {"-d", "tcp.port==" + port + ",tls"}}
			if tc.depth == probe.PhaseSession {
				decodes = append(decodes, []string{"-d", "tcp.port==" + port + ",tls", "-d", "tls.port==" + port + ",tpkt"})
			}
			var out []byte
			for _, as := range decodes {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				args := append([]string{"-r", pcap, "-o", "tls.keylog_file:" + keylog, "-V"}, as...)
				b, err := exec.CommandContext(ctx, tshark, args...).CombinedOutput()
				cancel()
				if err != nil {
					t.Fatalf("tshark -r (%v): %v\n%s", as, err, b)
				}
				out = append(out, b...)
			}
			text := string(out)
			if strings.Contains(text, "Malformed") {
				t.Errorf("tshark finds a malformed packet:\n%s", text)
			}
			if tc.depth == probe.PhaseSession && strings.Contains(text, "Expert Info (Error") {
				t.Errorf("tshark reports an expert error:\n%s", text)
			}
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("tshark's decode lacks %q:\n%s", w, tail(text))
				}
			}
		})
	}
}

// capture starts tshark on lo for tcp port, waits until it captures, and
// returns a function that stops it and waits for the file.
func capture(t *testing.T, tshark, port, pcap string) func() {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	cmd := exec.CommandContext(ctx, tshark, "-i", "lo", "-f", "tcp port "+port, "-w", pcap)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	ready := make(chan struct{})
	var msgs strings.Builder
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			mu.Lock()
			msgs.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if strings.Contains(sc.Text(), "Capturing on") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		cancel()
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("tshark did not start capturing:\n%s", msgs.String())
	}
	// "Capturing on" comes just before the capture filter is live: give
	// it a moment.
	time.Sleep(300 * time.Millisecond)
	return func() {
		time.Sleep(300 * time.Millisecond) // let the last packets reach the file
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		cancel()
	}
}

func tail(s string) string {
	const n = 4000
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// licenseDecodes is what tshark must find when the probe answers a
// LICENSE_REQUEST. Wireshark 4.0 decodes the licensing preamble only
// ("RDPELE not implemented"): our NEW_LICENSE_REQUEST shows as type 0x13,
// flags PREAMBLE_VERSION_3_0|EXTENDED_ERROR_MSG_SUPPORTED (131), and 335
// bytes: preamble, PreferredKeyExchangeAlg, PlatformId, ClientRandom, the
// premaster under rdptest's 2048-bit key (256+8 bytes) and the "alice" and
// "rdpprobe" blobs, each with its 4-byte blob header.
var licenseDecodes = append(slices.Clone(sessionDecodes),
	"bMsgType: License Request (0x01)",
	"bMsgType: New License Request (0x13)\n            bVersion: 131\n            wMsgSize: 335",
	"bMsgType: Platform Challenge (0x02)")

// sessionDecodes is what tshark must find in a session-phase capture.
var sessionDecodes = []string{"connect-initial", "clientCoreData", "clientSecurityData", "clientNetworkData",
	"erectDomainRequest", "attachUserRequest", "channelJoinRequest", "clientInfoPDU", "userName: alice",
	"disconnectProviderUltimatum"}

// TestXFreeRDPStandardSecurity: xfreerdp /sec:rdp connects to every
// standard-security scenario of the catalog, so rdptest's server side of
// MS-RDPBCGR 5.3 (and with it the probe, which the catalog test runs
// against the same servers) agrees with an implementation not ours:
// rdptest decrypts xfreerdp's client random and checks the signature of its
// Client Info, and xfreerdp decrypts rdptest's licensing and Demand Active,
// as its Confirm Active, whose signature rdptest checks too, shows. For the
// scenarios with wrong signatures xfreerdp says "invalid packet signature".
func TestXFreeRDPStandardSecurity(t *testing.T) {
	labtest.Tool(t, "xfreerdp")
	for _, e := range rdptest.Catalog() {
		if e.Scenario.StandardRDP == nil || e.Depth != probe.PhaseSession {
			continue
		}
		t.Run(e.Name, func(t *testing.T) {
			srv, err := rdptest.NewServer(e.Scenario)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			encrypted := e.Scenario.StandardRDP.Level != negotiate.EncryptionLevelNone
			confirm := "PDUTYPE_CONFIRMACTIVEPDU"
			if encrypted {
				confirm += ", encrypted, signature verified"
			}
			out := xfreerdpRDP(t, srv, func() bool {
				return srv.Saw(rdptest.EventClientPDU, "PDUTYPE_CONFIRMACTIVEPDU") || srv.Saw(rdptest.EventClosed, "")
			})
			wrongMAC := e.Scenario.StandardRDP.WrongMAC
			if ss := e.Scenario.Session; ss.LoggedOn || ss.LogonError != nil {
				// FreeRDP 2 takes a Save Session Info before the Demand
				// Active for a failure and stops (under TLS too), but only
				// after decrypting it and reading the account from it.
				if !strings.Contains(out, "LogonInfoV2") || !strings.Contains(out, "UserName: [alice]") {
					t.Errorf("xfreerdp did not read the encrypted Save Session Info:\n%s", tail(out))
				}
				return
			}
			if got := strings.Contains(out, "invalid packet signature"); got != wrongMAC {
				t.Errorf("xfreerdp reports an invalid packet signature: %v, want %v:\n%s", got, wrongMAC, tail(out))
			}
			if srv.Saw(rdptest.EventSecurityExchange, "client random decrypted") != encrypted {
				t.Errorf("Security Exchange decrypted: want %v\n%s", encrypted, events(srv))
			}
			if encrypted && !srv.Saw(rdptest.EventClientInfo, "encrypted, signature verified") {
				t.Errorf("xfreerdp's Client Info was not encrypted and signed as rdptest expects:\n%s", events(srv))
			}
			if ss := e.Scenario.Session; ss.LicenseRequest && !srv.Saw(rdptest.EventLicense, "premaster secret decrypted: 48 bytes") {
				t.Errorf("xfreerdp's NEW_LICENSE_REQUEST did not decrypt under the server's key:\n%s", events(srv))
			}
			ends := e.ServerHangsUp() || wrongMAC && e.Scenario.StandardRDP.Level == negotiate.EncryptionLevelFIPS // FreeRDP stops at a wrong FIPS HMAC
			if got := srv.Saw(rdptest.EventClientPDU, confirm); got == ends {
				t.Errorf("xfreerdp answered the Demand Active with a Confirm Active (%q): %v, want %v\n%s\nxfreerdp:\n%s",
					confirm, got, !ends, events(srv), tail(out))
			}
			if srv.Saw(rdptest.EventClientPDU, "signature does not verify") || srv.Saw(rdptest.EventError, "signature") {
				t.Errorf("a signature of xfreerdp's did not verify:\n%s", events(srv))
			}
		})
	}
}

// xfreerdpRDP runs `xfreerdp /sec:rdp +auth-only` against srv until done
// reports true (or 20 s pass) and returns its output. Past the Demand
// Active a scenario server plays nothing, so xfreerdp is stopped there.
func xfreerdpRDP(t *testing.T, srv *rdptest.Server, done func() bool) string {
	t.Helper()
	bin := labtest.Tool(t, "xfreerdp")
	host, port, _ := net.SplitHostPort(srv.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// The throwaway test password of a loopback test server, as above.
	cmd := exec.CommandContext(ctx, bin, "/v:"+host, "/port:"+port, "/u:"+rdptest.TestUser, "/d:"+rdptest.TestDomain,
		"/p:"+rdptest.TestPassword, "/cert:ignore", "+auth-only", "/sec:rdp", "/log-level:DEBUG")
	display := os.Getenv("RDPLAB_DISPLAY")
	if display == "" {
		display = ":91"
	}
	if !strings.HasPrefix(display, ":") {
		display = ":" + display
	}
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for ctx.Err() == nil && !done() {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond) // let xfreerdp log what it makes of the last PDU
		cancel()
	}()
	cmd.Wait()
	cancel()
	<-stopped
	srv.WaitConns(1, 3*time.Second)
	return out.String()
}
