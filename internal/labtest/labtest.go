// Package labtest connects integration tests to the lab of real RDP servers that
// lab/lab.sh runs on loopback (`make lab-up`).
//
// Addresses come from the RDPLAB_* variables that `lab/lab.sh env` prints, or the
// lab's defaults. Under `go test -short` every test that asks for a peer or a tool
// is skipped, whether the lab is up or not, so that the quick run never depends on
// it. Otherwise a test whose peer or tool is missing is skipped with a hint to
// start the lab — except under CI=true, where a missing lab is a failure, so that
// CI (which never passes -short) can never pass by skipping every integration test.
package labtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// The lab's defaults (lab/lab.sh with RDPLAB_BASE_PORT unset).
var defaults = map[string]string{
	"nla":      "127.0.0.1:33891",
	"nla6":     "[::1]:33891",
	"nla-ext":  "127.0.0.1:33892",
	"tls":      "127.0.0.1:33893",
	"rdp":      "127.0.0.1:33894",
	"xrdp":     "127.0.0.1:33895",
	"xrdp-rdp": "127.0.0.1:33896",
	"kdc":      "127.0.0.1:33898",
	"closed":   "127.0.0.1:33899",
}

const (
	defaultUser     = "labuser"
	defaultDomain   = "LAB"
	defaultPassword = "Lab-Passw0rd!"
)

// dialTimeout bounds the check that a peer listens; loopback answers at once.
const dialTimeout = 3 * time.Second

// underCI tells whether a missing lab must fail the test rather than skip it.
func underCI() bool {
	switch strings.ToLower(os.Getenv("CI")) {
	case "true", "1", "yes":
		return true
	}
	return false
}

// short reports whether the run is `go test -short`; the package's own tests replace it to
// check both ways within one run.
var short = testing.Short

// skipIfShort skips a test that needs the lab when the run is `go test -short`.
func skipIfShort(t testing.TB, what string) {
	t.Helper()
	if short() {
		t.Skipf("%s: the lab is not used under -short", what)
	}
}

// The make targets that provide a peer and a tool: the servers come with lab-up, the tools some
// tests drive (chromium, prometheus, zsh, fish) with lab-tools.
const (
	peerHint = "make lab-up"
	toolHint = "make lab-up lab-tools"
)

// unavailable skips the test, or fails it under CI; hint is the make command that provides
// what is missing.
func unavailable(t testing.TB, hint, format string, args ...any) {
	t.Helper()
	if underCI() {
		t.Fatalf(format+" (CI=true: the lab must be up; run `"+hint+"`)", args...)
	}
	t.Skipf(format+"; run `"+hint+"` to set up the lab", args...)
}

// envName is the variable that overrides a peer's address: "xrdp-rdp" → RDPLAB_XRDP_RDP.
func envName(peer string) string {
	return "RDPLAB_" + strings.ToUpper(strings.ReplaceAll(peer, "-", "_"))
}

// Peer returns the address of a lab peer ("nla", "nla6", "nla-ext", "tls", "rdp",
// "xrdp", "xrdp-rdp", "kdc", "closed"), from RDPLAB_* env vars or the lab's defaults.
// Under -short it calls t.Skip for every peer but "closed" (an address where nothing
// listens, which needs no lab). If the peer is not listening, it calls t.Skip with
// a message saying to run `make lab-up` — unless CI=true, where it calls t.Fatal.
//
// The address must be on loopback: the lab never runs anywhere else, and tests
// must not send traffic off this machine.
func Peer(t testing.TB, name string) string {
	t.Helper()
	def, ok := defaults[name]
	if !ok {
		t.Fatalf("labtest: unknown lab peer %q", name)
	}
	addr := def
	if v := strings.TrimSpace(os.Getenv(envName(name))); v != "" {
		addr = v
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		t.Fatalf("labtest: %s=%q is not host:port: %v", envName(name), addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		t.Fatalf("labtest: %s=%q is not a loopback address; the lab only runs on loopback", envName(name), addr)
	}
	if name == "closed" {
		return addr
	}
	skipIfShort(t, "lab peer "+name)
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		unavailable(t, peerHint, "lab peer %s (%s) is not listening: %v", name, addr, err)
		return addr // reached only with a testing.TB whose Skip does not stop the test
	}
	c.Close()
	return addr
}

