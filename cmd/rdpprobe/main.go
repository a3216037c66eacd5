// Command rdpprobe speaks RDP to a server and says which step of a Remote
// Desktop connection fails, and why.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	flag "github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/internal/cli"
	"github.com/rdpprobe/rdpprobe/internal/textwrap"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/report"
)

// Exit codes outside the classifier's: usage errors. Nagios' UNKNOWN is 3.
const (
	exitUsage       = 2
	exitNagiosUnkwn = 3
)

// rootDoc is rdpprobe's help, and the man page's description.
var rootDoc = cli.Command{
	Name:    "rdpprobe",
	Summary: "say exactly which step of a Remote Desktop connection fails, and why",
	Usage:   []string{"rdpprobe [flags] HOST[:PORT]", "rdpprobe COMMAND [flags] [ARGS]"},
	Doc: `It connects once, offers what mstsc offers (TLS, NLA, and NLA with the Early
User Authorization Result), and goes as deep as the server and the flags
allow: TCP → X.224 negotiation → TLS → CredSSP/NTLM CHALLENGE (server names,
OS build, clock) → with -u, one logon attempt. The verdict is one stable class
(see README), the message Windows shows, and the fix. The text fits one
screen, wrapped to the terminal: the verdict, the key facts and the start of
the fix; -v prints every fact, and --output json everything as data.

--depth session goes one step further, opening the first steps of a session:
MCS/GCC connect, channel joins, the Client Info PDU (over TLS without NLA it
carries the -u password for autologon only to a trusted or pinned
certificate, or with --autologon-without-nla), then it reads the licensing
answer (a licence request gets a NEW_LICENSE_REQUEST naming the user, never
the password; a PLATFORM_CHALLENGE is not answered, so no client licence is
issued) and any Set Error Info or logon report, and disconnects (Disconnect
Provider Ultimatum) before any graphics. It finds "no Remote Desktop License
Servers available" and other licensing and post-logon refusals; it creates a
session on the server for a moment, so it is never the default.

--enumerate first maps the security layers, like nmap's rdp-enum-encryption
but right: one short connection per protocol (PROTOCOL_RDP, _SSL, _HYBRID,
_HYBRID_EX, _RDSTLS, _RDSAAD; four at a time), each "accepted" only if the
server selected exactly that protocol, and under standard RDP security the
encryption level and the RC4/FIPS methods it takes. It prints a table and
what it means, then runs the normal probe, whose class sets the exit code.
--timeout bounds the map and the probe each; --protocols, --depth, -u and
--record apply to the probe only, and --nagios prints the probe's line. With
--output json the map is in security_layers, rdp_encryption and
security_meaning.

The server's certificate is judged as mstsc judges it before it asks for a
password. "Trusted" means: a chain to a trusted root (the system's, plus
--ca-file) through the intermediates the server sent, the name as given (a
DNS name, or an IP address in the certificate; --tls-server-name overrides),
the purpose (Server Authentication, Remote Desktop Authentication, or no
restriction), and every validity period. Revocation (CRL, OCSP) is not
checked. What fails is a finding; only --require-trusted-cert or a
--cert-sha256 pin make it a failure (cert_not_trusted), and then nothing is
sent after the TLS handshake.

The password comes from --password-file, the RDPPROBE_PASSWORD environment
variable, or a no-echo prompt, never from a flag. It goes only to a server
that proved who it is: under NLA, CredSSP's pubKeyAuth; without NLA, a
certificate that is trusted (--ca-file) or pinned (--cert-sha256). Any other
server without NLA gets the account name in the Client Info but not the
password, unless --autologon-without-nla says otherwise. Exactly one logon
attempt is made per run and none is retried: account lockout is a real harm.

--gateway HOST[:PORT] goes through an RD Gateway (HTTPS, port 443) as mstsc
does: TLS to the gateway (a certificate mstsc would not trust, judged as
above, ends the probe there), its HTTP logon (NTLM), the tunnel and the
channel to the target, then the whole probe of the target inside the
channel. --depth gateway stops once the gateway has connected to the target.
The gateway logs on as --gateway-user (default -u), with the password from
--gateway-password-file, RDPPROBE_GATEWAY_PASSWORD, else the -u password,
else a prompt. Through a gateway there are two logons, the gateway's and the
target's, each at most once; a failed gateway logon means no target logon.`,
	Examples: []cli.Example{
		{Command: "rdpprobe 10.0.0.5", Comment: "what does the server speak and say about itself?"},
		{Command: `rdpprobe host:3389 -u 'CORP\alice'`, Comment: "prompts for the password (no echo), checks the logon"},
		{Command: "RDPPROBE_PASSWORD=... rdpprobe host -u alice@corp.example.com --output json"},
		{Command: `rdpprobe host --password-file ./pw -u '.\Administrator' --timeout 10s`},
		{Command: "rdpprobe [::1]:33891 --protocols tls", Comment: "would a client that offers only TLS get in?"},
		{Command: "rdpprobe host --enumerate", Comment: "which security layers (RDP, TLS, NLA...) does it accept?"},
		{Command: `rdpprobe host -u 'CORP\alice' --depth session`, Comment: "does licensing pass, and what does the server say after logon?"},
		{Command: `rdpprobe rds01.corp.internal -u 'CORP\alice' --gateway gw.corp.example.com`, Comment: "the same, through an RD Gateway"},
		{Command: `rdpprobe rds01.corp.internal -u 'CORP\alice' --gateway gw.corp.example.com --depth gateway`, Comment: "can the gateway reach it?"},
	},
	Sections: []cli.Section{
		{Title: "Exit codes", Body: `  0  ok                                  4  negotiation or security policy
  1  credentials not verified (no NLA)   5  authentication
  2  usage error                         6  server-side
  3  unreachable                         7  protocol error

With --nagios: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, and one status line on
standard output whatever happens, a usage error included (UNKNOWN). WARNING
is credentials_not_verified, NLA not enforced, or a certificate expiring
within --cert-warn-days; CRITICAL any failure, or a certificate expiring
within --cert-crit-days. Perfdata: time, each phase in ms, cert_days.`},
		{Title: "Environment", Body: `RDPPROBE_PASSWORD is the password when there is no --password-file (set but
empty is refused); RDPPROBE_GATEWAY_PASSWORD the gateway's, when there is no
--gateway-password-file (else the -u password). NO_COLOR turns colour off, as --no-color does. A
terminal's width sets the text's; COLUMNS is read when standard output is
not a terminal.`},
	},
	Args: cli.Args{Hosts: true, Commands: true},
}

