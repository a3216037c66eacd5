package negotiate

import (
	"errors"
	"reflect"
	"testing"
)

func TestErrorInfoNames(t *testing.T) {
	// Values and names from MS-RDPBCGR 2.2.5.1.1 (cross-checked with
	// FreeRDP include/freerdp/error.h, whose spellings differ slightly).
	for v, want := range map[uint32]string{
		0x0000: "ERRINFO_NONE",
		0x0001: "ERRINFO_RPC_INITIATED_DISCONNECT",
		0x0002: "ERRINFO_RPC_INITIATED_LOGOFF",
		0x0003: "ERRINFO_IDLE_TIMEOUT",
		0x0004: "ERRINFO_LOGON_TIMEOUT",
		0x0005: "ERRINFO_DISCONNECTED_BY_OTHERCONNECTION",
		0x0006: "ERRINFO_OUT_OF_MEMORY",
		0x0007: "ERRINFO_SERVER_DENIED_CONNECTION",
		0x0009: "ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES",
		0x000A: "ERRINFO_SERVER_FRESH_CREDENTIALS_REQUIRED",
		0x000B: "ERRINFO_RPC_INITIATED_DISCONNECT_BYUSER",
		0x000C: "ERRINFO_LOGOFF_BY_USER",
		0x0100: "ERRINFO_LICENSE_INTERNAL",
		0x0101: "ERRINFO_LICENSE_NO_LICENSE_SERVER",
		0x0102: "ERRINFO_LICENSE_NO_LICENSE",
		0x0103: "ERRINFO_LICENSE_BAD_CLIENT_MSG",
		0x0104: "ERRINFO_LICENSE_HWID_DOESNT_MATCH_LICENSE",
		0x0105: "ERRINFO_LICENSE_BAD_CLIENT_LICENSE",
		0x0106: "ERRINFO_LICENSE_CANT_FINISH_PROTOCOL",
		0x0107: "ERRINFO_LICENSE_CLIENT_ENDED_PROTOCOL",
		0x0108: "ERRINFO_LICENSE_BAD_CLIENT_ENCRYPTION",
		0x0109: "ERRINFO_LICENSE_CANT_UPGRADE_LICENSE",
		0x010A: "ERRINFO_LICENSE_NO_REMOTE_CONNECTIONS",
		0x010B: "ERRINFO_0x0000010B",
	} {
		e := ErrorInfo(v)
		if got := e.String(); got != want {
			t.Errorf("0x%X: %q, want %q", v, got, want)
		}
		if e.IsLicensing() != (v >= 0x100 && v <= 0x10A) {
			t.Errorf("0x%X: IsLicensing %v", v, e.IsLicensing())
		}
	}
	if e, err := ParseSetErrorInfo(unhex(t, "01010000")); err != nil || e != ErrInfoLicenseNoLicenseServer {
		t.Errorf("ParseSetErrorInfo: %v %v", e, err)
	}
	if _, err := ParseSetErrorInfo(unhex(t, "010100")); !errors.Is(err, ErrMalformed) {
		t.Errorf("short: %v", err)
	}
}

