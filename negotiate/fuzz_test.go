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

// licenseSeeds are whole licensing messages: xrdp's LICENSE_REQUEST and
// the marshalled forms of the messages the probe and rdptest exchange.
func licenseSeeds(f *testing.F) {
	key := testKey(f)
	f.Add(loadHex(f, "license-xrdp-license-request")[19:])
	f.Add((&LicenseRequest{CompanyName: "Microsoft Corporation", ProductID: "A02", KeyExchangeAlgs: []uint32{KeyExchangeAlgRSA},
		Certificate: NewProprietaryCertificate(&key.PublicKey).Marshal(), Scopes: []string{"microsoft.com"}}).Marshal())
	f.Add((&LicenseRequest{Certificate: (&ServerCertificate{Version: CertChainVersion2, X509Chain: [][]byte{testCertDER(f, key, "x")}}).Marshal()}).Marshal())
	nlr, err := NewLicenseRequestFor(&key.PublicKey, 0, make([]byte, 32), make([]byte, 48), "labuser", "rdpprobe")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(nlr.Marshal())
	f.Add((&PlatformChallenge{EncryptedChallenge: LicenseBinaryBlob{Type: BBEncDataBlob, Data: make([]byte, 10)}}).Marshal())
}

func FuzzLicenseRequest(f *testing.F) {
	licenseSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var r LicenseRequest
		if err := r.Unmarshal(b); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		out := r.Marshal()
		if len(out) > 0xFFFF {
			return // terminators added to the scopes pushed it past wMsgSize
		}
		var again LicenseRequest
		if err := again.Unmarshal(out); err != nil || again.CompanyName != r.CompanyName || len(again.Scopes) != len(r.Scopes) ||
			!bytes.Equal(again.Certificate, r.Certificate) {
			t.Fatalf("round trip %v %+v %+v", err, r, again)
		}
		c, err := r.ServerCertificate()
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if c != nil {
			c.ModulusLen()
			if pub, err := c.PublicKey(); err == nil {
				if _, err := EncryptLE(pub, c.ModulusLen(), make([]byte, LicensePremasterSecretLen)); err != nil {
					t.Fatalf("a usable key cannot encrypt the premaster: %v", err)
				}
			}
		}
	})
}

func FuzzServerCertificate(f *testing.F) {
	key := testKey(f)
	f.Add(NewProprietaryCertificate(&key.PublicKey).Marshal())
	f.Add((&ServerCertificate{Version: CertChainVersion2, Temporary: true, X509Chain: [][]byte{testCertDER(f, key, "x")}}).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		var c ServerCertificate
		if err := c.Unmarshal(b); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		var again ServerCertificate
		if err := again.Unmarshal(c.Marshal()); err != nil || again.Version != c.Version || len(again.X509Chain) != len(c.X509Chain) {
			t.Fatalf("round trip %v %+v %+v", err, c, again)
		}
		if pub, err := c.PublicKey(); err == nil {
			if _, err := EncryptLE(pub, c.ModulusLen(), make([]byte, LicensePremasterSecretLen)); err != nil {
				t.Fatalf("a usable key cannot encrypt the premaster: %v", err)
			}
		}
	})
}

func FuzzNewLicenseRequest(f *testing.F) {
	licenseSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var m NewLicenseRequest
		if err := m.Unmarshal(b); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		out := m.Marshal()
		if len(out) > 0xFFFF {
			return // terminators added to the names pushed it past wMsgSize
		}
		var again NewLicenseRequest
		if err := again.Unmarshal(out); err != nil || again.UserName != m.UserName || again.MachineName != m.MachineName ||
			!bytes.Equal(again.EncryptedPremasterSecret, m.EncryptedPremasterSecret) || again.ClientRandom != m.ClientRandom {
			t.Fatalf("round trip %v %+v %+v", err, m, again)
		}
	})
}

func FuzzPlatformChallenge(f *testing.F) {
	licenseSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var m PlatformChallenge
		if err := m.Unmarshal(b); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		var again PlatformChallenge
		if err := again.Unmarshal(m.Marshal()); err != nil || again.MAC != m.MAC || !bytes.Equal(again.EncryptedChallenge.Data, m.EncryptedChallenge.Data) {
			t.Fatalf("round trip %v %+v %+v", err, m, again)
		}
	})
}

