package negotiate

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// Annotated dumps from MS-RDPBCGR section 4 (the TPKT and X.224 Data TPDU
// headers included). None of them depends on the security protocol.
const (
	specErectDomainRequest  = "0300000c02f0800401000100"       // 4.1.5
	specAttachUserRequest   = "0300000802f08028"               // 4.1.6
	specAttachUserConfirm   = "0300000b02f0802e000006"         // 4.1.7: user channel 1007
	specChannelJoinRequest  = "0300000c02f080380006 03eb"      // 4.1.8.2.1: 1007 joins 1003
	specChannelJoinConfirm  = "0300000f02f0803e00000603ef03ef" // 4.1.8.1.2: 1007 joined 1007
	specDisconnectUltimatum = "0300000902f0802180"             // 4.2.3: rn-user-requested
)

func TestDomainPDUsMatchSpecDumps(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"4.1.5 erect domain request", ClientErectDomainRequest(), specErectDomainRequest},
		{"4.1.6 attach user request", ClientAttachUserRequest(), specAttachUserRequest},
		{"4.1.7 attach user confirm", DataTPDU((&AttachUserConfirm{HasInitiator: true, Initiator: 1007}).Marshal()), specAttachUserConfirm},
		{"4.1.8.2.1 channel join request", ClientChannelJoinRequest(1007, 1003), specChannelJoinRequest},
		{"4.1.8 channel join confirm", DataTPDU((&ChannelJoinConfirm{Initiator: 1007, Requested: 1007, HasChannelID: true, ChannelID: 1007}).Marshal()), specChannelJoinConfirm},
		{"4.2.3 disconnect provider ultimatum", ClientDisconnectProviderUltimatum(), specDisconnectUltimatum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if want := unhex(t, tt.want); !bytes.Equal(tt.got, want) {
				t.Errorf("got %x, want %x", tt.got, want)
			}
		})
	}
}

func TestParseDomainPDUsFromSpec(t *testing.T) {
	auc, err := ParseAttachUserConfirm(unhex(t, specAttachUserConfirm)[4:])
	if err != nil || *auc != (AttachUserConfirm{Result: MCSResultSuccessful, HasInitiator: true, Initiator: 1007}) {
		t.Errorf("attach user confirm: %+v, %v", auc, err)
	}
	cjc, err := ParseChannelJoinConfirm(unhex(t, specChannelJoinConfirm)[4:])
	if err != nil || *cjc != (ChannelJoinConfirm{Initiator: 1007, Requested: 1007, HasChannelID: true, ChannelID: 1007}) {
		t.Errorf("channel join confirm: %+v, %v", cjc, err)
	}
	var cjr ChannelJoinRequest
	mcs, _ := ParseDataTPDU(unhex(t, specChannelJoinRequest)[4:])
	if err := cjr.Unmarshal(mcs); err != nil || cjr != (ChannelJoinRequest{1007, 1003}) {
		t.Errorf("channel join request: %+v, %v", cjr, err)
	}
	var edr ErectDomainRequest
	mcs, _ = ParseDataTPDU(unhex(t, specErectDomainRequest)[4:])
	if err := edr.Unmarshal(mcs); err != nil || edr != (ErectDomainRequest{}) {
		t.Errorf("erect domain request: %+v, %v", edr, err)
	}
	p, err := ParseServerPDU(unhex(t, specDisconnectUltimatum)[4:])
	if err != nil || p.Kind != ServerPDUDisconnectUltimatum || p.Reason != MCSReasonUserRequested {
		t.Errorf("ultimatum: %+v, %v", p, err)
	}
}

func TestRealDomainPDUs(t *testing.T) {
	auc, err := ParseAttachUserConfirm(loadHex(t, "mcs-freerdp-attach-user-confirm")[4:])
	if err != nil || auc.Initiator != 1004 {
		t.Fatalf("attach user confirm: %+v, %v", auc, err)
	}
	cjc, err := ParseChannelJoinConfirm(loadHex(t, "mcs-freerdp-channel-join-confirm-1003")[4:])
	if err != nil || *cjc != (ChannelJoinConfirm{Initiator: 1004, Requested: 1003, HasChannelID: true, ChannelID: 1003}) {
		t.Fatalf("channel join confirm: %+v, %v", cjc, err)
	}
	p, err := ParseServerPDU(loadHex(t, "mcs-xrdp-disconnect-ultimatum")[4:])
	if err != nil || p.Kind != ServerPDUDisconnectUltimatum || p.Reason != MCSReasonUserRequested {
		t.Fatalf("xrdp ultimatum: %+v, %v", p, err)
	}
}

