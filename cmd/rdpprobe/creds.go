package main

import (
	"errors"
	"fmt"
	"io"
	"os"

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
