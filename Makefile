# ovsnet — common tasks. Every target works on a fresh Debian 12 machine as
# root; targets that need packages or Consul install them first.
GO ?= $(shell command -v go || echo /usr/local/go/bin/go)
BIN := bin

.PHONY: all build test unit integration e2e bench bench-ready bench-dns bench-scale bench-create bench-resync bench-compare quickstart quickstart-down generate lint clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# Every test, as CI runs it.
test:
	./test/run.sh

# The pure tests of every package: no root, Open vSwitch or Consul needed.
unit:
	$(GO) test ./...

# Package tests against a real Open vSwitch, Consul and kernel (root; the
# integration build tag), with the pure ones again.
integration:
	./deploy/install-deps.sh
	$(GO) test -count=1 -p 1 -timeout 30m -tags integration ./...

e2e:
	./deploy/install-deps.sh
	$(GO) test -count=1 -p 1 -timeout 75m -v -tags e2e ./test/e2e/...

# Benchmarks print figures; they are measurements, not tests.
bench: bench-ready

bench-ready:
	./deploy/install-deps.sh
	$(GO) test -tags e2e -run '^$$' -bench EndpointReady -benchtime 1x -timeout 30m -v ./test/bench/

# The control plane at scale: the real controller and Consul with up to
# 1,000 simulated hosts, 2,000 networks and 50,000 endpoints; bytes, CPU,
# hosts touched and latency per attach at each size.
bench-scale:
	./deploy/install-deps.sh
	$(GO) test -tags e2e -run '^$$' -bench '^BenchmarkScale$$' -benchtime 1x -timeout 120m -v ./test/bench/

# 1,000 networks created one by one on the 3-host lab.
bench-create:
	./deploy/install-deps.sh
	$(GO) test -tags e2e -run '^$$' -bench '^BenchmarkNetworkCreate$$' -benchtime 1x -timeout 30m -v ./test/bench/

# A full resync of 10,000 endpoints' flows beside ovs-ofctl --bundle add-flows.
bench-resync:
	./deploy/install-deps.sh
	$(GO) test -tags e2e -run '^$$' -bench '^BenchmarkResync$$' -benchtime 1x -timeout 30m -v ./test/bench/

# This tree against a baseline commit in one run (BASE=a070141 ROUNDS=5).
bench-compare:
	./deploy/install-deps.sh
	./test/bench/compare.sh $(or $(BASE),a070141) $(or $(ROUNDS),5)

# DNS: dnsperf against the agent's resolver (host listener and in OVS from a
# container), co-located on this machine's cores; figures in the log.
bench-dns:
	./deploy/install-deps.sh
	$(GO) test -tags e2e -run '^$$' -bench '^BenchmarkDNS$$' -benchtime 1x -timeout 15m -v ./test/bench/

quickstart:
	./deploy/quickstart.sh

quickstart-down:
	./deploy/quickstart.sh down

generate:
	$(GO) generate ./...

lint:
	test -z "$$(gofmt -l $$(find . -name '*.go' -not -path './bin/*'))"
	$(GO) vet ./...
	$(GO) vet -tags integration ./...
	$(GO) vet -tags e2e ./...

clean:
	rm -rf $(BIN)