// Account returns the lab account: user, domain, password (env RDPLAB_USER,
// RDPLAB_DOMAIN, RDPLAB_PASSWORD, or the lab's defaults LAB\labuser and
// Lab-Passw0rd!). The lab also has the domain-less account "alice" with the
// same password.
func Account() (user, domain, password string) {
	get := func(key, def string) string {
		if v := os.Getenv(key); v != "" {
			return v
		}
		return def
	}
	return get("RDPLAB_USER", defaultUser), get("RDPLAB_DOMAIN", defaultDomain), get("RDPLAB_PASSWORD", defaultPassword)
}

type toolResult struct {
	path string
	err  string
}

var (
	toolMu    sync.Mutex
	toolCache = map[string]toolResult{}
)

// Tool returns the path of an external tool the lab installs: "xfreerdp",
// "nmap", "tshark", "openssl", or "python3" (also "impacket" and
// "python3-gssapi": Debian's /usr/bin/python3, checked to import impacket or
// gssapi), and those of `lab/lab.sh tools`: "chromium", "prometheus",
// "promtool", "zsh", "fish". Any other name is looked up in PATH. Like Peer,
// it skips the test under -short, and a missing tool skips the test (fails it
// under CI=true).
func Tool(t testing.TB, name string) string {
	t.Helper()
	skipIfShort(t, "tool "+name)
	toolMu.Lock()
	r, ok := toolCache[name]
	if !ok {
		r = findTool(name)
		toolCache[name] = r
	}
	toolMu.Unlock()
	if r.err != "" {
		unavailable(t, toolHint, "tool %s: %s", name, r.err)
		return r.path
	}
	return r.path
}

func findTool(name string) toolResult {
	switch name {
	case "python3", "impacket", "python3-gssapi":
		// Not the first python3 in PATH (a pyenv one, say): impacket and gssapi
		// (MIT's GSS-API) are Debian's packages.
		const py = "/usr/bin/python3"
		if _, err := os.Stat(py); err != nil {
			return toolResult{err: err.Error()}
		}
		module := "impacket"
		if name == "python3-gssapi" {
			module = "gssapi"
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, py, "-c", "import "+module).CombinedOutput(); err != nil {
			return toolResult{err: module + " does not import in " + py + ": " + strings.TrimSpace(string(out))}
		}
		return toolResult{path: py}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return toolResult{err: err.Error()}
	}
	return toolResult{path: p}
}

// KerberosLab describes the lab's MIT KDC (lab/lab.sh: realm LAB.TEST).
type KerberosLab struct {
	KDC        string // host:port, TCP and UDP
	Realm      string
	Krb5Config string // the lab's krb5.conf, for KRB5_CONFIG of MIT's tools
	KDCProfile string // the lab's kdc.conf, for KRB5_KDC_PROFILE of kadmin.local
	KDCLog     string // the KDC's log
	Keytab     string // the keys of SPN
	SPN        string // TERMSRV/localhost
	NoSPNHost  string // a host name without a TERMSRV SPN
	Password   string // every account's
	// Users maps an account state to its principal name: good, badpw,
	// locked, disabled, pwexpired, mustchange, expired, rc4, nopreauth.
	Users map[string]string
}

// KDCStates are the account states of the lab's Kerberos accounts.
var KDCStates = []string{"good", "badpw", "locked", "disabled", "pwexpired", "mustchange", "expired", "rc4", "nopreauth"}

// Kerberos returns the lab's KDC, from the RDPLAB_* variables of `lab/lab.sh
// env` or the lab's defaults. Like Peer, it skips the test when the KDC is
// not listening (fails it under CI=true).
func Kerberos(t testing.TB) KerberosLab {
	t.Helper()
	get := func(key, def string) string {
		if v := os.Getenv(key); v != "" {
			return v
		}
		return def
	}
	dir := get("RDPLAB_DIR", "/tmp/rdplab") + "/krb5"
	k := KerberosLab{
		KDC:        Peer(t, "kdc"),
		Realm:      get("RDPLAB_REALM", "LAB.TEST"),
		Krb5Config: get("RDPLAB_KRB5_CONFIG", dir+"/krb5.conf"),
		KDCProfile: get("RDPLAB_KDC_PROFILE", dir+"/kdc.conf"),
		KDCLog:     get("RDPLAB_KDC_LOG", dir+"/krb5kdc.log"),
		Keytab:     get("RDPLAB_KEYTAB", dir+"/termsrv.keytab"),
		SPN:        get("RDPLAB_SPN", "TERMSRV/localhost"),
		NoSPNHost:  get("RDPLAB_KRB_NOSPN_HOST", "nospn.lab.test"),
		Password:   get("RDPLAB_PASSWORD", defaultPassword),
		Users:      map[string]string{},
	}
	defaultUsers := map[string]string{"good": "labuser", "rc4": "rc4only"}
	for _, st := range KDCStates {
		def := defaultUsers[st]
		if def == "" {
			def = st
		}
		k.Users[st] = get("RDPLAB_KRB_"+strings.ToUpper(st)+"_USER", def)
	}
	return k
}

