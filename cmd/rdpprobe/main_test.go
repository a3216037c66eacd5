package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestMain points Kerberos at the lab's krb5.conf, or at an empty one, so
// that no test follows the machine's /etc/krb5.conf to a KDC off this host
// (Debian's default names kerberos.mit.edu).
func TestMain(m *testing.M) {
	conf, tmp := os.Getenv("RDPLAB_KRB5_CONFIG"), ""
	if _, err := os.Stat(conf); conf == "" || err != nil {
		dir, err := os.MkdirTemp("", "rdpprobe-krb5")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		tmp = dir
		conf = filepath.Join(dir, "krb5.conf")
		// dns_lookup_kdc off: a realm with no KDC listed stays unlocated.
		if err := os.WriteFile(conf, []byte("[libdefaults]\n\tdns_lookup_kdc = false\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Setenv("KRB5_CONFIG", conf)
	os.Unsetenv("KRB5CCNAME")
	code := m.Run()
	if tmp != "" {
		os.RemoveAll(tmp)
	}
	os.Exit(code)
}
