# rdpprobe — build, test and the lab of real RDP servers the integration tests run against.
#
#   make build      bin/rdpprobe
#   make test       start the lab (lab/lab.sh up; installs Debian packages as root), install the tests'
#                   own tools (lab/lab.sh tools: prometheus, chromium, zsh, fish) and run every test;
#                   the lab is left running (make lab-down stops it)
#   make test-short every test that needs neither the lab nor its tools (go test -short), without
#                   starting the lab; well under a minute
#   make vet        go vet (for Linux and Windows) and a gofmt check
#   make fuzz       every Fuzz* target of every package, FUZZTIME each (default 10s)
#   make bench      rdpprobe against xfreerdp, nmap and impacket on the lab (round trips, CPU, memory,
#                   sweep throughput) plus the Go benchmarks; writes bench/RESULTS.md
#   make man        dist/rdpprobe.1, the man page, generated from the flags (also: rdpprobe man)
#   make release    static binaries (CGO_ENABLED=0) for linux/amd64, linux/arm64, windows/amd64 and
#                   darwin/arm64, stamped with VERSION (packaging/version.sh), the man page, the
#                   completion scripts and the .debs in dist/, with dist/SHA256SUMS
#   make deb        dist/rdpprobe_VERSION_ARCH.deb for DEB_ARCHES (amd64 arm64), built with dpkg-deb
#   make image      the FROM scratch image of Dockerfile, built with CONTAINER (podman)
#   make lab-up | lab-tools | lab-down | lab-env | lab-status
#   make clean

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

GO ?= go
# Go's own install directory, for shells whose PATH lacks it.
ifeq ($(shell command -v $(GO) 2>/dev/null),)
export PATH := /usr/local/go/bin:$(PATH)
endif

FUZZTIME ?= 10s
LAB := ./lab/lab.sh
BIN ?= bin/rdpprobe

.PHONY: build test test-short vet fuzz bench man completions release deb image lab-up lab-tools lab-down lab-env lab-status clean

# The version in --version, the man page and the packages; a release is stamped, not guessed.
ifeq ($(origin VERSION),undefined)
VERSION := $(shell ./packaging/version.sh)
endif
DEB_VERSION := $(shell echo '$(VERSION)' | sed -e 's/^v//' -e 's/-/~/g')
LDFLAGS := -s -w -X main.version=$(VERSION)
# Builds say -buildvcs=auto: the revision goes into --version even where GOFLAGS turns it off.
DIST := dist
PLATFORMS := linux/amd64 linux/arm64 windows/amd64 darwin/arm64
DEB_ARCHES ?= amd64 arm64
CONTAINER ?= podman
# Where Debian keeps the CA certificates the image gets.
CA_CERTS ?= /etc/ssl/certs/ca-certificates.crt

build:
	$(GO) build -trimpath -buildvcs=auto -ldflags '-X main.version=$(VERSION)' -o $(BIN) ./cmd/rdpprobe

# The man page and the completion scripts come from the host's build of the same source.
man: build
	@mkdir -p $(DIST)
	$(BIN) man >$(DIST)/rdpprobe.1

completions: build
	@mkdir -p $(DIST)
	$(BIN) completion bash >$(DIST)/rdpprobe.bash
	$(BIN) completion zsh >$(DIST)/_rdpprobe
	$(BIN) completion fish >$(DIST)/rdpprobe.fish

# One static binary per platform: nothing to install beside it, the same binary in the image.
$(DIST)/rdpprobe-$(VERSION)-%:
	@mkdir -p $(DIST)
	os=$$(echo '$*' | cut -d- -f1); arch=$$(echo '$*' | cut -d- -f2 | cut -d. -f1); \
	CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -buildvcs=auto -ldflags '$(LDFLAGS)' -o $@ ./cmd/rdpprobe

BINARIES := $(foreach p,$(PLATFORMS),$(DIST)/rdpprobe-$(VERSION)-$(subst /,-,$(p))$(if $(findstring windows,$(p)),.exe))

deb: man completions $(foreach a,$(DEB_ARCHES),$(DIST)/rdpprobe-$(VERSION)-linux-$(a))
	for a in $(DEB_ARCHES); do \
		./packaging/deb/build.sh $(DIST)/rdpprobe-$(VERSION)-linux-$$a '$(DEB_VERSION)' $$a $(DIST) $(DIST); \
	done

release: $(BINARIES) man completions deb
	cd $(DIST) && sha256sum $(notdir $(BINARIES)) rdpprobe.1 rdpprobe.bash _rdpprobe rdpprobe.fish \
		$(foreach a,$(DEB_ARCHES),rdpprobe_$(DEB_VERSION)_$(a).deb) >SHA256SUMS
	@echo "release $(VERSION) in $(DIST)/:"; cat $(DIST)/SHA256SUMS

image: $(DIST)/rdpprobe-$(VERSION)-linux-amd64
	rm -rf $(DIST)/image && mkdir -p $(DIST)/image
	cp $< $(DIST)/image/rdpprobe
	cp $(CA_CERTS) $(DIST)/image/ca-certificates.crt
	cp packaging/rdpprobe.yml Dockerfile $(DIST)/image/
	$(CONTAINER) build -t rdpprobe:$(VERSION) -f $(DIST)/image/Dockerfile $(DIST)/image

# The lab's own description of itself (its ports, account) is exported to the tests, so a lab
# started with RDPLAB_BASE_PORT or RDPLAB_PASSWORD set is the one they use. The tools only some
# tests drive (a browser, Prometheus, two shells) are the tests' own prerequisite, not the lab's:
# `make lab-up` stays as fast as the servers allow.
test: lab-up lab-tools
	eval "$$($(LAB) env)"; $(GO) test -race -count=1 ./...

# internal/labtest skips every test that asks for a lab peer or tool under -short, even with the
# lab up and even under CI=true.
test-short:
	$(GO) test -short -count=1 ./...

# Windows too: admins run rdpprobe there (console colour and the password file rule differ).
vet:
	$(GO) vet ./...
	GOOS=windows $(GO) vet ./...
	GOOS=windows $(GO) test -c -o /dev/null ./cmd/rdpprobe ./internal/secret
	@unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi

# `go test -fuzz` takes one target in one package at a time: list them all first. In the output of
# `go test -list`, a package's names come before its "ok <package>" line.
fuzz:
	@targets=$$($(GO) test -list '^Fuzz' ./... | awk '/^Fuzz/ { names = names " " $$1; next } \
		/^ok[ \t]/ { n = split(names, a, " "); for (i = 1; i <= n; i++) print $$2, a[i]; names = "" }'); \
	if [ -z "$$targets" ]; then echo "fuzz: no Fuzz targets"; exit 0; fi; \
	while read -r pkg name; do \
		echo "fuzz: $$pkg $$name for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) "$$pkg"; \
	done <<<"$$targets"

# One run, side by side: timings are only comparable within it (bench/main.go says what it measures).
bench: lab-up
	eval "$$($(LAB) env)"; $(GO) run ./bench -out bench/RESULTS.md

lab-up:
	$(LAB) up

lab-tools:
	$(LAB) tools

lab-down:
	$(LAB) down

lab-env:
	@$(LAB) env

lab-status:
	@$(LAB) status

# Leaves the lab alone (make lab-down) and Go's caches, which other checkouts share.
clean:
	rm -rf bin $(DIST)
