package ntlm

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/rdpprobe/rdpprobe/internal/utf16le"
)

// MS-NLMP 4.2.4: NTLMv2 authentication, values from the spec.
func TestSpecNTLMv2(t *testing.T) {
	ch := unhex(t, specChallengeHex)
	var m ChallengeMessage
	if err := m.Unmarshal(ch); err != nil {
		t.Fatal(err)
	}
	ntowf := NTOWFv2(NTHash(specPassword), specUser, specDomain)
	temp := clientChallengeBlob([8]byte{}, specClientChallenge, m.TargetInfo.Raw)
	proof := ntProofStr(ntowf, m.ServerChallenge, temp)
	base := sessionBaseKey(ntowf, proof)
	for _, c := range []struct{ name, got, want string }{
		{"NTOWFv1 4.2.2.1.2", hex.EncodeToString(NTHash(specPassword)), "a4f49c406510bdcab6824ee7c30fd852"},
		{"NTOWFv2 4.2.4.1.1", hex.EncodeToString(ntowf), "0c868a403bfd7a93a3001ef22ef02e3f"},
		{"LMv2 response 4.2.4.2.1", hex.EncodeToString(lmv2Response(ntowf, specServerChallenge, specClientChallenge)),
			"86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa"},
		{"NTProofStr 4.2.4.2.2", hex.EncodeToString(proof), "68cd0ab851e51c96aabc927bebef6a1c"},
		{"SessionBaseKey 4.2.4.1.2", hex.EncodeToString(base), "8de40ccadbc14a82f15cb0ad0de95ca3"},
		{"EncryptedRandomSessionKey 4.2.4.2.3", hex.EncodeToString(rc4K(base, specRandomSessionKey)), "c5dad2544fc9799094ce1ce90bc9d03e"},
		{"SealKey 4.2.4.4", hex.EncodeToString(sealKey(specRandomSessionKey, m.Flags, clientSealMagic)), "59f600973cc4960a25480a7c196e4c58"},
		{"SignKey 4.2.4.4", hex.EncodeToString(signKey(specRandomSessionKey, clientSignMagic)), "4788dc861b4782f35d43fd98fe1a2d39"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %s, want %s", c.name, c.got, c.want)
		}
	}
	// The NTLMv2_RESPONSE inside the spec's AUTHENTICATE is NTProofStr || temp.
	var am AuthenticateMessage
	if err := am.Unmarshal(unhex(t, specAuthenticateHex)); err != nil {
		t.Fatal(err)
	}
	if want := append(append([]byte(nil), proof...), temp...); !bytes.Equal(am.NtChallengeResponse, want) {
		t.Errorf("NtChallengeResponse\n got %x\nwant %x", am.NtChallengeResponse, want)
	}
}

// MS-NLMP 4.2.4.4: GSS_WrapEx of "Plaintext" with RandomSessionKey 55×16.
func TestSpecSeal(t *testing.T) {
	var m ChallengeMessage
	if err := m.Unmarshal(unhex(t, specChallengeHex)); err != nil {
		t.Fatal(err)
	}
	s := newSession(specRandomSessionKey, m.Flags, true)
	got := s.Seal(utf16le.Encode("Plaintext"))
	want := "010000007fb38ec5c55d497600000000" + "54e50165bf1936dc996020c1811b0f06fb5f"
	if hex.EncodeToString(got) != want {
		t.Fatalf("Seal\n got %x\nwant %s", got, want)
	}
	// The peer opens it.
	peer := newSession(specRandomSessionKey, m.Flags, false)
	plain, err := peer.Unseal(got)
	if err != nil || utf16le.Decode(plain) != "Plaintext" {
		t.Fatalf("Unseal = %q, %v", plain, err)
	}
}

// MS-NLMP 4.2.4.3: our Server accepts the spec's own AUTHENTICATE (no MIC,
// no timestamp) and then opens the spec's sealed message of 4.2.4.4.
func TestSpecServerAcceptsSpecAuthenticate(t *testing.T) {
	s := &Server{
		TargetName: "Server",
		TargetInfo: TargetInfo{NbDomainName: specDomain, NbComputerName: "Server"},
		Rand:       fixedRand(specServerChallenge[:]),
		Now:        fixedNow,
		Lookup: func(user, domain string) ([]byte, bool) {
			return NTHash(specPassword), user == specUser && domain == specDomain
		},
	}
	if _, err := s.Challenge((&Client{}).Negotiate()); err != nil {
		t.Fatal(err)
	}
	sess, am, err := s.Authenticate(unhex(t, specAuthenticateHex))
	if err != nil {
		t.Fatal(err)
	}
	if am.UserName != specUser || am.DomainName != specDomain || am.Workstation != specWorkstation || am.MIC != nil {
		t.Errorf("AUTHENTICATE parsed as %+v", am)
	}
	if am.Version == nil || am.Version.String() != "5.1.2600" || am.Version.Revision != 15 {
		t.Errorf("Version = %v", am.Version)
	}
	plain, err := sess.Unseal(unhex(t, "010000007fb38ec5c55d497600000000 54e50165bf1936dc996020c1811b0f06fb5f"))
	if err != nil || utf16le.Decode(plain) != "Plaintext" {
		t.Fatalf("Unseal = %q, %v", plain, err)
	}
}

// The client, fed the spec's CHALLENGE (no timestamp) and the spec's
// randoms, sends the spec's LMv2 response; its NTLMv2 response differs only
// by the AV pairs it adds (channel bindings).
func TestSpecClientLMv2(t *testing.T) {
	c := &Client{User: specUser, Domain: specDomain, Password: specPassword, Workstation: specWorkstation,
		Rand: fixedRand(append(specClientChallenge[:], specRandomSessionKey...)), Now: fixedNow}
	c.Negotiate()
	out, _, err := c.Authenticate(unhex(t, specChallengeHex))
	if err != nil {
		t.Fatal(err)
	}
	var am AuthenticateMessage
	if err := am.Unmarshal(out); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(am.LmChallengeResponse); got != "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa" {
		t.Errorf("LmChallengeResponse = %s", got)
	}
	if !bytes.Equal(am.MIC, make([]byte, 16)) {
		t.Errorf("MIC = %x, want zero without a server timestamp", am.MIC)
	}
	if am.Flags != 0xe2888235 { // the spec AUTHENTICATE's flags
		t.Errorf("Flags = %#x (%v)", uint32(am.Flags), am.Flags)
	}
}
