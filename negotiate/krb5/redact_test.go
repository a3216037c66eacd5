package krb5

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// No verb prints a password or a key.
func TestNoSecretInOutput(t *testing.T) {
	c, s := contexts(t)
	kt := testKeytab(t, "service-secret")
	st := testTicket(t, kt, ETypeAES256)
	cc, err := ParseCCache(buildCCache(t, fixedNow().Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	cl := &Client{User: "alice", Realm: testRealm, Password: "Sup3r-Secret"}
	for _, v := range []any{cl, st, c, s, cc} {
		for _, verb := range []string{"%v", "%+v", "%s"} {
			out := fmt.Sprintf(verb, v)
			for _, secret := range []string{"Sup3r-Secret", fmt.Sprintf("%x", st.SessionKey.KeyValue), string(st.SessionKey.KeyValue),
				fmt.Sprint(st.SessionKey.KeyValue), fmt.Sprint(c.key.KeyValue), fmt.Sprint(cc.Credentials[0].Key.KeyValue)} {
				if strings.Contains(out, secret) {
					t.Fatalf("%s of %T shows a secret: %s", verb, v, out)
				}
			}
		}
	}
}