// autologonHelp says what --autologon-without-nla risks; the sweep's flag
// shares it.
const autologonHelp = "with --depth session, put the password in the Client Info (autologon) of a server that selected TLS " +
	"without NLA and whose certificate is neither trusted nor pinned. RISK: nothing authenticated that server, so the password " +
	"goes to whoever answers, and a man in the middle who strips NLA from the negotiation reads it. Without it the Client Info " +
	"names the account only"

type config struct {
	user         string
	passwordFile string
	protocols    string
	output       string
	timeout      time.Duration
	phaseTimeout time.Duration
	depth        string
	record       string
	nagios       bool
	certWarnDays int
	certCritDays int
	noColor      bool
	verbose      bool
	version      bool
	enumerate    bool
	autologon    bool
	krb          kerberosFlags
	caFile       string
	serverName   string
	requireCert  bool
	certSHA256   string
	gateway      gatewayFlags
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		if sub := lookupCommand(args[0]); sub != nil {
			return sub.run(args[1:], stdin, stdout, stderr)
		}
	}
	var c config
	fs := c.flags()
	// A Nagios check gets its one status line whatever went wrong, even
	// a flag that stopped the parse before --nagios was read.
	nagios := wantsNagios(args)
	usageErr := func(format string, a ...any) int {
		msg := fmt.Sprintf(format, a...)
		fmt.Fprintf(stderr, "rdpprobe: %s\n", msg)
		fmt.Fprintln(stderr, "Run 'rdpprobe --help' for usage.")
		if c.nagios || nagios {
			fmt.Fprintln(stdout, report.NagiosUsage(msg))
			return exitNagiosUnkwn
		}
		return exitUsage
	}
	if help, err := parseFlags("rdpprobe", fs, args, stdout, stderr); help {
		return 0
	} else if err != nil {
		return usageErr("%v", err)
	}
	if c.version {
		fmt.Fprintln(stdout, buildInfo())
		return 0
	}
	if fs.NArg() != 1 {
		msg := fmt.Sprintf("need exactly one target (HOST[:PORT]), got %d", fs.NArg())
		if fs.NArg() > 0 {
			if s := cli.ClosestWord(fs.Arg(0), commandNames()); s != "" && s != fs.Arg(0) {
				msg += fmt.Sprintf("; did you mean 'rdpprobe %s'?", s)
			}
		}
		return usageErr("%s", msg)
	}
	return c.probe(fs.Arg(0), stdin, stdout, stderr, usageErr)
}

