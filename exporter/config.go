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
	"github.com/rdpprobe/rdpprobe/internal/secret"
	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
)

// Defaults of a module's optional settings.
const (
	DefaultTimeout       = 15 * time.Second
	DefaultLogonCacheTTL = 5 * time.Minute
)

// Config is the exporter's configuration file (rdpprobe.yml): a set of named
// modules, as in blackbox_exporter.
type Config struct {
	Modules map[string]*Module `yaml:"modules"`
}

// Module says how to probe a target: how deep, offering what, within which
// deadline, with which account, and which classes count as success.
type Module struct {
	// Phases to run; the deepest one listed is where the probe stops
	// (probe.Options.Depth). Empty: as deep as the server and the
	// credentials allow.
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
	// Gateway, if set, probes every target through this RD Gateway.
	Gateway *Gateway `yaml:"gateway,omitempty"`

	// Resolved at load time.
	name        string
	depth       probe.Phase
	offer       negotiate.Protocol
	allowRDP    bool
	password    string
	gateway     *probe.GatewayOptions // Gateway resolved, its password included
	fingerprint string                // changes whenever anything about the module does, the passwords included
}

// Gateway is a module's RD Gateway: its address, how to reach it, and the
// account it logs on with (default: the module's credentials, as mstsc's
// "use my RD Gateway credentials for the remote computer").
type Gateway struct {
	// Address is host or host:port (443).
	Address string `yaml:"address"`
	// User, PasswordFile, PasswordEnv: as in Credentials. Without User the
	// module's account logs on to the gateway, with its password unless
	// one of PasswordFile and PasswordEnv gives another.
	User         string `yaml:"user,omitempty"`
	PasswordFile string `yaml:"password_file,omitempty"`
	PasswordEnv  string `yaml:"password_env,omitempty"`
	// Transport: auto (default), http or websocket.
	Transport string `yaml:"transport,omitempty"`
	// AllowBasic answers a gateway that offers only Basic authentication.
	AllowBasic bool `yaml:"allow_basic,omitempty"`
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

// Logon reports whether a probe with this module may send credentials (to
// the target, or to its gateway): the lockout rules (cache, block after a
// bad password) apply to it.
func (m *Module) Logon() bool {
	return m.Credentials != nil && (m.depth == "" || m.depth == probe.PhaseLogon || m.depth == probe.PhaseSession) || m.gatewayLogon()
}

// gatewayLogon: the module logs on to an RD Gateway.
func (m *Module) gatewayLogon() bool { return m.gateway != nil && m.gateway.Credentials != nil }

// Name is the module's name in the config file.
func (m *Module) Name() string { return m.name }

// options are the probe options for this module; the deadline comes from
// the scrape.
func (m *Module) options() probe.Options {
	opt := probe.Options{
		Protocols:        m.offer,
		AllowStandardRDP: m.allowRDP,
		Depth:            m.depth,
		Timeout:          m.Timeout,
		PhaseTimeout:     m.PhaseTimeout,
	}
	if m.Credentials != nil {
		user, domain, _ := probe.ParseAccount(m.Credentials.User) // checked at load
		opt.Credentials = &probe.Credentials{User: user, Domain: domain, Password: m.password}
	}
	if g := m.gateway; g != nil {
		gw := *g
		if c := g.Credentials; c != nil {
			cc := *c
			gw.Credentials = &cc
		}
		opt.Gateway = &gw
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
		return nil, err
	}
	if len(c.Modules) == 0 {
		return nil, errors.New("no modules")
	}
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
		if err := m.resolve(dir, lookupEnv); err != nil {
			return nil, fmt.Errorf("module %q: %w", name, err)
		}
	}
	return &c, nil
}

func (m *Module) resolve(dir string, lookupEnv func(string) (string, bool)) error {
	phases := make([]probe.Phase, len(m.Phases))
	for i, s := range m.Phases {
		p, err := probe.ParsePhase(s)
		if err != nil {
			return fmt.Errorf("phases: %w", err)
		}
		phases[i] = p
	}
	m.depth = probe.Deepest(phases...)
	if m.depth == probe.PhaseLogon && m.Credentials == nil {
		return errors.New("phases: logon needs credentials")
	}
	if m.Credentials != nil && m.depth != "" && m.depth != probe.PhaseLogon && m.depth != probe.PhaseSession {
		return fmt.Errorf("credentials given but phases stop at %s: add logon to phases or remove the credentials", m.depth)
	}

	protocols := m.Protocols
	if len(protocols) == 0 {
		protocols = strings.Split(probe.DefaultOffer, ",")
	}
	var err error
	if m.offer, m.allowRDP, err = probe.ParseOffer(strings.Join(protocols, ",")); err != nil {
		return fmt.Errorf("protocols: %w", err)
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

	if err := m.resolveGateway(dir, lookupEnv); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}

	// The fingerprint covers the module as written plus the passwords, so
	// that fixing a password file and reloading lifts a logon block.
	desc, _ := json.Marshal(m)
	h := sha256.New()
	h.Write(desc)
	h.Write([]byte{0})
	h.Write([]byte(m.password))
	if m.gatewayLogon() {
		h.Write([]byte{0})
		h.Write([]byte(m.gateway.Credentials.Password))
	}
	m.fingerprint = hex.EncodeToString(h.Sum(nil))
	return nil
}

// resolveGateway checks the gateway's settings and reads its password.
func (m *Module) resolveGateway(dir string, lookupEnv func(string) (string, bool)) error {
	g := m.Gateway
	if g == nil {
		return nil
	}
	if _, _, err := probe.SplitTarget(g.Address, probe.DefaultGatewayPort); err != nil {
		return fmt.Errorf("address: %w", err)
	}
	tr, err := probe.ParseGatewayTransport(g.Transport)
	if err != nil {
		return fmt.Errorf("transport: %w", err)
	}
	o := &probe.GatewayOptions{Address: g.Address, Transport: tr, AllowBasic: g.AllowBasic}
	m.gateway = o
	account := g.User
	if account == "" && m.Credentials != nil {
		account = m.Credentials.User
	}
	switch {
	case account == "" && (g.PasswordFile != "" || g.PasswordEnv != ""):
		return errors.New("a password but no account: give user, or credentials to the module")
	case account == "":
		return nil // no logon: the gateway will say it needs one
	case g.PasswordFile != "" && g.PasswordEnv != "":
		return errors.New("give at most one of password_file and password_env")
	}
	user, domain, err := probe.ParseAccount(account)
	if err != nil {
		return fmt.Errorf("user: %w", err)
	}
	o.Credentials = &probe.Credentials{User: user, Domain: domain, Password: m.password}
	if g.PasswordFile == "" && g.PasswordEnv == "" {
		if g.User != "" {
			return errors.New("user needs password_file or password_env (a password is never written in the config)")
		}
		return nil // the module's account and password
	}
	src, key := secret.Sources{Env: g.PasswordEnv, LookupEnv: lookupEnv}, "password_env"
	if g.PasswordFile != "" {
		src, key = secret.Sources{File: g.PasswordFile}, "password_file"
		if !filepath.IsAbs(src.File) {
			src.File = filepath.Join(dir, src.File)
		}
	}
	if o.Credentials.Password, _, err = secret.Password(src); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}
