#!/bin/bash
# Builds the Consul server binary (v1.14.11, the newest MPL release whose whole
# dependency graph the Go module proxy serves) once per machine and caches it.
# Prints nothing when the cached binary is already there.
set -euo pipefail
CACHE=${OVSNET_CACHE:-/var/cache/ovsnet}
BIN=$CACHE/consul-1.14.11
[ -x "$BIN" ] && exit 0
mkdir -p "$CACHE"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$(dirname "$0")/go.mod.in" "$work/go.mod"
cat > "$work/tools.go" <<'GO'
//go:build tools

package tools

import _ "github.com/hashicorp/consul"
GO
echo "building consul v1.14.11 into $BIN (about three minutes, once per machine)"
(cd "$work" && GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1 && go build -o "$BIN.tmp" github.com/hashicorp/consul)
mv "$BIN.tmp" "$BIN"
