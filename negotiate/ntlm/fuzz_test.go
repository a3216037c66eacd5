package ntlm

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Seeds shared by f.Add; testdata/fuzz/<FuzzName>/ holds the same and the
// findings. NTLM_WRITE_SEEDS=1 go test -run TestWriteFuzzSeeds rewrites them.

func challengeSeeds(tb testing.TB) [][]byte {
	return [][]byte{loadHex(tb, "challenge-ws2019"), loadHex(tb, "challenge-no-version"),
		loadHex(tb, "challenge-freerdp"), unhex(tb, specChallengeHex)}
}

// fuzzAuth is a valid AUTHENTICATE for the fixed server of FuzzServerAuthenticate.
func fuzzAuth(tb testing.TB) (*Server, []byte) {
	s := newTestServer()
	ch, err := s.Challenge((&Client{}).Negotiate())
	if err != nil {
		tb.Fatal(err)
	}
	c := newTestClient(rtPassword)
	c.Negotiate()
	auth, _, err := c.Authenticate(ch)
	if err != nil {
		tb.Fatal(err)
	}
	return s, auth
}

func authenticateSeeds(tb testing.TB) [][]byte {
	_, auth := fuzzAuth(tb)
	return [][]byte{auth, unhex(tb, specAuthenticateHex)}
}

func fuzzSession() (client, server *Session) {
	key := repeat(0x55, 16)
	flags := NegotiateFlags(0xe2888235)
	return newSession(key, flags, true), newSession(key, flags, false)
}

func unsealSeeds() [][]byte {
	c, _ := fuzzSession()
	return [][]byte{c.Seal([]byte("pubKeyAuth")), c.Seal(nil), {1, 0, 0, 0}}
}

func addAll(f *testing.F, seeds [][]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
}

func FuzzNegotiateMessage(f *testing.F) {
	addAll(f, [][]byte{(&Client{}).Negotiate(), (&NegotiateMessage{Flags: NegotiateOEMDomainSupplied | NegotiateOEMWorkstationSupplied,
		Domain: "CORP", Workstation: "WS1"}).Marshal()})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m NegotiateMessage
		if err := m.Unmarshal(b); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error is not ErrMalformed: %v", err)
			}
			return
		}
		var again NegotiateMessage
		if err := again.Unmarshal(m.Marshal()); err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if m.Version != nil && again.Version == nil || !reflect.DeepEqual(m.Flags, again.Flags) ||
			m.Domain != again.Domain || m.Workstation != again.Workstation {
			t.Fatalf("round trip %+v != %+v", m, again)
		}
	})
}

func FuzzChallengeMessage(f *testing.F) {
	addAll(f, challengeSeeds(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m ChallengeMessage
		if err := m.Unmarshal(b); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error is not ErrMalformed: %v", err)
			}
			return
		}
		_ = m.Flags.String()
		var again ChallengeMessage
		if err := again.Unmarshal(m.Marshal()); err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if m.ServerChallenge != again.ServerChallenge || !bytes.Equal(m.TargetInfo.Raw, again.TargetInfo.Raw) ||
			m.Flags != again.Flags || fmt.Sprint(m.Version) != fmt.Sprint(again.Version) {
			t.Fatalf("round trip\n%+v\n%+v", m, again)
		}
		// The client must cope with whatever parses.
		c := &Client{User: "u", Password: "p", Rand: fixedRand{1}, Now: fixedNow}
		if _, _, err := c.Authenticate(b); err == nil && !m.Flags.Has(NegotiateExtendedSessionSecurity) {
			t.Fatal("client accepted a CHALLENGE without extended session security")
		}
	})
}