// flags defines the command's flags on a new FlagSet, bound to c.
func (c *config) flags() *flag.FlagSet {
	fs := flag.NewFlagSet("rdpprobe", flag.ContinueOnError)
	fs.SortFlags = false
	fs.StringVarP(&c.user, "user", "u", "", "log on once as this `ACCOUNT`: DOMAIN\\user, COMPUTER\\user, .\\user (local to the server) or user@upn")
	fs.StringVar(&c.passwordFile, "password-file", "", "read the password from the first line of this `FILE` (else $RDPPROBE_PASSWORD, else a prompt)")
	addKerberosFlags(fs, &c.krb)
	fs.StringVar(&c.protocols, "protocols", probe.DefaultOffer, "security protocols to offer, a comma-separated `LIST` of rdp, tls, nla, nla-ext (the default is what mstsc offers; e.g. 'tls' to see what a TLS-only client meets)")
	fs.StringVarP(&c.output, "output", "o", "text", "`FORMAT` of the output: text or json")
	fs.DurationVar(&c.timeout, "timeout", 15*time.Second, "deadline for the whole probe")
	fs.DurationVar(&c.phaseTimeout, "phase-timeout", 5*time.Second, "deadline for each phase (connect, negotiate, tls, ntlm_info, logon, session) within --timeout")
	fs.StringVar(&c.depth, "depth", "", "stop after this `PHASE`: connect, negotiate, tls, ntlm_info or logon (default: as deep as possible "+
		"short of a session); 'session' goes on to open a session's first steps (MCS, Client Info, licensing) and disconnects before any graphics")
	fs.StringVar(&c.caFile, "ca-file", "", "also trust the CA certificates of this PEM `FILE` (an enterprise root) when judging the server's certificate")
	fs.StringVar(&c.serverName, "tls-server-name", "", "check the certificate for this `NAME` (and send it as SNI) instead of the host as given")
	fs.BoolVar(&c.requireCert, "require-trusted-cert", false, "fail (cert_not_trusted) right after the TLS handshake if the certificate is neither trusted nor pinned, as mstsc set to 'Do not connect if authentication fails' does")
	fs.StringVar(&c.certSHA256, "cert-sha256", "", "pin the certificate: fail (cert_not_trusted) unless its SHA-256 fingerprint is this `HEX` (64 hex digits, colons allowed)")
	fs.BoolVar(&c.autologon, "autologon-without-nla", false, autologonHelp)
	fs.BoolVar(&c.enumerate, "enumerate", false, "first map which security layers the server accepts (one connection each) and their encryption, then probe as usual")
	fs.StringVar(&c.record, "record", "", "write the conversation to `DIR` as a fixture (key material redacted) plus a TLS key log for Wireshark")
	c.gateway.register(fs)
	fs.BoolVar(&c.nagios, "nagios", false, "print one Nagios status line and use Nagios exit codes (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)")
	fs.IntVar(&c.certWarnDays, "cert-warn-days", 30, "a certificate (or a CA certificate of its chain) expiring within this many `DAYS` is a finding, and with --nagios a WARNING")
	fs.IntVar(&c.certCritDays, "cert-crit-days", 0, "with --nagios, CRITICAL when the certificate expires within this many `DAYS` (0: once it has expired)")
	fs.BoolVar(&c.noColor, "no-color", false, "no colour, even on a terminal")
	fs.BoolVarP(&c.verbose, "verbose", "v", false, "text output: every fact, the timings, the raw error, what Windows says, the cause and the whole fix")
	fs.BoolVar(&c.version, "version", false, "print the version and exit")
	cli.SetValues(fs, "output", "text", "json")
	// One letter, one meaning: -o names a report file in sweep and report.
	fs.MarkShorthandDeprecated("output", "use --output; -o names a report FILE in 'rdpprobe sweep' and 'rdpprobe report', and goes away here in the next release")
	return fs
}