func TestMCSConfirmFailures(t *testing.T) {
	b := DataTPDU((&AttachUserConfirm{Result: MCSResultTooManyUsers}).Marshal())
	_, err := ParseAttachUserConfirm(b[4:])
	var re *MCSResultError
	if !errors.As(err, &re) || re.Result != MCSResultTooManyUsers || re.Error() != "mcs: server answered Attach-User-Confirm with rt-too-many-users (13)" {
		t.Errorf("attach: %v", err)
	}
	b = DataTPDU((&ChannelJoinConfirm{Result: MCSResultNoSuchChannel, Initiator: 1004, Requested: 1005}).Marshal())
	if _, err := ParseChannelJoinConfirm(b[4:]); !errors.As(err, &re) || re.Result != MCSResultNoSuchChannel {
		t.Errorf("join: %v", err)
	}
	b = DataTPDU((&AttachUserConfirm{}).Marshal()) // success without initiator
	if _, err := ParseAttachUserConfirm(b[4:]); !errors.Is(err, ErrMalformed) {
		t.Errorf("success without initiator: %v", err)
	}
	cr := &ConnectResponse{MCS: MCSConnectResponse{Result: MCSResultUnspecifiedFailure, Parameters: ClientTargetParameters}}
	got, err := ParseMCSConnectResponse(cr.Marshal()[4:])
	if !errors.As(err, &re) || re.Result != MCSResultUnspecifiedFailure || got == nil || got.Server != nil {
		t.Errorf("connect response failure: %+v %v", got, err)
	}
}

func TestMCSMalformed(t *testing.T) {
	for name, h := range map[string]string{
		"empty":                      "",
		"not data tpdu":              "02f00028",
		"confirm padding bits":       "2e010006",
		"confirm truncated":          "2e0000",
		"join confirm no channel":    "3e00000603ef",
		"ultimatum long":             "218000",
		"erect 5-octet integer":      "040500000000000100",
		"erect truncated":            "04010001",
		"send data length too long":  "68000303eb700500",
		"send data fragmented":       "68000303eb70c001",
		"ber wrong app tag":          "7f6503020100",
		"ber truncated length":       "7f668210",
		"ber indefinite":             "7f6680",
		"ber negative result":        "7f66030a01ff",
		"ber trailing":               "7f66000000",
		"ber high tag number >127":   "7f8165",
		"connect response truncated": "7f66050a0100020100",
	} {
		t.Run(name, func(t *testing.T) {
			b := unhex(t, h)
			var errs []error
			var sd SendData
			errs = append(errs, sd.Unmarshal(b))
			var auc AttachUserConfirm
			errs = append(errs, auc.Unmarshal(b))
			var cjc ChannelJoinConfirm
			errs = append(errs, cjc.Unmarshal(b))
			var edr ErectDomainRequest
			errs = append(errs, edr.Unmarshal(b))
			var dpu DisconnectProviderUltimatum
			errs = append(errs, dpu.Unmarshal(b))
			var crsp MCSConnectResponse
			errs = append(errs, crsp.Unmarshal(b))
			var ci ConnectInitial
			errs = append(errs, ci.Unmarshal(b))
			for i, err := range errs {
				if err == nil {
					t.Errorf("parser %d accepted %x", i, b)
				} else if !errors.Is(err, ErrMalformed) {
					t.Errorf("parser %d: %v does not wrap ErrMalformed", i, err)
				}
			}
		})
	}
}

func TestConnectInitialRoundTrip(t *testing.T) {
	ci := NewConnectInitial([]byte("user data"))
	var got ConnectInitial
	if err := got.Unmarshal(ci.Marshal()); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&got, ci) {
		t.Fatalf("got %+v, want %+v", got, ci)
	}
	// MS-RDPBCGR 4.1.3 encodes the target parameters this way.
	if want := unhex(t, "301a020122020102020100020101020100020101020300ffff020102"); !bytes.Contains(ci.Marshal(), want) {
		t.Errorf("targetParameters not encoded as %x", want)
	}
}

func TestSendDataRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 300, MaxMCSUserData} {
		sd := SendData{Indication: n%2 == 0, Initiator: 1007, ChannelID: 1003, Priority: 1, Segmentation: 3, UserData: bytes.Repeat([]byte{0xAB}, n)}
		var got SendData
		if err := got.Unmarshal(sd.Marshal()); err != nil {
			t.Fatalf("%d: %v", n, err)
		}
		if !reflect.DeepEqual(got.UserData, sd.UserData) || got.Initiator != 1007 || got.ChannelID != 1003 || got.Indication != sd.Indication || got.Priority != 1 || got.Segmentation != 3 {
			t.Fatalf("%d: got %+v", n, got)
		}
	}
}

