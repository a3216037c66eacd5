package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/rdpprobe/rdpprobe/probe"
)

// passwordEnv names the environment variable a password may come from.
const passwordEnv = "RDPPROBE_PASSWORD"

// readPassword takes the password from --password-file, then
// RDPPROBE_PASSWORD, then a no-echo prompt on the terminal. It never comes
// from a flag value: argv is visible to every user of the machine.
func readPassword(file string, stdin *os.File, stderr io.Writer, prompt string) (string, error) {
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return "", fmt.Errorf("--password-file: %w", err)
		}
		defer f.Close()
		line, err := bufio.NewReader(io.LimitReader(f, 4096)).ReadString('\n')
		if err != nil && err != io.EOF {
			return "", fmt.Errorf("--password-file: %w", err)
		}
		pw := strings.TrimRight(line, "\r\n")
		if pw == "" {
			return "", fmt.Errorf("--password-file %s: the first line is empty", file)
		}
		return pw, nil
	}
	if pw, ok := os.LookupEnv(passwordEnv); ok {
		return pw, nil
	}
	fd := int(stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", fmt.Errorf("no password: standard input is not a terminal to prompt on; set %s or use --password-file", passwordEnv)
	}
	fmt.Fprint(stderr, prompt)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(stderr)
	if err != nil {
		return "", fmt.Errorf("password prompt: %w", err)
	}
	return string(b), nil
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
