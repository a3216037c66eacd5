package ntlm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/rdpprobe/rdpprobe/internal/utf16le"
)

const (
	rtUser     = "alice"
	rtDomain   = "CORP"
	rtPassword = "Tr0ub4dor&3-ü€"
)

func newTestServer() *Server {
	return &Server{
		TargetName: "CORP",
		TargetInfo: TargetInfo{NbDomainName: "CORP", NbComputerName: "RDS01", DNSDomainName: "corp.example.com",
			DNSComputerName: "rds01.corp.example.com", DNSTreeName: "corp.example.com"},
		Version: &Version{Major: 10, Minor: 0, Build: 17763, Revision: 15},
		Lookup: func(user, domain string) ([]byte, bool) {
			if strings.EqualFold(user, rtUser) && strings.EqualFold(domain, rtDomain) {
				return NTHash(rtPassword), true
			}
			return nil, false
		},
		Rand: fixedRand{0x5e, 0x4f, 0x01},
		Now:  fixedNow,
	}
}

func newTestClient(password string) *Client {
	return &Client{User: rtUser, Domain: rtDomain, Password: password, Workstation: "PROBE",
		SPN: "TERMSRV/rds01.corp.example.com", Rand: fixedRand{0xc1, 0x1e, 0x07}, Now: fixedNow}
}

// exchange runs NEGOTIATE → CHALLENGE → AUTHENTICATE, letting tamper change
// the AUTHENTICATE on the way.
func exchange(t *testing.T, c *Client, tamper func([]byte)) (*Session, *Session, []byte, error) {
	t.Helper()
	s := newTestServer()
	ch, err := s.Challenge(c.Negotiate())
	if err != nil {
		t.Fatal(err)
	}
	auth, cs, err := c.Authenticate(ch)
	if err != nil {
		t.Fatal(err)
	}
	if tamper != nil {
		tamper(auth)
	}
	ss, _, err := s.Authenticate(auth)
	return cs, ss, auth, err
}

func TestRoundTrip(t *testing.T) {
	cs, ss, auth, err := exchange(t, newTestClient(rtPassword), nil)
	if err != nil {
		t.Fatal(err)
	}
	var am AuthenticateMessage
	if err := am.Unmarshal(auth); err != nil {
		t.Fatal(err)
	}
	if am.MIC == nil || bytes.Equal(am.MIC, make([]byte, 16)) {
		t.Errorf("MIC = %x, want one (server sent a timestamp)", am.MIC)
	}
	if !bytes.Equal(am.LmChallengeResponse, make([]byte, 24)) {
		t.Errorf("LmChallengeResponse = %x, want Z(24) with a server timestamp", am.LmChallengeResponse)
	}
	// The AV pairs we answer with (MS-NLMP 3.1.5.1.2).
	pairs, err := ParseAVPairs(am.NtChallengeResponse[16+blobHeaderLen:])
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := pairs.Get(MsvAvFlags); len(v) != 4 || binary.LittleEndian.Uint32(v) != AvFlagMICPresent {
		t.Errorf("MsvAvFlags = %x", v)
	}
	if v, ok := pairs.Get(MsvAvChannelBindings); !ok || !bytes.Equal(v, make([]byte, 16)) {
		t.Errorf("MsvAvChannelBindings = %x, %v", v, ok)
	}
	if v, _ := pairs.Get(MsvAvTargetName); utf16le.Decode(v) != "TERMSRV/rds01.corp.example.com" {
		t.Errorf("MsvAvTargetName = %q", utf16le.Decode(v))
	}
	ts, _ := pairs.Get(MsvAvTimestamp)
	if !bytes.Equal(am.NtChallengeResponse[16+8:16+16], ts) || binary.LittleEndian.Uint64(ts) != TimeToFileTime(testNow) {
		t.Errorf("blob time %x, server timestamp %x", am.NtChallengeResponse[24:32], ts)
	}
	if v, _ := pairs.Get(MsvAvDNSComputerName); utf16le.Decode(v) != "rds01.corp.example.com" {
		t.Error("server AV pairs not carried over")
	}

	// Several messages each way: RC4 state and sequence numbers advance.
	for i := range 4 {
		for _, dir := range []struct {
			name     string
			from, to *Session
		}{{"client→server", cs, ss}, {"server→client", ss, cs}} {
			msg := []byte(fmt.Sprintf("%s message %d: pubKeyAuth/authInfo payload", dir.name, i))
			sealed := dir.from.Seal(msg)
			if bytes.Contains(sealed, msg[:8]) {
				t.Fatalf("%s: sealed message contains plaintext", dir.name)
			}
			if seq := binary.LittleEndian.Uint32(sealed[12:]); seq != uint32(i) {
				t.Fatalf("%s: SeqNum %d, want %d", dir.name, seq, i)
			}
			got, err := dir.to.Unseal(sealed)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("%s #%d: Unseal = %q, %v", dir.name, i, got, err)
			}
		}
	}
}