func TestMCSNames(t *testing.T) {
	// T.125 7 part 3: Result and Reason are ENUMERATED in this order; the
	// DomainMCSPDU CHOICE indexes are those of part 10.
	results := []string{"rt-successful", "rt-domain-merging", "rt-domain-not-hierarchical", "rt-no-such-channel",
		"rt-no-such-domain", "rt-no-such-user", "rt-not-admitted", "rt-other-user-id", "rt-parameters-unacceptable",
		"rt-token-not-available", "rt-token-not-possessed", "rt-too-many-channels", "rt-too-many-tokens",
		"rt-too-many-users", "rt-unspecified-failure", "rt-user-rejected"}
	for v, want := range results {
		if got := MCSResult(v).String(); got != want {
			t.Errorf("MCSResult(%d) = %q, want %q", v, got, want)
		}
	}
	reasons := []string{"rn-domain-disconnected", "rn-provider-initiated", "rn-token-purged", "rn-user-requested", "rn-channel-purged"}
	for v, want := range reasons {
		if got := MCSReason(v).String(); got != want {
			t.Errorf("MCSReason(%d) = %q, want %q", v, got, want)
		}
	}
	for _, tt := range []struct{ got, want string }{
		{MCSResult(16).String(), "rt-16"},
		{MCSReason(9).String(), "rn-9"},
		{MCSPDUType(1).String(), "erectDomainRequest"},
		{MCSPDUType(8).String(), "disconnectProviderUltimatum"},
		{MCSPDUType(11).String(), "attachUserConfirm"},
		{MCSPDUType(15).String(), "channelJoinConfirm"},
		{MCSPDUType(26).String(), "sendDataIndication"},
		{MCSPDUType(40).String(), "DomainMCSPDU(40)"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func FuzzDomainPDUs(f *testing.F) {
	for _, h := range []string{specAttachUserConfirm, specChannelJoinConfirm, specChannelJoinRequest, specErectDomainRequest, specDisconnectUltimatum} {
		f.Add(unhex(f, h)[7:])
	}
	f.Add(loadHex(f, "license-freerdp-valid-client")[7:])
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(err error) bool {
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return err == nil
		}
		var auc, auc2 AttachUserConfirm
		if check(auc.Unmarshal(b)) && (auc2.Unmarshal(auc.Marshal()) != nil || auc2 != auc) {
			t.Fatalf("attach user confirm round trip %+v %+v", auc, auc2)
		}
		var cjc, cjc2 ChannelJoinConfirm
		if check(cjc.Unmarshal(b)) && (cjc2.Unmarshal(cjc.Marshal()) != nil || cjc2 != cjc) {
			t.Fatalf("channel join confirm round trip %+v %+v", cjc, cjc2)
		}
		var cjr, cjr2 ChannelJoinRequest
		if check(cjr.Unmarshal(b)) && (cjr2.Unmarshal(cjr.Marshal()) != nil || cjr2 != cjr) {
			t.Fatalf("channel join request round trip %+v %+v", cjr, cjr2)
		}
		var edr, edr2 ErectDomainRequest
		if check(edr.Unmarshal(b)) && (edr2.Unmarshal(edr.Marshal()) != nil || edr2 != edr) {
			t.Fatalf("erect domain round trip %+v %+v", edr, edr2)
		}
		var dpu, dpu2 DisconnectProviderUltimatum
		if check(dpu.Unmarshal(b)) && (dpu2.Unmarshal(dpu.Marshal()) != nil || dpu2 != dpu) {
			t.Fatalf("ultimatum round trip %+v %+v", dpu, dpu2)
		}
		var sd, sd2 SendData
		if check(sd.Unmarshal(b)) && (sd2.Unmarshal(sd.Marshal()) != nil || !reflect.DeepEqual(sd, sd2)) {
			t.Fatalf("send data round trip %+v %+v", sd, sd2)
		}
	})
}

func FuzzMCSConnectResponse(f *testing.F) {
	for _, name := range []string{"mcs-freerdp-tls-connect-response", "mcs-xrdp-connect-response"} {
		f.Add(loadHex(f, name)[4:])
	}
	f.Add((&ConnectResponse{MCS: MCSConnectResponse{Result: MCSResultUnspecifiedFailure}}).Marshal()[4:])
	f.Add(ClientMCSConnectInitial(ProtocolHybrid)[4:])
	f.Fuzz(func(t *testing.T, b []byte) {
		cr, err := ParseMCSConnectResponse(b)
		var re *MCSResultError
		switch {
		case errors.As(err, &re):
			return
		case err != nil:
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrDisconnectRequest) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		again, err := ParseMCSConnectResponse(cr.Marshal()[4:])
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !reflect.DeepEqual(again.Server, cr.Server) || again.MCS.Parameters != cr.MCS.Parameters || again.GCC.NodeID != cr.GCC.NodeID {
			t.Fatalf("round trip:\n%+v\n%+v", cr.Server, again.Server)
		}
		var ci ConnectInitial
		_ = ci.Unmarshal(b[min(3, len(b)):])
	})
}
