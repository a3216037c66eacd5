package exporter

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/rdptest"
)

func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // umask
		t.Fatal(err)
	}
	return p
}

func noEnv(string) (string, bool) { return "", false }

func TestParseConfig(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "good.pw", "s3cret-pw\nsecond line ignored\n", 0o600)
	writeFile(t, dir, "open.pw", "s3cret-pw\n", 0o644)
	writeFile(t, dir, "group.pw", "s3cret-pw\n", 0o640)
	writeFile(t, dir, "empty.pw", "\n", 0o600)
	writeFile(t, dir, "ca.pem", string(testRootPEM(t)), 0o644)
	env := func(k string) (string, bool) {
		switch k {
		case "RDP_PW":
			return "env-pw", true
		case "EMPTY_PW":
			return "", true
		}
		return "", false
	}
	for _, tc := range []struct {
		name string
		yaml string
		err  string // substring of the error; "" for success
	}{
		{"minimal", "modules:\n  info: {}\n", ""},
		{"no modules", "modules: {}\n", ""},
		{"empty file", "", ""},
		{"unknown module key", "modules:\n  info:\n    phases: [connect]\n    timout: 5s\n", `line 4: unknown key "timout" in a module; did you mean timeout? (the keys there: auth, autologon_without_nla, cert_sha256, credentials, depth,`},
		{"unknown top key", "modules:\n  info: {}\nmodulez: {}\n", `line 3: unknown key "modulez" at the top of the file; did you mean modules?`},
		{"inline password refused", "modules:\n  l:\n    credentials:\n      user: 'LAB\\u'\n      password: x\n", `line 5: unknown key "password" in credentials: a password is never written in the config`},
		{"password in a module", "modules:\n  l:\n    pasword: x\n", `line 3: unknown key "pasword" in a module: a password is never written in the config; give credentials a password_file`},
		{"bad duration", "modules:\n  l:\n    timeout: soon\n", `line 3: "soon" where a duration (like 15s or 1m30s) is expected`},
		{"list for a value", "modules:\n  l:\n    depth: [tls]\n", `line 3: a list where a single value is expected`},
		{"value for a list", "modules:\n  l:\n    protocols: tls\n", `line 3: "tls" where a list (like [a, b]) is expected`},
		{"yaml syntax", "modules:\n  l:\n   depth: tls\n  x: [\n", "line "},
		{"unknown phase", "modules:\n  x:\n    phases: [connect, tcp]\n", `unknown phase "tcp"`},
		{"session", "modules:\n  x:\n    phases: [session]\n", ""},
		{"session with credentials", "modules:\n  x:\n    phases: [session]\n    credentials: {user: u, password_env: RDP_PW}\n", ""},
		{"logon without credentials", "modules:\n  x:\n    phases: [logon]\n", "logon needs credentials"},
		{"credentials without logon", "modules:\n  x:\n    phases: [tls]\n    credentials: {user: u, password_env: RDP_PW}\n", "set depth: logon"},
		{"depth", "modules:\n  x:\n    depth: ntlm_info\n", ""},
		{"unknown depth", "modules:\n  x:\n    depth: tcp\n", `depth: unknown phase "tcp"`},
		{"depth logon without credentials", "modules:\n  x:\n    depth: logon\n", "depth: logon needs credentials"},
		{"depth and phases", "modules:\n  x:\n    depth: tls\n    phases: [tls]\n", "give depth only"},
		{"bad protocol", "modules:\n  x:\n    protocols: [tls, kerberos]\n", `protocols: unknown protocol "kerberos"`},
		{"negative logon cache ttl", "modules:\n  x:\n    logon_cache_ttl: -1s\n", "must not be negative"},
		{"both password sources", "modules:\n  x:\n    credentials: {user: u, password_env: RDP_PW, password_file: good.pw}\n", "exactly one of"},
		{"no password source", "modules:\n  x:\n    credentials: {user: u}\n", "exactly one of"},
		{"world-readable password file", "modules:\n  x:\n    credentials: {user: u, password_file: open.pw}\n", "mode 0644"},
		{"group-readable password file", "modules:\n  x:\n    credentials: {user: u, password_file: group.pw}\n", "mode 0640"},
		{"empty password file", "modules:\n  x:\n    credentials: {user: u, password_file: empty.pw}\n", "first line is empty"},
		{"missing password file", "modules:\n  x:\n    credentials: {user: u, password_file: nope.pw}\n", "no such file"},
		{"unset variable", "modules:\n  x:\n    credentials: {user: u, password_env: NOPE}\n", "NOPE is not set"},
		{"empty variable", "modules:\n  x:\n    credentials: {user: u, password_env: EMPTY_PW}\n", "password_env: variable EMPTY_PW is empty"},
		{"device as password file", "modules:\n  x:\n    credentials: {user: u, password_file: /dev/zero}\n", "password_file: /dev/zero is not a regular file"},
		{"bad account", "modules:\n  x:\n    credentials: {user: 'LAB\\', password_env: RDP_PW}\n", "expected DOMAIN"},
		{"password file", "modules:\n  x:\n    phases: [connect, negotiate, tls, ntlm_info, logon]\n    credentials: {user: 'LAB\\u', password_file: good.pw}\n", ""},
		{"password variable", "modules:\n  x:\n    credentials: {user: u@corp.example, password_env: RDP_PW}\n", ""},
		{"zero timeout", "modules:\n  x:\n    timeout: 0s\n", "timeout must be positive, not 0s"},
		{"negative timeout", "modules:\n  x:\n    timeout: -1s\n", "timeout must be positive, not -1s"},
		{"zero phase timeout", "modules:\n  x:\n    phase_timeout: 0\n", "phase_timeout must be positive, not 0s"},
		{"negative phase timeout", "modules:\n  x:\n    phase_timeout: -2s\n", "phase_timeout must be positive, not -2s"},
		{"autologon without credentials", "modules:\n  x:\n    phases: [session]\n    autologon_without_nla: true\n", "autologon_without_nla needs credentials and the session phase"},
		{"autologon without the session phase", "modules:\n  x:\n    autologon_without_nla: true\n    credentials: {user: u, password_env: RDP_PW}\n",
			"autologon_without_nla needs credentials and the session phase"},
		{"kerberos", "modules:\n  x:\n    auth: kerberos\n    realm: LAB.TEST\n    kdc: [127.0.0.1:33898, udp/kdc2]\n    spn: TERMSRV/rds01\n", ""},
		{"unknown auth", "modules:\n  x:\n    auth: spnego\n", `auth: unknown mechanism "spnego"`},
		{"bad kdc", "modules:\n  x:\n    kdc: [sctp/kdc]\n", "kdc: "},
		{"ntlm with a realm", "modules:\n  x:\n    auth: ntlm\n    realm: LAB.TEST\n", "realm, kdc and spn are for Kerberos"},
		{"tls_config", "modules:\n  x:\n    tls_config: {ca_file: ca.pem, server_name: rds01.corp.example}\n    require_trusted_cert: true\n", ""},
		{"missing ca_file", "modules:\n  x:\n    tls_config: {ca_file: nope.pem}\n", "tls_config: ca_file: open"},
		{"ca_file without certificate", "modules:\n  x:\n    tls_config: {ca_file: good.pw}\n", "no PEM certificate"},
		{"blackbox key that means nothing here", "modules:\n  x:\n    tls_config: {insecure_skip_verify: true}\n", `line 3: unknown key "insecure_skip_verify"`},
		{"pin", "modules:\n  x:\n    cert_sha256: '" + strings.Repeat("AB:", 31) + "AB'\n", ""},
		{"bad pin", "modules:\n  x:\n    cert_sha256: abc\n", "cert_sha256: \"abc\" has 3 hex digits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), dir, env)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.err != "" && err == nil:
				t.Fatalf("no error, want one containing %q", tc.err)
			case tc.err != "" && !strings.Contains(err.Error(), tc.err):
				t.Fatalf("error %q does not contain %q", err, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret-pw") {
				t.Fatal("the password appears in an error")
			}
		})
	}
}