// probe runs the probe of target the flags in c describe, and reports it.
func (c *config) probe(target string, stdin *os.File, stdout, stderr io.Writer, usageErr func(string, ...any) int) int {
	if _, _, err := probe.SplitTarget(target, probe.DefaultPort); err != nil {
		return usageErr("%v", err)
	}
	if c.output != "text" && c.output != "json" {
		return usageErr("--output must be text or json, not %q", c.output)
	}
	// Zero would mean "the default" to probe.Run: refuse it rather than
	// silently probe for 15s.
	for _, d := range []struct {
		flag  string
		value time.Duration
	}{{"--timeout", c.timeout}, {"--phase-timeout", c.phaseTimeout}} {
		if d.value <= 0 {
			return usageErr("%s must be positive, not %v", d.flag, d.value)
		}
	}
	if c.certWarnDays < 0 || c.certCritDays < 0 {
		return usageErr("--cert-warn-days and --cert-crit-days must not be negative")
	}
	opt := probe.Options{Timeout: c.timeout, PhaseTimeout: c.phaseTimeout}
	var err error
	if opt.Protocols, opt.AllowStandardRDP, err = probe.ParseOffer(c.protocols); err != nil {
		return usageErr("--protocols: %v", err)
	}
	if c.depth != "" {
		if opt.Depth, err = probe.ParsePhase(c.depth); err != nil {
			return usageErr("--depth: %v", err)
		}
	}
	if c.autologon && (c.user == "" || opt.Depth != probe.PhaseSession) {
		return usageErr("--autologon-without-nla needs -u and --depth session")
	}
	opt.AutologonWithoutNLA = c.autologon
	if opt.Auth, opt.Kerberos, err = c.krb.options(c.user); err != nil {
		return usageErr("%v", err)
	}
	if opt.Cert, opt.RequireTrustedCert, opt.CertWarnWithin, err = certOptions(c.caFile, c.serverName, c.certSHA256, c.certWarnDays, c.requireCert); err != nil {
		return usageErr("%v", err)
	}
	if c.user != "" {
		if opt.Credentials, err = credentials(c.user, c.passwordFile, stdin, stderr); err != nil {
			return usageErr("%v", err)
		}
	} else if c.passwordFile != "" {
		return usageErr("--password-file needs -u")
	}
	if opt.Gateway, err = c.gateway.options(opt.Credentials, opt.Cert.Roots, stdin, stderr); err != nil {
		return usageErr("%v", err)
	}
	if opt.Gateway == nil && strings.HasPrefix(string(opt.Depth), "gateway_") {
		return usageErr("--depth %s needs --gateway", c.depth)
	}

	var rec *recording
	if c.record != "" {
		if rec, err = startRecording(c.record, target); err != nil {
			return usageErr("--record: %v", err)
		}
		opt.Recorder, opt.KeyLogWriter = rec.recorder, rec.keylog
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var layers *probe.SecurityLayers
	if c.enumerate {
		layers = probe.Enumerate(ctx, target, opt)
	}
	out := report.Prober{}.Probe(ctx, target, opt)
	if opt.Credentials != nil {
		opt.Credentials.Password = ""
	}
	if opt.Gateway != nil && opt.Gateway.Credentials != nil {
		opt.Gateway.Credentials.Password = ""
	}
	res, v, rep := out.Result, out.Verdict, out.Report
	if layers != nil {
		rep.Enumeration = report.NewEnumeration(layers, classify.SecurityLayers(layers))
	}
	if rec != nil {
		if err := rec.finish(res, v); err != nil {
			fmt.Fprintf(stderr, "rdpprobe: --record: %v\n", err)
		} else {
			fmt.Fprintf(stderr, "rdpprobe: recorded %s and %s\n", rec.fixturePath, rec.keylogPath)
		}
	}

	switch {
	case c.nagios:
		line, state := report.Nagios(rep, v.NagiosCode(), report.NagiosOptions{CertWarnDays: c.certWarnDays, CertCritDays: c.certCritDays})
		fmt.Fprintln(stdout, line)
		return state
	case c.output == "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "rdpprobe: %v\n", err)
		}
	default:
		color := !c.noColor && os.Getenv("NO_COLOR") == "" && escapesWork(stdout)
		width := textWidth(stdout)
		tw := textwrap.NewWriter(stdout, width)
		report.WriteSecurityLayers(tw, rep, color)
		if c.verbose {
			report.WriteText(tw, rep, color)
		} else {
			report.WriteBrief(tw, rep, color, width)
		}
		tw.Flush()
	}
	return v.ExitCode()
}

// wantsNagios reports whether args ask for --nagios, read before the parse
// so that a usage error can be a status line too.
func wantsNagios(args []string) bool {
	for _, a := range args {
		switch {
		case a == "--":
			return false
		case a == "--nagios":
			return true
		case strings.HasPrefix(a, "--nagios="):
			v, err := strconv.ParseBool(strings.TrimPrefix(a, "--nagios="))
			return err == nil && v
		}
	}
	return false
}

// textWidth is the width text output wraps at: the terminal's, else
// $COLUMNS, else none (a pipe gets whole lines, for grep).
func textWidth(w io.Writer) int {
	if n := termWidth(w); n > 0 {
		return n
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 0
}

// escapesWork reports whether w is a terminal that shows ANSI escape
// sequences (on Windows, once enableVT has turned them on).
func escapesWork(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && enableVT(f)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// certOptions turns the certificate flags into the probe's policy; its
// errors name the flag.
func certOptions(caFile, serverName, pin string, warnDays int, require bool) (probe.CertPolicy, bool, time.Duration, error) {
	var pol probe.CertPolicy
	var err error
	if caFile != "" {
		if pol.Roots, err = probe.LoadRoots(caFile); err != nil {
			return pol, false, 0, fmt.Errorf("--ca-file: %w", err)
		}
	}
	if pin != "" {
		if pol.SHA256, err = probe.ParseFingerprint(pin); err != nil {
			return pol, false, 0, fmt.Errorf("--cert-sha256: %w", err)
		}
	}
	if warnDays < 1 {
		return pol, false, 0, fmt.Errorf("--cert-warn-days must be at least 1, not %d", warnDays)
	}
	pol.ServerName = serverName
	return pol, require, time.Duration(warnDays) * 24 * time.Hour, nil
}
