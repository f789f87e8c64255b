#!/bin/bash
# Runs every test of ovsnet, as CI does (.ci/run calls this script).
#
# It installs what the tests need first (Debian packages, the cached Consul
# build), so it works on a fresh Debian 12 machine as root. The end-to-end
# tests build real multi-host labs (network namespaces, one userspace Open
# vSwitch per host, Consul, Docker engines, Chromium); they need root and
# never skip.
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

echo "== unit tests"
go test -count=1 ./model/... ./flows/... ./client/... ./cmd/...

echo "== tests against real Consul and Open vSwitch (one at a time: they share two cores)"
go test -count=1 -p 1 -timeout 30m ./controller/... ./ovsagent/... ./test/lab/...

echo "== end-to-end tests on the multi-host lab"
go test -count=1 -p 1 -timeout 75m -v ./test/e2e/... 2>&1 | tee /tmp/ovsnet-e2e.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic)|_test.go:[0-9]+:'
status=${PIPESTATUS[0]}
if [ "$status" != 0 ]; then
	echo "end-to-end tests failed; full log: /tmp/ovsnet-e2e.log" >&2
	exit "$status"
fi
echo "== all tests passed"