func FuzzAuthenticateMessage(f *testing.F) {
	addAll(f, authenticateSeeds(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m AuthenticateMessage
		if err := m.Unmarshal(b); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error is not ErrMalformed: %v", err)
			}
			return
		}
		var again AuthenticateMessage
		if err := again.Unmarshal(m.Marshal()); err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !bytes.Equal(m.NtChallengeResponse, again.NtChallengeResponse) || !bytes.Equal(m.LmChallengeResponse, again.LmChallengeResponse) ||
			!bytes.Equal(m.EncryptedRandomSessionKey, again.EncryptedRandomSessionKey) || m.Flags != again.Flags ||
			m.MIC != nil && !bytes.Equal(m.MIC, again.MIC) {
			t.Fatalf("round trip\n%+v\n%+v", m, again)
		}
	})
}

func FuzzTargetInfo(f *testing.F) {
	for _, ch := range challengeSeeds(f) {
		var m ChallengeMessage
		if err := m.Unmarshal(ch); err != nil {
			f.Fatal(err)
		}
		f.Add(m.TargetInfo.Raw)
	}
	f.Add([]byte{7, 0, 8, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		ti, err := ParseTargetInfo(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error is not ErrMalformed: %v", err)
			}
			return
		}
		p, err := ParseAVPairs(b)
		if err != nil {
			t.Fatalf("ParseTargetInfo accepted what ParseAVPairs refuses: %v", err)
		}
		q, err := ParseAVPairs(p.Marshal())
		if err != nil || len(q) != len(p) {
			t.Fatalf("AV pairs round trip: %d → %d, %v", len(p), len(q), err)
		}
		if _, err := ParseTargetInfo(ti.AVPairs().Marshal()); err != nil {
			t.Fatalf("built target info does not parse: %v", err)
		}
	})
}

func FuzzServerAuthenticate(f *testing.F) {
	addAll(f, authenticateSeeds(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, valid := fuzzAuth(t)
		sess, m, err := s.Authenticate(b)
		if err != nil {
			if sess != nil {
				t.Fatal("session with an error")
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrLogonFailure) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if m == nil || sess == nil {
			t.Fatal("success without message or session")
		}
		// Whatever verifies must carry the real proof for the real user.
		var vm AuthenticateMessage
		if err := vm.Unmarshal(valid); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(m.NtChallengeResponse[:16], vm.NtChallengeResponse[:16]) {
			t.Fatalf("accepted a different NTProofStr: %x", m.NtChallengeResponse[:16])
		}
	})
}

func FuzzUnseal(f *testing.F) {
	addAll(f, unsealSeeds())
	f.Fuzz(func(t *testing.T, b []byte) {
		c, s := fuzzSession()
		plain, err := s.Unseal(b)
		if err != nil {
			// The receive state is untouched: a genuine message still opens.
			if got, err := s.Unseal(c.Seal([]byte("ok"))); err != nil || string(got) != "ok" {
				t.Fatalf("session broken after a rejected message: %q, %v", got, err)
			}
			return
		}
		// Only a message our peer could have sealed verifies.
		c2, _ := fuzzSession()
		if !bytes.Equal(c2.Seal(plain), b) {
			t.Fatalf("forged message accepted: %x", b)
		}
	})
}

// TestWriteFuzzSeeds writes the f.Add seeds as corpus files.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("NTLM_WRITE_SEEDS") == "" {
		t.Skip("set NTLM_WRITE_SEEDS=1 to rewrite testdata/fuzz seeds")
	}
	ti := func() [][]byte {
		var out [][]byte
		for _, ch := range challengeSeeds(t) {
			var m ChallengeMessage
			_ = m.Unmarshal(ch)
			out = append(out, m.TargetInfo.Raw)
		}
		return out
	}
	for name, seeds := range map[string][][]byte{
		"FuzzNegotiateMessage":    {(&Client{}).Negotiate()},
		"FuzzChallengeMessage":    challengeSeeds(t),
		"FuzzAuthenticateMessage": authenticateSeeds(t),
		"FuzzServerAuthenticate":  authenticateSeeds(t),
		"FuzzTargetInfo":          ti(),
		"FuzzUnseal":              unsealSeeds(),
	} {
		dir := filepath.Join("testdata", "fuzz", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, s := range seeds {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%d", i)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
