package exporter

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v2"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/internal/cli"
	"github.com/rdpprobe/rdpprobe/internal/krb5conf"
	"github.com/rdpprobe/rdpprobe/internal/secret"
	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
)

// DefaultModule answers a /probe without module= (unless the config has a
// module named "default"), and is the one module of a config without any:
// no credentials, up to the NTLM CHALLENGE, safe to scrape anywhere.
const DefaultModule = "rdp_nla_info"

// ModuleFor is the module a scrape asks for with module=name: the one of
// that name, or for an empty name the module "default" or DefaultModule.
// The error lists the modules there are.
func (c *Config) ModuleFor(name string) (*Module, error) {
	if name == "" {
		for _, n := range []string{"default", DefaultModule} {
			if m := c.Modules[n]; m != nil {
				return m, nil
			}
		}
		return nil, fmt.Errorf("no module given and none named default or %s: add module=NAME, one of %s", DefaultModule, c.moduleNames())
	}
	if m := c.Modules[name]; m != nil {
		return m, nil
	}
	msg := fmt.Sprintf("Unknown module %q: the modules are %s", name, c.moduleNames())
	var names []string
	for n := range c.Modules {
		names = append(names, n)
	}
	if near := cli.ClosestWord(name, names); near != "" {
		msg += fmt.Sprintf("; did you mean %s?", near)
	}
	return nil, errors.New(msg)
}