func TestModuleOptions(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "pw", "s3cret-pw\n", 0o600)
	c, err := Parse([]byte(`
modules:
  info:
    phases: [connect, negotiate, tls, ntlm_info]
  nla_enforced:
    phases: [connect, negotiate]
    protocols: [tls]
    expect_class: [nla_required]
    timeout: 3s
  logon:
    credentials:
      user: 'LAB\labuser'
      password_file: pw
    logon_cache_ttl: 1m
  session:
    phases: [session]
    credentials:
      user: 'LAB\labuser'
      password_file: pw
  autologon:
    phases: [session]
    autologon_without_nla: true
    credentials:
      user: 'LAB\labuser'
      password_file: pw
`), dir, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	info, nla, logon := c.Modules["info"], c.Modules["nla_enforced"], c.Modules["logon"]
	if o := info.options(); o.Depth != probe.PhaseNTLMInfo || o.Protocols != probe.DefaultProtocols || o.Credentials != nil || o.Timeout != DefaultTimeout {
		t.Errorf("info: %+v", o)
	}
	if info.Logon() || !info.expects("ok") || info.expects("nla_required") {
		t.Errorf("info: logon %v, expects %v", info.Logon(), info.ExpectClass)
	}
	if o := nla.options(); o.Depth != probe.PhaseNegotiate || o.Protocols != negotiate.ProtocolSSL || o.Timeout.Seconds() != 3 {
		t.Errorf("nla_enforced: %+v", o)
	}
	if !nla.expects("nla_required") || nla.expects("ok") {
		t.Errorf("nla_enforced expects %v", nla.ExpectClass)
	}
	o := logon.options()
	if !logon.Logon() || o.Credentials == nil || *o.Credentials != (probe.Credentials{User: "labuser", Domain: "LAB", Password: "s3cret-pw"}) || logon.LogonCacheTTL.Minutes() != 1 {
		t.Errorf("logon: %+v %+v", o, o.Credentials)
	}

	// A session module sends the credentials too (in CredSSP or the Client
	// Info), so the lockout rules apply to it.
	if ses := c.Modules["session"]; !ses.Logon() || ses.options().Depth != probe.PhaseSession || ses.options().Credentials == nil ||
		ses.options().AutologonWithoutNLA {
		t.Errorf("session: logon %v, options %+v", ses.Logon(), ses.options())
	}
	// Only the module that says so puts the password in the Client Info
	// of a server without NLA; the key is part of its fingerprint.
	if a := c.Modules["autologon"]; !a.Logon() || !a.options().AutologonWithoutNLA || a.fingerprint == c.Modules["session"].fingerprint {
		t.Errorf("autologon: logon %v, options %+v", a.Logon(), a.options())
	}

	// A new password (same file, new content) is a config change: the
	// fingerprint that keys the logon block moves.
	writeFile(t, dir, "pw", "other-pw\n", 0o600)
	c2, err := Parse([]byte("modules:\n  logon:\n    credentials:\n      user: 'LAB\\labuser'\n      password_file: pw\n    logon_cache_ttl: 1m\n"), dir, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Modules["logon"].fingerprint == logon.fingerprint {
		t.Error("changing the password leaves the module's fingerprint alone")
	}
	c3, _ := Parse([]byte("modules:\n  logon:\n    credentials:\n      user: 'LAB\\labuser'\n      password_file: pw\n    logon_cache_ttl: 1m\n"), dir, noEnv)
	if c3.Modules["logon"].fingerprint != c2.Modules["logon"].fingerprint {
		t.Error("the same config gives two fingerprints")
	}
}

func TestExampleConfigLoads(t *testing.T) {
	b, err := os.ReadFile("../examples/rdpprobe.yml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, dir, "labuser.password", "pw\n", 0o600)
	writeFile(t, dir, "corp-root.pem", string(testRootPEM(t)), 0o644)
	env := func(string) (string, bool) { return "pw", true }
	// The example names absolute paths under /etc; read them from dir.
	text := strings.ReplaceAll(string(b), "/etc/rdpprobe/", "")
	if _, err := Parse([]byte(text), dir, env); err != nil {
		t.Fatal(err)
	}
}

func testRootPEM(t *testing.T) []byte {
	t.Helper()
	ca, err := rdptest.NewCA(rdptest.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ca.PEM()
}

func TestModuleCertOptions(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "ca.pem", string(testRootPEM(t)), 0o644)
	c, err := Parse([]byte("modules:\n  x:\n    tls_config: {ca_file: ca.pem, server_name: rds01.corp.example}\n"+
		"    require_trusted_cert: true\n    cert_sha256: '"+strings.Repeat("AB", 32)+"'\n  plain: {}\n"), dir, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	o := c.Modules["x"].options()
	if o.Cert.Roots == nil || o.Cert.ServerName != "rds01.corp.example" || o.Cert.SHA256 != strings.Repeat("ab", 32) || !o.RequireTrustedCert {
		t.Errorf("x: %+v", o)
	}
	if o := c.Modules["plain"].options(); o.Cert.Roots != nil || o.Cert.ServerName != "" || o.Cert.SHA256 != "" || o.RequireTrustedCert {
		t.Errorf("plain: %+v", o)
	}
}

// TestPhasesDeprecated: the old key still loads, to the same depth, with a
// warning that names the new one.
func TestPhasesDeprecated(t *testing.T) {
	c, err := Parse([]byte("modules:\n  old:\n    phases: [connect, negotiate, tls]\n  new:\n    depth: tls\n"), t.TempDir(), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Modules["old"].depth != probe.PhaseTLS || c.Modules["new"].depth != probe.PhaseTLS {
		t.Errorf("depths %q and %q", c.Modules["old"].depth, c.Modules["new"].depth)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], `module "old": phases is deprecated, write depth: tls`) {
		t.Errorf("warnings %q", c.Warnings)
	}
}

// TestConfigErrorsSpeakYAML: no Go type name reaches the user.
func TestConfigErrorsSpeakYAML(t *testing.T) {
	for _, y := range []string{"modules:\n  l:\n    pasword: x\n", "modules:\n  l:\n    timeout: soon\n", "modules: [a]\n", "modules:\n  l: 5\n",
		"modules:\n  l:\n    credentials: x\n", "modules:\n  l:\n    expect_class: ok\n"} {
		_, err := Parse([]byte(y), t.TempDir(), noEnv)
		if err == nil || strings.Contains(err.Error(), "exporter.") || strings.Contains(err.Error(), "!!") || strings.Contains(err.Error(), "unmarshal") {
			t.Errorf("%q: %v", y, err)
		}
	}
}

func TestModuleFor(t *testing.T) {
	c, err := Parse([]byte("modules:\n  rdp_nla_info: {}\n  rdp_nla_logon_x: {}\n"), t.TempDir(), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := c.ModuleFor(""); err != nil || m.Name() != DefaultModule {
		t.Errorf("no module: %v %v", m, err)
	}
	if _, err := c.ModuleFor("rdp_nla_inf"); err == nil || err.Error() != `Unknown module "rdp_nla_inf": the modules are rdp_nla_info, rdp_nla_logon_x; did you mean rdp_nla_info?` {
		t.Errorf("unknown module: %v", err)
	}
	c, _ = Parse([]byte("modules:\n  x: {}\n"), t.TempDir(), noEnv)
	if _, err := c.ModuleFor(""); err == nil || !strings.Contains(err.Error(), "add module=NAME, one of x") {
		t.Errorf("no module, no default: %v", err)
	}
	c, _ = Parse([]byte("modules: {}\n"), t.TempDir(), noEnv)
	if m, err := c.ModuleFor(""); err != nil || m.depth != probe.PhaseNTLMInfo || m.Credentials != nil || len(c.Warnings) != 1 {
		t.Errorf("the built-in module: %+v %v %q", m, err, c.Warnings)
	}
}
