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
	"github.com/rdpprobe/rdpprobe/internal/cli"
)

func init() {
	register(&command{doc: serveDoc, flags: func() *flag.FlagSet { return new(serveConfig).flags() }, run: serveMain, order: 1})
}

// serveDoc is rdpprobe serve's help.
var serveDoc = cli.Command{
	Name:    "rdpprobe serve",
	Summary: "a Prometheus exporter like blackbox_exporter (/probe?target=HOST)",
	Usage:   []string{"rdpprobe serve [flags]"},
	Doc: `Its probe_success means "a user could log on" (or what the module expects).
Endpoints: /probe?target=…&module=…[&debug=true], /metrics, / (modules and
recent probes), POST /-/reload, POST /-/reset?module=…[&target=…] (lift a
logon block). SIGHUP reloads the config too; a bad file keeps the running
config.`,
	Examples: []cli.Example{
		{Command: "rdpprobe serve --config /etc/rdpprobe/rdpprobe.yml"},
		{Command: "curl 'http://localhost:9883/probe?target=10.0.0.5:3389&module=rdp_nla_logon'"},
	},
}

// serveConfig holds the exporter's flags.
type serveConfig struct {
	configFile    string
	configCheck   bool
	listen        []string
	webConfig     string
	systemdSocket bool
	maxConcurrent int
	maxQueue      int
	offset        time.Duration
	historyLimit  int
	logLevel      string
	logFormat     string
	showVersion   bool
}

// flags defines the exporter's flags on a new FlagSet, bound to c.
func (c *serveConfig) flags() *flag.FlagSet {
	fs := flag.NewFlagSet("rdpprobe serve", flag.ContinueOnError)
	fs.SortFlags = false
	fs.StringVar(&c.configFile, "config", "rdpprobe.yml", "the modules `FILE`")
	fs.BoolVar(&c.configCheck, "config.check", false, "check the modules file (password files and variables included) and exit")
	fs.StringSliceVar(&c.listen, "web.listen-address", []string{":9883"}, "`ADDRESSES` to listen on (repeatable)")
	fs.StringVar(&c.webConfig, "web.config.file", "", "exporter-toolkit web config `FILE`: TLS and basic auth for the exporter itself")
	fs.BoolVar(&c.systemdSocket, "web.systemd-socket", false, "use systemd socket activation listeners instead of --web.listen-address")
	fs.IntVar(&c.maxConcurrent, "probe.max-concurrent", 64, "probes running at once; more scrapes queue")
	fs.IntVar(&c.maxQueue, "probe.max-queue", 0, "scrapes that may wait for a probe slot before more fail at once with probe_rdp_overloaded 1 (default 4 × --probe.max-concurrent)")
	fs.DurationVar(&c.offset, "timeout-offset", 500*time.Millisecond, "taken off Prometheus' scrape timeout to get the probe's deadline")
	fs.IntVar(&c.historyLimit, "history.limit", 100, "recent probes kept for / and their logs")
	fs.StringVar(&c.logLevel, "log.level", "info", "`LEVEL` of what is logged: debug, info, warn or error")
	fs.StringVar(&c.logFormat, "log.format", "logfmt", "`FORMAT` of the log: logfmt or json")
	fs.BoolVar(&c.showVersion, "version", false, "print the version and exit")
	cli.SetValues(fs, "log.level", "debug", "info", "warn", "error")
	cli.SetValues(fs, "log.format", "logfmt", "json")
	return fs
}

// serveMain runs the exporter until SIGINT or SIGTERM.
func serveMain(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	var c serveConfig
	fs := c.flags()
	if help, err := parseFlags("rdpprobe serve", fs, args, stdout, stderr); help {
		return 0
	} else if err != nil {
		fmt.Fprintf(stderr, "rdpprobe serve: %v\nRun 'rdpprobe serve --help' for usage.\n", err)
		return exitUsage
	}
	configFile, configCheck, listen, webConfig, systemdSocket := &c.configFile, &c.configCheck, &c.listen, &c.webConfig, &c.systemdSocket
	maxConcurrent, maxQueue, offset, historyLimit := &c.maxConcurrent, &c.maxQueue, &c.offset, &c.historyLimit
	logLevel, logFormat, showVersion := &c.logLevel, &c.logFormat, &c.showVersion
	if *showVersion {
		fmt.Fprintln(stdout, buildInfo())
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
		for _, w := range cfg.Warnings {
			fmt.Fprintf(stdout, "%s: warning: %s\n", *configFile, w)
		}
		fmt.Fprintf(stdout, "%s: %d module(s), OK\n", *configFile, len(cfg.Modules))
		return 0
	}
	for _, w := range cfg.Warnings {
		logger.Warn("config: "+w, "file", *configFile)
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
		Version:       buildInfo().version,
		Logger:        logger,
	})
	logger.Info("starting rdpprobe exporter", "version", buildInfo().version, "config", *configFile, "modules", len(cfg.Modules))

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
