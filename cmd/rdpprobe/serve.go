package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
	flag "github.com/spf13/pflag"

	"github.com/rdpprobe/rdpprobe/exporter"
)

func init() { subcommands["serve"] = serveMain }

const serveUsage = `rdpprobe serve — a Prometheus exporter in the manner of blackbox_exporter, whose
probe_success means "a user could log on".

Usage:
  rdpprobe serve [flags]

  curl 'http://localhost:9883/probe?target=10.0.0.5:3389&module=rdp_nla_logon'

Endpoints: /probe?target=…&module=…[&debug=true], /metrics, / (recent probes),
POST /-/reload, POST /-/reset?module=…[&target=…] (lift a logon block).
SIGHUP reloads the config too; a bad file keeps the running config.

Flags:
`

// serveMain runs the exporter until SIGINT or SIGTERM.
func serveMain(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rdpprobe serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	configFile := fs.String("config", "rdpprobe.yml", "the modules file")
	configCheck := fs.Bool("config.check", false, "check the modules file (password files and variables included) and exit")
	listen := fs.StringSlice("web.listen-address", []string{":9883"}, "addresses to listen on (repeatable)")
	webConfig := fs.String("web.config.file", "", "exporter-toolkit web config file: TLS and basic auth for the exporter itself")
	systemdSocket := fs.Bool("web.systemd-socket", false, "use systemd socket activation listeners instead of --web.listen-address")
	maxConcurrent := fs.Int("probe.max-concurrent", 64, "probes running at once; more scrapes queue")
	maxQueue := fs.Int("probe.max-queue", 0, "scrapes that may wait for a probe slot before more fail at once with probe_rdp_overloaded 1 (default 4 × --probe.max-concurrent)")
	offset := fs.Duration("timeout-offset", 500*time.Millisecond, "taken off Prometheus' scrape timeout to get the probe's deadline")
	historyLimit := fs.Int("history.limit", 100, "recent probes kept for / and their logs")
	logLevel := fs.String("log.level", "info", "debug, info, warn or error")
	logFormat := fs.String("log.format", "logfmt", "logfmt or json")
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprint(stderr, serveUsage)
		fmt.Fprint(stderr, fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "rdpprobe serve: %v\n", err)
		return exitUsage
	}
	if *showVersion {
		fmt.Fprintln(stdout, "rdpprobe", version)
		return 0
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "rdpprobe serve: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	logger, err := newLogger(stderr, *logLevel, *logFormat)
	if err != nil {
		fmt.Fprintf(stderr, "rdpprobe serve: %v\n", err)
		return exitUsage
	}

	cfg, err := exporter.LoadFile(*configFile)
	if err != nil {
		fmt.Fprintf(stderr, "rdpprobe serve: config: %v\n", err)
		return 1
	}
	if *configCheck {
		fmt.Fprintf(stdout, "%s: %d module(s), OK\n", *configFile, len(cfg.Modules))
		return 0
	}
	if *webConfig != "" {
		if err := web.Validate(*webConfig); err != nil {
			fmt.Fprintf(stderr, "rdpprobe serve: --web.config.file: %v\n", err)
			return 1
		}
	}

	e := exporter.New(cfg, exporter.Options{
		MaxConcurrent: *maxConcurrent,
		MaxQueue:      *maxQueue,
		TimeoutOffset: *offset,
		History:       *historyLimit,
		ConfigFile:    *configFile,
		Version:       version,
		Logger:        logger,
	})
	logger.Info("starting rdpprobe exporter", "version", version, "config", *configFile, "modules", len(cfg.Modules))

	srv := &http.Server{Handler: e.Handler(), ReadHeaderTimeout: 10 * time.Second}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-done:
				return
			case s := <-sigs:
				if s == syscall.SIGHUP {
					e.Reload() // logs why when it fails
					continue
				}
				logger.Info("shutting down", "signal", s.String())
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				srv.Shutdown(ctx)
				cancel()
				return
			}
		}
	}()

	flags := &web.FlagConfig{WebListenAddresses: listen, WebSystemdSocket: systemdSocket, WebConfigFile: webConfig}
	if err := web.ListenAndServe(srv, flags, logger); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("exporter stopped", "err", err)
		return 1
	}
	return 0
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log.level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "logfmt":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log.format must be logfmt or json, not %q", format)
}
