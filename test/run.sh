#!/bin/bash
# Runs every test of ovsnet, as CI does (.ci/run calls this script).
#
# It installs what the tests need first (Debian packages, the cached Consul
# build), so it works on a fresh Debian 12 machine as root. Tests come in
# three tiers, by build tag:
#
#	(none)       pure tests of every package: no root, OVS or Consul; seconds
#	integration  packages against a real Open vSwitch, Consul and kernel
#	e2e          the lab's own tests and the end-to-end tests: real multi-host
#	             labs (network namespaces, one userspace Open vSwitch per host,
#	             Consul, Docker engines, Chromium); test/bench has the tag too
#
# The last two need root and never skip.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"

if [ "$(id -u)" != 0 ]; then
	echo "test/run.sh: the lab tests need root (network namespaces, Open vSwitch)" >&2
	exit 1
fi

./deploy/install-deps.sh

echo "== static checks"
unformatted=$(gofmt -l $(find . -name '*.go' -not -path './bin/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
go vet -tags integration ./...
go vet -tags e2e ./...

echo "== pure tests"
go test -count=1 ./...

# Budgets are counts of inputs, not durations: with a duration, Go 1.26's
# fuzz coordinator can fail a target at its deadline with a bare "context
# deadline exceeded" and no input found (go.dev/issue/75804, fixed in Go
# 1.27); a count has no deadline to race. Each is 5-10 s of this target's
# throughput on two cores. FUZZTIME (e.g. 50000x or 30s) overrides all.
echo "== fuzzing (bounded: ${FUZZTIME:-a count of inputs} per target; seeds are in the tests)"
for target in ./model:FuzzNetworkAndEndpointValidation:400000 ./model:FuzzParseLinkAndMAC:400000 \
	./controller:FuzzCreateNetworkRequest:100000 ./controller:FuzzConnectRequest:100000 \
	./ovsagent/docker:FuzzPluginCalls:12000 ./ovsagent/dns:FuzzAnswer:150000 ./ovsagent/cni:FuzzRequests:80000; do
	pkg=${target%%:*} rest=${target#*:}
	go test -run '^$' -fuzz "^${rest%%:*}\$" -fuzztime "${FUZZTIME:-${rest#*:}x}" "$pkg"
done

echo "== integration tests against real Consul and Open vSwitch (one at a time: they share two cores)"
go test -count=1 -p 1 -timeout 30m -tags integration ./...

echo "== end-to-end tests on the multi-host lab (and the lab's own tests)"
go test -count=1 -p 1 -timeout 75m -v -tags e2e ./test/lab/... ./test/e2e/... 2>&1 | tee /tmp/ovsnet-e2e.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic)|_test.go:[0-9]+:'
status=${PIPESTATUS[0]}
if [ "$status" != 0 ]; then
	# The filter above keeps one line per message; a failure's diagnosis
	# (process logs, OVS state) is in its continuation lines: print each
	# failed test's section, its first 80 and last 80 lines.
	for name in $(grep -oE '^--- FAIL: [A-Za-z0-9_]+' /tmp/ovsnet-e2e.log | awk '{print $3}' | sort -u); do
		echo "== log of $name"
		awk -v t="$name" '$0 == "=== RUN   " t {on = 1} on {print} on && $0 ~ "^--- FAIL: " t " " {exit}' /tmp/ovsnet-e2e.log |
			awk '{line[NR] = $0} END {for (i = 1; i <= NR; i++) if (i <= 80 || i > NR - 80) print line[i]; else if (i == 81) print "        [… " NR - 160 " lines …]"}'
	done
	echo "end-to-end tests failed; full log: /tmp/ovsnet-e2e.log" >&2
	exit "$status"
fi
echo "== all tests passed"
