# ovsnet — common tasks. Every target works on a fresh Debian 12 machine as
# root; targets that need packages or Consul install them first.
GO ?= $(shell command -v go || echo /usr/local/go/bin/go)
BIN := bin

.PHONY: all build test unit e2e bench bench-ready bench-dns quickstart quickstart-down generate lint clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# Every test, as CI runs it.
test:
	./test/run.sh

# Pure unit tests only (no root needed).
unit:
	$(GO) test ./model/... ./flows/... ./client/... ./cmd/...

e2e:
	./deploy/install-deps.sh
	$(GO) test -count=1 -p 1 -timeout 75m -v ./test/e2e/...

# Benchmarks print figures; they are measurements, not tests.
bench: bench-ready

bench-ready:
	./deploy/install-deps.sh
	$(GO) test -run '^$$' -bench EndpointReady -benchtime 1x -timeout 30m -v ./test/bench/

# DNS: dnsperf against the agent's resolver (host listener and in OVS from a
# container), co-located on this machine's cores; figures in the log.
bench-dns:
	./deploy/install-deps.sh
	$(GO) test -run '^$$' -bench '^BenchmarkDNS$$' -benchtime 1x -timeout 15m -v ./test/bench/

quickstart:
	./deploy/quickstart.sh

quickstart-down:
	./deploy/quickstart.sh down

generate:
	$(GO) generate ./...

lint:
	test -z "$$(gofmt -l $$(find . -name '*.go' -not -path './bin/*'))"
	$(GO) vet ./...

clean:
	rm -rf $(BIN)
