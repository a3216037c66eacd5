package spnego

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Seeds shared by f.Add; testdata/fuzz/<FuzzName>/ holds the same and any
// findings. SPNEGO_WRITE_SEEDS=1 go test -run TestWriteFuzzSeeds rewrites them.

func initSeeds() [][]byte {
	a, _ := (&NegTokenInit{MechTypes: WindowsMechTypes(), MechToken: []byte("AP-REQ")}).Marshal()
	b, _ := (&NegTokenInit{MechTypes: WindowsMechTypes()[2:], MechToken: []byte("NTLMSSP\x00"), MechListMIC: []byte{1}}).Marshal()
	return [][]byte{a, b}
}

func respSeeds() [][]byte {
	a, _ := (&NegTokenResp{State: AcceptCompleted, SupportedMech: OIDMSKerberos, ResponseToken: []byte("AP-REP"), MechListMIC: []byte("mic")}).Marshal()
	b, _ := (&NegTokenResp{State: NoState, MechListMIC: []byte("mic")}).Marshal()
	return [][]byte{a, b}
}

func FuzzNegTokenInit(f *testing.F) {
	for _, s := range initSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var tok NegTokenInit
		if err := tok.Unmarshal(b); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error is not ErrMalformed: %v", err)
			}
			return
		}
		if len(tok.MechTypes) == 0 || len(tok.MechTypes) > maxMechTypes {
			t.Fatalf("%d mechTypes", len(tok.MechTypes))
		}
		again, err := tok.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var back NegTokenInit
		if err := back.Unmarshal(again); err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if len(back.MechTypes) != len(tok.MechTypes) || !bytes.Equal(back.MechToken, tok.MechToken) ||
			(!tok.HasNegHints && !bytes.Equal(back.MechListMIC, tok.MechListMIC)) {
			t.Fatalf("round trip %+v != %+v", back, tok)
		}
	})
}

func FuzzNegTokenResp(f *testing.F) {
	for _, s := range respSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var tok NegTokenResp
		if err := tok.Unmarshal(b); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error is not ErrMalformed: %v", err)
			}
			return
		}
		_ = tok.State.String()
		again, err := tok.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var back NegTokenResp
		if err := back.Unmarshal(again); err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if back.State != tok.State || !back.SupportedMech.Equal(tok.SupportedMech) || !bytes.Equal(back.ResponseToken, tok.ResponseToken) {
			t.Fatalf("round trip %+v != %+v", back, tok)
		}
	})
}

func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("SPNEGO_WRITE_SEEDS") == "" {
		t.Skip("set SPNEGO_WRITE_SEEDS=1 to rewrite testdata/fuzz seeds")
	}
	for name, seeds := range map[string][][]byte{"FuzzNegTokenInit": initSeeds(), "FuzzNegTokenResp": respSeeds()} {
		dir := filepath.Join("testdata", "fuzz", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, s := range seeds {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%d", i)), fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
