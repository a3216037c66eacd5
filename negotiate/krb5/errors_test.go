package krb5

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/messages"

	"github.com/rdpprobe/rdpprobe/negotiate"
)

// Real KRB-ERRORs of the lab's MIT KDC (TestLabWriteTestdata records them).
func TestParseKRBErrorMIT(t *testing.T) {
	tests := []struct {
		file  string
		code  ErrorCode
		etext string
		info  bool // PA-ETYPE-INFO2 in e-data
	}{
		{"mit-preauth-required", KDCErrPreauthRequired, "", true},
		{"mit-preauth-failed", KDCErrPreauthFailed, "PREAUTH_FAILED", true},
		{"mit-client-revoked", KDCErrClientRevoked, "LOCKED_OUT", false},
		{"mit-s-principal-unknown", KDCErrSPrincipalUnknown, "LOOKING_UP_SERVER", false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ke, err := ParseKRBError(loadHex(t, tt.file), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if ke.Code != tt.code || !strings.Contains(ke.EText, tt.etext) || ke.ServerTime.IsZero() || ke.Realm != "LAB.TEST" {
				t.Fatalf("%+v", ke)
			}
			if got := len(ke.EData.ETypeInfo2) > 0; got != tt.info {
				t.Fatalf("ETYPE-INFO2 %+v, want present=%v", ke.EData, tt.info)
			}
			if tt.info {
				e := ke.EData.ETypeInfo2[0]
				if e.EType != ETypeAES256 || !e.HasSalt || !strings.HasPrefix(e.Salt, "LAB.TEST") || ke.EData.Form != "METHOD-DATA" {
					t.Errorf("ETYPE-INFO2 %+v (form %s)", e, ke.EData.Form)
				}
			}
			if _, ok := ke.Status(); ok {
				t.Error("MIT sends no NTSTATUS")
			}
		})
	}
}

// krbError builds a KRB-ERROR as a KDC would send it.
func krbError(t *testing.T, code ErrorCode, edata []byte) []byte {
	t.Helper()
	st, usec := kerberosTime(fixedNow())
	m := messages.KRBError{PVNO: 5, MsgType: msgError, STime: st, Susec: usec, ErrorCode: int32(code),
		Realm: testRealm, SName: principal(nameTypeSrvInst, "krbtgt/"+testRealm), EData: edata}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Windows puts the NTSTATUS behind KDC_ERR_CLIENT_REVOKED in e-data (MS-KILE
// 2.2.1, 2.2.2): as METHOD-DATA with a PA-PW-SALT of 12 octets, or as
// KERB-ERROR-DATA of type KERB_ERR_TYPE_EXTENDED. Either way locked out and
// disabled are told apart.
func TestEDataNTStatus(t *testing.T) {
	for _, tt := range []struct {
		name  string
		edata []byte
		form  string
		want  negotiate.NTStatus
	}{
		{"locked, METHOD-DATA", marshalExtErrorMethodData(negotiate.StatusAccountLockedOut), "METHOD-DATA", negotiate.StatusAccountLockedOut},
		{"disabled, METHOD-DATA", marshalExtErrorMethodData(negotiate.StatusAccountDisabled), "METHOD-DATA", negotiate.StatusAccountDisabled},
		{"logon hours, KERB-ERROR-DATA", marshalKerbErrorData(negotiate.StatusInvalidLogonHours), "KERB-ERROR-DATA", negotiate.StatusInvalidLogonHours},
		{"expired, KERB-ERROR-DATA", marshalKerbErrorData(negotiate.StatusAccountExpired), "KERB-ERROR-DATA", negotiate.StatusAccountExpired},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ke, err := ParseKRBError(krbError(t, KDCErrClientRevoked, tt.edata), fixedNow())
			if err != nil {
				t.Fatal(err)
			}
			st, ok := ke.Status()
			if !ok || st != tt.want || ke.EData.Form != tt.form {
				t.Fatalf("status %v %v form %s, want %v %s", st, ok, ke.EData.Form, tt.want, tt.form)
			}
			err = &KDCError{Step: StepASNoPreauth, KDC: "dc01:88", KRBError: *ke}
			if !strings.Contains(err.Error(), "KDC_ERR_CLIENT_REVOKED (18) ["+tt.want.Name()) {
				t.Errorf("message %q", err)
			}
		})
	}
}

// e-data is a claim: what does not parse is kept raw, the error stands.
func TestEDataMalformed(t *testing.T) {
	for name, ed := range map[string][]byte{
		"not DER":            {0x01, 0x02},
		"trailing":           append(marshalKerbErrorData(negotiate.StatusAccountDisabled), 0),
		"mixed forms":        {0x30, 0x0e, 0x30, 0x05, 0xa1, 0x03, 0x02, 0x01, 0x03, 0x30, 0x05, 0xa0, 0x03, 0x02, 0x01, 0x03},
		"etype-info2 broken": {0x30, 0x0a, 0x30, 0x08, 0xa1, 0x03, 0x02, 0x01, 0x13, 0xa2, 0x01, 0x00},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseEData(ed); !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseEData: %v", err)
			}
			ke, err := ParseKRBError(krbError(t, KDCErrPolicy, ed), fixedNow())
			if err != nil || ke.Code != KDCErrPolicy || ke.EData.Raw == nil {
				t.Fatalf("%+v, %v", ke, err)
			}
		})
	}
}

func TestErrorCodeString(t *testing.T) {
	for c, want := range map[ErrorCode]string{
		KDCErrPreauthFailed: "KDC_ERR_PREAUTH_FAILED (24)", KRBAPErrSkew: "KRB_AP_ERR_SKEW (37)",
		KDCErrSPrincipalUnknown: "KDC_ERR_S_PRINCIPAL_UNKNOWN (7)", 99: "error code 99",
	} {
		if got := c.String(); got != want {
			t.Errorf("%d: %q, want %q", int32(c), got, want)
		}
	}
}

// A server clock centuries off is not kept as a time.
func TestKRBErrorTimeClaim(t *testing.T) {
	b := krbError(t, KRBAPErrSkew, nil)
	ke, err := ParseKRBError(b, fixedNow().AddDate(200, 0, 0))
	if err != nil || !ke.ServerTime.IsZero() {
		t.Fatalf("server time %v, %v", ke.ServerTime, err)
	}
	if _, ok := ke.Skew(); ok {
		t.Fatal("a skew from no clock")
	}
}

func TestNoKDC(t *testing.T) {
	c := &Client{Realm: testRealm, User: "alice"}
	_, err := c.ServiceTicket(context.Background(), testSPN)
	var ue *KDCUnreachableError
	if !errors.As(err, &ue) || len(ue.Tried) != 0 || !strings.Contains(err.Error(), "no KDC configured") {
		t.Fatalf("%v", err)
	}
}