func TestRoundTripFailures(t *testing.T) {
	micAt := func(auth []byte) { auth[micOffset+3] ^= 1 }
	proofAt := func(auth []byte) {
		off := binary.LittleEndian.Uint32(auth[24:])
		auth[off+5] ^= 0x80
	}
	blobAt := func(auth []byte) { // the client challenge inside temp
		off := binary.LittleEndian.Uint32(auth[24:])
		auth[off+16+16] ^= 1
	}
	workstationAt := func(auth []byte) { // covered only by the MIC
		off := binary.LittleEndian.Uint32(auth[48:])
		auth[off] ^= 1
	}
	flagsAt := func(auth []byte) { auth[60] ^= 0x10 } // drop SIGN: only the MIC notices
	for _, tc := range []struct {
		name     string
		client   *Client
		tamper   func([]byte)
		inReason string
	}{
		{"wrong password", newTestClient("Tr0ub4dor&4"), nil, "NTProofStr"},
		{"unknown user", &Client{User: "mallory", Domain: rtDomain, Password: rtPassword, Rand: fixedRand{1}, Now: fixedNow}, nil, "unknown user"},
		{"tampered MIC", newTestClient(rtPassword), micAt, "MIC"},
		{"tampered NTProofStr", newTestClient(rtPassword), proofAt, "NTProofStr"},
		{"tampered client blob", newTestClient(rtPassword), blobAt, "NTProofStr"},
		{"tampered workstation", newTestClient(rtPassword), workstationAt, "MIC"},
		{"tampered flags", newTestClient(rtPassword), flagsAt, "MIC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ss, _, err := exchange(t, tc.client, tc.tamper)
			if !errors.Is(err, ErrLogonFailure) || ss != nil {
				t.Fatalf("err = %v, session %v; want ErrLogonFailure", err, ss)
			}
			if !strings.Contains(err.Error(), tc.inReason) {
				t.Errorf("err = %v, want it to mention %q", err, tc.inReason)
			}
			for _, secret := range []string{rtPassword, fmt.Sprintf("%x", NTHash(rtPassword))} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error leaks a secret: %v", err)
				}
			}
		})
	}
}

func TestUnsealRejects(t *testing.T) {
	cs, ss, _, err := exchange(t, newTestClient(rtPassword), nil)
	if err != nil {
		t.Fatal(err)
	}
	sealed := cs.Seal([]byte("TSCredentials"))
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short", sealed[:15]},
		{"flipped data", flip(sealed, 16)},
		{"flipped checksum", flip(sealed, 5)},
		{"wrong seqnum", flip(sealed, 12)},
		{"wrong version", flip(sealed, 0)},
		{"truncated data", sealed[:len(sealed)-1]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ss.Unseal(tc.b); err == nil || !strings.HasPrefix(err.Error(), "ntlm: ") {
				t.Fatalf("Unseal err = %v", err)
			}
		})
	}
	// A rejected message leaves the receive state alone: the genuine one still opens.
	if got, err := ss.Unseal(sealed); err != nil || string(got) != "TSCredentials" {
		t.Fatalf("genuine message after rejects: %q, %v", got, err)
	}
	// A replay is refused (sequence number).
	if _, err := ss.Unseal(sealed); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("replay err = %v", err)
	}
}

func flip(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 1
	return b
}

