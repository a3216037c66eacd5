package negotiate

import (
	"errors"
	"reflect"
	"testing"
)

func TestLicenseErrorMessage(t *testing.T) {
	// The decrypted licensing packet of MS-RDPBCGR 4.1.11.
	spec := unhex(t, "ff031000070000000200000004000000")
	var m LicenseErrorMessage
	if err := m.Unmarshal(spec); err != nil {
		t.Fatal(err)
	}
	if !m.ValidClient() || m.ErrorInfo.Type != BBErrorBlob || len(m.ErrorInfo.Data) != 0 {
		t.Errorf("got %+v", m)
	}
	if got := m.Marshal(); !reflect.DeepEqual(got, spec) {
		t.Errorf("Marshal = %x", got)
	}
	if m.Error() != "license: server sent STATUS_VALID_CLIENT (7), ST_NO_TRANSITION" {
		t.Errorf("Error() = %q", m.Error())
	}
	for name, h := range map[string]string{
		"wMsgSize too big":    "ff031100070000000200000004000000",
		"wMsgSize too small":  "ff030f00070000000200000004000000",
		"blob overruns":       "ff031000070000000200000004000100",
		"trailing":            "ff03110007000000020000000400000000",
		"not an error alert":  "01031000070000000200000004000000",
		"short":               "ff0304",
		"missing blob header": "ff030c000700000002000000",
	} {
		if err := m.Unmarshal(unhex(t, name[:0]+h)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestLicenseRequestRoundTrip(t *testing.T) {
	r := LicenseRequest{Version: 0x00060000, CompanyName: "Microsoft Corporation", ProductID: "A02"}
	r.ServerRandom[0] = 7
	var got LicenseRequest
	if err := got.Unmarshal(r.Marshal()); err != nil || got != r {
		t.Fatalf("%v %+v", err, got)
	}
}

func TestLicenseNames(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{ErrNoLicenseServer.String(), "ERR_NO_LICENSE_SERVER"},
		{StatusValidClient.String(), "STATUS_VALID_CLIENT"},
		{ErrInvalidServerCertificate.String(), "ERR_INVALID_SERVER_CERTIFICATE"},
		{ErrInvalidMessageLen.String(), "ERR_INVALID_MESSAGE_LEN"},
		{ErrInvalidProductID.String(), "ERR_INVALID_PRODUCTID"},
		{LicenseErrorCode(5).String(), "LICENSE_ERROR_0x00000005"},
		{StTotalAbort.String(), "ST_TOTAL_ABORT"},
		{StResendLastMessage.String(), "ST_RESEND_LAST_MESSAGE"},
		{LicenseStateTransition(0).String(), "ST_0x00000000"},
		{LicenseRequestMsg.String(), "LICENSE_REQUEST"},
		{ErrorAlertMsg.String(), "ERROR_ALERT"},
		{UpgradeLicenseMsg.String(), "UPGRADE_LICENSE"},
		{LicenseMsgType(0x42).String(), "LICENSE_MSG_0x42"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func FuzzLicenseMessages(f *testing.F) {
	f.Add(unhex(f, "ff031000070000000200000004000000"))
	f.Add(loadHex(f, "license-xrdp-license-request")[19:])
	f.Add((&LicenseRequest{CompanyName: "x", ProductID: "y"}).Marshal())
	f.Add((&LicenseErrorMessage{ErrorCode: ErrNoLicenseServer, StateTransition: StTotalAbort, ErrorInfo: LicenseBinaryBlob{Type: BBErrorBlob, Data: []byte{1, 2}}}).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		var m, m2 LicenseErrorMessage
		if err := m.Unmarshal(b); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
		} else if err := m2.Unmarshal(m.Marshal()); err != nil || m2.ErrorCode != m.ErrorCode || m2.StateTransition != m.StateTransition || string(m2.ErrorInfo.Data) != string(m.ErrorInfo.Data) {
			t.Fatalf("round trip %v %+v %+v", err, m, m2)
		}
		var r LicenseRequest
		if err := r.Unmarshal(b); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error does not wrap ErrMalformed: %v", err)
		}
		if _, _, err := ParseLicensePreamble(b); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error does not wrap ErrMalformed: %v", err)
		}
	})
}
