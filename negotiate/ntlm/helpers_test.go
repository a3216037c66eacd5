package ntlm

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// loadHex reads testdata/<name>.hex: '#' comment lines, then hex.
func loadHex(tb testing.TB, name string) []byte {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name+".hex"))
	if err != nil {
		tb.Fatal(err)
	}
	var sb strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			sb.WriteString(strings.Join(strings.Fields(line), ""))
		}
	}
	return unhex(tb, sb.String())
}

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func repeat(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

// fixedRand returns the given bytes, over and over.
type fixedRand []byte

func (f fixedRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = f[i%len(f)]
	}
	return len(p), nil
}

// MS-NLMP 4.2.1 common values and 4.2.4.3 messages.
const (
	specUser        = "User"
	specDomain      = "Domain"
	specPassword    = "Password"
	specWorkstation = "COMPUTER"
)

var (
	specServerChallenge  = [8]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	specClientChallenge  = [8]byte{0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa}
	specRandomSessionKey = repeat(0x55, 16)
)

// specChallenge is the CHALLENGE_MESSAGE of MS-NLMP 4.2.4.3.
const specChallengeHex = `
4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef
00000000000000002400240044000000060070170000000f5300650072007600
6500720002000c0044006f006d00610069006e0001000c005300650072007600
6500720000000000`

// specAuthenticate is the AUTHENTICATE_MESSAGE of MS-NLMP 4.2.4.3 (no MIC field).
const specAuthenticateHex = `
4e544c4d5353500003000000180018006c00000054005400840000000c000c00
480000000800080054000000100010005c00000010001000d8000000358288e2
0501280a0000000f44006f006d00610069006e00550073006500720043004f00
4d005000550054004500520086c35097ac9cec102554764a57cccc19aaaaaaaa
aaaaaaaa68cd0ab851e51c96aabc927bebef6a1c010100000000000000000000
00000000aaaaaaaaaaaaaaaa0000000002000c0044006f006d00610069006e00
01000c005300650072007600650072000000000000000000c5dad2544fc97990
94ce1ce90bc9d03e`

var testNow = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return testNow }