// Env is the environment for MIT's tools against the lab's realm: its
// krb5.conf and kdc.conf, and the given ccache (never the user's).
func (k KerberosLab) Env(ccache string) []string {
	env := []string{"KRB5_CONFIG=" + k.Krb5Config, "KRB5_KDC_PROFILE=" + k.KDCProfile, "KRB5CCNAME=FILE:" + ccache}
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); name != "KRB5_CONFIG" && name != "KRB5_KDC_PROFILE" && name != "KRB5CCNAME" {
			env = append(env, kv)
		}
	}
	return env
}

// IsolateKerberos points KRB5_CONFIG at the lab's krb5.conf when the lab
// is up, else at an empty one, and unsets KRB5CCNAME, so that no test
// follows the machine's /etc/krb5.conf to a KDC off this host (Debian's
// default names kerberos.mit.edu). Call it from TestMain; it returns the
// clean-up.
func IsolateKerberos() (func(), error) {
	os.Unsetenv("KRB5CCNAME")
	conf := os.Getenv("RDPLAB_KRB5_CONFIG")
	if _, err := os.Stat(conf); conf != "" && err == nil {
		return func() {}, os.Setenv("KRB5_CONFIG", conf)
	}
	dir, err := os.MkdirTemp("", "rdpprobe-krb5")
	if err != nil {
		return nil, err
	}
	conf = dir + "/krb5.conf"
	// dns_lookup_kdc off: a realm with no KDC listed stays unlocated.
	if err := os.WriteFile(conf, []byte("[libdefaults]\n\tdns_lookup_kdc = false\n"), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return func() { os.RemoveAll(dir) }, os.Setenv("KRB5_CONFIG", conf)
}

// PeerCertificates returns the certificate chain a lab peer presents in
// its TLS handshake, leaf first, for tests that judge it with other tools
// (openssl) or trust it (--ca-file). It offers TLS and NLA in a bare
// X.224 Connection Request (MS-RDPBCGR 2.2.1.1), accepts the server's
// RDP_NEG_RSP (2.2.1.2.1), and does the TLS handshake without verifying
// anything. Like Peer, it skips the test when the peer is not there.
func PeerCertificates(t testing.TB, name string) []*x509.Certificate {
	t.Helper()
	addr := Peer(t, name)
	c, err := net.DialTimeout("tcp", addr, dialTimeout)
	if err != nil {
		t.Fatalf("labtest: %s: %v", name, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	// TPKT, X.224 CR TPDU, RDP_NEG_REQ with PROTOCOL_SSL|PROTOCOL_HYBRID.
	req := []byte{0x03, 0, 0, 19, 14, 0xe0, 0, 0, 0, 0, 0, 0x01, 0, 8, 0, 0x03, 0, 0, 0}
	if _, err := c.Write(req); err != nil {
		t.Fatalf("labtest: %s: write Connection Request: %v", name, err)
	}
	cc := make([]byte, 19)
	if _, err := io.ReadFull(c, cc); err != nil || cc[0] != 0x03 || cc[5]&0xf0 != 0xd0 || cc[11] != 0x02 {
		t.Fatalf("labtest: %s: Connection Confirm % x: %v (want an RDP_NEG_RSP)", name, cc, err)
	}
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("labtest: %s: TLS handshake: %v", name, err)
	}
	return tc.ConnectionState().PeerCertificates
}

// Kinit runs MIT's kinit for user against the lab's realm, the password on
// its standard input and its tickets in ccache (never the user's), and
// returns what it said. It skips the test when kinit is missing, like Tool.
func (k KerberosLab) Kinit(t testing.TB, user, password, ccache string) ([]byte, error) {
	t.Helper()
	kinit := Tool(t, "kinit")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kinit, user)
	cmd.Env, cmd.Stdin = k.Env(ccache), strings.NewReader(password+"\n")
	return cmd.CombinedOutput()
}

// RunIsolated is a TestMain body: it runs the tests with Kerberos kept on
// this machine (IsolateKerberos) and returns the exit code.
func RunIsolated(m *testing.M) int {
	cleanup, err := IsolateKerberos()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cleanup()
	return m.Run()
}