func (c *Config) moduleNames() string {
	names := make([]string, 0, len(c.Modules))
	for n := range c.Modules {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// Defaults of a module's optional settings.
const (
	DefaultTimeout       = 15 * time.Second
	DefaultLogonCacheTTL = 5 * time.Minute
)

// Config is the exporter's configuration file (rdpprobe.yml): a set of named
// modules, as in blackbox_exporter.
type Config struct {
	Modules map[string]*Module `yaml:"modules"`
	// Warnings are what loaded but should change (a deprecated key), one
	// line each, naming the module; serve logs them.
	Warnings []string `yaml:"-"`
}

// Module says how to probe a target: how deep, offering what, within which
// deadline, with which account, and which classes count as success.
type Module struct {
	// Depth is the phase the probe stops after (probe.Options.Depth), as
	// rdpprobe --depth. Empty: as deep as the server and the credentials
	// allow.
	Depth string `yaml:"depth,omitempty"`
	// Phases is the deprecated spelling of Depth: a list of phases, the
	// deepest of which is where the probe stops.
	Phases []string `yaml:"phases,omitempty"`
	// Protocols offered in RDP_NEG_REQ: rdp, tls, nla, nla-ext (default tls, nla, nla-ext, as mstsc).
	Protocols []string `yaml:"protocols,omitempty"`
	// Timeout bounds the probe (default 15s); a shorter scrape timeout
	// (minus the exporter's offset) wins.
	Timeout time.Duration `yaml:"timeout,omitempty"`
	// PhaseTimeout bounds each phase within Timeout (default: the probe's, 5s).
	PhaseTimeout time.Duration `yaml:"phase_timeout,omitempty"`
	// ExpectClass lists the classes that make probe_success 1 (default ["ok"]).
	ExpectClass []classify.ID `yaml:"expect_class,omitempty"`
	// Credentials for the logon phase.
	Credentials *Credentials `yaml:"credentials,omitempty"`
	// LogonCacheTTL is how long a logon's result answers scrapes before the
	// next logon attempt (default 5m). Only modules that log on use it.
	LogonCacheTTL time.Duration `yaml:"logon_cache_ttl,omitempty"`
	// AutologonWithoutNLA puts the password in the Client Info of a server
	// without NLA (probe.Options.AutologonWithoutNLA): nothing authenticated
	// that server, and a man in the middle who strips NLA reads it. Needs
	// credentials and the session phase.
	AutologonWithoutNLA bool `yaml:"autologon_without_nla,omitempty"`
	// Auth is the security package inside NLA: negotiate (default, as
	// mstsc), kerberos or ntlm.
	Auth string `yaml:"auth,omitempty"`
	// Realm, KDC and SPN are as the command's --realm, --kdc, --spn:
	// empty to choose from the account, krb5.conf and DNS SRV.
	Realm string   `yaml:"realm,omitempty"`
	KDC   []string `yaml:"kdc,omitempty"`
	SPN   string   `yaml:"spn,omitempty"`
	// TLSConfig says how the server's certificate is judged, in
	// blackbox_exporter's shape.
	TLSConfig *TLSConfig `yaml:"tls_config,omitempty"`
	// RequireTrustedCert fails the probe (cert_not_trusted) right after
	// the TLS handshake when the certificate is neither trusted nor pinned.
	RequireTrustedCert bool `yaml:"require_trusted_cert,omitempty"`
	// CertSHA256 pins the certificate: any other fails the probe
	// (cert_not_trusted).
	CertSHA256 string `yaml:"cert_sha256,omitempty"`

	// Resolved at load time.
	name        string
	depth       probe.Phase
	offer       negotiate.Protocol
	allowRDP    bool
	password    string
	auth        probe.AuthMode
	krb5conf    *krb5conf.Config
	cert        probe.CertPolicy
	fingerprint string // changes whenever anything about the module does, the password included
}

// TLSConfig is a module's tls_config: the keys of blackbox_exporter's that
// mean something for a certificate the probe judges but never refuses in
// the handshake.
type TLSConfig struct {
	// CAFile: PEM certificates (the enterprise root) trusted besides the
	// system's; relative to the config file, read at load.
	CAFile string `yaml:"ca_file,omitempty"`
	// ServerName is the name the certificate must hold (and the SNI),
	// instead of the target's host.
	ServerName string `yaml:"server_name,omitempty"`
}

// Credentials name an account and where its password comes from. The
// password itself is never in the file.
type Credentials struct {
	// User is DOMAIN\user, COMPUTER\user, .\user or user@upn.
	User string `yaml:"user"`
	// PasswordFile: the first line of this file (relative to the config
	// file). The file must not be readable by group or others.
	PasswordFile string `yaml:"password_file,omitempty"`
	// PasswordEnv: the name of an environment variable holding the password.
	PasswordEnv string `yaml:"password_env,omitempty"`
}

// Logon reports whether a probe with this module may send credentials: the
// lockout rules (cache, block after a bad password) apply to it.
func (m *Module) Logon() bool {
	return m.Credentials != nil && (m.depth == "" || m.depth == probe.PhaseLogon || m.depth == probe.PhaseSession)
}

// Name is the module's name in the config file.
func (m *Module) Name() string { return m.name }

// options are the probe options for this module; the deadline comes from
// the scrape.
func (m *Module) options() probe.Options {
	opt := probe.Options{
		Protocols:           m.offer,
		AllowStandardRDP:    m.allowRDP,
		Depth:               m.depth,
		Timeout:             m.Timeout,
		PhaseTimeout:        m.PhaseTimeout,
		Auth:                m.auth,
		Kerberos:            probe.KerberosOptions{Realm: m.Realm, KDCs: m.KDC, SPN: m.SPN, Config: m.krb5conf},
		Cert:                m.cert,
		RequireTrustedCert:  m.RequireTrustedCert,
		AutologonWithoutNLA: m.AutologonWithoutNLA,
	}
	if m.Credentials != nil {
		user, domain, _ := probe.ParseAccount(m.Credentials.User) // checked at load
		opt.Credentials = &probe.Credentials{User: user, Domain: domain, Password: m.password}
	}
	return opt
}

// expects reports whether class counts as success for this module.
func (m *Module) expects(class classify.ID) bool { return slices.Contains(m.ExpectClass, class) }

// LoadFile reads, checks and resolves a config file: unknown keys are errors
// (with their line), password files and variables are read now, so a bad
// file never replaces a running config.
func LoadFile(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := Parse(b, filepath.Dir(path), os.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse checks and resolves a config; relative password files are taken
// from dir, variables from lookupEnv.
func Parse(b []byte, dir string, lookupEnv func(string) (string, bool)) (*Config, error) {
	var c Config
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		return nil, yamlError(err)
	}
	if len(c.Modules) == 0 {
		// As blackbox answers with http_2xx: a file with no modules gets
		// the one that is safe to scrape anywhere.
		c.Modules = map[string]*Module{DefaultModule: {Depth: string(probe.PhaseNTLMInfo)}}
		c.Warnings = append(c.Warnings, fmt.Sprintf("no modules in the file: using the built-in %s (no credentials, up to the NTLM CHALLENGE)", DefaultModule))
	}
	// Which keys each module spells out: a timeout written as 0s is an
	// error, not the default (the strict pass above checked the file).
	var written struct {
		Modules map[string]map[string]any `yaml:"modules"`
	}
	yaml.Unmarshal(b, &written)
	names := make([]string, 0, len(c.Modules))
	for name := range c.Modules {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		m := c.Modules[name]
		if m == nil {
			m = &Module{}
			c.Modules[name] = m
		}
		m.name = name
		if err := m.checkDeadlines(written.Modules[name]); err != nil {
			return nil, fmt.Errorf("module %q: %w", name, err)
		}
		if err := m.resolve(dir, lookupEnv); err != nil {
			return nil, fmt.Errorf("module %q: %w", name, err)
		}
		if len(m.Phases) > 0 {
			c.Warnings = append(c.Warnings, fmt.Sprintf("module %q: phases is deprecated, write depth: %s (the deepest phase listed), "+
				"as rdpprobe --depth; phases goes away in the next release", name, m.depth))
		}
	}
	return &c, nil
}

// checkDeadlines refuses a timeout or phase_timeout that is written but
// not positive: only a key left out takes the default.
func (m *Module) checkDeadlines(written map[string]any) error {
	for _, d := range []struct {
		key   string
		value time.Duration
	}{{"timeout", m.Timeout}, {"phase_timeout", m.PhaseTimeout}} {
		if _, ok := written[d.key]; ok && d.value <= 0 {
			return fmt.Errorf("%s must be positive, not %v (leave it out for the default)", d.key, d.value)
		}
	}
	return nil
}

func (m *Module) resolve(dir string, lookupEnv func(string) (string, bool)) error {
	key := "depth"
	switch {
	case m.Depth != "" && len(m.Phases) > 0:
		return errors.New("phases is the old name of depth: give depth only")
	case m.Depth != "":
		p, err := probe.ParsePhase(m.Depth)
		if err != nil {
			return fmt.Errorf("depth: %w", err)
		}
		m.depth = p
	case len(m.Phases) > 0:
		key = "phases"
		phases := make([]probe.Phase, len(m.Phases))
		for i, s := range m.Phases {
			p, err := probe.ParsePhase(s)
			if err != nil {
				return fmt.Errorf("phases: %w", err)
			}
			phases[i] = p
		}
		m.depth = probe.Deepest(phases...)
	}
	if m.depth == probe.PhaseLogon && m.Credentials == nil {
		return fmt.Errorf("%s: logon needs credentials", key)
	}
	if m.Credentials != nil && m.depth != "" && m.depth != probe.PhaseLogon && m.depth != probe.PhaseSession {
		return fmt.Errorf("credentials given but the probe stops at %s: set depth: logon (or leave depth out) or remove the credentials", m.depth)
	}

	if m.AutologonWithoutNLA && (m.Credentials == nil || m.depth != probe.PhaseSession) {
		return errors.New("autologon_without_nla needs credentials and the session phase")
	}

	protocols := m.Protocols
	if len(protocols) == 0 {
		protocols = strings.Split(probe.DefaultOffer, ",")
	}
	var err error
	if m.offer, m.allowRDP, err = probe.ParseOffer(strings.Join(protocols, ",")); err != nil {
		return fmt.Errorf("protocols: %w", err)
	}

	if m.auth, err = probe.ParseAuthMode(m.Auth); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	for _, k := range m.KDC {
		if _, err := probe.ParseKDC(k); err != nil {
			return fmt.Errorf("kdc: %w", err)
		}
	}
	if m.auth == probe.AuthNTLM && (m.Realm != "" || len(m.KDC) > 0 || m.SPN != "") {
		return errors.New("auth: ntlm: realm, kdc and spn are for Kerberos")
	}
	if m.auth != probe.AuthNTLM {
		// krb5.conf (KRB5_CONFIG, else /etc/krb5.conf) is read at load,
		// like the password: a reload picks up a change.
		conf, path, err := krb5conf.Load()
		if err != nil {
			return fmt.Errorf("krb5.conf %s: %w", path, err)
		}
		m.krb5conf = conf
	}

	if m.Timeout < 0 || m.PhaseTimeout < 0 || m.LogonCacheTTL < 0 {
		return errors.New("timeout, phase_timeout and logon_cache_ttl must not be negative")
	}
	if m.Timeout == 0 {
		m.Timeout = DefaultTimeout
	}
	if m.LogonCacheTTL == 0 {
		m.LogonCacheTTL = DefaultLogonCacheTTL
	}

	if tc := m.TLSConfig; tc != nil {
		if tc.CAFile != "" {
			file := tc.CAFile
			if !filepath.IsAbs(file) {
				file = filepath.Join(dir, file)
			}
			if m.cert.Roots, err = probe.LoadRoots(file); err != nil {
				return fmt.Errorf("tls_config: ca_file: %w", err)
			}
		}
		m.cert.ServerName = tc.ServerName
	}
	if m.CertSHA256 != "" {
		if m.cert.SHA256, err = probe.ParseFingerprint(m.CertSHA256); err != nil {
			return fmt.Errorf("cert_sha256: %w", err)
		}
	}

	if len(m.ExpectClass) == 0 {
		m.ExpectClass = []classify.ID{classify.OK}
	}
	for _, id := range m.ExpectClass {
		if _, ok := classify.Lookup(id); !ok {
			return fmt.Errorf("expect_class: unknown class %q", id)
		}
	}

	if c := m.Credentials; c != nil {
		if _, _, err := probe.ParseAccount(c.User); err != nil {
			return fmt.Errorf("credentials: %w", err)
		}
		if (c.PasswordFile == "") == (c.PasswordEnv == "") {
			return errors.New("credentials: give exactly one of password_file and password_env (a password is never written in the config)")
		}
		src := secret.Sources{Env: c.PasswordEnv, LookupEnv: lookupEnv} // no prompt: a service has no terminal
		key := "password_env"
		if c.PasswordFile != "" {
			src, key = secret.Sources{File: c.PasswordFile}, "password_file"
			if !filepath.IsAbs(src.File) {
				src.File = filepath.Join(dir, src.File)
			}
		}
		if m.password, _, err = secret.Password(src); err != nil {
			return fmt.Errorf("credentials: %s: %w", key, err)
		}
	}

	// The fingerprint covers the module as written plus the password, so
	// that fixing a password file and reloading lifts a logon block.
	desc, _ := json.Marshal(m)
	h := sha256.New()
	h.Write(desc)
	h.Write([]byte{0})
	h.Write([]byte(m.password))
	m.fingerprint = hex.EncodeToString(h.Sum(nil))
	return nil
}