func TestLogonErrorNames(t *testing.T) {
	// Values from MS-RDPBCGR 2.2.10.1.1.4.1.1 (ErrorNotificationType and
	// ErrorNotificationData) and 2.2.10.1.1 (infoType), not the constants.
	for _, tt := range []struct{ got, want string }{
		{LogonErrorType(0xFFFFFFF8).String(), "LOGON_MSG_SESSION_BUSY_OPTIONS"},
		{LogonErrorType(0xFFFFFFF9).String(), "LOGON_MSG_DISCONNECT_REFUSED"},
		{LogonErrorType(0xFFFFFFFA).String(), "LOGON_MSG_NO_PERMISSION"},
		{LogonErrorType(0xFFFFFFFB).String(), "LOGON_MSG_BUMP_OPTIONS"},
		{LogonErrorType(0xFFFFFFFC).String(), "LOGON_MSG_RECONNECT_OPTIONS"},
		{LogonErrorType(0xFFFFFFFD).String(), "LOGON_MSG_SESSION_TERMINATE"},
		{LogonErrorType(0xFFFFFFFE).String(), "LOGON_MSG_SESSION_CONTINUE"},
		{LogonErrorType(0xFFFFFFFF).String(), "ERROR_CODE_ACCESS_DENIED"},
		{LogonErrorType(0xC000006D).String(), "STATUS_LOGON_FAILURE (0xC000006D)"},
		{LogonFailure(0).String(), "LOGON_FAILED_BAD_PASSWORD"},
		{LogonFailure(1).String(), "LOGON_FAILED_UPDATE_PASSWORD"},
		{LogonFailure(2).String(), "LOGON_FAILED_OTHER"},
		{LogonFailure(3).String(), "LOGON_WARNING"},
		{LogonFailure(4).String(), "LOGON_FAILURE_0x00000004"},
		{LogonErrorsInfo{Type: 0xFFFFFFFB, Data: 2}.String(), "LOGON_MSG_BUMP_OPTIONS (session 2)"},
		{LogonErrorsInfo{Type: 0xC0000224, Data: 1}.String(), "STATUS_PASSWORD_MUST_CHANGE (0xC0000224) (LOGON_FAILED_UPDATE_PASSWORD)"},
		{InfoType(0).String(), "INFOTYPE_LOGON"},
		{InfoType(1).String(), "INFOTYPE_LOGON_LONG"},
		{InfoType(2).String(), "INFOTYPE_LOGON_PLAINNOTIFY"},
		{InfoType(3).String(), "INFOTYPE_LOGON_EXTENDED_INFO"},
		{InfoType(9).String(), "INFOTYPE_0x00000009"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestSaveSessionInfo(t *testing.T) {
	// TS_LOGON_INFO_EXTENDED with only a logon error, built field by field
	// from MS-RDPBCGR 2.2.10.1.1.4: Length 18 (2+4+4+8), FieldsPresent
	// LOGON_EX_LOGONERRORS, cbFieldData 8, ErrorNotificationType
	// LOGON_MSG_SESSION_BUSY_OPTIONS, ErrorNotificationData session 1,
	// then 570 bytes of padding.
	ext := unhex(t, "03000000 1200 02000000 08000000 f8ffffff 01000000")
	ext = append(ext, make([]byte, 570)...)
	var s SaveSessionInfo
	if err := s.Unmarshal(ext); err != nil {
		t.Fatal(err)
	}
	if s.InfoType != InfoTypeLogonExtendedInfo || s.LoggedOn() || *s.LogonErrors != (LogonErrorsInfo{Type: LogonMsgSessionBusyOptions, Data: 1}) {
		t.Errorf("got %+v", s)
	}
	if got := s.Marshal(); !reflect.DeepEqual(got, ext) {
		t.Errorf("Marshal = %x", got[:24])
	}
	for _, in := range []SaveSessionInfo{
		{InfoType: InfoTypeLogon, Domain: "LAB", UserName: "labuser", SessionID: 2},
		{InfoType: InfoTypeLogonLong, Domain: "LAB", UserName: "labuser", SessionID: 2},
		{InfoType: InfoTypeLogonPlainNotify},
		{InfoType: InfoTypeLogonExtendedInfo, FieldsPresent: LogonExAutoReconnectCookie | LogonExLogonErrors, AutoReconnectCookie: make([]byte, 28),
			LogonErrors: &LogonErrorsInfo{Type: LogonErrorType(StatusLogonFailure)}},
	} {
		var got SaveSessionInfo
		if err := got.Unmarshal(in.Marshal()); err != nil || !reflect.DeepEqual(got, in) {
			t.Errorf("%s: %v\n%+v\n%+v", in.InfoType, err, got, in)
		}
	}
	for name, h := range map[string]string{
		"unknown type":      "09000000",
		"short logon":       "00000000 08000000",
		"v2 bad version":    "01000000 0200 40020000",
		"ext length small":  "03000000 0400 02000000",
		"ext errors cb 4":   "03000000 0e00 02000000 04000000 00000000",
		"ext fields short":  "03000000 0e00 02000000 08000000 00000000",
		"ext length beyond": "03000000 ff00 02000000",
	} {
		if err := s.Unmarshal(unhex(t, h)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzSetErrorInfo(f *testing.F) {
	f.Add(unhex(f, "01010000"))
	f.Add(unhex(f, "0b000000"))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseSetErrorInfo(b)
		if (err == nil) != (len(b) == 4) {
			t.Fatalf("len %d: %v", len(b), err)
		}
		if err == nil && string(e.Marshal()) != string(b) {
			t.Fatalf("round trip %x", b)
		}
		_ = e.String()
	})
}

func FuzzSaveSessionInfo(f *testing.F) {
	for _, s := range []SaveSessionInfo{
		{InfoType: InfoTypeLogon, Domain: "LAB", UserName: "labuser", SessionID: 2},
		{InfoType: InfoTypeLogonLong, Domain: "LAB", UserName: "labuser", SessionID: 2},
		{InfoType: InfoTypeLogonPlainNotify},
		{InfoType: InfoTypeLogonExtendedInfo, LogonErrors: &LogonErrorsInfo{Type: LogonMsgNoPermission, Data: 3}},
	} {
		f.Add(s.Marshal())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s SaveSessionInfo
		if err := s.Unmarshal(b); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		var again SaveSessionInfo
		if err := again.Unmarshal(s.Marshal()); err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if again.InfoType != s.InfoType || again.SessionID != s.SessionID || (again.LogonErrors == nil) != (s.LogonErrors == nil) ||
			(s.LogonErrors != nil && *again.LogonErrors != *s.LogonErrors) {
			t.Fatalf("round trip\n%+v\n%+v", s, again)
		}
		if s.LogonErrors != nil {
			_ = s.LogonErrors.String()
		}
	})
}
