package krb5conf

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const sample = `# a typical domain member's krb5.conf
[libdefaults]
	default_realm = corp.example.com
	dns_lookup_kdc = false
	udp_preference_limit = 1
	rdns = false

[realms]
	CORP.EXAMPLE.COM = {
		kdc = dc01.corp.example.com
		kdc = dc02.corp.example.com:88
		admin_server = dc01.corp.example.com
		auth_to_local = {
			RULE:[1:$1]
		}
	}
	LAB.TEST = {
		kdc = "tcp/127.0.0.1:33898"
	}

[domain_realm]
	.corp.example.com = CORP.EXAMPLE.COM
	corp.example.com = CORP.EXAMPLE.COM
	rds01.lab.test = lab.test
`

func TestParse(t *testing.T) {
	c, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if c.DefaultRealm != "CORP.EXAMPLE.COM" || c.DNSLookupKDC || c.UDPPreferenceLimit != 1 {
		t.Errorf("libdefaults: %+v", c)
	}
	want := map[string]Realm{
		"CORP.EXAMPLE.COM": {KDCs: []string{"dc01.corp.example.com", "dc02.corp.example.com:88"}},
		"LAB.TEST":         {KDCs: []string{"tcp/127.0.0.1:33898"}},
	}
	if !reflect.DeepEqual(c.Realms, want) {
		t.Errorf("realms %+v, want %+v", c.Realms, want)
	}
	for host, realm := range map[string]string{
		"rds01.corp.example.com": "CORP.EXAMPLE.COM",
		"corp.example.com":       "CORP.EXAMPLE.COM",
		"a.b.corp.example.com.":  "CORP.EXAMPLE.COM",
		"rds01.lab.test":         "LAB.TEST",
		"other.lab.test":         "",
		"example.com":            "",
		"rds01.corp.example.org": "",
	} {
		if got := c.RealmOf(host); got != realm {
			t.Errorf("RealmOf(%q) = %q, want %q", host, got, realm)
		}
	}
}

func TestParseDefaults(t *testing.T) {
	c, err := Parse(strings.NewReader("[libdefaults]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.DNSLookupKDC || c.DefaultRealm != "" || len(c.Realms) != 0 {
		t.Errorf("defaults: %+v", c)
	}
}

func TestParseRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"unterminated header": "[realms\n",
		"stray brace":         "[realms]\n}\n",
		"open group":          "[realms]\nX = {\nkdc = a\n",
		"long line":           "[libdefaults]\ndefault_realm = " + strings.Repeat("A", maxLine) + "\n",
		"too many kdcs":       "[realms]\nX = {\n" + strings.Repeat("kdc = a\n", maxKDCs+1) + "}\n",
	} {
		if _, err := Parse(strings.NewReader(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Parse(strings.NewReader(strings.Repeat("# comment line\n", maxBytes/10))); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a file over %d bytes: %v", maxBytes, err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "krb5.conf")
	if err := os.WriteFile(p, []byte(sample), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KRB5_CONFIG", filepath.Join(dir, "missing")+":"+p)
	c, path, err := Load()
	if err != nil || path != p || c.DefaultRealm != "CORP.EXAMPLE.COM" {
		t.Errorf("Load = %+v, %q, %v", c, path, err)
	}
	t.Setenv("KRB5_CONFIG", filepath.Join(dir, "missing"))
	if c, _, err := Load(); c != nil || err != nil {
		t.Errorf("a missing file: %+v, %v", c, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(sample)
	f.Add("[realms]\nX = {\nkdc = a\n}\n")
	f.Fuzz(func(t *testing.T, in string) {
		c, err := Parse(strings.NewReader(in))
		if err != nil {
			return
		}
		c.RealmOf("a.b.c")
		if len(c.Realms) > maxRealms {
			t.Fatalf("%d realms kept", len(c.Realms))
		}
		for _, r := range c.Realms {
			if len(r.KDCs) > maxKDCs {
				t.Fatalf("%d KDCs kept", len(r.KDCs))
			}
		}
	})
}
