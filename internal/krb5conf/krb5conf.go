// Package krb5conf reads what a Kerberos client needs from an MIT-style
// krb5.conf (krb5.conf(5)): the default realm, each realm's KDCs, whether
// to look KDCs up in DNS, and the domain-to-realm map. It reads, never
// resolves: the prober decides what to do with it.
package krb5conf

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Config is the part of krb5.conf rdpprobe uses.
type Config struct {
	DefaultRealm string
	// DNSLookupKDC is [libdefaults] dns_lookup_kdc; MIT's default is true.
	DNSLookupKDC bool
	// UDPPreferenceLimit is [libdefaults] udp_preference_limit: 1 means
	// TCP always (Windows' and our default is TCP).
	UDPPreferenceLimit int
	Realms             map[string]Realm // keyed by upper-case realm name
	// DomainRealm maps a host or ".domain" to a realm ([domain_realm]).
	DomainRealm map[string]string
}

// Realm is one [realms] entry.
type Realm struct {
	KDCs []string // "host", "host:port", "tcp/host:port", "udp/host:port"
}

// Limits: a krb5.conf is a few KiB; a hostile or broken file must not
// make us hold more.
const (
	maxBytes   = 1 << 20
	maxLine    = 4096
	maxKDCs    = 32
	maxRealms  = 256
	maxDomains = 1024
)

// ErrTooLarge is returned for a file over the limits above.
var ErrTooLarge = errors.New("krb5.conf: too large")

// Load reads the file KRB5_CONFIG names (the first of a colon list that
// exists), else /etc/krb5.conf. A missing file is not an error: it
// returns nil and the path it looked at.
func Load() (*Config, string, error) {
	paths := []string{"/etc/krb5.conf"}
	if v := os.Getenv("KRB5_CONFIG"); v != "" {
		paths = strings.Split(v, ":")
	}
	for _, p := range paths {
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, p, err
		}
		defer f.Close()
		c, err := Parse(f)
		if err != nil {
			return nil, p, fmt.Errorf("%s: %w", p, err)
		}
		return c, p, nil
	}
	return nil, strings.Join(paths, ":"), nil
}

// Parse reads krb5.conf syntax: [section] headers, "name = value"
// relations, and "name = { ... }" groups; "#" and ";" start comments.
// Unknown sections and relations are skipped.
func Parse(r io.Reader) (*Config, error) {
	c := &Config{DNSLookupKDC: true, Realms: map[string]Realm{}, DomainRealm: map[string]string{}}
	sc := bufio.NewScanner(io.LimitReader(r, maxBytes+1))
	sc.Buffer(make([]byte, 0, 1024), maxLine)
	var (
		section string
		realm   string // inside "REALM = {" in [realms]
		depth   int    // group nesting
		read    int
	)
	for sc.Scan() {
		line := sc.Text()
		read += len(line) + 1
		if read > maxBytes {
			return nil, ErrTooLarge
		}
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				return nil, fmt.Errorf("krb5.conf: unterminated section header %q", line)
			}
			section, realm, depth = strings.ToLower(strings.TrimSpace(line[1:end])), "", 0
			continue
		}
		if line == "}" {
			if depth == 0 {
				return nil, errors.New("krb5.conf: '}' without '{'")
			}
			depth--
			if depth == 0 {
				realm = ""
			}
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			continue // a relation without a value: nothing we use
		}
		name, value = strings.ToLower(strings.TrimSpace(name)), unquote(strings.TrimSpace(value))
		if value == "{" {
			depth++
			if section == "realms" && depth == 1 {
				realm = strings.ToUpper(strings.TrimSpace(line[:strings.IndexByte(line, '=')]))
				if _, ok := c.Realms[realm]; !ok && len(c.Realms) >= maxRealms {
					return nil, ErrTooLarge
				}
			}
			continue
		}
		switch {
		case section == "libdefaults" && depth == 0:
			switch name {
			case "default_realm":
				c.DefaultRealm = strings.ToUpper(value)
			case "dns_lookup_kdc", "dns_fallback":
				if b, ok := parseBool(value); ok {
					c.DNSLookupKDC = b
				}
			case "udp_preference_limit":
				var n int
				if _, err := fmt.Sscan(value, &n); err == nil {
					c.UDPPreferenceLimit = n
				}
			}
		case section == "realms" && depth == 1 && realm != "" && name == "kdc" && value != "":
			re := c.Realms[realm]
			if len(re.KDCs) >= maxKDCs {
				return nil, ErrTooLarge
			}
			re.KDCs = append(re.KDCs, value)
			c.Realms[realm] = re
		case section == "domain_realm" && depth == 0 && value != "":
			if len(c.DomainRealm) >= maxDomains {
				return nil, ErrTooLarge
			}
			c.DomainRealm[name] = strings.ToUpper(value)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, ErrTooLarge
		}
		return nil, fmt.Errorf("krb5.conf: %w", err)
	}
	if depth != 0 {
		return nil, errors.New("krb5.conf: '{' without '}'")
	}
	return c, nil
}

// RealmOf is the realm [domain_realm] gives host: an exact entry, else the
// longest ".suffix" entry; "" if none.
func (c *Config) RealmOf(host string) string {
	if c == nil {
		return ""
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if r, ok := c.DomainRealm[host]; ok {
		return r
	}
	for i := 0; i < len(host); i++ {
		if host[i] != '.' {
			continue
		}
		if r, ok := c.DomainRealm[host[i:]]; ok {
			return r
		}
		if r, ok := c.DomainRealm[host[i+1:]]; ok && strings.Contains(host[i+1:], ".") {
			return r
		}
	}
	return ""
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "y", "yes", "true", "t", "1", "on":
		return true, true
	case "n", "no", "false", "nil", "0", "off":
		return false, true
	}
	return false, false
}
