# vigil: Nagios-compatible plugins and an NRPE agent for ML services in Docker.
# `make run` starts the agent on its embedded default configuration;
# `make test` installs what the tests need (as root) and runs them all.

GO       ?= go
PREFIX   ?= /usr
DESTDIR  ?=
VERSION  := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X github.com/vigil-monitoring/vigil/plugins/plugin.Version=$(VERSION)
PLUGINS   = $(notdir $(wildcard plugins/cmd/check_*))
AGENT     = $(wildcard agent/cmd/vigil-agent)
# The real peers the integration tests run against, all Debian packages.
APT_PACKAGES := nagios-nrpe-server nagios-nrpe-plugin monitoring-plugins nagios4 icinga2 kcat \
                python3-scipy python3-numpy procps rpm systemd
STATICCHECK  := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build test unit deps bench lint run install clean fuzz

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/ ./plugins/cmd/... $(if $(AGENT),./agent/cmd/...)

# deps installs the Debian packages the integration tests need; it does
# nothing when they are all present, and needs root otherwise.
deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@# Debian starts the stock daemons on install where it can; the tests start their own.
	@-pkill -x nrpe 2>/dev/null; pkill -x nagios4 2>/dev/null; pkill -x icinga2 2>/dev/null; true

test: deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 25m ./...

# unit runs only the tests that need no outside component.
unit:
	$(GO) test -count=1 -short ./plugins/... ./nrpe/... ./agent/...

bench: deps build
	$(GO) test -run '^$$' -bench . -benchtime 2x ./... 
	@for s in test/*/bench/run.sh; do [ -x "$$s" ] && echo "== $$s" && "$$s"; done; true

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseRange -fuzztime 30s ./plugins/plugin/

lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

run: build
	@if [ -x bin/vigil-agent ]; then exec bin/vigil-agent serve; \
	else echo "vigil-agent is not built yet; running check_host" && bin/check_host -m load; fi

install: build
	install -d $(DESTDIR)$(PREFIX)/lib/nagios/plugins $(DESTDIR)$(PREFIX)/sbin
	for p in $(PLUGINS); do install -m 0755 bin/$$p $(DESTDIR)$(PREFIX)/lib/nagios/plugins/$$p; done
	if [ -x bin/vigil-agent ]; then install -m 0755 bin/vigil-agent $(DESTDIR)$(PREFIX)/sbin/vigil-agent; fi

include packaging/Makefile.inc

clean:
	rm -rf bin dist
