package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// version is stamped by `make release` (-ldflags "-X main.version=v1.2.3");
// without it the version comes from the build info Go records.
var version = "dev"

// build is what --version says: the version, and the module and the
// revision it was built from.
type build struct {
	version  string // v1.2.3, v0.0.0-20261201090000-9a711b3c1d2e, or "devel"
	module   string
	revision string
	time     time.Time
	modified bool
	goVer    string
}

// buildInfo reads the binary's build info: the module's version (set by go
// install pkg@version, or from the VCS by go build since Go 1.24) and the
// VCS revision, time and state.
func buildInfo() build {
	bi, ok := debug.ReadBuildInfo()
	return newBuild(version, bi, ok)
}

func newBuild(stamped string, bi *debug.BuildInfo, ok bool) build {
	b := build{version: stamped, goVer: runtime.Version()}
	if !ok || bi == nil {
		if b.version == "dev" || b.version == "" {
			b.version = "devel"
		}
		return b
	}
	b.module, b.goVer = bi.Main.Path, bi.GoVersion
	if b.version == "dev" || b.version == "" {
		b.version = bi.Main.Version
		if b.version == "" || b.version == "(devel)" {
			b.version = "devel"
		}
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.revision = s.Value
		case "vcs.time":
			b.time, _ = time.Parse(time.RFC3339, s.Value)
		case "vcs.modified":
			b.modified = s.Value == "true"
		}
	}
	return b
}

// String is the line of --version:
//
//	rdpprobe v1.2.3 (github.com/rdpprobe/rdpprobe, revision 9a711b3c1d2e 2026-12-01, go1.26.8 linux/amd64)
func (b build) String() string {
	var parts []string
	if b.module != "" {
		parts = append(parts, b.module)
	}
	if b.revision != "" {
		rev := "revision " + b.revision[:min(12, len(b.revision))]
		if !b.time.IsZero() {
			rev += " " + b.time.UTC().Format(time.DateOnly)
		}
		if b.modified {
			rev += " with local changes"
		}
		parts = append(parts, rev)
	}
	parts = append(parts, b.goVer+" "+runtime.GOOS+"/"+runtime.GOARCH)
	return fmt.Sprintf("rdpprobe %s (%s)", b.version, strings.Join(parts, ", "))
}

// date is the man page's date: the revision's, so that the page of one
// revision is the same on every machine; today's without one.
func (b build) date() string {
	if !b.time.IsZero() {
		return b.time.UTC().Format(time.DateOnly)
	}
	return time.Now().UTC().Format(time.DateOnly)
}
