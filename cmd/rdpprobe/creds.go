package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"

	flag "github.com/spf13/pflag"

	"github.com/rdpprobe/rdpprobe/internal/cli"
	"github.com/rdpprobe/rdpprobe/internal/secret"
	"github.com/rdpprobe/rdpprobe/probe"
)

// passwordEnv names the environment variable a password may come from.
const passwordEnv = "RDPPROBE_PASSWORD"

// readPassword takes the password from --password-file, then
// RDPPROBE_PASSWORD, then a no-echo prompt on the terminal, under the rules
// of package secret. It never comes from a flag value: argv is visible to
// every user of the machine.
func readPassword(file string, stdin *os.File, stderr io.Writer, prompt string) (string, error) {
	pw, src, err := secret.Password(secret.Sources{
		File: file, Env: passwordEnv,
		Terminal: stdin, PromptTo: stderr, Prompt: prompt,
	})
	switch {
	case errors.Is(err, secret.ErrNoPassword):
		return "", fmt.Errorf("%w; set it or use --password-file", err)
	case err != nil && src == secret.File:
		return "", fmt.Errorf("--password-file: %w", err)
	}
	return pw, err
}

// credentials builds the probe's credentials from -u and the password sources.
func credentials(account, passwordFile string, stdin *os.File, stderr io.Writer) (*probe.Credentials, error) {
	user, domain, err := probe.ParseAccount(account)
	if err != nil {
		return nil, err
	}
	pw, err := readPassword(passwordFile, stdin, stderr, fmt.Sprintf("Password for %s: ", account))
	if err != nil {
		return nil, err
	}
	return &probe.Credentials{User: user, Domain: domain, Password: pw}, nil
}

// gatewayPasswordEnv names the environment variable the gateway's
// password may come from.
const gatewayPasswordEnv = "RDPPROBE_GATEWAY_PASSWORD"

// gatewayFlags are the flags of a probe through an RD Gateway.
type gatewayFlags struct {
	address, user, passwordFile, transport string
	basic                                  bool
}

func (g *gatewayFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&g.address, "gateway", "", "go through this RD Gateway (`HOST[:PORT]`, port 443 by default), as mstsc does; its certificate must be trusted (the system's roots and --ca-file)")
	fs.StringVar(&g.user, "gateway-user", "", "`ACCOUNT` for the gateway's logon (default: -u, as mstsc's 'use my RD Gateway credentials for the remote computer')")
	fs.StringVar(&g.passwordFile, "gateway-password-file", "", "read the gateway password from this `FILE` (else $"+gatewayPasswordEnv+", else the -u password, else a prompt)")
	fs.StringVar(&g.transport, "gateway-transport", "auto", "`TRANSPORT` to the gateway: auto (WebSocket if the gateway offers it, else HTTP: what mstsc does), http or websocket")
	fs.BoolVar(&g.basic, "gateway-basic", false, "answer a gateway that offers only Basic authentication (it sends the password itself, inside TLS)")
	cli.SetValues(fs, "gateway-transport", "auto", "http", "websocket")
	cli.SetFiles(fs, "gateway-password-file", "file")
}

// check refuses flags that cannot make a gateway's options, before
// anything costs a prompt or a read of standard input.
func (g *gatewayFlags) check() (probe.GatewayTransport, error) {
	if g.address == "" {
		if g.user != "" || g.passwordFile != "" || g.basic {
			return "", errors.New("--gateway-user, --gateway-password-file and --gateway-basic need --gateway")
		}
		return "", nil
	}
	if _, _, err := probe.SplitTarget(g.address, probe.DefaultGatewayPort); err != nil {
		return "", fmt.Errorf("--gateway: %v", err)
	}
	tr, err := probe.ParseGatewayTransport(g.transport)
	if err != nil {
		return "", fmt.Errorf("--gateway-transport: %v", err)
	}
	return tr, nil
}

// options builds the gateway's options; nil without --gateway. target is
// the -u credentials (nil without -u); roots those of --ca-file (nil: the
// system's), which the gateway's certificate must chain to.
func (g *gatewayFlags) options(target *probe.Credentials, roots *x509.CertPool, stdin *os.File, stderr io.Writer) (*probe.GatewayOptions, error) {
	tr, err := g.check()
	if err != nil || g.address == "" {
		return nil, err
	}
	o := &probe.GatewayOptions{Address: g.address, Transport: tr, AllowBasic: g.basic, Cert: probe.CertPolicy{Roots: roots}}
	if o.Credentials, err = g.credentials(target, stdin, stderr); err != nil {
		return nil, err
	}
	return o, nil
}

// credentials: --gateway-user (default -u) with the password from
// --gateway-password-file or RDPPROBE_GATEWAY_PASSWORD, else the -u
// password, else a prompt; nil when there is no account for the gateway.
func (g *gatewayFlags) credentials(target *probe.Credentials, stdin *os.File, stderr io.Writer) (*probe.Credentials, error) {
	account := g.user
	switch {
	case account == "" && target == nil && g.passwordFile != "":
		return nil, errors.New("--gateway-password-file needs --gateway-user or -u")
	case account == "" && target == nil:
		return nil, nil // the gateway will say that it needs credentials
	case account == "":
		account = target.User
		if target.Domain != "" {
			account = target.Domain + `\` + target.User
		}
	}
	user, domain, err := probe.ParseAccount(account)
	if err != nil {
		return nil, fmt.Errorf("--gateway-user: %v", err)
	}
	pw, from, err := secret.Password(secret.Sources{File: g.passwordFile, Env: gatewayPasswordEnv})
	if errors.Is(err, secret.ErrNoPassword) {
		if target != nil {
			pw, err = target.Password, nil // the -u password, as mstsc's default
		} else {
			pw, from, err = secret.Password(secret.Sources{Terminal: stdin, PromptTo: stderr,
				Prompt: fmt.Sprintf("Password for %s at the RD Gateway: ", account)})
		}
	}
	switch {
	case errors.Is(err, secret.ErrNoPassword):
		return nil, fmt.Errorf("gateway password: %w; set %s or use --gateway-password-file", err, gatewayPasswordEnv)
	case err != nil && from == secret.File:
		return nil, fmt.Errorf("--gateway-password-file: %w", err)
	case err != nil:
		return nil, err
	}
	return &probe.Credentials{User: user, Domain: domain, Password: pw}, nil
}
