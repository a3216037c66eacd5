package negotiate

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// Seeds shared by f.Add; testdata/fuzz/<Fuzz...>/ holds the same and more.
var fuzzHexFiles = []string{
	"cc-freerdp-nla-rsp-hybrid", "cc-freerdp-nla-fail-hybrid-required", "cc-xrdp-no-negotiation",
	"cr-xfreerdp-nla", "tsrequest-freerdp-ntlm-challenge",
}

func addSeeds(f *testing.F, tpktPayload bool, extra ...string) {
	for _, name := range fuzzHexFiles {
		b := loadHex(f, name)
		if tpktPayload && b[0] == 3 {
			b = b[4:]
		}
		f.Add(b)
	}
	for _, h := range extra {
		f.Add(unhex(f, h))
	}
}

func FuzzConnectionConfirm(f *testing.F) {
	addSeeds(f, true, "06800000123401", "0ed000000000000300080005000000")
	f.Fuzz(func(t *testing.T, b []byte) {
		var cc ConnectionConfirm
		if err := cc.Unmarshal(b); err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrDisconnectRequest) {
				t.Fatalf("error wraps neither sentinel: %v", err)
			}
			return
		}
		var again ConnectionConfirm
		if err := again.Unmarshal(cc.Marshal()[4:]); err != nil || !equalCC(&cc, &again) {
			t.Fatalf("round trip: %v %s vs %s", err, ccString(&cc), ccString(&again))
		}
	})
}

func FuzzConnectionRequest(f *testing.F) {
	addSeeds(f, true, "32e00000000000"+"0108080003000000"+"06002400"+"000102030405060708090a0b0c0d0e0f"+"00000000000000000000000000000000")
	f.Fuzz(func(t *testing.T, b []byte) {
		var cr ConnectionRequest
		if err := cr.Unmarshal(b); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		out := cr.Marshal()
		var again ConnectionRequest
		if err := again.Unmarshal(out[4:]); err != nil {
			t.Fatalf("re-parse of %x: %v", out, err)
		}
		want := cr
		want.Cookie = cr.cookie()
		if again != want {
			t.Fatalf("round trip: %+v vs %+v", again, want)
		}
	})
}

func FuzzReadTPKT(f *testing.F) {
	addSeeds(f, false, "", "03000004", "48545450", "1503010002", "0300ffff00")
	f.Fuzz(func(t *testing.T, b []byte) {
		const max = 512
		p, err := ReadTPKT(bytes.NewReader(b), max)
		if err != nil {
			var nt *NotTPKTError
			switch {
			case errors.As(err, &nt):
				if len(nt.First) == 0 || len(nt.First) > 4 || !bytes.HasPrefix(b, nt.First) {
					t.Fatalf("First = %x for %x", nt.First, b)
				}
				_ = nt.Error()
			case err == io.EOF, errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, ErrMalformed):
			default:
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if len(p)+4 > max || !bytes.HasPrefix(b, AppendTPKT(nil, p)) {
			t.Fatalf("payload %x does not frame %x", p, b)
		}
	})
}

func FuzzTSRequest(f *testing.F) {
	addSeeds(f, false, "300da003020106a4060204c000006d", "300ea003020106a407020500c000006d",
		"308111a08200030201 06a3820006048103010203", "300ba003020106a604020201ff")
	f.Fuzz(func(t *testing.T, b []byte) {
		var m TSRequest
		if err := m.Unmarshal(b); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		var again TSRequest
		if err := again.Unmarshal(out); err != nil || !equalTS(&m, &again) {
			t.Fatalf("round trip: %v\n%s\n%s", err, tsString(&m), tsString(&again))
		}
	})
}

func FuzzReadTSRequest(f *testing.F) {
	addSeeds(f, false, "", "3080", "3084ffffffff", "30820005a003020102")
	f.Fuzz(func(t *testing.T, b []byte) {
		const max = 1024
		got, err := ReadTSRequest(bytes.NewReader(b), max)
		if err != nil {
			if err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if len(got) > max || !bytes.HasPrefix(b, got) {
			t.Fatalf("read %x from %x", got, b)
		}
	})
}

func FuzzTSCredentials(f *testing.F) {
	f.Add(unhex(f, "301da003020101a11604143012a00404024400a10404027500a20404027000"))
	for _, c := range []TSCredentials{{"CORP", "alice", "pässwörd🔑"}, {}} {
		b, _ := c.Marshal()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c TSCredentials
		if err := c.Unmarshal(b); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		// Invalid UTF-16 decodes to U+FFFD, so compare the second generation.
		out, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var again TSCredentials
		if err := again.Unmarshal(out); err != nil || again != c {
			t.Fatalf("round trip: %v %v vs %v", err, again, c)
		}
	})
}

func FuzzEarlyUserAuthResult(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{5, 0, 0, 0})
	f.Add([]byte{5, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseEarlyUserAuthResult(b)
		if (err == nil) != (len(b) == 4) {
			t.Fatalf("len %d: err %v", len(b), err)
		}
		if err == nil && !bytes.Equal(r.Marshal(), b) {
			t.Fatalf("round trip %x -> %x", b, r.Marshal())
		}
		_ = r.String()
	})
}