// Standard RDP Security (rdpsec.go): the Security Exchange, the server's
// security data, and every parser of encrypted PDUs, under each method's
// keys. Seeds are real PDUs sealed by the other side.

func FuzzSecurityExchange(f *testing.F) {
	key := testKey(f)
	m, err := NewSecurityExchange(NewProprietaryCertificate(&key.PublicKey), make([]byte, RandomLen))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(m.Marshal())
	f.Add([]byte{1, 0, 0, 0, 9, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m SecurityExchange
		if err := m.Unmarshal(b); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if !bytes.Equal(m.Marshal()[4:], b[4:]) {
			t.Fatalf("round trip % x -> % x", b, m.Marshal())
		}
	})
}

func FuzzServerSecurityData(f *testing.F) {
	cr, err := ParseMCSConnectResponse(loadHex(f, "mcs-xrdp-rdp-security-connect-response")[4:])
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint32(cr.Server.Security.Method), cr.Server.Security.Rest)
	key := testKey(f)
	f.Add(uint32(EncryptionMethodFIPS), NewServerSecurityData(EncryptionMethodFIPS, EncryptionLevelFIPS, make([]byte, RandomLen),
		&ServerCertificate{Version: CertChainVersion2, X509Chain: [][]byte{testCertDER(f, key, "x")}}).Rest)
	f.Fuzz(func(t *testing.T, method uint32, rest []byte) {
		d := ServerSecurityData{Method: EncryptionMethod(method), Level: EncryptionLevelHigh, Rest: rest}
		random, cert, err := d.ServerRandomAndCertificate()
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if cert == nil {
			return
		}
		if len(random) != RandomLen {
			t.Fatalf("server random of %d bytes", len(random))
		}
		if _, err := cert.PublicKey(); err == nil {
			if _, err := NewSecurityExchange(cert, make([]byte, RandomLen)); err != nil {
				t.Fatalf("a usable key cannot encrypt the client random: %v", err)
			}
		}
	})
}

// sealedSeeds adds, for each method, PDUs the server sealed: licensing, a
// Demand Active, an empty body, and the same with a signature flipped.
func sealedSeeds(f *testing.F, tpkt bool) {
	for i, m := range securityMethods {
		_, server := securityPair(f, m)
		valid := (&LicenseErrorMessage{ErrorCode: StatusValidClient, StateTransition: StNoTransition}).Marshal()
		da := DemandActivePDU(1002, &DemandActive{ShareID: 0x103EA, SourceDescriptor: "RDP"})
		for _, ud := range [][]byte{server.Seal(SecLicensePkt, valid), server.Seal(0, da), server.Seal(0, nil)} {
			if tpkt {
				f.Add(uint8(i), ServerSendData(1002, 1003, ud)[4:])
			} else {
				f.Add(uint8(i), ud)
			}
		}
	}
}

func FuzzStandardSecurityOpen(f *testing.F) {
	sealedSeeds(f, false)
	f.Fuzz(func(t *testing.T, method uint8, ud []byte) {
		m := securityMethods[int(method)%len(securityMethods)]
		client, _ := securityPair(t, m)
		flags, body, err := client.Open(ud)
		var mac *MACError
		switch {
		case err != nil && !errors.Is(err, ErrMalformed) && !errors.As(err, &mac):
			t.Fatalf("error is neither malformed nor a MAC error: %v", err)
		case err == nil && flags&SecEncrypt == 0 && !bytes.Equal(body, ud[4:]):
			t.Fatalf("a PDU in the clear came back altered: % x", body)
		}
		// Whatever the bytes, what one side seals the other opens.
		client, server := securityPair(t, m)
		sealed := server.Seal(0, ud)
		if _, got, err := client.Open(sealed); err != nil || !bytes.Equal(got, ud) {
			t.Fatalf("round trip of % x: % x, %v", ud, got, err)
		}
	})
}

func FuzzParseSecureServerPDU(f *testing.F) {
	sealedSeeds(f, true)
	f.Fuzz(func(t *testing.T, method uint8, b []byte) {
		client, _ := securityPair(t, securityMethods[int(method)%len(securityMethods)])
		p, err := ParseSecureServerPDU(b, client)
		var mac *MACError
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrDisconnectRequest) && !errors.As(err, &mac) {
			t.Fatalf("error wraps no sentinel: %v", err)
		}
		if err == nil && p == nil {
			t.Fatal("nil PDU without error")
		}
	})
}