func TestClientRefusesNTLMv1(t *testing.T) {
	m := ChallengeMessage{Flags: NegotiateUnicode | NegotiateNTLM | NegotiateTargetInfo, TargetName: "X",
		TargetInfo: TargetInfo{NbComputerName: "X"}}
	_, _, err := newTestClient(rtPassword).Authenticate(m.Marshal())
	if !errors.Is(err, ErrNoExtendedSessionSecurity) {
		t.Fatalf("err = %v", err)
	}
}

// Without a server timestamp: LMv2, no MIC, MsvAvFlags untouched; the server
// still accepts it.
func TestRoundTripNoTimestamp(t *testing.T) {
	s := newTestServer()
	c := newTestClient(rtPassword)
	neg := c.Negotiate()
	if _, err := s.Challenge(neg); err != nil {
		t.Fatal(err)
	}
	// Re-issue the server's CHALLENGE without MsvAvTimestamp.
	var ch ChallengeMessage
	if err := ch.Unmarshal(s.challenge); err != nil {
		t.Fatal(err)
	}
	all, err := ParseAVPairs(ch.TargetInfo.Raw)
	if err != nil {
		t.Fatal(err)
	}
	var pairs AVPairs
	for _, p := range all {
		if p.ID != MsvAvTimestamp {
			pairs = append(pairs, p)
		}
	}
	ch.TargetInfo.Raw = pairs.Marshal()
	s.challenge = ch.Marshal()
	auth, cs, err := c.Authenticate(s.challenge)
	if err != nil {
		t.Fatal(err)
	}
	var am AuthenticateMessage
	if err := am.Unmarshal(auth); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(am.LmChallengeResponse, make([]byte, 24)) || !bytes.Equal(am.MIC, make([]byte, 16)) {
		t.Errorf("LM %x MIC %x: want LMv2 and no MIC", am.LmChallengeResponse, am.MIC)
	}
	ss, _, err := s.Authenticate(auth)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ss.Unseal(cs.Seal([]byte("x"))); err != nil || string(got) != "x" {
		t.Fatal(got, err)
	}
}

func TestServerChallengeShape(t *testing.T) {
	s := newTestServer()
	b, err := s.Challenge((&Client{}).Negotiate())
	if err != nil {
		t.Fatal(err)
	}
	var ch ChallengeMessage
	if err := ch.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	if want := NegotiateFlags(0xe2898235); ch.Flags != want {
		t.Errorf("Flags = %#x (%v), want %#x", uint32(ch.Flags), ch.Flags, uint32(want))
	}
	if ch.Version == nil || ch.Version.String() != "10.0.17763" || !ch.TargetInfo.Timestamp.Equal(testNow) ||
		ch.TargetInfo.NbComputerName != "RDS01" || ch.TargetName != "CORP" {
		t.Errorf("CHALLENGE = %+v", ch)
	}
	if _, _, err := (&Server{}).Authenticate(nil); err == nil {
		t.Error("Authenticate before Challenge accepted")
	}
}

// With channel bindings the client sends the hash, and a server that
// requires them accepts it and refuses any other (Extended Protection).
func TestChannelBindings(t *testing.T) {
	cbt := ChannelBindingHash([]byte("tls-server-end-point:\x01\x02"))
	for _, tc := range []struct {
		name         string
		client, want []byte
		ok           bool
	}{
		{"bound", cbt, cbt, true},
		{"unbound client", nil, cbt, false},
		{"other channel", ChannelBindingHash([]byte("tls-server-end-point:\x03")), cbt, false},
		{"server does not check", nil, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &Server{TargetName: "CORP", TargetInfo: TargetInfo{NbDomainName: "CORP", NbComputerName: "GW"},
				Lookup: func(u, d string) ([]byte, bool) { return NTHash("pw"), true }, ChannelBindings: tc.want}
			c := &Client{User: "alice", Domain: "CORP", Password: "pw", ChannelBindings: tc.client}
			ch, err := srv.Challenge(c.Negotiate())
			if err != nil {
				t.Fatal(err)
			}
			auth, _, err := c.Authenticate(ch)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := srv.Authenticate(auth); (err == nil) != tc.ok {
				t.Fatalf("Authenticate: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
