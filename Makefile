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
                python3-scipy python3-numpy procps rpm systemd time
STATICCHECK  := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build test unit deps bench lint run install clean fuzz

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/ ./plugins/cmd/... $(if $(AGENT),./agent/cmd/...)

# deps installs the Debian packages the integration tests need; it does
# nothing when they are all present, and needs root otherwise. Where the
# install started the stock daemons, they are stopped again: the tests
# start their own. /run/nagios is what systemd-tmpfiles makes at boot for
# the stock daemon's pid file; a machine without systemd running lacks it.
deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
		pkill -x nrpe; pkill -x nagios4; pkill -x icinga2; true; \
	fi
	@if id nagios >/dev/null 2>&1 && [ ! -d /run/nagios ] && [ "$$(id -u)" = 0 ]; then \
		install -d -o nagios -g nagios -m 0755 /run/nagios; fi

test: deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 25m ./...
	@# Every cheap benchmark runs once, so make bench cannot rot unseen.
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./nrpe/... ./agent/... ./plugins/...

# unit runs only the tests that need no outside component.
unit:
	$(GO) test -count=1 -short ./plugins/... ./nrpe/... ./agent/...

# bench measures side by side with the stock tools doing the same job: the
# stock nrpe daemon (needs root), numpy/scipy; then the Go benchmarks
# (check_container over 50 containers, check_kafka_lag over 10 groups x 1000
# partitions on kfake, probe overhead, packet coding). See docs/performance.md.
bench: deps build
	$(GO) run ./test/nrpe/bench -d 3s -clients 8,32
	test/drift/bench/run.sh
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 5x ./nrpe/... ./agent/... ./plugins/... ./test/kafka/ ./test/container/

# fuzz runs each fuzz target for FUZZTIME (go test allows one target a run).
FUZZTIME ?= 20s
FUZZ_TARGETS := ./plugins/plugin:FuzzParseRange $(shell grep -rlE '^func Fuzz' --include=*_test.go nrpe agent plugins | while read f; do for t in $$(grep -oE '^func Fuzz[A-Za-z0-9_]+' $$f | cut -c6-); do echo ./$$(dirname $$f):$$t; done; done | grep -v FuzzParseRange)
fuzz:
	@for pt in $(FUZZ_TARGETS); do pkg=$${pt%%:*}; t=$${pt##*:}; echo "== $$t ($$pkg)"; \
		$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; done

lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

run: build
	exec bin/vigil-agent serve --default-config

install: build
	install -d $(DESTDIR)$(PREFIX)/lib/nagios/plugins $(DESTDIR)$(PREFIX)/sbin
	for p in $(PLUGINS); do install -m 0755 bin/$$p $(DESTDIR)$(PREFIX)/lib/nagios/plugins/$$p; done
	if [ -x bin/vigil-agent ]; then install -m 0755 bin/vigil-agent $(DESTDIR)$(PREFIX)/sbin/vigil-agent; fi

include packaging/Makefile.inc

clean:
	rm -rf bin dist
